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
import re
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import tensorflow as tf
import tensorflow_text as tf_text

from kseq2seq.atomic import follow_umask
from kseq2seq.special_tokens import BOS_ID, EOS_ID, PAD_ID, SPECIAL_TOKENS, UNK_ID
from kseq2seq.text import _learn, _patterns

CONFIG_FILENAME = "tokenizer.json"
VOCAB_FILENAME = "vocab.txt"
FORMAT_VERSION = 1

#: Tokens written without a space before them by ``decode``.
CLOSING_PUNCTUATION = (".", ",", "!", "?", ";", ":", ")")
#: Tokens written without a space after them by ``decode``.
OPENING_PUNCTUATION = ("(",)
#: Tokens written without spaces around them by ``decode`` when they stand between two words
#: ("isn ' t" -> "isn't", "êtes - vous" -> "êtes-vous", "l ' homme" -> "l'homme").
JOINING_PUNCTUATION = ("'", "\u2019", "-", "\u2010", "\u2011")

_FIT_BATCH_SIZE = 4096
_TextsLike = Any  # str | bytes | Sequence[str | bytes] | np.ndarray | tf.Tensor
_IdsLike = Any  # tf.Tensor | tf.RaggedTensor | np.ndarray | Sequence


# The methods only branch on Python values: autograph conversion would only slow down tracing.
_graph_method = tf.autograph.experimental.do_not_convert


class NotFittedError(RuntimeError):
    """Raised when a tokenizer without a vocabulary is asked to encode or decode."""


def _to_bytes(text: str | bytes, where: str) -> bytes:
    if isinstance(text, str):
        # surrogatepass: lone surrogates become invalid UTF-8, replaced later by U+FFFD.
        return text.encode("utf-8", "surrogatepass")
    if isinstance(text, bytes):
        return text
    raise TypeError(f"{where} must be str or bytes, got {type(text).__name__}")


def _texts_to_tensor(texts: _TextsLike) -> tuple[tf.Tensor, bool]:
    """Converts the accepted text inputs to a rank-1 tf.string tensor.

    Returns:
        ``(tensor, was_scalar)``.
    """
    if isinstance(texts, tf.RaggedTensor):
        raise TypeError("texts must be a dense tf.string tensor of rank 0 or 1, got a RaggedTensor")
    if tf.is_tensor(texts):
        if texts.dtype != tf.string:
            raise TypeError(f"texts must be a tf.string tensor, got dtype {texts.dtype.name}")
        rank = texts.shape.rank
        if rank is None:
            raise ValueError("texts must have a statically known rank (0 or 1), got unknown rank")
        if rank not in (0, 1):
            raise ValueError(f"texts must have rank 0 or 1, got rank {rank}")
        return (tf.reshape(texts, [1]), True) if rank == 0 else (texts, False)
    if isinstance(texts, (str, bytes, np.str_, np.bytes_)):
        return tf.constant([_to_bytes(texts, "texts")], dtype=tf.string), True
    if isinstance(texts, np.ndarray):
        if texts.dtype.kind not in "USO":
            raise TypeError(f"texts must be an array of strings, got dtype {texts.dtype}")
        if texts.ndim not in (0, 1):
            raise ValueError(f"texts must have rank 0 or 1, got rank {texts.ndim}")
        tensor, _ = _texts_to_tensor(list(texts.reshape(-1)))
        return tensor, texts.ndim == 0
    if isinstance(texts, (list, tuple)):
        values = [_to_bytes(text, f"texts[{i}]") for i, text in enumerate(texts)]
        array = np.empty(len(values), dtype=object)
        array[:] = values
        return tf.constant(array, dtype=tf.string), False
    raise TypeError(
        "texts must be a str, bytes, a list of str, or a tf.string tensor of rank 0 or 1, "
        f"got {type(texts).__name__}"
    )


