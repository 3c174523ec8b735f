"""How well attention matches a gold word alignment: the alignment error rate.

Och & Ney (2003), "A Systematic Comparison of Various Statistical Alignment Models": with a
predicted alignment A, sure links S and possible links P (S ⊆ P),

    AER = 1 - (|A ∩ S| + |A ∩ P|) / (|A| + |S|),

summed over the corpus before dividing. With only sure links (P = S) it is 1 - F1.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from kseq2seq.special_tokens import SPECIAL_TOKENS

Link = tuple[int, int]  # (source_index, target_index)

# Rows of these target tokens have no word to align.
_SKIPPED_TARGETS = frozenset({"</s>", "<pad>", "<s>"})


def attention_alignment(weights, target_tokens: Sequence[str] | None = None) -> set[Link]:
    """The `(source_index, target_index)` links of each row's argmax of attention weights (T, S),
    skipping the rows of `</s>` (and padding) when the T `target_tokens` are given."""
    weights = np.asarray(weights, dtype="float64")
    if weights.ndim != 2:
        raise ValueError(f"weights must be 2-D (target x source). Received shape {weights.shape}")
    if target_tokens is not None and len(target_tokens) != weights.shape[0]:
        raise ValueError(
            f"weights have {weights.shape[0]} rows but there are {len(target_tokens)} target tokens"
        )
    if weights.shape[1] == 0:
        return set()
    return {
        (int(best), row)
        for row, best in enumerate(np.argmax(weights, axis=1))
        if target_tokens is None or target_tokens[row] not in _SKIPPED_TARGETS
    }


def _as_links(links: Iterable, name: str) -> set[Link]:
    out = set()
    for link in links:
        try:
            source_index, target_index = link
            out.add((int(source_index), int(target_index)))
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"{name} must hold (source_index, target_index) pairs. Received: {link!r}"
            ) from error
    return out


def alignment_error_rate(
    weights_list: Sequence,
    gold_alignments: Sequence[Iterable[Link]],
    possible_alignments: Sequence[Iterable[Link]] | None = None,
    target_tokens_list: Sequence[Sequence[str]] | None = None,
) -> float:
    """Corpus AER in [0, 1] of the attention's argmax alignments against gold alignments.

    Args:
        weights_list: one float array (T, S) per sentence.
        gold_alignments: the sure links of each sentence, as `(source_index, target_index)`
            pairs (`ParallelExample.alignment`).
        possible_alignments: the possible links of each sentence (sure links are added to them).
        target_tokens_list: the T target tokens of each sentence, to skip the `</s>` rows.
            Without it every row is aligned, so leave the `</s>` row out of the weights.

    Raises:
        ValueError: lengths differ, a gold link falls outside its weights, or there is no
            link at all to compare.
    """
    for name, other in (
        ("gold alignments", gold_alignments),
        ("possible_alignments", possible_alignments),
        ("target_tokens_list", target_tokens_list),
    ):
        if other is not None and len(other) != len(weights_list):
            raise ValueError(f"{len(weights_list)} weight matrices but {len(other)} {name}")
    counts = np.zeros(4, dtype=int)  # |A ∩ S|, |A ∩ P|, |A|, |S|
    for index, weights in enumerate(weights_list):
        weights = np.asarray(weights)
        tokens = None if target_tokens_list is None else target_tokens_list[index]
        predicted = attention_alignment(weights, tokens)
        sure = _as_links(gold_alignments[index], f"gold_alignments[{index}]")
        possible = set(sure)
        if possible_alignments is not None:
            possible |= _as_links(possible_alignments[index], f"possible_alignments[{index}]")
        for source_index, target_index in possible:
            if not (0 <= source_index < weights.shape[1] and 0 <= target_index < weights.shape[0]):
                raise ValueError(
                    f"sentence {index}: gold link ({source_index}, {target_index}) is outside "
                    f"its {weights.shape[0]} x {weights.shape[1]} weights (target x source)"
                )
        counts += [len(predicted & sure), len(predicted & possible), len(predicted), len(sure)]
    both_sure, both_possible, predicted_total, sure_total = counts
    if predicted_total + sure_total == 0:
        raise ValueError("there are no links to compare: every sentence is empty")
    return float(1.0 - (both_sure + both_possible) / (predicted_total + sure_total))


def word_groups(model_tokens: Sequence[str], words: Sequence[str]) -> list[int]:
    """The word index of each model token: one to one with the word tokenizer; with
    WordPiece, a token starting with `##` continues the word of the token before it.

    Raises:
        ValueError: the tokens cannot be matched to the words (for example a source cut by
            `max_source_length`).
    """
    if len(model_tokens) == len(words):
        return list(range(len(words)))
    groups, word = [], -1
    for token in model_tokens:
        if not (token.startswith("##") and word >= 0):
            word += 1
        groups.append(word)
    if word + 1 != len(words):
        raise ValueError(
            f"the model's {len(model_tokens)} tokens {list(model_tokens)} make {word + 1} words "
            f"but the gold alignment indexes {len(words)} words {list(words)}"
        )
    return groups


def word_level_weights(
    weights, source_groups: Sequence[int], target_groups: Sequence[int]
) -> np.ndarray:
    """Sums the attention of pieces into words: (T pieces, S pieces) → (T words, S words).

    A target word's row is the sum of its pieces' rows, so its argmax is the source word its
    pieces attend to most on the whole.
    """
    weights = np.asarray(weights, dtype="float64")
    by_source = np.zeros((weights.shape[0], max(source_groups, default=-1) + 1))
    np.add.at(by_source, (slice(None), np.asarray(source_groups, dtype=int)), weights)
    out = np.zeros((max(target_groups, default=-1) + 1, by_source.shape[1]))
    np.add.at(out, np.asarray(target_groups, dtype=int), by_source)
    return out


def translator_aer(translator, examples: Sequence, batch_size: int = 64) -> float:
    """Corpus AER of a translator's teacher-forced attention, summed from its tokens into the
    words of `word_tokens`, against gold alignments.

    Args:
        examples: `ParallelExample`s, or `(source, target, alignment)` tuples whose alignment
            indexes `word_tokens(source)` and `word_tokens(target)`.
        batch_size: sentences per call to the model.
    """
    from kseq2seq.datasets.default_corpus import word_tokens

    rows = [(e.source, e.target, e.alignment) if hasattr(e, "alignment") else e for e in examples]
    for index, row in enumerate(rows):
        if not isinstance(row, (tuple, list)) or len(row) != 3:
            raise ValueError(
                f"examples[{index}] must be a ParallelExample or (source, target, alignment)"
            )
    if not rows:
        raise ValueError("examples is empty")
    weights_list = []
    for start in range(0, len(rows), batch_size):
        batch = rows[start : start + batch_size]
        results = translator.attention([r[0] for r in batch], [r[1] for r in batch])
        for (source, target, _), result in zip(batch, results):
            target_tokens = [t for t in result["target_tokens"] if t not in SPECIAL_TOKENS[2:]]
            source_groups = word_groups(result["source_tokens"], word_tokens(source))
            target_groups = word_groups(target_tokens, word_tokens(target))
            weights = result["weights"][: len(target_tokens)]
            weights_list.append(word_level_weights(weights, source_groups, target_groups))
    return alignment_error_rate(weights_list, [alignment for _, _, alignment in rows])
