"""Cutting a text into sentences, and putting the translations back together.

`translate` cuts each text into sentences, translates them as one batch and joins the
translations with the text's own separators. The rules are TensorFlow string ops, so the
SavedModel's signatures cut texts exactly as `Translator.translate` does:

- a line break (with the spaces around it) always ends a sentence, and is kept as it is;
- so does `.`, `!`, `?` or `…` (perhaps several, and followed by closing quotes or brackets),
  then spaces, then a capital letter or a digit (perhaps after an opening quote or bracket).
  The word before must have at least two letters (or be a digit or a closing bracket), so
  that initials ("M. Dupont", "J. R. R. Tolkien") do not end a sentence.
"""

from __future__ import annotations

import tensorflow as tf

_MARK = "\x00"  # NUL never reaches here: the tokenizers turn it into a space anyway
_LINE_BREAK = r"[ \t]*(?:\r\n|\n|\r)\s*"
_SPACE = r"[ \t\x{a0}\x{202f}]"  # spaces, no-break spaces included
_SENTENCE_END = (
    r"(\pL\pL|\pN|[)\]\"'»”’])"  # the end of the last word
    # The final punctuation, then closing quotes or brackets, each perhaps after a (French)
    # space: "Non !", "« Oui. »".
    rf"({_SPACE}?[.!?…]+(?:{_SPACE}?[\"'»”’)\]])*)"
    rf"({_SPACE}+)"  # the spaces between the sentences
    rf"((?:[\"'«“‘(\[¿¡]{_SPACE}?)?[\p{{Lu}}\pN])"  # the next sentence's first letter
)


def split_sentences(texts: tf.Tensor) -> tf.RaggedTensor:
    """Cuts texts (B,) into a ragged (B, (2 n - 1)) tensor of sentence, separator, sentence...
    per text; joining a row gives back its text."""
    texts = tf.strings.regex_replace(texts, _MARK, " ")
    marked = tf.strings.regex_replace(texts, _LINE_BREAK, _MARK + r"\0" + _MARK)
    marked = tf.strings.regex_replace(marked, _SENTENCE_END, rf"\1\2{_MARK}\3{_MARK}\4")
    return tf.strings.split(marked, _MARK)


def sentences_and_separators(pieces: tf.RaggedTensor) -> tuple[tf.Tensor, tf.RaggedTensor]:
    """`(sentences, is_sentence)`: every sentence of `split_sentences`'s pieces, flat (N,),
    and a ragged bool tensor shaped like `pieces`, True at the sentences."""
    positions = tf.ragged.range(pieces.row_lengths())
    is_sentence = tf.equal(positions % 2, 0)
    return tf.ragged.boolean_mask(pieces, is_sentence).flat_values, is_sentence


def join_translations(
    pieces: tf.RaggedTensor, is_sentence: tf.RaggedTensor, translations: tf.Tensor
) -> tf.Tensor:
    """Puts `translations` (one per sentence, in the order of `sentences_and_separators`)
    in place of the sentences of `pieces` and joins each row into one text (B,)."""
    flags = is_sentence.flat_values
    index = tf.maximum(tf.cumsum(tf.cast(flags, tf.int32)) - 1, 0)
    translated = tf.where(flags, tf.gather(translations, index), pieces.flat_values)
    return tf.strings.reduce_join(pieces.with_flat_values(translated), axis=1)
