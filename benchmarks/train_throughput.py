#!/usr/bin/env python
"""Training throughput of kseq2seq against a plain Keras and a PyTorch reference.

Measures target tokens per second of training steps (forward, backward and
Adam update) as `model.fit` runs them, for every kseq2seq attention variant,
for a tutorial-style Keras model built here with the functional API, and for
an equivalent PyTorch model (when torch is importable).

Run from the repository root:

    KERAS_BACKEND=tensorflow .venv/bin/python benchmarks/train_throughput.py
    KERAS_BACKEND=jax .venv/bin/python benchmarks/train_throughput.py --json jax.json
    .venv/bin/python benchmarks/train_throughput.py --quick          # smoke run

Method: each model is built, compiled and warmed up (the first `fit` traces
and compiles the train step), then every model is timed `--repeats` times,
round-robin so that a change in the machine's load hits all rows alike. One
timing is one `model.fit(..., epochs=1, steps_per_epoch=steps)` call on
in-memory NumPy arrays holding exactly `steps` batches, wall clock around its
steps, from the first step's start to the last step's end (a callback), so
fit's per-call set-up and tear-down is left out. tokens/s = batch * length *
steps / seconds, and the median over the repeats is reported. PyTorch runs
the same number of steps in a plain Python loop (zero_grad, forward,
CrossEntropyLoss, backward, Adam step).
"""

from __future__ import annotations

import argparse
import gc
import importlib.metadata
import importlib.util
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402  (the benchmarks' shared flags)

REPO_ROOT = Path(__file__).resolve().parents[1]

# kseq2seq variants: name -> build_model options (on top of the sizes).
KSEQ2SEQ_VARIANTS = {
    "luong_dot": dict(attention="luong_dot"),
    "luong_general": dict(attention="luong_general"),
    "luong_concat": dict(attention="luong_concat"),
    "luong_general_feeding": dict(attention="luong_general", input_feeding=True),
    "bahdanau": dict(attention="bahdanau"),
    "normed_bahdanau": dict(attention="normed_bahdanau"),
    "no_attention": dict(attention=None),
}
LABELS = {
    "luong_dot": "kseq2seq luong_dot (fused)",
    "luong_general": "kseq2seq luong_general (fused)",
    "luong_concat": "kseq2seq luong_concat (fused)",
    "luong_general_feeding": "kseq2seq luong_general + input feeding (scan)",
    "bahdanau": "kseq2seq bahdanau (scan)",
    "normed_bahdanau": "kseq2seq normed_bahdanau (scan)",
    "no_attention": "kseq2seq no attention (fused)",
    "keras_reference": "plain Keras reference (dot attention)",
    "keras_tutorial": "plain Keras, concat -> Dense(vocab), no tanh layer",
    "pytorch": "PyTorch reference (dot attention)",
}
REFERENCE_VARIANTS = ("keras_reference", "keras_tutorial", "pytorch")
DEFAULT_VARIANTS = (*KSEQ2SEQ_VARIANTS, "keras_reference", "pytorch")
ALL_VARIANTS = (*KSEQ2SEQ_VARIANTS, *REFERENCE_VARIANTS)

# 12 steps a timing: timings of 4 to 6 steps swung by ±10% on the 2-core machine.
FULL = dict(
    steps=12, repeats=5, warmup=4, batch=64, length=30, units=512, embedding=256, vocab=8000
)
QUICK = dict(steps=3, repeats=1, warmup=1, batch=8, length=6, units=32, embedding=16, vocab=64)


def parse_args(argv=None) -> argparse.Namespace:
    epilog = (
        f"Variants: {', '.join(ALL_VARIANTS)}\nDefault variants: {','.join(DEFAULT_VARIANTS)}\n"
    )
    parser = common.make_parser(__doc__, FULL, epilog)
    common.add_flags(parser, "steps", "repeats", "warmup", "batch", "length", "units")
    common.add_flags(parser, "embedding", "vocab")
    parser.add_argument(
        "--variants",
        default=",".join(DEFAULT_VARIANTS),
        help="comma-separated variants to run (default: all but keras_tutorial)",
    )
    common.add_precision_flags(parser)
    args = common.parse(parser, argv, FULL, QUICK)
    variants = [name.strip() for name in args.variants.split(",") if name.strip()]
    unknown = [name for name in variants if name not in ALL_VARIANTS]
    if unknown or not variants:
        parser.error(
            f"unknown variant(s) {', '.join(unknown) or '(none given)'}; "
            f"choose from {', '.join(ALL_VARIANTS)}"
        )
    args.variants = list(dict.fromkeys(variants))
    return args


def cpu_threads() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def torch_available() -> bool:
    try:
        return importlib.util.find_spec("torch") is not None
    except (ImportError, ValueError):
        return False


def package_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def system_busy_seconds() -> float | None:
    """CPU seconds all processes have spent busy since boot (Linux), else None."""
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            fields = [int(value) for value in stat.readline().split()[1:9]]
        user, nice, system, _idle, _iowait, irq, softirq, steal = fields
        return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, AttributeError):
        return None


