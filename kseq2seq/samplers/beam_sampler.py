"""`BeamSampler`: beam search over batch x beam, ranked by the GNMT score (Wu et al., 2016,
Eq. 14): `log P(Y | X) / ((5 + |Y|) / 6) ** alpha + beta * sum_j log(min(sum_i a_ij, 1))`."""

from __future__ import annotations

import keras
from keras import ops

from kseq2seq.checks import check_bool, check_number
from kseq2seq.samplers.sampler import Sampler
from kseq2seq.special_tokens import PAD_ID

NEG_INF = -1e9


@keras.saving.register_keras_serializable(package="kseq2seq")
class BeamSampler(Sampler):
    """Beam search: keeps the `num_beams` best hypotheses of each sentence.

    Args:
        num_beams: hypotheses kept per sentence (>= 1); inside a traced TensorFlow function
            (the SavedModel's `translate` signature) also an int32 scalar tensor.
        length_penalty: GNMT's alpha (>= 0); 0 ranks by log-probability.
        coverage_penalty: GNMT's beta (>= 0); 0 for no coverage penalty.
        return_all_beams: return all k hypotheses per sentence, best first (shapes
            (B, k, ...)), rather than the best one.
    """

    def __init__(
        self, num_beams=5, length_penalty=0.6, coverage_penalty=0.0, return_all_beams=False
    ):
        super().__init__()
        if not ops.is_tensor(num_beams):
            check_number("num_beams", num_beams, low=1, integer=True)
            num_beams = int(num_beams)
        check_number("length_penalty", length_penalty, low=0)
        check_number("coverage_penalty", coverage_penalty, low=0)
        self.num_beams = num_beams
        self.length_penalty = float(length_penalty)
        self.coverage_penalty = float(coverage_penalty)
        self.return_all_beams = check_bool("return_all_beams", return_all_beams)

    def gnmt_score(self, log_probs, lengths, coverage, source_mask):
        """The GNMT score of hypotheses' log-probabilities (R, K) of lengths (R,)."""
        lengths = ops.expand_dims(ops.cast(lengths, "float32"), 1)
        score = log_probs / ops.power((5.0 + lengths) / 6.0, self.length_penalty)
        if self.coverage_penalty:
            clipped = ops.where(source_mask, ops.log(ops.clip(coverage, 1e-9, 1.0)), 0.0)
            score += self.coverage_penalty * ops.sum(clipped, axis=-1, keepdims=True)
        return score

    def rows(self, beams):
        """The rows (R,) of beams (B, K) numbered within their sentence."""
        offsets = ops.arange(ops.shape(beams)[0], dtype="int32") * self.num_beams
        return ops.reshape(beams + ops.expand_dims(offsets, 1), (-1,))

    def initial_scores(self, rows):
        # Only the first beam of each sentence is live at the start.
        return ops.where(ops.arange(rows) % self.num_beams == 0, 0.0, NEG_INF)

    def select(self, logits, scores, finished, lengths, coverage, source_mask, step, seed):
        k = self.num_beams
        # The penalties are the same for every token of a hypothesis, so the k best
        # continuations of each hold the k best overall: rank k x k candidates, not k x V
        # (and log p = logit - logsumexp, without an R x V log-softmax).
        top_logits, candidates = ops.top_k(logits, k)  # R x K
        candidate_log_probs = top_logits - ops.logsumexp(logits, axis=-1, keepdims=True)
        # A finished hypothesis continues only with padding, at no cost.
        row_finished = ops.expand_dims(finished, 1)
        first_only = ops.where(ops.arange(k) == 0, 0.0, NEG_INF)  # K
        candidate_log_probs = ops.where(row_finished, first_only, candidate_log_probs)
        candidates = ops.where(row_finished, PAD_ID, ops.cast(candidates, "int32"))
        total = ops.expand_dims(scores, 1) + candidate_log_probs  # R x K
        ranking = self.gnmt_score(total, lengths, coverage, source_mask)
        _, best = ops.top_k(ops.reshape(ranking, (-1, k * k)), k)  # B x K
        best = ops.cast(best, "int32")
        token = ops.take_along_axis(ops.reshape(candidates, (-1, k * k)), best, 1)
        scores = ops.take_along_axis(ops.reshape(total, (-1, k * k)), best, 1)
        return ops.reshape(token, (-1,)), ops.reshape(scores, (-1,)), self.rows(best // k)

    def finish(self, scores, lengths, coverage, source_mask):
        ranking = self.gnmt_score(ops.expand_dims(scores, 1), lengths, coverage, source_mask)
        # Finished hypotheses may sit below live ones: sort.
        order = ops.argsort(-ops.reshape(ranking, (-1, self.num_beams)), axis=1)
        return ranking[:, 0], scores, self.rows(ops.cast(order, "int32"))
