"""Model builders and the inference pieces."""

from kseq2seq.models.builder import attention_model, build_model, model_config
from kseq2seq.models.inference import InferencePieces

__all__ = ["InferencePieces", "attention_model", "build_model", "model_config"]
