"""Adam that takes the same step under every backend.

Under TensorFlow the gradient of an embedding lookup is a `tf.IndexedSlices`
with one row per token occurrence, duplicates unsummed. Keras 3's Adam
squares it with `ops.square`, which squares each occurrence's row, and only
then sums the duplicates: the second moment of a word's row gets
sum_i(g_i ** 2) instead of (sum_i g_i) ** 2, and `clipnorm` measures the
norm of the unsummed rows. JAX and PyTorch hand Adam the summed (dense)
gradient. The same weights, batch and gradients thus gave different Adam
steps on every embedding row of a word seen twice or more in the batch, and
different training curves (issue 17, item 8). `DenseAdam` sums the
duplicates first, on every backend: the textbook update of Kingma and Ba
(2015) on the gradient of the loss.
"""

from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="kseq2seq")
class DenseAdam(keras.optimizers.Adam):
    """`keras.optimizers.Adam` on dense gradients, under every backend.

    Same arguments as `keras.optimizers.Adam`. Before clipping and the
    update, a TensorFlow `tf.IndexedSlices` gradient (an embedding's) is
    turned into the dense tensor of its summed rows, the gradient JAX and
    PyTorch compute. Other gradients pass unchanged. The cost is one dense
    tensor of the embedding's shape, which Keras's Adam makes anyway (its
    moment updates densify the slices).

    Example:
    >>> optimizer = DenseAdam(learning_rate=1e-3, clipnorm=5.0)
    >>> optimizer.get_config()["clipnorm"]
    5.0
    """

    def apply(self, grads, trainable_variables=None):
        return super().apply([_dense(gradient) for gradient in grads], trainable_variables)


def _dense(gradient):
    """`gradient` with the duplicate rows of a `tf.IndexedSlices` summed."""
    if gradient is None or keras.backend.backend() != "tensorflow":
        return gradient
    import tensorflow as tf

    if isinstance(gradient, tf.IndexedSlices):
        # keras.ops.convert_to_tensor keeps IndexedSlices as they are
        # (tf.is_tensor is true for them); tf.convert_to_tensor sums the rows.
        return tf.convert_to_tensor(gradient)
    return gradient
