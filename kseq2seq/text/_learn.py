"""Vocabulary learners (pure Python over word counts).

tensorflow-text's WordPiece learner counts every substring at every step of a binary search
(90+ s on 30,000 word types) and can overshoot the size, so pieces are learnt by BPE-style
merges instead, as the HuggingFace WordPiece trainer does: start from single characters
(``c`` and ``##c``), merge the most frequent adjacent pair (ties: the smallest in code point
order) until the budget is spent.
"""

from __future__ import annotations

import collections
import heapq
from collections.abc import Mapping

SUFFIX_INDICATOR = "##"


def select_words(
    word_counts: Mapping[str, int], max_tokens: int | None, min_frequency: int
) -> list[str]:
    """The words seen at least `min_frequency` times, most frequent first (ties in code point
    order), at most `max_tokens` of them (None: no limit)."""
    kept = sorted((-count, word) for word, count in word_counts.items() if count >= min_frequency)
    return [word for _, word in kept][:max_tokens]


def _symbols(word: str) -> list[str]:
    return [word[0]] + [SUFFIX_INDICATOR + ch for ch in word[1:]]


def _merge(symbols: list[str], first: str, second: str, merged: str) -> list[str]:
    """Replaces every non-overlapping ``first, second`` (left to right) with ``merged``."""
    out: list[str] = []
    position = 0
    while position < len(symbols):
        if symbols[position : position + 2] == [first, second]:
            out.append(merged)
            position += 2
        else:
            out.append(symbols[position])
            position += 1
    return out


def learn_wordpieces(
    word_counts: Mapping[str, int],
    max_pieces: int,
    min_frequency: int = 2,
    max_bytes_per_word: int = 200,
) -> list[str]:
    """Learns at most `max_pieces` WordPiece pieces by BPE-style merges over word counts.

    Pairs seen fewer than `min_frequency` times are not merged; words longer than
    `max_bytes_per_word` in UTF-8 are ignored, as the tokenizer does. Returns the pieces,
    sorted: every character seen in both its word-initial and its ``##`` form, unless the
    characters alone exceed ``max_pieces`` (then the most frequent forms).
    """
    counts = {
        word: count
        for word, count in word_counts.items()
        if word and len(word.encode("utf-8")) <= max_bytes_per_word
    }
    char_counts: collections.Counter[str] = collections.Counter()
    for word, count in counts.items():
        for symbol in _symbols(word):
            char_counts[symbol] += count
    # Both forms of every character (an unseen form counts 0), so that a character seen only
    # inside words can still start one.
    for symbol in list(char_counts):
        char_counts.setdefault(symbol[-1], 0)
        char_counts.setdefault(SUFFIX_INDICATOR + symbol[-1], 0)
    vocab = set(sorted(char_counts, key=lambda piece: (-char_counts[piece], piece))[:max_pieces])
    if len(vocab) >= max_pieces:
        return sorted(vocab)

    # Words made only of kept characters take part in the merges.
    words = [(_symbols(word), count) for word, count in counts.items()]
    words = [(symbols, count) for symbols, count in words if vocab.issuperset(symbols)]
    pair_counts: dict[tuple[str, str], int] = collections.defaultdict(int)
    where: dict[tuple[str, str], set[int]] = collections.defaultdict(set)
    for index, (symbols, weight) in enumerate(words):
        for pair in zip(symbols, symbols[1:]):
            pair_counts[pair] += weight
            where[pair].add(index)
    heap = [(-count, pair) for pair, count in pair_counts.items()]
    heapq.heapify(heap)

    while heap and len(vocab) < max_pieces:
        negative, pair = heapq.heappop(heap)
        count = pair_counts.get(pair, 0)
        if count != -negative or count <= 0:
            continue  # stale: the current count was pushed when it changed
        if count < min_frequency:
            break
        first, second = pair
        merged = first + second[len(SUFFIX_INDICATOR) :]
        vocab.add(merged)
        delta: dict[tuple[str, str], int] = collections.defaultdict(int)
        for index in where.pop(pair, ()):
            symbols, weight = words[index]
            out = _merge(symbols, first, second, merged)
            if len(out) == len(symbols):
                continue  # stale: this word no longer holds the pair
            words[index] = (out, weight)
            for old in zip(symbols, symbols[1:]):
                delta[old] -= weight
            for new in zip(out, out[1:]):
                delta[new] += weight
                if merged in new:
                    where[new].add(index)
        for changed, difference in delta.items():
            if not difference:
                continue
            pair_counts[changed] += difference
            if pair_counts[changed] <= 0:
                pair_counts.pop(changed)
                where.pop(changed, None)
            else:
                heapq.heappush(heap, (-pair_counts[changed], changed))
    return sorted(vocab)
