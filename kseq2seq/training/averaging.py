"""`EpochAverage`: the mean of the last epochs' weights (Junczys-Dowmunt et al., 2016), often
better than the last weights (+0.75 greedy BLEU on the Ding benchmark, benchmarks/README.md)."""

from __future__ import annotations

import io
from pathlib import Path

import keras
import numpy as np

from kseq2seq.atomic import atomic_write
from kseq2seq.checks import check_int
from kseq2seq.training.callbacks import batches_done, epoch_finished
from kseq2seq.training.metrics import evaluate_translator


class EpochAverage(keras.callbacks.Callback):
    """Keeps the model's weights at the end of each of the last `count` epochs.

    An epoch stopped early (`stop_training`, e.g. by `StopOnNaN`) is not kept. `average()`
    returns their mean. With `directory`, they are files there, so that a resumed
    run averages the same epochs: put this callback before the `TrainingCheckpoint`.

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
        # From `batch`, not counted: with steps_per_execution=N this runs once per N steps.
        self._batches = batches_done(self, batch)

    def on_epoch_end(self, epoch, logs=None):
        if not epoch_finished(self, self._batches):
            return
        if self.directory is None:
            self._kept[epoch + 1] = [np.asarray(w) for w in self.model.get_weights()]
            for old in sorted(self._kept)[: -self.count]:
                del self._kept[old]
        elif self.write:
            buffer = io.BytesIO()
            np.savez(buffer, *self.model.get_weights())
            atomic_write(self.directory / f"epoch-{epoch + 1:04d}.npz", buffer.getvalue())
            for old in self._saved_epochs()[: -self.count]:
                (self.directory / f"epoch-{old:04d}.npz").unlink(missing_ok=True)

    def _saved_epochs(self) -> list[int]:
        numbers = (path.stem[len("epoch-") :] for path in self.directory.glob("epoch-*.npz"))
        return sorted(int(number) for number in numbers if number.isdecimal())

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
        """The mean of the kept epochs' float weights (others: the last's), or None if none."""
        epochs = self.epochs()
        if not epochs:
            return None
        return [
            np.mean(np.stack(values).astype("float64"), axis=0).astype(values[-1].dtype)
            if np.issubdtype(values[-1].dtype, np.floating)
            else values[-1]
            for values in zip(*(self._weights(epoch) for epoch in epochs))
        ]

    def keep_if_better(self, translator, validation):
        """Puts the averaged weights into `translator.model` if their greedy BLEU on
        `validation` is at least the present weights' (or if `validation` is empty).

        Returns:
            `(kept, message, scores)`: `"average"`, `"last"` or None (fewer than two epochs
            kept); what was kept; `(BLEU, chrF, hypotheses)` of the kept weights, or None.
        """
        epochs = self.epochs()
        if len(epochs) < 2:
            return None, None, None
        named = f"epochs {epochs[0]}-{epochs[-1]}"
        if not validation:
            translator.model.set_weights(self.average())
            message = f"Averaged the weights of {named} (no validation pairs to compare them on)"
            return "average", message, None
        last = translator.model.get_weights()
        last_scores = evaluate_translator(translator, validation)
        translator.model.set_weights(self.average())
        averaged_scores = evaluate_translator(translator, validation)
        better = averaged_scores[0] >= last_scores[0]
        if not better:
            translator.model.set_weights(last)
        message = (
            f"Averaged the weights of {named}: validation BLEU {averaged_scores[0]:.1f}, "
            f"against {last_scores[0]:.1f} for the last epoch's; keeping "
            + ("the average" if better else "the last epoch's")
        )
        return ("average", message, averaged_scores) if better else ("last", message, last_scores)
