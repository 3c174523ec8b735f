"""Sampling: the right distribution, the model's scores, greedy in the limits, seeds."""

import gc
import weakref

import keras
import numpy as np
import pytest
from conftest import SMALL
from keras import ops

import kseq2seq
from kseq2seq.cli import main
from kseq2seq.models import InferencePieces
from kseq2seq.samplers import (
    RandomSampler,
    TopKSampler,
    TopPSampler,
    decode,
    deserialize,
    get,
    seed_tensor,
    serialize,
)
from kseq2seq.samplers.driver import teacher_forced_attention
from kseq2seq.special_tokens import BOS_ID, EOS_ID, PAD_ID


def _sampler(temperature=1.0, top_k=None, top_p=None, seed=None):
    """The sampler for these settings, as `Translator.translate` maps them."""
    if top_p is not None:
        return TopPSampler(p=top_p, k=top_k, seed=seed, temperature=temperature)
    if top_k is not None:
        return TopKSampler(k=top_k, seed=seed, temperature=temperature)
    return RandomSampler(seed=seed, temperature=temperature)


def sample_decode(model, source, max_length=50, **settings):
    found = decode(model, source, _sampler(**settings), max_length=max_length)
    return found.tokens, found.scores, found.attention


def _source(batch=4):
    rng = np.random.default_rng(0)
    source = rng.integers(4, 30, (batch, 6)).astype("int32")
    source[0, 3:] = 0
    return source


def _without_special_outputs(model):
    """Makes <pad> and <s> unlikely outputs, as training does: sampling never
    draws them, so greedy must not choose them for the two to be compared."""
    biases = [w for w in model.weights if w.path.endswith("output_projection/bias")]
    assert len(biases) == 1, [w.path for w in model.weights]
    value = ops.convert_to_numpy(biases[0]).copy()
    value[[PAD_ID, BOS_ID]] = -50.0
    biases[0].assign(value)
    return model


@pytest.fixture(scope="module")
def model():
    # Seeded here: a module fixture is built before the per-test seed, so its
    # weights would otherwise depend on which tests ran first in the worker.
    keras.utils.set_random_seed(0)
    return _without_special_outputs(kseq2seq.build_model(**SMALL, attention="bahdanau"))


def test_top_k_one_and_temperature_near_zero_equal_greedy(model):
    source = _source()
    greedy = decode(model, source, "greedy", max_length=8)
    tokens, scores, attention = greedy.tokens, greedy.scores, greedy.attention
    assert not np.isin(tokens, [PAD_ID, BOS_ID]).any()
    for settings in (dict(top_k=1, temperature=3.0), dict(temperature=1e-6)):
        sampled = sample_decode(model, source, max_length=8, seed=7, **settings)
        np.testing.assert_array_equal(sampled[0], tokens)
        np.testing.assert_allclose(sampled[1], scores, atol=1e-4)
        np.testing.assert_allclose(sampled[2], attention, atol=1e-5)


def _table_sampler(logits_row, size, max_length=1, seed=0, **settings):
    """Samples `size` sequences from a "model" whose logits are always `logits_row`."""
    logits = ops.convert_to_tensor(np.tile(np.asarray(logits_row, "float32"), (size, 1)))

    def step_fn(previous, carry):
        return logits, carry, ops.ones((size, 1))

    sampler = _sampler(**settings)
    mask = ops.ones((size, 1), dtype="bool")
    found = sampler(step_fn, (ops.zeros((size, 1)),), mask, max_length, seed_tensor(seed))
    tokens = ops.convert_to_numpy(found["tokens"])[:, 0]
    return tokens, ops.convert_to_numpy(found["scores"])[:, 0], int(found["steps"])


