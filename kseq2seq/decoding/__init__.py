"""Decoders over the inference pieces: greedy, beam search and sampling, compiled loops."""

from kseq2seq.decoding.beam_search import beam_search_decode
from kseq2seq.decoding.greedy import greedy_decode
from kseq2seq.decoding.sampling import sample_decode

__all__ = ["beam_search_decode", "greedy_decode", "sample_decode"]
