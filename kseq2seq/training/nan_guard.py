"""`StopOnNaN`: a NaN or infinite loss stops training with the weights from before it."""

from __future__ import annotations

import warnings

import keras
import numpy as np
from keras import ops

from kseq2seq.training.callbacks import build_optimizer, loss_is_finite


def _is_float(variable) -> bool:
    return "float" in str(variable.dtype)


def _keep_finite(current: list, kept: list) -> list:
    """`current` where every float value in it is finite, else `kept` (all at once)."""
    checks = [ops.all(ops.isfinite(value)) for value in current if "float" in str(value.dtype)]
    finite = ops.all(ops.stack(checks)) if checks else True
    return [ops.where(finite, new, old) for new, old in zip(current, kept)]


class _LastFiniteState:
    """A copy of some variables, replaced by `take()` only while they are all finite.

    One compiled call a step, on the device, with no transfer to the host:
    TensorFlow copies into shadow variables inside one `tf.function`; JAX
    makes new arrays in one `jax.jit` (references would not do: the train
    step donates, and so deletes, the arrays it is given).
    """

    def __init__(self, variables: list):
        self.variables = variables
        backend = keras.backend.backend()
        if backend == "tensorflow":
            import tensorflow as tf

            sources = [variable.value for variable in variables]
            shadows = [tf.Variable(source, trainable=False) for source in sources]
            floats = [source for source in sources if source.dtype.is_floating]

            @tf.function(autograph=False)
            def take():
                finite = tf.reduce_all(
                    tf.stack([tf.reduce_all(tf.math.is_finite(f)) for f in floats])
                )

                def copy():
                    for shadow, source in zip(shadows, sources):
                        shadow.assign(source)
                    return tf.constant(True)

                return tf.cond(finite, copy, lambda: tf.constant(False))

            self._take, self._values = take, lambda: shadows
        else:
            self._kept = [ops.copy(variable.value) for variable in variables]
            keep = _keep_finite
            if backend == "jax":
                import jax

                keep = jax.jit(_keep_finite)

            def take():
                self._kept = keep([variable.value for variable in variables], self._kept)

            self._take, self._values = take, lambda: self._kept

    def take(self) -> None:
        """Copies the variables' values, if they are all finite."""
        self._take()

    def restore(self) -> bool:
        """Puts the kept values back; False (and nothing changed) if they are not finite."""
        values = self._values()
        for variable, value in zip(self.variables, values):
            if _is_float(variable) and not np.all(np.isfinite(ops.convert_to_numpy(value))):
                return False
        for variable, value in zip(self.variables, values):
            variable.assign(value)
        return True


class StopOnNaN(keras.callbacks.Callback):
    """Stops training at the first NaN or infinite loss, keeping the last good weights.

    Before every batch it copies the weights and the optimizer state, on the
    device and only while they are all finite (one compiled call a step). When
    a batch's loss is not finite, it puts back the copy from before that
    batch (or from before the update that first made a weight non-finite, if
    one did with a finite loss) and stops training.

    Attributes:
        stopped_at: `(epoch, batch)` where the loss became non-finite, or None.
    """

    def __init__(self):
        super().__init__()
        self.stopped_at = None
        self._epoch = 0
        self._state = None

    def on_train_begin(self, logs=None):
        self.stopped_at = None
        model = self.model
        build_optimizer(model)
        # The order of the JAX trainer's state, so that it can be read directly.
        variables = model.trainable_variables + model.non_trainable_variables
        variables += list(model.optimizer.variables) if model.optimizer is not None else []
        kept = self._state.variables if self._state is not None else []
        # Compared by identity: == on variables is an elementwise tensor op.
        if len(kept) != len(variables) or any(a is not b for a, b in zip(kept, variables)):
            self._state = _LastFiniteState(variables)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        self.model  # noqa: B018 - under JAX, reading it writes the trainer's state back first
        self._state.take()

    def on_train_batch_end(self, batch, logs=None):
        if loss_is_finite(logs):
            return
        self.model  # noqa: B018 - as above: the state of the bad step, to be replaced
        self.stopped_at = (self._epoch, batch)
        self.model.stop_training = True
        if not self._state.restore():
            warnings.warn(
                "The loss became NaN and no finite weights were kept to go back to",
                stacklevel=2,
            )
        print(
            f"\nStopOnNaN: the loss is not finite at epoch {self._epoch + 1}, batch "
            f"{batch + 1}: training stopped with the weights from before the bad step."
        )
