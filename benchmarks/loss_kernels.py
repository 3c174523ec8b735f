#!/usr/bin/env python
"""The masked cross-entropy, forward and backward: kseq2seq's loss against Keras's.

Times the loss of float32 logits (batch, length, vocabulary) and its gradient with respect to
the logits, compiled as the backend compiles a train step (`tf.function` under TensorFlow,
`jax.jit` under JAX), for:

- `keras`: `keras.losses.SparseCategoricalCrossentropy(from_logits=True)` (under TensorFlow,
  its fused kernel `sparse_softmax_cross_entropy_with_logits`), the plain Keras model's loss;
- `kseq2seq`: `kseq2seq.MaskedSparseCategoricalCrossentropy()` (logsumexp and a gather, one
  XLA computation under TensorFlow), with the padding mask;
- `keras_smoothed` and `kseq2seq_smoothed`: label smoothing 0.1 (Keras's
  `CategoricalCrossentropy` against a one-hot, kseq2seq's loss with `label_smoothing`).

Rows are timed round-robin, `--repeats` times, median kept. Run from the repository root:

    KERAS_BACKEND=tensorflow .venv/bin/python benchmarks/loss_kernels.py
    KERAS_BACKEND=jax .venv/bin/python benchmarks/loss_kernels.py --vocab 2000
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

FULL = dict(batch=64, length=30, vocab=8000, repeats=7, steps=10)
QUICK = dict(batch=4, length=5, vocab=50, repeats=2, steps=2)


def losses(args):
    """name -> loss(labels, logits)."""
    import keras
    from keras import ops

    import kseq2seq

    sparse = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    smoothed = keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1)
    return {
        "keras": sparse,
        "kseq2seq": kseq2seq.MaskedSparseCategoricalCrossentropy(),
        "keras_smoothed": lambda y, z: smoothed(ops.one_hot(y, args.vocab), z),
        "kseq2seq_smoothed": kseq2seq.MaskedSparseCategoricalCrossentropy(label_smoothing=0.1),
    }


def rows(args):
    """name -> a function running one forward and backward pass, blocking until done."""
    import keras

    rng = np.random.default_rng(args.seed)
    logits = rng.normal(size=(args.batch, args.length, args.vocab)).astype("float32") * 3
    labels = rng.integers(1, args.vocab, size=(args.batch, args.length)).astype("int32")
    labels[:, args.length * 3 // 4 :] = 0  # a padded quarter
    backend = keras.backend.backend()
    runs = {}
    for name, loss in losses(args).items():
        if backend == "tensorflow":
            import tensorflow as tf

            x, y = tf.constant(logits), tf.constant(labels)

            @tf.function
            def step(loss=loss, x=x, y=y):
                with tf.GradientTape() as tape:
                    tape.watch(x)
                    value = loss(y, x)
                return value, tape.gradient(value, x)

            runs[name] = lambda step=step: [value.numpy() for value in step()]
        elif backend == "jax":
            import jax

            step = jax.jit(jax.value_and_grad(lambda x, loss=loss: loss(labels, x)))
            runs[name] = lambda step=step: jax.block_until_ready(step(logits))
        else:
            raise SystemExit(f"loss_kernels.py runs under TensorFlow or JAX, not {backend}")
    return runs


def main(argv=None) -> None:
    parser = common.make_parser(__doc__, FULL)
    common.add_flags(parser, "batch", "length", "vocab", "repeats", "steps")
    args = common.parse(parser, argv, FULL, QUICK)
    import keras

    runs = rows(args)
    times = common.time_calls(runs, args.repeats, args.steps)
    print(
        f"backend {keras.backend.backend()}, batch {args.batch}, length {args.length}, "
        f"vocabulary {args.vocab}; load average {os.getloadavg()[0]:.2f}; "
        f"median of {args.repeats} x {args.steps}"
    )
    print("| row | ms per forward and backward | min-max | vs keras |")
    print("|---|---:|---:|---:|")
    for name, values in times.items():
        median = statistics.median(values)
        reference = statistics.median(times[name.replace("kseq2seq", "keras")])
        print(
            f"| {name} | {median:.1f} | {min(values):.1f}-{max(values):.1f} | "
            f"{reference / median:.2f}x |"
        )


if __name__ == "__main__":
    main()