def _restricted_softmax(logits, temperature=1.0, top_k=None, top_p=None):
    """The target distribution, computed independently in NumPy."""
    logits = np.asarray(logits, "float64").copy()
    logits[[PAD_ID, BOS_ID]] = -np.inf
    scaled = logits / temperature
    probs = np.exp(scaled - scaled.max())
    probs /= probs.sum()
    order = np.argsort(-probs)
    keep = np.zeros_like(probs, dtype=bool)
    if top_k is not None:
        keep[order[:top_k]] = True
    else:
        keep[:] = True
    probs = np.where(keep, probs, 0.0)
    probs /= probs.sum()
    if top_p is not None:
        order = np.argsort(-probs)
        before = np.cumsum(probs[order]) - probs[order]
        nucleus = np.zeros_like(keep)
        nucleus[order[before < top_p]] = True
        probs = np.where(nucleus, probs, 0.0)
        probs /= probs.sum()
    return probs


LOGITS = [0.5, 0.0, 2.0, 1.5, 1.0, 0.8, 0.6, 0.3, -0.5, -1.0]


@pytest.mark.parametrize(
    "settings",
    [dict(temperature=0.5), dict(temperature=2.0, top_k=4), dict(top_p=0.7)],
)
def test_token_frequencies_match_the_restricted_softmax(settings):
    size = 4000
    tokens, scores, steps = _table_sampler(LOGITS, size, **settings)
    expected = _restricted_softmax(LOGITS, **settings)
    counts = np.bincount(tokens[:, 0], minlength=len(LOGITS))
    # Tokens outside the support are never drawn (<pad>, <s>, beyond top-k/top-p).
    assert np.all(counts[expected == 0] == 0), (counts, expected)
    support = expected > 0
    expected_counts = expected[support] * size
    chi_square = ((counts[support] - expected_counts) ** 2 / expected_counts).sum()
    degrees = support.sum() - 1
    # Far above the 99.9% quantile would mean the wrong distribution.
    assert chi_square < degrees + 6 * np.sqrt(2 * degrees), (chi_square, counts, expected_counts)
    # The score is the model's untempered log-probability of the drawn token.
    log_probs = np.asarray(LOGITS) - np.log(np.exp(LOGITS).sum())
    np.testing.assert_allclose(scores, log_probs[tokens[:, 0]], atol=1e-5)


def test_steps_draw_fresh_noise_and_the_loop_stops_when_all_end():
    logits = np.array(LOGITS)
    logits[EOS_ID] = -30.0  # </s> practically never
    size = 2000
    tokens, _, steps = _table_sampler(logits, size, max_length=2, seed=3)
    probs = _restricted_softmax(logits)
    # Independent draws at the two steps: P(same token twice) = sum p^2.
    same = np.mean(tokens[:, 0] == tokens[:, 1])
    assert abs(same - (probs**2).sum()) < 0.05, same
    # </s> for sure: every sequence ends at the first step and the loop stops.
    certain = np.full(len(LOGITS), -30.0)
    certain[EOS_ID] = 0.0
    tokens, _, steps = _table_sampler(certain, 8, max_length=10, seed=3)
    assert steps == 1 and np.all(tokens[:, 0] == EOS_ID) and np.all(tokens[:, 1:] == 0)


def test_scores_equal_teacher_forced_log_probabilities(model):
    source = _source()
    tokens, scores, attention = sample_decode(
        model, source, max_length=7, temperature=1.5, top_k=20, top_p=0.95, seed=11
    )
    batch, steps = tokens.shape
    target_in = np.concatenate([np.full((batch, 1), BOS_ID, "int32"), tokens[:, :-1]], 1)
    logits = model.predict({"source": source, "target_in": target_in}, verbose=0)
    log_probs = ops.convert_to_numpy(ops.log_softmax(logits, axis=-1))
    weights = kseq2seq.attention_model(model).predict(
        {"source": source, "target_in": target_in}, verbose=0
    )
    for row in range(batch):
        ended = np.flatnonzero(tokens[row] == EOS_ID)
        length = int(ended[0]) + 1 if len(ended) else steps
        picked = log_probs[row, np.arange(length), tokens[row, :length]].sum()
        np.testing.assert_allclose(scores[row], picked, atol=1e-3)
        np.testing.assert_allclose(attention[row, :length], weights[row, :length], atol=1e-4)
        assert np.all(attention[row, length:] == 0) and np.all(tokens[row, length:] == 0)


