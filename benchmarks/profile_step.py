#!/usr/bin/env python
"""Where a training step of kseq2seq's luong_dot goes: ablations, side by side.

Each row is the full-size luong_dot model of `train_throughput.py` trained with
`model.fit` as there, with one thing changed: the loss, the metric, the
clipping, the optimizer, the attention, or the whole model cut down to its
output layer. The difference of a row's CPU time per step to the first row's
is what that piece costs (or saves). All rows are timed round-robin in one
process, so a change in the machine's load hits them alike.

Why ablations and not a trace: TensorFlow's profiler writes a trace that only
the TensorBoard profile plugin (not a dependency) reads, and its per-op times
of a `while` loop body are not attributed to the layer that built them; an
ablation measures exactly the cost a user would save or pay.

The script also prints the FLOPs of one step (from the sizes: the LSTMs,
attention, W_c and the vocabulary projection, forward and backward = 3x
forward) and the share of the machine's peak they reach (cores x clock x
FLOPs per cycle; `--flops-per-cycle`, 32 for AVX2 with two FMA pipes).

Run from the repository root:

    KERAS_BACKEND=tensorflow .venv/bin/python benchmarks/profile_step.py
    KERAS_BACKEND=jax .venv/bin/python benchmarks/profile_step.py --json jax.json
    .venv/bin/python benchmarks/profile_step.py --quick          # smoke run
"""

from __future__ import annotations

import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402
import train_throughput as tt  # noqa: E402  (its data, runner and references)

FULL = dict(tt.FULL, repeats=6)  # 12 steps a timing: 4 swung by ±10% (benchmarks/README.md)
QUICK = dict(tt.QUICK)

ROWS = {
    "full": "luong_dot as compile_model gives it (masked loss and accuracy, DenseAdam clipnorm 5)",
    "one_hot_loss": "loss as log_softmax x one-hot (the formulation before this change)",
    "label_smoothing": "label smoothing 0.1 (what `kseq2seq train` uses)",
    "no_metric": "without the masked accuracy metric",
    "no_clipnorm": "without gradient-norm clipping",
    "keras_adam": "Keras's Adam (under TensorFlow: sparse IndexedSlices embedding updates)",
    "no_attention": "attention=None (no scores, no context, no W_c)",
    "output_only": "output part alone: embedding -> Dense(units, tanh) -> Dense(vocab) + loss",
    "keras_reference": "plain Keras reference of train_throughput.py",
}


def parse_args(argv=None):
    parser = common.make_parser(__doc__, FULL)
    common.add_flags(parser, "steps", "repeats", "warmup", "batch", "length", "units")
    common.add_flags(parser, "embedding", "vocab")
    common.add_precision_flags(parser)
    parser.add_argument("--rows", default=",".join(ROWS), help="comma-separated rows to run")
    parser.add_argument(
        "--flops-per-cycle",
        type=float,
        default=32.0,
        help="peak float32 FLOPs per cycle and core (32: AVX2, two FMA pipes)",
    )
    args = common.parse(parser, argv, FULL, QUICK)
    args.rows = [row.strip() for row in args.rows.split(",") if row.strip()]
    unknown = [row for row in args.rows if row not in ROWS]
    if unknown:
        parser.error(f"unknown row(s) {', '.join(unknown)}; choose from {', '.join(ROWS)}")
    return args


def one_hot_loss():
    """The masked loss as it was: log_softmax times a B x T x V one-hot."""
    import keras
    from keras import ops

    class OneHotMaskedLoss(keras.losses.Loss):
        def call(self, y_true, y_pred):
            y_true = ops.cast(y_true, "int32")
            log_probs = ops.log_softmax(ops.cast(y_pred, "float32"), axis=-1)
            one_hot = ops.one_hot(y_true, ops.shape(y_pred)[-1], dtype="float32")
            losses = -ops.sum(one_hot * log_probs, axis=-1)
            mask = ops.cast(ops.not_equal(y_true, 0), "float32")
            total = ops.cast(ops.size(mask), "float32")
            return losses * mask * (total / ops.maximum(ops.sum(mask), 1.0))

    return OneHotMaskedLoss()


def output_only_model(args):
    import keras

    import kseq2seq

    target_in = keras.Input(shape=(None,), dtype="int32", name="target_in")
    source = keras.Input(shape=(None,), dtype="int32", name="source")  # unused, as fed
    embedded = keras.layers.Embedding(args.vocab, args.embedding)(target_in)
    hidden = keras.layers.Dense(args.units, activation="tanh", use_bias=False)(embedded)
    logits = keras.layers.Dense(args.vocab)(hidden)
    model = keras.Model({"source": source, "target_in": target_in}, logits)
    return kseq2seq.compile_model(model, learning_rate=1e-3)


