"""`EpochAverage`: checkpoint averaging of the last epochs.

The mean of the weights at the ends of the last few epochs is often a better model than the
last epoch's weights, at no extra training (Junczys-Dowmunt et al., 2016; Vaswani et al., 2017
average the last checkpoints; on the Ding benchmark of benchmarks/README.md the last three
epochs' mean gave luong_general +0.75 greedy BLEU). `kseq2seq train` averages the last three
epochs by default and keeps the mean only if it translates the validation pairs at least as
well as the last weights.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import keras
import numpy as np

from kseq2seq.atomic import atomic_write
from kseq2seq.checks import check_int

_SNAPSHOT = re.compile(r"^epoch-(\d+)\.npz$")


class EpochAverage(keras.callbacks.Callback):
    """Keeps the model's weights at the end of each of the last `count` epochs.

    `average()` returns their mean (float weights; other weights are the last epoch's).
    With `directory`, each epoch's weights are a file there (`epoch-0007.npz`, written
    atomically, the older ones deleted), so that a run resumed after an interruption
    averages the same epochs as one that never stopped: put this callback before the
    `TrainingCheckpoint`, which saves the end of an epoch after the callbacks before it have
    seen it. An epoch stopped early (`model.stop_training`, e.g. by `StopOnNaN`) is not
    kept.

    Args:
        count: how many epochs to keep (at least 1).
        directory: where to keep them, or None to keep them in memory.
        write: whether to write the files (False on the workers that do not save).

    Example:

        average = EpochAverage(3)
        translator.fit(pairs, epochs=10, callbacks=[average])
        translator.model.set_weights(average.average())
    """

    def __init__(self, count: int = 3, directory=None, write: bool = True):
        super().__init__()
        self.count = check_int("count", count)
        self.directory = None if directory is None else Path(directory)
        self.write = write
        self._kept: dict[int, list[np.ndarray]] = {}
        self._batches = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._batches = 0

    def on_train_batch_end(self, batch, logs=None):
        self._batches += 1

    def on_epoch_end(self, epoch, logs=None):
        steps = self.params.get("steps")
        if self.model.stop_training or (steps and self._batches < steps):
            return  # the epoch did not end
        if self.directory is not None and not self.write:
            return
        weights = [np.asarray(weight) for weight in self.model.get_weights()]
        if self.directory is None:
            self._kept[epoch + 1] = weights
            for old in sorted(self._kept)[: -self.count]:
                del self._kept[old]
            return
        buffer = io.BytesIO()
        np.savez(buffer, *weights)
        atomic_write(self.directory / f"epoch-{epoch + 1:04d}.npz", buffer.getvalue())
        for old in self._saved_epochs()[: -self.count]:
            (self.directory / f"epoch-{old:04d}.npz").unlink(missing_ok=True)

    def _saved_epochs(self) -> list[int]:
        if self.directory is None or not self.directory.is_dir():
            return []
        found = (_SNAPSHOT.match(path.name) for path in self.directory.iterdir())
        return sorted(int(match.group(1)) for match in found if match)

    def epochs(self) -> list[int]:
        """The epochs (1-based) whose weights `average()` would take."""
        kept = sorted(self._kept) if self.directory is None else self._saved_epochs()
        return kept[-self.count :]

    def _weights(self, epoch: int) -> list[np.ndarray]:
        if self.directory is None:
            return self._kept[epoch]
        with np.load(self.directory / f"epoch-{epoch:04d}.npz") as stored:
            return [stored[f"arr_{index}"] for index in range(len(stored.files))]

    def average(self) -> list[np.ndarray] | None:
        """The mean of the kept epochs' weights (as `model.get_weights()`), or None when
        no epoch was kept."""
        epochs = self.epochs()
        if not epochs:
            return None
        snapshots = [self._weights(epoch) for epoch in epochs]
        averaged = []
        for values in zip(*snapshots):
            last = values[-1]
            if np.issubdtype(last.dtype, np.floating):
                mean = np.mean(np.stack(values).astype("float64"), axis=0)
                averaged.append(mean.astype(last.dtype))
            else:
                averaged.append(last)
        return averaged

    def keep_if_better(self, translator, validation):
        """Puts the mean of the kept epochs' weights into `translator.model` if it translates
        `validation` (greedy) at least as well as the model's present weights by BLEU, or if
        there are no validation pairs to tell; otherwise the present weights stay.

        Returns `(kept, message, scores)`: `"average"`, `"last"`, or None when fewer than two
        epochs were kept (nothing to average); a line saying what was kept (None with
        `kept`); and `(BLEU, chrF, hypotheses)` of the weights kept (None when not
        computed).
        """
        from kseq2seq.commands import _evaluate

        epochs = self.epochs()
        if len(epochs) < 2:
            return None, None, None
        named = f"epochs {epochs[0]}-{epochs[-1]}"
        if not validation:
            translator.model.set_weights(self.average())
            message = f"Averaged the weights of {named} (no validation pairs to compare them on)"
            return "average", message, None
        last = translator.model.get_weights()
        last_scores = _evaluate(translator, validation)
        translator.model.set_weights(self.average())
        averaged_scores = _evaluate(translator, validation)
        if averaged_scores[0] >= last_scores[0]:
            kept, scores, named_kept = "average", averaged_scores, "the average"
        else:
            kept, scores, named_kept = "last", last_scores, "the last epoch's"
            translator.model.set_weights(last)
        message = (
            f"Averaged the weights of {named}: validation BLEU {averaged_scores[0]:.1f}, "
            f"against {last_scores[0]:.1f} for the last epoch's; keeping {named_kept}"
        )
        return kept, message, scores
