"""`TopKSampler`: a draw among the k most likely tokens."""

from __future__ import annotations

import keras
from keras import ops

from kseq2seq.samplers.random_sampler import RandomSampler
from kseq2seq.samplers.sampler import check_number


def keep_top_k(scaled, k: int):
    """`scaled` (R, V) with the tokens below the k-th largest set to -inf (ties kept)."""
    if k >= scaled.shape[-1]:
        return scaled
    kth = ops.top_k(scaled, k)[0][:, -1:]  # R x 1
    return ops.where(scaled < kth, float("-inf"), scaled)


@keras.saving.register_keras_serializable(package="kseq2seq")
class TopKSampler(RandomSampler):
    """Samples each token among the `k` most likely ones (after `temperature`).

    Args:
        k: how many of the most likely tokens to draw among (>= 1); ties at
            the boundary are all kept.
        seed, temperature: as `RandomSampler`'s.
    """

    def __init__(self, k: int = 5, seed: int | None = None, temperature: float = 1.0):
        super().__init__(seed=seed, temperature=temperature)
        check_number("k", k, low=1, integer=True)
        self.k = int(k)

    def restrict(self, scaled):
        return keep_top_k(scaled, self.k)

    def get_config(self) -> dict:
        return {**super().get_config(), "k": self.k}
