"""The decoding animation: one GIF frame per output word, as the article animates it."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import numpy as np

from kseq2seq.atomic import atomic_write
from kseq2seq.checks import check_int
from kseq2seq.visualize._common import pyplot
from kseq2seq.visualize.trace import DecodingTrace, trace_decoding


def _frames(trace: DecodingTrace, cmap: str, dpi: int):
    """Yields one PIL image per decoding step."""
    from matplotlib.patches import Rectangle
    from PIL import Image

    plt = pyplot()
    source_count, units = trace.memory.shape
    # One colour range for every vector of every frame, so that colours compare.
    vectors = (trace.memory, trace.contexts, trace.decoder_states, trace.initial_state)
    limit = max(1e-6, *(float(np.abs(v).max(initial=0.0)) for v in vectors))
    wrap = 95  # characters per header line at 10 pt across 10 in
    source_lines = textwrap.wrap("source: " + " ".join(trace.source_tokens), wrap) or [""]
    output_lines = len(textwrap.wrap(f"output so far: {' '.join(trace.target_tokens)} []", wrap))
    header = 0.3 + 0.22 * (len(source_lines) + 1 + output_lines)  # inches of text on top
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
    memory_image = ax_memory.imshow(trace.memory, **style)
    ax_memory.set_yticks(
        range(source_count), labels=trace.source_tokens, fontsize=9 if source_count <= 30 else 6
    )
    ax_memory.set_xticks([])
    ax_memory.set_xlabel(f"encoder hidden states ({units} units per source word)", fontsize=9)
    highlight = ax_memory.add_patch(
        Rectangle((-0.5, -0.5), units, 1, fill=False, edgecolor="black", linewidth=2.5, zorder=3)
    )

    ax_bars = figure.add_subplot(grid[0, 1], sharey=ax_memory)
    bars = ax_bars.barh(range(source_count), np.zeros(source_count), color="#f28e2b", height=0.7)
    ax_bars.set(xlim=(0, 1), xticks=[0, 0.5, 1])
    ax_bars.tick_params(axis="x", labelsize=8)
    ax_bars.tick_params(axis="y", left=False, labelleft=False)
    ax_bars.set_xlabel("attention weight", fontsize=9)
    labels = [
        ax_bars.text(1.0, row, "", va="center", ha="right", fontsize=7)
        for row in range(source_count)
    ]

    if np.allclose(trace.weights, 0):
        context_title = "context (no attention: the encoder's final state)"
    else:
        context_title = "context vector C_t = Σ weight × encoder state"
    strips = []
    for row, values, title in (
        (1, trace.contexts, context_title),
        (2, trace.decoder_states, "decoder hidden state h_t (top layer)"),
    ):
        ax = figure.add_subplot(grid[row, 0])
        strips.append((ax.imshow(values[:1], **style), values))
        ax.set(xticks=[], yticks=[])
        ax.set_title(title, fontsize=9, loc="left")

    colorbar_axes = figure.add_subplot(grid[1:, 1])
    colorbar_axes.axis("off")
    figure.colorbar(
        memory_image, ax=colorbar_axes, orientation="horizontal", fraction=0.5, pad=0.0
    ).set_label("cell value", fontsize=8)

    top = 1 - 0.15 / inches
    figure.text(0.02, top, "\n".join(source_lines), fontsize=10, va="top", color="#444")
    step_y = top - 0.22 * len(source_lines) / inches
    step_text = figure.text(0.02, step_y, "", fontsize=11, va="top", weight="bold")
    words_text = figure.text(0.02, step_y - 0.24 / inches, "", fontsize=10, va="top")

    verb = "fed" if trace.forced else "chose"
    try:
        for step, (weights, chosen) in enumerate(zip(trace.weights, trace.target_tokens)):
            for bar, label, weight in zip(bars, labels, weights):
                bar.set_width(float(weight))
                label.set_text(f"{weight:.2f}")
            highlight.set_y(int(np.argmax(weights)) - 0.5)
            highlight.set_visible(float(weights.max()) > 0)
            for image, values in strips:
                image.set_data(values[step : step + 1])
            step_text.set_text(
                f"step {step + 1}/{trace.num_steps}: {verb} '{chosen}' "
                f"(p = {trace.probabilities[step]:.2f})"
            )
            so_far = " ".join([*trace.target_tokens[:step], f"[{chosen}]"])
            words_text.set_text("\n".join(textwrap.wrap(f"output so far: {so_far}", wrap)))
            figure.canvas.draw()
            pixels = np.asarray(figure.canvas.buffer_rgba())[..., :3]
            yield Image.fromarray(pixels).quantize(colors=255)
    finally:
        plt.close(figure)


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
    """Writes a GIF with one frame per decoding step of `source` (`trace_decoding`, with
    `target` and `max_steps`); returns the number of frames (`</s>` included).

    Frame t shows the encoder hidden states as rows of coloured cells (one per source token,
    one cell per unit; `cmap`, red positive and blue negative by default), the attention
    weights of step t as a bar per row with the most attended row boxed, the context vector,
    the decoder state, and the words so far with the word of step t in brackets.
    """
    if Path(path).suffix.lower() != ".gif":
        raise ValueError(f"path must end with .gif. Received: {str(path)!r}")
    check_int("duration_ms", duration_ms)
    trace = trace_decoding(translator, source, target=target, max_steps=max_steps)
    frames = list(_frames(trace, cmap, dpi))
    gif = dict(format="GIF", save_all=True, append_images=frames[1:], loop=0, disposal=1)
    atomic_write(path, lambda temporary: frames[0].save(temporary, duration=duration_ms, **gif))
    return len(frames)
