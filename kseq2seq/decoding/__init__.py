"""Decoders over the inference pieces."""

from kseq2seq.decoding.greedy import greedy_decode

__all__ = ["greedy_decode"]
