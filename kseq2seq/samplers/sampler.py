"""`Sampler`, the one decoding loop, and `GreedySampler`. As in keras-hub, a subclass says only
how tokens are chosen: `next_token`, or for beams `select` and `finish`."""

from __future__ import annotations

import inspect

import keras
import numpy as np
from keras import ops

from kseq2seq.checks import check_number
from kseq2seq.special_tokens import BOS_ID, EOS_ID, PAD_ID


class Sampler:
    """Base class of the samplers: runs the decoding loop over a step function.

    Args:
        temperature: divides the logits before the next token is chosen (> 0).

    Call arguments:
        next: one decoder step, `next(token_ids (R,), carry) -> (logits (R, V), carry,
            attention (R, S))`; row `b * num_beams + k` of R is beam k of sentence b.
        carry: the step function's initial state (a tuple of tensors, R rows).
        source_mask: bool (R, S), True at real source positions.
        max_length: the most tokens per sequence (`</s>` included).
        seed: a seed tensor from `seed_tensor` (used by the random samplers).

    Returns:
        A dict of tensors, best hypothesis first: `tokens` int32 (B, K, max_length) (0 after
        `</s>`), `scores` and `log_probs` float32 (B, K), `attention` float32
        (B, K, max_length, S), and `steps`; K is `num_beams`.
    """

    num_beams = 1

    def __init__(self, temperature: float = 1.0):
        check_number("temperature", temperature, low=0, low_open=True)
        self.temperature = float(temperature)

    def next_token(self, logits, step, seed):
        """`(token_ids (R,), their log-probabilities (R,))` from logits (R, V)."""
        raise NotImplementedError

    def initial_scores(self, rows):
        """The score of every row before the first step, float32 (R,)."""
        return ops.zeros((rows,), dtype="float32")

    def select(self, logits, scores, finished, lengths, coverage, source_mask, step, seed):
        """One step's `(token_ids (R,), scores (R,), origin)`; `origin` (R,) is the row each
        new row continues, or None. `lengths` and `coverage` already count this step."""
        token, token_log_prob = self.next_token(logits, step, seed)
        token = ops.where(finished, PAD_ID, ops.cast(token, "int32"))
        return token, scores + ops.where(finished, 0.0, token_log_prob), None

    def finish(self, scores, lengths, coverage, source_mask):
        """`(ranking scores, log_probs, origin)` after the loop; `origin` (R,) puts each
        sentence's rows best first, or is None."""
        return scores, scores, None

    def __call__(
        self, next, carry, source_mask, max_length, seed=None, bos_id=BOS_ID, eos_id=EOS_ID
    ) -> dict:
        k = self.num_beams
        rows, source_length = ops.shape(source_mask)[0], ops.shape(source_mask)[1]
        seed = seed_tensor(0) if seed is None else seed
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
        scores, log_probs, origin = self.finish(scores, lengths, coverage, source_mask)
        if origin is not None:
            scores, log_probs, tokens, attention = (
                ops.take(value, origin, axis=0) for value in (scores, log_probs, tokens, attention)
            )
        batch = rows // k
        return {
            "tokens": ops.reshape(tokens, (batch, k, max_length)),
            "scores": ops.reshape(scores, (batch, k)),
            "log_probs": ops.reshape(log_probs, (batch, k)),
            "attention": ops.reshape(attention, (batch, k, max_length, source_length)),
            "steps": step,
        }

    def get_config(self) -> dict:
        """The constructor's arguments: a subclass keeps each as an attribute of its name (or
        overrides this)."""
        arguments = list(inspect.signature(type(self).__init__).parameters)[1:]
        return {name: getattr(self, name) for name in arguments}

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)

    def cache_key(self) -> tuple:
        """What the compiled loop depends on: the settings but the seed (a loop input) and
        `return_all_beams` (read off its outputs)."""
        skipped = ("seed", "return_all_beams")
        config = {k: v for k, v in self.get_config().items() if k not in skipped}
        return (type(self).__name__, *sorted(config.items()))

    def seed_value(self) -> int:
        """The seed of this call (0 for samplers that draw nothing)."""
        return 0

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({settings})"


@keras.saving.register_keras_serializable(package="kseq2seq")
class GreedySampler(Sampler):
    """Greedy decoding: the argmax token at every step; the score sums their log-probabilities."""

    def __init__(self):
        super().__init__()

    def next_token(self, logits, step, seed):
        # log p of the argmax = its logit - logsumexp: no R x V log-softmax.
        log_prob = ops.max(logits, axis=-1) - ops.logsumexp(logits, axis=-1)
        return ops.argmax(logits, axis=-1), log_prob


def seed_tensor(seed: int):
    """A seed as the compiled loop takes it: a 2-vector for the backend's stateless random
    functions (int32 under TensorFlow, uint32 under JAX)."""
    dtype = "uint32" if keras.backend.backend() == "jax" else "int32"
    return ops.convert_to_tensor(np.array([seed, 0], dtype=dtype))
