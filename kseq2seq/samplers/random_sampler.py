"""`RandomSampler`, `TopPSampler`, `TopKSampler`: draws by the Gumbel-max trick,
`argmax(logits - log(-log(u)))` with u uniform, from stateless noise: the seed is an input of
the compiled loop, folded with the step number, so a new seed does not recompile."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from kseq2seq.checks import check_number
from kseq2seq.samplers.sampler import Sampler
from kseq2seq.special_tokens import BOS_ID, PAD_ID

BLOCKED_IDS = (PAD_ID, BOS_ID)  # never outputs, so never drawn


def uniform_noise(shape, seed, step):
    """Uniform noise in (0, 1) from a seed tensor and the step number."""
    backend = keras.backend.backend()
    tiny = float(np.finfo("float32").tiny)
    if backend == "tensorflow":
        import tensorflow as tf

        step_seed = tf.random.experimental.stateless_fold_in(seed, step)
        return tf.random.stateless_uniform(shape, seed=step_seed, minval=tiny, maxval=1.0)
    if backend == "jax":
        import jax

        return jax.random.uniform(jax.random.fold_in(seed, step), shape, minval=tiny, maxval=1.0)
    # Other backends decode eagerly: the seed and step are concrete numbers.
    base = int(ops.convert_to_numpy(seed)[0])
    return keras.random.uniform(
        shape, minval=tiny, maxval=1.0, seed=(base * 1_000_003 + int(step)) % 2**31
    )


@keras.saving.register_keras_serializable(package="kseq2seq")
class RandomSampler(Sampler):
    """Samples each token from the model's distribution, divided by `temperature`; the score
    is the model's own log-probability of the tokens (untempered, unrestricted).

    Args:
        seed: an integer in [0, 2**31): every call gives the same output. None draws a seed
            per call from NumPy's global generator (which `keras.utils.set_random_seed` seeds).
        temperature: divides the logits (> 0): below 1 sharpens the distribution, above 1
            flattens it.
    """

    def __init__(self, seed: int | None = None, temperature: float = 1.0):
        super().__init__(temperature=temperature)
        check_number("seed", seed, low=0, high=2**31 - 1, integer=True, none=True)
        self.seed = None if seed is None else int(seed)

    def restrict(self, scaled):
        """The tempered logits (R, V) with the tokens never drawn set to -inf."""
        return scaled

    def next_token(self, logits, step, seed):
        allowed = np.isin(np.arange(logits.shape[-1]), BLOCKED_IDS, invert=True)
        restricted = self.restrict(ops.where(allowed, logits, float("-inf")) / self.temperature)
        gumbel = -ops.log(-ops.log(uniform_noise(ops.shape(restricted), seed, step)))
        token = ops.cast(ops.argmax(restricted + gumbel, axis=-1), "int32")
        log_probs = ops.log_softmax(logits, axis=-1)  # R x V
        return token, ops.take_along_axis(log_probs, ops.expand_dims(token, 1), axis=1)[:, 0]

    def seed_value(self) -> int:
        return int(np.random.randint(0, 2**31 - 1)) if self.seed is None else self.seed


def keep_top_k(scaled, k):
    """Logits (R, V) with all but the `k` largest of each row at -inf (None: all kept)."""
    if k is None or k >= scaled.shape[-1]:
        return scaled
    kth = ops.top_k(scaled, k)[0][:, -1:]  # R x 1
    return ops.where(scaled < kth, float("-inf"), scaled)


@keras.saving.register_keras_serializable(package="kseq2seq")
class TopPSampler(RandomSampler):
    """Nucleus sampling (Holtzman et al., 2019): samples each token among the smallest set of
    most likely tokens whose probability reaches `p`, after `temperature` and top-`k`.

    Args:
        p: the nucleus mass, in (0, 1] (1: every token); ties at the boundary are all kept.
        k: also draw only among the k most likely tokens (None: all); ties at the boundary are
            all kept.
        seed, temperature: as `RandomSampler`'s.
    """

    def __init__(self, p=0.1, k=None, seed=None, temperature=1.0):
        super().__init__(seed=seed, temperature=temperature)
        check_number("p", p, low=0, high=1, low_open=True)
        check_number("k", k, low=1, integer=True, none=True)
        self.p = float(p)
        self.k = None if k is None else int(k)

    def restrict(self, scaled):
        scaled = keep_top_k(scaled, self.k)
        if self.p >= 1:
            return scaled
        probs = ops.softmax(scaled, axis=-1)
        descending = ops.flip(ops.sort(probs, axis=-1), axis=-1)
        # Keep a token when the mass of the more likely tokens is below p.
        kept = ops.cumsum(descending, axis=-1) - descending < self.p
        threshold = ops.min(ops.where(kept, descending, 2.0), axis=-1, keepdims=True)
        return ops.where(probs < threshold, float("-inf"), scaled)


@keras.saving.register_keras_serializable(package="kseq2seq")
class TopKSampler(RandomSampler):
    """Samples each token among the `k` most likely ones (after `temperature`); ties at the
    boundary are all kept.

    Args:
        k: how many of the most likely tokens to draw among (>= 1).
        seed, temperature: as `RandomSampler`'s.
    """

    def __init__(self, k: int = 5, seed: int | None = None, temperature: float = 1.0):
        super().__init__(seed=seed, temperature=temperature)
        check_number("k", k, low=1, integer=True)
        self.k = int(k)

    def restrict(self, scaled):
        return keep_top_k(scaled, self.k)
