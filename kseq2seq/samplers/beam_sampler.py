"""`BeamSampler`: beam search over batch x beam, in the one decoding loop.

Hypotheses are ranked by the GNMT score (Wu et al., 2016, Eq. 14):
`s(Y, X) = log P(Y | X) / lp(Y) + cp(X; Y)`, with the length penalty
`lp(Y) = ((5 + |Y|) / 6) ** alpha` and the coverage penalty
`cp = beta * sum_j log(min(sum_i a_ij, 1))` over the source positions j.
"""

from __future__ import annotations

import keras
from keras import ops

from kseq2seq.samplers.sampler import Sampler, check_number
from kseq2seq.special_tokens import PAD_ID

NEG_INF = -1e9


def gnmt_length_penalty(lengths, alpha: float):
    """GNMT's ((5 + |Y|) / 6) ** alpha; 1 when alpha is 0."""
    return ops.power((5.0 + ops.cast(lengths, "float32")) / 6.0, alpha)


def gnmt_coverage_penalty(coverage, source_mask, beta: float):
    """GNMT's beta * sum_j log(min(coverage_j, 1)) over real source positions."""
    clipped = ops.log(ops.clip(coverage, 1e-9, 1.0))
    return beta * ops.sum(ops.where(source_mask, clipped, 0.0), axis=-1)


@keras.saving.register_keras_serializable(package="kseq2seq")
class BeamSampler(Sampler):
    """Beam search: keeps the `num_beams` best hypotheses of each sentence.

    Args:
        num_beams: hypotheses kept per sentence (k >= 1). Inside a traced
            TensorFlow function (the SavedModel's `translate` signature) it may
            also be an int32 scalar tensor.
        length_penalty: GNMT's alpha (>= 0); 0 ranks by log-probability.
        coverage_penalty: GNMT's beta (>= 0); 0 for no coverage penalty.
        return_all_beams: return all k hypotheses per sentence, best first
            (shapes (B, k, ...)), rather than the best one.

    The score is the GNMT score; `log_probs` the hypothesis' log-probability.

    Example:
        sampler = kseq2seq.samplers.BeamSampler(num_beams=4, length_penalty=0.6)
        translator.translate(["Le chat."], sampler=sampler)
    """

    def __init__(
        self,
        num_beams: int = 5,
        length_penalty: float = 0.6,
        coverage_penalty: float = 0.0,
        return_all_beams: bool = False,
    ):
        super().__init__()
        if not ops.is_tensor(num_beams):
            check_number("num_beams", num_beams, low=1, integer=True)
            num_beams = int(num_beams)
        check_number("length_penalty", length_penalty, low=0)
        check_number("coverage_penalty", coverage_penalty, low=0)
        if not isinstance(return_all_beams, bool):
            raise ValueError(f"return_all_beams must be a bool. Received: {return_all_beams!r}")
        self.num_beams = num_beams
        self.length_penalty = float(length_penalty)
        self.coverage_penalty = float(coverage_penalty)
        self.return_all_beams = return_all_beams

    def initial_scores(self, rows):
        # Only the first beam of each sentence is live at the start.
        k = self.num_beams
        first = ops.concatenate([ops.zeros((1,)), ops.full((k - 1,), NEG_INF)], axis=0)
        return ops.tile(first, (rows // k,))

    def select(self, logits, scores, finished, lengths, coverage, source_mask, step, seed):
        k = self.num_beams
        rows = ops.shape(logits)[0]
        batch = rows // k
        # The penalties are the same for every token of a hypothesis, so the k
        # best continuations of each hypothesis hold the k best overall: rank
        # k x k candidates rather than k x V (and never write out an R x V
        # log-softmax: log p = logit - logsumexp).
        top_logits, candidates = ops.top_k(logits, k)  # R x K
        candidate_log_probs = top_logits - ops.logsumexp(logits, axis=-1, keepdims=True)
        # A finished hypothesis continues only with padding, at no cost.
        row_finished = ops.expand_dims(finished, 1)
        first_only = ops.where(ops.arange(k) == 0, 0.0, NEG_INF)  # K
        candidate_log_probs = ops.where(row_finished, first_only, candidate_log_probs)
        candidates = ops.where(row_finished, PAD_ID, ops.cast(candidates, "int32"))
        total = ops.expand_dims(scores, 1) + candidate_log_probs  # R x K
        ranking = total / gnmt_length_penalty(ops.expand_dims(lengths, 1), self.length_penalty)
        if self.coverage_penalty:
            penalty = gnmt_coverage_penalty(coverage, source_mask, self.coverage_penalty)
            ranking = ranking + ops.expand_dims(penalty, 1)
        _, best = ops.top_k(ops.reshape(ranking, (batch, k * k)), k)  # B x K
        best = ops.cast(best, "int32")
        offsets = ops.expand_dims(ops.arange(batch, dtype="int32") * k, 1)  # B x 1
        origin = ops.reshape(best // k + offsets, (rows,))  # the rows they continue
        token = ops.take_along_axis(ops.reshape(candidates, (batch, k * k)), best, 1)
        scores = ops.take_along_axis(ops.reshape(total, (batch, k * k)), best, 1)
        return ops.reshape(token, (rows,)), ops.reshape(scores, (rows,)), origin

    def finish(self, scores, lengths, coverage, source_mask):
        k = self.num_beams
        ranking = scores / gnmt_length_penalty(lengths, self.length_penalty)
        if self.coverage_penalty:
            ranking = ranking + gnmt_coverage_penalty(coverage, source_mask, self.coverage_penalty)
        # Rank the final hypotheses (finished ones may sit below live ones).
        order = ops.cast(ops.argsort(-ops.reshape(ranking, (-1, k)), axis=1), "int32")
        return ranking, scores, order

    def get_config(self) -> dict:
        return {
            "num_beams": self.num_beams,
            "length_penalty": self.length_penalty,
            "coverage_penalty": self.coverage_penalty,
            "return_all_beams": self.return_all_beams,
        }
