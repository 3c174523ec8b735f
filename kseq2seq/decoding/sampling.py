"""Temperature, top-k and top-p (nucleus) sampling, one compiled loop.

Each step draws the next token from the model's distribution reshaped by
the settings, in this order: logits divided by `temperature`, then only the
`top_k` most likely tokens kept, then only the smallest set of tokens whose
probability reaches `top_p` kept (Holtzman et al., 2019). Drawing uses the
Gumbel-max trick, `argmax(logits + g)` with `g = -log(-log(u))`, u uniform,
which samples exactly from `softmax(logits)`. `<pad>` and `<s>` are never
drawn: they are not outputs.

The noise is stateless: the seed is an input of the compiled loop (a tensor),
folded with the step number, so the same seed gives the same tokens, and a
new seed does not recompile. As greedy decoding, the loop (one
`keras.ops.while_loop` over the whole batch) stops when every sequence has
produced `</s>` or after `max_length` tokens, and is compiled once per model
and settings and cached.
"""

from __future__ import annotations

import numbers
import weakref

import keras
import numpy as np
from keras import ops

from kseq2seq.decoding.compiled import compile_decoding_function, pad_source_width
from kseq2seq.models.inference import InferencePieces
from kseq2seq.special_tokens import BOS_ID, EOS_ID, PAD_ID


def check_sampling_arguments(temperature=1.0, top_k=None, top_p=None, seed=None) -> None:
    """Raises ValueError naming the first invalid sampling argument."""
    if (
        isinstance(temperature, bool)
        or not isinstance(temperature, numbers.Real)
        or not np.isfinite(temperature)
        or temperature <= 0
    ):
        raise ValueError(
            f"temperature must be a finite number > 0 (use greedy decoding for the limit 0). "
            f"Received: temperature={temperature!r}"
        )
    if top_k is not None and (
        isinstance(top_k, bool) or not isinstance(top_k, numbers.Integral) or top_k < 1
    ):
        raise ValueError(f"top_k must be None or an integer >= 1. Received: top_k={top_k!r}")
    if top_p is not None and (
        isinstance(top_p, bool) or not isinstance(top_p, numbers.Real) or not 0 < top_p <= 1
    ):
        raise ValueError(f"top_p must be None or a number in (0, 1]. Received: top_p={top_p!r}")
    if seed is not None and (
        isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not 0 <= seed < 2**31
    ):
        raise ValueError(f"seed must be None or an integer in [0, 2**31). Received: seed={seed!r}")


def seed_tensor(seed: int):
    """The seed as the compiled loop takes it: a 2-vector for the backend's
    stateless random functions (int32 under TensorFlow, uint32 under JAX)."""
    dtype = "uint32" if keras.backend.backend() == "jax" else "int32"
    return ops.convert_to_tensor(np.array([seed, 0], dtype=dtype))


def _uniform(shape, seed, step):
    """Uniform noise in (0, 1) from a seed tensor and the step number."""
    backend = keras.backend.backend()
    tiny = float(np.finfo("float32").tiny)
    if backend == "tensorflow":
        import tensorflow as tf

        step_seed = tf.random.experimental.stateless_fold_in(seed, step)
        return tf.random.stateless_uniform(shape, seed=step_seed, minval=tiny, maxval=1.0)
    if backend == "jax":
        import jax

        key = jax.random.fold_in(seed, step)
        return jax.random.uniform(key, shape, minval=tiny, maxval=1.0)
    # Other backends decode eagerly: the seed and step are concrete numbers.
    base = int(ops.convert_to_numpy(seed)[0])
    return keras.random.uniform(
        shape, minval=tiny, maxval=1.0, seed=(base * 1_000_003 + int(step)) % 2**31
    )


def restrict_logits(logits, temperature: float = 1.0, top_k=None, top_p=None):
    """The logits sampling draws from: divided by `temperature`, with the
    tokens outside the top-k and outside the top-p nucleus set to -inf.

    Ties at the top-k or nucleus boundary are all kept.
    """
    scaled = ops.cast(logits, "float32") / temperature  # B x V
    blocked = ops.full_like(scaled, float("-inf"))
    vocab = scaled.shape[-1]
    if top_k is not None and top_k < vocab:
        kth = ops.top_k(scaled, int(top_k))[0][:, -1:]  # B x 1
        scaled = ops.where(scaled < kth, blocked, scaled)
    if top_p is not None and top_p < 1:
        probs = ops.softmax(scaled, axis=-1)
        descending = ops.flip(ops.sort(probs, axis=-1), axis=-1)
        # Keep a token when the mass of the more likely tokens is below top_p.
        kept = ops.cumsum(descending, axis=-1) - descending < top_p
        threshold = ops.min(ops.where(kept, descending, 2.0), axis=-1, keepdims=True)
        scaled = ops.where(probs < threshold, blocked, scaled)
    return scaled


