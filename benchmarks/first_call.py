#!/usr/bin/env python
"""First-call latency: the tracing a user waits for before the first answer.

Times, each in a fresh process (imports and `Translator.load` excluded), the first call of:

- `translate`: greedy decoding of 8 sentences (`kseq2seq.samplers.decode`: one `tf.function`
  around an `ops.while_loop`, traced on the first call);
- `export`: `Translator.export` (the SavedModel's four signatures traced, then saved);
- `dataset`: `Translator.dataset` over 500 pairs (the tf.data functions traced);
- `fit`: `compile_model` and `model.fit`, one epoch on 200 pairs, as a script of
  `build_model` runs them (Keras's train step traced; the dataset made before the clock
  starts). `Translator.fit` built the optimizer before already (its NaN guard,
  `StopOnNaN`, keeps a copy of the optimizer's variables).
- `fit_jax`: `Translator.fit` of a new translator, one epoch on 200 pairs in one batch, under
  JAX (Keras's train step traced and compiled by XLA).

Each row runs as the package runs it and as TensorFlow and Keras run it by default: the
reference. For `translate`, `export` and `dataset` the package traces without autograph's
conversion (its loops and branches are `while_loop` and `cond` already), the reference with
autograph on, `tf.function`'s default. For `fit` the package builds the optimizer when it
compiles the model (`compile_model`), the reference lets Keras build it inside the first
traced train step, which `tf.function` then traces twice. For `fit_jax` the package builds
the compiled loss and metrics from zero logits (`kseq2seq.training.fitting.build_compiled_state`),
the reference from the model run eagerly on a dummy batch (as kseq2seq did before 2026-12-03;
each op compiled on its own for its shapes).
Rows alternate, `--repeats` times; the median is kept. The translator is a small one of the
embedded corpus (1 epoch on 300 pairs, 64 units), as in the README's quick start.

    .venv/bin/python benchmarks/first_call.py
    .venv/bin/python benchmarks/first_call.py --quick      # one repeat
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402  (the benchmarks' shared flags)

FULL = dict(repeats=3)
QUICK = dict(repeats=1)
ROWS = ("translate", "export", "dataset", "fit", "fit_jax")
MODES = ("kseq2seq", "reference")


def corpus_pairs(count: int = 500) -> list[tuple[str, str]]:
    from kseq2seq.datasets.default_corpus import default_corpus

    return [(e.source, e.target) for e in default_corpus("train")[:count]]


def first_call(row: str, mode: str, directory: str) -> float:
    """Seconds of the first call of `row` on the translator saved in `directory` (in a fresh
    process: this script run with `--child`)."""
    if row == "fit_jax":
        return first_fit_jax(mode)
    import tensorflow as tf

    import kseq2seq
    from kseq2seq.data import preprocessor
    from kseq2seq.training import losses

    if mode == "reference" and row == "fit":  # Keras builds the optimizer in the trace
        losses.build_before_tracing = lambda model: None
    elif mode == "reference":  # TensorFlow's default tracing, autograph on
        function = tf.function
        tf.function = lambda *args, **kwargs: function(*args, **{**kwargs, "autograph": True})
        preprocessor._traced = lambda traced: traced
    translator = kseq2seq.Translator.load(directory)
    pairs = corpus_pairs()
    if row == "fit":
        batches = translator.dataset(pairs[:200])
    start = time.perf_counter()
    if row == "translate":
        translator.translate([source for source, _ in pairs[:8]])
    elif row == "export":
        with tempfile.TemporaryDirectory() as exported:
            translator.export(Path(exported) / "saved")
            return time.perf_counter() - start
    elif row == "fit":
        kseq2seq.compile_model(translator.model).fit(batches, epochs=1, verbose=0)
    else:
        translator.dataset(pairs)
    return time.perf_counter() - start


def first_fit_jax(mode: str) -> float:
    """Seconds of the first `Translator.fit` of a new translator, under JAX."""
    import keras
    import numpy as np

    import kseq2seq
    from kseq2seq.training import fitting

    if mode == "reference":  # the model run eagerly on the dummy batch first
        build = fitting.build_compiled_state

        def build_after_an_eager_call(model, width=8):
            model({name: np.ones((1, width), "int32") for name in ("source", "target_in")})
            build(model, width)

        fitting.build_compiled_state = build_after_an_eager_call
    keras.utils.set_random_seed(0)
    pairs = corpus_pairs(200)
    # A new translator with the settings chosen from the data, as `kseq2seq train` makes it
    # (a loaded model has been called symbolically already).
    translator = kseq2seq.Translator.from_pairs(pairs)
    start = time.perf_counter()
    translator.fit(pairs, epochs=1, batch_size=256, verbose=0)
    return time.perf_counter() - start


def main(argv=None) -> None:
    parser = common.make_parser(__doc__, FULL)
    common.add_flags(parser, "repeats")
    parser.add_argument("--child", nargs=3, metavar=("ROW", "MODE", "DIR"), help=argparse.SUPPRESS)
    args = common.parse(parser, argv, FULL, QUICK)
    if args.child:
        print(json.dumps(first_call(*args.child)))
        return
    os.environ["KERAS_BACKEND"] = "tensorflow"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras

    import kseq2seq

    times = {(row, mode): [] for row in ROWS for mode in MODES}
    with tempfile.TemporaryDirectory() as work:
        directory = str(Path(work) / "translator")
        keras.utils.set_random_seed(0)
        pairs = corpus_pairs(300)
        translator = kseq2seq.Translator.from_pairs(pairs, embedding_dim=32, units=64)
        translator.fit(pairs, epochs=1, verbose=0)
        translator.save(directory)
        for _ in range(args.repeats):
            for row in ROWS:
                for mode in MODES:
                    backend = "jax" if row == "fit_jax" else "tensorflow"
                    done = subprocess.run(
                        [sys.executable, __file__, "--child", row, mode, directory],
                        env={**os.environ, "KERAS_BACKEND": backend},
                        check=True,
                        capture_output=True,
                        text=True,
                    )
                    times[row, mode].append(json.loads(done.stdout.strip().splitlines()[-1]))
    print(f"First call, median of {args.repeats} fresh processes (s; TensorFlow but fit_jax)")
    print(
        "| first call | kseq2seq | reference (TensorFlow's default, autograph on; fit: optimizer "
        "built in the trace; fit_jax: the model run eagerly first) | speed-up |"
    )
    print("|---|---:|---:|---:|")
    results = {}
    for row in ROWS:
        ours, reference = (statistics.median(times[row, mode]) for mode in MODES)
        results[row] = {"kseq2seq": ours, "reference": reference}
        print(f"| {row} | {ours:.2f} | {reference:.2f} | {reference / ours:.2f}x |")
    print(f"load average {os.getloadavg()[0]:.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
