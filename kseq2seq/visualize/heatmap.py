"""The alignment heatmap: source tokens across, output tokens down.

`plot_attention` draws one matrix of attention weights (the article's "European Economic Area"
picture); it takes the weights with their tokens, a `Translator.attention()` result, or the
outputs of the exported SavedModel. `plot_attention_for` translates a sentence first;
`plot_attention_grid` draws several sentences in one figure.
"""

from __future__ import annotations

import math
import os
import textwrap
from collections.abc import Mapping, Sequence

import numpy as np

from kseq2seq.checks import check_int
from kseq2seq.visualize._common import as_strings, check_tokens, pyplot, save_figure

# Figures never grow past this many inches a side; long sentences get smaller labels instead.
MAX_INCHES = 30.0


def attention_results(results) -> list[dict]:
    """Normalises attention results of any supported form to a list of dicts.

    Accepts a `Translator.attention()` dict (`weights`, `source_tokens`,
    `target_tokens`), a list of them, or the outputs of the exported
    SavedModel: a mapping with `attention` (B, T, S) and the token strings
    `source_tokens` (B, S) and `target_tokens` (or, from `serving_default`,
    `tokens`) (B, T), as tensors or arrays of bytes, right-padded with "".
    Padding is stripped and the weights are cut to the tokens.

    Returns:
        A list of dicts with `weights` float32 (T, S), `source_tokens`,
        `target_tokens` (lists of str) and, when known, `translation`.
    """
    if isinstance(results, Mapping):
        if "weights" in results:
            return [_checked_result(results, "results")]
        if "attention" in results:
            return _saved_model_results(results)
        raise ValueError(
            "results must hold 'weights' (a Translator.attention() result) or 'attention' "
            f"(SavedModel outputs). Received keys: {sorted(results)}"
        )
    if isinstance(results, (list, tuple)):
        out = []
        for index, result in enumerate(results):
            if not isinstance(result, Mapping) or "weights" not in result:
                raise TypeError(
                    f"results[{index}] must be a Translator.attention() dict with 'weights'. "
                    f"Received: {type(result).__name__}"
                )
            out.append(_checked_result(result, f"results[{index}]"))
        return out
    raise TypeError(
        "results must be a Translator.attention() dict, a list of them, or the SavedModel "
        f"outputs. Received: {type(results).__name__}"
    )


def _checked_result(result: Mapping, name: str) -> dict:
    weights = np.asarray(result["weights"], dtype="float32")
    source_tokens = check_tokens(f"{name}['source_tokens']", result["source_tokens"])
    target_tokens = check_tokens(f"{name}['target_tokens']", result["target_tokens"])
    _check_shape(weights, source_tokens, target_tokens)
    out = dict(result)
    out.update(weights=weights, source_tokens=source_tokens, target_tokens=target_tokens)
    return out


def _numpy(value):
    return value.numpy() if hasattr(value, "numpy") else np.asarray(value)


def _saved_model_results(outputs: Mapping) -> list[dict]:
    attention = np.asarray(_numpy(outputs["attention"]), dtype="float32")
    if attention.ndim == 2:
        attention = attention[None]
    if attention.ndim != 3:
        raise ValueError(
            f"outputs['attention'] must be (batch, target, source). Received {attention.shape}"
        )
    target_key = "target_tokens" if "target_tokens" in outputs else "tokens"
    for key in ("source_tokens", target_key):
        if key not in outputs:
            raise ValueError(f"outputs has 'attention' but no {key!r} token strings")
    source_rows = np.asarray(_numpy(outputs["source_tokens"]), dtype=object)
    target_rows = np.asarray(_numpy(outputs[target_key]), dtype=object)
    if source_rows.ndim == 1:
        source_rows, target_rows = source_rows[None], target_rows[None]
    translations = outputs.get("translation")
    if translations is not None:
        translations = as_strings_keep_empty(_numpy(translations))
    results = []
    for index in range(attention.shape[0]):
        source_tokens = as_strings(source_rows[index])
        target_tokens = as_strings(target_rows[index])
        weights = attention[index, : len(target_tokens), : len(source_tokens)]
        result = {
            "weights": weights,
            "source_tokens": source_tokens,
            "target_tokens": target_tokens,
        }
        if translations is not None:
            result["translation"] = translations[index]
        results.append(result)
    return results