def make_data(args) -> dict:
    """Random token ids in [4, vocab), no padding; exactly `steps` batches."""
    rng = np.random.default_rng(args.seed)
    count = args.steps * args.batch
    source = rng.integers(4, args.vocab, (count, args.length)).astype("int32")
    target = rng.integers(4, args.vocab, (count, args.length + 1)).astype("int32")
    return {
        "source": source,
        "target_in": np.ascontiguousarray(target[:, :-1]),
        "target_out": np.ascontiguousarray(target[:, 1:]),
    }


# Keras -----------------------------------------------------------------------
def build_kseq2seq(name: str, args):
    import kseq2seq

    model = kseq2seq.build_model(
        source_vocab_size=args.vocab,
        target_vocab_size=args.vocab,
        embedding_dim=args.embedding,
        units=args.units,
        num_layers=1,
        cell="lstm",
        bidirectional=False,
        float32_logits=args.float32_logits,
        **KSEQ2SEQ_VARIANTS[name],
    )
    return kseq2seq.compile_model(model, learning_rate=1e-3)


def build_keras_reference(args, tanh_layer: bool = True):
    """The tutorial-style model: LSTM encoder/decoder, `keras.layers.Attention`.

    With `tanh_layer` (the default reference) the concatenation [context;
    decoder] goes through Dense(units, tanh) before Dense(vocab), as in
    kseq2seq (Luong's W_c) and the PyTorch reference; without it, straight
    into Dense(vocab), as in the shortest tutorials (a 2 * units wide output
    projection, so more work per step).
    """
    import keras
    from keras import layers

    source = keras.Input(shape=(None,), dtype="int32", name="source")
    target_in = keras.Input(shape=(None,), dtype="int32", name="target_in")
    source_embedded = layers.Embedding(args.vocab, args.embedding)(source)
    memory, state_h, state_c = layers.LSTM(args.units, return_sequences=True, return_state=True)(
        source_embedded
    )
    target_embedded = layers.Embedding(args.vocab, args.embedding)(target_in)
    decoded = layers.LSTM(args.units, return_sequences=True)(
        target_embedded, initial_state=[state_h, state_c]
    )
    context = layers.Attention()([decoded, memory])
    merged = layers.Concatenate()([context, decoded])
    if tanh_layer:
        merged = layers.Dense(args.units, activation="tanh", use_bias=False)(merged)
    logits = layers.Dense(args.vocab)(merged)
    model = keras.Model({"source": source, "target_in": target_in}, logits, name="reference")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    return model


