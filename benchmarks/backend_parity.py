#!/usr/bin/env python
"""The same model trained under TensorFlow and JAX, side by side.

Each backend trains in its own subprocess (Keras picks its backend once per
process), one after the other, on the embedded demo corpus with the demo's
model (`kseq2seq.commands.DEMO_MODEL`), learning rate, batch size, epochs and
seed. Printed per backend: the training and validation loss of every epoch,
greedy test BLEU and chrF (`kseq2seq.training.metrics`), the median training
step time and the wall-clock time.

`--same-init` starts every backend from the same weights (the first backend
saves its initial weights, the others load them), which separates what the
backends compute from the luck of their initial draws; `--seeds 0,1,2` repeats
everything per seed; `--optimizer keras` trains with `keras.optimizers.Adam`
instead of `compile_model`'s `DenseAdam`, to show what it changed.

    .venv/bin/python benchmarks/backend_parity.py                   # 12 epochs, seed 0
    .venv/bin/python benchmarks/backend_parity.py --quick           # 1,500 pairs, 3 epochs
    .venv/bin/python benchmarks/backend_parity.py --seeds 0,1 --same-init --optimizer keras
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402  (the benchmarks' shared flags and timer)

REPO_ROOT = Path(__file__).resolve().parents[1]


# The worker: one backend, one seed, in this process ---------------------------
def train_one(args) -> dict:
    import keras

    from kseq2seq.commands import DEMO_MODEL
    from kseq2seq.datasets.default_corpus import default_corpus
    from kseq2seq.training.losses import compile_model
    from kseq2seq.training.metrics import corpus_bleu, corpus_chrf
    from kseq2seq.translator import Translator

    keras.utils.set_random_seed(args.seed)
    corpus = default_corpus()
    train, validation, test = (
        [(example.source, example.target) for example in corpus[split]]
        for split in ("train", "validation", "test")
    )
    if args.quick:
        train, validation, test = train[:1500], validation[:100], test[:100]
    translator = Translator.from_pairs(train, tokenizer="word", **DEMO_MODEL)
    if args.init and os.path.exists(args.init):
        translator.model.load_weights(args.init)
    elif args.init:
        translator.model.save_weights(args.init)
    optimizer = None
    if args.optimizer == "keras":
        optimizer = keras.optimizers.Adam(learning_rate=args.learning_rate, clipnorm=5.0)
    compile_model(translator.model, learning_rate=args.learning_rate, optimizer=optimizer)

    steps = common.make_timer("batch")
    started = time.time()
    history = translator.fit(
        train, validation, epochs=args.epochs, batch_size=64, verbose=0, callbacks=[steps]
    )
    seconds = time.time() - started
    hypotheses = []
    for start in range(0, len(test), 256):
        hypotheses += translator.translate([source for source, _ in test[start : start + 256]])
    references = [target for _, target in test]
    # The first epoch's steps include tracing and compilation.
    later = steps.seconds[len(steps.seconds) // args.epochs :] or steps.seconds
    return {
        "backend": keras.backend.backend(),
        "seed": args.seed,
        "loss": [round(value, 4) for value in history.history["loss"]],
        "val_loss": [round(value, 4) for value in history.history["val_loss"]],
        "bleu": round(corpus_bleu(hypotheses, references), 1),
        "chrf": round(corpus_chrf(hypotheses, references), 1),
        "ms_per_step": round(1000 * statistics.median(later), 1),
        "train_seconds": round(seconds),
    }


# The driver: every backend in a subprocess, then the table -------------------
def run_worker(backend: str, seed: int, init: str | None, args) -> dict:
    command = [
        sys.executable,
        __file__,
        "--worker",
        f"--seeds={seed}",
        f"--epochs={args.epochs}",
        f"--learning-rate={args.learning_rate}",
        f"--optimizer={args.optimizer}",
    ]
    command += ["--quick"] if args.quick else []
    command += [f"--init={init}"] if init else []
    env = {
        **os.environ,
        "KERAS_BACKEND": backend,
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    print(f"training under {backend}, seed {seed} ...", flush=True)
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        sys.exit(f"the {backend} worker failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return json.loads(lines[-1][len("RESULT ") :])


def print_table(results: list[dict]) -> None:
    for seed in sorted({result["seed"] for result in results}):
        rows = [result for result in results if result["seed"] == seed]
        print(f"\nseed {seed}: loss / val_loss per epoch")
        print("epoch " + "".join(f"{row['backend']:>24s}" for row in rows))
        for epoch in range(len(rows[0]["loss"])):
            cells = "".join(
                f"{row['loss'][epoch]:>13.4f} /{row['val_loss'][epoch]:>8.4f}" for row in rows
            )
            print(f"{epoch + 1:5d} {cells}")
        for row in rows:
            print(
                f"  {row['backend']:>10s}: BLEU {row['bleu']:5.1f}  chrF {row['chrf']:5.1f}  "
                f"{row['ms_per_step']:6.1f} ms/step (median, after epoch 1)  "
                f"{row['train_seconds']} s training"
            )
    print("\nBLEU per backend over the seeds:")
    for backend in dict.fromkeys(result["backend"] for result in results):
        scores = [result["bleu"] for result in results if result["backend"] == backend]
        print(f"  {backend:>10s}: {scores}  mean {statistics.mean(scores):.1f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default="tensorflow,jax")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--seeds", default="0", help="comma list")
    parser.add_argument("--learning-rate", type=float, default=5e-3, help="the demo's")
    parser.add_argument("--optimizer", choices=("dense", "keras"), default="dense")
    parser.add_argument("--same-init", action="store_true", help="one set of initial weights")
    parser.add_argument("--quick", action="store_true", help="1,500 training pairs")
    parser.add_argument("--json", metavar="OUT", help="also write the results as JSON")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--init", help=argparse.SUPPRESS)
    args = parser.parse_args()
    seeds = [int(seed) for seed in args.seeds.split(",")]
    if args.worker:
        args.seed = seeds[0]
        print("RESULT " + json.dumps(train_one(args)), flush=True)
        return 0
    print(f"load average before: {os.getloadavg()}")
    results = []
    with tempfile.TemporaryDirectory() as scratch:
        for seed in seeds:
            init = os.path.join(scratch, f"init-{seed}.weights.h5") if args.same_init else None
            for backend in args.backends.split(","):
                results.append(run_worker(backend, seed, init, args))
    print(f"load average after: {os.getloadavg()}")
    print_table(results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
