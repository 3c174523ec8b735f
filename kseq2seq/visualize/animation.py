"""The decoding animation: one GIF frame per output word, as the article animates it.

Each frame shows the encoder hidden states (one row of coloured cells per source token, one cell
per hidden unit), the attention weights over them (a bar per row; the most attended row boxed),
the context vector C_t (their weighted sum), the decoder's hidden state h_t, and the words
chosen so far with the newest one highlighted.
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import numpy as np

from kseq2seq.atomic import atomic_write
from kseq2seq.visualize._common import figure_to_rgb, pyplot
from kseq2seq.visualize.trace import DecodingTrace, trace_decoding


def _value_limit(trace: DecodingTrace) -> float:
    """One symmetric colour range for every vector of every frame, so colours compare."""
    values = [trace.memory, trace.contexts, trace.decoder_states, trace.initial_state]
    return max(1e-6, max(float(np.abs(v).max(initial=0.0)) for v in values))


def _frame_figure(trace: DecodingTrace, cmap: str, dpi: int):
    """Builds the figure of frame 0; returns (figure, update(step) -> None)."""
    from matplotlib.patches import Rectangle

    plt = pyplot()
    source_count, units = trace.memory.shape
    limit = _value_limit(trace)
    wrap = 95  # characters per header line at 10 pt across 10 in
    source_lines = textwrap.wrap("source: " + " ".join(trace.source_tokens), wrap) or [""]
    most_output = len(
        textwrap.wrap("output so far: " + " ".join(trace.target_tokens) + " []", wrap)
    )
    header = 0.3 + 0.22 * (len(source_lines) + 1 + most_output)  # inches of text on top
    memory_height = max(1.2, 0.32 * source_count)
    figure = plt.figure(figsize=(10, header + memory_height + 2.6), dpi=dpi)
    inches = figure.get_figheight()
    grid = figure.add_gridspec(
        3,
        2,
        height_ratios=[memory_height, 0.5, 0.5],
        width_ratios=[4.2, 1.0],
        left=0.14,
        right=0.97,
        top=1 - (header + 0.15) / inches,
        bottom=0.2 / inches,
        hspace=0.6,
        wspace=0.06,
    )
    style = dict(cmap=cmap, vmin=-limit, vmax=limit, aspect="auto", interpolation="nearest")

    ax_memory = figure.add_subplot(grid[0, 0])
    ax_memory.imshow(trace.memory, **style)
    ax_memory.set_yticks(range(source_count))
    ax_memory.set_yticklabels(trace.source_tokens, fontsize=9 if source_count <= 30 else 6)
    ax_memory.set_xticks([])
    ax_memory.set_xlabel(f"encoder hidden states ({units} units per source word)", fontsize=9)
    highlight = Rectangle(
        (-0.5, -0.5), units, 1, fill=False, edgecolor="black", linewidth=2.5, zorder=3
    )
    ax_memory.add_patch(highlight)

    ax_bars = figure.add_subplot(grid[0, 1], sharey=ax_memory)
    bars = ax_bars.barh(range(source_count), np.zeros(source_count), color="#f28e2b", height=0.7)
    ax_bars.set_xlim(0, 1)
    ax_bars.set_xticks([0, 0.5, 1])
    ax_bars.tick_params(axis="x", labelsize=8)
    ax_bars.tick_params(axis="y", left=False, labelleft=False)
    ax_bars.set_xlabel("attention weight", fontsize=9)
    labels = [
        ax_bars.text(1.0, row, "", va="center", ha="right", fontsize=7)
        for row in range(source_count)
    ]

    ax_context = figure.add_subplot(grid[1, 0])
    context_image = ax_context.imshow(trace.contexts[:1], **style)
    ax_context.set_xticks([])
    ax_context.set_yticks([])
    context_title = (
        "context vector C_t = Σ weight × encoder state"
        if not np.allclose(trace.weights, 0)
        else "context (no attention: the encoder's final state)"
    )
    ax_context.set_title(context_title, fontsize=9, loc="left")

    ax_decoder = figure.add_subplot(grid[2, 0])
    decoder_image = ax_decoder.imshow(trace.decoder_states[:1], **style)
    ax_decoder.set_xticks([])
    ax_decoder.set_yticks([])
    ax_decoder.set_title("decoder hidden state h_t (top layer)", fontsize=9, loc="left")

    colorbar_axes = figure.add_subplot(grid[1:, 1])
    colorbar_axes.axis("off")
    figure.colorbar(
        ax_memory.images[0], ax=colorbar_axes, orientation="horizontal", fraction=0.5, pad=0.0
    ).set_label("cell value", fontsize=8)

    top = 1 - 0.15 / inches
    figure.text(0.02, top, "\n".join(source_lines), fontsize=10, va="top", color="#444")
    step_y = top - 0.22 * len(source_lines) / inches
    step_text = figure.text(0.02, step_y, "", fontsize=11, va="top", weight="bold")
    words_text = figure.text(0.02, step_y - 0.24 / inches, "", fontsize=10, va="top")

    def update(step: int) -> None:
        weights = trace.weights[step]
        for bar, label, weight in zip(bars, labels, weights):
            bar.set_width(float(weight))
            label.set_text(f"{weight:.2f}")
        best = int(np.argmax(weights)) if weights.size else 0
        highlight.set_y(best - 0.5)
        highlight.set_visible(bool(weights.size) and float(weights.max(initial=0.0)) > 0)
        context_image.set_data(trace.contexts[step : step + 1])
        decoder_image.set_data(trace.decoder_states[step : step + 1])
        chosen = trace.target_tokens[step]
        verb = "fed" if trace.forced else "chose"
        step_text.set_text(
            f"step {step + 1}/{trace.num_steps}: {verb} '{chosen}' "
            f"(p = {trace.probabilities[step]:.2f})"
        )
        so_far = " ".join([*trace.target_tokens[:step], f"[{chosen}]"])
        words_text.set_text("\n".join(textwrap.wrap(f"output so far: {so_far}", wrap)))

    return figure, update


def decoding_animation(
    translator,
    source: str,
    path: str | os.PathLike,
    target: str | None = None,
    max_steps: int | None = None,
    duration_ms: int = 1000,
    dpi: int = 80,
    cmap: str = "RdBu_r",
) -> int:
    """Writes a GIF with one frame per decoding step of `source`.

    The decoder runs step by step through `InferencePieces` (greedy argmax,
    until `</s>` or `max_steps`; or feeding `target` when given). Frame t
    shows the encoder hidden states as rows of coloured cells (red positive,
    blue negative), the attention weights of step t as a bar per row with
    the most attended row boxed, the context vector, the decoder state and
    the words so far with the word of step t in brackets.

    Args:
        translator: a `kseq2seq.Translator`.
        source: the sentence to translate.
        path: the GIF file to write (atomically).
        target: teacher-force this target instead of decoding greedily.
        max_steps: the most decoding steps (frames).
        duration_ms: how long each frame shows.
        dpi: resolution of the frames.
        cmap: a diverging colour map for the cell values.

    Returns:
        The number of frames, which is the number of produced tokens
        (`</s>` included).
    """
    from PIL import Image

    if Path(path).suffix.lower() != ".gif":
        raise ValueError(f"path must end with .gif. Received: {str(path)!r}")
    if isinstance(duration_ms, bool) or not isinstance(duration_ms, int) or duration_ms < 1:
        raise ValueError(f"duration_ms must be a positive integer. Received: {duration_ms!r}")
    trace = trace_decoding(translator, source, target=target, max_steps=max_steps)
    plt = pyplot()
    figure, update = _frame_figure(trace, cmap, dpi)
    frames = []
    try:
        for step in range(trace.num_steps):
            update(step)
            frames.append(Image.fromarray(figure_to_rgb(figure)).quantize(colors=255))
    finally:
        plt.close(figure)

    def write(temporary):
        frames[0].save(
            temporary,
            format="GIF",
            save_all=True,
            append_images=frames[1:],
            duration=duration_ms,
            loop=0,
            disposal=1,
        )

    atomic_write(path, write)
    return len(frames)