def as_strings_keep_empty(values) -> list[str]:
    values = np.asarray(values, dtype=object).reshape(-1)
    return [
        bytes(v).decode("utf-8", errors="replace") if isinstance(v, (bytes, np.bytes_)) else str(v)
        for v in values
    ]


def _check_shape(weights: np.ndarray, source_tokens, target_tokens) -> None:
    if weights.ndim != 2:
        raise ValueError(f"weights must be 2-D (target x source). Received shape {weights.shape}")
    rows, columns = weights.shape
    if len(source_tokens) != columns or len(target_tokens) != rows:
        raise ValueError(
            f"weights are {rows} x {columns} but there are {len(target_tokens)} target and "
            f"{len(source_tokens)} source tokens"
        )


def _panel_inches(rows: int, columns: int) -> tuple[float, float]:
    """Width and height of one heatmap: about 0.45 in per column and 0.4 in per row."""
    return min(2.5 + 0.45 * columns, MAX_INCHES), min(2.0 + 0.4 * rows, MAX_INCHES)


def _label_size(count: int) -> float:
    """Tick label font size: 10 pt up to 30 labels, smaller beyond (never below 5 pt)."""
    return 10.0 if count <= 30 else max(5.0, 10.0 - (count - 30) / 8)


def _draw(ax, weights, source_tokens, target_tokens, title, cmap, colorbar=True):
    """Draws one heatmap into `ax`; returns the `AxesImage`."""
    rows, columns = weights.shape
    image = ax.imshow(
        weights,
        cmap=cmap,
        vmin=0.0,
        vmax=max(1e-6, float(weights.max(initial=0.0))),
        aspect="auto",
        interpolation="nearest",
    )
    ax.set_xticks(range(columns))
    ax.set_yticks(range(rows))
    longest = max((len(token) for token in source_tokens), default=0)
    rotation = 90 if columns > 8 or longest > 6 else 45
    ax.set_xticklabels(
        list(source_tokens),
        rotation=rotation,
        ha="center" if rotation == 90 else "left",
        rotation_mode="default" if rotation == 90 else "anchor",
        fontsize=_label_size(columns),
    )
    ax.set_yticklabels(list(target_tokens), fontsize=_label_size(rows))
    ax.xaxis.tick_top()
    ax.set_xlabel("source")
    ax.xaxis.set_label_position("top")
    ax.set_ylabel("output")
    if title:
        width_chars = max(30, int(ax.figure.get_figwidth() * 10))
        ax.set_title("\n".join(textwrap.wrap(str(title), width_chars)), pad=12, fontsize=10)
    if colorbar:
        ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    return image


def plot_attention(
    weights,
    source_tokens: Sequence[str] | None = None,
    target_tokens: Sequence[str] | None = None,
    path: str | os.PathLike | None = None,
    title: str | None = None,
    ax=None,
    cmap: str = "viridis",
    index: int = 0,
    dpi: int = 100,
):
    """Draws attention weights (T, S) as a heatmap, like the article's figure.

    Args:
        weights: array (T, S): row t is the attention while producing
            target token t over the S source tokens. Or, with no tokens
            given, a `Translator.attention()` result dict, a list of them, or
            the SavedModel's outputs (`attention`, `source_tokens`,
            `target_tokens`/`tokens`); `index` picks the sentence of a batch.
        source_tokens: the S column labels.
        target_tokens: the T row labels.
        path: where to save the picture (PNG, SVG, PDF by suffix); None to
            only return the figure.
        title: an optional title (for a result dict: the source → translation).
        ax: an existing matplotlib axes to draw into.
        cmap: a matplotlib colour map; brighter is more weight (viridis's
            lightness grows with the value).
        index: which sentence of a batch of results to draw.
        dpi: resolution of the saved picture.

    Returns:
        The matplotlib `Figure` (closed when saved to `path`).

    Example:
        result = translator.attention("Le chat noir mange la souris.")[0]
        plot_attention(result, path="attention.png")
    """
    if isinstance(weights, (Mapping, list, tuple)) and (
        isinstance(weights, Mapping) or (weights and isinstance(weights[0], Mapping))
    ):
        results = attention_results(weights)
        if not -len(results) <= index < len(results):
            raise ValueError(f"index={index} is out of range for {len(results)} sentences")
        result = results[index]
        if title is None and result.get("translation") is not None:
            title = f"{' '.join(result['source_tokens'])} → {result['translation']}"
        weights = result["weights"]
        source_tokens = source_tokens if source_tokens is not None else result["source_tokens"]
        target_tokens = target_tokens if target_tokens is not None else result["target_tokens"]
    if source_tokens is None or target_tokens is None:
        raise ValueError("source_tokens and target_tokens are needed with a weights array")
    source_tokens = check_tokens("source_tokens", source_tokens)
    target_tokens = check_tokens("target_tokens", target_tokens)
    weights = np.asarray(weights, dtype="float32")
    _check_shape(weights, source_tokens, target_tokens)
    plt = pyplot(headless=ax is None)
    if ax is None:
        figure, ax = plt.subplots(figsize=_panel_inches(*weights.shape))
    else:
        figure = ax.figure
    _draw(ax, weights, source_tokens, target_tokens, title, cmap)
    figure.tight_layout()
    if path is not None:
        save_figure(figure, path, dpi=dpi)
        plt.close(figure)
    return figure


