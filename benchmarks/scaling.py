#!/usr/bin/env python
"""Training throughput against batch size and sequence length, next to plain Keras.

For every (batch size, length) pair, target tokens per second of training
steps of a kseq2seq model and of the plain Keras reference of
`train_throughput.py` (the tutorial-style functional model with
`keras.layers.Attention`, same sizes), timed in the same run, and their ratio.
The models, the timing method (one `model.fit` call per timing, timed inside
the call from the first step's start to the last step's end) and the data
(random ids, no padding) are those of `train_throughput.py`, imported from it.

Run from the repository root:

    KERAS_BACKEND=jax .venv/bin/python benchmarks/scaling.py
    KERAS_BACKEND=tensorflow .venv/bin/python benchmarks/scaling.py --json tf.json
    .venv/bin/python benchmarks/scaling.py --batches 16,64 --lengths 10,40
    .venv/bin/python benchmarks/scaling.py --quick          # smoke run

Each model is built once; every shape is warmed up (traced and compiled) on
its own, then timed `--repeats` times, kseq2seq and the reference in turn, so
that a change in the machine's load hits both alike; the median is kept.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCHMARKS))

import train_throughput as throughput  # noqa: E402  (the shared models and timing)

FULL = dict(
    batches="16,32,64,128",
    lengths="10,20,40",
    steps=3,
    repeats=3,
    warmup=1,
    units=256,
    embedding=128,
    vocab=4000,
)
QUICK = dict(
    batches="8,16", lengths="5,10", steps=2, repeats=1, warmup=1, units=16, embedding=8, vocab=40
)


def _int_list(flag: str, text: str, parser: argparse.ArgumentParser) -> list[int]:
    try:
        values = [int(value) for value in text.split(",") if value.strip()]
    except ValueError:
        parser.error(f"--{flag} must be comma-separated integers. Received: {text!r}")
    if not values or min(values) < 1:
        parser.error(f"--{flag} must list integers >= 1. Received: {text!r}")
    return list(dict.fromkeys(values))


def parse_args(argv=None) -> argparse.Namespace:
    parser = throughput.common.make_parser(__doc__, FULL)
    throughput.common.add_flags(parser, "batches", "steps", "repeats", "warmup", "units")
    throughput.common.add_flags(parser, "embedding", "vocab")
    parser.add_argument("--lengths", help="comma-separated source and target lengths (tokens)")
    parser.add_argument(
        "--variant",
        default="luong_dot",
        choices=sorted(throughput.KSEQ2SEQ_VARIANTS),
        help="the kseq2seq variant (default: luong_dot, the reference's architecture)",
    )
    throughput.common.add_precision_flags(parser)
    args = throughput.common.parse(parser, argv, FULL, QUICK)
    args.batches = _int_list("batches", args.batches, parser)
    args.lengths = _int_list("lengths", args.lengths, parser)
    return args


def shape_args(args, batch: int, length: int) -> argparse.Namespace:
    """The namespace `train_throughput`'s builders and runners read."""
    return argparse.Namespace(**{**vars(args), "batch": batch, "length": length})


