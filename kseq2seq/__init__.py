"""kseq2seq: recurrent sequence-to-sequence models with attention, on Keras 3.

The names below are imported on first use (PEP 562), so that `import kseq2seq` and the
`kseq2seq` command's `--help` and usage errors do not pay for importing Keras and TensorFlow.
"""

from __future__ import annotations

import importlib
import os

__version__ = "0.1.0"

# TensorFlow's oneDNN kernels (matmuls, the LSTM's elementwise ops) on every x86 CPU. TensorFlow
# chooses by the CPU when the variable is unset, and on the 2-core AVX2 machine of
# benchmarks/README.md ("oneDNN") it chose without: with them, training ran 1.2-1.4x faster. Read
# when TensorFlow loads, so it acts when kseq2seq is imported first; a value the user set wins.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

# name -> the module that defines it
_EXPORTS = {
    "InferencePieces": "kseq2seq.models",
    "MaskedAccuracy": "kseq2seq.training",
    "MaskedSparseCategoricalCrossentropy": "kseq2seq.training",
    "Seq2SeqConfig": "kseq2seq.config",
    "Seq2SeqPreprocessor": "kseq2seq.data.preprocessor",
    "Translator": "kseq2seq.translator",
    "attention_model": "kseq2seq.models",
    "build_model": "kseq2seq.models",
    "compile_model": "kseq2seq.training",
    "freeze_encoder": "kseq2seq.training",
    "greedy_decode": "kseq2seq.samplers",
    "load_model": "kseq2seq.training",
    "model_config": "kseq2seq.models",
}

_SUBPACKAGES = ("layers", "samplers")

__all__ = sorted([*_EXPORTS, *_SUBPACKAGES])


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
    elif name in _SUBPACKAGES:
        value = importlib.import_module(f"kseq2seq.{name}")
    else:
        raise AttributeError(f"module 'kseq2seq' has no attribute {name!r}")
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS, *_SUBPACKAGES])
