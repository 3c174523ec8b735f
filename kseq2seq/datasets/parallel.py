"""Aligned sentence pairs: the token rule their alignments index, and their TSV form."""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterable

from kseq2seq.atomic import atomic_write

__all__ = ["ParallelExample", "load_tsv", "save_tsv", "word_tokens"]

_TOKEN_RE = re.compile(r"\w+|[^\w\s]")


def word_tokens(text: str) -> list[str]:
    """The tokens that alignments index: the lower-cased text cut into runs of word characters
    and single other non-space characters (``"Dix-sept chats."`` → ``["dix", "-", "sept",
    "chats", "."]``)."""
    return _TOKEN_RE.findall(text.lower())


@dataclasses.dataclass(frozen=True)
class ParallelExample:
    """A sentence pair with its gold word alignment.

    Attributes:
        source: The French sentence.
        target: The English sentence.
        alignment: Sorted ``(source_token_index, target_token_index)`` pairs over
            ``word_tokens(source)`` and ``word_tokens(target)``.
    """

    source: str
    target: str
    alignment: tuple[tuple[int, int], ...]

    def pharaoh(self) -> str:
        """Returns the alignment in Pharaoh format, e.g. ``"0-0 1-2 2-1"``."""
        return " ".join(f"{s}-{t}" for s, t in self.alignment)


def save_tsv(
    examples: Iterable[ParallelExample], path: str | os.PathLike, alignment: bool = False
) -> None:
    """Writes pairs as UTF-8 lines ``source<TAB>target``, plus ``<TAB>alignment`` (Pharaoh
    format) if asked, atomically.

    Raises:
        ValueError: If a sentence contains a tab or a line break.
    """
    lines = []
    for index, example in enumerate(examples):
        for side in ("source", "target"):
            text = getattr(example, side)
            if "\t" in text or "\n" in text or "\r" in text:
                raise ValueError(f"Example {index} has a tab or line break in its {side}: {text!r}")
        columns = [example.source, example.target] + ([example.pharaoh()] if alignment else [])
        lines.append("\t".join(columns) + "\n")
    atomic_write(path, "".join(lines))


def load_tsv(path: str | os.PathLike) -> list[ParallelExample]:
    """Reads pairs written by `save_tsv`; without a third column, alignments are empty.

    Raises:
        ValueError: If a line has fewer than two columns or a malformed alignment, naming the
            file and line number.
    """
    examples = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            line = line.rstrip("\n").rstrip("\r")
            if not line:
                continue
            columns = line.split("\t")
            if len(columns) < 2:
                raise ValueError(f"{os.fspath(path)}:{number}: expected source<TAB>target.")
            links: list[tuple[int, int]] = []
            if len(columns) > 2 and columns[2].strip():
                try:
                    for link in columns[2].split():
                        s, t = link.split("-")
                        links.append((int(s), int(t)))
                except ValueError:
                    raise ValueError(
                        f"{os.fspath(path)}:{number}: malformed alignment {columns[2]!r}; "
                        "expected Pharaoh format like '0-0 1-2'."
                    ) from None
            examples.append(ParallelExample(columns[0], columns[1], tuple(sorted(links))))
    return examples
