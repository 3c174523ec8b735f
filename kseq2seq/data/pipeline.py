"""tf.data pipelines of pairs: `make_dataset`, a shortcut to `Seq2SeqPreprocessor.dataset`."""

from __future__ import annotations

from collections.abc import Sequence

import tensorflow as tf

from kseq2seq.data.pairs import check_pairs  # noqa: F401  (its home before kseq2seq.data.pairs)
from kseq2seq.data.preprocessor import (  # noqa: F401
    LENGTH_POLICIES,
    MAX_SOURCE_LENGTH,
    MAX_TARGET_LENGTH,
    Seq2SeqPreprocessor,
)


def make_dataset(
    pairs: Sequence[tuple[str, str]],
    source_tokenizer,
    target_tokenizer,
    batch_size: int = 64,
    max_source_length: int | None = MAX_SOURCE_LENGTH,
    max_target_length: int | None = MAX_TARGET_LENGTH,
    length_policy: str = "filter",
    shuffle: bool = True,
    seed: int = 0,
    bucket_boundaries: Sequence[int] | None = None,
    repeat: bool = False,
    pad_to_multiple: int = 8,
) -> tf.data.Dataset:
    """Shuffled, length-bucketed batches of `({"source", "target_in"}, target_out,
    sample_weight)` for `model.fit`: `Seq2SeqPreprocessor(...).dataset(pairs, ...)` with the
    arguments of both."""
    preprocessor = Seq2SeqPreprocessor(
        source_tokenizer,
        target_tokenizer,
        max_source_length=max_source_length,
        max_target_length=max_target_length,
        pad_to_multiple=pad_to_multiple,
    )
    return preprocessor.dataset(
        pairs,
        batch_size=batch_size,
        length_policy=length_policy,
        shuffle=shuffle,
        seed=seed,
        bucket_boundaries=bucket_boundaries,
        repeat=repeat,
    )