def build(row, args):
    import keras

    import kseq2seq
    from kseq2seq.training import MaskedAccuracy, MaskedSparseCategoricalCrossentropy

    if row == "keras_reference":
        return tt.build_keras_reference(args)
    if row == "output_only":
        return output_only_model(args)
    options = dict(
        source_vocab_size=args.vocab,
        target_vocab_size=args.vocab,
        embedding_dim=args.embedding,
        units=args.units,
        attention=None if row == "no_attention" else "luong_dot",
        float32_logits=args.float32_logits,
    )
    model = kseq2seq.build_model(**options)
    if row in ("full", "no_attention"):
        return kseq2seq.compile_model(model, learning_rate=1e-3)
    if row == "label_smoothing":
        return kseq2seq.compile_model(model, learning_rate=1e-3, label_smoothing=0.1)
    if row == "no_clipnorm":
        return kseq2seq.compile_model(model, learning_rate=1e-3, clipnorm=None)
    if row == "keras_adam":
        adam = keras.optimizers.Adam(learning_rate=1e-3, clipnorm=5.0)
        return kseq2seq.compile_model(model, optimizer=adam)
    loss = one_hot_loss() if row == "one_hot_loss" else MaskedSparseCategoricalCrossentropy()
    metrics = [] if row == "no_metric" else [MaskedAccuracy()]
    adam = kseq2seq.training.DenseAdam(learning_rate=1e-3, clipnorm=5.0)
    model.compile(optimizer=adam, loss=loss, metrics=metrics)
    return model


def step_flops(args) -> float:
    """Multiply-adds x 2 of one luong_dot training step (forward x 3)."""
    b, t, d, u, v = args.batch, args.length, args.embedding, args.units, args.vocab
    lstm = 2 * b * t * (d + u) * 4 * u  # one LSTM layer over the sequence
    attention = 2 * (2 * b * t * t * u)  # scores and context
    w_c = 2 * b * t * (2 * u) * u
    output = 2 * b * t * u * v
    return 3.0 * (2 * lstm + attention + w_c + output)


def clock_ghz() -> float | None:
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as info:
            for line in info:
                if line.startswith("cpu MHz"):
                    return float(line.split(":")[1]) / 1000
    except OSError:
        pass
    return None


def main(argv=None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if str(tt.REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(tt.REPO_ROOT))
    import keras

    keras.utils.set_random_seed(args.seed)
    keras.config.set_dtype_policy(args.dtype_policy)
    data = tt.make_data(args)
    runners = {}
    for row in args.rows:
        tt.log(f"[build+warm-up] {row}")
        runners[row] = tt.KerasRunner(build(row, args), data, args)
        runners[row].run(args.warmup)
    load_start = os.getloadavg()
    seconds, cpu_seconds, _ = tt.time_round_robin(runners, args.repeats, args.steps)
    wall = {row: [1000 * x / args.steps for x in values] for row, values in seconds.items()}
    cpu = {row: [1000 * x / args.steps for x in values] for row, values in cpu_seconds.items()}
    load_end = os.getloadavg()

    flops = step_flops(args)
    cores, ghz = tt.cpu_threads(), clock_ghz()
    # A float32 peak (--flops-per-cycle): no share is given under a 16-bit policy.
    float32 = args.dtype_policy == "float32"
    peak = cores * ghz * 1e9 * args.flops_per_cycle if ghz and float32 else None
    first = args.rows[0]
    base_cpu = statistics.median(cpu[first])
    print(f"## Step profile (ablations), Keras backend `{keras.backend.backend()}`\n")
    print(
        f"- sizes: vocab {args.vocab}, embedding {args.embedding}, units {args.units}, "
        f"batch {args.batch}, length {args.length}; median of {args.repeats} x {args.steps} steps; "
        f"dtype policy {args.dtype_policy}, float32 logits {args.float32_logits}"
    )
    print(
        f"- load average at start {[round(x, 2) for x in load_start]}, at end "
        f"{[round(x, 2) for x in load_end]}"
    )
    line = f"- one luong_dot step: {flops / 1e9:.1f} GFLOP (forward x 3)"
    if peak:
        line += (
            f"; peak {peak / 1e9:.0f} GFLOP/s ({cores} cores x {ghz:.2f} GHz x "
            f"{args.flops_per_cycle:g} FLOP/cycle)"
        )
    print(line + "\n")
    print(f"| row | ms/step | CPU ms/step | CPU vs `{first}` | share of peak (wall) |")
    print("|---|---:|---:|---:|---:|")
    results = []
    for row in args.rows:
        ms, cpu_ms = statistics.median(wall[row]), statistics.median(cpu[row])
        share = (
            ""
            if row in ("output_only", "no_attention") or not peak
            else (f"{100 * flops / (ms / 1000) / peak:.0f}%")
        )
        delta = cpu_ms - base_cpu
        print(f"| {ROWS[row]} | {ms:.0f} | {cpu_ms:.0f} | {delta:+.0f} | {share} |")
        results.append(dict(row=row, ms_per_step=ms, cpu_ms_per_step=cpu_ms, wall=wall[row]))
    if args.json:
        import json

        Path(args.json).write_text(json.dumps(dict(rows=results, flops=flops, peak=peak)) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
