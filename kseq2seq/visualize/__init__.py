"""Pictures of a trained model's attention."""

from kseq2seq.visualize.heatmap import plot_attention

__all__ = ["plot_attention"]
