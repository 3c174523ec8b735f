"""Helpers shared by the pictures: matplotlib set-up, saving, checking weights and tokens."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from kseq2seq.atomic import atomic_write


def pyplot():
    """Returns `matplotlib.pyplot`, on the file-only Agg backend unless one is chosen."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def save_figure(figure, path: str | os.PathLike | None, dpi: int = 100):
    """Saves `figure` atomically (format from the suffix, PNG without one) and closes it;
    does nothing when `path` is None. Returns the figure."""
    if path is not None:
        import matplotlib.pyplot as plt

        suffix = Path(path).suffix.lower().lstrip(".") or "png"
        atomic_write(path, lambda temporary: figure.savefig(temporary, dpi=dpi, format=suffix))
        plt.close(figure)
    return figure


def check_attention(weights, source_tokens, target_tokens, name: str = "{}"):
    """Returns `(weights float32 (T, S), source_tokens, target_tokens)`, the tokens as lists
    of str, after checking that they match (ValueError) and that no token list is one string
    (TypeError)."""
    tokens = []
    for key, value in (("source_tokens", source_tokens), ("target_tokens", target_tokens)):
        if isinstance(value, (str, bytes)):
            raise TypeError(
                f"{name.format(key)} must be a sequence of token strings, not one string"
            )
        tokens.append([str(token) for token in value])
    weights = np.asarray(weights, dtype="float32")
    if weights.ndim != 2:
        raise ValueError(f"weights must be 2-D (target x source). Received shape {weights.shape}")
    rows, columns = weights.shape
    if (rows, columns) != (len(tokens[1]), len(tokens[0])):
        raise ValueError(
            f"weights are {rows} x {columns} but there are {len(tokens[1])} target and "
            f"{len(tokens[0])} source tokens"
        )
    return weights, *tokens
