"""Shared machinery of the attention layers: masking, softmax, context."""

from __future__ import annotations

import functools

import keras
from keras import ops


def additive_scores(processed_query, projected_keys, score_vector):
    """`v^T tanh(q_t + k_s)` for every pair: (B, Tq, U), (B, S, U), (U,) -> (B, Tq, S),
    in the dtype of the keys (`additive_dtype`)."""
    dtype = projected_keys.dtype
    processed_query, score_vector = ops.cast(processed_query, dtype), ops.cast(score_vector, dtype)
    hidden = ops.expand_dims(processed_query, 2) + ops.expand_dims(projected_keys, 1)
    return ops.einsum("btsu,u->bts", ops.tanh(hidden), score_vector)


def additive_dtype(compute_dtype: str) -> str:
    """The dtype of an additive score's B x Tq x S x U sum and tanh: float32 in place of a
    16-bit compute dtype where no GPU is in use. A CPU multiplies matrices faster in bfloat16
    but does this elementwise work more slowly: forward and backward of one Bahdanau step
    (64 x 30 x 512) took 2.2-2.8 ms from bfloat16 inputs in float32 against 2.7-3.8 ms in
    bfloat16 (TensorFlow, AVX512_BF16; benchmarks/README.md)."""
    if compute_dtype not in ("bfloat16", "float16") or _gpu_in_use():
        return compute_dtype
    return "float32"


@functools.cache
def _gpu_in_use() -> bool:
    from kseq2seq.layers.fused_lstm import jax_on_gpu, tensorflow_on_gpu

    return jax_on_gpu() or tensorflow_on_gpu()


# `additive_scores` for Bahdanau's score: under JAX the B x Tq x S x U tanh is recomputed in
# the backward pass instead of being kept from the forward one. In the scanned decoder a kept
# tanh is one B x S x U block per target step, and writing and reading those blocks took more
# time than the recomputation: a full-size Bahdanau training step went from 729 to 582 ms
# (benchmarks/README.md, "Bahdanau's tanh, recomputed under JAX"). TensorFlow keeps it: there
# the recomputation saved nothing in training (630 against 650 ms a step) and made compiled
# greedy decoding 18% slower. Luong's concat score, whose default decoder is the fused one
# (one tanh for all steps, no per-step block), keeps it too: not measured there.
if keras.backend.backend() == "jax":
    additive_scores_recomputed = keras.remat(additive_scores)
else:
    additive_scores_recomputed = additive_scores


