"""The loop driver over a model: `generate` (tensors, traceable) and `decode`
(NumPy in and out, validated once, compiled once per model and sampler
settings and cached).

`keras.ops.while_loop` is backend-neutral but runs eagerly unless the
function around it is compiled: `tf.function` under TensorFlow, `jax.jit`
under JAX (with the model's variables passed in as state, as keras-hub's
generate functions do). Other backends run the loop eagerly.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass

import keras
import numpy as np
from keras import ops

from kseq2seq.models.inference import InferencePieces
from kseq2seq.samplers.sampler import Sampler, check_number, seed_tensor
from kseq2seq.shapes import padded_rows
from kseq2seq.special_tokens import BOS_ID, EOS_ID


@dataclass(frozen=True)
class DecodingResult:
    """What `decode` returns, as NumPy arrays.

    Attributes:
        tokens: int32 (B, L), `</s>` kept and 0 after it; (B, k, L), best
            first, for a `BeamSampler(return_all_beams=True)`.
        scores: float32 (B,) (or (B, k)): the sampler's ranking score (the
            GNMT score for beams, else the log-probability).
        log_probs: float32 (B,) (or (B, k)): the model's log-probability of
            the tokens.
        attention: float32 (B, L, S) (or (B, k, L, S)): one row per produced
            token (zero rows after the end).
    """

    tokens: np.ndarray
    scores: np.ndarray
    log_probs: np.ndarray
    attention: np.ndarray


def generate(
    pieces: InferencePieces,
    source_ids,
    sampler: Sampler,
    max_length,
    seed=None,
    bos_id: int = BOS_ID,
    eos_id: int = EOS_ID,
) -> dict:
    """Runs `sampler`'s loop over a model's inference pieces, in tensors.

    Traceable (`tf.function`, `jax.jit`); `max_length` may be a scalar tensor
    under TensorFlow. Returns the sampler's dict of tensors, untrimmed.
    """
    # Encode each sentence once, then give every beam its copy.
    context, carry = pieces.encode(source_ids)
    if ops.is_tensor(sampler.num_beams) or sampler.num_beams > 1:

        def repeat(value):
            return None if value is None else ops.repeat(value, sampler.num_beams, axis=0)

        context = {key: repeat(value) for key, value in context.items()}
        carry = tuple(repeat(part) for part in carry)
    step = pieces.step_function(context)
    return sampler(step, carry, context["source_mask"], max_length, seed, bos_id, eos_id)


def compile_function(model: keras.Model, function: Callable) -> Callable:
    """`function` compiled for the current backend; under JAX `model`'s
    variables are passed in as state, so weight updates are seen without
    recompiling."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        # Autograph is off: the loop is `ops.while_loop` already, and converting the decoder's
        # Python code took three quarters of a first `translate` (benchmarks/first_call.py).
        return tf.function(function, reduce_retracing=True, autograph=False)
    if backend == "jax":
        import jax

        variables = list(model.variables)

        @jax.jit
        def compiled(values, *args):
            with keras.StatelessScope(state_mapping=list(zip(variables, values))):
                return function(*args)

        return lambda *args: compiled([variable.value for variable in variables], *args)
    return function


