"""Helpers shared by the pictures: matplotlib set-up, atomic writes, token strings."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from kseq2seq.atomic import atomic_write


def pyplot(headless: bool = True):
    """Returns `matplotlib.pyplot`, on the file-only Agg backend unless one is chosen."""
    import matplotlib

    if headless:
        matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def save_figure(figure, path: str | os.PathLike, dpi: int = 100) -> Path:
    """Saves a matplotlib figure atomically; the format comes from the suffix."""
    suffix = Path(path).suffix.lower().lstrip(".") or "png"
    return atomic_write(path, lambda temporary: figure.savefig(temporary, dpi=dpi, format=suffix))


def figure_to_rgb(figure) -> np.ndarray:
    """The rendered pixels of a figure, uint8 (H, W, 3)."""
    figure.canvas.draw()
    return np.asarray(figure.canvas.buffer_rgba())[..., :3].copy()


def as_strings(tokens) -> list[str]:
    """Token strings from str, bytes or a (tensor) array of either; padding "" is dropped."""
    if hasattr(tokens, "numpy"):
        tokens = tokens.numpy()
    values = (
        np.asarray(tokens, dtype=object).reshape(-1) if not isinstance(tokens, list) else tokens
    )
    out = []
    for token in values:
        if isinstance(token, (bytes, np.bytes_)):
            token = bytes(token).decode("utf-8", errors="replace")
        token = str(token)
        if token == "":
            continue
        out.append(token)
    return out


def check_tokens(name: str, tokens: Sequence[str]) -> list[str]:
    if isinstance(tokens, (str, bytes)):
        raise TypeError(f"{name} must be a sequence of token strings, not one string")
    return [str(token) for token in tokens]
