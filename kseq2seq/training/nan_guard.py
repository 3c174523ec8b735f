"""`StopOnNaN`: a NaN or infinite loss stops training with the weights from before it."""

from __future__ import annotations

import warnings

import keras
import numpy as np
from keras import ops

from kseq2seq.training.callbacks import (
    EpochOffset,
    batches_done,
    build_optimizer,
    loss_is_finite,
)


def _is_float(value) -> bool:
    return "float" in str(value.dtype)


def _keep_finite(current: list, kept: list) -> list:
    """`current` where every float value in it is finite, else `kept` (all at once)."""
    checks = [ops.all(ops.isfinite(value)) for value in current if _is_float(value)]
    finite = ops.all(ops.stack(checks)) if checks else True
    return [ops.where(finite, new, old) for new, old in zip(current, kept)]


class _LastFiniteState:
    """A copy of some variables, replaced by `take()` (one compiled call) while they are all
    finite. JAX needs new arrays: its train step donates (deletes) the arrays it is given."""

    def __init__(self, variables: list):
        self.variables = variables
        backend = keras.backend.backend()
        if backend == "tensorflow":
            import tensorflow as tf

            sources = [variable.value for variable in variables]
            self.kept = [tf.Variable(source, trainable=False) for source in sources]
            floats = [source for source in sources if source.dtype.is_floating]

            def copy():
                for shadow, source in zip(self.kept, sources):
                    shadow.assign(source)
                return tf.constant(True)

            @tf.function(autograph=False)
            def take():
                finite = tf.reduce_all([tf.reduce_all(tf.math.is_finite(f)) for f in floats])
                return tf.cond(finite, copy, lambda: tf.constant(False))

        else:
            self.kept = [ops.copy(variable.value) for variable in variables]
            keep = _keep_finite
            if backend == "jax":
                import jax

                keep = jax.jit(_keep_finite)

            def take():
                self.kept = keep([variable.value for variable in variables], self.kept)

        self.take = take  # copies the variables' values, if they are all finite

    def restore(self) -> bool:
        """Puts the kept values back; False (and nothing changed) if they are not finite."""
        for variable, value in zip(self.variables, self.kept):
            if _is_float(variable) and not np.all(np.isfinite(ops.convert_to_numpy(value))):
                return False
        for variable, value in zip(self.variables, self.kept):
            variable.assign(value)
        return True


class StopOnNaN(EpochOffset, keras.callbacks.Callback):
    """Stops training at the first NaN or infinite loss, putting back the last finite
    weights and optimizer state (copied on the device before every batch).

    Attributes:
        stopped_at: `(epoch, batch)` where the loss became non-finite, or None; `batch`
            counts the epoch's batches from its start, also in a run resumed mid-epoch
            (`begin_at_step`). With `steps_per_execution=N` the loss is seen once per N steps:
            `batch` is then the first step of the group in which it became non-finite (the
            weights are from before it).
    """

    def __init__(self):
        super().__init__()
        self.stopped_at = None
        self._epoch = 0
        self._first_batch = 0
        self._offset = 0
        self._state = None

    def on_train_begin(self, logs=None):
        self.stopped_at = None
        model = self.model
        build_optimizer(model)
        # The order of the JAX trainer's state, so that it can be read directly.
        variables = model.trainable_variables + model.non_trainable_variables
        variables += list(model.optimizer.variables) if model.optimizer is not None else []
        # Compared by identity: == on variables is an elementwise tensor op.
        if self._state is None or list(map(id, self._state.variables)) != list(map(id, variables)):
            self._state = _LastFiniteState(variables)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self._offset = self._take_offset()

    def on_train_batch_begin(self, batch, logs=None):
        # With steps_per_execution=N, the first of the N steps before on_train_batch_end.
        self._first_batch = int(batch)
        self.model  # noqa: B018 - under JAX, reading it writes the trainer's state back first
        self._state.take()

    def on_train_batch_end(self, batch, logs=None):
        if loss_is_finite(logs):
            return
        self.model  # noqa: B018 - as above: the state of the bad step, to be replaced
        # The last group of an epoch may end past its steps.
        first = self._offset + self._first_batch
        last = self._offset + batches_done(self, batch) - 1
        self.stopped_at = (self._epoch, first)
        self.model.stop_training = True
        if not self._state.restore():
            message = "The loss became NaN and no finite weights were kept to go back to"
            warnings.warn(message, stacklevel=2)
        where = f"batch {first + 1}" if last <= first else f"batches {first + 1}-{last + 1}"
        print(
            f"\nStopOnNaN: the loss is not finite at epoch {self._epoch + 1}, {where}: "
            "training stopped with the weights from before the bad step."
        )
