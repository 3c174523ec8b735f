"""kseq2seq: recurrent sequence-to-sequence models with attention, on Keras 3.

The names below are imported on first use (PEP 562), so that `import kseq2seq` and the
`kseq2seq` command's `--help` and usage errors do not pay for importing Keras and TensorFlow.
"""

from __future__ import annotations

import os

from kseq2seq.lazy import lazy_namespace

__version__ = "0.1.0"

# oneDNN kernels on every x86 CPU: TensorFlow left them off on the 2-core AVX2 machine of
# benchmarks/README.md, where they train 1.2-1.4x faster. Read when TensorFlow loads; a value the
# user set wins.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

# module -> the names it defines
_EXPORTS = {
    "kseq2seq.config": ["Seq2SeqConfig"],
    "kseq2seq.data.preprocessor": ["Seq2SeqPreprocessor"],
    "kseq2seq.layers": ["layers"],
    "kseq2seq.models": ["InferencePieces", "attention_model", "build_model", "model_config"],
    "kseq2seq.samplers": ["greedy_decode", "samplers"],
    "kseq2seq.training": [
        "MaskedAccuracy",
        "MaskedSparseCategoricalCrossentropy",
        "compile_model",
        "freeze_encoder",
        "load_model",
    ],
    "kseq2seq.translator": ["Translator"],
}

__all__ = sorted(name for names in _EXPORTS.values() for name in names)

__getattr__, __dir__ = lazy_namespace("kseq2seq", _EXPORTS, globals())
