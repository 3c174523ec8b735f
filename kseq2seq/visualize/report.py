"""A self-contained HTML report of translations and their attention.

One file, no server, no network: the styles and the small hover script are inline, every
heatmap is an HTML table whose cells carry their weight in a `title` attribute (the browser's
tooltip) and a `data-weight` attribute.
"""

from __future__ import annotations

import html
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from kseq2seq.atomic import atomic_write
from kseq2seq.special_tokens import BOS_ID, EOS_ID, PAD_ID, UNK_ID
from kseq2seq.text.inputs import text_list

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

# Hover: highlight the row and column headers of the cell under the pointer and print its
# weight under the table (the title attribute gives the same as a tooltip).
_SCRIPT = """
(function () {
  "use strict";
  var tables = document.querySelectorAll("table.attention");
  Array.prototype.forEach.call(tables, function (table) {
    var readout = document.getElementById(table.getAttribute("data-readout"));
    var active = [];
    function clear() {
      active.forEach(function (cell) { cell.classList.remove("active"); });
      active = [];
    }
    table.addEventListener("mouseover", function (event) {
      var cell = event.target.closest("td");
      if (!cell || !table.contains(cell)) { return; }
      clear();
      var row = cell.parentNode;
      var column = Array.prototype.indexOf.call(row.cells, cell);
      var rowHeader = row.cells[0];
      var columnHeader = table.tHead.rows[0].cells[column];
      [rowHeader, columnHeader].forEach(function (header) {
        if (header) { header.classList.add("active"); active.push(header); }
      });
      if (readout) { readout.textContent = cell.getAttribute("title"); }
    });
    table.addEventListener("mouseleave", function () {
      clear();
      if (readout) { readout.textContent = ""; }
    });
  });
  // Lets a headless check see that the script ran to the end.
  document.documentElement.setAttribute("data-report-ready", "1");
})();
"""


def _colour(value: float, colormap) -> tuple[str, str]:
    """Background hex colour of a weight in [0, 1] and a readable text colour on it."""
    from matplotlib.colors import to_hex

    red, green, blue, _ = colormap(float(np.clip(value, 0.0, 1.0)))
    luminance = 0.2126 * red + 0.7152 * green + 0.0722 * blue
    return to_hex((red, green, blue)), "#000" if luminance > 0.5 else "#fff"


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _results_from_details(translator, sources: list[str], details: dict) -> list[dict]:
    """`Translator.attention()`-style dicts from `translate_with_details` (no second decode)."""
    vocabulary_in = translator.source_tokenizer.vocabulary
    vocabulary_out = translator.target_tokenizer.vocabulary
    results = []
    for index in range(len(sources)):
        source_row = [int(i) for i in details["source_ids"][index] if i != PAD_ID]
        target_row = []
        for token in details["tokens"][index]:
            if token == PAD_ID:
                break
            target_row.append(int(token))
            if token == EOS_ID:
                break
        weights = np.asarray(details["attention"][index], dtype="float32")
        results.append(
            {
                "source_tokens": [vocabulary_in[i] for i in source_row],
                "target_tokens": [vocabulary_out[i] for i in target_row],
                "weights": weights[: len(target_row), : len(source_row)],
                "translation": details["translations"][index],
                "score": float(details["scores"][index]),
            }
        )
    return results


def _forced_scores(translator, sources: list[str], results: list[dict]) -> list[float]:
    """Sum of log-probabilities of each result's target tokens, teacher-forced."""
    lookup = {token: i for i, token in enumerate(translator.target_tokenizer.vocabulary)}
    rows = [[lookup.get(token, UNK_ID) for token in r["target_tokens"]] for r in results]
    width = max([len(row) for row in rows] + [1])
    target_out = np.full((len(rows), width), PAD_ID, dtype="int32")
    target_in = np.full((len(rows), width), PAD_ID, dtype="int32")
    for index, row in enumerate(rows):
        target_out[index, : len(row)] = row
        target_in[index, : len(row)] = [BOS_ID] + row[:-1]
    logits = translator.model.predict(
        {"source": translator.encode_sources(sources), "target_in": target_in}, verbose=0
    ).astype("float64")  # B x T x V
    peak = logits.max(axis=-1, keepdims=True)
    log_probs = logits - peak - np.log(np.exp(logits - peak).sum(axis=-1, keepdims=True))
    chosen = np.take_along_axis(log_probs, target_out[..., None], axis=-1)[..., 0]
    return [float(value) for value in (chosen * (target_out != PAD_ID)).sum(axis=1)]


