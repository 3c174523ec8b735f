"""Beam search: agrees with greedy, scores what it returns, finds what greedy misses."""

import numpy as np
import pytest
from keras import ops

import kseq2seq
from kseq2seq.decoding.beam_search import beam_search_decode, beam_search_loop
from kseq2seq.special_tokens import BOS_ID, EOS_ID

SMALL = dict(source_vocab_size=30, target_vocab_size=40, embedding_dim=8, units=16)


def _source(batch=4):
    rng = np.random.default_rng(0)
    source = rng.integers(4, 30, (batch, 6)).astype("int32")
    source[0, 3:] = 0
    return source


@pytest.mark.parametrize("attention", ["luong_general", "bahdanau"])
def test_width_one_equals_greedy(attention):
    model = kseq2seq.build_model(**SMALL, attention=attention)
    source = _source()
    tokens, scores, attention_weights = kseq2seq.greedy_decode(model, source, max_length=8)
    beam = beam_search_decode(model, source, beam_width=1, max_length=8, length_penalty_alpha=0)
    np.testing.assert_array_equal(beam["tokens"][:, 0], tokens)
    np.testing.assert_allclose(beam["scores"][:, 0], scores, atol=1e-4)
    np.testing.assert_allclose(beam["attention"][:, 0], attention_weights, atol=1e-5)


@pytest.mark.parametrize("alpha", [0.0, 0.6, 1.0])
def test_scores_equal_teacher_forced_log_probabilities_with_the_penalty(alpha):
    model = kseq2seq.build_model(**SMALL, attention="luong_general", input_feeding=True)
    source = _source()
    beam = beam_search_decode(
        model, source, beam_width=4, max_length=6, length_penalty_alpha=alpha, n_best=4
    )
    batch, n_best, steps = beam["tokens"].shape
    assert n_best == 4
    for rank in range(n_best):
        tokens = beam["tokens"][:, rank]
        target_in = np.concatenate([np.full((batch, 1), BOS_ID, "int32"), tokens[:, :-1]], 1)
        logits = model.predict({"source": source, "target_in": target_in}, verbose=0)
        log_probs = ops.convert_to_numpy(ops.log_softmax(logits, axis=-1))
        for row in range(batch):
            ended = np.flatnonzero(tokens[row] == EOS_ID)
            length = int(ended[0]) + 1 if len(ended) else steps
            picked = log_probs[row, np.arange(length), tokens[row, :length]].sum()
            penalty = ((5.0 + length) / 6.0) ** alpha
            np.testing.assert_allclose(beam["log_probs"][row, rank], picked, atol=1e-3)
            np.testing.assert_allclose(beam["scores"][row, rank], picked / penalty, atol=1e-3)
    # Best first, and the hypotheses of a sentence differ.
    assert np.all(np.diff(beam["scores"], axis=1) <= 1e-6)
    assert len({tuple(t) for t in beam["tokens"][0]}) == 4


def test_beam_search_finds_the_sequence_greedy_misses():
    # A Markov "model" whose logits depend on the previous token only:
    # from <s>, A (0.6) or B (0.4); after A nothing is likely (best 0.35);
    # after B, </s> for sure. Greedy takes A; the best sequence is B </s>.
    vocab, token_a, token_b = 6, 4, 5
    table = np.full((vocab, vocab), 1e-6)
    table[BOS_ID, [token_a, token_b]] = [0.6, 0.4]
    table[token_a, [token_a, token_b, EOS_ID]] = [0.35, 0.35, 0.3]
    table[token_b, EOS_ID] = 1.0
    logits_table = ops.convert_to_tensor(np.log(table / table.sum(1, keepdims=True)), "float32")

    def step_fn(previous, carry):
        return ops.take(logits_table, previous, axis=0), carry, ops.ones((previous.shape[0], 1))

    def search(width):
        rows = width  # one sentence
        carry = (ops.zeros((rows, 1)),)
        mask = ops.ones((rows, 1), dtype="bool")
        tokens, scores, *_ = beam_search_loop(step_fn, carry, mask, 1, width, max_length=4)
        return ops.convert_to_numpy(tokens)[0, 0], float(ops.convert_to_numpy(scores)[0, 0])

    greedy_tokens, greedy_score = search(1)
    beam_tokens, beam_score = search(3)
    assert greedy_tokens[0] == token_a
    np.testing.assert_array_equal(beam_tokens[:2], [token_b, EOS_ID])
    np.testing.assert_allclose(beam_score, np.log(0.4), atol=1e-4)
    assert beam_score > greedy_score


def test_coverage_penalty_changes_the_ranking_only_when_asked():
    model = kseq2seq.build_model(**SMALL, attention="bahdanau")
    source = _source()
    plain = beam_search_decode(model, source, beam_width=3, max_length=6)
    covered = beam_search_decode(
        model, source, beam_width=3, max_length=6, coverage_penalty_beta=0.2
    )
    assert plain["tokens"].shape[0] == covered["tokens"].shape[0] == 4
    assert np.all(covered["scores"] <= plain["scores"].max() + 1e-6)


def test_bad_arguments():
    model = kseq2seq.build_model(**SMALL)
    with pytest.raises(ValueError, match="beam_width"):
        beam_search_decode(model, _source(), beam_width=0)
    with pytest.raises(ValueError, match="n_best"):
        beam_search_decode(model, _source(), beam_width=2, n_best=3)
    with pytest.raises(ValueError, match="at most the target vocabulary"):
        beam_search_decode(model, _source(), beam_width=SMALL["target_vocab_size"] + 1)
    with pytest.raises(ValueError, match="source_ids"):
        beam_search_decode(model, np.zeros((3,), "int32"))
    with pytest.raises(ValueError, match=r"\[0, 30\)"):
        beam_search_decode(model, np.array([[4, 30]]))
