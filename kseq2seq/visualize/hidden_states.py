"""The article's "the context is a vector of floats" picture: every vector a row of cells, one
per hidden unit, coloured by its value (red positive, blue negative, white zero)."""

from __future__ import annotations

import os

import numpy as np

from kseq2seq.visualize._common import pyplot, save_figure
from kseq2seq.visualize.trace import trace_decoding


def plot_hidden_states(
    translator,
    source: str,
    path: str | os.PathLike | None = None,
    target: str | None = None,
    cmap: str = "RdBu_r",
    annotate: bool | None = None,
    dpi: int = 100,
):
    """Draws the encoder hidden states and the context vectors of one sentence.

    Returns a figure of strips sharing one colour scale: `figure.axes[0]` the encoder hidden
    states, one per source token; `figure.axes[1]` the decoder's initial state (the encoder's
    final state after the bridge: the plain encoder-decoder's only context); with attention,
    `figure.axes[2]` the context vector of each step, labelled with the word it produced. It is
    saved to `path` when given. `annotate` writes each value in its cell (by default when
    there are at most 16 units); `target` is teacher-forced instead of the greedy translation.
    """
    trace = trace_decoding(translator, source, target=target)
    units = trace.memory.shape[1]
    annotate = units <= 16 if annotate is None else annotate
    panels = [
        ("encoder hidden states: one per source word", trace.memory, trace.source_tokens),
        (
            "final encoder state → decoder's initial state (the context without attention)",
            trace.initial_state[None],
            ["final state"],
        ),
    ]
    if translator.config.attention is not None:
        labels = [f"C_{t + 1} → {token}" for t, token in enumerate(trace.target_tokens)]
        panels.append(
            ("context vectors C_t (attention-weighted encoder states)", trace.contexts, labels)
        )
    limit = max(1e-6, *(float(np.abs(values).max()) for _, values, _ in panels))
    heights = [max(0.5, 0.32 * len(labels)) for _, _, labels in panels]
    figure, axes = pyplot().subplots(
        len(panels),
        figsize=(min(30.0, max(8.0, 2.5 + 0.22 * units)), sum(heights) + 0.75 * len(panels) + 1),
        gridspec_kw={"height_ratios": heights},
        layout="constrained",
    )
    for ax, (title, values, labels) in zip(axes, panels):
        image = ax.imshow(
            values, cmap=cmap, vmin=-limit, vmax=limit, aspect="auto", interpolation="nearest"
        )
        ax.set_yticks(range(len(labels)), labels=labels, fontsize=9 if len(labels) <= 30 else 6)
        # White lines between the cells.
        ax.set_xticks(np.arange(-0.5, units, 1), minor=True)
        ax.set_yticks(np.arange(-0.5, len(labels), 1), minor=True)
        ax.grid(which="minor", color="white", linewidth=0.6)
        ax.tick_params(which="minor", length=0)
        ax.set_xticks([])
        ax.set_title(title, fontsize=10, loc="left")
        if annotate:
            for (row, column), value in np.ndenumerate(values):
                ax.text(column, row, f"{value:.2f}", ha="center", va="center", fontsize=6)
    axes[-1].set_xlabel(f"hidden units ({units})")
    figure.colorbar(image, ax=list(axes), fraction=0.02, pad=0.01).set_label("value")
    figure.suptitle(f"{source} → {' '.join(trace.target_tokens)}", fontsize=10)
    return save_figure(figure, path, dpi=dpi)
