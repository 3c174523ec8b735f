"""Settings chosen from the training data, for a user who gives none (like OpenNMT-tf's
`--auto_config`); every option the user gives wins. The measured runs behind the rule are in
benchmarks/README.md ("Settings chosen from the data", "Mixed bfloat16").

- **tokenizer**: whole words when the vocabulary is closed (at most 4,000 distinct words a
  side and under 1% of the tokens seen once), else WordPiece subwords, so that rare and
  unseen words are spelt out of pieces.
- **vocabulary**: words: all of them (at most 8,000); subwords: one piece per 7 pairs, in
  steps of 500, from 1,000 to 8,000.
- **sizes, dropout, batch, learning rate** by the number of pairs: `SIZE_RULES`, with a
  bidirectional encoder, Luong general attention and label smoothing 0.1. The learning rate
  stays constant: decaying it on plateaus changed BLEU by under 0.3, and a constant rate keeps
  a resume exact.
- **precision**: from 10,000 pairs up, mixed bfloat16 when TensorFlow trains on a CPU that
  computes bfloat16 natively (AVX512_BF16 or AMX) and no mixed policy is set (a step about
  1.45x faster, BLEU +0.75 in the same time); elsewhere float32.
"""

from __future__ import annotations

import collections
import re
from collections.abc import Sequence
from typing import Any

from kseq2seq.layers.precision import cpu_flags

_WORD = re.compile(r"\w+|[^\w\s]")

#: (fewest pairs, embedding, units, dropout, batch size, Adam's learning rate), largest first.
SIZE_RULES = (
    (500_000, 512, 1024, 0.1, 64, 1e-3),
    (50_000, 256, 512, 0.2, 64, 1e-3),
    (10_000, 256, 512, 0.3, 32, 3e-3),
    (5_000, 128, 256, 0.3, 32, 3e-3),
    (0, 64, 128, 0.3, 32, 3e-3),
)
#: From this many pairs up, mixed bfloat16 where the CPU computes it natively.
BFLOAT16_FROM = 10_000
BFLOAT16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")
WORD_VOCABULARY_LIMIT = 4000
HAPAX_LIMIT = 0.01
PAIRS_PER_SUBWORD = 7


def _word_counts(texts, lowercase: bool) -> collections.Counter:
    return collections.Counter(
        word for text in texts for word in _WORD.findall(text.lower() if lowercase else text)
    )


def _closed_vocabulary(counts: collections.Counter) -> bool:
    tokens = sum(counts.values())
    hapaxes = sum(1 for count in counts.values() if count == 1)
    return len(counts) <= WORD_VOCABULARY_LIMIT and hapaxes < HAPAX_LIMIT * max(tokens, 1)


def cpu_computes_bfloat16(cpuinfo: str | None = None) -> bool:
    """Whether `cpuinfo` (Linux's `/proc/cpuinfo`, read when None) has a bfloat16 flag."""
    return not set(BFLOAT16_CPU_FLAGS).isdisjoint(cpu_flags(cpuinfo))


def native_bfloat16() -> bool:
    """Whether training here would run mixed bfloat16 natively: TensorFlow without a GPU, a
    CPU with bfloat16 instructions, and a float32 global policy (a mixed one is the user's)."""
    import keras

    from kseq2seq.layers.fused_lstm import tensorflow_on_gpu

    if keras.backend.backend() != "tensorflow" or keras.config.dtype_policy().name != "float32":
        return False
    return not tensorflow_on_gpu() and cpu_computes_bfloat16()


def auto_settings(
    pairs: Sequence[tuple[str, str]],
    lowercase: bool = True,
    target_lowercase: bool = False,
    bfloat16: bool | None = None,
) -> dict[str, Any]:
    """The settings for training on `pairs` (the rule is in the module's docstring).

    Args:
        lowercase, target_lowercase: whether each side is lower-cased.
        bfloat16: whether this machine trains in mixed bfloat16 natively; None: ask
            `native_bfloat16()` (only with enough pairs for it to matter).

    Returns:
        A dict with the keys `tokenizer`, `vocab_size`, `batch_size`, `learning_rate`,
        `label_smoothing` and `model` (options of `Seq2SeqConfig`; its `mixed_precision` is
        `"mixed_bfloat16"` or None, the global policy).
    """
    count = len(pairs)
    source = _word_counts((s for s, _ in pairs), lowercase)
    target = _word_counts((t for _, t in pairs), target_lowercase)
    if _closed_vocabulary(source) and _closed_vocabulary(target):
        tokenizer = "word"
        vocab_size = min(8000, max(len(source), len(target)) + 4)
    else:
        tokenizer = "subword"
        vocab_size = min(8000, max(1000, 500 * round(count / PAIRS_PER_SUBWORD / 500)))
    _, embedding, units, dropout, batch_size, learning_rate = next(
        rule for rule in SIZE_RULES if count >= rule[0]
    )
    if count < BFLOAT16_FROM:
        bfloat16 = False
    elif bfloat16 is None:
        bfloat16 = native_bfloat16()
    return {
        "tokenizer": tokenizer,
        "vocab_size": vocab_size,
        "batch_size": batch_size,
        "learning_rate": learning_rate,
        "label_smoothing": 0.1,
        "model": {
            "attention": "luong_general",
            "embedding_dim": embedding,
            "units": units,
            "bidirectional": True,
            "dropout": dropout,
            "mixed_precision": "mixed_bfloat16" if bfloat16 else None,
        },
    }


def describe(settings: dict[str, Any], given: Sequence[str] = ()) -> str:
    """One line naming the chosen settings (and those the user gave instead)."""
    model = settings["model"]
    chosen = (
        f"{settings['tokenizer']} vocabulary of {settings['vocab_size']}, embedding "
        f"{model['embedding_dim']}, {model['units']} units (bidirectional encoder), dropout "
        f"{model['dropout']}, batch {settings['batch_size']}, Adam {settings['learning_rate']:g}, "
        f"label smoothing {settings['label_smoothing']:g}"
    )
    if model.get("mixed_precision"):
        chosen += f", {model['mixed_precision'].replace('_', ' ')} (this CPU computes it natively)"
    if given:
        chosen += f"; your options win for: {', '.join(sorted(given))}"
    return chosen
