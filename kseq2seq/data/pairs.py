"""Reading parallel text: tab-separated pairs, two aligned files, lists."""

from __future__ import annotations

import os
import random
from collections.abc import Iterable, Sequence
from pathlib import Path


class MalformedPairsError(ValueError):
    """A pair file has a line that is not a source-target pair."""


class PairList(list):
    """A list of `(source, target)` string pairs, with the 1-based numbers of the malformed
    lines that the reader was asked to skip (`skipped_lines`)."""

    def __init__(self, pairs: Iterable[tuple[str, str]] = (), skipped_lines=()):
        super().__init__(pairs)
        self.skipped_lines = list(skipped_lines)


def _read_lines(path: str | os.PathLike) -> list[str]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No such pair file: {str(path)!r}")
    data = path.read_bytes()
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 with its byte-order mark
        try:
            data = data.decode("utf-16").encode("utf-8")
        except UnicodeDecodeError as error:
            raise MalformedPairsError(
                f"{path}: starts with a UTF-16 byte-order mark but is not valid UTF-16 "
                f"(byte {error.start}); re-encode the file as UTF-8"
            ) from None
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    decoded = []
    for number, raw in enumerate(lines, start=1):
        try:
            decoded.append(raw.decode("utf-8").rstrip("\r"))
        except UnicodeDecodeError as error:
            raise MalformedPairsError(
                f"{path}:{number}: not valid UTF-8 (byte {error.start} of the line); "
                "re-encode the file as UTF-8, e.g. with `iconv -f latin1 -t utf-8` for Latin-1"
            ) from None
    if decoded and decoded[0].startswith("\ufeff"):
        decoded[0] = decoded[0][1:]  # a byte-order mark
    return decoded


def read_pairs(path: str | os.PathLike, skip_malformed: bool = False) -> PairList:
    """Reads a tab-separated file of `source<TAB>target` lines (the Anki/Tatoeba format:
    later columns are ignored, blank lines skipped).

    Args:
        path: the file, UTF-8 (perhaps with a byte-order mark) or UTF-16 with its mark.
        skip_malformed: skip lines with fewer than two columns or an empty side, recording
            their numbers in `skipped_lines`, instead of raising.

    Raises:
        FileNotFoundError: there is no such file.
        MalformedPairsError: (a ValueError) a malformed line or bytes that are not UTF-8,
            naming the file and the line number.
    """
    pairs, skipped = [], []
    for number, line in enumerate(_read_lines(path), start=1):
        if not line.strip():
            continue
        columns = [column.strip() for column in line.split("\t")[:2]]
        if len(columns) < 2 or not all(columns):
            if skip_malformed:
                skipped.append(number)
                continue
            problem = (
                "empty source or target"
                if len(columns) == 2
                else "no tab between source and target"
            )
            raise MalformedPairsError(
                f"{path}:{number}: {problem}: {line[:80]!r} (pass skip_malformed=True, "
                "or --skip-malformed, to skip such lines)"
            )
        pairs.append(tuple(columns))
    if not pairs:
        raise MalformedPairsError(f"{path}: no source-target pairs found")
    return PairList(pairs, skipped)


def read_parallel_files(source_path: str | os.PathLike, target_path: str | os.PathLike) -> PairList:
    """Reads two line-aligned files: line i of one translates line i of the other."""
    sources, targets = _read_lines(source_path), _read_lines(target_path)
    if len(sources) != len(targets):
        raise MalformedPairsError(
            f"{source_path} has {len(sources)} lines but {target_path} has {len(targets)}; "
            "line-aligned files must have as many lines"
        )
    return PairList(zip(sources, targets))


def pairs_from_lists(sources: Sequence[str], targets: Sequence[str]) -> PairList:
    """Pairs two equally long lists of strings."""
    if isinstance(sources, str) or isinstance(targets, str):
        raise TypeError("sources and targets must be lists of strings, not strings")
    if len(sources) != len(targets):
        raise ValueError(f"sources and targets differ in length: {len(sources)} and {len(targets)}")
    for index, (source, target) in enumerate(zip(sources, targets)):
        if not isinstance(source, str) or not isinstance(target, str):
            raise TypeError(
                f"pair {index} is not two strings: {type(source).__name__}, {type(target).__name__}"
            )
    return PairList(zip(sources, targets))


def split_pairs(
    pairs: Sequence[tuple[str, str]],
    validation: float | int = 0.05,
    test: float | int = 0.05,
    seed: int = 0,
) -> tuple[PairList, PairList, PairList]:
    """Shuffles reproducibly and splits into train, validation and test; `validation` and
    `test` are fractions (< 1) or counts of pairs."""
    count = len(pairs)

    def size(part, name):
        if isinstance(part, float) and 0 <= part < 1:
            return int(round(part * count))
        if isinstance(part, int) and part >= 0:
            return part
        raise ValueError(f"{name} must be a fraction in [0, 1) or a count. Received: {part!r}")

    validation_size, test_size = size(validation, "validation"), size(test, "test")
    if validation_size + test_size >= count:
        raise ValueError(
            f"Cannot hold out {validation_size} + {test_size} of {count} pairs and keep any "
            "for training"
        )
    shuffled = list(pairs)
    random.Random(seed).shuffle(shuffled)
    held_out = test_size + validation_size
    return (
        PairList(shuffled[held_out:]),
        PairList(shuffled[test_size:held_out]),
        PairList(shuffled[:test_size]),
    )


def check_pairs(pairs, name: str = "pairs") -> None:
    """Raises a clear error unless `pairs` is a non-empty sequence of two strings each."""
    if isinstance(pairs, (str, bytes)) or not isinstance(pairs, Sequence):
        raise TypeError(
            f"{name} must be a list of (source, target) string pairs. "
            f"Received: {type(pairs).__name__}"
        )
    if not pairs:
        raise ValueError(f"{name} is empty: there is nothing to train on")
    for index, pair in enumerate(pairs):
        if (
            isinstance(pair, (str, bytes))
            or not isinstance(pair, Sequence)
            or len(pair) != 2
            or not all(isinstance(side, str) for side in pair)
        ):
            raise TypeError(
                f"{name}[{index}] must be a (source, target) pair of two strings. "
                f"Received: {pair!r:.100}"
            )
