"""`TopPSampler`: nucleus sampling (Holtzman et al., 2019, arXiv:1904.09751)."""

from __future__ import annotations

import keras
from keras import ops

from kseq2seq.samplers.random_sampler import RandomSampler
from kseq2seq.samplers.sampler import check_number
from kseq2seq.samplers.top_k_sampler import keep_top_k


@keras.saving.register_keras_serializable(package="kseq2seq")
class TopPSampler(RandomSampler):
    """Samples each token among the smallest set of most likely tokens whose
    probability reaches `p`.

    In this order: the logits are divided by `temperature`, only the `k` most
    likely tokens kept (when `k` is given), then only the nucleus of mass `p`.

    Args:
        p: the nucleus mass, in (0, 1] (1: every token); ties at the boundary
            are all kept.
        k: also draw only among the k most likely tokens (None: all).
        seed, temperature: as `RandomSampler`'s.
    """

    def __init__(
        self, p: float = 0.1, k: int | None = None, seed: int | None = None, temperature=1.0
    ):
        super().__init__(seed=seed, temperature=temperature)
        check_number("p", p, low=0, high=1, low_open=True)
        check_number("k", k, low=1, integer=True, none=True)
        self.p = float(p)
        self.k = None if k is None else int(k)

    def restrict(self, scaled):
        if self.k is not None:
            scaled = keep_top_k(scaled, self.k)
        if self.p >= 1:
            return scaled
        probs = ops.softmax(scaled, axis=-1)
        descending = ops.flip(ops.sort(probs, axis=-1), axis=-1)
        # Keep a token when the mass of the more likely tokens is below p.
        kept = ops.cumsum(descending, axis=-1) - descending < self.p
        threshold = ops.min(ops.where(kept, descending, 2.0), axis=-1, keepdims=True)
        return ops.where(probs < threshold, float("-inf"), scaled)

    def get_config(self) -> dict:
        return {**super().get_config(), "p": self.p, "k": self.k}
