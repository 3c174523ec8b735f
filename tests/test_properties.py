"""Property-based tests (hypothesis): tokenizers, the pipeline and `translate` on any text.

Derandomized (the examples are the same on every run, so a failure
reproduces) and small (`max_examples` 10-40) to keep the suite fast.
"""

from __future__ import annotations

import warnings

import keras
import numpy as np
import pytest
from conftest import corpus_pairs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kseq2seq.data import make_dataset
from kseq2seq.special_tokens import BOS_ID, EOS_ID, PAD_ID
from kseq2seq.text import SubwordTokenizer, WordTokenizer
from kseq2seq.translator import Translator

PROFILE = dict(
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Any character, with the awkward ones made frequent: controls, format
# characters, byte-order and zero-width marks, lone surrogates, separators.
AWKWARD = ["\x00", "\x07", "\x1b", "\r", "\t", "\u200b", "\u200e", "\ufeff", "\ud800", "\udfff"]
AWKWARD += ["\u2028", "\xa0", "'", "-", " "]
CHARACTERS = st.one_of(st.characters(exclude_categories=[]), st.sampled_from(AWKWARD))
PIECES = st.one_of(
    st.text(CHARACTERS, max_size=12), st.sampled_from(["##", "<unk>", "<s>", "</s>", "chat"])
)
TEXT = st.lists(PIECES, max_size=5).map("".join)


@pytest.fixture(scope="module")
def tokenizers():
    sources = [source for source, _ in corpus_pairs("train", 200)]
    return {
        "word": WordTokenizer().fit(sources),
        "subword": SubwordTokenizer(vocab_size=300).fit(sources),
    }


@pytest.mark.parametrize("kind", ["word", "subword"])
@settings(max_examples=40, **PROFILE)
@given(texts=st.lists(TEXT, min_size=1, max_size=4))
def test_encode_takes_any_text_and_gives_ids_in_the_vocabulary(tokenizers, kind, texts):
    tokenizer = tokenizers[kind]
    rows = tokenizer.encode(texts).to_list()
    assert len(rows) == len(texts)
    for text, row in zip(texts, rows):
        assert all(0 < token < tokenizer.vocab_size for token in row), (text, row)
        assert all(token not in (BOS_ID, EOS_ID) for token in row)
        if not text.strip():
            assert row == []  # whitespace only: no tokens
    decoded = tokenizer.decode(rows)
    assert decoded.shape == (len(texts),)


@pytest.mark.parametrize("kind", ["word", "subword"])
@settings(max_examples=30, **PROFILE)
@given(data=st.data())
def test_decode_then_encode_gives_the_same_ids(tokenizers, kind, data):
    """Round trip up to normalisation: text -> ids -> text -> the same ids."""
    tokenizer = tokenizers[kind]
    words = sorted({word for source, _ in corpus_pairs("train", 60) for word in source.split()})
    text = " ".join(data.draw(st.lists(st.sampled_from(words), min_size=1, max_size=12)))
    ids = tokenizer.encode([text]).to_list()
    assert tokenizer.encode(tokenizer.decode(ids)).to_list() == ids, text


@settings(max_examples=25, **PROFILE)
@given(
    word=st.sampled_from(["chat", "la", "européenne", "zzz", "\x00", "\u200b"]),
    count=st.integers(1_000, 20_000),
)
def test_encode_takes_very_long_strings(tokenizers, word, count):
    tokenizer = tokenizers["word"]
    ids = tokenizer.encode([" ".join([word] * count)]).to_list()[0]
    expected = tokenizer.encode([word]).to_list()[0]
    assert ids == expected * count


@settings(max_examples=10, **PROFILE)
@given(
    pairs=st.lists(st.tuples(TEXT, TEXT), min_size=1, max_size=12),
    batch_size=st.integers(1, 5),
    pad_to_multiple=st.sampled_from([1, 8]),
    max_source_length=st.sampled_from([None, 3, 10]),
)
def test_pipeline_shapes_padding_and_shifted_targets(
    tokenizers, pairs, batch_size, pad_to_multiple, max_source_length
):
    tokenizer = tokenizers["word"]
    dataset = make_dataset(
        pairs,
        tokenizer,
        tokenizer,
        batch_size=batch_size,
        shuffle=False,
        max_source_length=max_source_length,
        max_target_length=12,
        pad_to_multiple=pad_to_multiple,
    )
    sources = tokenizer.encode([source for source, _ in pairs]).to_list()
    targets = tokenizer.encode([target for _, target in pairs]).to_list()
    kept = sorted(
        (tuple(source), tuple(target))
        for source, target in zip(sources, targets)
        if source
        and (max_source_length is None or len(source) <= max_source_length)
        and len(target) <= 11
    )
    seen = []
    for inputs, target_out, weights in dataset.as_numpy_iterator():
        source, target_in = inputs["source"], inputs["target_in"]
        assert source.dtype == target_in.dtype == target_out.dtype == np.int32
        assert 1 <= len(source) <= batch_size
        assert target_in.shape == target_out.shape == weights.shape
        assert source.shape[1] % pad_to_multiple == 0 and target_in.shape[1] % pad_to_multiple == 0
        np.testing.assert_array_equal(weights, (target_out != PAD_ID).astype("float32"))
        # A partial batch is topped up with empty rows to a power of two (at most batch_size).
        real = int((target_out != PAD_ID).any(axis=1).sum())
        assert len(source) == batch_size or len(source) & (len(source) - 1) == 0
        assert len(source) < 2 * real and not source[real:].any() and not target_in[real:].any()
        for row in range(real):
            length = int((target_out[row] != PAD_ID).sum())
            assert target_in[row, 0] == BOS_ID and target_out[row, length - 1] == EOS_ID
            np.testing.assert_array_equal(target_in[row, 1:length], target_out[row, : length - 1])
            assert (target_in[row, length:] == PAD_ID).all()
            source_row = source[row][source[row] != PAD_ID]
            assert (source[row, len(source_row) :] == PAD_ID).all()
            seen.append((tuple(source_row.tolist()), tuple(target_out[row, : length - 1].tolist())))
    assert sorted(seen) == kept


@pytest.fixture(scope="module")
def translator():
    keras.utils.set_random_seed(5)
    return Translator.from_pairs(
        corpus_pairs("train", 60),
        embedding_dim=8,
        units=8,
        attention="luong_dot",
        max_source_length=8,
    )


@settings(max_examples=25, **PROFILE)
@given(texts=st.lists(st.one_of(TEXT, st.binary(max_size=20)), min_size=1, max_size=3))
def test_translate_takes_any_text_and_returns_one_string_each(translator, texts):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sources cut to max_source_length
        translations = translator.translate(texts, max_length=6)
    assert len(translations) == len(texts)
    assert all(isinstance(text, str) for text in translations)
    for text, translation in zip(texts, translations):
        if isinstance(text, bytes):
            text = text.decode("utf-8", errors="replace")  # as translate reads bytes
        if not translator.source_tokenizer.encode([text]).to_list()[0]:
            assert translation == ""
