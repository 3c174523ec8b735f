"""Vocabulary learners (pure Python over word counts).

The WordPiece learner bundled with tensorflow-text
(``tensorflow_text.tools.wordpiece_vocab.wordpiece_tokenizer_learner_lib.learn``) counts every
substring of every word at every step of a binary search over thresholds: it took 90+ s on
30,000 word types and can overshoot the requested size. This module learns the pieces with
byte-pair-encoding style merges instead (as the HuggingFace WordPiece trainer does): start
from single characters (word-initial ``c`` and word-internal ``##c``), repeatedly merge the
most frequent adjacent pair (ties: the smallest pair in code point order), stop at the size
budget. The pieces are then used by ``tensorflow_text.FastWordpieceTokenizer`` (greedy
longest-match-first).
"""

from __future__ import annotations

import collections
import heapq
from collections.abc import Mapping

SUFFIX_INDICATOR = "##"


def select_words(
    word_counts: Mapping[str, int], max_tokens: int | None, min_frequency: int
) -> list[str]:
    """Chooses the vocabulary of a word-level tokenizer.

    Args:
        word_counts: token -> number of occurrences in the corpus.
        max_tokens: the most tokens to keep (None: no limit).
        min_frequency: the fewest occurrences a token needs to be kept.

    Returns:
        The tokens, most frequent first, ties in alphabetical (code point) order.
    """
    kept = [(-count, word) for word, count in word_counts.items() if count >= min_frequency]
    kept.sort()
    words = [word for _, word in kept]
    return words if max_tokens is None else words[:max_tokens]


def _symbols(word: str) -> list[str]:
    return [word[0]] + [SUFFIX_INDICATOR + ch for ch in word[1:]]


def _merge(symbols: list[str], first: str, second: str, merged: str) -> list[str]:
    """Replaces every non-overlapping ``first, second`` (left to right) with ``merged``."""
    out: list[str] = []
    position = 0
    last = len(symbols) - 1
    while position <= last:
        if position < last and symbols[position] == first and symbols[position + 1] == second:
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
    """Learns WordPiece pieces by BPE-style merges over word counts.

    Args:
        word_counts: pre-split word -> number of occurrences.
        max_pieces: the most pieces to return (the vocabulary budget without special tokens).
        min_frequency: the fewest occurrences an adjacent pair needs to be merged.
        max_bytes_per_word: words longer than this in UTF-8 are ignored (the tokenizer maps
            them to the unknown token anyway).

    Returns:
        The pieces, sorted (the caller orders them by use). Every character seen is present in
        its word-initial form and its ``##`` form, unless the characters alone exceed
        ``max_pieces``: then the most frequent forms are kept.
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
    # Both forms of every character seen (a form never seen counts 0 and comes last), so a
    # character seen only inside words can still start one.
    for symbol in list(char_counts):
        bare = symbol[len(SUFFIX_INDICATOR) :] if len(symbol) > 1 else symbol
        for form in (bare, SUFFIX_INDICATOR + bare):
            char_counts.setdefault(form, 0)
    chars = sorted(char_counts, key=lambda piece: (-char_counts[piece], piece))[:max_pieces]
    vocab = set(chars)
    if len(vocab) >= max_pieces:
        return sorted(vocab)

    # Words made only of kept characters take part in the merges.
    words: list[list[str]] = []
    weights: list[int] = []
    for word, count in counts.items():
        symbols = _symbols(word)
        if all(symbol in vocab for symbol in symbols):
            words.append(symbols)
            weights.append(count)

    pair_counts: dict[tuple[str, str], int] = collections.defaultdict(int)
    where: dict[tuple[str, str], set[int]] = collections.defaultdict(set)
    for index, symbols in enumerate(words):
        for pair in zip(symbols, symbols[1:]):
            pair_counts[pair] += weights[index]
            where[pair].add(index)
    heap = [(-count, pair) for pair, count in pair_counts.items()]
    heapq.heapify(heap)

    while heap and len(vocab) < max_pieces:
        negative, pair = heapq.heappop(heap)
        count = pair_counts.get(pair, 0)
        if count != -negative or count <= 0:
            continue  # stale heap entry; the current count was pushed when it changed
        if count < min_frequency:
            break
        first, second = pair
        merged = first + second[len(SUFFIX_INDICATOR) :]
        vocab.add(merged)
        changed: set[tuple[str, str]] = set()
        for index in where.pop(pair, ()):
            symbols = words[index]
            out = _merge(symbols, first, second, merged)
            if len(out) == len(symbols):
                continue  # stale index: this word no longer holds the pair
            words[index] = out
            weight = weights[index]
            delta: dict[tuple[str, str], int] = collections.defaultdict(int)
            for old in zip(symbols, symbols[1:]):
                delta[old] -= weight
            for new in zip(out, out[1:]):
                delta[new] += weight
                if merged in new:
                    where[new].add(index)
            for changed_pair, difference in delta.items():
                if difference:
                    pair_counts[changed_pair] += difference
                    changed.add(changed_pair)
        for changed_pair in changed:
            current = pair_counts[changed_pair]
            if current <= 0:
                pair_counts.pop(changed_pair, None)
                where.pop(changed_pair, None)
            else:
                heapq.heappush(heap, (-current, changed_pair))
    return sorted(vocab)
