"""German–English sentence pairs read out of the Ding dictionary (Debian package `trans-de-en`).

The Ding dictionary (Frank Richter, TU Chemnitz; GPL-2+) is installed by `trans-de-en` as
`/usr/share/trans/de-en`. Each line reads ``German | German :: English | English``: the
`` | ``-separated sub-entries of the two sides correspond by position, and a sub-entry lists
synonymous alternatives separated by ``;``. Besides words and phrases, many sub-entries are
example sentences; this module keeps those. Nothing of the dictionary is shipped with kseq2seq:
the loader reads the installed file.

The rule, applied to every pair of corresponding sub-entries:

1. split each side into its alternatives at top-level ``;``;
2. remove annotations: ``{...}`` (grammar: ``{m}``, ``{vt}``), ``[...]`` (usage: ``[Br.]``,
   ``[ugs.]``), ``(...)`` (optional words and glosses), ``<...>`` (inflections and spelling
   variants) and ``/ABBR/`` (abbreviations); collapse spaces; write ``’`` as ``'``;
3. keep an alternative as a sentence when it starts with an uppercase letter or a digit (after
   any opening quote), ends with ``.``, ``!`` or ``?`` (before any closing quote), has at least
   three words, and has none of: a slash (``at/in``, alternatives that cannot be resolved), an
   ellipsis (``…``, a gap to fill), a placeholder (``etw.``, ``jdm.``, ``sb.``, ``sth.``), or a
   leftover bracket;
4. pair every German sentence of the sub-entry with every English one (the alternatives of a
   side are synonyms).

Pairs are deduplicated, keeping the first occurrence, in the order of the file.
"""

from __future__ import annotations

import functools
import os
import re

__all__ = ["DING_PATH", "load_ding_sentences"]

DING_PATH = "/usr/share/trans/de-en"

MIN_WORDS = 3

_ANNOTATION = re.compile(r"\s*(?:\{[^{}]*\}|\[[^\[\]]*\]|\([^()]*\)|<[^<>]*>|/[A-Z][\w.&-]*/)")
_SENTENCE_END = re.compile(r"[.!?][\"'“”«»‘’]?$")
_OPENING_QUOTES = "\"'„“‚‘«»"
_PLACEHOLDER = re.compile(r"(?<!\w)(?:etw|jd[mns]?|sb|sth)\.", re.IGNORECASE)
_REJECTED = re.compile(r"[/…{}\[\]()<>]|\.\.\.")
_SPACES = re.compile(r"\s+")
# A quick test that some alternative of a raw side or sub-entry ends a sentence (annotations
# may follow the punctuation).
_MAY_END_SENTENCE = re.compile(
    r"[.!?][\"'“”«»‘’]?(?:\s*(?:\{[^{}]*\}|\[[^\[\]]*\]|\([^()]*\)|<[^<>]*>|/[A-Z][\w.&-]*/))*"
    r"\s*(?:;| \||$)"
)


def _alternatives(part: str) -> list[str]:
    """Splits a sub-entry at the semicolons that are not inside brackets."""
    if not any(bracket in part for bracket in "([{<"):
        return part.split(";")
    alternatives = []
    depth = 0
    start = 0
    for i, char in enumerate(part):
        if char in "([{<":
            depth += 1
        elif char in ")]}>":
            depth = max(0, depth - 1)
        elif char == ";" and depth == 0:
            alternatives.append(part[start:i])
            start = i + 1
    alternatives.append(part[start:])
    return alternatives


def _clean(text: str) -> str:
    """Removes annotations (repeatedly, for nested ones) and normalises spaces and apostrophes."""
    previous = None
    while previous != text:
        previous = text
        text = _ANNOTATION.sub("", text)
    return _SPACES.sub(" ", text).strip().replace("’", "'")


def _is_sentence(text: str) -> bool:
    first = text.lstrip(_OPENING_QUOTES)[:1]
    return (
        (first.isupper() or first.isdigit())
        and len(text.split()) >= MIN_WORDS
        and _SENTENCE_END.search(text) is not None
        and _REJECTED.search(text) is None
        and _PLACEHOLDER.search(text) is None
    )


def _sentences(part: str) -> list[str]:
    if _MAY_END_SENTENCE.search(part) is None:
        return []
    return [s for s in map(_clean, _alternatives(part)) if _is_sentence(s)]


@functools.lru_cache(maxsize=4)
def _read(path: str, mtime_ns: int, size: int) -> tuple[tuple[str, str], ...]:
    """All sentence pairs of the file; cached per path and version of the file."""
    del mtime_ns, size  # only part of the cache key
    pairs: dict[tuple[str, str], None] = {}
    with open(path, "rb") as f:
        for number, raw in enumerate(f, start=1):
            try:
                line = raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError as error:
                raise ValueError(f"{path}:{number}: not valid UTF-8 ({error}).") from None
            if not line or line.startswith("#"):
                continue
            sides = line.split(" :: ")
            if len(sides) != 2 or _MAY_END_SENTENCE.search(sides[0]) is None:
                continue
            german_parts = sides[0].split(" | ")
            english_parts = sides[1].split(" | ")
            if len(german_parts) != len(english_parts):
                continue
            for german_part, english_part in zip(german_parts, english_parts):
                german = _sentences(german_part)
                if not german:
                    continue
                english = _sentences(english_part)
                for de in german:
                    for en in english:
                        pairs[(de, en)] = None
    return tuple(pairs)


def load_ding_sentences(
    path: str | os.PathLike = DING_PATH, max_words: int | None = None
) -> list[tuple[str, str]]:
    """Reads the German–English sentence pairs of the Ding dictionary.

    About 19,700 pairs come out of the 2023 dictionary (`trans-de-en` 1.9), about 15,700 of
    them with at most 10 words per side. See the module docstring for the rule.

    Args:
        path: The dictionary file, `/usr/share/trans/de-en` by default.
        max_words: If given, keep only pairs with at most this many (space-separated) words on
            each side.

    Returns:
        `(german, english)` pairs, deduplicated, in the order of the file.

    Raises:
        FileNotFoundError: If the file does not exist (it says how to install it).
        ValueError: If `max_words` is not a positive integer, the file is not UTF-8, or no
            sentence pair can be read from it.
    """
    if max_words is not None and (
        isinstance(max_words, bool) or not isinstance(max_words, int) or max_words < 1
    ):
        raise ValueError(f"max_words must be a positive integer or None. Received: {max_words!r}")
    path = os.fspath(path)
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        raise FileNotFoundError(
            f"The Ding dictionary is not at {path!r}. On Debian or Ubuntu install it with "
            "`sudo apt-get install trans-de-en` (it installs /usr/share/trans/de-en), or bring "
            "your own sentence pairs as a tab-separated file (source<TAB>target per line)."
        ) from None
    pairs = _read(os.path.realpath(path), stat.st_mtime_ns, stat.st_size)
    if not pairs:
        raise ValueError(
            f"No sentence pairs found in {path!r}: expected the Ding format "
            "'German | German :: English | English'."
        )
    if max_words is None:
        return list(pairs)
    return [
        (de, en)
        for de, en in pairs
        if len(de.split()) <= max_words and len(en.split()) <= max_words
    ]