def measure(args) -> list[dict]:
    models = {
        "kseq2seq": throughput.build_kseq2seq(args.variant, args),
        "keras_reference": throughput.build_keras_reference(args),
    }
    cells = []
    for batch in args.batches:
        for length in args.lengths:
            cell_args = shape_args(args, batch, length)
            data = throughput.make_data(cell_args)
            runners = {
                name: throughput.KerasRunner(model, data, cell_args)
                for name, model in models.items()
            }
            start = time.perf_counter()
            for runner in runners.values():
                if args.warmup:
                    runner.run(args.warmup)  # traces and compiles this shape
            warmup = time.perf_counter() - start
            seconds = {name: [] for name in runners}
            cpu = {name: [] for name in runners}
            for _ in range(args.repeats):
                for name, runner in runners.items():
                    elapsed, cpu_elapsed, _whole = runner.run(args.steps)
                    seconds[name].append(elapsed)
                    cpu[name].append(cpu_elapsed)
            tokens = batch * length * args.steps
            cell = {"batch": batch, "length": length, "warmup_seconds": round(warmup, 2)}
            for name in runners:
                cell[name] = {
                    "seconds": seconds[name],
                    "tokens_per_s": tokens / statistics.median(seconds[name]),
                    "cpu_ms_per_step": 1000 * statistics.median(cpu[name]) / args.steps,
                }
            cell["ratio"] = (
                cell["kseq2seq"]["tokens_per_s"] / cell["keras_reference"]["tokens_per_s"]
            )
            throughput.log(
                f"batch {batch:>4} length {length:>3}: kseq2seq "
                f"{cell['kseq2seq']['tokens_per_s']:,.0f} tok/s, reference "
                f"{cell['keras_reference']['tokens_per_s']:,.0f} tok/s ({cell['ratio']:.2f}x)"
            )
            cells.append(cell)
    return cells


def grid(cells: list[dict], args, value) -> str:
    """A markdown table: one row per batch size, one column per length."""
    header = "| batch \\ length | " + " | ".join(str(length) for length in args.lengths) + " |"
    lines = [header, "|---:|" + "---:|" * len(args.lengths)]
    by_shape = {(cell["batch"], cell["length"]): cell for cell in cells}
    for batch in args.batches:
        row = [value(by_shape[(batch, length)]) for length in args.lengths]
        lines.append(f"| {batch} | " + " | ".join(row) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if str(throughput.REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(throughput.REPO_ROOT))  # kseq2seq from this checkout

    import keras

    backend = keras.backend.backend()
    keras.utils.set_random_seed(args.seed)  # once, before any model (see train_throughput)
    keras.config.set_dtype_policy(args.dtype_policy)
    args.variants = ["keras_reference"]  # what throughput.environment reads
    info = throughput.environment(args, backend)
    throughput.log(
        f"backend={backend} variant={args.variant} batches={args.batches} "
        f"lengths={args.lengths} units={args.units} dtype_policy={args.dtype_policy}"
    )
    cells = measure(args)
    info["load_average_at_end"] = [round(value, 2) for value in os.getloadavg()]

    print(f"## Training throughput scaling, Keras backend `{backend}`\n")
    print(
        f"- versions: keras {info['keras']}, tensorflow {info['tensorflow']}, jax {info['jax']}; "
        f"{info['cpu_threads']} CPU threads"
    )
    print(
        f"- model: kseq2seq `{args.variant}` and the plain Keras reference, vocabulary "
        f"{args.vocab}, embedding {args.embedding}, {args.units} units, 1-layer LSTM; "
        "random ids, no padding; source length = target length"
    )
    print(
        f"- timing: {args.warmup} warm-up step(s) per shape, then the median of {args.repeats} x "
        f"{args.steps} steps inside one model.fit call each; tokens = target tokens"
    )
    print(
        f"- load average (1/5/15 min) at start {info['load_average_at_start']}, "
        f"at end {info['load_average_at_end']}\n"
    )
    print("kseq2seq target tokens/s:\n")
    print(grid(cells, args, lambda cell: f"{cell['kseq2seq']['tokens_per_s']:,.0f}"))
    print("\nplain Keras reference target tokens/s:\n")
    print(grid(cells, args, lambda cell: f"{cell['keras_reference']['tokens_per_s']:,.0f}"))
    print("\nkseq2seq / reference (> 1 = kseq2seq faster):\n")
    print(grid(cells, args, lambda cell: f"{cell['ratio']:.2f}x"))
    if args.json:
        sizes = {key: getattr(args, key) for key in (*FULL, "variant")}
        result = {"environment": info, "sizes": sizes, "cells": cells}
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        throughput.log(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
