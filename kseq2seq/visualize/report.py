"""A self-contained HTML report of translations and their attention: one file with inline
styles and script, every heatmap a table whose cells carry their weight as a tooltip."""

from __future__ import annotations

import html
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from keras import ops

from kseq2seq.atomic import atomic_write
from kseq2seq.checks import check_number
from kseq2seq.samplers.texts import attention_results
from kseq2seq.text.inputs import text_list
from kseq2seq.visualize._common import check_attention

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.1em; margin-top: 2em; }
.meta { color: #555; font-size: 0.9em; }
dl { display: grid; grid-template-columns: max-content auto; gap: 0.2em 1em; }
dt { font-weight: bold; } dd { margin: 0; }
.scroll { overflow-x: auto; }
table.attention { border-collapse: collapse; font-size: 0.85em; }
table.attention td { width: 2.2em; height: 1.6em; text-align: center; font-size: 0.7em;
  border: 1px solid #fff; cursor: default; }
table.attention th { font-weight: normal; padding: 2px 4px; }
table.attention th.source { writing-mode: vertical-rl; transform: rotate(180deg);
  text-align: left; vertical-align: bottom; white-space: nowrap; }
table.attention th.target { text-align: right; white-space: nowrap; }
table.attention th.active { background: #ffd54f; }
table.attention td:hover { outline: 2px solid #e53935; }
.readout { min-height: 1.3em; font-family: monospace; }
.legend { display: inline-block; width: 12em; height: 0.8em; vertical-align: middle;
  background: linear-gradient(to right, GRADIENT); }
"""

# Hover: highlight the headers of the cell under the pointer and print its title under the table.
_SCRIPT = """
document.querySelectorAll("table.attention").forEach(function (table) {
  var readout = document.getElementById(table.getAttribute("data-readout"));
  var active = [];
  function show(cell) {
    active.forEach(function (header) { header.classList.remove("active"); });
    active = cell ? [cell.parentNode.cells[0], table.tHead.rows[0].cells[cell.cellIndex]] : [];
    active.forEach(function (header) { header.classList.add("active"); });
    if (readout) { readout.textContent = cell ? cell.title : ""; }
  }
  table.addEventListener("mouseover", function (event) {
    var cell = event.target.closest("td");
    if (cell) { show(cell); }
  });
  table.addEventListener("mouseleave", function () { show(null); });
});
// Lets a headless check see that the script ran to the end.
document.documentElement.setAttribute("data-report-ready", "1");
"""


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _forced_scores(translator, sources: list[str], targets: list[str]) -> np.ndarray:
    """Sum of the log-probabilities of each target's tokens, teacher-forced."""
    inputs, target_out, weights = translator.preprocessor(sources, targets)
    inputs = {key: value.numpy() for key, value in inputs.items()}
    logits = translator.model.predict(inputs, verbose=0).astype("float64")  # B x T x V
    log_probs = ops.convert_to_numpy(ops.log_softmax(logits))
    chosen = np.take_along_axis(log_probs, target_out.numpy()[..., None], axis=-1)[..., 0]
    return (chosen * weights.numpy()).sum(axis=1)


def attention_table(
    weights,
    source_tokens: Sequence[str],
    target_tokens: Sequence[str],
    readout_id: str = "",
    decimals: int = 4,
    colormap: str = "viridis",
) -> str:
    """One heatmap as an HTML table: a row per target token, a column per source token.

    Each cell's `title` reads "target ← source: weight" with `decimals` decimals;
    `data-weight` holds the same number.
    """
    import matplotlib
    from matplotlib.colors import to_hex

    weights, source_tokens, target_tokens = check_attention(weights, source_tokens, target_tokens)
    cmap = matplotlib.colormaps[colormap]
    lines = [f'<table class="attention" data-readout="{_e(readout_id)}">', "<thead><tr><th></th>"]
    lines += [f'<th class="source" scope="col">{_e(token)}</th>' for token in source_tokens]
    lines.append("</tr></thead><tbody>")
    for target, row in zip(target_tokens, weights):
        cells = [f'<tr><th class="target" scope="row">{_e(target)}</th>']
        for source, value in zip(source_tokens, row.tolist()):
            number = f"{value:.{decimals}f}"
            red, green, blue, _ = cmap(float(np.clip(value, 0.0, 1.0)))
            # Dark text on light cells, light text on dark ones.
            text = "#000" if 0.2126 * red + 0.7152 * green + 0.0722 * blue > 0.5 else "#fff"
            shown = f"{value:.2f}".lstrip("0") if value < 1 else "1"
            cells.append(
                f'<td title="{_e(target)} ← {_e(source)}: {number}" data-weight="{number}" '
                f'style="background:{to_hex((red, green, blue))};color:{text}">{_e(shown)}</td>'
            )
        lines.append("".join(cells) + "</tr>")
    lines.append("</tbody></table>")
    return "\n".join(lines)


def attention_report(
    translator,
    sources: Sequence[str] | str,
    path: str | os.PathLike,
    targets: Sequence[str] | str | None = None,
    title: str = "kseq2seq attention report",
    decimals: int = 4,
) -> Path:
    """Writes one self-contained HTML file of translations and attention heatmaps.

    Per sentence: the source, the translation (the model's greedy one, or the given target,
    teacher-forced), its score (the sum of the tokens' log-probabilities) and the attention
    weights as a table coloured with viridis over [0, 1]; hovering a cell shows
    "target ← source: weight" with `decimals` (0 to 8) decimals. Returns `path`.
    """
    import matplotlib
    from matplotlib.colors import to_hex

    sources = text_list(sources, "sources")
    if not sources:
        raise ValueError("sources is empty: there is nothing to report")
    check_number("decimals", decimals, low=0, high=8, integer=True)
    if targets is None:
        details = translator.translate_with_details(sources)
        results = attention_results(
            details["source_ids"],
            details["tokens"],
            details["attention"],
            details["translations"],
            source_vocabulary=translator.source_tokenizer.vocabulary,
            target_vocabulary=translator.target_tokenizer.vocabulary,
        )
        scores = details["scores"]
        label, score_note = "translation", "log-probability of the greedy translation"
    else:
        targets = text_list(targets, "targets")
        results = translator.attention(sources, targets)
        scores = _forced_scores(translator, sources, targets)
        label = "target (teacher-forced)"
        score_note = "log-probability of the given target, teacher-forced"

    viridis = matplotlib.colormaps["viridis"]
    gradient = ", ".join(to_hex(viridis(x)) for x in np.linspace(0, 1, 9))
    config = translator.config
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title>",
        f"<style>{_STYLE.replace('GRADIENT', gradient)}</style>",
        "</head><body>",
        f"<h1>{_e(title)}</h1>",
        f'<p class="meta">attention={_e(config.attention)}, cell={_e(config.cell)}, '
        f"units={config.units}, layers={config.num_layers}; {len(sources)} sentences. "
        f'Weights: 0 <span class="legend"></span> 1. Hover a cell for its weight.</p>',
    ]
    for index, (source, result, score) in enumerate(zip(sources, results, scores), start=1):
        parts += [
            f'<section class="sentence" id="sentence-{index}">',
            f"<h2>Sentence {index}</h2>",
            "<dl>",
            f"<dt>source</dt><dd>{_e(source)}</dd>",
            f"<dt>{label}</dt><dd>{_e(result['translation'])}</dd>",
            f"<dt>score</dt><dd>{float(score):.4f} ({score_note})</dd>",
            "</dl>",
        ]
        if result["weights"].size:
            readout = f"readout-{index}"
            table = attention_table(
                result["weights"],
                result["source_tokens"],
                result["target_tokens"],
                readout_id=readout,
                decimals=decimals,
            )
            parts += [
                f'<div class="scroll">{table}</div>',
                f'<p class="readout" id="{readout}" aria-live="polite"></p>',
            ]
        else:
            parts.append("<p>(no source tokens: no attention to show)</p>")
        parts.append("</section>")
    parts += [f"<script>{_SCRIPT}</script>", "</body></html>", ""]
    return atomic_write(path, "\n".join(parts))
