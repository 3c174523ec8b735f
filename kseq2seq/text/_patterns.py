"""RE2 patterns that split text exactly like Python's ``re.findall(r"\\w+|[^\\w\\s]", text)``.

RE2 (used by ``tensorflow_text.regex_split``) differs from Python's ``re`` in two ways that
matter here: RE2's ``\\w`` and ``\\s`` are ASCII-only, and RE2's Unicode tables (``\\p{L}``...)
come from a different Unicode version than Python's ``unicodedata``. To be exactly equivalent
to Python's rule, the character classes are generated from the running Python itself: a code
point is a word character when ``ch.isalnum() or ch == "_"`` (this is the definition used by
Python's ``re`` for ``str`` patterns) and a space when ``ch.isspace()``; the classes are then
written as explicit ``\\x{...}`` ranges.
"""

from __future__ import annotations

import functools

import numpy as np

#: The Python rule that the TensorFlow splitter reproduces.
PYTHON_TOKEN_REGEX = r"\w+|[^\w\s]"

_MAX_CODE_POINT = 0x110000


def _ranges(mask: np.ndarray) -> list[tuple[int, int]]:
    """Returns the inclusive ``(first, last)`` code point ranges where ``mask`` is True."""
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    edges = np.diff(padded)
    starts = np.nonzero(edges == 1)[0]
    ends = np.nonzero(edges == -1)[0] - 1
    return list(zip(starts.tolist(), ends.tolist()))


def _re2_class_body(ranges: list[tuple[int, int]]) -> str:
    """Writes ranges as the inside of an RE2 character class (no brackets)."""
    parts = []
    for first, last in ranges:
        if first == last:
            parts.append(f"\\x{{{first:x}}}")
        else:
            parts.append(f"\\x{{{first:x}}}-\\x{{{last:x}}}")
    return "".join(parts)


@functools.lru_cache(maxsize=1)
def character_classes() -> tuple[str, str]:
    """Returns the RE2 class bodies of Python's ``\\w`` and ``\\s`` (computed once, ~0.1 s).

    Returns:
        ``(word, space)``: strings to put between ``[`` and ``]`` in an RE2 pattern.
    """
    chars = map(chr, range(_MAX_CODE_POINT))
    word = np.fromiter(
        (ch.isalnum() or ch == "_" for ch in chars), dtype=bool, count=_MAX_CODE_POINT
    )
    space = np.fromiter(
        (chr(c).isspace() for c in range(_MAX_CODE_POINT)), dtype=bool, count=_MAX_CODE_POINT
    )
    return _re2_class_body(_ranges(word)), _re2_class_body(_ranges(space))


@functools.lru_cache(maxsize=1)
def split_patterns() -> tuple[str, str]:
    """Returns the ``(delim_regex_pattern, keep_delim_regex_pattern)`` for ``regex_split``.

    Whitespace runs are dropped delimiters; every character that is neither a word character
    nor a space is a kept, one-character delimiter; what is left between delimiters is a run of
    word characters.

    Returns:
        The two RE2 patterns.
    """
    word, space = character_classes()
    other = f"[^{word}{space}]"
    return f"[{space}]+|{other}", other
