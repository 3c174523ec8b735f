"""Tokenizers made of TensorFlow / tensorflow-text graph ops.

Their methods run eagerly, in ``tf.data`` and in a SavedModel (loadable with ``tensorflow`` and
``tensorflow_text`` alone); a ``Tokenizer`` is a ``tf.Module``, so its tables are saved with the
module it is attached to. Texts may be a str, bytes, list of str/bytes, 1-D NumPy string array
or tf.string tensor of rank 0 or 1 (symbolic too); a rank-0 input gives one row's values.

``normalize``: invalid UTF-8 becomes U+FFFD, NUL a space (``tf.strings.lower`` stops at a NUL),
then NFKC ("ﬁ" -> "fi", NBSP -> " ") and, with ``lowercase=True``, ICU lower-casing (as
``str.lower``; not ``case_fold_utf8``, which folds "ß" -> "ss" and deletes default-ignorable
characters: less natural decoded text). ``split`` is exactly Python's
``re.findall(r"\\w+|[^\\w\\s]", text)`` (see ``_patterns``).
"""

from __future__ import annotations

import collections
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf
import tensorflow_text as tf_text

from kseq2seq.atomic import atomic_write
from kseq2seq.checks import check_bool, check_int
from kseq2seq.special_tokens import BOS_ID, EOS_ID, PAD_ID, SPECIAL_TOKENS, UNK_ID
from kseq2seq.text import _patterns
from kseq2seq.text.inputs import (
    IdsLike,
    TextsLike,
    ids_to_ragged,
    iter_text_batches,
    texts_to_tensor,
)
from kseq2seq.text.spacing import Spacing

CONFIG_FILENAME = "tokenizer.json"
VOCAB_FILENAME = "vocab.txt"
FORMAT_VERSION = 1

_FIT_BATCH_SIZE = 4096

# The methods only branch on Python values: autograph would only slow down tracing.
_graph_method = tf.autograph.experimental.do_not_convert


class NotFittedError(RuntimeError):
    """Raised when a tokenizer without a vocabulary is asked to encode or decode."""


def check_vocabulary(vocabulary: Sequence[str]) -> list[str]:
    vocab = list(vocabulary)
    if tuple(vocab[: len(SPECIAL_TOKENS)]) != SPECIAL_TOKENS:
        raise ValueError(
            f"vocabulary must start with the special tokens {list(SPECIAL_TOKENS)}, "
            f"got {vocab[: len(SPECIAL_TOKENS)]}"
        )
    for index, token in enumerate(vocab):
        if not isinstance(token, str) or not token:
            raise ValueError(f"vocabulary[{index}] must be a non-empty str, got {token!r}")
        if "\n" in token or "\r" in token:
            raise ValueError(f"vocabulary[{index}] contains a line break: {token!r}")
    if len(set(vocab)) != len(vocab):
        duplicates = [t for t, n in collections.Counter(vocab).items() if n > 1]
        raise ValueError(f"vocabulary has duplicate tokens: {duplicates[:10]}")
    return vocab


