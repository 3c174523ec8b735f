"""How many rows a batch is padded to (in training and decoding), so that XLA compiles few
batch shapes: the next power of two up to `step` rows, above it the next multiple of `step`,
never above `limit`."""

from __future__ import annotations


def padded_rows(rows: int, step: int = 64, limit: int | None = None) -> int:
    """The number of rows a batch of `rows` rows is padded to (never fewer than `rows`)."""
    padded = 1 << max(rows - 1, 0).bit_length() if rows <= step else -(-rows // step) * step
    return padded if limit is None else max(rows, min(padded, limit))


def padded_sizes(limit: int, step: int = 64) -> list[int]:
    """Every size `padded_rows(rows, step, limit)` gives for 1 to `limit` rows, ascending."""
    return sorted({padded_rows(rows, step, limit) for rows in range(1, limit + 1)})
