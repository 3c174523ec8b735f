"""Beam search over batch x beam in one compiled `keras.ops.while_loop`.

Hypotheses are ranked by the GNMT score (Wu et al., 2016, Eq. 14):
`s(Y, X) = log P(Y | X) / lp(Y) + cp(X; Y)`, with the length penalty
`lp(Y) = ((5 + |Y|) / 6) ** alpha` and the coverage penalty
`cp = beta * sum_j log(min(sum_i a_ij, 1))` over the source positions j.
The loop stops when every hypothesis of every sentence has produced `</s>`,
or after `max_length` tokens.
"""

from __future__ import annotations

import weakref

import keras
import numpy as np
from keras import ops

from kseq2seq.decoding.compiled import compile_decoding_function, pad_source_width
from kseq2seq.models.inference import InferencePieces
from kseq2seq.special_tokens import BOS_ID, EOS_ID, PAD_ID

NEG_INF = -1e9


def length_penalty(lengths, alpha: float):
    """GNMT's ((5 + |Y|) / 6) ** alpha; 1 when alpha is 0."""
    return ops.power((5.0 + ops.cast(lengths, "float32")) / 6.0, alpha)


def coverage_penalty(coverage, source_mask, beta: float):
    """GNMT's beta * sum_j log(min(coverage_j, 1)) over real source positions."""
    clipped = ops.log(ops.clip(coverage, 1e-9, 1.0))
    return beta * ops.sum(ops.where(source_mask, clipped, 0.0), axis=-1)


def beam_search_loop(
    step_fn,
    carry,
    source_mask,
    batch_size,
    beam_width: int,
    max_length: int,
    alpha: float = 0.0,
    beta: float = 0.0,
    bos_id: int = BOS_ID,
    eos_id: int = EOS_ID,
):
    """The search itself, over any step function.

    Args:
        step_fn: `step_fn(tokens (B*K,), carry) -> (logits (B*K, V), carry,
            weights (B*K, S))`.
        carry: the step function's state, already repeated beam_width times
            along the batch axis (row b * K + k is beam k of sentence b).
        source_mask: bool (B*K, S), for the coverage penalty.

    Returns:
        tokens int32 (B, K, L), scores float32 (B, K) (best first), log
        probabilities (B, K), attention float32 (B, K, L, S), steps run.
    """
    k = beam_width
    rows = batch_size * k
    source_length = ops.shape(source_mask)[1]
    tokens = ops.zeros((rows, max_length), dtype="int32")
    attention = ops.zeros((rows, max_length, source_length), dtype="float32")
    coverage = ops.zeros((rows, source_length), dtype="float32")
    # Only the first beam of each sentence is live at the start.
    first = ops.concatenate([ops.zeros((1,)), ops.full((k - 1,), NEG_INF)], axis=0)
    log_probs = ops.tile(ops.expand_dims(first, 0), (batch_size, 1))  # B x K
    finished = ops.zeros((batch_size, k), dtype="bool")
    lengths = ops.zeros((batch_size, k), dtype="int32")
    previous = ops.full((rows,), bos_id, dtype="int32")
    offsets = ops.expand_dims(ops.arange(batch_size, dtype="int32") * k, 1)  # B x 1

    def cond(step, previous, carry, tokens, attention, coverage, log_probs, finished, lengths):
        return ops.logical_and(step < max_length, ops.logical_not(ops.all(finished)))

    def body(step, previous, carry, tokens, attention, coverage, log_probs, finished, lengths):
        logits, carry, weights = step_fn(previous, carry)
        logits = ops.cast(logits, "float32")
        # The penalties are the same for every token of a hypothesis, so the k
        # best continuations of each hypothesis hold the k best overall: rank
        # k x k candidates rather than k x V (and never write out a B x K x V
        # log-softmax: log p = logit - logsumexp).
        top_logits, candidates = ops.top_k(logits, k)  # B*K x K
        candidate_log_probs = top_logits - ops.logsumexp(logits, axis=-1, keepdims=True)
        # A finished hypothesis continues only with padding, at no cost.
        row_finished = ops.reshape(finished, (rows, 1))
        first_only = ops.where(ops.arange(k) == 0, 0.0, NEG_INF)  # K
        candidate_log_probs = ops.where(row_finished, first_only, candidate_log_probs)
        candidates = ops.where(row_finished, PAD_ID, ops.cast(candidates, "int32"))
        total = ops.reshape(log_probs, (rows, 1)) + candidate_log_probs  # B*K x K
        new_lengths = ops.reshape(lengths + ops.cast(~finished, "int32"), (rows, 1))
        weights = ops.cast(weights, "float32")
        new_coverage = coverage + ops.where(row_finished, 0.0, weights)
        ranking = total / length_penalty(new_lengths, alpha)
        if beta:
            cp = coverage_penalty(new_coverage, source_mask, beta)  # B*K
            ranking = ranking + ops.reshape(cp, (rows, 1))
        _, best = ops.top_k(ops.reshape(ranking, (batch_size, k * k)), k)  # B x K
        best = ops.cast(best, "int32")
        beam = best // k
        token = ops.take_along_axis(ops.reshape(candidates, (batch_size, k * k)), best, 1)
        origin = ops.reshape(beam + offsets, (rows,))  # rows they continue
        log_probs = ops.take_along_axis(ops.reshape(total, (batch_size, k * k)), best, 1)
        was_finished = ops.take_along_axis(finished, beam, axis=1)
        lengths = ops.take_along_axis(lengths, beam, axis=1) + ops.cast(~was_finished, "int32")
        finished = ops.logical_or(was_finished, ops.equal(token, eos_id))
        carry = tuple(ops.take(part, origin, axis=0) for part in carry)
        coverage = ops.take(new_coverage, origin, axis=0)
        flat_token = ops.reshape(token, (rows,))
        zero = ops.zeros((), dtype="int32")
        tokens = ops.slice_update(
            ops.take(tokens, origin, axis=0), (zero, step), ops.expand_dims(flat_token, 1)
        )
        chosen_weights = ops.where(
            ops.reshape(was_finished, (rows, 1)), 0.0, ops.take(weights, origin, axis=0)
        )
        attention = ops.slice_update(
            ops.take(attention, origin, axis=0),
            (zero, step, zero),
            ops.expand_dims(chosen_weights, 1),
        )
        return (
            step + 1,
            flat_token,
            carry,
            tokens,
            attention,
            coverage,
            log_probs,
            finished,
            lengths,
        )

    state = (
        ops.zeros((), dtype="int32"),
        previous,
        tuple(carry),
        tokens,
        attention,
        coverage,
        log_probs,
        finished,
        lengths,
    )
    step, _, _, tokens, attention, coverage, log_probs, finished, lengths = ops.while_loop(
        cond, body, state
    )
    scores = log_probs / length_penalty(lengths, alpha)
    if beta:
        scores = scores + ops.reshape(
            coverage_penalty(coverage, source_mask, beta), (batch_size, k)
        )
    # Rank the final hypotheses (finished ones may sit below live ones).
    order = ops.cast(ops.argsort(-scores, axis=1), "int32")
    scores = ops.take_along_axis(scores, order, axis=1)
    log_probs = ops.take_along_axis(log_probs, order, axis=1)
    origin = ops.reshape(order + offsets, (rows,))
    tokens = ops.reshape(ops.take(tokens, origin, axis=0), (batch_size, k, max_length))
    attention = ops.reshape(
        ops.take(attention, origin, axis=0), (batch_size, k, max_length, source_length)
    )
    return tokens, scores, log_probs, attention, step


