#!/usr/bin/env python
"""One LSTM layer, forward and backward: kseq2seq's recurrence against Keras's and PyTorch's.

Times `sum(outputs ** 2)` and its gradients with respect to the inputs and the weights, for a
masked batch (random lengths, right-padded), compiled as the backend compiles a train step
(`tf.function` under TensorFlow, `jax.jit` under JAX), for:

- `keras`: `keras.layers.LSTM` itself (its cell multiplies x W_ih at every step);
- `kseq2seq`: `kseq2seq.layers.recurrence.run_recurrence` on the same layer's weights (x W_ih
  hoisted out of the loop; the loop is `recurrence.scan`);
- `kseq2seq_ops_scan`: the same, with `keras.ops.scan` as the loop (what `recurrence.scan`
  replaced under TensorFlow; the same loop under JAX);
- `pytorch`: `torch.nn.LSTM` on a batch of the same size (no mask), when torch is importable.

Rows are timed round-robin, `--repeats` times, median kept. Run from the repository root:

    KERAS_BACKEND=tensorflow .venv/bin/python benchmarks/recurrence_layer.py
    KERAS_BACKEND=tensorflow .venv/bin/python benchmarks/recurrence_layer.py --batch 32 \\
        --length 14 --embedding 128 --units 256          # the Ding benchmark's decoder size
"""

from __future__ import annotations

import os
import statistics
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's kseq2seq
sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402  (the benchmarks' shared flags; sets TensorFlow's oneDNN default)

FULL = dict(batch=64, length=30, embedding=256, units=512, repeats=7, steps=5)
QUICK = dict(batch=8, length=6, embedding=16, units=32, repeats=2, steps=2)


def keras_rows(args):
    """name -> a function running one forward and backward pass, blocking until done."""
    import keras
    from keras import ops

    from kseq2seq.layers import recurrence

    rng = np.random.default_rng(args.seed)
    layer = keras.layers.LSTM(args.units, return_sequences=True, return_state=True)
    inputs = rng.normal(size=(args.batch, args.length, args.embedding)).astype("float32")
    lengths = rng.integers(1, args.length + 1, size=args.batch)
    mask = np.arange(args.length)[None, :] < lengths[:, None]
    layer(inputs)

    def outputs(kind, x):
        if kind == "keras":
            return layer(x, mask=mask)[0]
        if kind == "kseq2seq_ops_scan":
            hoisted_scan, recurrence.scan = recurrence.scan, ops.scan
            try:
                return recurrence.run_recurrence(layer, x, mask=mask)[0]
            finally:
                recurrence.scan = hoisted_scan
        return recurrence.run_recurrence(layer, x, mask=mask)[0]

    backend = keras.backend.backend()
    variables = layer.trainable_variables
    rows = {}
    for kind in ("keras", "kseq2seq", "kseq2seq_ops_scan"):
        if backend == "tensorflow":
            import tensorflow as tf

            x = tf.constant(inputs)

            @tf.function
            def step(kind=kind, x=x):
                with tf.GradientTape() as tape:
                    tape.watch(x)
                    loss = tf.reduce_sum(tf.square(outputs(kind, x)))
                return tape.gradient(loss, [x, *variables])

            rows[kind] = lambda step=step: [value.numpy() for value in step()]
        elif backend == "jax":
            import jax

            def loss(values, x, kind=kind):
                with keras.StatelessScope(state_mapping=list(zip(variables, values))):
                    return ops.sum(ops.square(outputs(kind, x)))

            gradient = jax.jit(jax.grad(loss, argnums=(0, 1)))
            values = [variable.value for variable in variables]
            rows[kind] = lambda gradient=gradient, values=values: jax.block_until_ready(
                gradient(values, inputs)
            )
        else:
            raise SystemExit(f"recurrence_layer.py runs under TensorFlow or JAX, not {backend}")
    return rows


def torch_row(args):
    import torch

    torch.manual_seed(args.seed)
    torch.set_num_threads(os.cpu_count() or 1)
    lstm = torch.nn.LSTM(args.embedding, args.units, batch_first=True)
    x = torch.randn(args.batch, args.length, args.embedding, requires_grad=True)

    def run():
        lstm.zero_grad()
        x.grad = None
        outputs, _ = lstm(x)
        (outputs * outputs).sum().backward()

    return run


def main(argv=None) -> None:
    parser = common.make_parser(__doc__, FULL)
    common.add_flags(parser, "batch", "length", "embedding", "units", "repeats", "steps")
    args = common.parse(parser, argv, FULL, QUICK)
    import keras

    rows = keras_rows(args)
    try:
        rows["pytorch"] = torch_row(args)
    except ImportError:
        print("torch is not importable: no PyTorch row")
    times = common.time_calls(rows, args.repeats, args.steps)
    print(
        f"backend {keras.backend.backend()}, TF_ENABLE_ONEDNN_OPTS="
        f"{os.environ.get('TF_ENABLE_ONEDNN_OPTS')}, batch {args.batch}, length {args.length}, "
        f"input {args.embedding}, units {args.units}; load average {os.getloadavg()[0]:.2f}; "
        f"median of {args.repeats} x {args.steps}"
    )
    reference = statistics.median(times["keras"])
    print("| row | ms per forward and backward | min-max | vs keras |")
    print("|---|---:|---:|---:|")
    for name, values in times.items():
        median = statistics.median(values)
        print(
            f"| {name} | {median:.1f} | {min(values):.1f}-{max(values):.1f} | "
            f"{reference / median:.2f}x |"
        )


if __name__ == "__main__":
    main()
