"""Hidden states and context vectors as strips of coloured cells.

The article's "the context is a vector of floats" picture: every vector is a row of cells, one
cell per hidden unit, its colour the value (red positive, blue negative, white zero).
"""

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

    Three panels, rows of coloured cells sharing one colour scale:
    1. the encoder hidden states, one strip per source token, labelled with it;
    2. the decoder's initial state: the encoder's final state (after the
       bridge), the only context the plain encoder-decoder gets;
    3. with attention, the context vector C_t of each decoding step,
       labelled with the word produced at that step.

    Args:
        translator: a `kseq2seq.Translator`.
        source: the sentence.
        path: where to save the picture; None to only return the figure.
        target: teacher-force this target instead of the greedy translation.
        cmap: a diverging colour map.
        annotate: write each value in its cell; by default when there are
            at most 16 units.
        dpi: resolution of the saved picture.

    Returns:
        The matplotlib `Figure`; `figure.axes[0]` holds the encoder strips
        (its y tick labels are the source tokens), `figure.axes[1]` the final
        state and `figure.axes[2]`, with attention, the context vectors.
    """
    trace = trace_decoding(translator, source, target=target)
    source_count, units = trace.memory.shape
    with_attention = translator.config.attention is not None
    if annotate is None:
        annotate = units <= 16
    limit = max(
        1e-6,
        float(np.abs(trace.memory).max()),
        float(np.abs(trace.initial_state).max(initial=0.0)),
        float(np.abs(trace.contexts).max()),
    )
    panels = [
        ("encoder hidden states: one per source word", trace.memory, trace.source_tokens),
        (
            "final encoder state → decoder's initial state (the context without attention)",
            trace.initial_state[None],
            ["final state"],
        ),
    ]
    if with_attention:
        labels = [f"C_{t + 1} → {token}" for t, token in enumerate(trace.target_tokens)]
        panels.append(
            ("context vectors C_t (attention-weighted encoder states)", trace.contexts, labels)
        )

    plt = pyplot()
    row_inches = 0.32
    heights = [max(0.5, row_inches * len(panel[2])) for panel in panels]
    width = min(30.0, max(8.0, 2.5 + 0.22 * units))
    figure, axes = plt.subplots(
        len(panels),
        1,
        figsize=(width, sum(heights) + 0.75 * len(panels) + 1.0),
        gridspec_kw={"height_ratios": heights},
        squeeze=False,
        layout="constrained",
    )
    axes = axes[:, 0]
    image = None
    for ax, (title, values, labels) in zip(axes, panels):
        image = ax.imshow(
            values, cmap=cmap, vmin=-limit, vmax=limit, aspect="auto", interpolation="nearest"
        )
        ax.set_yticks(range(len(labels)))
        ax.set_yticklabels(labels, fontsize=9 if len(labels) <= 30 else 6)
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
    if path is not None:
        save_figure(figure, path, dpi=dpi)
        plt.close(figure)
    return figure
