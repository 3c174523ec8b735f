"""`TrainingCheckpoint`: training that survives interruptions."""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import signal
import threading
import warnings
from pathlib import Path

import keras
import numpy as np
from keras import ops

from kseq2seq.atomic import atomic_write
from kseq2seq.checks import check_int

STATE_FILENAME = "state.npz"
STATE_FORMAT = 1


class TrainingInterrupted(KeyboardInterrupt):
    """Training stopped on SIGINT or SIGTERM after saving its state (a `KeyboardInterrupt`).

    Attributes:
        signal_number, directory: the signal received, and where the state was saved.
        epoch, step: the position saved: `step` batches of epoch `epoch` (0-based) are done.
    """

    def __init__(self, signal_number: int, directory: Path, epoch: int, step: int):
        self.signal_number = signal_number
        self.directory = directory
        self.epoch = epoch
        self.step = step
        super().__init__(
            f"training interrupted by {signal.Signals(signal_number).name} at epoch {epoch + 1}, "
            f"step {step}; the state is saved in {directory}"
        )


def loss_is_finite(logs) -> bool:
    loss = (logs or {}).get("loss")
    return loss is None or math.isfinite(float(ops.convert_to_numpy(loss)))


def steps_per_execution(model) -> int:
    """The steps `model` runs between two callbacks (`compile(steps_per_execution=...)`)."""
    return int(getattr(model, "steps_per_execution", 1) or 1)


def batches_done(callback: keras.callbacks.Callback, batch) -> int:
    """The batches of the epoch (of this `fit`) done at `on_train_batch_end(batch)`.

    With `steps_per_execution=N`, Keras calls it once per N steps, `batch` being the 0-based
    index of the group's last step; for an epoch's last, partial group that index is past the
    epoch's end (Keras runs the rest of the group on a repeated stream's next batches, or
    nothing more on a finite one), so the count stops at the epoch's steps. (It assumes the
    data lasts the epoch: a stream that runs dry mid-group would count as a finished epoch.)
    """
    done = int(batch) + 1
    steps = callback.params.get("steps")
    return min(done, steps) if steps else done


def epoch_finished(callback: keras.callbacks.Callback, batches: int) -> bool:
    """Whether the epoch that ran `batches` batches ran all its steps, unstopped."""
    steps = callback.params.get("steps")
    return not callback.model.stop_training and not (steps and batches < steps)


def _state_variables(model: keras.Model) -> list:
    """The model's variables (seed-generator states included) and the optimizer's."""
    optimizer = getattr(model, "optimizer", None)
    return list(model.variables) + (list(optimizer.variables) if optimizer is not None else [])


def build_optimizer(model: keras.Model) -> None:
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None and not optimizer.built:
        optimizer.build(model.trainable_variables)


class EpochOffset:
    """Mixin of the callbacks that place a step within its epoch: in a run resumed mid-epoch
    (`Translator.fit`), the first epoch's batches do not start at its first step."""

    _next_offset = 0

    def begin_at_step(self, step: int) -> None:
        """The next epoch starts with `step` of its batches already done."""
        self._next_offset = int(step)

    def _take_offset(self) -> int:
        """At an epoch's start: its steps done before this `fit` (0 after the first)."""
        offset, self._next_offset = self._next_offset, 0
        return offset


