"""German–English sentence pairs read out of the Ding dictionary (Debian package `trans-de-en`).

The Ding dictionary (Frank Richter, TU Chemnitz; GPL-2+) is installed as `/usr/share/trans/de-en`
(nothing of it is shipped with kseq2seq). Each line reads ``German | German :: English |
English``: the sub-entries of the two sides correspond by position, and each lists synonymous
alternatives separated by ``;``. Many sub-entries are example sentences; for each pair of
corresponding sub-entries:

1. split each side into its alternatives at top-level ``;``;
2. remove annotations (``{m}``, ``[ugs.]``, ``(...)``, ``<...>``, ``/ABBR/``), collapse spaces,
   write ``’`` as ``'``;
3. keep an alternative that starts with an uppercase letter or a digit (after any opening
   quote), ends with ``.``, ``!`` or ``?`` (before any closing quote), has at least three words
   and no slash, ellipsis, placeholder (``etw.``, ``jdm.``, ``sb.``, ``sth.``) or leftover
   bracket;
4. pair every German sentence with every English one (the alternatives are synonyms).

Pairs are deduplicated, keeping the first occurrence, in the order of the file.
"""

from __future__ import annotations

import functools
import os
import re

from kseq2seq.checks import check_int

__all__ = ["DING_PATH", "load_ding_sentences"]

DING_PATH = "/usr/share/trans/de-en"

MIN_WORDS = 3

_ANNOTATION_PATTERN = r"\s*(?:\{[^{}]*\}|\[[^\[\]]*\]|\([^()]*\)|<[^<>]*>|/[A-Z][\w.&-]*/)"
_ANNOTATION = re.compile(_ANNOTATION_PATTERN)
_SENTENCE_END = re.compile(r"[.!?][\"'“”«»‘’]?$")
_OPENING_QUOTES = "\"'„“‚‘«»"
_PLACEHOLDER = re.compile(r"(?<!\w)(?:etw|jd[mns]?|sb|sth)\.", re.IGNORECASE)
_REJECTED = re.compile(r"[/…{}\[\]()<>]|\.\.\.")
_SPACES = re.compile(r"\s+")
# A quick test that some alternative of a raw side or sub-entry ends a sentence (annotations
# may follow the punctuation).
_MAY_END_SENTENCE = re.compile(rf"[.!?][\"'“”«»‘’]?(?:{_ANNOTATION_PATTERN})*\s*(?:;| \||$)")


def _alternatives(part: str) -> list[str]:
    """Splits a sub-entry at the semicolons that are not inside brackets."""
    if not any(bracket in part for bracket in "([{<"):
        return part.split(";")
    alternatives = []
    depth = start = 0
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
    count = 1
    while count:
        text, count = _ANNOTATION.subn("", text)
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
            german_parts, english_parts = (side.split(" | ") for side in sides)
            if len(german_parts) != len(english_parts):
                continue
            for german_part, english_part in zip(german_parts, english_parts):
                german = _sentences(german_part)
                english = _sentences(english_part) if german else []
                for de in german:
                    for en in english:
                        pairs[(de, en)] = None
    return tuple(pairs)


def load_ding_sentences(
    path: str | os.PathLike = DING_PATH, max_words: int | None = None
) -> list[tuple[str, str]]:
    """Reads the German–English sentence pairs of the Ding dictionary (see the module docstring).

    About 19,700 pairs come out of the 2023 dictionary (`trans-de-en` 1.9), about 15,700 of
    them with at most 10 words per side.

    Args:
        max_words: If given, keep only pairs with at most this many (space-separated) words on
            each side.

    Returns:
        `(german, english)` pairs, deduplicated, in the order of the file.

    Raises:
        FileNotFoundError: If the file does not exist (it says how to install it).
        ValueError: If `max_words` is not a positive integer, the file is not UTF-8, or no
            sentence pair can be read from it.
    """
    check_int("max_words", max_words, optional=True)
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
    return [
        pair
        for pair in pairs
        if max_words is None or all(len(side.split()) <= max_words for side in pair)
    ]
