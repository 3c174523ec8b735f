#!/usr/bin/env python
"""What the settings chosen from the data (`kseq2seq.auto_config`) give, against fixed ones.

For each corpus size, trains two translators on the same pairs of the embedded corpus for
the same wall-clock budget, side by side in one run, and scores greedy BLEU/chrF (cased,
detokenised) on the same held-out pairs:

- `auto`: what `kseq2seq train` picks when given no option (`auto_settings`);
- `fixed`: the defaults `kseq2seq train` had before (word vocabulary of 8,000, a 512-unit
  unidirectional encoder, embedding 256, batch 64, Adam 1e-3, no dropout, no label smoothing).

    .venv/bin/python benchmarks/auto_config.py                      # 1,500 and 8,000 pairs
    .venv/bin/python benchmarks/auto_config.py --pairs 1500 --budget-minutes 2
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import common  # noqa: E402, F401  (sets TensorFlow's oneDNN default before keras loads it)
import keras  # noqa: E402

from kseq2seq import Translator, compile_model  # noqa: E402
from kseq2seq.auto_config import auto_settings, describe  # noqa: E402
from kseq2seq.datasets import default_corpus  # noqa: E402
from kseq2seq.training.metrics import corpus_bleu, corpus_chrf  # noqa: E402

FIXED = {
    "tokenizer": "word",
    "vocab_size": 8000,
    "batch_size": 64,
    "learning_rate": 1e-3,
    "label_smoothing": 0.0,
    "model": {"embedding_dim": 256, "units": 512, "attention": "luong_general"},
}


class Budget(keras.callbacks.Callback):
    def __init__(self, seconds):
        super().__init__()
        self.seconds, self.epochs = seconds, 0

    def on_train_begin(self, logs=None):
        self.started = time.monotonic()

    def on_train_batch_end(self, batch, logs=None):
        if time.monotonic() - self.started > self.seconds:
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        self.epochs += 1


def run(name, settings, train, test, seconds, seed):
    keras.utils.set_random_seed(seed)
    translator = Translator.from_pairs(
        train,
        tokenizer=settings["tokenizer"],
        vocab_size=settings["vocab_size"],
        **settings["model"],
    )
    compile_model(
        translator.model,
        learning_rate=settings["learning_rate"],
        label_smoothing=settings["label_smoothing"],
    )
    budget = Budget(seconds)
    started = time.monotonic()
    translator.fit(
        train, epochs=1000, batch_size=settings["batch_size"], callbacks=[budget], verbose=0
    )
    trained = time.monotonic() - started
    hypotheses = []
    for start in range(0, len(test), 250):
        hypotheses += translator.translate([s for s, _ in test[start : start + 250]])
    references = [t for _, t in test]
    return {
        "name": name,
        "epochs": budget.epochs,
        "seconds": trained,
        "parameters": translator.model.count_params(),
        "bleu": corpus_bleu(hypotheses, references),
        "chrf": corpus_chrf(hypotheses, references),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", default="1500,8000", help="corpus sizes, comma-separated")
    parser.add_argument("--budget-minutes", type=float, default=3.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    corpus = default_corpus()
    test = [(e.source, e.target) for e in corpus["test"]]
    print(
        f"backend {keras.backend.backend()}, budget {args.budget_minutes} min a run, "
        f"load {os.getloadavg()[0]:.1f}"
    )
    print("| pairs | settings | epochs | parameters | BLEU | chrF |")
    print("|---:|---|---:|---:|---:|---:|")
    for count in (int(n) for n in args.pairs.split(",")):
        train = [(e.source, e.target) for e in corpus["train"][:count]]
        auto = auto_settings(train)
        for name, settings in (("auto", auto), ("fixed", FIXED)):
            row = run(name, settings, train, test, 60 * args.budget_minutes, args.seed)
            label = f"auto: {describe(auto)}" if name == "auto" else "fixed (the old defaults)"
            print(
                f"| {count:,} | {label} | {row['epochs']} | {row['parameters']:,} | "
                f"{row['bleu']:.1f} | {row['chrf']:.1f} |",
                flush=True,
            )
    print(f"load at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
