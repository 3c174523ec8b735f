"""The alignment heatmap: source tokens across, output tokens down."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np


def plot_attention(
    weights,
    source_tokens: Sequence[str],
    target_tokens: Sequence[str],
    path: str | os.PathLike | None = None,
    title: str | None = None,
    ax=None,
    cmap: str = "viridis",
):
    """Draws attention weights (T, S) as a heatmap, like the article's figure.

    Args:
        weights: array (T, S): row t is the attention while producing
            target token t over the S source tokens.
        source_tokens: the S column labels.
        target_tokens: the T row labels.
        path: where to save the picture (PNG, SVG, PDF by suffix); None to
            only return the figure.
        title: an optional title.
        ax: an existing matplotlib axes to draw into.
        cmap: a matplotlib colour map; brighter is more weight.

    Returns:
        The matplotlib `Figure`.
    """
    import matplotlib

    if ax is None:
        matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    weights = np.asarray(weights, dtype="float32")
    if weights.ndim != 2:
        raise ValueError(f"weights must be 2-D (target x source). Received shape {weights.shape}")
    rows, columns = weights.shape
    if len(source_tokens) != columns or len(target_tokens) != rows:
        raise ValueError(
            f"weights are {rows} x {columns} but there are {len(target_tokens)} target and "
            f"{len(source_tokens)} source tokens"
        )
    if ax is None:
        width = min(2.0 + 0.45 * columns, 30)
        height = min(1.5 + 0.4 * rows, 30)
        figure, ax = plt.subplots(figsize=(width, height))
    else:
        figure = ax.figure
    image = ax.imshow(weights, cmap=cmap, vmin=0.0, vmax=max(1e-6, float(weights.max())))
    ax.set_xticks(range(columns))
    ax.set_yticks(range(rows))
    rotation = 90 if columns > 8 or max((len(t) for t in source_tokens), default=0) > 6 else 45
    ax.set_xticklabels(
        list(source_tokens), rotation=rotation, ha="center" if rotation == 90 else "left"
    )
    ax.set_yticklabels(list(target_tokens))
    ax.xaxis.tick_top()
    ax.set_xlabel("source")
    ax.xaxis.set_label_position("top")
    ax.set_ylabel("output")
    if title:
        ax.set_title(title, pad=30)
    figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    figure.tight_layout()
    if path is not None:
        figure.savefig(path, dpi=100)
        plt.close(figure)
    return figure
