"""`Seq2SeqPreprocessor`: the one place where text becomes model inputs, and ids text again.

It holds the two tokenizers, the length limits, the padding and the target shift (keras-hub's
preprocessor role), in TensorFlow ops: the tf.data pipeline, the `Translator`, the tuner and
the SavedModel all call it, eagerly or inside a graph.
"""

from __future__ import annotations

import inspect
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import tensorflow as tf

from kseq2seq.atomic import atomic_write
from kseq2seq.checks import check_choice, check_int
from kseq2seq.data.pairs import check_pairs
from kseq2seq.shapes import padded_sizes
from kseq2seq.special_tokens import BOS_ID, EOS_ID, PAD_ID

# tf.data functions traced as written (no Python control flow on tensors): autograph took 0.3 s
# of the 1.0 s that building a small translator's dataset takes (benchmarks/first_call.py).
_traced = tf.autograph.experimental.do_not_convert

LENGTH_POLICIES = ("filter", "truncate")
# The default limits, in training and decoding alike: at most 100 source tokens, no target
# limit (decoding stops at `Translator.default_max_length`).
MAX_SOURCE_LENGTH = 100
MAX_TARGET_LENGTH = None
CONFIG_FILENAME = "preprocessor.json"


class Seq2SeqPreprocessor:
    """Tokenizers, special tokens, length limits, padding and the target shift in one object.

    Args:
        source_tokenizer, target_tokenizer: fitted `kseq2seq.text` tokenizers.
        max_source_length: the most source tokens; longer sources are cut (when decoding) or
            filtered / cut in training (`length_policy` of `dataset`). None: no limit.
        max_target_length: the most target tokens, `</s>` included. None: no limit.
        pad_to_multiple: pad batch widths up to a multiple of this, so that few distinct shapes
            reach the model (each new shape is a new compilation under JAX).
    """

    def __init__(
        self,
        source_tokenizer,
        target_tokenizer,
        max_source_length: int | None = MAX_SOURCE_LENGTH,
        max_target_length: int | None = MAX_TARGET_LENGTH,
        pad_to_multiple: int = 8,
    ):
        self.source_tokenizer = source_tokenizer
        self.target_tokenizer = target_tokenizer
        self.max_source_length = check_int("max_source_length", max_source_length, optional=True)
        self.max_target_length = check_int(
            "max_target_length", max_target_length, minimum=2, optional=True
        )
        self.pad_to_multiple = check_int("pad_to_multiple", pad_to_multiple)

    @classmethod
    def from_pairs(cls, pairs: Sequence[tuple[str, str]], **options: Any) -> Seq2SeqPreprocessor:
        """Learns both vocabularies from `pairs`: the options of `fit_tokenizers` (`tokenizer`,
        `vocab_size`, ...) go to it, the others to the constructor."""
        from kseq2seq.text.fitting import fit_tokenizers

        if not pairs:
            raise ValueError("pairs is empty: the vocabularies need text to learn from")
        fitting = inspect.signature(fit_tokenizers).parameters
        learn = {key: options.pop(key) for key in list(options) if key in fitting}
        return cls(*fit_tokenizers(pairs, **learn), **options)

    @property
    def _target_limit(self) -> int | None:
        """The most target ids before `</s>`."""
        return None if self.max_target_length is None else self.max_target_length - 1

    def _pad(self, ids) -> tf.Tensor:
        """int32 ids, ragged or dense (B, None), padded with 0 to a multiple of `pad_to_multiple`
        columns: at least one, so that a batch of empty texts still has a shape."""
        if isinstance(ids, tf.RaggedTensor):
            ids = ids.to_tensor(PAD_ID)
        dense = tf.cast(ids, tf.int32)
        multiple = self.pad_to_multiple
        width = tf.maximum(tf.shape(dense)[1], 1)
        width += (multiple - width % multiple) % multiple
        return tf.pad(dense, [[0, 0], [0, width - tf.shape(dense)[1]]], constant_values=PAD_ID)

    def _model_inputs(self, source, target_in, target_out) -> tuple[dict, tf.Tensor, tf.Tensor]:
        """`({"source", "target_in"}, target_out, sample_weight)` of batches of ids."""
        source, target_in, target_out = map(self._pad, (source, target_in, target_out))
        sample_weight = tf.cast(tf.not_equal(target_out, PAD_ID), tf.float32)
        return {"source": source, "target_in": target_in}, target_out, sample_weight

    def shift_targets(self, target_ids) -> tuple:
        """`(target_in, target_out)`: `<s>` + the ids, and the ids + `</s>` (int32), of one
        target (T,) or of a ragged batch (B, None)."""
        target_ids = tf.cast(target_ids, tf.int32)
        ragged = isinstance(target_ids, tf.RaggedTensor)
        shape = [target_ids.nrows(), 1] if ragged else [1]
        bos, eos = tf.fill(shape, BOS_ID), tf.fill(shape, EOS_ID)
        axis = len(shape) - 1
        return tf.concat([bos, target_ids], axis=axis), tf.concat([target_ids, eos], axis=axis)

    def __call__(self, sources, targets) -> tuple[dict, tf.Tensor, tf.Tensor]:
        """Training inputs for a batch of pairs (B,), cut to the limits: `({"source": (B, S),
        "target_in": (B, T)}, target_out (B, T), sample_weight (B, T))`, int32 ids padded with 0
        and float32 weights that are 1 on the real target tokens."""
        source_ids = self.source_tokenizer.encode(sources)[:, : self.max_source_length]
        target_ids = self.target_tokenizer.encode(targets)[:, : self._target_limit]
        return self._model_inputs(source_ids, *self.shift_targets(target_ids))

    def generate_preprocess(self, texts, return_lengths: bool = False):
        """Source ids (B, S), int32, padded with 0 and cut to `max_source_length`; with
        `return_lengths`, also each source's number of tokens before the cut (B,)."""
        ids = self.source_tokenizer.encode(texts)
        padded = self._pad(ids[:, : self.max_source_length])
        return (padded, ids.row_lengths()) if return_lengths else padded

    def generate_postprocess(self, ids, attention=None, sources=None) -> tf.Tensor:
        """Text (B,) from target ids (B, T): up to the first `</s>`, specials dropped.

        With the decoder's `attention` (B, T, S) and the `sources` (B,) it read, each `<unk>`
        is replaced by the source word it attended to most, as written in the source (Luong et
        al., 2015, "Addressing the Rare Word Problem in Neural Machine Translation"). This
        needs a word-level source tokenizer; with subwords, `<unk>` stays.
        """
        words = None
        if attention is not None and sources is not None and self.replaces_unknown_words:
            words = self.attended_words(sources, attention)
        return self.target_tokenizer.decode(ids, words)

    @property
    def replaces_unknown_words(self) -> bool:
        """Whether `generate_postprocess` can replace `<unk>` (a word-level source)."""
        return type(self.source_tokenizer).__name__ == "WordTokenizer"

    def attended_words(self, sources, attention) -> tf.Tensor:
        """For each output position, the source word with the most attention (B, T)."""
        attention = tf.convert_to_tensor(attention)
        words = self.source_tokenizer.split(sources, keep_case=True)[:, : self.max_source_length]
        width = tf.shape(attention)[2]
        words = words.to_tensor("")[:, :width]
        words = tf.pad(words, [[0, 0], [0, width - tf.shape(words)[1]]], constant_values="")
        pointed = tf.argmax(attention, axis=-1, output_type=tf.int32)
        return tf.gather(words, pointed, batch_dims=1)

    def dataset(
        self,
        pairs: Sequence[tuple[str, str]],
        batch_size: int = 64,
        length_policy: str = "filter",
        shuffle: bool = True,
        seed: int = 0,
        bucket_boundaries: Sequence[int] | None = None,
        repeat: bool = False,
    ) -> tf.data.Dataset:
        """Batches of `pairs` for `model.fit`, as `__call__` makes them.

        Args:
            length_policy: `"filter"` drops pairs over the limits (and pairs with an empty
                source), `"truncate"` cuts them.
            shuffle: shuffle pairs (reproducibly, with `seed`) before batching.
            bucket_boundaries: source-length boundaries of the buckets; by default every 5
                tokens up to the longest limit.
            repeat: repeat forever (for `steps_per_epoch`).

        A batch short of `batch_size` (the last of a bucket) gets empty rows (no loss, no
        gradient) up to one of a few sizes (`padded_sizes`): few shapes to compile.
        """
        check_choice("length_policy", length_policy, LENGTH_POLICIES)
        batch_size = check_int("batch_size", batch_size)
        check_pairs(pairs)
        sources = tf.constant([source for source, _ in pairs], dtype=tf.string)
        targets = tf.constant([target for _, target in pairs], dtype=tf.string)
        dataset = tf.data.Dataset.from_tensor_slices((sources, targets))
        if shuffle:
            dataset = dataset.shuffle(len(pairs), seed=seed, reshuffle_each_iteration=True)
        source_limit, target_limit = self.max_source_length, self._target_limit
        filtering = length_policy == "filter"
        sizes = tf.constant(padded_sizes(batch_size), dtype=tf.int32)

        @_traced
        def encode(source, target):  # a block of pairs at a time: the tokenizers are vectorised
            return self.source_tokenizer.encode(source), self.target_tokenizer.encode(target)

        @_traced
        def short_enough(source_ids, target_ids):
            keep = tf.size(source_ids) > 0
            if filtering and source_limit is not None:
                keep = keep & (tf.size(source_ids) <= source_limit)
            if filtering and target_limit is not None:
                keep = keep & (tf.size(target_ids) <= target_limit)
            return keep

        @_traced
        def shift(source_ids, target_ids):
            if not filtering:
                source_ids, target_ids = source_ids[:source_limit], target_ids[:target_limit]
            return (tf.cast(source_ids, tf.int32), *self.shift_targets(target_ids))

        @_traced
        def to_keras(*batch):
            rows = tf.shape(batch[0])[0]
            padded = tf.reduce_min(tf.boolean_mask(sizes, sizes >= rows))
            padding = [[0, padded - rows], [0, 0]]
            return self._model_inputs(*(tf.pad(t, padding, constant_values=PAD_ID) for t in batch))

        dataset = dataset.batch(1024).map(encode, num_parallel_calls=tf.data.AUTOTUNE).unbatch()
        dataset = dataset.filter(short_enough)
        dataset = dataset.map(shift, num_parallel_calls=tf.data.AUTOTUNE)
        if bucket_boundaries is None:
            bucket_boundaries = range(5, max(source_limit or 50, 10) + 1, 5)
        bucket_boundaries = [int(boundary) + 1 for boundary in bucket_boundaries]
        dataset = dataset.bucket_by_sequence_length(
            _traced(lambda source, target_in, target_out: tf.shape(source)[0]),
            bucket_boundaries=bucket_boundaries,
            bucket_batch_sizes=[batch_size] * (len(bucket_boundaries) + 1),
            padding_values=(PAD_ID, PAD_ID, PAD_ID),
            pad_to_bucket_boundary=False,
        )
        dataset = dataset.map(to_keras, num_parallel_calls=tf.data.AUTOTUNE)
        return (dataset.repeat() if repeat else dataset).prefetch(tf.data.AUTOTUNE)

    def get_config(self) -> dict[str, Any]:
        """The limits and padding (the tokenizers are saved beside, by `save`)."""
        return {
            "max_source_length": self.max_source_length,
            "max_target_length": self.max_target_length,
            "pad_to_multiple": self.pad_to_multiple,
        }

    def save(self, directory: str | os.PathLike) -> None:
        """Writes `preprocessor.json` and the two tokenizers into `directory`."""
        directory = Path(directory)
        self.source_tokenizer.save(directory / "source_tokenizer")
        self.target_tokenizer.save(directory / "target_tokenizer")
        atomic_write(directory / CONFIG_FILENAME, json.dumps(self.get_config(), indent=2) + "\n")

    @classmethod
    def load(cls, directory: str | os.PathLike, **overrides: Any) -> Seq2SeqPreprocessor:
        """Reads what `save` wrote (a directory without `preprocessor.json`, as written before
        it existed, gets the defaults); `overrides` replace saved settings."""
        from kseq2seq.text import load_tokenizer

        directory = Path(directory)
        config_path = directory / CONFIG_FILENAME
        config = json.loads(config_path.read_text("utf-8")) if config_path.exists() else {}
        return cls(
            load_tokenizer(directory / "source_tokenizer"),
            load_tokenizer(directory / "target_tokenizer"),
            **{**config, **overrides},
        )