def make_step_timer():
    """A callback timing the steps of one `fit`: first batch begin to last batch end.

    It leaves out fit's per-call set-up and tear-down, which under TensorFlow
    varies from ~0.05 s to ~0.6 s per call on a 2-core machine and would
    otherwise be charged to the few timed steps. Having `on_train_batch_end`,
    it also makes Keras read each step's logs before the next step starts (as
    the progress bar of an interactive `fit` does).
    """
    import keras

    class StepTimer(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.start = self.cpu_start = self.end = self.cpu_end = None

        def on_train_batch_begin(self, batch, logs=None):
            if self.start is None:
                self.start, self.cpu_start = time.perf_counter(), time.process_time()

        def on_train_batch_end(self, batch, logs=None):
            self.end, self.cpu_end = time.perf_counter(), time.process_time()

    return StepTimer()


class KerasRunner:
    def __init__(self, model, data, args):
        self.model = model
        self.inputs = {"source": data["source"], "target_in": data["target_in"]}
        self.targets = data["target_out"]
        self.batch = args.batch
        self.timer = make_step_timer()

    def run(self, steps: int) -> tuple[float, float, float]:
        """Times `steps` training steps in one `fit` call.

        Returns (wall seconds of the steps, CPU seconds of this process during
        them, wall seconds of the whole `fit` call).
        """
        start = time.perf_counter()
        self.model.fit(
            self.inputs,
            self.targets,
            batch_size=self.batch,
            epochs=1,
            steps_per_epoch=steps,
            shuffle=False,
            verbose=0,
            callbacks=[self.timer],
        )
        fit_seconds = time.perf_counter() - start
        timer = self.timer
        return timer.end - timer.start, timer.cpu_end - timer.cpu_start, fit_seconds


# PyTorch ---------------------------------------------------------------------
class TorchRunner:
    def __init__(self, data, args):
        import torch
        from torch import nn

        torch.set_num_threads(cpu_threads())
        torch.manual_seed(args.seed)

        class Seq2Seq(nn.Module):
            def __init__(self):
                super().__init__()
                self.source_embedding = nn.Embedding(args.vocab, args.embedding)
                self.target_embedding = nn.Embedding(args.vocab, args.embedding)
                self.encoder = nn.LSTM(args.embedding, args.units, batch_first=True)
                self.decoder = nn.LSTM(args.embedding, args.units, batch_first=True)
                self.combine = nn.Linear(2 * args.units, args.units, bias=False)
                self.output = nn.Linear(args.units, args.vocab)

            def forward(self, source, target_in):
                memory, state = self.encoder(self.source_embedding(source))
                decoded, _ = self.decoder(self.target_embedding(target_in), state)
                scores = torch.bmm(decoded, memory.transpose(1, 2))  # B x T x S
                weights = torch.softmax(scores, dim=-1)
                context = torch.bmm(weights, memory)  # B x T x units
                attentional = torch.tanh(self.combine(torch.cat([context, decoded], dim=-1)))
                return self.output(attentional)  # B x T x V

        self.torch = torch
        self.model = Seq2Seq()
        self.model.train()
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=1e-3)
        self.loss = nn.CrossEntropyLoss()
        self.vocab = args.vocab
        self.batches = [
            tuple(
                torch.from_numpy(data[key][start : start + args.batch]).long()
                for key in ("source", "target_in", "target_out")
            )
            for start in range(0, len(data["source"]), args.batch)
        ]

    def run(self, steps: int) -> tuple[float, float, float]:
        start, cpu_start = time.perf_counter(), time.process_time()
        for step in range(steps):
            source, target_in, target_out = self.batches[step % len(self.batches)]
            self.optimizer.zero_grad(set_to_none=True)
            logits = self.model(source, target_in)
            loss = self.loss(logits.reshape(-1, self.vocab), target_out.reshape(-1))
            loss.backward()
            self.optimizer.step()
        loss.item()
        elapsed = time.perf_counter() - start
        return elapsed, time.process_time() - cpu_start, elapsed


# Driver ----------------------------------------------------------------------
def environment(args, backend: str) -> dict:
    info = {
        "backend": backend,
        "dtype_policy": args.dtype_policy,
        "float32_logits": args.float32_logits,
        "python": platform.python_version(),
        "keras": package_version("keras"),
        "tensorflow": package_version("tensorflow"),
        "jax": package_version("jax"),
        "torch": package_version("torch"),
        "numpy": np.__version__,
        "cpu_threads": cpu_threads(),
        "cpu_count": os.cpu_count(),
        "torch_threads": cpu_threads() if "pytorch" in args.variants else None,
        "load_average_at_start": [round(value, 2) for value in os.getloadavg()],
        "machine": platform.machine(),
    }
    if backend == "tensorflow":
        import tensorflow as tf

        info["tf_intra_op_threads"] = tf.config.threading.get_intra_op_parallelism_threads()
        info["tf_inter_op_threads"] = tf.config.threading.get_inter_op_parallelism_threads()
        # Every model traces its own train function once; TF's "N out of the
        # last N calls triggered tf.function retracing" warning is expected.
        tf.get_logger().setLevel("ERROR")
    return info