def test_same_seed_same_output_other_seed_other_output(model):
    source = _source(8)
    first = sample_decode(model, source, max_length=8, temperature=2.0, seed=5)
    again = sample_decode(model, source, max_length=8, temperature=2.0, seed=5)
    other = sample_decode(model, source, max_length=8, temperature=2.0, seed=6)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert first[0].shape != other[0].shape or np.any(first[0] != other[0])
    # Without a seed, NumPy's global generator (seeded by set_random_seed) picks one.
    np.random.seed(42)
    unseeded = sample_decode(model, source, max_length=8, temperature=2.0)
    np.random.seed(42)
    np.testing.assert_array_equal(
        sample_decode(model, source, max_length=8, temperature=2.0)[0], unseeded[0]
    )


@pytest.mark.parametrize(
    "settings, name",
    [
        (dict(temperature=0.0), "temperature"),
        (dict(temperature=-1.0), "temperature"),
        (dict(temperature=float("nan")), "temperature"),
        (dict(temperature="1"), "temperature"),
        (dict(top_k=0), "^k must"),
        (dict(top_k=2.5), "^k must"),
        (dict(top_k=True), "^k must"),
        (dict(top_p=0.0), "^p must"),
        (dict(top_p=1.5), "^p must"),
        (dict(seed=-1), "seed"),
        (dict(seed=2**31), "seed"),
        (dict(seed=1.0), "seed"),
        (dict(max_length=0), "max_length"),
    ],
)
def test_bad_arguments(model, settings, name):
    with pytest.raises(ValueError, match=name):
        sample_decode(model, _source(), **settings)


@pytest.mark.parametrize(
    "sampler, name",
    [
        (lambda: TopKSampler(k=0), "k"),
        (lambda: TopPSampler(p=0.5, k=-2), "k"),
        (lambda: TopPSampler(p=float("inf")), "p"),
        (lambda: RandomSampler(temperature=None), "temperature"),
        (lambda: get("nucleus"), "Unknown sampler"),
        (lambda: get(3), "Unknown sampler"),
    ],
)
def test_bad_sampler_settings(sampler, name):
    with pytest.raises(ValueError, match=name):
        sampler()


def test_samplers_round_trip_and_names():
    for sampler in (TopPSampler(p=0.8, k=7, seed=3, temperature=0.5), TopKSampler(2, seed=1)):
        again = deserialize(serialize(sampler))
        assert type(again) is type(sampler) and again.get_config() == sampler.get_config()
        assert get(serialize(sampler)).get_config() == sampler.get_config()
    assert get(kseq2seq.samplers.BeamSampler(num_beams=2)).num_beams == 2
    defaults = {name: type(get(name)).__name__ for name in kseq2seq.samplers.NAMES}
    assert defaults == {
        "greedy": "GreedySampler",
        "beam": "BeamSampler",
        "random": "RandomSampler",
        "top_k": "TopKSampler",
        "top_p": "TopPSampler",
    }


def test_translator_samples(tmp_path, capsys):
    pairs = [
        ("le chat noir", "the black cat"),
        ("la souris", "the mouse"),
        ("le chien mange", "the dog eats"),
        ("la maison verte", "the green house"),
    ]
    translator = kseq2seq.Translator.from_pairs(
        pairs, embedding_dim=8, units=16, max_source_length=5
    )
    texts = ["le chat noir", "", "  \t ", "xyzzy plugh", "le chat " * 10, "la souris"]
    with pytest.warns(UserWarning, match="max_source_length"):
        sampled = translator.translate_with_details(texts, max_length=6, temperature=2.0, seed=4)
    with pytest.warns(UserWarning, match="max_source_length"):
        again = translator.translate(texts, max_length=6, temperature=2.0, seed=4)
    assert sampled["translations"] == again
    # Empty and whitespace-only sources give "" with score 0; the others translate.
    assert sampled["translations"][1] == sampled["translations"][2] == ""
    assert sampled["scores"][1] == sampled["scores"][2] == 0.0
    assert all(isinstance(text, str) for text in sampled["translations"])
    assert np.all(sampled["scores"][[0, 3, 4, 5]] < 0)
    with pytest.raises(ValueError, match="beam_width"):
        translator.translate("la souris", beam_width=3, temperature=0.5)
    with pytest.raises(ValueError, match="seed"):
        translator.translate("la souris", seed=3)
    with pytest.raises(ValueError, match="top_p"):
        translator.translate("la souris", top_p=2.0)

    # The command: kseq2seq translate --temperature / --top-k / --top-p / --seed.
    translator.save(tmp_path / "saved")
    command = ["translate", "--model", str(tmp_path / "saved"), "--top-k", "5", "--seed", "9"]
    capsys.readouterr()
    assert main([*command, "le chat noir", "la souris"]) == 0
    first = capsys.readouterr().out
    assert main([*command, "le chat noir", "la souris"]) == 0
    assert capsys.readouterr().out == first and len(first.splitlines()) == 2
    assert main([*command, "--temperature", "0", "la souris"]) == 2
    assert "temperature" in capsys.readouterr().err


