"""The loop driver over a model: `generate` (tensors, traceable) and `decode` (NumPy in and out,
compiled once per model and sampler settings: `tf.function` under TensorFlow, `jax.jit` under
JAX with the model's variables as state, as in keras-hub; eager elsewhere)."""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass

import keras
import numpy as np
from keras import ops

from kseq2seq.checks import check_number
from kseq2seq.models.builder import check_attention
from kseq2seq.models.inference import InferencePieces
from kseq2seq.samplers.sampler import seed_tensor
from kseq2seq.shapes import padded_rows
from kseq2seq.special_tokens import BOS_ID, EOS_ID


@dataclass(frozen=True)
class DecodingResult:
    """What `decode` returns, as NumPy arrays; with `BeamSampler(return_all_beams=True)`
    each has a beam axis after the first, best beam first.

    Attributes:
        tokens: int32 (B, L), `</s>` kept and 0 after it.
        scores: float32 (B,): the ranking score (the GNMT score for beams, else `log_probs`).
        log_probs: float32 (B,): the model's log-probability of the tokens.
        attention: float32 (B, L, S): one row per produced token (zero rows after the end).
    """

    tokens: np.ndarray
    scores: np.ndarray
    log_probs: np.ndarray
    attention: np.ndarray


def generate(pieces, source_ids, sampler, max_length, seed=None, bos_id=BOS_ID, eos_id=EOS_ID):
    """Runs `sampler`'s loop over `InferencePieces`, traceable (`max_length` may be a scalar
    tensor under TensorFlow); returns the sampler's dict of tensors, untrimmed."""
    # Encode each sentence once, then give every beam its copy.
    context, carry = pieces.encode(source_ids)
    if ops.is_tensor(sampler.num_beams) or sampler.num_beams > 1:

        def repeat(value):
            return None if value is None else ops.repeat(value, sampler.num_beams, axis=0)

        context = {key: repeat(value) for key, value in context.items()}
        carry = tuple(repeat(part) for part in carry)
    step = pieces.step_function(context)
    return sampler(step, carry, context["source_mask"], max_length, seed, bos_id, eos_id)


def pad_width(ids: np.ndarray, multiple: int = 8):
    """`ids` (B, S) as an int32 tensor right-padded with 0 to a multiple of `multiple` columns
    (at least one), so that few shapes compile; padding is masked, so results do not change."""
    width = max(multiple, -(-ids.shape[1] // multiple) * multiple)
    return ops.convert_to_tensor(np.pad(ids, ((0, 0), (0, width - ids.shape[1]))).astype("int32"))


# model -> {(sampler settings, max_length, bos, eos) or "teacher_forced_attention": compiled
# function}; entries go with their model.
_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _compiled(pieces: InferencePieces, key, function: Callable) -> Callable:
    """`function(pieces, *args)` compiled for `pieces.model`, from `_CACHE`. It reaches the model
    through a weak reference: a `_CACHE` value that held its key would keep it alive."""
    cache = _CACHE.setdefault(pieces.model, {})
    if key in cache:
        return cache[key]
    model_ref, kind = weakref.ref(pieces.model), type(pieces)

    def call(*args):
        return function(kind(model_ref()), *args)

    compiled = call
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        # Without autograph: the loop is `ops.while_loop` already, and converting the decoder's
        # Python took three quarters of a first `translate` (benchmarks/first_call.py).
        compiled = tf.function(call, reduce_retracing=True, autograph=False)
    elif keras.backend.backend() == "jax":
        import jax

        variables = list(pieces.model.variables)  # passed in, so new weights need no recompiling

        @jax.jit
        def stateless(values, *args):
            with keras.StatelessScope(state_mapping=list(zip(variables, values))):
                return call(*args)

        def compiled(*args):
            return stateless([variable.value for variable in variables], *args)

    cache[key] = compiled
    return compiled


def decode(model, source_ids, sampler="greedy", max_length=50, bos_id=BOS_ID, eos_id=EOS_ID):
    """Decodes a batch of source ids (B, S) with any sampler into a `DecodingResult`.

    Args:
        model: a model made by `build_model`, or its `InferencePieces`.
        source_ids: int array (B, S), right-padded with 0.
        sampler: a `Sampler`, or a name for `kseq2seq.samplers.get`.
        max_length: the most tokens per sequence (`</s>` included).

    Raises:
        ValueError: bad `max_length`, source ids or sampler settings, or more beams than
            target tokens.
    """
    from kseq2seq.samplers import get

    sampler = get(sampler)
    check_number("max_length", max_length, low=1, integer=True)
    pieces = model if isinstance(model, InferencePieces) else InferencePieces(model)
    if sampler.num_beams > pieces.config.target_vocab_size:
        raise ValueError(
            f"num_beams must be at most the target vocabulary size "
            f"({pieces.config.target_vocab_size}). Received: {sampler.num_beams}"
        )
    source_ids = pieces.check_source_ids(source_ids)
    rows, width = source_ids.shape
    # Copies of the first row fill the batch up to `padded_rows`, so that few batch shapes
    # compile. Each row is decoded alone, so the copies change no real row.
    copies = np.repeat(source_ids[:1], padded_rows(rows) - rows, axis=0)
    padded = pad_width(np.concatenate([source_ids, copies]))

    def run(pieces, ids, seed):
        return generate(pieces, ids, sampler, int(max_length), seed, bos_id, eos_id)

    compiled = _compiled(pieces, (sampler.cache_key(), int(max_length), bos_id, eos_id), run)
    outputs = compiled(padded, seed_tensor(sampler.seed_value()))
    steps = max(int(ops.convert_to_numpy(outputs["steps"])), 1)
    found = [
        ops.convert_to_numpy(outputs["tokens"])[:rows, :, :steps],
        ops.convert_to_numpy(outputs["scores"])[:rows],
        ops.convert_to_numpy(outputs["log_probs"])[:rows],
        ops.convert_to_numpy(outputs["attention"])[:rows, :, :steps, :width],
    ]
    if not getattr(sampler, "return_all_beams", False):
        found = [value[:, 0] for value in found]
    return DecodingResult(*found)


def greedy_decode(model, source_ids, max_length=50, bos_id=BOS_ID, eos_id=EOS_ID) -> tuple:
    """`decode(model, source_ids, "greedy", max_length)` as the tuple `(tokens (B, L), scores
    (B,), attention (B, L, S))`: the one-liner of the quick start."""
    found = decode(model, source_ids, "greedy", max_length, bos_id, eos_id)
    return found.tokens, found.scores, found.attention


def teacher_forced_attention(pieces: InferencePieces, source_ids, target_in) -> np.ndarray:
    """The attention weights (B, T, S) of teacher-forcing `target_in` (B, T) on `source_ids`
    (B, S), NumPy in and out, from one compiled function per model."""
    check_attention(pieces.config)
    compiled = _compiled(pieces, "teacher_forced_attention", type(pieces).teacher_forced_attention)
    weights = compiled(pad_width(source_ids), pad_width(target_in))
    return ops.convert_to_numpy(weights)[:, : target_in.shape[1], : source_ids.shape[1]]