def build_runner(name: str, data, args):
    if name == "pytorch":
        return TorchRunner(data, args)
    if name == "keras_reference":
        model = build_keras_reference(args, tanh_layer=True)
    elif name == "keras_tutorial":
        model = build_keras_reference(args, tanh_layer=False)
    else:
        model = build_kseq2seq(name, args)
    return KerasRunner(model, data, args)


def ratio(value: float | None, reference: float | None) -> float | None:
    if value is None or not reference:
        return None
    return value / reference


def format_ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def markdown_table(rows: list[dict]) -> str:
    lines = [
        "| variant | tokens/s | ms/step | vs Keras ref | vs PyTorch | ms/step min-max "
        "| CPU ms/step | fit call ms/step |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        if row.get("error"):
            lines.append(f"| {row['label']} | {row['error']} | | | | | | |")
            continue
        lines.append(
            f"| {row['label']} | {row['tokens_per_s']:,.0f} | {row['ms_per_step']:.1f} "
            f"| {format_ratio(row['vs_keras_reference'])} | {format_ratio(row['vs_pytorch'])} "
            f"| {row['ms_per_step_min']:.1f}-{row['ms_per_step_max']:.1f} "
            f"| {row['cpu_ms_per_step']:.0f} | {row['call_ms_per_step']:.1f} |"
        )
    return "\n".join(lines)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def time_round_robin(runners: dict, repeats: int, steps: int) -> tuple[dict, dict, dict]:
    """Runs `steps` steps of every runner, `repeats` times round-robin (so that drifting
    machine load hits every row alike), each round starting one row further on (so that no
    row always runs right after the same other one, whose threads may still be winding
    down). Returns three dicts name -> list of seconds: wall time of the steps, CPU time of
    this process during them, the whole `fit` call."""
    seconds, cpu_seconds, fit_seconds = ({name: [] for name in runners} for _ in range(3))
    names = list(runners)
    for repeat in range(repeats):
        for name in names[repeat % len(names) :] + names[: repeat % len(names)]:
            runner = runners[name]
            elapsed, cpu, whole = runner.run(steps)
            seconds[name].append(elapsed)
            cpu_seconds[name].append(cpu)
            fit_seconds[name].append(whole)
            log(
                f"[repeat {repeat + 1}/{repeats}] {name}: {1000 * elapsed / steps:.1f} ms/step "
                f"({1000 * cpu / steps:.1f} CPU ms/step; whole call "
                f"{1000 * whole / steps:.1f} ms/step)"
            )
    return seconds, cpu_seconds, fit_seconds


def main(argv=None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))  # kseq2seq from this checkout

    import keras

    backend = keras.backend.backend()
    # Seed once, before any model: under TensorFlow, set_random_seed makes every
    # existing tf.function retrace on its next call (a retrace inside a timing).
    keras.utils.set_random_seed(args.seed)
    keras.config.set_dtype_policy(args.dtype_policy)
    if "pytorch" in args.variants and not torch_available():
        log("torch is not installed: skipping the PyTorch reference.")
        args.variants.remove("pytorch")
    if not args.variants:
        log("Nothing to run.")
        return 1
    info = environment(args, backend)
    tokens_per_step = args.batch * args.length
    sizes = {key: getattr(args, key) for key in FULL}
    log(
        f"backend={backend} sizes={sizes} dtype_policy={args.dtype_policy} "
        f"float32_logits={args.float32_logits} variants={','.join(args.variants)}"
    )
    data = make_data(args)

    # Build and warm up every model first (the first fit traces/compiles).
    runners, errors = {}, {}
    for name in args.variants:
        log(f"[build+warm-up] {name} ...")
        start = time.perf_counter()
        try:
            runner = build_runner(name, data, args)
            if args.warmup:
                runner.run(args.warmup)
        except Exception as error:  # keep going: one broken row is a result too
            errors[name] = f"error: {type(error).__name__}: {str(error).splitlines()[0][:120]}"
            log(f"  {errors[name]}")
            gc.collect()
            continue
        runners[name] = runner
        log(f"  {time.perf_counter() - start:.1f}s")

    # Time round-robin, so that drifting machine load hits every row alike.
    busy_start, cpu_start, wall_start = (
        system_busy_seconds(),
        time.process_time(),
        time.perf_counter(),
    )
    seconds, cpu_seconds, fit_seconds = time_round_robin(runners, args.repeats, args.steps)

    # How many CPU threads other processes kept busy meanwhile, on average.
    busy_end = system_busy_seconds()
    others = None
    if busy_start is not None and busy_end is not None and runners:
        ours = time.process_time() - cpu_start
        others = max(0.0, busy_end - busy_start - ours) / (time.perf_counter() - wall_start)
    info["other_processes_cpu_threads"] = None if others is None else round(others, 2)

    rows = []
    for name in args.variants:
        row = {"variant": name, "label": LABELS[name]}
        if name in errors:
            row["error"] = errors[name]
        else:
            times = seconds[name]
            median = statistics.median(times)
            row.update(
                seconds=times,
                cpu_seconds=cpu_seconds[name],
                call_seconds=fit_seconds[name],
                call_ms_per_step=1000 * statistics.median(fit_seconds[name]) / args.steps,
                cpu_ms_per_step=1000 * statistics.median(cpu_seconds[name]) / args.steps,
                tokens_per_s=tokens_per_step * args.steps / median,
                ms_per_step=1000 * median / args.steps,
                ms_per_step_min=1000 * min(times) / args.steps,
                ms_per_step_max=1000 * max(times) / args.steps,
            )
        rows.append(row)
    by_name = {row["variant"]: row.get("tokens_per_s") for row in rows}
    for row in rows:
        row["vs_keras_reference"] = ratio(row.get("tokens_per_s"), by_name.get("keras_reference"))
        row["vs_pytorch"] = ratio(row.get("tokens_per_s"), by_name.get("pytorch"))
    info["load_average_at_end"] = [round(value, 2) for value in os.getloadavg()]

    threads = f"{info['cpu_threads']} CPU threads available (os.cpu_count()={info['cpu_count']})"
    if "tf_intra_op_threads" in info:
        threads += (
            f"; TF intra/inter-op threads {info['tf_intra_op_threads']}/"
            f"{info['tf_inter_op_threads']} (0 = all)"
        )
    if info["torch_threads"]:
        threads += f"; torch.set_num_threads({info['torch_threads']})"
    print(f"## Training throughput, Keras backend `{backend}`\n")
    print(
        f"- versions: keras {info['keras']}, tensorflow {info['tensorflow']}, "
        f"jax {info['jax']}, torch {info['torch'] or 'not installed'}, "
        f"python {info['python']}"
    )
    print(f"- threads: {threads}")
    print(
        f"- sizes: vocab {args.vocab} (source and target), embedding {args.embedding}, "
        f"units {args.units}, 1-layer unidirectional LSTM, batch {args.batch}, "
        f"source/target length {args.length}"
    )
    print(
        f"- timing: {args.warmup} warm-up steps, then median of {args.repeats} x "
        f"{args.steps} steps, one model.fit call each, timed from the first step's start "
        "to the last step's end; tokens = target tokens; fit call ms/step: the whole "
        "fit call (with its set-up and tear-down) divided by the steps"
    )
    print(
        f"- load average (1/5/15 min) at start {info['load_average_at_start']}, "
        f"at end {info['load_average_at_end']}"
    )
    if others is not None:
        print(
            f"- other processes kept {others:.2f} CPU threads busy on average during the timed runs"
        )
    spread = max(
        (row["ms_per_step_max"] / row["ms_per_step_min"] for row in rows if "error" not in row),
        default=1.0,
    )
    if (others or 0.0) > 0.2 or spread > 1.3:
        print(
            "- WARNING: the machine was busy (other processes, or a slowest/fastest repeat "
            f"of a row {spread:.1f}x apart): wall times are unreliable; compare CPU ms/step "
            "among the Keras rows, or rerun on a quiet machine"
        )
    print(
        "- ratios: tokens/s divided by the reference's (> 1 = faster than it); CPU ms/step: "
        "CPU time of this process (all threads) per step, median, less sensitive than wall "
        "time to other processes on the machine\n"
    )
    print(markdown_table(rows))
    if args.json:
        result = {"environment": info, "sizes": sizes, "rows": rows}
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        log(f"wrote {args.json}")
    return 0 if not errors else 2


if __name__ == "__main__":
    sys.exit(main())
