"""Aligned sentence pairs: the token rule their alignments index, and their TSV form."""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterable

__all__ = ["ParallelExample", "load_tsv", "save_tsv", "word_tokens"]

_TOKEN_RE = re.compile(r"\w+|[^\w\s]")


def word_tokens(text: str) -> list[str]:
    """Splits text into the tokens that alignments index.

    The text is lowercased, then cut into runs of word characters, each other non-space character
    being a token of its own: ``"Dix-sept chats."`` → ``["dix", "-", "sept", "chats", "."]``.

    Args:
        text: A sentence.

    Returns:
        The list of tokens.
    """
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
    """Writes pairs as UTF-8 lines ``source<TAB>target`` (plus ``<TAB>alignment`` if asked).

    The alignment column is in Pharaoh format (``"0-0 1-2 2-1"``: source-target token indices
    over `word_tokens`). The file is written to a temporary path and renamed into place.

    Args:
        examples: The pairs.
        path: The file to write.
        alignment: Whether to add the third column.

    Raises:
        ValueError: If a sentence contains a tab or a line break.
    """
    lines = []
    for index, example in enumerate(examples):
        for side in ("source", "target"):
            text = getattr(example, side)
            if "\t" in text or "\n" in text or "\r" in text:
                raise ValueError(f"Example {index} has a tab or line break in its {side}: {text!r}")
        columns = [example.source, example.target]
        if alignment:
            columns.append(example.pharaoh())
        lines.append("\t".join(columns) + "\n")
    path = os.fspath(path)
    temporary = f"{path}.tmp{os.getpid()}"
    try:
        with open(temporary, "w", encoding="utf-8", newline="\n") as f:
            f.writelines(lines)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def load_tsv(path: str | os.PathLike) -> list[ParallelExample]:
    """Reads pairs written by `save_tsv` (an alignment column is optional; extra columns too).

    Args:
        path: The file to read.

    Returns:
        The pairs; their alignment is empty when the file has no third column.

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