def plot_attention_for(
    translator,
    source: str,
    target: str | None = None,
    path: str | os.PathLike | None = None,
    title: str | None = None,
    **kwargs,
):
    """Translates `source` (or teacher-forces `target`) and draws its attention.

    Args:
        translator: a `kseq2seq.Translator`.
        source: one source sentence.
        target: a target sentence to force instead of the model's own
            greedy translation.
        path, title, **kwargs: as for `plot_attention`; the title defaults
            to "source → translation".

    Returns:
        The matplotlib `Figure`.
    """
    if not isinstance(source, str):
        raise TypeError(f"source must be one string. Received: {type(source).__name__}")
    result = translator.attention([source], None if target is None else [target])[0]
    if not result["source_tokens"]:
        raise ValueError("source has no tokens: there is no attention to draw")
    if title is None:
        title = f"{source} → {result['translation']}"
    return plot_attention(result, path=path, title=title, **kwargs)


def plot_attention_grid(
    results,
    path: str | os.PathLike | None = None,
    columns: int = 2,
    titles: Sequence[str] | None = None,
    cmap: str = "viridis",
    dpi: int = 100,
):
    """Draws the heatmaps of several sentences side by side.

    Args:
        results: `Translator.attention()` results (a list of dicts) or the
            SavedModel's batched outputs.
        path: where to save the picture; None to only return the figure.
        columns: panels per row.
        titles: one title per sentence; by default "source → translation".
        cmap: the colour map.
        dpi: resolution of the saved picture.

    Returns:
        The matplotlib `Figure`; its first len(results) axes hold the panels
        in order.
    """
    results = attention_results(results)
    if not results:
        raise ValueError("results is empty: there is nothing to draw")
    check_int("columns", columns)
    if titles is not None and len(titles) != len(results):
        raise ValueError(f"{len(results)} results but {len(titles)} titles")
    columns = min(columns, len(results))
    rows = math.ceil(len(results) / columns)
    largest_t = max(r["weights"].shape[0] for r in results)
    largest_s = max(r["weights"].shape[1] for r in results)
    width, height = _panel_inches(largest_t, largest_s)
    scale = min(1.0, MAX_INCHES * 2 / (width * columns), MAX_INCHES * 2 / (height * rows))
    plt = pyplot()
    figure, axes = plt.subplots(
        rows,
        columns,
        figsize=(width * columns * scale, (height + 0.6) * rows * scale),
        squeeze=False,
    )
    flat = axes.reshape(-1)
    for index, result in enumerate(results):
        if titles is not None:
            title = titles[index]
        elif result.get("translation") is not None:
            title = f"{' '.join(result['source_tokens'])} → {result['translation']}"
        else:
            title = f"sentence {index + 1}"
        _draw(
            flat[index],
            result["weights"],
            result["source_tokens"],
            result["target_tokens"],
            title,
            cmap,
        )
    for ax in flat[len(results) :]:
        ax.axis("off")
    figure.tight_layout()
    if path is not None:
        save_figure(figure, path, dpi=dpi)
        plt.close(figure)
    return figure