def pad_width(ids: np.ndarray, multiple: int = 8) -> np.ndarray:
    """Right-pads int ids (B, S) with 0 to a width that is a multiple of
    `multiple` (at least `multiple`), so that few shapes compile; padding is
    masked, so results do not change."""
    width = max(multiple, -(-ids.shape[1] // multiple) * multiple)
    padded = np.zeros((ids.shape[0], width), dtype="int32")
    padded[:, : ids.shape[1]] = ids
    return padded


def pad_rows(ids: np.ndarray) -> np.ndarray:
    """`ids` (B, S) with copies of its first row appended up to `kseq2seq.shapes.padded_rows`
    rows (a power of two up to 64, then a multiple of 64), so that few batch shapes compile;
    each row is decoded alone, and under a deterministic sampler (greedy, beams) the copies
    end when that row does (a random sampler may draw them longer)."""
    rows = ids.shape[0]
    padded = padded_rows(rows)
    if padded == rows:
        return ids
    return np.concatenate([ids, np.repeat(ids[:1], padded - rows, axis=0)])


# model -> {(sampler settings, max_length, bos, eos): compiled loop, "teacher_forced_attention":
# compiled function}; entries go with their model.
_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _compiled(pieces: InferencePieces, key, function: Callable) -> Callable:
    """`function(pieces, *args)` compiled for `pieces.model`, from `_CACHE`. The compiled
    function reaches the model through a weak reference only: a value of `_CACHE` that held
    its key would keep the model, and the programs compiled for it, alive as long as the
    process."""
    cache = _CACHE.setdefault(pieces.model, {})
    if key not in cache:
        model_ref, kind = weakref.ref(pieces.model), type(pieces)
        cache[key] = compile_function(
            pieces.model, lambda *args: function(kind(model_ref()), *args)
        )
    return cache[key]


def decode(
    model: keras.Model | InferencePieces,
    source_ids,
    sampler: str | Sampler = "greedy",
    max_length: int = 50,
    bos_id: int = BOS_ID,
    eos_id: int = EOS_ID,
) -> DecodingResult:
    """Decodes a batch of source ids (B, S) with any sampler.

    Args:
        model: a model made by `build_model`, or its `InferencePieces`.
        source_ids: int array (B, S), right-padded with 0.
        sampler: a `Sampler`, or a name for `kseq2seq.samplers.get`.
        max_length: the most tokens per sequence (`</s>` included).
        bos_id: the start token fed at the first step.
        eos_id: the token that ends a sequence.

    Raises:
        ValueError: bad `max_length`, source ids or sampler settings, or more
            beams than target tokens.
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

    def run(pieces, ids, seed):
        return generate(pieces, ids, sampler, int(max_length), seed, bos_id, eos_id)

    compiled = _compiled(pieces, (sampler.cache_key(), int(max_length), bos_id, eos_id), run)
    outputs = compiled(
        ops.convert_to_tensor(pad_width(pad_rows(source_ids))), seed_tensor(sampler.seed_value())
    )
    steps = max(int(ops.convert_to_numpy(outputs["steps"])), 1)
    rows, width = source_ids.shape
    found = [
        ops.convert_to_numpy(outputs["tokens"])[:rows, :, :steps],
        ops.convert_to_numpy(outputs["scores"])[:rows],
        ops.convert_to_numpy(outputs["log_probs"])[:rows],
        ops.convert_to_numpy(outputs["attention"])[:rows, :, :steps, :width],
    ]
    if not getattr(sampler, "return_all_beams", False):
        found = [value[:, 0] for value in found]
    return DecodingResult(*found)


def greedy_decode(
    model: keras.Model | InferencePieces,
    source_ids,
    max_length: int = 50,
    bos_id: int = BOS_ID,
    eos_id: int = EOS_ID,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`decode(model, source_ids, "greedy", max_length)` as the tuple
    `(tokens (B, L), scores (B,), attention (B, L, S))`: the one-liner of the
    quick start, for a bare model."""
    found = decode(model, source_ids, "greedy", max_length, bos_id, eos_id)
    return found.tokens, found.scores, found.attention


def teacher_forced_attention(pieces: InferencePieces, source_ids, target_in) -> np.ndarray:
    """The attention weights (B, T, S) of teacher-forcing `target_in` (B, T) on
    `source_ids` (B, S), NumPy in and out, from one compiled function per model (widths
    padded to multiples of 8, so that few shapes compile; padding changes no real row)."""
    if pieces.config.attention is None:
        raise ValueError(
            "This model has no attention (attention=None): there are no weights to extract."
        )

    def forced(pieces, source_ids, target_in):
        return pieces.teacher_forced_attention(source_ids, target_in)

    compiled = _compiled(pieces, "teacher_forced_attention", forced)
    weights = compiled(
        ops.convert_to_tensor(pad_width(source_ids)), ops.convert_to_tensor(pad_width(target_in))
    )
    return ops.convert_to_numpy(weights)[:, : target_in.shape[1], : source_ids.shape[1]]