class Tokenizer(tf.Module):
    """Base class: normalisation, splitting, decoding, saving; subclasses map words to ids.

    Args:
        lowercase: lower-case the text after NFKC normalisation.
        min_frequency: the fewest occurrences a vocabulary entry needs (see the subclasses).
    """

    def __init__(
        self, lowercase: bool = True, min_frequency: int = 1, name: str | None = None
    ) -> None:
        super().__init__(name=name)
        self.lowercase = check_bool("lowercase", lowercase)
        self.min_frequency = check_int("min_frequency", min_frequency)
        self._vocab: list[str] | None = None

    # Subclass hooks, and the prefix of the pieces that continue a word (written without it
    # and without a space before).
    _suffix_indicator: str | None = None

    def _options(self) -> dict[str, Any]:
        """The constructor options (JSON-serialisable)."""
        return {"lowercase": self.lowercase, "min_frequency": self.min_frequency}

    def _learn_vocabulary(self, word_counts: collections.Counter[str]) -> list[str]:
        """Returns the vocabulary (without special tokens) learnt from word counts."""
        raise NotImplementedError

    def _build_lookup(self, vocab: list[str]) -> None:
        """Creates the trackable lookup structures for ``vocab``."""
        raise NotImplementedError

    def _encode_words(self, words: tf.RaggedTensor) -> tf.RaggedTensor:
        """Maps ragged words (B, (W)) to ragged int32 ids (B, (P))."""
        raise NotImplementedError

    @property
    def vocabulary(self) -> list[str]:
        """The tokens, indexed by id (a copy). Raises NotFittedError before ``fit``."""
        self._require_fitted()
        return list(self._vocab)

    @property
    def vocab_size(self) -> int:
        """The number of tokens, special tokens included."""
        self._require_fitted()
        return len(self._vocab)

    @property
    def is_fitted(self) -> bool:
        """Whether the tokenizer has a vocabulary."""
        return self._vocab is not None

    def _require_fitted(self) -> None:
        if self._vocab is None:
            raise NotFittedError(
                f"{type(self).__name__} has no vocabulary: call fit() first "
                "(or load one with kseq2seq.text.load_tokenizer())"
            )

    def _set_vocabulary(self, vocabulary: Sequence[str]) -> None:
        vocab = check_vocabulary(vocabulary)
        self._build_lookup(vocab)
        self._vocab = self._no_dependency(vocab)
        prefix = self._suffix_indicator
        suffix = [bool(prefix) and t.startswith(prefix) and t != prefix for t in vocab]
        surfaces = [t[len(prefix) :] if is_suffix else t for t, is_suffix in zip(vocab, suffix)]
        self._tokens_tensor = tf.constant(vocab, dtype=tf.string)
        self._spacing = Spacing(vocab, surfaces, suffix)

    def fit(self, texts: Iterable[str]) -> Tokenizer:
        """Learns the vocabulary from a corpus, deterministically.

        The special tokens take ids 0..3; the other tokens follow, most frequent first (for
        ``SubwordTokenizer``: most used when the corpus is segmented), ties in code point
        order. Fitting again replaces the vocabulary (functions traced before keep the old).

        Args:
            texts: an iterable of str (or bytes, or a ``tf.data.Dataset`` of strings).

        Raises:
            TypeError: ``texts`` is a single string, not iterable, or holds non-strings.
            ValueError: the corpus is empty or has no tokens.
        """
        counts: collections.Counter[bytes] = collections.Counter()
        seen_texts = 0
        for batch in iter_text_batches(texts, _FIT_BATCH_SIZE):
            seen_texts += len(batch)
            words = self._split_tensor(tf.constant(np.array(batch, dtype=object), tf.string))
            counts.update(words.flat_values.numpy().tolist())
        if not seen_texts:
            raise ValueError("cannot fit a tokenizer on an empty corpus (texts has no items)")
        if not counts:
            raise ValueError(
                "cannot fit a tokenizer: the corpus has no tokens (only empty or blank texts)"
            )
        word_counts = collections.Counter({word.decode(): n for word, n in counts.items()})
        for special in SPECIAL_TOKENS:
            word_counts.pop(special, None)
        self._set_vocabulary(list(SPECIAL_TOKENS) + self._learn_vocabulary(word_counts))
        return self

    def _normalize_tensor(self, texts: tf.Tensor, lowercase: bool | None = None) -> tf.Tensor:
        texts = tf.strings.unicode_transcode(
            texts, "UTF-8", "UTF-8", errors="replace", replacement_char=0xFFFD
        )
        texts = tf.strings.regex_replace(texts, r"\x00", " ")
        texts = tf_text.normalize_utf8(texts, "NFKC")
        if self.lowercase if lowercase is None else lowercase:
            texts = tf.strings.lower(texts, encoding="utf-8")
        return texts

    def _split_tensor(self, texts: tf.Tensor, lowercase: bool | None = None) -> tf.RaggedTensor:
        delim, keep = _patterns.split_patterns()
        return tf_text.regex_split(self._normalize_tensor(texts, lowercase), delim, keep)

    @_graph_method
    def normalize(self, texts: TextsLike) -> tf.Tensor:
        """Normalises texts (UTF-8 repair, NFKC, optional lower-casing); needs no vocabulary."""
        tensor, scalar = texts_to_tensor(texts)
        out = self._normalize_tensor(tensor)
        return out[0] if scalar else out

    @_graph_method
    def split(self, texts: TextsLike, keep_case: bool = False) -> tf.RaggedTensor | tf.Tensor:
        """Splits normalised texts into words (B, (W)), as ``re.findall(r"\\w+|[^\\w\\s]", t)``.

        Args:
            keep_case: do not lower-case, whatever ``lowercase`` says (the words that
                ``encode`` maps to ids, one for one, as written in the text).
        """
        tensor, scalar = texts_to_tensor(texts)
        words = self._split_tensor(tensor, False if keep_case else None)
        return words.flat_values if scalar else words

    @_graph_method
    def encode(self, texts: TextsLike) -> tf.RaggedTensor | tf.Tensor:
        """Maps texts to int32 token ids (B, (T)), without ``<s>``/``</s>`` (callers add them).

        Unknown words map to ``UNK_ID``; blank texts give empty rows.

        Raises:
            NotFittedError: (a RuntimeError) before ``fit``.
            TypeError: ``texts`` is not text.
            ValueError: ``texts`` has rank 2 or more, or an unknown rank.
        """
        self._require_fitted()
        tensor, scalar = texts_to_tensor(texts)
        ids = self._encode_words(self._split_tensor(tensor))
        return ids.flat_values if scalar else ids

    @_graph_method
    def tokenize(self, texts: TextsLike) -> tf.RaggedTensor | tf.Tensor:
        """The tokens the model sees (``##`` pieces, ``<unk>``), shaped as ``encode``'s ids."""
        return tf.ragged.map_flat_values(tf.gather, self._tokens_tensor, self.encode(texts))

    @_graph_method
    def decode(self, ids: IdsLike, unknown_words=None) -> tf.Tensor:
        """Turns ids back into text.

        Per row: ``<pad>`` and ``<s>`` are dropped; the first ``</s>`` ends the row; ``<unk>``
        and ids outside ``[0, vocab_size)`` are written ``"<unk>"``; tokens are spaced by the
        rules of ``spacing`` (``isn ' t`` -> ``isn't``). Lower-casing is not undone.

        Args:
            ids: integer ids (tensor, array or nested lists), dense (B, L) padded with 0,
                ragged (B, (L)), or one row (L,), which gives a scalar instead of (B,) texts.
            unknown_words: optional strings shaped like dense ``ids`` (B, L): at each
                ``<unk>``, the word to write instead (an empty string keeps ``<unk>``).

        Raises:
            NotFittedError: (a RuntimeError) before ``fit``.
            TypeError: ``ids`` is not integer.
            ValueError: ``ids`` has a rank other than 1 or 2.
        """
        self._require_fitted()
        ragged, single = ids_to_ragged(ids)
        dense = ragged.to_tensor(default_value=PAD_ID)
        ended = tf.cumsum(tf.cast(tf.equal(dense, EOS_ID), tf.int32), axis=1) > 0
        keep = ~ended & tf.not_equal(dense, PAD_ID) & tf.not_equal(dense, BOS_ID)
        kept = tf.ragged.boolean_mask(dense, keep)
        values = kept.flat_values
        values = tf.where((values >= 0) & (values < len(self._vocab)), values, UNK_ID)
        words = None
        if unknown_words is not None:
            unknown_words = tf.convert_to_tensor(unknown_words, tf.string)
            if single:
                unknown_words = unknown_words[tf.newaxis]
            words = tf.ragged.boolean_mask(unknown_words[:, : tf.shape(dense)[1]], keep)
            words = tf.where(tf.equal(values, UNK_ID), words.flat_values, "")
        texts = self._spacing.join(kept.with_flat_values(values), words)
        return texts[0] if single else texts

    def get_config(self) -> dict[str, Any]:
        """Returns the constructor options plus ``"vocabulary"`` (a list, or None if unfitted)."""
        return {**self._options(), "vocabulary": None if self._vocab is None else list(self._vocab)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Tokenizer:
        """Creates a tokenizer from ``get_config()`` output (a vocabulary, if any, as is)."""
        options = dict(config)
        vocabulary = options.pop("vocabulary", None)
        tokenizer = cls(**options)
        if vocabulary is not None:
            tokenizer._set_vocabulary(vocabulary)
        return tokenizer

    def save(self, directory: str | os.PathLike[str]) -> None:
        """Writes ``tokenizer.json`` (class name and options) and ``vocab.txt`` (one token a
        line) into ``directory`` (created if missing), each atomically.

        Raises:
            NotFittedError: before ``fit``.
        """
        self._require_fitted()
        directory = Path(directory)
        atomic_write(directory / VOCAB_FILENAME, "".join(t + "\n" for t in self._vocab))
        meta = {
            "class_name": type(self).__name__,
            "format_version": FORMAT_VERSION,
            "config": self._options(),
            "vocab_size": len(self._vocab),
        }
        atomic_write(
            directory / CONFIG_FILENAME, json.dumps(meta, indent=2, ensure_ascii=False) + "\n"
        )

    def __repr__(self) -> str:
        size = len(self._vocab) if self._vocab is not None else "unfitted"
        options = ", ".join(f"{k}={v!r}" for k, v in self._options().items())
        return f"{type(self).__name__}({options}; vocab_size={size})"
