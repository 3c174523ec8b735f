"""RE2 patterns that split text exactly like Python's ``re.findall(r"\\w+|[^\\w\\s]", text)``.

RE2 (``tensorflow_text.regex_split``) has ASCII-only ``\\w`` and ``\\s`` and Unicode tables of
another version than Python's, so the classes are generated from the running Python (a word
character is ``ch.isalnum() or ch == "_"``, as in ``re``; a space is ``ch.isspace()``) and
written as explicit ``\\x{...}`` ranges.
"""

from __future__ import annotations

import functools

import numpy as np

#: The Python rule that the TensorFlow splitter reproduces.
PYTHON_TOKEN_REGEX = r"\w+|[^\w\s]"

_MAX_CODE_POINT = 0x110000


def _re2_class_body(predicate) -> str:
    """The code points where `predicate(char)` holds, as the inside of an RE2 class."""
    mask = np.fromiter(map(predicate, map(chr, range(_MAX_CODE_POINT))), bool, _MAX_CODE_POINT)
    edges = np.diff(np.concatenate([[False], mask, [False]]).astype(np.int8))
    starts, ends = np.nonzero(edges == 1)[0], np.nonzero(edges == -1)[0] - 1
    return "".join(
        f"\\x{{{first:x}}}" if first == last else f"\\x{{{first:x}}}-\\x{{{last:x}}}"
        for first, last in zip(starts.tolist(), ends.tolist())
    )


@functools.lru_cache(maxsize=1)
def split_patterns() -> tuple[str, str]:
    """Returns the ``(delim_regex_pattern, keep_delim_regex_pattern)`` for ``regex_split``.

    Whitespace runs are dropped delimiters; every character that is neither a word character
    nor a space is a kept one-character delimiter; what is left are runs of word characters.
    """
    word = _re2_class_body(lambda ch: ch.isalnum() or ch == "_")
    space = _re2_class_body(str.isspace)
    other = f"[^{word}{space}]"
    return f"[{space}]+|{other}", other
