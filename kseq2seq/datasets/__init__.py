"""Corpora: synthetic tasks, the embedded default corpus and loaders of real corpora."""

from kseq2seq.datasets.default_corpus import default_corpus, generate_corpus
from kseq2seq.datasets.ding import DING_PATH, load_ding_sentences
from kseq2seq.datasets.parallel import ParallelExample, load_tsv, save_tsv, word_tokens

__all__ = [
    "DING_PATH",
    "ParallelExample",
    "default_corpus",
    "generate_corpus",
    "load_ding_sentences",
    "load_tsv",
    "save_tsv",
    "word_tokens",
]
