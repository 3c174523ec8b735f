#!/usr/bin/env python
"""GPU training benchmark: kseq2seq against a PyTorch cuDNN reference, with MFU.

For 2-layer LSTM models of 512 and 1024 units (GNMT-like sizes) at batch
sizes 64-256: target tokens per second of training steps, model FLOPs
utilisation (MFU) against the card's peak, and peak device memory, for a
kseq2seq model (`model.fit`, as a user trains it) and for an equivalent
PyTorch model (cuDNN `nn.LSTM`, a plain training loop) in the same run; plus
greedy decoding tokens per second of the kseq2seq model.

Meant for the lent GPU machine under JAX (it has JAX and PyTorch, no
TensorFlow):

    KERAS_BACKEND=jax python benchmarks/gpu_train.py --json gpu.json
    KERAS_BACKEND=jax python benchmarks/gpu_train.py --precision mixed_bfloat16
    KERAS_BACKEND=jax python benchmarks/gpu_train.py --quick     # smoke run, also on CPU

The models: source and target embeddings of `units` dimensions, a 2-layer
unidirectional LSTM encoder, a 2-layer LSTM decoder started from the
encoder's final states, Luong "general" attention over the top decoder layer,
h~ = tanh(W_c [c; h]), a vocabulary projection; Adam; the cross-entropy.
kseq2seq: `build_model(num_layers=2, attention="luong_general", ...)` and
`compile_model`. PyTorch: the same with `nn.LSTM(num_layers=2)`, run under
`torch.autocast(bfloat16)` with `--precision mixed_bfloat16`; TF32 matmuls
are allowed in PyTorch as they are by default in JAX (XLA) for float32.

MFU = (model FLOPs of a training step x steps / seconds) / peak. Model FLOPs
count the matrix products only (2 per multiply-add), training = 3 x forward:
per sentence, each LSTM layer 2 * 4u * (in + u) per token, the attention keys
2 S u^2, scores and context 2 * 2 T S u, W_c 2 T (2u) u, the output 2 T u V.
The peak is `--peak-tflops`, or for an H100/H200 the dense tensor-core figure
of the precision (SXM: TF32 494.7, BF16 989.4 TFLOP/s); elsewhere MFU is not
reported. Peak memory: `jax.devices()[0].memory_stats()["peak_bytes_in_use"]`
(the process's peak so far, so the cells run from small to large) and
`torch.cuda.max_memory_allocated()` (reset per cell). The data are random ids
without padding; every greedy-decoded sentence makes `--length` tokens (the
`</s>` logit is pushed down).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

BENCHMARKS = Path(__file__).resolve().parent
REPO_ROOT = BENCHMARKS.parent
sys.path.insert(0, str(BENCHMARKS))

import common  # noqa: E402  (the benchmarks' shared flags)
from scaling import _int_list  # noqa: E402  (the same list flags)

FULL = dict(
    sizes="512,1024", batches="64,128,256", length=30, vocab=32000, steps=10, repeats=3, warmup=2
)
QUICK = dict(sizes="16", batches="4,8", length=6, vocab=40, steps=2, repeats=1, warmup=1)
# Dense tensor-core peaks, TFLOP/s, SXM cards (NVIDIA data sheets).
PEAKS = {
    "H100": {"float32": 494.7, "mixed_bfloat16": 989.4, "mixed_float16": 989.4},
    "H200": {"float32": 494.7, "mixed_bfloat16": 989.4, "mixed_float16": 989.4},
}
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
LAYERS = 2


def parse_args(argv=None) -> argparse.Namespace:
    parser = common.make_parser(__doc__, FULL)
    common.add_flags(parser, "batches", "length", "vocab", "steps", "repeats", "warmup")
    parser.add_argument("--sizes", help="comma-separated LSTM units (2 layers each)")
    parser.add_argument("--precision", default="float32", choices=PRECISIONS)
    parser.add_argument("--peak-tflops", type=float, help="the device's peak, for MFU")
    parser.add_argument("--no-torch", action="store_true", help="skip the PyTorch reference")
    parser.add_argument("--no-decode", action="store_true", help="skip greedy decoding")
    args = common.parse(parser, argv, FULL, QUICK)
    if args.peak_tflops is not None and args.peak_tflops <= 0:
        parser.error("--peak-tflops must be > 0")
    args.sizes = _int_list("sizes", args.sizes, parser)
    args.batches = _int_list("batches", args.batches, parser)
    return args


def training_flops(units: int, batch: int, length: int, vocab: int) -> float:
    """Model FLOPs of one training step (matrix products, 3 x forward)."""
    source = target = length
    lstm_in = [units] * LAYERS  # embeddings are `units` wide
    per_token = sum(2 * 4 * units * (width + units) for width in lstm_in)
    forward = per_token * (source + target)
    forward += 2 * source * units * units  # attention keys W_a h_j
    forward += 2 * 2 * target * source * units  # scores and context
    forward += 2 * target * 2 * units * units  # W_c [c; h]
    forward += 2 * target * units * vocab  # output projection
    return 3.0 * forward * batch


def device_info(backend: str) -> dict:
    info = {"backend": backend, "name": "cpu", "platform": "cpu"}
    if backend == "jax":
        import jax

        device = jax.devices()[0]
        info.update(platform=device.platform, name=getattr(device, "device_kind", str(device)))
    elif backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        if gpus:
            details = tf.config.experimental.get_device_details(gpus[0])
            info.update(platform="gpu", name=details.get("device_name", "gpu"))
    return info


def peak_tflops(args, device: dict) -> float | None:
    if args.peak_tflops is not None:
        return args.peak_tflops
    for card, peaks in PEAKS.items():
        if device["platform"] == "gpu" and card in device["name"]:
            return peaks[args.precision]
    return None


def keras_peak_bytes(backend: str) -> int | None:
    if backend == "jax":
        import jax

        stats = jax.devices()[0].memory_stats()
        return None if not stats else stats.get("peak_bytes_in_use")
    if backend == "tensorflow":
        import tensorflow as tf

        if tf.config.list_physical_devices("GPU"):
            return tf.config.experimental.get_memory_info("GPU:0")["peak"]
    return None


# kseq2seq --------------------------------------------------------------------
def build_kseq2seq(units: int, args):
    import kseq2seq

    model = kseq2seq.build_model(
        source_vocab_size=args.vocab,
        target_vocab_size=args.vocab,
        embedding_dim=units,
        units=units,
        num_layers=LAYERS,
        attention="luong_general",
        mixed_precision=None if args.precision == "float32" else args.precision,
    )
    return kseq2seq.compile_model(model, learning_rate=1e-3)


def greedy_tokens_per_s(model, batch: int, args) -> float:
    import keras

    import kseq2seq

    bias = next(w for w in model.weights if w.path.endswith("output_projection/bias"))
    saved = keras.ops.convert_to_numpy(bias)
    value = saved.copy()
    value[kseq2seq.special_tokens.EOS_ID] = -1e4  # every sentence makes `length` tokens
    bias.assign(value)
    rng = np.random.default_rng(args.seed)
    source = rng.integers(4, args.vocab, (batch, args.length)).astype("int32")
    try:
        kseq2seq.greedy_decode(model, source, max_length=args.length)  # compiles
        seconds = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            tokens, _, _ = kseq2seq.greedy_decode(model, source, max_length=args.length)
            seconds.append(time.perf_counter() - start)
    finally:
        bias.assign(saved)
    return tokens.size / statistics.median(seconds)


# PyTorch ---------------------------------------------------------------------
class TorchRunner:
    """The same model in PyTorch (cuDNN LSTMs on a GPU), a plain training loop."""

    def __init__(self, units: int, data: dict, args):
        import torch
        from torch import nn

        self.torch = torch
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        if self.device == "cuda":
            torch.backends.cuda.matmul.allow_tf32 = True  # as XLA does for float32
            torch.backends.cudnn.allow_tf32 = True
            torch.cuda.reset_peak_memory_stats()
        torch.manual_seed(args.seed)
        vocab = args.vocab

        class Seq2Seq(nn.Module):
            def __init__(self):
                super().__init__()
                self.source_embedding = nn.Embedding(vocab, units)
                self.target_embedding = nn.Embedding(vocab, units)
                self.encoder = nn.LSTM(units, units, num_layers=LAYERS, batch_first=True)
                self.decoder = nn.LSTM(units, units, num_layers=LAYERS, batch_first=True)
                self.keys = nn.Linear(units, units, bias=False)  # W_a, Luong "general"
                self.combine = nn.Linear(2 * units, units, bias=False)  # W_c
                self.output = nn.Linear(units, vocab)

            def forward(self, source, target_in):
                memory, state = self.encoder(self.source_embedding(source))
                decoded, _ = self.decoder(self.target_embedding(target_in), state)
                scores = torch.bmm(decoded, self.keys(memory).transpose(1, 2))  # B x T x S
                weights = torch.softmax(scores.float(), dim=-1).to(memory.dtype)
                context = torch.bmm(weights, memory)  # B x T x units
                attentional = torch.tanh(self.combine(torch.cat([context, decoded], dim=-1)))
                return self.output(attentional)  # B x T x V

        self.model = Seq2Seq().to(self.device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=1e-3)
        self.loss = nn.CrossEntropyLoss()
        self.vocab = vocab
        self.autocast_dtype = {
            "mixed_bfloat16": torch.bfloat16,
            "mixed_float16": torch.float16,
        }.get(args.precision)
        self.scaler = torch.amp.GradScaler(enabled=args.precision == "mixed_float16")
        self.batches = [
            tuple(
                torch.from_numpy(data[key][start : start + args.batch]).long().to(self.device)
                for key in ("source", "target_in", "target_out")
            )
            for start in range(0, len(data["source"]), args.batch)
        ]

    def _sync(self):
        if self.device == "cuda":
            self.torch.cuda.synchronize()

    def run(self, steps: int) -> float:
        torch = self.torch
        self._sync()
        start = time.perf_counter()
        for step in range(steps):
            source, target_in, target_out = self.batches[step % len(self.batches)]
            self.optimizer.zero_grad(set_to_none=True)
            with torch.autocast(
                self.device,
                dtype=self.autocast_dtype or torch.float32,
                enabled=self.autocast_dtype is not None,
            ):
                logits = self.model(source, target_in)
            loss = self.loss(logits.float().reshape(-1, self.vocab), target_out.reshape(-1))
            self.scaler.scale(loss).backward()
            self.scaler.step(self.optimizer)
            self.scaler.update()
        loss.item()
        self._sync()
        return time.perf_counter() - start

    def peak_bytes(self) -> int | None:
        if self.device != "cuda":
            return None
        return self.torch.cuda.max_memory_allocated()


# Driver ----------------------------------------------------------------------
def gib(value: int | None) -> str:
    return "n/a" if value is None else f"{value / 2**30:.2f}"


def percent(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f}"


def main(argv=None) -> int:
    args = parse_args(argv)
    # PyTorch shares the card: JAX allocates on demand instead of taking 75%.
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))

    import keras
    import train_throughput as throughput  # the data and the timed `fit` runner

    backend = keras.backend.backend()
    keras.utils.set_random_seed(args.seed)
    use_torch = not args.no_torch and throughput.torch_available()
    device = device_info(backend)
    peak = peak_tflops(args, device)
    throughput.log(
        f"backend={backend} device={device['name']} precision={args.precision} "
        f"peak={peak} TFLOP/s sizes={args.sizes} batches={args.batches}"
    )
    rows = []
    for units in args.sizes:
        model = build_kseq2seq(units, args)
        for batch in args.batches:
            cell_args = argparse.Namespace(**{**vars(args), "batch": batch})
            data = throughput.make_data(cell_args)
            runners = {"kseq2seq": throughput.KerasRunner(model, data, cell_args)}
            if use_torch:
                runners["pytorch"] = TorchRunner(units, data, cell_args)
            for runner in runners.values():
                if args.warmup:
                    runner.run(args.warmup)
            seconds = {name: [] for name in runners}
            for _ in range(args.repeats):
                for name, runner in runners.items():
                    result = runner.run(args.steps)
                    seconds[name].append(result[0] if isinstance(result, tuple) else result)
            flops = training_flops(units, batch, args.length, args.vocab) * args.steps
            row = {"units": units, "layers": LAYERS, "batch": batch, "length": args.length}
            for name in runners:
                median = statistics.median(seconds[name])
                row[name] = {
                    "seconds": seconds[name],
                    "tokens_per_s": batch * args.length * args.steps / median,
                    "tflops": flops / median / 1e12,
                    "mfu": None if peak is None else flops / median / 1e12 / peak,
                }
            row["kseq2seq"]["peak_bytes"] = keras_peak_bytes(backend)
            if use_torch:
                row["pytorch"]["peak_bytes"] = runners["pytorch"].peak_bytes()
                row["ratio"] = row["kseq2seq"]["tokens_per_s"] / row["pytorch"]["tokens_per_s"]
                del runners["pytorch"]
            if not args.no_decode:
                row["greedy_tokens_per_s"] = greedy_tokens_per_s(model, batch, args)
            throughput.log(
                f"{LAYERS}x{units} batch {batch}: kseq2seq "
                f"{row['kseq2seq']['tokens_per_s']:,.0f} tok/s"
                + (f", PyTorch {row['pytorch']['tokens_per_s']:,.0f} tok/s" if use_torch else "")
            )
            rows.append(row)
        del model

    print(f"## GPU training benchmark, Keras backend `{backend}`\n")
    print(
        f"- device: {device['name']} ({device['platform']}); precision {args.precision}; "
        f"peak for MFU: {'n/a' if peak is None else f'{peak} TFLOP/s'}"
    )
    print(
        f"- models: {LAYERS}-layer LSTM encoder and decoder, Luong general attention, "
        f"embedding = units, vocabulary {args.vocab}, length {args.length} (source and target)"
    )
    print(
        f"- timing: {args.warmup} warm-up step(s), then the median of {args.repeats} x "
        f"{args.steps} steps; tokens = target tokens; kseq2seq through model.fit\n"
    )
    print(
        "| model | batch | kseq2seq tok/s | PyTorch tok/s | kseq2seq / PyTorch "
        "| kseq2seq MFU | PyTorch MFU | kseq2seq peak GiB | PyTorch peak GiB "
        "| greedy decode tok/s |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        ours, theirs = row["kseq2seq"], row.get("pytorch", {})
        ratio = row.get("ratio")
        print(
            f"| {LAYERS}x{row['units']} | {row['batch']} | {number(ours['tokens_per_s'])} "
            f"| {number(theirs.get('tokens_per_s'))} "
            f"| {'n/a' if ratio is None else f'{ratio:.2f}x'} "
            f"| {percent(ours['mfu'])} | {percent(theirs.get('mfu'))} "
            f"| {gib(ours['peak_bytes'])} | {gib(theirs.get('peak_bytes'))} "
            f"| {number(row.get('greedy_tokens_per_s'))} |"
        )
    if args.json:
        result = {"device": device, "peak_tflops": peak, "args": vars(args), "rows": rows}
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        throughput.log(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
