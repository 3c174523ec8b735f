"""The two tokenizers, word-level and WordPiece (see `base` for what they share), and
loading a saved one."""

from __future__ import annotations

import collections
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf
import tensorflow_text as tf_text

from kseq2seq.checks import check_int
from kseq2seq.special_tokens import SPECIAL_TOKENS, UNK_ID
from kseq2seq.text import _learn
from kseq2seq.text.base import CONFIG_FILENAME, VOCAB_FILENAME, Tokenizer


class WordTokenizer(Tokenizer):
    """Word-level tokenizer: every word (or punctuation character) is one token, looked up in
    a ``tf.lookup.StaticHashTable`` (unknown words -> ``UNK_ID``).

    Args:
        lowercase: lower-case the text after NFKC normalisation.
        max_vocab_size: the most tokens, special tokens included (None: no limit); >= 5.
        min_frequency: the fewest occurrences a word needs to enter the vocabulary.
    """

    def __init__(
        self,
        lowercase: bool = True,
        max_vocab_size: int | None = None,
        min_frequency: int = 1,
        name: str | None = None,
    ) -> None:
        super().__init__(lowercase=lowercase, min_frequency=min_frequency, name=name)
        minimum = len(SPECIAL_TOKENS) + 1
        self.max_vocab_size = check_int("max_vocab_size", max_vocab_size, minimum, optional=True)
        self._table = None

    def _options(self) -> dict[str, Any]:
        return {**super()._options(), "max_vocab_size": self.max_vocab_size}

    def _learn_vocabulary(self, word_counts: collections.Counter[str]) -> list[str]:
        budget = None if self.max_vocab_size is None else self.max_vocab_size - len(SPECIAL_TOKENS)
        return _learn.select_words(word_counts, budget, self.min_frequency)

    def _build_lookup(self, vocab: list[str]) -> None:
        first = len(SPECIAL_TOKENS)
        initializer = tf.lookup.KeyValueTensorInitializer(
            tf.constant(vocab[first:], dtype=tf.string),
            tf.range(first, len(vocab), dtype=tf.int64),
        )
        self._table = tf.lookup.StaticHashTable(initializer, default_value=UNK_ID)

    def _encode_words(self, words: tf.RaggedTensor) -> tf.RaggedTensor:
        return tf.ragged.map_flat_values(lambda w: tf.cast(self._table.lookup(w), tf.int32), words)


class SubwordTokenizer(Tokenizer):
    """WordPiece tokenizer (``tensorflow_text.FastWordpieceTokenizer``) over the same words.

    The pieces are learnt by BPE-style merges of characters (see ``_learn``). A word with a
    character outside the vocabulary, or longer than 200 UTF-8 bytes, becomes one ``UNK_ID``.
    The ``vocab_size`` argument is a cap (stored as ``max_vocab_size``); the ``vocab_size``
    property is the size actually learnt.

    Args:
        lowercase: lower-case the text after NFKC normalisation.
        vocab_size: the most tokens, special tokens included; >= 5.
        min_frequency: the fewest occurrences a pair of pieces needs to be merged.
    """

    max_bytes_per_word = 200
    _suffix_indicator = _learn.SUFFIX_INDICATOR

    def __init__(
        self,
        lowercase: bool = True,
        vocab_size: int = 8000,
        min_frequency: int = 2,
        name: str | None = None,
    ) -> None:
        super().__init__(lowercase=lowercase, min_frequency=min_frequency, name=name)
        self.max_vocab_size = check_int("vocab_size", vocab_size, len(SPECIAL_TOKENS) + 1)
        self._wordpiece = None

    def _options(self) -> dict[str, Any]:
        return {**super()._options(), "vocab_size": self.max_vocab_size}

    def _make_wordpiece(self, vocab: list[str]) -> tf_text.FastWordpieceTokenizer:
        return tf_text.FastWordpieceTokenizer(
            vocab=vocab,
            suffix_indicator=_learn.SUFFIX_INDICATOR,
            max_bytes_per_word=self.max_bytes_per_word,
            token_out_type=tf.int32,
            unknown_token=SPECIAL_TOKENS[UNK_ID],
            no_pretokenization=True,
            support_detokenization=False,
        )

    def _learn_vocabulary(self, word_counts: collections.Counter[str]) -> list[str]:
        budget = self.max_vocab_size - len(SPECIAL_TOKENS)
        pieces = _learn.learn_wordpieces(
            word_counts, budget, self.min_frequency, self.max_bytes_per_word
        )
        # Order by how often each piece is used when the corpus is segmented with them.
        vocab = list(SPECIAL_TOKENS) + pieces
        words = list(word_counts)
        ids = self._make_wordpiece(vocab).tokenize(tf.constant(words, dtype=tf.string))
        weights = np.repeat(
            np.array([word_counts[w] for w in words], dtype=np.int64), ids.row_lengths().numpy()
        )
        usage = np.bincount(ids.flat_values.numpy(), weights=weights, minlength=len(vocab))
        first = len(SPECIAL_TOKENS)
        order = sorted(range(first, len(vocab)), key=lambda i: (-usage[i], vocab[i]))
        return [vocab[i] for i in order]

    def _build_lookup(self, vocab: list[str]) -> None:
        self._wordpiece = self._make_wordpiece(vocab)

    def _encode_words(self, words: tf.RaggedTensor) -> tf.RaggedTensor:
        return self._wordpiece.tokenize(words).merge_dims(1, 2)  # (B, (W), (P)) -> (B, (T))


_CLASSES = {"WordTokenizer": WordTokenizer, "SubwordTokenizer": SubwordTokenizer}


def load_tokenizer(directory: str | os.PathLike[str]) -> Tokenizer:
    """Loads the fitted tokenizer that ``Tokenizer.save`` wrote into ``directory``.

    Raises:
        FileNotFoundError: a file is missing.
        ValueError: the files are malformed or name an unknown class.
    """
    config_path, vocab_path = Path(directory, CONFIG_FILENAME), Path(directory, VOCAB_FILENAME)
    try:
        meta = json.loads(config_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{config_path} is not valid JSON: {error}") from error
    if not isinstance(meta, dict) or "class_name" not in meta:
        raise ValueError(f"{config_path} has no 'class_name'")
    class_name = meta["class_name"]
    if class_name not in _CLASSES:
        raise ValueError(
            f"{config_path} names an unknown tokenizer class {class_name!r}; "
            f"known: {sorted(_CLASSES)}"
        )
    vocabulary = vocab_path.read_bytes().decode("utf-8").split("\n")  # no newline translation
    if vocabulary[-1] == "":
        vocabulary.pop()
    expected = meta.get("vocab_size")
    if expected is not None and expected != len(vocabulary):
        raise ValueError(
            f"{vocab_path} has {len(vocabulary)} tokens but {config_path} says {expected}"
        )
    return _CLASSES[class_name].from_config({**meta.get("config", {}), "vocabulary": vocabulary})
