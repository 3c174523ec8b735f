"""How `Tokenizer.decode` puts spaces between tokens (the detokenisation rules).

Tokens are joined by single spaces, except: none before closing punctuation, none after
opening punctuation, none before a continuation piece (``##ing``), and none around an
apostrophe or hyphen that stands between two words (``isn ' t`` -> ``isn't``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import tensorflow as tf

#: Tokens written without a space before them by ``decode``.
CLOSING_PUNCTUATION = (".", ",", "!", "?", ";", ":", ")")
#: Tokens written without a space after them by ``decode``.
OPENING_PUNCTUATION = ("(",)
#: Tokens written without spaces around them by ``decode`` when they stand between two words
#: ("isn ' t" -> "isn't", "êtes - vous" -> "êtes-vous", "l ' homme" -> "l'homme").
JOINING_PUNCTUATION = ("'", "\u2019", "-", "\u2010", "\u2011")


def _neighbour(flags: tf.Tensor, step: int) -> tf.Tensor:
    """Each position's neighbour's flag (`step` -1: left, 1: right), False past the ends."""
    padded = tf.concat([[False], flags, [False]], axis=0)
    return padded[1 + step : 1 + step + tf.size(flags)]


class Spacing(tf.Module):
    """Per-token lookup tables of the spacing rules, over one vocabulary.

    Args:
        vocab: the tokens, indexed by id.
        surfaces: how each token is written (``##ing`` -> ``ing``).
        suffix: whether each token continues the previous one without a space.
    """

    def __init__(self, vocab: Sequence[str], surfaces: Sequence[str], suffix: Sequence[bool]):
        super().__init__(name="spacing")
        self.surfaces = tf.constant(list(surfaces), dtype=tf.string)
        self.suffix = tf.constant(list(suffix), tf.bool)
        self.closing = tf.constant([t in CLOSING_PUNCTUATION for t in vocab], tf.bool)
        self.opening = tf.constant([t in OPENING_PUNCTUATION for t in vocab], tf.bool)
        self.joining = tf.constant([t in JOINING_PUNCTUATION for t in vocab], tf.bool)
        self.starts_word = tf.constant([re.match(r"\w", s) is not None for s in surfaces], tf.bool)
        self.ends_word = tf.constant([re.search(r"\w$", s) is not None for s in surfaces], tf.bool)

    def join(self, kept: tf.RaggedTensor, words: tf.Tensor | None = None) -> tf.Tensor:
        """Writes each row of ids (all valid, specials already dropped) as one string (B,).

        `words`, when given, holds one string per id (flat, as `kept.flat_values`): where it is
        not empty, that string is written instead of the token, and spaced as a word is.
        """
        values = kept.flat_values
        surfaces = tf.gather(self.surfaces, values)
        ends_word = tf.gather(self.ends_word, values)
        starts_word = tf.gather(self.starts_word, values)
        if words is not None:
            given = tf.not_equal(words, "")
            surfaces = tf.where(given, words, surfaces)
            word = r"[\pL\pN\pM_]"  # RE2's \w is ASCII only
            ends_word = tf.where(given, tf.strings.regex_full_match(words, f".*{word}"), ends_word)
            starts_word = tf.where(
                given, tf.strings.regex_full_match(words, f"{word}.*"), starts_word
            )
        positions = tf.range(tf.size(values, out_type=tf.int64))
        first_in_row = tf.equal(positions, tf.gather(kept.row_starts(), kept.value_rowids()))
        last_in_row = tf.equal(positions + 1, tf.gather(kept.row_limits(), kept.value_rowids()))
        # A joiner between two words in the same row loses both its spaces.
        joined = (
            tf.gather(self.joining, values)
            & _neighbour(ends_word, -1)
            & _neighbour(starts_word, 1)
            & ~first_in_row
            & ~last_in_row
        )
        no_space = (
            first_in_row
            | tf.gather(self.suffix, values)
            | tf.gather(self.closing, values)
            | _neighbour(tf.gather(self.opening, values), -1)
            | joined
            | _neighbour(joined, -1)
        )
        pieces = tf.strings.join([tf.where(no_space, "", " "), surfaces])
        return tf.strings.reduce_join(kept.with_flat_values(pieces), axis=1)
