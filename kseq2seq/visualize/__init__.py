"""Pictures of a trained model's attention and hidden states: heatmaps, a decoding GIF,
hidden-state strips, an HTML report, a training callback, and the alignment error rate.

The names are imported on first use (PEP 562), so that the `kseq2seq attention` parser
(`kseq2seq.visualize.cli`) is importable without Keras, TensorFlow or matplotlib.
"""

from __future__ import annotations

from kseq2seq.lazy import lazy_namespace

_EXPORTS = {
    "kseq2seq.visualize.alignment": [
        "alignment_error_rate",
        "attention_alignment",
        "translator_aer",
    ],
    "kseq2seq.visualize.animation": ["decoding_animation"],
    "kseq2seq.visualize.callback": ["AttentionPlotCallback"],
    "kseq2seq.visualize.heatmap": [
        "attention_results",
        "plot_attention",
        "plot_attention_for",
        "plot_attention_grid",
    ],
    "kseq2seq.visualize.hidden_states": ["plot_hidden_states"],
    "kseq2seq.visualize.report": ["attention_report"],
    "kseq2seq.visualize.trace": ["DecodingTrace", "trace_decoding"],
}

__all__ = sorted(name for names in _EXPORTS.values() for name in names)


__getattr__, __dir__ = lazy_namespace("kseq2seq.visualize", _EXPORTS, globals())