_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _model_loop(pieces, beam_width, max_length, alpha, beta, bos_id, eos_id):
    def run(source_ids):
        batch = ops.shape(source_ids)[0]
        # Encode each sentence once, then give every beam its copy.
        context, carry = pieces.encode(source_ids)

        def repeat(value):
            return None if value is None else ops.repeat(value, beam_width, axis=0)

        context = {key: repeat(value) for key, value in context.items()}
        carry = tuple(repeat(part) for part in carry)

        return beam_search_loop(
            pieces.step_function(context),
            carry,
            context["source_mask"],
            batch,
            beam_width,
            max_length,
            alpha,
            beta,
            bos_id,
            eos_id,
        )

    return run


def beam_search_decode(
    model: keras.Model | InferencePieces,
    source_ids,
    beam_width: int = 5,
    max_length: int = 50,
    length_penalty_alpha: float = 0.6,
    coverage_penalty_beta: float = 0.0,
    n_best: int = 1,
    bos_id: int = BOS_ID,
    eos_id: int = EOS_ID,
) -> dict[str, np.ndarray]:
    """Beam search decoding of a batch of source ids (B, S).

    Args:
        model: a model made by `build_model`, or its `InferencePieces`.
        source_ids: int array (B, S), right-padded with 0.
        beam_width: hypotheses kept per sentence (k).
        max_length: the most tokens per hypothesis (`</s>` included).
        length_penalty_alpha: GNMT's alpha; 0 ranks by log-probability.
        coverage_penalty_beta: GNMT's beta; 0 for no coverage penalty.
        n_best: how many hypotheses per sentence to return (<= beam_width).

    Returns:
        A dict: `tokens` int32 (B, n_best, L) (0 after `</s>`), `scores`
        float32 (B, n_best) (the GNMT score, best first), `log_probs`
        (B, n_best), `attention` float32 (B, n_best, L, S) of the chosen
        hypotheses, reordered with the beams.
    """
    for name, value, low in (("beam_width", beam_width, 1), ("max_length", max_length, 1)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"{name} must be a positive integer. Received: {value!r}")
    if not 1 <= n_best <= beam_width:
        raise ValueError(f"n_best must be in [1, beam_width={beam_width}]. Received: {n_best}")
    pieces = model if isinstance(model, InferencePieces) else InferencePieces(model)
    if beam_width > pieces.config.target_vocab_size:
        raise ValueError(
            f"beam_width must be at most the target vocabulary size "
            f"({pieces.config.target_vocab_size}). Received: {beam_width}"
        )
    source_ids = pieces.check_source_ids(source_ids)
    padded = pad_source_width(source_ids)
    key = (
        int(beam_width),
        int(max_length),
        float(length_penalty_alpha),
        float(coverage_penalty_beta),
        bos_id,
        eos_id,
    )
    cache = _CACHE.setdefault(pieces.model, {})
    if key not in cache:
        cache[key] = compile_decoding_function(pieces.model, _model_loop(pieces, *key))
    tokens, scores, log_probs, attention, steps = cache[key](ops.convert_to_tensor(padded))
    steps = max(int(ops.convert_to_numpy(steps)), 1)
    return {
        "tokens": ops.convert_to_numpy(tokens)[:, :n_best, :steps],
        "scores": ops.convert_to_numpy(scores)[:, :n_best],
        "log_probs": ops.convert_to_numpy(log_probs)[:, :n_best],
        "attention": ops.convert_to_numpy(attention)[:, :n_best, :steps, : source_ids.shape[1]],
    }
