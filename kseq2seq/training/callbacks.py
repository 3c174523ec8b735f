"""`TrainingCheckpoint`: training that survives interruptions.

It saves the whole training state (weights, optimizer slots and step counter,
random-generator states, the position in the data) every few steps into one
file, replaced atomically, and turns SIGINT and SIGTERM into a clean stop
after the current step. `Translator.fit` and `kseq2seq train` use it, with
`kseq2seq.training.nan_guard.StopOnNaN`.
"""

from __future__ import annotations

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
_HANDLED_SIGNALS = ("SIGINT", "SIGTERM")


class TrainingInterrupted(KeyboardInterrupt):
    """Training stopped on SIGINT or SIGTERM after saving its state.

    A `KeyboardInterrupt`, so code that handles Ctrl-C handles it too.

    Attributes:
        signal_number: the signal received.
        directory: where the state was saved (run again to resume).
        epoch, step: the position saved: `step` batches of epoch `epoch`
            (0-based) are done.
    """

    def __init__(self, signal_number: int, directory: Path, epoch: int, step: int):
        self.signal_number = signal_number
        self.directory = directory
        self.epoch = epoch
        self.step = step
        name = signal.Signals(signal_number).name
        super().__init__(
            f"training interrupted by {name} at epoch {epoch + 1}, step {step}; "
            f"the state is saved in {directory}"
        )


def loss_is_finite(logs) -> bool:
    loss = (logs or {}).get("loss")
    if loss is None:
        return True
    return math.isfinite(float(ops.convert_to_numpy(loss)))


def _state_variables(model: keras.Model) -> list:
    """The model's variables (seed-generator states included) and the optimizer's."""
    variables = list(model.variables)
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None:
        variables += list(optimizer.variables)
    return variables


def build_optimizer(model: keras.Model) -> None:
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None and not optimizer.built:
        optimizer.build(model.trainable_variables)