def sampling_loop(
    step_fn,
    carry,
    batch_size,
    source_length,
    seed,
    max_length: int,
    temperature: float = 1.0,
    top_k=None,
    top_p=None,
    bos_id: int = BOS_ID,
    eos_id: int = EOS_ID,
    blocked_ids=(PAD_ID, BOS_ID),
):
    """The sampling loop over any step function.

    Args:
        step_fn: `step_fn(tokens (B,), carry) -> (logits (B, V), carry,
            weights (B, S))`.
        carry: the step function's initial state.
        seed: a seed tensor from `seed_tensor`.
        blocked_ids: token ids never drawn.

    Returns:
        tokens int32 (B, max_length), scores float32 (B,) (the model's
        log-probability of the sampled tokens, untempered), attention float32
        (B, max_length, S), steps run.
    """
    tokens = ops.zeros((batch_size, max_length), dtype="int32")
    attention = ops.zeros((batch_size, max_length, source_length), dtype="float32")
    scores = ops.zeros((batch_size,), dtype="float32")
    finished = ops.zeros((batch_size,), dtype="bool")
    previous = ops.full((batch_size,), bos_id, dtype="int32")

    def cond(step, previous, carry, tokens, attention, scores, finished):
        return ops.logical_and(step < max_length, ops.logical_not(ops.all(finished)))

    def body(step, previous, carry, tokens, attention, scores, finished):
        logits, carry, weights = step_fn(previous, carry)
        vocab = logits.shape[-1]
        allowed = np.ones((vocab,), dtype=bool)
        allowed[[i for i in blocked_ids if i < vocab]] = False
        candidates = ops.where(allowed, ops.cast(logits, "float32"), float("-inf"))
        restricted = restrict_logits(candidates, temperature, top_k, top_p)  # B x V
        noise = _uniform(ops.shape(restricted), seed, step)
        gumbel = -ops.log(-ops.log(noise))
        chosen = ops.cast(ops.argmax(restricted + gumbel, axis=-1), "int32")
        chosen = ops.where(finished, PAD_ID, chosen)
        log_probs = ops.log_softmax(ops.cast(logits, "float32"), axis=-1)  # B x V
        chosen_log_prob = ops.take_along_axis(log_probs, ops.expand_dims(chosen, 1), axis=1)[:, 0]
        scores = scores + ops.where(finished, 0.0, chosen_log_prob)
        weights = ops.where(ops.expand_dims(finished, 1), 0.0, ops.cast(weights, "float32"))
        zero = ops.zeros((), dtype="int32")
        tokens = ops.slice_update(tokens, (zero, step), ops.expand_dims(chosen, 1))
        attention = ops.slice_update(attention, (zero, step, zero), ops.expand_dims(weights, 1))
        finished = ops.logical_or(finished, ops.equal(chosen, eos_id))
        return step + 1, chosen, carry, tokens, attention, scores, finished

    state = (ops.zeros((), dtype="int32"), previous, tuple(carry), tokens, attention, scores)
    state = (*state, finished)
    step, _, _, tokens, attention, scores, _ = ops.while_loop(cond, body, state)
    return tokens, scores, attention, step


def _model_loop(pieces: InferencePieces, max_length, temperature, top_k, top_p, bos_id, eos_id):
    def run(source_ids, seed):
        context, carry = pieces.encode(source_ids)
        return sampling_loop(
            pieces.step_function(context),
            carry,
            ops.shape(source_ids)[0],
            ops.shape(source_ids)[1],
            seed,
            max_length,
            temperature,
            top_k,
            top_p,
            bos_id,
            eos_id,
        )

    return run


# model -> {settings: compiled loop}; entries go with their model.
_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def sample_decode(
    model: keras.Model | InferencePieces,
    source_ids,
    max_length: int = 50,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    seed: int | None = None,
    bos_id: int = BOS_ID,
    eos_id: int = EOS_ID,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Samples one output per source sentence.

    Args:
        model: a model made by `build_model`, or its `InferencePieces`.
        source_ids: int array (B, S), right-padded with 0.
        max_length: the most tokens produced per sentence (`</s>` included).
        temperature: divides the logits (> 0): below 1 sharpens the
            distribution, towards greedy decoding; above 1 flattens it.
        top_k: draw only among the k most likely tokens (None: all).
        top_p: draw only among the smallest set of most likely tokens whose
            probability (after temperature and top-k) reaches top_p, in (0, 1]
            (None or 1: all).
        seed: an integer in [0, 2**31): the same seed gives the same output.
            None draws one from NumPy's global generator (which
            `keras.utils.set_random_seed` seeds).

    Returns:
        `(tokens, scores, attention)` as `greedy_decode` returns them: tokens
        int32 (B, L), `</s>` kept and 0 after it; scores float32 (B,), the
        model's own log-probability of the sampled tokens (at temperature 1,
        without the top-k and top-p restriction, i.e. what the model computes
        teacher-forced); attention float32 (B, L, S).
    """
    if isinstance(max_length, bool) or not isinstance(max_length, numbers.Integral):
        raise ValueError(f"max_length must be a positive integer. Received: {max_length!r}")
    if max_length < 1:
        raise ValueError(f"max_length must be a positive integer. Received: {max_length!r}")
    check_sampling_arguments(temperature, top_k, top_p, seed)
    if seed is None:
        seed = int(np.random.randint(0, 2**31 - 1))
    pieces = model if isinstance(model, InferencePieces) else InferencePieces(model)
    source_ids = pieces.check_source_ids(source_ids)
    padded = pad_source_width(source_ids)
    key = (
        int(max_length),
        float(temperature),
        None if top_k is None else int(top_k),
        None if top_p is None else float(top_p),
        bos_id,
        eos_id,
    )
    cache = _CACHE.setdefault(pieces.model, {})
    if key not in cache:
        cache[key] = compile_decoding_function(pieces.model, _model_loop(pieces, *key))
    tokens, scores, attention, steps = cache[key](ops.convert_to_tensor(padded), seed_tensor(seed))
    steps = max(int(ops.convert_to_numpy(steps)), 1)
    return (
        ops.convert_to_numpy(tokens)[:, :steps],
        ops.convert_to_numpy(scores),
        ops.convert_to_numpy(attention)[:, :steps, : source_ids.shape[1]],
    )
