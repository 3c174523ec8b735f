"""What `StopOnNaN` (on by default in `Translator.fit`) costs per training step.

Trains the `kseq2seq demo` model (Luong general attention with input
feeding, embedding 64, 128 bidirectional-encoder units, dropout 0.1; batch 64)
on the embedded corpus, alternating epochs with and without the callback on
the same compiled model, and prints the median seconds per step of each and
their ratio. Epoch times come from `on_epoch_begin` / `on_epoch_end`, so they
include every callback hook.

    KERAS_BACKEND=tensorflow .venv/bin/python benchmarks/nan_guard_overhead.py
    KERAS_BACKEND=jax .venv/bin/python benchmarks/nan_guard_overhead.py --rounds 6
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import keras

from kseq2seq.commands import DEMO_MODEL
from kseq2seq.datasets import default_corpus
from kseq2seq.training import StopOnNaN, compile_model
from kseq2seq.translator import Translator

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402  (the benchmarks' shared flags and timer)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=1536, help="training pairs (epoch size)")
    parser.add_argument("--rounds", type=int, default=5, help="epochs of each, alternating")
    args = parser.parse_args()

    keras.utils.set_random_seed(0)
    train = [(e.source, e.target) for e in default_corpus("train")[: args.pairs]]
    translator = Translator.from_pairs(train, **DEMO_MODEL)
    compile_model(translator.model, learning_rate=5e-3)
    steps = -(-len(train) // 64)
    timer = common.make_timer("epoch")
    for guard in (False, True):  # compile every shape, and the guard, before timing
        translator.fit(train, epochs=1, callbacks=[timer], verbose=0, stop_on_nan=guard)
    timer.seconds.clear()
    times = {False: [], True: []}
    guard = StopOnNaN()
    for _ in range(args.rounds):
        for with_guard in (False, True):
            callbacks = [timer, guard] if with_guard else [timer]
            translator.fit(train, epochs=1, callbacks=callbacks, verbose=0, stop_on_nan=False)
            times[with_guard].append(timer.seconds.pop() / steps)
    without, with_ = statistics.median(times[False]), statistics.median(times[True])
    print(f"backend {keras.backend.backend()}, {steps} steps an epoch, {args.rounds} rounds")
    print(f"{'without StopOnNaN':>20}: {1000 * without:8.2f} ms/step")
    print(f"{'with StopOnNaN':>20}: {1000 * with_:8.2f} ms/step")
    print(f"{'ratio':>20}: {with_ / without:8.3f}")


if __name__ == "__main__":
    main()
