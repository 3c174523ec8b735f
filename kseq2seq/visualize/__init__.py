"""Pictures of a trained model's attention and hidden states.

- `plot_attention`, `plot_attention_for`, `plot_attention_grid`: heatmaps (PNG/SVG/PDF).
- `decoding_animation`: a GIF, one frame per decoding step.
- `plot_hidden_states`: hidden states and context vectors as strips of coloured cells.
- `attention_report`: a self-contained HTML report with hoverable weights.
- `AttentionPlotCallback`: heatmaps of fixed sentences during `model.fit` (and TensorBoard).
- `alignment_error_rate`, `translator_aer`: how well attention matches gold alignments.
"""

from kseq2seq.visualize.alignment import (
    alignment_error_rate,
    attention_alignment,
    translator_aer,
)
from kseq2seq.visualize.animation import decoding_animation
from kseq2seq.visualize.callback import AttentionPlotCallback
from kseq2seq.visualize.heatmap import (
    attention_results,
    plot_attention,
    plot_attention_for,
    plot_attention_grid,
)
from kseq2seq.visualize.hidden_states import plot_hidden_states
from kseq2seq.visualize.report import attention_report
from kseq2seq.visualize.trace import DecodingTrace, trace_decoding

__all__ = [
    "AttentionPlotCallback",
    "DecodingTrace",
    "alignment_error_rate",
    "attention_alignment",
    "attention_report",
    "attention_results",
    "decoding_animation",
    "plot_attention",
    "plot_attention_for",
    "plot_attention_grid",
    "plot_hidden_states",
    "trace_decoding",
    "translator_aer",
]
