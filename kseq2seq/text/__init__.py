"""Tokenizers made of TensorFlow / tensorflow-text ops (usable in tf.data and SavedModels).

- ``WordTokenizer``: one token per word or punctuation character (hash-table lookup).
- ``SubwordTokenizer``: WordPiece pieces (``tensorflow_text.FastWordpieceTokenizer``).
- ``load_tokenizer(directory)``: reads what ``Tokenizer.save(directory)`` wrote.
"""

from kseq2seq.text._patterns import PYTHON_TOKEN_REGEX
from kseq2seq.text.tokenizers import (
    CLOSING_PUNCTUATION,
    JOINING_PUNCTUATION,
    OPENING_PUNCTUATION,
    NotFittedError,
    SubwordTokenizer,
    Tokenizer,
    WordTokenizer,
    load_tokenizer,
)

__all__ = [
    "CLOSING_PUNCTUATION",
    "JOINING_PUNCTUATION",
    "OPENING_PUNCTUATION",
    "PYTHON_TOKEN_REGEX",
    "NotFittedError",
    "SubwordTokenizer",
    "Tokenizer",
    "WordTokenizer",
    "load_tokenizer",
]
