"""The alignment heatmap (the article's "European Economic Area" picture): source tokens
across, output tokens down."""

from __future__ import annotations

import math
import os
import textwrap
from collections.abc import Mapping, Sequence

import numpy as np

from kseq2seq.checks import check_int
from kseq2seq.visualize._common import check_attention, pyplot, save_figure

# Figures never grow past this many inches a side; long sentences get smaller labels instead.
MAX_INCHES = 30.0


def attention_results(results) -> list[dict]:
    """Normalises a `Translator.attention()` dict, a list of them, or the exported
    SavedModel's outputs to a list of such dicts (`weights` float32 (T, S), `source_tokens`,
    `target_tokens` and, when known, `translation`).

    The SavedModel's outputs are `attention` (B, T, S) with the token strings `source_tokens`
    (B, S) and `target_tokens` (or `tokens`, from `serving_default`) (B, T), tensors or arrays
    of bytes right-padded with "", which is stripped.
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
        return [_checked_result(result, f"results[{i}]") for i, result in enumerate(results)]
    raise TypeError(
        "results must be a Translator.attention() dict, a list of them, or the SavedModel "
        f"outputs. Received: {type(results).__name__}"
    )


def _checked_result(result, name: str) -> dict:
    if not isinstance(result, Mapping) or "weights" not in result:
        raise TypeError(
            f"{name} must be a Translator.attention() dict with 'weights'. "
            f"Received: {type(result).__name__}"
        )
    keys = ("weights", "source_tokens", "target_tokens")
    checked = check_attention(*(result[key] for key in keys), name=name + "[{!r}]")
    return {**result, **dict(zip(keys, checked))}


def _numpy(value) -> np.ndarray:
    return value.numpy() if hasattr(value, "numpy") else np.asarray(value)


def _strings(values, keep_empty: bool = False) -> list[str]:
    """The strings of an array or tensor of str or bytes (UTF-8); "" dropped unless kept."""
    strings = [
        value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)
        for value in np.asarray(_numpy(values), dtype=object).reshape(-1)
    ]
    return strings if keep_empty else [string for string in strings if string]


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
    source_rows = np.atleast_2d(np.asarray(_numpy(outputs["source_tokens"]), dtype=object))
    target_rows = np.atleast_2d(np.asarray(_numpy(outputs[target_key]), dtype=object))
    translations = outputs.get("translation")
    if translations is not None:
        translations = _strings(translations, keep_empty=True)
    results = []
    for index, weights in enumerate(attention):
        source_tokens, target_tokens = _strings(source_rows[index]), _strings(target_rows[index])
        result = {
            "weights": weights[: len(target_tokens), : len(source_tokens)],
            "source_tokens": source_tokens,
            "target_tokens": target_tokens,
        }
        if translations is not None:
            result["translation"] = translations[index]
        results.append(result)
    return results


def _panel_inches(rows: int, columns: int) -> tuple[float, float]:
    """Width and height of one heatmap: about 0.45 in per column and 0.4 in per row."""
    return min(2.5 + 0.45 * columns, MAX_INCHES), min(2.0 + 0.4 * rows, MAX_INCHES)


def _label_size(count: int) -> float:
    """Tick label font size: 10 pt up to 30 labels, smaller beyond (never below 5 pt)."""
    return 10.0 if count <= 30 else max(5.0, 10.0 - (count - 30) / 8)


def _default_title(result: Mapping) -> str | None:
    if result.get("translation") is None:
        return None
    return f"{' '.join(result['source_tokens'])} → {result['translation']}"


def _draw(ax, weights, source_tokens, target_tokens, title, cmap):
    """Draws one heatmap with its colour bar into `ax`."""
    rows, columns = weights.shape
    vmax = max(1e-6, float(weights.max(initial=0.0)))
    image = ax.imshow(weights, cmap=cmap, vmin=0, vmax=vmax, aspect="auto", interpolation="nearest")
    if columns > 8 or max(map(len, source_tokens), default=0) > 6:
        rotation = dict(rotation=90, ha="center")
    else:
        rotation = dict(rotation=45, ha="left", rotation_mode="anchor")
    ax.set_xticks(range(columns), labels=source_tokens, fontsize=_label_size(columns), **rotation)
    ax.set_yticks(range(rows), labels=target_tokens, fontsize=_label_size(rows))
    ax.xaxis.tick_top()
    ax.xaxis.set_label_position("top")
    ax.set(xlabel="source", ylabel="output")
    if title:
        width_chars = max(30, int(ax.figure.get_figwidth() * 10))
        ax.set_title("\n".join(textwrap.wrap(str(title), width_chars)), pad=12, fontsize=10)
    ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04)


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
        weights: array (T, S), row t the attention while producing target token t. Or,
            without tokens, anything `attention_results` takes; `index` picks the sentence.
        source_tokens, target_tokens: the S column and T row labels.
        path: where to save the picture (PNG, SVG, PDF by suffix); None to only return it.
        title: the title; for a result dict, "source → translation" by default.
        ax: an existing matplotlib axes to draw into.
        cmap: a matplotlib colour map (viridis: brighter is more weight).

    Returns:
        The matplotlib `Figure` (closed when saved to `path`).

    Example:
        result = translator.attention("Le chat noir mange la souris.")[0]
        plot_attention(result, path="attention.png")
    """
    if isinstance(weights, Mapping) or (
        isinstance(weights, (list, tuple)) and weights and isinstance(weights[0], Mapping)
    ):
        results = attention_results(weights)
        if not -len(results) <= index < len(results):
            raise ValueError(f"index={index} is out of range for {len(results)} sentences")
        result = results[index]
        title = _default_title(result) if title is None else title
        weights = result["weights"]
        source_tokens = result["source_tokens"] if source_tokens is None else source_tokens
        target_tokens = result["target_tokens"] if target_tokens is None else target_tokens
    if source_tokens is None or target_tokens is None:
        raise ValueError("source_tokens and target_tokens are needed with a weights array")
    weights, source_tokens, target_tokens = check_attention(weights, source_tokens, target_tokens)
    if ax is None:
        _, ax = pyplot().subplots(figsize=_panel_inches(*weights.shape))
    _draw(ax, weights, source_tokens, target_tokens, title, cmap)
    ax.figure.tight_layout()
    return save_figure(ax.figure, path, dpi=dpi)


