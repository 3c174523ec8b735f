"""Cutting a text into sentences, and putting the translations back together.

A model trained on sentences translates a paragraph badly: `translate` cuts each text into
sentences, translates them all as one batch and joins the translations with the text's own
separators, line breaks included. The rules are TensorFlow string ops, so the SavedModel's
signatures cut texts exactly as `Translator.translate` does:

- a line break (with the spaces around it) always ends a sentence, and is kept as it is;
- so does the end of a sentence inside a line: `.`, `!`, `?` or `…` (possibly several, and
  followed by closing quotes or brackets), then spaces, then a capital letter or a digit
  (possibly after an opening quote or bracket). The word before the full stop must have at
  least two letters (or be a digit or a closing bracket), so that initials such as
  "M. Dupont" or "J. R. R. Tolkien" do not end a sentence; other abbreviations followed by
  a capital ("etc. Le ...") do.

`split_sentences(texts)` returns, per text, its pieces: sentence, separator, sentence, ...
(always an odd number; the separators are the spaces and line breaks between sentences).
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
    """Cuts texts into sentences and the separators between them.

    Args:
        texts: a tf.string tensor of shape (B,).

    Returns:
        A ragged tf.string tensor (B, (2 n - 1)): per text, sentence, separator, sentence...
        Joining a row gives back its text.
    """
    texts = tf.strings.regex_replace(texts, _MARK, " ")
    marked = tf.strings.regex_replace(texts, _LINE_BREAK, _MARK + r"\0" + _MARK)
    marked = tf.strings.regex_replace(marked, _SENTENCE_END, rf"\1\2{_MARK}\3{_MARK}\4")
    return tf.strings.split(marked, _MARK)


def sentences_and_separators(pieces: tf.RaggedTensor) -> tuple[tf.Tensor, tf.RaggedTensor]:
    """The sentences of `split_sentences`'s pieces, flat, and where they are.

    Returns:
        `(sentences, is_sentence)`: a (N,) tf.string tensor of every sentence of every text,
        and a ragged bool tensor shaped like `pieces`, True at the sentences.
    """
    positions = tf.ragged.range(pieces.row_lengths())
    is_sentence = tf.equal(positions % 2, 0)
    return tf.ragged.boolean_mask(pieces, is_sentence).flat_values, is_sentence


def join_translations(
    pieces: tf.RaggedTensor, is_sentence: tf.RaggedTensor, translations: tf.Tensor
) -> tf.Tensor:
    """Puts `translations` (one per sentence, in the order of `sentences_and_separators`)
    in place of the sentences of `pieces` and joins each row into one text (B,)."""
    flat_is_sentence = is_sentence.flat_values
    sentence_index = tf.cumsum(tf.cast(flat_is_sentence, tf.int32)) - 1
    safe_index = tf.maximum(sentence_index, 0)
    translated = tf.where(flat_is_sentence, tf.gather(translations, safe_index), pieces.flat_values)
    return tf.strings.reduce_join(pieces.with_flat_values(translated), axis=1)
