"""kseq2seq: recurrent sequence-to-sequence models with attention, on Keras 3."""

from kseq2seq import layers
from kseq2seq.config import Seq2SeqConfig
from kseq2seq.decoding import greedy_decode
from kseq2seq.models import InferencePieces, attention_model, build_model, model_config
from kseq2seq.training import (
    MaskedAccuracy,
    MaskedSparseCategoricalCrossentropy,
    compile_model,
    freeze_encoder,
    load_model,
)
from kseq2seq.translator import Translator

__version__ = "0.1.0"

__all__ = [
    "InferencePieces",
    "MaskedAccuracy",
    "MaskedSparseCategoricalCrossentropy",
    "Seq2SeqConfig",
    "Translator",
    "attention_model",
    "build_model",
    "compile_model",
    "freeze_encoder",
    "greedy_decode",
    "layers",
    "load_model",
    "model_config",
]
