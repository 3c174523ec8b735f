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

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402  (the benchmarks' shared flags)

FULL = dict(repeats=3)
QUICK = dict(repeats=1)
ROWS = ("translate", "export", "dataset")
MODES = ("kseq2seq", "autograph")

# Run in a child process: prints the seconds of one first call as JSON.
CHILD = r"""
import json, sys, tempfile, time
import kseq2seq
import tensorflow as tf
from kseq2seq.data import preprocessor
from first_call_pairs import pairs

row, mode, directory = sys.argv[1:4]
if mode == "autograph":  # the reference: TensorFlow's default tracing, autograph on
    function = tf.function
    tf.function = lambda *args, **kwargs: function(*args, **{**kwargs, "autograph": True})
    preprocessor._traced = lambda traced: traced
translator = kseq2seq.Translator.load(directory)
sources = [source for source, _ in pairs[:8]]
start = time.perf_counter()
if row == "translate":
    translator.translate(sources)
elif row == "export":
    translator.export(tempfile.mkdtemp() + "/saved")
else:
    translator.dataset(pairs)
print(json.dumps(time.perf_counter() - start))
"""


def main(argv=None) -> None:
    parser = common.make_parser(__doc__, FULL)
    common.add_flags(parser, "repeats")
    args = common.parse(parser, argv, FULL, QUICK)
    env = {**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3"}
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        # The pairs module the child imports, and the translator it loads.
        (work / "first_call_pairs.py").write_text(
            "from kseq2seq.datasets.default_corpus import default_corpus\n"
            "pairs = [(e.source, e.target) for e in default_corpus('train')[:500]]\n"
        )
        setup = (
            "import sys, keras, kseq2seq\nfrom first_call_pairs import pairs\n"
            "keras.utils.set_random_seed(0)\n"
            "t = kseq2seq.Translator.from_pairs(pairs[:300], embedding_dim=32, units=64)\n"
            "t.fit(pairs[:300], epochs=1, verbose=0)\nt.save(sys.argv[1])\n"
        )
        path = os.pathsep.join([str(work), str(REPO_ROOT)])
        env["PYTHONPATH"] = path
        subprocess.run(
            [sys.executable, "-c", setup, str(work / "translator")], check=True, env=env, cwd=work
        )
        times = {(row, mode): [] for row in ROWS for mode in MODES}
        for _ in range(args.repeats):
            for row in ROWS:
                for mode in MODES:
                    done = subprocess.run(
                        [sys.executable, "-c", CHILD, row, mode, str(work / "translator")],
                        check=True,
                        env=env,
                        cwd=work,
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
