"""Tokenizers made of TensorFlow / tensorflow-text graph ops.

``encode``, ``tokenize``, ``split``, ``normalize`` and ``decode`` are pure TensorFlow ops on
``tf.string`` / integer tensors: they run eagerly, inside ``tf.data.Dataset.map`` and inside a
``tf.function`` saved with ``tf.saved_model.save`` (a loader needs only ``tensorflow`` and
``tensorflow_text``). A ``Tokenizer`` is a ``tf.Module``: attach it to the module you save and
its lookup tables are tracked and saved with it.

Text processing, in order (``normalize``):

1. Bytes that are not valid UTF-8 are replaced by U+FFFD (``tf.strings.unicode_transcode`` with
   ``errors="replace"``); U+FFFD is then an ordinary punctuation-like token (usually unknown).
2. NUL characters become spaces (``tf.strings.lower`` truncates a string at its first NUL).
3. Unicode NFKC (``tensorflow_text.normalize_utf8``): full-width forms, ligatures, superscripts,
   compatibility spaces are folded ("ﬁ" -> "fi", "①" -> "1", NBSP -> " ").
4. With ``lowercase=True``: ``tf.strings.lower(..., encoding="utf-8")``, i.e. Unicode lower-casing
   (ICU full case mapping, the same as Python's ``str.lower`` for all but a few dozen code points
   that are newer than one of the two Unicode tables): "ß" stays "ß", final sigma stays "ς".
   ``tensorflow_text.case_fold_utf8`` was not chosen: it also case-*folds* ("ß" -> "ss",
   "ς" -> "σ") and deletes default-ignorable characters, which makes decoded text less natural.

The normalised text is very close to Python's ``unicodedata.normalize("NFKC", text).lower()``.

Splitting (``split``) is exactly Python's ``re.findall(r"\\w+|[^\\w\\s]", normalized_text)``:
runs of word characters (letters, digits, underscore, any script), and every other non-space
character as a token of its own (see ``_patterns``).
"""

from __future__ import annotations

import collections
import json
import os
from collections.abc import Iterable, Sequence
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