class BaseSeq2SeqAttention(keras.layers.Layer):
    """Base class of the seq2seq attention layers.

    Subclasses create their weights in `build()` and override two small
    methods: `project_keys(key)`, the part of the score that depends only on
    the source (computed once per source sentence and reused at every
    decoding step), and `_calculate_scores(query, projected_keys, weights)`, where `weights`
    are the query side's weights as `query_weights()` returns them (read once before a
    decoding loop, or each call).

    The call contract is that of `keras.layers.Attention`:
    `call([query, value(, key)], mask=[query_mask, value_mask],
    return_attention_scores=False)`. The query is a whole sequence
    `(batch, Tq, dim)` or one decoding step `(batch, dim)`.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def _check_input_shapes(self, input_shape):
        """Rejects malformed inputs at build time, before any weight exists."""
        if (
            not isinstance(input_shape, (list, tuple))
            or len(input_shape) not in (2, 3)
            or not all(isinstance(shape, (list, tuple)) for shape in input_shape)
        ):
            raise ValueError(
                f"{self.__class__.__name__} expects inputs=[query, value] or "
                f"[query, value, key]. Received inputs of shape: {input_shape}"
            )
        query_shape, value_shape = input_shape[0], input_shape[1]
        if len(query_shape) not in (2, 3) or len(value_shape) != 3:
            raise ValueError(
                "Expected query of rank 2 (batch, dim) or 3 (batch, Tq, dim) and value of "
                f"rank 3 (batch, S, dim). Received: query.shape={tuple(query_shape)}, "
                f"value.shape={tuple(value_shape)}"
            )
        return query_shape, value_shape, input_shape[2] if len(input_shape) == 3 else value_shape

    # Overridden by subclasses -------------------------------------------
    def project_keys(self, key):
        """Returns the source-only part of the score; `key`: (B, S, Dk)."""
        return key

    def query_weights(self) -> tuple:
        """The weights the scores apply to the query, in the layer's compute dtype. A weight
        read inside a loop is read (and, under mixed precision, cast) at every step, and its
        gradient is accumulated at every step in float32: the scanned decoders read them
        once, outside their loop (`Seq2SeqDecoder.step_weights`)."""
        return ()

    def _calculate_scores(self, query, projected_keys, weights):
        """Returns the scores (B, Tq, S) of `query` (B, Tq, Dq)."""
        raise NotImplementedError

    # Shared ---------------------------------------------------------------
    def attend(self, query, value, projected_keys, value_mask=None, query_weights=None):
        """Attends with precomputed keys; returns (context, weights).

        Args:
            query: (B, Tq, Dq) or one step (B, Dq).
            value: (B, S, Dv), the encoder memory.
            projected_keys: the output of `project_keys(key)`.
            value_mask: optional boolean (B, S), False at padded positions.
            query_weights: the output of `query_weights()` (read here if None).

        Returns:
            context (B, Tq, Dv) or (B, Dv) and weights (B, Tq, S) or (B, S).
        """
        one_step = len(query.shape) == 2
        if one_step:
            query = ops.expand_dims(query, 1)  # B x 1 x Dq
        if query_weights is None:
            query_weights = self.query_weights()
        scores = self._calculate_scores(query, projected_keys, query_weights)  # B x Tq x S
        # The softmax runs in float32 even under mixed precision.
        scores = ops.cast(scores, "float32")
        if value_mask is not None:
            keep = ops.expand_dims(ops.cast(value_mask, "bool"), 1)  # B x 1 x S
            scores = ops.where(keep, scores, ops.full_like(scores, -1e9))
            weights = ops.softmax(scores, axis=-1)
            # Exactly zero at padded positions; all-padded rows give zeros.
            weights = weights * ops.cast(keep, weights.dtype)
        else:
            weights = ops.softmax(scores, axis=-1)
        context = ops.matmul(ops.cast(weights, value.dtype), value)  # B x Tq x Dv
        if one_step:
            return context[:, 0], weights[:, 0]
        return context, weights

    def call(self, inputs, mask=None, training=False, return_attention_scores=False):
        is_list = isinstance(inputs, (list, tuple))
        self._check_input_shapes([tuple(t.shape) for t in inputs] if is_list else inputs)
        query, value = inputs[0], inputs[1]
        key = inputs[2] if len(inputs) == 3 else value
        query_mask = value_mask = None
        if mask is not None:
            if not isinstance(mask, (list, tuple)):
                raise ValueError(
                    f"mask must be a list [query_mask, value_mask]. Received: mask={mask}"
                )
            query_mask = mask[0]
            value_mask = mask[1] if len(mask) > 1 else None
        context, weights = self.attend(query, value, self.project_keys(key), value_mask=value_mask)
        if query_mask is not None:
            query_mask = ops.expand_dims(ops.cast(query_mask, "bool"), -1)
            context = ops.where(query_mask, context, ops.zeros_like(context))
        if return_attention_scores:
            return context, weights
        return context

    def compute_mask(self, inputs, mask=None):
        if mask is None or mask[0] is None:
            return None
        return ops.convert_to_tensor(mask[0])

    def compute_output_shape(self, input_shape):
        query_shape, value_shape = input_shape[0], input_shape[1]
        return tuple(query_shape[:-1]) + (value_shape[-1],)

    def compute_output_spec(self, inputs, mask=None, training=False, return_attention_scores=False):
        query, value = inputs[0], inputs[1]
        out_shape = tuple(query.shape[:-1]) + (value.shape[-1],)
        context = keras.KerasTensor(out_shape, dtype=self.compute_dtype)
        if return_attention_scores:
            weights_shape = tuple(query.shape[:-1]) + (value.shape[1],)
            return context, keras.KerasTensor(weights_shape, dtype="float32")
        return context
