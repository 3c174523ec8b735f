"""Keras layers of kseq2seq: attention, encoder and decoder."""

from kseq2seq.layers.attention_base import BaseSeq2SeqAttention
from kseq2seq.layers.bahdanau_attention import BahdanauAttention
from kseq2seq.layers.decoder import Seq2SeqDecoder
from kseq2seq.layers.encoder import Seq2SeqEncoder
from kseq2seq.layers.luong_attention import LuongAttention

__all__ = [
    "BahdanauAttention",
    "BaseSeq2SeqAttention",
    "LuongAttention",
    "Seq2SeqDecoder",
    "Seq2SeqEncoder",
]
