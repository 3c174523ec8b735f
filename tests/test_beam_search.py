"""Beam search: agrees with greedy, scores what it returns, finds what greedy misses,
and agrees with a plain NumPy beam search, coverage penalty included."""

import numpy as np
import pytest
from conftest import SMALL
from keras import ops

import kseq2seq
from kseq2seq.models.inference import InferencePieces
from kseq2seq.samplers import BeamSampler, GreedySampler, decode
from kseq2seq.special_tokens import BOS_ID, EOS_ID, PAD_ID


def _source(batch=4):
    rng = np.random.default_rng(0)
    source = rng.integers(4, 30, (batch, 6)).astype("int32")
    source[0, 3:] = 0
    return source


@pytest.mark.parametrize("attention", ["luong_general", "bahdanau"])
def test_width_one_equals_greedy(attention):
    model = kseq2seq.build_model(**SMALL, attention=attention)
    source = _source()
    greedy = decode(model, source, GreedySampler(), max_length=8)
    beam = decode(model, source, BeamSampler(num_beams=1, length_penalty=0), max_length=8)
    np.testing.assert_array_equal(beam.tokens, greedy.tokens)
    np.testing.assert_allclose(beam.scores, greedy.scores, atol=1e-4)
    np.testing.assert_allclose(beam.attention, greedy.attention, atol=1e-5)


@pytest.mark.parametrize("alpha", [0.0, 0.6, 1.0])
def test_scores_equal_teacher_forced_log_probabilities_with_the_penalty(alpha):
    model = kseq2seq.build_model(**SMALL, attention="luong_general", input_feeding=True)
    source = _source()
    sampler = BeamSampler(num_beams=4, length_penalty=alpha, return_all_beams=True)
    beam = decode(model, source, sampler, max_length=6)
    batch, n_best, steps = beam.tokens.shape
    assert n_best == 4
    for rank in range(n_best):
        tokens = beam.tokens[:, rank]
        target_in = np.concatenate([np.full((batch, 1), BOS_ID, "int32"), tokens[:, :-1]], 1)
        logits = model.predict({"source": source, "target_in": target_in}, verbose=0)
        log_probs = ops.convert_to_numpy(ops.log_softmax(logits, axis=-1))
        for row in range(batch):
            ended = np.flatnonzero(tokens[row] == EOS_ID)
            length = int(ended[0]) + 1 if len(ended) else steps
            picked = log_probs[row, np.arange(length), tokens[row, :length]].sum()
            penalty = ((5.0 + length) / 6.0) ** alpha
            np.testing.assert_allclose(beam.log_probs[row, rank], picked, atol=1e-3)
            np.testing.assert_allclose(beam.scores[row, rank], picked / penalty, atol=1e-3)
    # Best first, and the hypotheses of a sentence differ.
    assert np.all(np.diff(beam.scores, axis=1) <= 1e-6)
    assert len({tuple(t) for t in beam.tokens[0]}) == 4
    # Without return_all_beams: the best hypothesis only.
    best = decode(model, source, BeamSampler(num_beams=4, length_penalty=alpha), max_length=6)
    np.testing.assert_array_equal(best.tokens, beam.tokens[:, 0])
    np.testing.assert_array_equal(best.scores, beam.scores[:, 0])


def _markov(table, weights_table):
    """A step function whose logits and attention depend on the previous token only."""
    logits_table = ops.convert_to_tensor(np.log(table / table.sum(1, keepdims=True)), "float32")
    weights_table = ops.convert_to_tensor(np.asarray(weights_table, "float32"))

    def step_fn(previous, carry):
        return ops.take(logits_table, previous, 0), carry, ops.take(weights_table, previous, 0)

    return step_fn


def _run(sampler, step_fn, source_length=1, max_length=4):
    rows = sampler.num_beams  # one sentence
    carry = (ops.zeros((rows, 1)),)
    mask = ops.ones((rows, source_length), dtype="bool")
    found = sampler(step_fn, carry, mask, max_length)
    return (
        ops.convert_to_numpy(found["tokens"])[0, 0],
        float(ops.convert_to_numpy(found["scores"])[0, 0]),
    )


def test_beam_search_finds_the_sequence_greedy_misses():
    # From <s>, A (0.6) or B (0.4); after A nothing is likely (best 0.35);
    # after B, </s> for sure. Greedy takes A; the best sequence is B </s>.
    vocab, token_a, token_b = 6, 4, 5
    table = np.full((vocab, vocab), 1e-6)
    table[BOS_ID, [token_a, token_b]] = [0.6, 0.4]
    table[token_a, [token_a, token_b, EOS_ID]] = [0.35, 0.35, 0.3]
    table[token_b, EOS_ID] = 1.0
    step_fn = _markov(table, np.ones((vocab, 1)))
    greedy_tokens, greedy_score = _run(GreedySampler(), step_fn)
    beam_tokens, beam_score = _run(BeamSampler(num_beams=3, length_penalty=0), step_fn)
    assert greedy_tokens[0] == token_a
    np.testing.assert_array_equal(beam_tokens[:2], [token_b, EOS_ID])
    np.testing.assert_allclose(beam_score, np.log(0.4), atol=1e-4)
    assert beam_score > greedy_score


def _gnmt(log_prob, length, coverage, alpha, beta):
    return (
        log_prob / ((5.0 + length) / 6.0) ** alpha
        + beta * np.log(np.minimum(np.maximum(coverage, 1e-9), 1.0)).sum()
    )


