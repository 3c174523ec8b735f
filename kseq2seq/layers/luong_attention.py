"""Multiplicative attention of Luong, Pham and Manning (2015)."""

from __future__ import annotations

import keras
from keras import ops

from kseq2seq.checks import check_int
from kseq2seq.layers.attention_base import BaseSeq2SeqAttention, additive_dtype, additive_scores

SCORES = ("dot", "general", "concat")


@keras.saving.register_keras_serializable(package="kseq2seq")
class LuongAttention(BaseSeq2SeqAttention):
    """Luong (multiplicative) attention.

    Luong, Pham and Manning (2015), arXiv:1508.04025, Eq. 8, computed from
    the *current* decoder state h_t against each source state h_s:
    - `"dot"`: `score(h_t, h_s) = h_t^T h_s`;
    - `"general"`: `score(h_t, h_s) = h_t^T W_a h_s`;
    - `"concat"`: `score(h_t, h_s) = v_a^T tanh(W_a [h_t; h_s])`, computed as
      `v_a^T tanh(W_q h_t + W_k h_s)`, the two halves of W_a.
    With `scale=True` the score is multiplied by a learned scalar `g`
    (initialised to 1; tensorflow/nmt's `scaled_luong`). The source-only
    factor (`W_a h_s`, `W_k h_s`) is computed once per sentence
    (`project_keys`).

    Args:
        score: one of `"dot"`, `"general"`, `"concat"`.
        scale: whether to learn a scalar that multiplies the scores.
        units: width of the `"concat"` score's hidden layer; by default the
            key size. Ignored by the other scores.
        kernel_initializer: initialiser of W_a and v_a.

    Call arguments:
        inputs: `[query, value]` or `[query, value, key]`: query (B, Tq, D)
            or one step (B, D); value (B, S, Dv); key (B, S, Dk), by default
            the value. `"dot"` needs D == Dk.
        mask: optional `[query_mask, value_mask]`; padded source positions
            get exactly zero weight.
        return_attention_scores: also return the weights (B, Tq, S).

    Returns:
        The context (B, Tq, Dv) (or (B, Dv)), and the weights when asked.

    Example:
    >>> layer = LuongAttention(score="general")
    >>> query = keras.random.normal((2, 5, 4))
    >>> memory = keras.random.normal((2, 7, 6))
    >>> layer([query, memory]).shape
    (2, 5, 6)
    """

    def __init__(
        self,
        score: str = "dot",
        scale: bool = False,
        units: int | None = None,
        kernel_initializer="glorot_uniform",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if score not in SCORES:
            raise ValueError(f"Expected one of {set(SCORES)} for score. Received: score={score!r}")
        check_int("units", units, optional=True)
        self.score = score
        self.scale = bool(scale)
        self.units = units
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

    def build(self, input_shape):
        query_shape, value_shape, key_shape = self._check_input_shapes(input_shape)
        query_dim, key_dim = query_shape[-1], key_shape[-1]
        if self.score == "dot" and query_dim is not None and query_dim != key_dim:
            raise ValueError(
                'score="dot" needs queries and keys of the same size. Received: '
                f"query size {query_dim}, key size {key_dim}; use "
                'score="general" or "concat" for different sizes.'
            )
        if self.score == "general":
            self.key_kernel = self.add_weight(
                name="key_kernel",  # W_a, applied to the source side
                shape=(key_dim, query_dim),
                initializer=self.kernel_initializer,
            )
        elif self.score == "concat":
            units = self.units or key_dim
            self.query_kernel = self.add_weight(
                name="query_kernel",
                shape=(query_dim, units),
                initializer=self.kernel_initializer,
            )
            self.key_kernel = self.add_weight(
                name="key_kernel",
                shape=(key_dim, units),
                initializer=self.kernel_initializer,
            )
            self.score_vector = self.add_weight(
                name="score_vector",
                shape=(units,),
                initializer=self.kernel_initializer,
            )
        if self.scale:
            self.score_scale = self.add_weight(name="score_scale", shape=(), initializer="ones")
        self.built = True

    def project_keys(self, key):
        if self.score == "dot":
            return key  # B x S x D
        keys = ops.matmul(key, self.key_kernel)  # B x S x (D | units)
        if self.score == "concat":
            keys = ops.cast(keys, additive_dtype(self.compute_dtype))
        return keys

    def query_weights(self):
        dtype = self.compute_dtype
        weights = ()
        if self.score == "concat":
            score_vector = ops.cast(self.score_vector, additive_dtype(dtype))
            weights = (ops.cast(self.query_kernel, dtype), score_vector)
        return weights + ((ops.cast(self.score_scale, dtype),) if self.scale else ())

    def _calculate_scores(self, query, projected_keys, weights):
        if self.score == "concat":
            processed_query = ops.matmul(query, weights[0])  # B x Tq x units
            scores = additive_scores(processed_query, projected_keys, weights[1])
        else:
            # B x Tq x D @ B x D x S -> B x Tq x S
            scores = ops.matmul(query, ops.swapaxes(projected_keys, -1, -2))
        if self.scale:
            scores = scores * weights[-1]
        return scores

    def get_config(self):
        base_config = super().get_config()
        config = {
            "score": self.score,
            "scale": self.scale,
            "units": self.units,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
        }
        return {**base_config, **config}