class TrainingCheckpoint(EpochOffset, keras.callbacks.Callback):
    """Saves the training state every `save_freq` steps and resumes from it.

    The state (`directory/state.npz`, replaced atomically) holds the model's and optimizer's
    variables and the position. On SIGINT or SIGTERM training stops after the current step,
    saves and raises `TrainingInterrupted`; a second SIGINT stops at once (handlers are
    installed only from the main thread). `Translator.fit` resumes mid-epoch; a plain
    `model.fit` restarts the epoch: pass it `initial_epoch=checkpoint.initial_epoch`.

    Args:
        directory: a directory for the state; created when first saved.
        save_freq: save every this many steps (and at every epoch end); with
            `steps_per_execution=N`, at the first end of a group at or past each multiple.
        handle_signals: turn SIGINT and SIGTERM into a saved, clean stop.
        write: False to restore from `directory` but never write to it (non-chief workers).

    Example:
        checkpoint = TrainingCheckpoint("run/state", save_freq=50)
        translator.fit(pairs, epochs=10, callbacks=[checkpoint])
        # killed? run the same two lines again: training resumes.
        checkpoint.delete()
    """

    def __init__(
        self, directory, save_freq: int = 100, handle_signals: bool = True, write: bool = True
    ):
        super().__init__()
        self.directory = Path(directory)
        self.save_freq = check_int("save_freq", save_freq)
        self.handle_signals = bool(handle_signals)
        self.write = bool(write)
        self._restored = False
        self._resumed_epoch = None
        self._first_step = 0
        self._epoch = 0
        self._step = 0
        self._batches = 0
        self._signal = None
        self._previous_handlers = {}

    @property
    def path(self) -> Path:
        return self.directory / STATE_FILENAME

    @property
    def initial_epoch(self) -> int:
        """The epoch to pass to `model.fit(initial_epoch=...)`: the saved state's, or 0."""
        return (self.position() or (0, 0))[0]

    def position(self) -> tuple[int, int] | None:
        """`(epoch, step)` of the saved state, or None when there is none."""
        if not self.path.is_file():
            return None
        meta = self._read()[0]
        return meta["epoch"], meta["step"]

    def _read(self) -> tuple[dict, list[np.ndarray]]:
        try:
            with np.load(self.path, allow_pickle=False) as archive:
                meta = json.loads(str(archive["meta"]))
                values = [archive[f"v{index}"] for index in range(len(meta["paths"]))]
        except (OSError, ValueError, KeyError) as error:
            raise ValueError(
                f"{self.path} is not a readable training state ({error}); delete it to "
                "start training afresh"
            ) from None
        if meta.get("format") != STATE_FORMAT:
            raise ValueError(f"{self.path}: unknown training-state format {meta.get('format')!r}")
        return meta, values

    def restore(self, model: keras.Model) -> tuple[int, int] | None:
        """Loads the saved state into `model` and its optimizer; returns `(epoch, step)`, or
        None (and `model` untouched) without a state.

        Raises:
            ValueError: the state is unreadable or belongs to another model.
        """
        self._restored = True
        if not self.path.is_file():
            return None
        meta, values = self._read()
        build_optimizer(model)
        variables = _state_variables(model)
        if len(variables) != len(values):
            raise ValueError(
                f"The training state in {self.directory} belongs to another model or "
                f"optimizer ({len(values)} variables saved, {len(variables)} here); "
                "delete it to start afresh"
            )
        for variable, value in zip(variables, values):
            if tuple(variable.shape) != value.shape:
                raise ValueError(
                    f"The training state in {self.directory} has {variable.path} of shape "
                    f"{value.shape}, the model {tuple(variable.shape)}: another model"
                )
            variable.assign(value)
        self._epoch, self._step = meta["epoch"], meta["step"]
        saved, now = meta.get("steps_per_execution"), steps_per_execution(model)
        if saved is not None and saved != now:
            warnings.warn(
                f"The training state in {self.directory} was saved with "
                f"steps_per_execution={saved} and the model now runs {now}: training resumes, "
                "but not on the batches that an uninterrupted run would have seen",
                stacklevel=2,
            )
        return self._epoch, self._step

    def save(self, model: keras.Model | None = None) -> None:
        """Writes the state now (atomically)."""
        if not self.write:
            return
        variables = _state_variables(model or self.model)
        meta = {
            "format": STATE_FORMAT,
            "epoch": self._epoch,
            "step": self._step,
            "paths": [variable.path for variable in variables],
            "backend": keras.backend.backend(),
            "steps_per_execution": steps_per_execution(model or self.model),
        }
        arrays = {f"v{index}": ops.convert_to_numpy(v) for index, v in enumerate(variables)}
        buffer = io.BytesIO()
        np.savez(buffer, meta=np.array(json.dumps(meta)), **arrays)
        atomic_write(self.path, buffer.getvalue())

    def delete(self) -> None:
        """Removes the saved state (after training has finished)."""
        if self.write:
            self.path.unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                self.directory.rmdir()

    def on_train_begin(self, logs=None):
        position = None if self._restored else self.restore(self.model)
        self._resumed_epoch = position[0] if position else None
        self._install_handlers()

    def on_epoch_begin(self, epoch, logs=None):
        if self._resumed_epoch is not None and epoch < self._resumed_epoch:
            warnings.warn(
                f"TrainingCheckpoint restored the state of epoch {self._resumed_epoch + 1}, "
                f"but fit starts at epoch {epoch + 1}: pass "
                "initial_epoch=checkpoint.initial_epoch to model.fit (Translator.fit does)",
                stacklevel=2,
            )
        self._resumed_epoch = None
        self._first_step = self._take_offset()  # the epoch's steps done before this fit
        self._epoch, self._step = epoch, self._first_step
        self._batches = 0

    def on_train_batch_end(self, batch, logs=None):
        # From `batch`, not counted: with steps_per_execution=N this runs once per N steps.
        previous = self._step
        self._batches = batches_done(self, batch)
        self._step = self._first_step + self._batches
        if not loss_is_finite(logs):
            return  # never save a state that is already NaN
        if self._batches == self.params.get("steps") and not self.model.stop_training:
            return  # the epoch's end: on_epoch_end saves it, after the callbacks before this
        # A multiple of save_freq reached or passed since the last call.
        if self._signal is not None or self._step // self.save_freq > previous // self.save_freq:
            self.save()
        if self._signal is not None:
            self._raise_interrupted()

    def on_epoch_end(self, epoch, logs=None):
        if epoch_finished(self, self._batches):
            self._epoch, self._step = epoch + 1, 0
            self.save()
        elif self._signal is not None:  # deferred from the epoch's last batch
            self.save()
        if self._signal is not None:
            self._raise_interrupted()

    def on_train_end(self, logs=None):
        self.remove_handlers()

    def _install_handlers(self):
        self._signal = None
        if not self.handle_signals or threading.current_thread() is not threading.main_thread():
            return

        def handler(number, frame):
            if self._signal != number:
                self._signal = number
                return
            self.remove_handlers()  # the second time: stop at once, as usual
            if number == signal.SIGINT:
                raise KeyboardInterrupt
            os.kill(os.getpid(), number)

        for number in (signal.SIGINT, signal.SIGTERM):
            self._previous_handlers[number] = signal.signal(number, handler)

    def remove_handlers(self):
        """Puts back the SIGINT/SIGTERM handlers that were there before training began."""
        for number, previous in self._previous_handlers.items():
            signal.signal(number, previous)
        self._previous_handlers = {}

    def _raise_interrupted(self):
        number, self._signal = self._signal, None
        self.remove_handlers()
        raise TrainingInterrupted(number, self.directory, self._epoch, self._step)
