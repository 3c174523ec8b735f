"""Settings chosen from the training data, for a user who gives none (like OpenNMT-tf's
`--auto_config`).

`auto_settings(pairs)` looks at the number of pairs and at their words, and returns the
tokenizer, the vocabulary size, the model's sizes, dropout, batch size and learning-rate
schedule that the measured runs of benchmarks/README.md ("Settings chosen from the data")
found best for data of that size. Every option the user gives wins over these.

The rule:

- **tokenizer**: whole words when the language is closed and every word is frequent (at
  most 4,000 distinct words a side and under 1% of the tokens seen only once: a word
  vocabulary then has no unknown words, and a word is one step of the decoder); otherwise
  WordPiece subwords, so that rare and unseen words are spelt out of pieces.
- **vocabulary**: words: all of them (at most 8,000); subwords: one piece per 7 pairs, in
  steps of 500, from 1,000 to 8,000 (2,000 for the 14,652 pairs of the Ding benchmark,
  where 1,000 and 4,000 did worse).
- **sizes, dropout, batch, learning rate** by the number of pairs:

  | pairs | embedding | units (bidirectional encoder) | dropout | batch | Adam |
  |---|---:|---:|---:|---:|---:|
  | under 5,000 | 64 | 128 | 0.3 | 32 | 3e-3 |
  | 5,000 to 10,000 | 128 | 256 | 0.3 | 32 | 3e-3 |
  | 10,000 to 50,000 | 256 | 512 | 0.3 | 32 | 3e-3 |
  | 50,000 to 500,000 | 256 | 512 | 0.2 | 64 | 1e-3 |
  | more | 512 | 1,024 | 0.1 | 64 | 1e-3 |

  The 10,000 boundary: on the Ding benchmark's 14,652 pairs the 256/512 model beat the
  128/256 one by 1.8 BLEU greedy (mean of two training seeds) in the same 8.5 minutes (10
  epochs against 20); the 8,000 pairs of the embedded corpus were learnt to BLEU 95.7 by
  the 128/256 model in 3 epochs (2 minutes), where a model 2.2 times slower a step would
  fit one.

  Always Luong general attention and label smoothing 0.1. The learning rate stays
  constant: on the Ding benchmark, halving it on each plateau of the validation loss
  changed BLEU by less than 0.3 (benchmarks/README.md), and a constant rate keeps an
  interrupted run's resume exact.

- **precision**: from 10,000 pairs up, mixed bfloat16 (float32 weights, bfloat16 matrix
  products; the logits and the loss stay float32) when TensorFlow trains on a CPU that
  computes bfloat16 natively (AVX512_BF16 or AMX, read from `/proc/cpuinfo`) and no mixed
  policy is set already. On the Ding benchmark's CPU (AVX512_BF16) a step of the 256/512
  model took about 85 ms instead of 123, so 13 epochs fit the 8.5 minutes instead of 9, and
  greedy BLEU rose from 10.45 to 11.20, chrF from 27.90 to 28.67 (means of two training seeds;
  "Mixed bfloat16" in benchmarks/README.md). Elsewhere, and below 10,000 pairs (small models,
  where it was not measured), float32.
"""

from __future__ import annotations

import collections
import re
from collections.abc import Sequence
from typing import Any

from kseq2seq.layers.precision import cpu_flags

_WORD = re.compile(r"\w+|[^\w\s]")

#: (fewest pairs, embedding, units, dropout, batch size, learning rate), largest first.
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
    counts: collections.Counter = collections.Counter()
    for text in texts:
        counts.update(_WORD.findall(text.lower() if lowercase else text))
    return counts


def _closed_vocabulary(counts: collections.Counter) -> bool:
    tokens = sum(counts.values())
    hapaxes = sum(1 for count in counts.values() if count == 1)
    return len(counts) <= WORD_VOCABULARY_LIMIT and hapaxes < HAPAX_LIMIT * max(tokens, 1)


def cpu_computes_bfloat16(cpuinfo: str | None = None) -> bool:
    """Whether the CPU has bfloat16 instructions (a flag of `BFLOAT16_CPU_FLAGS` in
    `cpuinfo`, the text of Linux's `/proc/cpuinfo`, read when None; False where there is
    none)."""
    return not set(BFLOAT16_CPU_FLAGS).isdisjoint(cpu_flags(cpuinfo))


def native_bfloat16() -> bool:
    """Whether training here would run mixed bfloat16 natively and faster: Keras on
    TensorFlow, no GPU in use, a CPU with bfloat16 instructions, and the global dtype policy
    float32 (a mixed policy the user set is theirs to keep)."""
    import keras

    if keras.backend.backend() != "tensorflow":
        return False
    if keras.config.dtype_policy().name != "float32":
        return False
    from kseq2seq.layers.fused_lstm import tensorflow_on_gpu

    return not tensorflow_on_gpu() and cpu_computes_bfloat16()


def auto_settings(
    pairs: Sequence[tuple[str, str]],
    lowercase: bool = True,
    target_lowercase: bool = False,
    bfloat16: bool | None = None,
) -> dict[str, Any]:
    """The settings for training on `pairs` (see the module's docstring for the rule).

    Args:
        pairs: the training pairs.
        lowercase, target_lowercase: whether each side is lower-cased (it changes the count
            of distinct words).
        bfloat16: whether this machine trains in mixed bfloat16 natively, or None to ask
            `native_bfloat16()` (only when there are enough pairs for it to matter).

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