class TrainingCheckpoint(keras.callbacks.Callback):
    """Saves the training state every `save_freq` steps and resumes from it.

    The state is one file, `directory/state.npz`: every variable of the model
    and of its optimizer (Adam's moments and step counter, dropout's random
    generator states) plus the position (epoch, and steps done in it). It is
    written to a temporary file and renamed into place, so a process killed
    at any moment (SIGKILL included) leaves the previous state readable.

    On SIGINT or SIGTERM during `fit`, training stops after the current step,
    the state is saved and `TrainingInterrupted` is raised (a second SIGINT
    stops at once, as usual). Handlers are installed only from the main
    thread and removed when training ends.

    With `Translator.fit` a resumed run continues mid-epoch, on the same
    batches, and ends with the same weights as an uninterrupted run with the
    same seeds. With a plain `model.fit` the state is restored at
    `on_train_begin` and the interrupted epoch starts again from its first
    batch, as with `keras.callbacks.BackupAndRestore`; pass
    `initial_epoch=checkpoint.initial_epoch` to `fit` so that the epochs
    count on from there (a callback cannot change them through Keras's
    public API; it warns when they do not).

    Args:
        directory: a directory for the state; created when first saved.
        save_freq: save every this many steps (and at every epoch end).
        handle_signals: turn SIGINT and SIGTERM into a saved, clean stop.
        write: False to restore from `directory` but never write to it (the
            workers other than the chief of a multi-worker run).

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
        check_int("save_freq", save_freq)
        self.directory = Path(directory)
        self.save_freq = save_freq
        self.handle_signals = bool(handle_signals)
        self.write = bool(write)
        self._restored = False
        self._resumed_epoch = None
        self._step_offset = 0
        self._epoch = 0
        self._step = 0
        self._batches = 0
        self._signal = None
        self._previous_handlers = {}

    @property
    def path(self) -> Path:
        return self.directory / STATE_FILENAME

    # Reading and writing the state --------------------------------------------
    @property
    def initial_epoch(self) -> int:
        """The epoch to pass to `model.fit(initial_epoch=...)`: that of the saved state
        (whose interrupted epoch a plain `fit` starts again), or 0 without one."""
        position = self.position()
        return 0 if position is None else position[0]

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
        """Loads the saved state into `model` (and its optimizer).

        Returns:
            `(epoch, step)`, or None (and `model` untouched) without a state.

        Raises:
            ValueError: the state does not belong to this model (other
                variables or shapes), or the file is unreadable.
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
        return self._epoch, self._step

    def save(self, model: keras.Model | None = None) -> None:
        """Writes the state now (atomically: a temporary file renamed into place)."""
        if not self.write:
            return
        model = model or self.model
        variables = _state_variables(model)
        meta = {
            "format": STATE_FORMAT,
            "epoch": self._epoch,
            "step": self._step,
            "paths": [variable.path for variable in variables],
            "backend": keras.backend.backend(),
        }
        arrays = {f"v{index}": ops.convert_to_numpy(v) for index, v in enumerate(variables)}
        buffer = io.BytesIO()
        np.savez(buffer, meta=np.array(json.dumps(meta)), **arrays)
        atomic_write(self.path, buffer.getvalue())

    def delete(self) -> None:
        """Removes the saved state (after training has finished)."""
        if not self.write:
            return
        self.path.unlink(missing_ok=True)
        try:
            self.directory.rmdir()
        except OSError:
            pass

    def begin_at_step(self, step: int) -> None:
        """The next epoch starts with `step` of its batches already done."""
        self._step_offset = int(step)

    # Callback hooks ---------------------------------------------------------------
    def on_train_begin(self, logs=None):
        self._resumed_epoch = None
        if not self._restored:
            position = self.restore(self.model)
            if position is not None:
                self._resumed_epoch = position[0]
        self._install_handlers()

    def on_epoch_begin(self, epoch, logs=None):
        if self._resumed_epoch is not None and epoch < self._resumed_epoch:
            # A callback cannot move fit's first epoch through Keras's public API.
            warnings.warn(
                f"TrainingCheckpoint restored the state of epoch {self._resumed_epoch + 1}, "
                f"but fit starts at epoch {epoch + 1}: pass "
                "initial_epoch=checkpoint.initial_epoch to model.fit (Translator.fit does)",
                stacklevel=2,
            )
        self._resumed_epoch = None
        self._epoch = epoch
        self._step = self._step_offset
        self._step_offset = 0
        self._batches = 0

    def on_train_batch_end(self, batch, logs=None):
        self._step += 1
        self._batches += 1
        if not loss_is_finite(logs):
            return  # never save a state that is already NaN
        if self._batches == self.params.get("steps") and not self.model.stop_training:
            return  # the epoch's end: on_epoch_end saves it, after the callbacks before this
        if self._signal is not None:
            self.save()
            self._raise_interrupted()
        if self._step % self.save_freq == 0:
            self.save()

    def on_epoch_end(self, epoch, logs=None):
        steps = self.params.get("steps")
        if self.model.stop_training or (steps and self._batches < steps):
            if self._signal is not None:  # deferred from the epoch's last batch
                self.save()
                self._raise_interrupted()
            return  # stopped early: the epoch is not done
        self._epoch, self._step = epoch + 1, 0
        self.save()
        if self._signal is not None:
            self._raise_interrupted()

    def on_train_end(self, logs=None):
        self.remove_handlers()

    # Signals ------------------------------------------------------------------------
    def _install_handlers(self):
        self._signal = None
        if not self.handle_signals or threading.current_thread() is not threading.main_thread():
            return

        def handler(number, frame):
            if self._signal == number:  # the second time: stop at once, as usual
                self.remove_handlers()
                if number == signal.SIGINT:
                    raise KeyboardInterrupt
                os.kill(os.getpid(), number)
                return
            self._signal = number

        for name in _HANDLED_SIGNALS:
            number = getattr(signal, name)
            self._previous_handlers[number] = signal.signal(number, handler)

    def remove_handlers(self):
        """Puts back the SIGINT/SIGTERM handlers that were there before training began."""
        for number, previous in self._previous_handlers.items():
            signal.signal(number, previous)
        self._previous_handlers = {}

    def _raise_interrupted(self):
        number = self._signal
        self._signal = None
        self.remove_handlers()
        raise TrainingInterrupted(number, self.directory, self._epoch, self._step)
