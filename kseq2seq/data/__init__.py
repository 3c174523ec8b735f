"""Parallel text in, tf.data batches out."""

from kseq2seq.data.pairs import (
    MalformedPairsError,
    PairList,
    pairs_from_lists,
    read_pairs,
    read_parallel_files,
    split_pairs,
)
from kseq2seq.data.pipeline import make_dataset

__all__ = [
    "MalformedPairsError",
    "PairList",
    "make_dataset",
    "pairs_from_lists",
    "read_pairs",
    "read_parallel_files",
    "split_pairs",
]
