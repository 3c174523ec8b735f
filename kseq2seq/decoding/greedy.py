"""Batched greedy decoding over the inference pieces, one compiled loop.

Each step feeds back the argmax token of the previous one. Sequences that
have produced `</s>` are padded with 0 from then on; the loop (one
`keras.ops.while_loop` over the whole batch) stops when every sequence has
ended or after `max_length` tokens. It is compiled once per model and
(batch, source length, max_length) shape and cached.
"""

from __future__ import annotations

import weakref

import keras
import numpy as np
from keras import ops

from kseq2seq.decoding.compiled import compile_decoding_function, pad_source_width
from kseq2seq.models.inference import InferencePieces
from kseq2seq.special_tokens import BOS_ID, EOS_ID, PAD_ID


def _greedy_loop(pieces: InferencePieces, source_ids, max_length: int, bos_id: int, eos_id: int):
    """The decoding loop in `keras.ops`; returns tokens, scores, attention, steps."""
    context, carry = pieces.encode(source_ids)
    batch = ops.shape(source_ids)[0]
    source_length = ops.shape(source_ids)[1]
    tokens = ops.zeros((batch, max_length), dtype="int32")
    attention = ops.zeros((batch, max_length, source_length), dtype="float32")
    scores = ops.zeros((batch,), dtype="float32")
    finished = ops.zeros((batch,), dtype="bool")
    previous = ops.full((batch,), bos_id, dtype="int32")

    def cond(step, previous, carry, tokens, attention, scores, finished):
        return ops.logical_and(step < max_length, ops.logical_not(ops.all(finished)))

    step_fn = pieces.step_function(context)

    def body(step, previous, carry, tokens, attention, scores, finished):
        logits, carry, weights = step_fn(previous, carry)
        logits = ops.cast(logits, "float32")
        # log p of the argmax = its logit - logsumexp: no B x V log-softmax.
        chosen_log_prob = ops.max(logits, axis=-1) - ops.logsumexp(logits, axis=-1)
        chosen = ops.cast(ops.argmax(logits, axis=-1), "int32")
        chosen = ops.where(finished, PAD_ID, chosen)
        scores = scores + ops.where(finished, 0.0, chosen_log_prob)
        weights = ops.where(ops.expand_dims(finished, 1), 0.0, weights)  # B x S
        zero = ops.zeros((), dtype="int32")
        tokens = ops.slice_update(tokens, (zero, step), ops.expand_dims(chosen, 1))
        attention = ops.slice_update(
            attention, (zero, step, zero), ops.expand_dims(ops.cast(weights, "float32"), 1)
        )
        finished = ops.logical_or(finished, ops.equal(chosen, eos_id))
        return step + 1, chosen, carry, tokens, attention, scores, finished

    state = (ops.zeros((), dtype="int32"), previous, carry, tokens, attention, scores, finished)
    step, _, _, tokens, attention, scores, _ = ops.while_loop(cond, body, state)
    return tokens, scores, attention, step


# model -> {settings: compiled loop}; entries go with their model.
_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _compiled_loop(pieces: InferencePieces, max_length: int, bos_id: int, eos_id: int):
    cache = _CACHE.setdefault(pieces.model, {})
    key = (max_length, bos_id, eos_id)
    if key not in cache:
        cache[key] = compile_decoding_function(
            pieces.model,
            lambda source_ids: _greedy_loop(pieces, source_ids, max_length, bos_id, eos_id),
        )
    return cache[key]


def greedy_decode(
    model: keras.Model | InferencePieces,
    source_ids,
    max_length: int = 50,
    bos_id: int = BOS_ID,
    eos_id: int = EOS_ID,
    compiled: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Greedy decoding of a batch of source ids.

    Args:
        model: a model made by `build_model`, or its `InferencePieces`.
        source_ids: int array (B, S), right-padded with 0.
        max_length: the most tokens produced per sentence (`</s>` included).
        bos_id: the start token fed at the first step.
        eos_id: the token that ends a sentence.
        compiled: run the compiled loop (False: step by step from Python,
            for debugging).

    Returns:
        `(tokens, scores, attention)`: tokens int32 (B, L) with `</s>` kept
        and 0 after it; scores float32 (B,), the sum of the chosen tokens'
        log-probabilities; attention float32 (B, L, S), one row per produced
        token (zero rows after the end).
    """
    if isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 1:
        raise ValueError(f"max_length must be a positive integer. Received: {max_length!r}")
    pieces = model if isinstance(model, InferencePieces) else InferencePieces(model)
    source_ids = pieces.check_source_ids(source_ids)
    if compiled:
        padded = pad_source_width(source_ids)
        function = _compiled_loop(pieces, max_length, bos_id, eos_id)
        tokens, scores, attention, steps = function(ops.convert_to_tensor(padded))
        steps = max(int(ops.convert_to_numpy(steps)), 1)
        return (
            ops.convert_to_numpy(tokens)[:, :steps],
            ops.convert_to_numpy(scores),
            ops.convert_to_numpy(attention)[:, :steps, : source_ids.shape[1]],
        )
    return _python_loop(pieces, source_ids, max_length, bos_id, eos_id)


def _python_loop(pieces, source_ids, max_length, bos_id, eos_id):
    batch = source_ids.shape[0]
    context, carry = pieces.encode(source_ids.astype("int32"))
    previous = np.full((batch,), bos_id, dtype="int32")
    finished = np.zeros((batch,), dtype=bool)
    scores = np.zeros((batch,), dtype="float32")
    tokens, attention = [], []
    for _ in range(max_length):
        logits, carry = pieces.step(previous, carry, context)
        log_probs = ops.convert_to_numpy(ops.log_softmax(logits, axis=-1))
        chosen = log_probs.argmax(axis=-1).astype("int32")
        chosen = np.where(finished, PAD_ID, chosen)
        scores += np.where(finished, 0.0, log_probs[np.arange(batch), chosen])
        weights = ops.convert_to_numpy(carry[1])
        attention.append(np.where(finished[:, None], 0.0, weights))
        tokens.append(chosen)
        finished |= chosen == eos_id
        previous = chosen
        if finished.all():
            break
    return (
        np.stack(tokens, axis=1),
        scores,
        np.stack(attention, axis=1).astype("float32"),
    )