def attention_table(
    weights,
    source_tokens: Sequence[str],
    target_tokens: Sequence[str],
    readout_id: str = "",
    decimals: int = 4,
    colormap: str = "viridis",
) -> str:
    """One heatmap as an HTML table: a row per target token, a column per source token.

    Each cell's `title` reads "target ← source: weight" with `decimals`
    decimals; `data-weight` holds the same number.
    """
    import matplotlib

    weights = np.asarray(weights, dtype="float32")
    if weights.shape != (len(target_tokens), len(source_tokens)):
        raise ValueError(
            f"weights are {weights.shape} but there are {len(target_tokens)} target and "
            f"{len(source_tokens)} source tokens"
        )
    cmap = matplotlib.colormaps[colormap]
    lines = [f'<table class="attention" data-readout="{_e(readout_id)}">', "<thead><tr><th></th>"]
    lines += [f'<th class="source" scope="col">{_e(token)}</th>' for token in source_tokens]
    lines.append("</tr></thead><tbody>")
    for row, target in enumerate(target_tokens):
        cells = [f'<tr><th class="target" scope="row">{_e(target)}</th>']
        for column, source in enumerate(source_tokens):
            value = float(weights[row, column])
            number = f"{value:.{decimals}f}"
            background, foreground = _colour(value, cmap)
            shown = f"{value:.2f}".lstrip("0") if value < 1 else "1"
            cells.append(
                f'<td title="{_e(target)} ← {_e(source)}: {number}" data-weight="{number}" '
                f'style="background:{background};color:{foreground}">{_e(shown)}</td>'
            )
        cells.append("</tr>")
        lines.append("".join(cells))
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

    Per sentence: the source, the translation (the model's greedy one, or
    the given target, teacher-forced), its score (the sum of the tokens'
    log-probabilities) and the attention weights as a table coloured with
    viridis over [0, 1]; hovering a cell shows "target ← source: weight"
    (its `title` attribute, `decimals` decimals). Styles and the hover
    script are inline: the file opens from disk with no server and no
    network. All text is HTML-escaped.

    Args:
        translator: a `kseq2seq.Translator`.
        sources: the source sentences (or one string).
        path: the HTML file to write (atomically).
        targets: targets to teacher-force, one per source.
        title: the page title.
        decimals: decimals of the weights in the tooltips.

    Returns:
        The path written.
    """
    from matplotlib.colors import to_hex

    sources = text_list(sources, "sources")
    if not sources:
        raise ValueError("sources is empty: there is nothing to report")
    if isinstance(decimals, bool) or not isinstance(decimals, int) or not 0 <= decimals <= 8:
        raise ValueError(f"decimals must be an integer from 0 to 8. Received: {decimals!r}")
    if targets is None:
        results = _results_from_details(
            translator, sources, translator.translate_with_details(sources)
        )
        score_note = "log-probability of the greedy translation"
    else:
        targets = text_list(targets, "targets")
        results = translator.attention(sources, targets)
        for result, score in zip(results, _forced_scores(translator, sources, results)):
            result["score"] = score
        score_note = "log-probability of the given target, teacher-forced"

    import matplotlib

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
    for index, (source, result) in enumerate(zip(sources, results), start=1):
        label = "target (teacher-forced)" if targets is not None else "translation"
        parts += [
            f'<section class="sentence" id="sentence-{index}">',
            f"<h2>Sentence {index}</h2>",
            "<dl>",
            f"<dt>source</dt><dd>{_e(source)}</dd>",
            f"<dt>{label}</dt><dd>{_e(result['translation'])}</dd>",
            f"<dt>score</dt><dd>{result['score']:.4f} ({score_note})</dd>",
            "</dl>",
        ]
        if result["weights"].size:
            readout = f"readout-{index}"
            parts += [
                '<div class="scroll">',
                attention_table(
                    result["weights"],
                    result["source_tokens"],
                    result["target_tokens"],
                    readout_id=readout,
                    decimals=decimals,
                ),
                "</div>",
                f'<p class="readout" id="{readout}" aria-live="polite"></p>',
            ]
        else:
            parts.append("<p>(no source tokens: no attention to show)</p>")
        parts.append("</section>")
    parts += [f"<script>{_SCRIPT}</script>", "</body></html>", ""]
    document = "\n".join(parts)
    return atomic_write(path, document)
