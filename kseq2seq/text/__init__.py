"""Tokenizers made of TensorFlow / tensorflow-text ops (usable in tf.data and SavedModels):
``WordTokenizer`` (one token a word), ``SubwordTokenizer`` (WordPiece) and ``load_tokenizer``.
"""

from kseq2seq.text._patterns import PYTHON_TOKEN_REGEX
from kseq2seq.text.base import NotFittedError, Tokenizer
from kseq2seq.text.spacing import CLOSING_PUNCTUATION, JOINING_PUNCTUATION, OPENING_PUNCTUATION
from kseq2seq.text.tokenizers import SubwordTokenizer, WordTokenizer, load_tokenizer

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
