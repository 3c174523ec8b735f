#!/usr/bin/env python
"""First-call latency under TensorFlow: the tracing a user waits for before the first answer.

Times, each in a fresh process (imports and `Translator.load` excluded), the first call of:

- `translate`: greedy decoding of 8 sentences (`kseq2seq.samplers.decode`: one `tf.function`
  around an `ops.while_loop`, traced on the first call);
- `export`: `Translator.export` (the SavedModel's four signatures traced, then saved);
- `dataset`: `Translator.dataset` over 500 pairs (the tf.data functions traced).

Each row runs as the package runs it (traced without autograph's conversion: the loops and
branches are `while_loop` and `cond` already) and as TensorFlow runs it by default, with
autograph on: the reference, the same functions traced through `tf.function`'s default.
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
ROWS = ("translate", "export", "dataset")
MODES = ("kseq2seq", "autograph")


def corpus_pairs(count: int = 500) -> list[tuple[str, str]]:
    from kseq2seq.datasets.default_corpus import default_corpus

    return [(e.source, e.target) for e in default_corpus("train")[:count]]


def first_call(row: str, mode: str, directory: str) -> float:
    """Seconds of the first call of `row` on the translator saved in `directory` (in a fresh
    process: this script run with `--child`)."""
    import tensorflow as tf

    import kseq2seq
    from kseq2seq.data import preprocessor

    if mode == "autograph":  # the reference: TensorFlow's default tracing, autograph on
        function = tf.function
        tf.function = lambda *args, **kwargs: function(*args, **{**kwargs, "autograph": True})
        preprocessor._traced = lambda traced: traced
    translator = kseq2seq.Translator.load(directory)
    pairs = corpus_pairs()
    start = time.perf_counter()
    if row == "translate":
        translator.translate([source for source, _ in pairs[:8]])
    elif row == "export":
        with tempfile.TemporaryDirectory() as exported:
            translator.export(Path(exported) / "saved")
            return time.perf_counter() - start
    else:
        translator.dataset(pairs)
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
                    done = subprocess.run(
                        [sys.executable, __file__, "--child", row, mode, directory],
                        check=True,
                        capture_output=True,
                        text=True,
                    )
                    times[row, mode].append(json.loads(done.stdout.strip().splitlines()[-1]))
    print(f"TensorFlow, first call, median of {args.repeats} fresh processes (seconds)")
    print("| first call | kseq2seq | autograph on (TensorFlow's default) | speed-up |")
    print("|---|---:|---:|---:|")
    results = {}
    for row in ROWS:
        ours, reference = (statistics.median(times[row, mode]) for mode in MODES)
        results[row] = {"kseq2seq": ours, "autograph": reference}
        print(f"| {row} | {ours:.2f} | {reference:.2f} | {reference / ours:.2f}x |")
    print(f"load average {os.getloadavg()[0]:.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