def plot_attention_for(
    translator,
    source: str,
    target: str | None = None,
    path: str | os.PathLike | None = None,
    title: str | None = None,
    **kwargs,
):
    """Translates `source` (or teacher-forces `target`) and draws its attention with
    `plot_attention` (`path`, `title`, `**kwargs`); the title defaults to "source → translation".
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
    """Draws the heatmaps of several sentences (anything `attention_results` takes),
    `columns` panels per row, as `plot_attention` does; `titles` has one per sentence.

    Returns:
        The matplotlib `Figure`; its first len(results) axes hold the panels in order.
    """
    results = attention_results(results)
    if not results:
        raise ValueError("results is empty: there is nothing to draw")
    check_int("columns", columns)
    if titles is None:
        titles = [_default_title(r) or f"sentence {i + 1}" for i, r in enumerate(results)]
    elif len(titles) != len(results):
        raise ValueError(f"{len(results)} results but {len(titles)} titles")
    columns = min(columns, len(results))
    rows = math.ceil(len(results) / columns)
    width, height = _panel_inches(*np.max([r["weights"].shape for r in results], axis=0))
    scale = min(1.0, MAX_INCHES * 2 / (width * columns), MAX_INCHES * 2 / (height * rows))
    figsize = (width * columns * scale, (height + 0.6) * rows * scale)
    figure, axes = pyplot().subplots(rows, columns, figsize=figsize, squeeze=False)
    axes = axes.reshape(-1)
    for ax, result, title in zip(axes, results, titles):
        _draw(ax, result["weights"], result["source_tokens"], result["target_tokens"], title, cmap)
    for ax in axes[len(results) :]:
        ax.axis("off")
    figure.tight_layout()
    return save_figure(figure, path, dpi=dpi)