@pytest.mark.parametrize("sampler", ["greedy", "beam"])
def test_a_batch_decodes_as_its_sentences_one_by_one(model, sampler):
    # 5 sources are decoded as 8 rows (copies of the first fill the rest), 70 as 128: the
    # results are those of each source alone, and only the caller's rows come back.
    for batch in (5, 70):
        source = np.random.default_rng(batch).integers(4, 30, (batch, 6)).astype("int32")
        source[1, 2:] = 0
        together = decode(model, source, sampler, max_length=9)
        assert together.tokens.shape[0] == together.attention.shape[0] == batch
        for row in (0, 1, batch - 1):
            alone = decode(model, source[row : row + 1], sampler, max_length=9)
            width = alone.tokens.shape[1]
            np.testing.assert_array_equal(together.tokens[row, :width], alone.tokens[0])
            assert not together.tokens[row, width:].any()
            np.testing.assert_allclose(together.scores[row], alone.scores[0], atol=1e-5)
            np.testing.assert_allclose(
                together.attention[row, :width], alone.attention[0], atol=1e-5
            )


def test_a_model_dropped_after_decoding_is_freed():
    # The compiled loops are cached per model and must go with it: a cache entry that held
    # its model kept every decoded model, and under JAX its compiled programs (hundreds of
    # memory mappings each), alive for the whole process.
    model = kseq2seq.build_model(**SMALL, attention="luong_general")
    source = np.array([[5, 6, 7, 0]], dtype="int32")
    decode(model, source, "greedy", max_length=5)
    decode(model, source, "beam", max_length=5)
    teacher_forced_attention(InferencePieces(model), source, np.array([[2, 5, 6]], "int32"))
    pairs = [("le chat", "the cat"), ("la souris", "the mouse")]
    translator = kseq2seq.Translator.from_pairs(pairs, embedding_dim=8, units=16)
    translator.translate(["le chat"], sampler="beam")
    translator.attention(["le chat"], ["the cat"])
    dropped = [weakref.ref(model), weakref.ref(translator.model)]
    del model, translator
    gc.collect()
    assert [ref() is None for ref in dropped] == [True, True]


def test_decoding_options_map_onto_samplers_and_unknown_ones_are_refused():
    from kseq2seq.samplers import BeamSampler, GreedySampler, TopKSampler, TopPSampler
    from kseq2seq.samplers.options import sampler_from_options

    assert isinstance(sampler_from_options(), GreedySampler)
    assert isinstance(sampler_from_options(beam_width=1, length_penalty=0.2), GreedySampler)
    beam = sampler_from_options(beam_width=4, coverage_penalty=0.2, top_p=None)
    assert isinstance(beam, BeamSampler) and beam.num_beams == 4
    assert isinstance(sampler_from_options(top_k=5, seed=1), TopKSampler)
    assert isinstance(sampler_from_options(top_p=0.9, top_k=5), TopPSampler)
    with pytest.raises(TypeError, match=r"\['beam_size'\]"):
        sampler_from_options(beam_size=4)
    with pytest.raises(ValueError, match="top_k applies only to sampling"):
        sampler_from_options("beam", top_k=3)