def _ids_to_ragged(ids: _IdsLike) -> tuple[tf.RaggedTensor, bool]:
    """Converts the accepted id inputs to a rank-2 int64 RaggedTensor (dense padding kept).

    Returns:
        ``(ragged, was_rank_1)``.
    """
    if isinstance(ids, tf.RaggedTensor):
        if not ids.dtype.is_integer:
            raise TypeError(f"ids must be integers, got dtype {ids.dtype.name}")
        if ids.shape.rank != 2:
            raise ValueError(
                f"ids must have rank 1 or 2, got a RaggedTensor of rank {ids.shape.rank}"
            )
        return tf.cast(ids, tf.int64), False
    if not tf.is_tensor(ids):
        if isinstance(ids, (list, tuple)) and any(isinstance(row, (list, tuple)) for row in ids):
            lengths = {len(row) if isinstance(row, (list, tuple)) else -1 for row in ids}
            if len(lengths) > 1:
                ragged = tf.ragged.constant(ids, dtype=tf.int64, ragged_rank=1)
                return _ids_to_ragged(ragged)
        if isinstance(ids, (list, tuple)) and len(ids) == 0:
            ids = np.zeros([0], dtype=np.int64)
        array = np.asarray(ids)
        if array.size == 0:
            array = array.astype(np.int64)  # [[]] (one empty row) is float to NumPy
        if array.dtype.kind not in "iu":
            raise TypeError(f"ids must be integers, got {array.dtype} values")
        ids = tf.constant(array.astype(np.int64))
    if not ids.dtype.is_integer:
        raise TypeError(f"ids must be integers, got dtype {ids.dtype.name}")
    rank = ids.shape.rank
    if rank not in (1, 2):
        raise ValueError(f"ids must have rank 1 or 2, got rank {rank}")
    ids = tf.cast(ids, tf.int64)
    if rank == 1:
        return tf.RaggedTensor.from_tensor(ids[tf.newaxis]), True
    return tf.RaggedTensor.from_tensor(ids), False


def _iter_text_batches(texts: Iterable[Any], batch_size: int) -> Iterator[list[bytes]]:
    """Yields lists of UTF-8 byte strings from an iterable of texts (or a tf.data.Dataset)."""
    if isinstance(texts, (str, bytes)):
        raise TypeError(
            "texts must be an iterable of strings, not a single string; wrap it in a list"
        )
    if isinstance(texts, tf.data.Dataset):
        texts = texts.as_numpy_iterator()
    elif tf.is_tensor(texts) or isinstance(texts, np.ndarray):
        texts = np.asarray(texts).reshape(-1)
    try:
        iterator = iter(texts)
    except TypeError:
        raise TypeError(
            f"texts must be an iterable of strings, got {type(texts).__name__}"
        ) from None
    batch: list[bytes] = []
    for index, text in enumerate(iterator):
        if tf.is_tensor(text):
            text = text.numpy()
        if isinstance(text, np.ndarray):  # batched tf.data elements
            batch.extend(_to_bytes(t, f"texts[{index}]") for t in text.reshape(-1).tolist())
        else:
            batch.append(_to_bytes(text, f"texts[{index}]"))
        if len(batch) >= batch_size:
            yield batch
            batch = []
    if batch:
        yield batch


def _atomic_write_text(path: str, content: str) -> None:
    """Writes UTF-8 text to a temporary file in the same directory, then renames it."""
    directory = os.path.dirname(path) or "."
    handle, tmp_path = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".part")
    try:
        follow_umask(tmp_path)
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            stream.write(content)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(tmp_path, path)
    except BaseException:
        if os.path.exists(tmp_path):
            os.remove(tmp_path)
        raise


def _check_vocabulary(vocabulary: Sequence[str]) -> list[str]:
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


