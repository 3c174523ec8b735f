"""The tf.data pipeline: tokenise, limit, bucket, pad, shift."""

import numpy as np
import pytest

from kseq2seq.data import make_dataset
from kseq2seq.special_tokens import BOS_ID, EOS_ID, PAD_ID
from kseq2seq.text import WordTokenizer

PAIRS = [
    ("le chat noir", "the black cat"),
    ("la souris", "the mouse"),
    ("le chat mange la souris grise", "the cat eats the grey mouse"),
    ("un", "one"),
    ("le chien noir mange", "the black dog eats"),
] * 4


@pytest.fixture(scope="module")
def tokenizers():
    source = WordTokenizer().fit([s for s, _ in PAIRS])
    target = WordTokenizer().fit([t for _, t in PAIRS])
    return source, target


def _batches(dataset):
    return [
        (
            {key: np.asarray(value) for key, value in inputs.items()},
            np.asarray(target_out),
            np.asarray(weight),
        )
        for inputs, target_out, weight in dataset
    ]


def _rows(batches):
    """The real (non-empty) rows of `batches`: the pipeline pads partial batches."""
    return sum(int((out != PAD_ID).any(axis=1).sum()) for _, out, _ in batches)


def test_batches_are_padded_shifted_and_weighted(tokenizers):
    source_tok, target_tok = tokenizers
    batches = _batches(make_dataset(PAIRS, source_tok, target_tok, batch_size=4, shuffle=False))
    assert _rows(batches) == len(PAIRS)
    seen = set()
    for inputs, target_out, weight in batches:
        source, target_in = inputs["source"], inputs["target_in"]
        assert source.dtype == np.int32 and target_in.dtype == np.int32
        assert target_in.shape == target_out.shape == weight.shape
        for row in range(int((target_out != PAD_ID).any(axis=1).sum())):
            length = int((target_out[row] != PAD_ID).sum())
            real = target_out[row, :length]
            assert real[-1] == EOS_ID
            assert target_in[row, 0] == BOS_ID
            np.testing.assert_array_equal(target_in[row, 1:length], real[:-1])
            np.testing.assert_array_equal(weight[row], target_out[row] != PAD_ID)
            source_text = source_tok.decode(source[row]).numpy().decode()
            target_text = target_tok.decode(real).numpy().decode()
            seen.add((source_text, target_text))
    assert seen == set(PAIRS)


def test_buckets_group_similar_lengths(tokenizers):
    source_tok, target_tok = tokenizers
    dataset = make_dataset(
        PAIRS,
        source_tok,
        target_tok,
        batch_size=50,
        shuffle=False,
        bucket_boundaries=[2, 4],
        pad_to_multiple=1,
    )
    widths = sorted(inputs["source"].shape[1] for inputs, _, _ in _batches(dataset))
    assert widths == [2, 4, 6]  # three buckets: <= 2, 3-4, 5+ tokens


def test_length_limits_filter_or_truncate(tokenizers):
    source_tok, target_tok = tokenizers
    filtered = _batches(
        make_dataset(PAIRS, source_tok, target_tok, max_source_length=3, shuffle=False)
    )
    assert _rows(filtered) == 12  # the 5- and 6-word sources go
    truncated = _batches(
        make_dataset(
            PAIRS,
            source_tok,
            target_tok,
            max_source_length=3,
            max_target_length=3,
            length_policy="truncate",
            shuffle=False,
            pad_to_multiple=1,
        )
    )
    assert _rows(truncated) == len(PAIRS)
    assert max(inputs["source"].shape[1] for inputs, _, _ in truncated) == 3
    assert max(out.shape[1] for _, out, _ in truncated) == 3  # </s> included


def test_widths_are_rounded_up_to_a_multiple(tokenizers):
    source_tok, target_tok = tokenizers
    for inputs, target_out, weight in _batches(
        make_dataset(PAIRS, source_tok, target_tok, batch_size=4, pad_to_multiple=8)
    ):
        assert inputs["source"].shape[1] % 8 == 0
        assert inputs["target_in"].shape[1] % 8 == 0 and target_out.shape[1] % 8 == 0
        assert weight.shape == target_out.shape


def test_partial_batches_get_empty_rows_up_to_a_power_of_two(tokenizers):
    # 20 pairs in buckets of 4, 4, 4 and 8 sentences (sources of 1, 2, 3 and 4+
    # words), batch 5: the partial batches of 4 rows stay as they are (a power
    # of two), and the 8 sentences make a full batch and one of 3 rows, which
    # gets an empty row. Empty rows follow the real ones.
    source_tok, target_tok = tokenizers
    batches = _batches(
        make_dataset(
            PAIRS, source_tok, target_tok, batch_size=5, shuffle=False, bucket_boundaries=[1, 2, 3]
        )
    )
    assert _rows(batches) == len(PAIRS)
    sizes = []
    for inputs, target_out, weight in batches:
        real = (target_out != PAD_ID).any(axis=1)
        sizes.append((len(target_out), int(real.sum())))
        # Real rows first, then empty rows: all padding, weight 0.
        assert real.tolist() == sorted(real.tolist(), reverse=True)
        for empty in (inputs["source"], inputs["target_in"], target_out, weight):
            assert not empty[~real].any()
        assert (inputs["source"][real] != PAD_ID).any(axis=1).all()
    assert sorted(sizes) == [(4, 3), (4, 4), (4, 4), (4, 4), (5, 5)], sizes


def test_shuffle_is_reproducible(tokenizers):
    source_tok, target_tok = tokenizers

    def order(seed):
        dataset = make_dataset(PAIRS, source_tok, target_tok, batch_size=3, seed=seed)
        return [inputs["source"].tolist() for inputs, _, _ in _batches(dataset)]

    assert order(1) == order(1)
    assert order(1) != order(2)


def test_bad_arguments(tokenizers):
    source_tok, target_tok = tokenizers
    with pytest.raises(ValueError, match="length_policy"):
        make_dataset(PAIRS, source_tok, target_tok, length_policy="cut")
    with pytest.raises(ValueError, match="batch_size"):
        make_dataset(PAIRS, source_tok, target_tok, batch_size=0)
    with pytest.raises(ValueError, match="empty"):
        make_dataset([], source_tok, target_tok)


def test_one_rule_pads_the_rows_of_training_and_decoding_batches():
    from kseq2seq.shapes import padded_rows, padded_sizes

    # A power of two up to 64 rows, then a multiple of 64, never above the limit.
    assert [padded_rows(n) for n in (1, 2, 3, 5, 33, 64)] == [1, 2, 4, 8, 64, 64]
    assert [padded_rows(n) for n in (65, 128, 129, 200)] == [128, 128, 192, 256]
    assert [padded_rows(n, limit=48) for n in (20, 33, 48)] == [32, 48, 48]
    for rows in range(1, 300):
        padded = padded_rows(rows)
        assert rows <= padded < rows + 64
    assert padded_sizes(5) == [1, 2, 4, 5]
    assert padded_sizes(256) == [1, 2, 4, 8, 16, 32, 64, 128, 192, 256]
