"""`GreedySampler`: the most likely token at every step."""

from __future__ import annotations

import keras
from keras import ops

from kseq2seq.samplers.sampler import Sampler


@keras.saving.register_keras_serializable(package="kseq2seq")
class GreedySampler(Sampler):
    """Greedy decoding: each step feeds back the argmax token of the previous one.

    The score is the sum of the chosen tokens' log-probabilities.

    Example:
        translator.translate(["Le chat."], sampler=kseq2seq.samplers.GreedySampler())
    """

    def __init__(self):
        super().__init__()

    def next_token(self, logits, step, seed):
        # log p of the argmax = its logit - logsumexp: no R x V log-softmax.
        log_prob = ops.max(logits, axis=-1) - ops.logsumexp(logits, axis=-1)
        return ops.argmax(logits, axis=-1), log_prob

    def get_config(self) -> dict:
        return {}