def _check_int(name: str, value: Any, minimum: int, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")


class Tokenizer(tf.Module):
    """Base class: normalisation, splitting, decoding, saving; subclasses map words to ids.

    Args:
        lowercase: lower-case the text after NFKC normalisation.
        name: name of the ``tf.Module``.
    """

    def __init__(self, lowercase: bool = True, name: str | None = None) -> None:
        super().__init__(name=name)
        if not isinstance(lowercase, bool):
            raise TypeError(f"lowercase must be a bool, got {type(lowercase).__name__}")
        self.lowercase = lowercase
        self._vocab: list[str] | None = None

    # ----------------------------------------------------------------- subclass hooks
    def _options(self) -> dict[str, Any]:
        """The constructor options (JSON-serialisable)."""
        return {"lowercase": self.lowercase}

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
        vocab = _check_vocabulary(vocabulary)
        self._build_lookup(vocab)
        self._vocab = self._no_dependency(vocab)
        surfaces = [self._surface(token) for token in vocab]
        surfaces[UNK_ID] = SPECIAL_TOKENS[UNK_ID]
        self._tokens_tensor = tf.constant(vocab, dtype=tf.string)
        self._surface_tensor = tf.constant(surfaces, dtype=tf.string)
        self._suffix_tensor = tf.constant([self._is_suffix_piece(t) for t in vocab], tf.bool)
        closing = set(CLOSING_PUNCTUATION)
        opening = set(OPENING_PUNCTUATION)
        self._closing_tensor = tf.constant([t in closing for t in vocab], tf.bool)
        self._opening_tensor = tf.constant([t in opening for t in vocab], tf.bool)
        joining = set(JOINING_PUNCTUATION)
        self._joining_tensor = tf.constant([t in joining for t in vocab], tf.bool)
        # Whether a token's written form starts / ends with a word character (\w).
        word_char = [re.match(r"\w", surface) is not None for surface in surfaces]
        word_end = [re.search(r"\w$", surface) is not None for surface in surfaces]
        word_char[UNK_ID] = word_end[UNK_ID] = False
        self._starts_word_tensor = tf.constant(word_char, tf.bool)
        self._ends_word_tensor = tf.constant(word_end, tf.bool)

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
        for batch in _iter_text_batches(texts, _FIT_BATCH_SIZE):
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
    def _normalize_tensor(self, texts: tf.Tensor) -> tf.Tensor:
        texts = tf.strings.unicode_transcode(
            texts,
            input_encoding="UTF-8",
            output_encoding="UTF-8",
            errors="replace",
            replacement_char=0xFFFD,
        )
        texts = tf.strings.regex_replace(texts, r"\x00", " ")
        texts = tf_text.normalize_utf8(texts, "NFKC")
        if self.lowercase:
            texts = tf.strings.lower(texts, encoding="utf-8")
        return texts

    def _split_tensor(self, texts: tf.Tensor) -> tf.RaggedTensor:
        delim, keep = _patterns.split_patterns()
        return tf_text.regex_split(self._normalize_tensor(texts), delim, keep)

    @_graph_method
    def normalize(self, texts: _TextsLike) -> tf.Tensor:
        """Normalises texts (UTF-8 repair, NFKC, optional lower-casing). Needs no vocabulary.

        Args:
            texts: a str, bytes, list of str, or tf.string tensor of rank 0 or 1.

        Returns:
            A tf.string tensor with the rank of ``texts`` (rank 1 for lists).
        """
        tensor, scalar = _texts_to_tensor(texts)
        out = self._normalize_tensor(tensor)
        return out[0] if scalar else out

    @_graph_method
    def split(self, texts: _TextsLike) -> tf.RaggedTensor | tf.Tensor:
        """Splits normalised texts into words, exactly as ``re.findall(r"\\w+|[^\\w\\s]", t)``.

        Args:
            texts: a str, bytes, list of str, or tf.string tensor of rank 0 or 1.

        Returns:
            A ragged (B, (W)) tf.string tensor, or a 1-D tensor for a scalar input.
        """
        tensor, scalar = _texts_to_tensor(texts)
        words = self._split_tensor(tensor)
        return words.flat_values if scalar else words  # one row: its values

    @_graph_method
    def encode(self, texts: _TextsLike) -> tf.RaggedTensor | tf.Tensor:
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
        tensor, scalar = _texts_to_tensor(texts)
        ids = self._encode_words(self._split_tensor(tensor))
        return ids.flat_values if scalar else ids  # one row: its values

    @_graph_method
    def tokenize(self, texts: _TextsLike) -> tf.RaggedTensor | tf.Tensor:
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
    def decode(self, ids: _IdsLike) -> tf.Tensor:
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

        Returns:
            A tf.string tensor of shape (B,), or a scalar for a rank-1 input.

        Raises:
            NotFittedError: (a RuntimeError) before ``fit``.
            TypeError: ``ids`` is not integer.
            ValueError: ``ids`` has a rank other than 1 or 2.
        """
        self._require_fitted()
        ragged, single = _ids_to_ragged(ids)
        vocab_size = tf.constant(len(self._vocab), tf.int64)
        dense = ragged.to_tensor(default_value=PAD_ID)
        ended = tf.cumsum(tf.cast(tf.equal(dense, EOS_ID), tf.int32), axis=1) > 0
        keep = tf.logical_not(ended) & tf.not_equal(dense, PAD_ID) & tf.not_equal(dense, BOS_ID)
        kept = tf.ragged.boolean_mask(dense, keep)
        values = kept.flat_values
        values = tf.where((values >= 0) & (values < vocab_size), values, UNK_ID)

        row_starts = tf.gather(kept.row_starts(), kept.value_rowids())
        first_in_row = tf.equal(tf.range(tf.size(values, out_type=tf.int64)), row_starts)
        opening = tf.gather(self._opening_tensor, values)
        after_opening = tf.concat([[False], opening[:-1]], axis=0)[: tf.size(values)]
        # A joiner between two words in the same row loses both its spaces.
        row_limits = tf.gather(kept.row_limits(), kept.value_rowids())
        last_in_row = tf.equal(tf.range(tf.size(values, out_type=tf.int64)) + 1, row_limits)
        ends_word = tf.gather(self._ends_word_tensor, values)
        starts_word = tf.gather(self._starts_word_tensor, values)
        prev_ends_word = tf.concat([[False], ends_word[:-1]], axis=0)[: tf.size(values)]
        next_starts_word = tf.concat([starts_word[1:], [False]], axis=0)[: tf.size(values)]
        joined = (
            tf.gather(self._joining_tensor, values)
            & prev_ends_word
            & tf.logical_not(first_in_row)
            & next_starts_word
            & tf.logical_not(last_in_row)
        )
        after_joined = tf.concat([[False], joined[:-1]], axis=0)[: tf.size(values)]
        no_space = (
            first_in_row
            | tf.gather(self._suffix_tensor, values)
            | tf.gather(self._closing_tensor, values)
            | after_opening
            | joined
            | after_joined
        )
        pieces = tf.strings.join(
            [tf.where(no_space, "", " "), tf.gather(self._surface_tensor, values)]
        )
        texts = tf.strings.reduce_join(kept.with_flat_values(pieces), axis=1)
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
        _atomic_write_text(
            os.path.join(directory, VOCAB_FILENAME), "".join(t + "\n" for t in self._vocab)
        )
        meta = {
            "class_name": type(self).__name__,
            "format_version": FORMAT_VERSION,
            "config": self._options(),
            "vocab_size": len(self._vocab),
        }
        _atomic_write_text(
            os.path.join(directory, CONFIG_FILENAME),
            json.dumps(meta, indent=2, ensure_ascii=False) + "\n",
        )

    def __repr__(self) -> str:
        size = len(self._vocab) if self._vocab is not None else "unfitted"
        options = ", ".join(f"{k}={v!r}" for k, v in self._options().items())
        return f"{type(self).__name__}({options}; vocab_size={size})"


class WordTokenizer(Tokenizer):
    """Word-level tokenizer: every word (or punctuation character) is one token.

    Ids come from a ``tf.lookup.StaticHashTable`` (unknown words -> ``UNK_ID``).

    Args:
        lowercase: lower-case the text after NFKC normalisation.
        max_vocab_size: the most tokens, special tokens included (None: no limit); >= 5.
        min_frequency: the fewest occurrences a word needs to enter the vocabulary.
        name: name of the ``tf.Module``.
    """

    def __init__(
        self,
        lowercase: bool = True,
        max_vocab_size: int | None = None,
        min_frequency: int = 1,
        name: str | None = None,
    ) -> None:
        super().__init__(lowercase=lowercase, name=name)
        _check_int("max_vocab_size", max_vocab_size, len(SPECIAL_TOKENS) + 1, allow_none=True)
        _check_int("min_frequency", min_frequency, 1)
        self.max_vocab_size = None if max_vocab_size is None else int(max_vocab_size)
        self.min_frequency = int(min_frequency)
        self._table = None

    def _options(self) -> dict[str, Any]:
        return {
            "lowercase": self.lowercase,
            "max_vocab_size": self.max_vocab_size,
            "min_frequency": self.min_frequency,
        }

    def _learn_vocabulary(self, word_counts: collections.Counter[str]) -> list[str]:
        budget = None if self.max_vocab_size is None else self.max_vocab_size - len(SPECIAL_TOKENS)
        return _learn.select_words(word_counts, budget, self.min_frequency)

    def _build_lookup(self, vocab: list[str]) -> None:
        first = len(SPECIAL_TOKENS)
        keys = vocab[first:]
        initializer = tf.lookup.KeyValueTensorInitializer(
            tf.constant(keys, dtype=tf.string),
            tf.range(first, first + len(keys), dtype=tf.int64),
            key_dtype=tf.string,
            value_dtype=tf.int64,
        )
        self._table = tf.lookup.StaticHashTable(initializer, default_value=UNK_ID)

    def _encode_words(self, words: tf.RaggedTensor) -> tf.RaggedTensor:
        ids = tf.ragged.map_flat_values(self._table.lookup, words)
        return tf.ragged.map_flat_values(tf.cast, ids, tf.int32)


class SubwordTokenizer(Tokenizer):
    """WordPiece tokenizer (``tensorflow_text.FastWordpieceTokenizer``) over the same words.

    The pieces are learnt by BPE-style merges of characters (see ``_learn``): word-initial
    pieces plus ``##`` continuation pieces, every character seen included (both forms) while
    the budget allows. A word with a character outside the vocabulary, or longer than 200
    UTF-8 bytes, becomes one ``UNK_ID``. ``decode`` joins ``##`` pieces to the previous piece.

    The ``vocab_size`` argument is a cap (stored as ``max_vocab_size``); the ``vocab_size``
    property is the size actually learnt (smaller when the corpus has fewer frequent pairs).

    Args:
        lowercase: lower-case the text after NFKC normalisation.
        vocab_size: the most tokens, special tokens included; >= 5.
        min_frequency: the fewest occurrences a pair of pieces needs to be merged.
        name: name of the ``tf.Module``.
    """

    max_bytes_per_word = 200

    def __init__(
        self,
        lowercase: bool = True,
        vocab_size: int = 8000,
        min_frequency: int = 2,
        name: str | None = None,
    ) -> None:
        super().__init__(lowercase=lowercase, name=name)
        _check_int("vocab_size", vocab_size, len(SPECIAL_TOKENS) + 1)
        _check_int("min_frequency", min_frequency, 1)
        self.max_vocab_size = int(vocab_size)
        self.min_frequency = int(min_frequency)
        self._wordpiece = None

    def _options(self) -> dict[str, Any]:
        return {
            "lowercase": self.lowercase,
            "vocab_size": self.max_vocab_size,
            "min_frequency": self.min_frequency,
        }

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
        pieces = self._wordpiece.tokenize(words)  # (B, (W), (P))
        return pieces.merge_dims(1, 2)

    def _is_suffix_piece(self, token: str) -> bool:
        prefix = _learn.SUFFIX_INDICATOR
        return token.startswith(prefix) and len(token) > len(prefix)

    def _surface(self, token: str) -> str:
        if self._is_suffix_piece(token):
            return token[len(_learn.SUFFIX_INDICATOR) :]
        return token


_CLASSES: dict[str, type[Tokenizer]] = {
    "WordTokenizer": WordTokenizer,
    "SubwordTokenizer": SubwordTokenizer,
}


def load_tokenizer(directory: str | os.PathLike[str]) -> Tokenizer:
    """Loads a tokenizer written by ``Tokenizer.save``.

    Args:
        directory: the directory holding ``tokenizer.json`` and ``vocab.txt``.

    Returns:
        A fitted ``WordTokenizer`` or ``SubwordTokenizer``.

    Raises:
        FileNotFoundError: a file is missing.
        ValueError: the files are malformed or name an unknown class.
    """
    directory = os.fspath(directory)
    config_path = os.path.join(directory, CONFIG_FILENAME)
    vocab_path = os.path.join(directory, VOCAB_FILENAME)
    with open(config_path, encoding="utf-8") as stream:
        try:
            meta = json.load(stream)
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
    with open(vocab_path, encoding="utf-8", newline="") as stream:
        content = stream.read()
    vocabulary = content.split("\n")
    if vocabulary and vocabulary[-1] == "":
        vocabulary.pop()
    expected = meta.get("vocab_size")
    if expected is not None and expected != len(vocabulary):
        raise ValueError(
            f"{vocab_path} has {len(vocabulary)} tokens but {config_path} says {expected}"
        )
    config = dict(meta.get("config", {}))
    config["vocabulary"] = vocabulary
    return _CLASSES[class_name].from_config(config)
