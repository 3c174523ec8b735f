"""tf.data pipelines: tokenise, limit lengths, bucket, pad, shift targets."""

from __future__ import annotations

from collections.abc import Sequence

import tensorflow as tf

from kseq2seq.checks import check_choice, check_int
from kseq2seq.special_tokens import BOS_ID, EOS_ID, PAD_ID

LENGTH_POLICIES = ("filter", "truncate")


def check_pairs(pairs, name: str = "pairs") -> None:
    """Raises a clear error unless `pairs` is a non-empty sequence of two strings each."""
    if pairs is None or isinstance(pairs, (str, bytes)) or not isinstance(pairs, Sequence):
        raise TypeError(
            f"{name} must be a list of (source, target) string pairs. "
            f"Received: {type(pairs).__name__}"
        )
    if not pairs:
        raise ValueError(f"{name} is empty: there is nothing to train on")
    for index, pair in enumerate(pairs):
        if (
            isinstance(pair, (str, bytes))
            or not isinstance(pair, Sequence)
            or len(pair) != 2
            or not all(isinstance(side, str) for side in pair)
        ):
            raise TypeError(
                f"{name}[{index}] must be a (source, target) pair of two strings. "
                f"Received: {pair!r:.100}"
            )


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
    check_choice("length_policy", length_policy, LENGTH_POLICIES)
    check_int("batch_size", batch_size)
    check_int("max_source_length", max_source_length, optional=True)
    # </s> counts on the target side.
    check_int("max_target_length", max_target_length, minimum=2, optional=True)
    check_int("pad_to_multiple", pad_to_multiple)
    check_pairs(pairs)
    sources = tf.constant([source for source, _ in pairs], dtype=tf.string)
    targets = tf.constant([target for _, target in pairs], dtype=tf.string)
    dataset = tf.data.Dataset.from_tensor_slices((sources, targets))
    if shuffle:
        dataset = dataset.shuffle(len(pairs), seed=seed, reshuffle_each_iteration=True)

    # Tokenise a block at a time: the tokenizers are vectorised.
    block = 1024
    dataset = dataset.batch(block).map(
        lambda source, target: (
            source_tokenizer.encode(source),
            target_tokenizer.encode(target),
        ),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    dataset = dataset.unbatch()

    target_limit = None if max_target_length is None else max_target_length - 1
    if length_policy == "filter":

        def short_enough(source_ids, target_ids):
            keep = tf.size(source_ids) > 0
            if max_source_length is not None:
                keep = keep & (tf.size(source_ids) <= max_source_length)
            if target_limit is not None:
                keep = keep & (tf.size(target_ids) <= target_limit)
            return keep

        dataset = dataset.filter(short_enough)
    else:
        dataset = dataset.filter(lambda source_ids, _: tf.size(source_ids) > 0)
        dataset = dataset.map(
            lambda source_ids, target_ids: (
                source_ids[:max_source_length] if max_source_length else source_ids,
                target_ids[:target_limit] if target_limit else target_ids,
            )
        )

    def shift(source_ids, target_ids):
        bos = tf.constant([BOS_ID], dtype=target_ids.dtype)
        eos = tf.constant([EOS_ID], dtype=target_ids.dtype)
        return (
            tf.cast(source_ids, tf.int32),
            tf.cast(tf.concat([bos, target_ids], 0), tf.int32),
            tf.cast(tf.concat([target_ids, eos], 0), tf.int32),
        )

    dataset = dataset.map(shift, num_parallel_calls=tf.data.AUTOTUNE)
    if bucket_boundaries is None:
        longest = max(max_source_length or 50, 10)
        bucket_boundaries = list(range(5, longest + 1, 5))
    bucket_boundaries = [int(boundary) + 1 for boundary in bucket_boundaries]
    dataset = dataset.bucket_by_sequence_length(
        lambda source, target_in, target_out: tf.shape(source)[0],
        bucket_boundaries=bucket_boundaries,
        bucket_batch_sizes=[batch_size] * (len(bucket_boundaries) + 1),
        padding_values=(PAD_ID, PAD_ID, PAD_ID),
        pad_to_bucket_boundary=False,
    )

    def round_up(tensor):
        width = tf.shape(tensor)[1]
        extra = (pad_to_multiple - width % pad_to_multiple) % pad_to_multiple
        return tf.pad(tensor, [[0, 0], [0, extra]], constant_values=PAD_ID)

    def to_keras(source, target_in, target_out):
        if pad_to_multiple > 1:
            source, target_in, target_out = (
                round_up(source),
                round_up(target_in),
                round_up(target_out),
            )
        sample_weight = tf.cast(tf.not_equal(target_out, PAD_ID), tf.float32)
        return {"source": source, "target_in": target_in}, target_out, sample_weight

    dataset = dataset.map(to_keras, num_parallel_calls=tf.data.AUTOTUNE)
    if repeat:
        dataset = dataset.repeat()
    return dataset.prefetch(tf.data.AUTOTUNE)
