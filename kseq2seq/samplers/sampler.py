"""`Sampler`: the one decoding loop; subclasses say only how tokens are chosen.

As in keras-hub's samplers, the loop (one `keras.ops.while_loop` over the
whole batch, or over batch x beam) lives in the base class, and a subclass
overrides `next_token` (greedy: the argmax; random, top-k, top-p: a draw) or,
for beams, `select` and `finish` (how hypotheses are kept and ranked).
Sequences that have produced `</s>` are padded with 0 from then on; the loop
stops when every sequence has ended or after `max_length` tokens.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from kseq2seq.checks import check_number  # noqa: F401  (the samplers' argument check)
from kseq2seq.special_tokens import BOS_ID, EOS_ID, PAD_ID


class Sampler:
    """Base class of the samplers: runs the decoding loop over a step function.

    Args:
        temperature: divides the logits before the next token is chosen (> 0).

    Call arguments:
        next: `next(token_ids (R,), carry) -> (logits (R, V), carry,
            attention weights (R, S))`: one decoder step. R is the batch
            times `num_beams` (row `b * num_beams + k` is beam k of sentence b).
        carry: the step function's initial state (a tuple of tensors, R rows).
        source_mask: bool (R, S), True at real source positions.
        max_length: the most tokens per sequence (`</s>` included).
        seed: a seed tensor from `seed_tensor` (used by the random samplers).
        bos_id, eos_id: the start token and the token that ends a sequence.

    Returns:
        A dict of tensors, best hypothesis first: `tokens` int32
        (B, num_beams, max_length) (0 after `</s>`), `scores` float32
        (B, num_beams) (the ranking score), `log_probs` (B, num_beams) (the
        model's log-probability of the tokens), `attention` float32
        (B, num_beams, max_length, S), and `steps`, the steps run.
    """

    num_beams = 1

    def __init__(self, temperature: float = 1.0):
        check_number("temperature", temperature, low=0, low_open=True)
        self.temperature = float(temperature)

    # What a subclass overrides -------------------------------------------------
    def next_token(self, logits, step, seed):
        """`(token_ids (R,), their log-probabilities (R,))` from logits (R, V)."""
        raise NotImplementedError

    def initial_scores(self, rows):
        """The score of every row before the first step, float32 (R,)."""
        return ops.zeros((rows,), dtype="float32")

    def select(self, logits, scores, finished, lengths, coverage, source_mask, step, seed):
        """One step's choice: `(token_ids (R,), scores (R,), origin)`.

        `lengths` and `coverage` already count this step. `origin` (R,) is
        the row each new row continues, or None when rows keep their place.
        """
        token, token_log_prob = self.next_token(logits, step, seed)
        token = ops.where(finished, PAD_ID, ops.cast(token, "int32"))
        return token, scores + ops.where(finished, 0.0, token_log_prob), None

    def finish(self, scores, lengths, coverage, source_mask):
        """`(ranking scores, log_probs, order)` after the loop; order (B, K) or None."""
        return scores, scores, None

    # The loop -------------------------------------------------------------------
    def __call__(
        self, next, carry, source_mask, max_length, seed=None, bos_id=BOS_ID, eos_id=EOS_ID
    ) -> dict:
        k = self.num_beams
        rows, source_length = ops.shape(source_mask)[0], ops.shape(source_mask)[1]
        if seed is None:
            seed = seed_tensor(0)
        zero = ops.zeros((), dtype="int32")
        state = (
            zero,  # step
            ops.full((rows,), bos_id, dtype="int32"),  # previous tokens
            tuple(carry),
            ops.zeros((rows, max_length), dtype="int32"),  # tokens
            ops.zeros((rows, max_length, source_length), dtype="float32"),  # attention
            self.initial_scores(rows),
            ops.zeros((rows,), dtype="bool"),  # finished
            ops.zeros((rows,), dtype="int32"),  # lengths
            ops.zeros((rows, source_length), dtype="float32"),  # coverage
        )

        def cond(step, previous, carry, tokens, attention, scores, finished, lengths, coverage):
            return ops.logical_and(step < max_length, ops.logical_not(ops.all(finished)))

        def body(step, previous, carry, tokens, attention, scores, finished, lengths, coverage):
            logits, carry, weights = next(previous, carry)
            logits = ops.cast(logits, "float32")  # R x V
            weights = ops.where(ops.expand_dims(finished, 1), 0.0, ops.cast(weights, "float32"))
            coverage = coverage + weights  # R x S
            lengths = lengths + ops.cast(ops.logical_not(finished), "int32")
            token, scores, origin = self.select(
                logits, scores, finished, lengths, coverage, source_mask, step, seed
            )
            if origin is not None:  # beams: every row continues the row it came from
                carry = tuple(ops.take(part, origin, axis=0) for part in carry)
                tokens, attention, weights, coverage, finished, lengths = (
                    ops.take(value, origin, axis=0)
                    for value in (tokens, attention, weights, coverage, finished, lengths)
                )
            tokens = ops.slice_update(tokens, (zero, step), ops.expand_dims(token, 1))
            attention = ops.slice_update(attention, (zero, step, zero), ops.expand_dims(weights, 1))
            finished = ops.logical_or(finished, ops.equal(token, eos_id))
            return step + 1, token, carry, tokens, attention, scores, finished, lengths, coverage

        step, _, _, tokens, attention, scores, _, lengths, coverage = ops.while_loop(
            cond, body, state
        )
        scores, log_probs, order = self.finish(scores, lengths, coverage, source_mask)
        batch = rows // k
        scores, log_probs = ops.reshape(scores, (batch, k)), ops.reshape(log_probs, (batch, k))
        if order is not None:
            scores = ops.take_along_axis(scores, order, axis=1)
            log_probs = ops.take_along_axis(log_probs, order, axis=1)
            offsets = ops.expand_dims(ops.arange(batch, dtype="int32") * k, 1)  # B x 1
            origin = ops.reshape(order + offsets, (rows,))
            tokens, attention = ops.take(tokens, origin, axis=0), ops.take(attention, origin, 0)
        return {
            "tokens": ops.reshape(tokens, (batch, k, max_length)),
            "scores": scores,
            "log_probs": log_probs,
            "attention": ops.reshape(attention, (batch, k, max_length, source_length)),
            "steps": step,
        }

    # Serialisation --------------------------------------------------------------
    def get_config(self) -> dict:
        return {"temperature": self.temperature}

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)

    def cache_key(self) -> tuple:
        """What the compiled loop depends on: the class and the settings but
        the seed (an input of the loop) and what is read off its outputs."""
        skipped = ("seed", "return_all_beams")
        config = {k: v for k, v in self.get_config().items() if k not in skipped}
        return (type(self).__name__, *sorted(config.items()))

    def seed_value(self) -> int:
        """The seed of this call (0 for samplers that draw nothing)."""
        return 0

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({settings})"


def seed_tensor(seed: int):
    """A seed as the compiled loop takes it: a 2-vector for the backend's
    stateless random functions (int32 under TensorFlow, uint32 under JAX)."""
    dtype = "uint32" if keras.backend.backend() == "jax" else "int32"
    return ops.convert_to_tensor(np.array([seed, 0], dtype=dtype))