# The methods only branch on Python values: autograph conversion would only slow down tracing.
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
        name: name of the ``tf.Module``.
    """

    def __init__(
        self, lowercase: bool = True, min_frequency: int = 1, name: str | None = None
    ) -> None:
        super().__init__(name=name)
        self.lowercase = check_bool("lowercase", lowercase)
        self.min_frequency = check_int("min_frequency", min_frequency)
        self._vocab: list[str] | None = None

    # ----------------------------------------------------------------- subclass hooks
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

    def _is_suffix_piece(self, token: str) -> bool:
        """Whether ``token`` continues the previous token without a space."""
        return False

    def _surface(self, token: str) -> str:
        """How ``token`` is written by ``decode``."""
        return token

    # ----------------------------------------------------------------- vocabulary
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
        surfaces = [self._surface(token) for token in vocab]
        surfaces[UNK_ID] = SPECIAL_TOKENS[UNK_ID]
        self._tokens_tensor = tf.constant(vocab, dtype=tf.string)
        self._spacing = Spacing(vocab, surfaces, [self._is_suffix_piece(t) for t in vocab])

    def fit(self, texts: Iterable[str]) -> Tokenizer:
        """Learns the vocabulary from a corpus.

        The special tokens take ids 0..3; the other tokens follow, most frequent first, ties in
        alphabetical (code point) order (for ``SubwordTokenizer`` the frequency of a piece is
        how often it is used when the corpus is segmented). Deterministic. Fitting again
        replaces the vocabulary (functions traced before keep the old one).

        Args:
            texts: an iterable of str (or bytes, or a ``tf.data.Dataset`` of strings).

        Returns:
            ``self``.

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
        if seen_texts == 0:
            raise ValueError("cannot fit a tokenizer on an empty corpus (texts has no items)")
        if not counts:
            raise ValueError(
                "cannot fit a tokenizer: the corpus has no tokens (only empty or blank texts)"
            )
        word_counts = collections.Counter(
            {word.decode("utf-8"): count for word, count in counts.items()}
        )
        for special in SPECIAL_TOKENS:
            word_counts.pop(special, None)
        self._set_vocabulary(list(SPECIAL_TOKENS) + self._learn_vocabulary(word_counts))
        return self

    # ----------------------------------------------------------------- text -> tokens
    def _normalize_tensor(self, texts: tf.Tensor, lowercase: bool | None = None) -> tf.Tensor:
        texts = tf.strings.unicode_transcode(
            texts,
            input_encoding="UTF-8",
            output_encoding="UTF-8",
            errors="replace",
            replacement_char=0xFFFD,
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
        """Normalises texts (UTF-8 repair, NFKC, optional lower-casing). Needs no vocabulary.

        Args:
            texts: a str, bytes, list of str, or tf.string tensor of rank 0 or 1.

        Returns:
            A tf.string tensor with the rank of ``texts`` (rank 1 for lists).
        """
        tensor, scalar = texts_to_tensor(texts)
        out = self._normalize_tensor(tensor)
        return out[0] if scalar else out

    @_graph_method
    def split(self, texts: TextsLike, keep_case: bool = False) -> tf.RaggedTensor | tf.Tensor:
        """Splits normalised texts into words, exactly as ``re.findall(r"\\w+|[^\\w\\s]", t)``.

        Args:
            texts: a str, bytes, list of str, or tf.string tensor of rank 0 or 1.
            keep_case: do not lower-case, whatever ``lowercase`` says (the words are then
                those that ``encode`` maps to ids, one for one, as written in the text).

        Returns:
            A ragged (B, (W)) tf.string tensor, or a 1-D tensor for a scalar input.
        """
        tensor, scalar = texts_to_tensor(texts)
        words = self._split_tensor(tensor, False if keep_case else None)
        return words.flat_values if scalar else words  # one row: its values

    @_graph_method
    def encode(self, texts: TextsLike) -> tf.RaggedTensor | tf.Tensor:
        """Maps texts to token ids, without ``<s>``/``</s>`` (callers add them).

        Unknown words (or words with characters missing from the vocabulary) map to
        ``UNK_ID``; empty and whitespace-only texts give empty rows.

        Args:
            texts: a str, bytes, list of str/bytes, 1-D numpy string array, or tf.string
                tensor of rank 0 or 1 (also symbolic, e.g. inside ``tf.data.Dataset.map``).

        Returns:
            A ragged int32 tensor (B, (T)); a 1-D int32 tensor for a rank-0 input.

        Raises:
            NotFittedError: (a RuntimeError) before ``fit``.
            TypeError: ``texts`` is not text (e.g. an int or an int tensor).
            ValueError: ``texts`` has rank 2 or more, or an unknown rank.
        """
        self._require_fitted()
        tensor, scalar = texts_to_tensor(texts)
        ids = self._encode_words(self._split_tensor(tensor))
        return ids.flat_values if scalar else ids  # one row: its values

    @_graph_method
    def tokenize(self, texts: TextsLike) -> tf.RaggedTensor | tf.Tensor:
        """Maps texts to the tokens the model sees (``##`` pieces, ``<unk>`` for unknowns).

        Args:
            texts: as for ``encode``.

        Returns:
            A ragged tf.string tensor (B, (T)); a 1-D tensor for a rank-0 input.
        """
        ids = self.encode(texts)
        if isinstance(ids, tf.RaggedTensor):
            return tf.ragged.map_flat_values(tf.gather, self._tokens_tensor, ids)
        return tf.gather(self._tokens_tensor, ids)

    # ----------------------------------------------------------------- ids -> text
    @_graph_method
    def decode(self, ids: IdsLike, unknown_words=None) -> tf.Tensor:
        """Turns ids back into text.

        Per row: ``<pad>`` and ``<s>`` are dropped; the first ``</s>`` ends the row (it and
        everything after are dropped); ``<unk>`` and ids outside ``[0, vocab_size)`` are
        written ``"<unk>"``; ``##`` pieces are joined to the previous piece; tokens are joined
        by single spaces except before ``. , ! ? ; : )`` and after ``(``, and around an
        apostrophe or hyphen (``' \u2019 - \u2010 \u2011``) that stands between two words
        (``isn ' t`` -> ``isn't``, ``êtes - vous`` -> ``êtes-vous``; a quotation mark written
        ``'`` between words is joined too). Lower-casing is not undone.

        Args:
            ids: integer ids, dense (B, L) padded with 0, ragged (B, (L)), or one row (L,).
                Tensors, numpy arrays and (nested) lists are accepted.
            unknown_words: optional strings shaped like dense ``ids`` (B, L): at each
                ``<unk>``, the word to write instead (an empty string keeps ``<unk>``); it is
                spaced as a word is.

        Returns:
            A tf.string tensor of shape (B,), or a scalar for a rank-1 input.

        Raises:
            NotFittedError: (a RuntimeError) before ``fit``.
            TypeError: ``ids`` is not integer.
            ValueError: ``ids`` has a rank other than 1 or 2.
        """
        self._require_fitted()
        ragged, single = ids_to_ragged(ids)
        vocab_size = tf.constant(len(self._vocab), tf.int64)
        dense = ragged.to_tensor(default_value=PAD_ID)
        ended = tf.cumsum(tf.cast(tf.equal(dense, EOS_ID), tf.int32), axis=1) > 0
        keep = tf.logical_not(ended) & tf.not_equal(dense, PAD_ID) & tf.not_equal(dense, BOS_ID)
        kept = tf.ragged.boolean_mask(dense, keep)
        values = kept.flat_values
        values = tf.where((values >= 0) & (values < vocab_size), values, UNK_ID)
        words = None
        if unknown_words is not None:
            unknown_words = tf.convert_to_tensor(unknown_words, tf.string)
            if single:
                unknown_words = unknown_words[tf.newaxis]
            words = tf.ragged.boolean_mask(unknown_words[:, : tf.shape(dense)[1]], keep)
            words = tf.where(tf.equal(values, UNK_ID), words.flat_values, "")
        texts = self._spacing.join(kept.with_flat_values(values), words)
        return texts[0] if single else texts

    # ----------------------------------------------------------------- (de)serialisation
    def get_config(self) -> dict[str, Any]:
        """Returns the constructor options plus ``"vocabulary"`` (a list, or None if unfitted)."""
        config = self._options()
        config["vocabulary"] = None if self._vocab is None else list(self._vocab)
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Tokenizer:
        """Creates a tokenizer from ``get_config()`` output (vocabulary optional).

        Args:
            config: the options; a ``"vocabulary"`` entry, when not None, is installed as is.

        Returns:
            The tokenizer.
        """
        options = dict(config)
        vocabulary = options.pop("vocabulary", None)
        tokenizer = cls(**options)
        if vocabulary is not None:
            tokenizer._set_vocabulary(vocabulary)
        return tokenizer

    def save(self, directory: str | os.PathLike[str]) -> None:
        """Writes ``tokenizer.json`` (class name and options) and ``vocab.txt`` (one token a line).

        Each file is written to a temporary file in ``directory`` and renamed into place.

        Args:
            directory: created if missing.

        Raises:
            NotFittedError: before ``fit``.
        """
        self._require_fitted()
        directory = os.fspath(directory)
        os.makedirs(directory, exist_ok=True)
        atomic_write(
            os.path.join(directory, VOCAB_FILENAME), "".join(t + "\n" for t in self._vocab)
        )
        meta = {
            "class_name": type(self).__name__,
            "format_version": FORMAT_VERSION,
            "config": self._options(),
            "vocab_size": len(self._vocab),
        }
        atomic_write(
            os.path.join(directory, CONFIG_FILENAME),
            json.dumps(meta, indent=2, ensure_ascii=False) + "\n",
        )

    def __repr__(self) -> str:
        size = len(self._vocab) if self._vocab is not None else "unfitted"
        options = ", ".join(f"{k}={v!r}" for k, v in self._options().items())
        return f"{type(self).__name__}({options}; vocab_size={size})"