def numpy_beam_search(step, start, k, max_length, alpha, beta):
    """A plain beam search: every live hypothesis is extended by every token,
    finished ones compete unchanged, the k best by the GNMT score are kept.

    `step(token, state) -> (log_probs (V,), state, weights (S,))`.
    Returns (tokens, score) of the best hypothesis.
    """
    # A hypothesis: (tokens, log_prob, coverage, state, finished).
    beams = [((), 0.0, 0.0, start, False)]
    for _ in range(max_length):
        candidates = []
        for tokens, log_prob, coverage, state, finished in beams:
            if finished:
                candidates.append((tokens, log_prob, coverage, state, True))
                continue
            log_probs, new_state, weights = step(tokens[-1] if tokens else BOS_ID, state)
            for token, token_log_prob in enumerate(log_probs):
                candidates.append(
                    (
                        (*tokens, token),
                        log_prob + token_log_prob,
                        coverage + weights,
                        new_state,
                        token == EOS_ID,
                    )
                )
        candidates.sort(key=lambda h: -_gnmt(h[1], len(h[0]), h[2], alpha, beta))
        beams = candidates[:k]
        if all(h[4] for h in beams):
            break
    best = max(beams, key=lambda h: _gnmt(h[1], len(h[0]), h[2], alpha, beta))
    return list(best[0]), _gnmt(best[1], len(best[0]), best[2], alpha, beta)


def test_the_coverage_penalty_changes_the_chosen_hypothesis():
    # Two source words. From <s>: A (0.55) or B (0.45), both attending [0.5, 0.5];
    # then </s> for sure, attending [1, 0] after A and [0.5, 0.5] after B. So
    # A </s> covers [1.5, 0.5] and B </s> covers [1, 1]: with beta = 1 the
    # penalty log(0.5) makes B </s> the best; without it, A </s>.
    vocab, token_a, token_b = 6, 4, 5
    table = np.full((vocab, vocab), 1e-9)
    table[BOS_ID, [token_a, token_b]] = [0.55, 0.45]
    table[[token_a, token_b], EOS_ID] = 1.0
    attention = np.full((vocab, 2), 0.5)
    attention[token_a] = [1.0, 0.0]
    step_fn = _markov(table, attention)
    log_table = np.log(table / table.sum(1, keepdims=True))

    def step(token, state):
        return log_table[token], state, attention[token]

    chosen = {}
    for beta in (0.0, 1.0):
        expected, expected_score = numpy_beam_search(step, None, 2, 4, 0.0, beta)
        sampler = BeamSampler(num_beams=2, length_penalty=0.0, coverage_penalty=beta)
        tokens, score = _run(sampler, step_fn, source_length=2)
        np.testing.assert_array_equal(tokens[: len(expected)], expected)
        assert np.all(tokens[len(expected) :] == PAD_ID)
        np.testing.assert_allclose(score, expected_score, atol=1e-4)
        chosen[beta] = expected
    assert chosen[0.0] == [token_a, EOS_ID] and chosen[1.0] == [token_b, EOS_ID]


@pytest.mark.parametrize("beta", [0.0, 0.5])
def test_a_model_decodes_as_the_numpy_beam_search(beta):
    model = kseq2seq.build_model(**SMALL, attention="bahdanau")
    pieces = InferencePieces(model)
    source = _source(2)
    found = decode(model, source, BeamSampler(3, 0.6, beta), max_length=5)
    for row in range(len(source)):
        ids = source[row : row + 1]
        ids = ids[:, : max(1, int((ids != 0).sum()))]
        context, carry = pieces.encode(ids)
        width = ids.shape[1]

        def step(token, carry, context=context, width=width):
            logits, carry = pieces.step(np.array([token], "int32"), carry, context)
            log_probs = ops.convert_to_numpy(ops.log_softmax(logits, axis=-1))[0]
            return log_probs.astype("float64"), carry, ops.convert_to_numpy(carry[1])[0, :width]

        expected, score = numpy_beam_search(step, carry, 3, 5, 0.6, beta)
        np.testing.assert_array_equal(found.tokens[row, : len(expected)], expected)
        np.testing.assert_allclose(found.scores[row], score, atol=1e-3)


def test_bad_arguments():
    model = kseq2seq.build_model(**SMALL)
    with pytest.raises(ValueError, match="num_beams"):
        BeamSampler(num_beams=0)
    with pytest.raises(ValueError, match="length_penalty"):
        BeamSampler(length_penalty=-1)
    with pytest.raises(ValueError, match="coverage_penalty"):
        BeamSampler(coverage_penalty=float("nan"))
    with pytest.raises(ValueError, match="return_all_beams"):
        BeamSampler(return_all_beams=1)
    with pytest.raises(ValueError, match="at most the target vocabulary"):
        decode(model, _source(), BeamSampler(num_beams=SMALL["target_vocab_size"] + 1))
    with pytest.raises(ValueError, match="source_ids"):
        decode(model, np.zeros((3,), "int32"), "beam")
    with pytest.raises(ValueError, match=r"\[0, 30\)"):
        decode(model, np.array([[4, 30]]), "beam")
    with pytest.raises(ValueError, match="max_length"):
        decode(model, _source(), "beam", max_length=0)
    with pytest.raises(ValueError, match="Unknown sampler.*'beam'"):
        decode(model, _source(), "beams")
