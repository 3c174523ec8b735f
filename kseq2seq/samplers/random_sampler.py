"""`RandomSampler`: a draw from the model's distribution at every step.

Drawing uses the Gumbel-max trick, `argmax(logits + g)` with
`g = -log(-log(u))`, u uniform, which samples exactly from `softmax(logits)`.
The noise is stateless: the seed is an input of the compiled loop (a tensor),
folded with the step number, so the same seed gives the same tokens and a
new seed does not recompile. `<pad>` and `<s>` are never drawn: they are not
outputs.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from kseq2seq.samplers.sampler import Sampler, check_number
from kseq2seq.special_tokens import BOS_ID, PAD_ID

BLOCKED_IDS = (PAD_ID, BOS_ID)


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

        key = jax.random.fold_in(seed, step)
        return jax.random.uniform(key, shape, minval=tiny, maxval=1.0)
    # Other backends decode eagerly: the seed and step are concrete numbers.
    base = int(ops.convert_to_numpy(seed)[0])
    return keras.random.uniform(
        shape, minval=tiny, maxval=1.0, seed=(base * 1_000_003 + int(step)) % 2**31
    )


@keras.saving.register_keras_serializable(package="kseq2seq")
class RandomSampler(Sampler):
    """Samples each token from the model's distribution, divided by `temperature`.

    Args:
        seed: an integer in [0, 2**31): every call with this sampler gives
            the same output. None draws a seed per call from NumPy's global
            generator (which `keras.utils.set_random_seed` seeds).
        temperature: divides the logits (> 0): below 1 sharpens the
            distribution, towards greedy decoding; above 1 flattens it.

    The score is the model's own log-probability of the sampled tokens (at
    temperature 1, without any top-k or top-p restriction: what the model
    computes teacher-forced).

    Example:
        sampler = kseq2seq.samplers.RandomSampler(seed=3, temperature=0.7)
        translator.translate(["Le chat."], sampler=sampler)
    """

    def __init__(self, seed: int | None = None, temperature: float = 1.0):
        super().__init__(temperature=temperature)
        check_number("seed", seed, low=0, high=2**31 - 1, integer=True, none=True)
        self.seed = None if seed is None else int(seed)

    def restrict(self, scaled):
        """The tempered logits (R, V) with the tokens never drawn set to -inf."""
        return scaled

    def next_token(self, logits, step, seed):
        vocab = logits.shape[-1]
        allowed = np.ones((vocab,), dtype=bool)
        allowed[[i for i in BLOCKED_IDS if i < vocab]] = False
        candidates = ops.where(allowed, logits, float("-inf"))
        restricted = self.restrict(candidates / self.temperature)  # R x V
        gumbel = -ops.log(-ops.log(uniform_noise(ops.shape(restricted), seed, step)))
        token = ops.cast(ops.argmax(restricted + gumbel, axis=-1), "int32")
        log_probs = ops.log_softmax(logits, axis=-1)  # R x V
        return token, ops.take_along_axis(log_probs, ops.expand_dims(token, 1), axis=1)[:, 0]

    def seed_value(self) -> int:
        if self.seed is None:
            return int(np.random.randint(0, 2**31 - 1))
        return self.seed

    def get_config(self) -> dict:
        return {**super().get_config(), "seed": self.seed}
