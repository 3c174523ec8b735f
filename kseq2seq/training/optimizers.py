"""Adam that takes the same step under every backend."""

from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="kseq2seq")
class DenseAdam(keras.optimizers.Adam):
    """`keras.optimizers.Adam` on dense gradients, under every backend.

    Under TensorFlow, Keras's Adam squares (and `clipnorm` measures) an embedding's
    `tf.IndexedSlices` gradient before summing its duplicate rows; JAX and PyTorch give it
    the summed gradient. `DenseAdam` sums first, as the moment updates densify anyway.
    """

    def apply(self, grads, trainable_variables=None):
        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            # tf.convert_to_tensor sums the rows; keras.ops.convert_to_tensor keeps the slices.
            grads = [
                tf.convert_to_tensor(g) if isinstance(g, tf.IndexedSlices) else g for g in grads
            ]
        return super().apply(grads, trainable_variables)
