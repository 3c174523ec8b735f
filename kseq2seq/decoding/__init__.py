"""Decoders over the inference pieces: greedy and beam search, compiled loops."""

from kseq2seq.decoding.beam_search import beam_search_decode
from kseq2seq.decoding.greedy import greedy_decode

__all__ = ["beam_search_decode", "greedy_decode"]
