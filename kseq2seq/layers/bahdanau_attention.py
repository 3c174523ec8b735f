"""Additive attention of Bahdanau et al. (2014), and its normalised form."""

from __future__ import annotations

import math

import keras
from keras import ops

from kseq2seq.checks import check_int
from kseq2seq.layers.attention_base import (
    BaseSeq2SeqAttention,
    additive_dtype,
    additive_scores_recomputed,
)


@keras.saving.register_keras_serializable(package="kseq2seq")
class BahdanauAttention(BaseSeq2SeqAttention):
    """Additive (Bahdanau) attention.

    Bahdanau, Cho and Bengio (2014), arXiv:1409.0473, Eq. 6 and appendix
    A.1.2: `e_ij = v^T tanh(W1 s_{i-1} + W2 h_j)`, `a_ij = softmax_j(e_ij)`,
    `c_i = sum_j a_ij h_j`. `W2 h_j` depends only on the source and is
    computed once per sentence (`project_keys`).

    With `normalize=True` the score is tensorflow/nmt's `normed_bahdanau`
    (after Salimans and Kingma, 2016, weight normalisation):
    `e_ij = g * v^T / ||v|| tanh(W1 s + W2 h_j + b)` with a learned scalar
    `g` (initialised to `sqrt(1 / units)`) and a learned bias `b`.

    Args:
        units: size of the hidden layer of the score (the width of W1, W2, v).
        normalize: whether to weight-normalise `v` and add the bias `b`.
        kernel_initializer: initialiser of W1, W2 and v.

    Call arguments:
        inputs: `[query, value]` or `[query, value, key]`: query (B, Tq, Dq)
            or one step (B, Dq); value (B, S, Dv); key (B, S, Dk), by
            default the value.
        mask: optional `[query_mask, value_mask]`: booleans (B, Tq) and (B, S);
            padded source positions get exactly zero weight.
        return_attention_scores: also return the weights (B, Tq, S).

    Returns:
        The context (B, Tq, Dv) (or (B, Dv)), and the weights when asked.

    Example:
    >>> layer = BahdanauAttention(units=8)
    >>> query = keras.random.normal((2, 5, 4))
    >>> memory = keras.random.normal((2, 7, 6))
    >>> context, weights = layer([query, memory], return_attention_scores=True)
    >>> tuple(context.shape), tuple(weights.shape)
    ((2, 5, 6), (2, 5, 7))
    """

    def __init__(
        self,
        units: int,
        normalize: bool = False,
        kernel_initializer="glorot_uniform",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = check_int("units", units)
        self.normalize = bool(normalize)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

    def build(self, input_shape):
        query_shape, value_shape, key_shape = self._check_input_shapes(input_shape)
        self.query_kernel = self.add_weight(
            name="query_kernel",  # W1
            shape=(query_shape[-1], self.units),
            initializer=self.kernel_initializer,
        )
        self.key_kernel = self.add_weight(
            name="key_kernel",  # W2
            shape=(key_shape[-1], self.units),
            initializer=self.kernel_initializer,
        )
        self.score_vector = self.add_weight(
            name="score_vector",  # v
            shape=(self.units,),
            initializer=self.kernel_initializer,
        )
        if self.normalize:
            self.score_scale = self.add_weight(
                name="score_scale",  # g
                shape=(),
                initializer=keras.initializers.Constant(math.sqrt(1.0 / self.units)),
            )
            self.score_bias = self.add_weight(
                name="score_bias",  # b
                shape=(self.units,),
                initializer="zeros",
            )
        self.built = True

    def project_keys(self, key):
        keys = ops.matmul(key, self.key_kernel)  # B x S x units
        return ops.cast(keys, additive_dtype(self.compute_dtype))  # once per source

    def query_weights(self):
        dtype = self.compute_dtype
        score_vector = self.score_vector
        if self.normalize:
            norm = ops.sqrt(ops.sum(ops.square(score_vector)))
            score_vector = self.score_scale * score_vector / norm
        weights = (
            ops.cast(self.query_kernel, dtype),
            ops.cast(score_vector, additive_dtype(dtype)),
        )
        return weights + ((ops.cast(self.score_bias, dtype),) if self.normalize else ())

    def _calculate_scores(self, query, projected_keys, weights):
        query_kernel, score_vector = weights[:2]
        processed_query = ops.matmul(query, query_kernel)  # B x Tq x units
        if self.normalize:
            processed_query = processed_query + weights[2]
        return additive_scores_recomputed(processed_query, projected_keys, score_vector)

    def get_config(self):
        base_config = super().get_config()
        config = {
            "units": self.units,
            "normalize": self.normalize,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
        }
        return {**base_config, **config}
