"""tf.data pipelines of pairs: `make_dataset`, a shortcut to `Seq2SeqPreprocessor.dataset`."""

from __future__ import annotations

from collections.abc import Sequence

import tensorflow as tf

from kseq2seq.data.pairs import check_pairs  # noqa: F401  (its home before kseq2seq.data.pairs)
from kseq2seq.data.preprocessor import LENGTH_POLICIES, Seq2SeqPreprocessor  # noqa: F401


def make_dataset(
    pairs: Sequence[tuple[str, str]],
    source_tokenizer,
    target_tokenizer,
    batch_size: int = 64,
    max_source_length: int | None = 50,
    max_target_length: int | None = 50,
    length_policy: str = "filter",
    shuffle: bool = True,
    seed: int = 0,
    bucket_boundaries: Sequence[int] | None = None,
    repeat: bool = False,
    pad_to_multiple: int = 8,
) -> tf.data.Dataset:
    """A dataset of `({"source", "target_in"}, target_out, sample_weight)`.

    Tokenisation runs inside the pipeline (TensorFlow ops). `target_in` is
    `<s> y1 .. yn` and `target_out` is `y1 .. yn </s>`; `sample_weight` is
    1.0 on real target tokens and 0.0 on padding. Batches are bucketed by
    source length so that little of each batch is padding.

    Args:
        pairs: `(source, target)` strings.
        source_tokenizer, target_tokenizer: fitted `kseq2seq.text` tokenizers.
        batch_size: sentences per batch.
        max_source_length, max_target_length: the most tokens per side
            (`</s>` included on the target side); None for no limit.
        length_policy: `"filter"` drops longer pairs, `"truncate"` cuts them.
        shuffle: shuffle pairs (reproducibly, with `seed`) before batching.
        bucket_boundaries: source-length boundaries of the buckets; by
            default every 5 tokens up to the longest limit.
        repeat: repeat forever (for `steps_per_epoch`).
        pad_to_multiple: pad batch widths up to a multiple of this, so that
            few distinct shapes reach the model (each new shape is a new
            compilation under JAX); 1 to pad to the longest sentence only.
    """
    preprocessor = Seq2SeqPreprocessor(
        source_tokenizer, target_tokenizer, max_source_length, max_target_length, pad_to_multiple
    )
    return preprocessor.dataset(
        pairs, batch_size, length_policy, shuffle, seed, bucket_boundaries, repeat
    )
