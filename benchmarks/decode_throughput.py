#!/usr/bin/env python
"""Decoding throughput: compiled greedy and beam search against a per-token predict() loop.

Measures sentences and output tokens per second of kseq2seq's compiled
decoders (greedy and beam search of width 5, each one `ops.while_loop`),
side by side in the same run with:

- the keras.io seq2seq example's style of inference: an encoder model and a
  one-step decoder model, the decoder called with `.predict()` once per output
  token and the argmax taken in NumPy between calls (batched: one predict call
  decodes the whole batch). Both models are `keras.Model`s around the very
  layers of the kseq2seq model (its `InferencePieces`), so every row computes
  the same network with the same weights and only the loop differs;
- the exported SavedModel (TensorFlow backend only), through its `translate`
  signature: strings in, strings out, tokenisation included.

Run from the repository root:

    KERAS_BACKEND=tensorflow .venv/bin/python benchmarks/decode_throughput.py
    KERAS_BACKEND=jax .venv/bin/python benchmarks/decode_throughput.py --json jax.json
    .venv/bin/python benchmarks/decode_throughput.py --quick          # smoke run

Method: the model (vocabulary 8000, embedding 128, 256 LSTM units as in the
keras.io example (its latent_dim; `--units 512` for a larger one), Luong
general attention by default) has random weights, and the output bias of
`</s>` is set to -1e4, so no sequence ends early: every row produces exactly
`--length` tokens per sentence (beam search: per hypothesis), and tokens/s
counts the same tokens everywhere. Sources are `--length` random word ids.
Each row is run once untimed (tracing and compiling), then timed `--repeats`
times; the median is reported. Single-sentence latency of the SavedModel
(`serving_default`, one sentence per call) is timed `--latency-calls` times
(p50, p95).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402  (the benchmarks' shared flags)

FULL = dict(
    batches="1,32,128", length=20, vocab=8000, embedding=128, units=256, repeats=3, latency=50
)
QUICK = dict(batches="1,32", length=8, vocab=500, embedding=32, units=64, repeats=1, latency=10)


def parse_args(argv=None) -> argparse.Namespace:
    parser = common.make_parser(__doc__, FULL)
    common.add_flags(parser, "batches", "length", "vocab", "embedding", "units", "repeats")
    parser.add_argument("--attention", default="luong_general", help="build_model attention")
    parser.add_argument("--beam-width", dest="beam_width", type=int, default=5)
    parser.add_argument(
        "--latency-calls", dest="latency", type=int, help="single-sentence SavedModel calls"
    )
    parser.add_argument("--no-loop", action="store_true", help="skip the per-token loop rows")
    common.add_precision_flags(parser)
    args = common.parse(parser, argv, FULL, QUICK)
    args.batches = [int(b) for b in str(args.batches).split(",")]
    return args


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def build_translator(args):
    """A Translator with random weights whose word vocabularies hold `vocab` tokens."""
    import keras

    import kseq2seq
    from kseq2seq.text import WordTokenizer

    words = [f"w{index}" for index in range(args.vocab - 4)]
    tokenizer = WordTokenizer(lowercase=True, max_vocab_size=args.vocab).fit([" ".join(words)])
    keras.utils.set_random_seed(args.seed)
    keras.config.set_dtype_policy(args.dtype_policy)  # recorded in the model's config
    model = kseq2seq.build_model(
        float32_logits=args.float32_logits,
        source_vocab_size=tokenizer.vocab_size,
        target_vocab_size=tokenizer.vocab_size,
        embedding_dim=args.embedding,
        units=args.units,
        attention=args.attention,
    )
    bias = next(w for w in model.weights if w.path.endswith("output_projection/bias"))
    value = keras.ops.convert_to_numpy(bias).copy()
    value[kseq2seq.special_tokens.EOS_ID] = -1e4  # never ends: every row makes `length` tokens
    bias.assign(value)
    translator = kseq2seq.Translator(model, tokenizer, tokenizer, max_source_length=args.length)
    return translator, words


def per_token_predict_loop(pieces):
    """The keras.io seq2seq example's inference, over kseq2seq's layers.

    Returns `decode(source_ids, max_length, eager=False) -> tokens`:
    `encoder.predict` once, then `step.predict` once per token, argmax in
    NumPy; with `eager=True` the models are called directly (`model(x)`)
    instead of through `predict`.
    """
    import keras

    from kseq2seq.special_tokens import BOS_ID

    class Encoder(keras.Model):
        def __init__(self):
            super().__init__()
            self.encoder, self.decoder = pieces.encoder, pieces.decoder

        def call(self, source_ids):
            context, carry = pieces.encode(source_ids)
            return [context[key] for key in sorted(context)] + list(carry)

    class Step(keras.Model):
        def __init__(self, context_keys):
            super().__init__()
            self.decoder = pieces.decoder
            self.context_keys = context_keys

        def call(self, inputs):
            token_ids, *rest = inputs
            context = dict(zip(self.context_keys, rest[: len(self.context_keys)]))
            carry = tuple(rest[len(self.context_keys) :])
            logits, carry = pieces.step(keras.ops.reshape(token_ids, (-1,)), carry, context)
            return [logits, *carry]

    context_keys = None
    encoder, step = Encoder(), None

    def decode(source_ids, max_length, eager=False):
        nonlocal context_keys, step
        batch = len(source_ids)
        if step is None:
            context, _ = pieces.encode(source_ids[:1])
            context_keys = sorted(context)
            step = Step(context_keys)
        if eager:
            states = encoder(source_ids, training=False)
        else:
            states = encoder.predict(source_ids, batch_size=batch, verbose=0)
        context = states[: len(context_keys)]
        carry = states[len(context_keys) :]
        target = np.full((batch, 1), BOS_ID, dtype="int32")
        tokens = []
        for _ in range(max_length):
            if eager:
                logits, *carry = step([target, *context, *carry], training=False)
                logits = keras.ops.convert_to_numpy(logits)
            else:
                inputs = [target, *context, *carry]
                logits, *carry = step.predict(inputs, batch_size=batch, verbose=0)
            chosen = logits.argmax(axis=-1).astype("int32")
            tokens.append(chosen)
            target = chosen[:, None]
        return np.stack(tokens, axis=1)

    return decode


def timed(function, repeats: int) -> float:
    function()  # traces and compiles
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv=None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras

    from kseq2seq.models.inference import InferencePieces
    from kseq2seq.samplers import BeamSampler, GreedySampler, decode

    backend = keras.backend.backend()
    translator, words = build_translator(args)
    pieces = InferencePieces(translator.model)
    rng = np.random.default_rng(args.seed)
    length, k = args.length, args.beam_width
    loop = per_token_predict_loop(pieces)
    rows = []

    def add(method, batch, seconds, agree=None):
        rows.append(
            dict(
                method=method,
                batch=batch,
                seconds=seconds,
                sentences_per_s=batch / seconds,
                tokens_per_s=batch * length / seconds,
                agree=agree,
            )
        )
        log(f"  {method:<34} batch {batch:>4}: {seconds * 1000:9.1f} ms")

    saved = None
    if backend == "tensorflow":
        import tensorflow as tf

        directory = Path(tempfile.mkdtemp(prefix="kseq2seq-bench-")) / "saved"
        log(f"Exporting the SavedModel to {directory}")
        translator.export(directory, max_length=length)
        saved = tf.saved_model.load(str(directory))
    else:
        log(f"SavedModel rows skipped: exporting needs the TensorFlow backend (this is {backend})")

    for batch in args.batches:
        source_ids = rng.integers(4, args.vocab, (batch, length)).astype("int32")
        texts = [" ".join(words[i - 4] for i in row) for row in source_ids]
        greedy_tokens = decode(pieces, source_ids, GreedySampler(), max_length=length).tokens
        assert greedy_tokens.shape == (batch, length), greedy_tokens.shape
        add(
            "compiled greedy",
            batch,
            timed(partial(decode, pieces, source_ids, GreedySampler(), length), args.repeats),
        )
        add(
            f"compiled beam {k}",
            batch,
            timed(
                partial(decode, pieces, source_ids, BeamSampler(num_beams=k), length),
                args.repeats,
            ),
        )
        if not args.no_loop:
            agree = float(np.mean(loop(source_ids, length) == greedy_tokens))
            add(
                "per-token predict() loop, greedy",
                batch,
                timed(partial(loop, source_ids, length), args.repeats),
                agree,
            )
            agree = float(np.mean(loop(source_ids, length, eager=True) == greedy_tokens))
            add(
                "per-token eager call loop, greedy",
                batch,
                timed(partial(loop, source_ids, length, eager=True), args.repeats),
                agree,
            )
        if saved is not None:
            translate = saved.signatures["translate"]
            text = tf.constant(texts)
            for width, name in ((1, "SavedModel greedy"), (k, f"SavedModel beam {k}")):
                run = partial(
                    translate,
                    text=text,
                    beam_width=tf.constant(width),
                    max_length=tf.constant(length),
                )
                add(name, batch, timed(run, args.repeats))

    latency = None
    if saved is not None:
        serve = saved.signatures["serving_default"]
        one = tf.constant([" ".join(rng.choice(words, length))])
        serve(text=one)
        times = []
        for _ in range(args.latency):
            start = time.perf_counter()
            serve(text=one)
            times.append(time.perf_counter() - start)
        latency = dict(
            p50_ms=float(np.percentile(times, 50) * 1000),
            p95_ms=float(np.percentile(times, 95) * 1000),
            calls=args.latency,
        )

    report(rows, latency, args, backend)
    return 0


def report(rows, latency, args, backend) -> None:
    def find(method, batch):
        return next((r for r in rows if r["method"] == method and r["batch"] == batch), None)

    k = args.beam_width
    print(
        f"\nDecoding throughput, KERAS_BACKEND={backend}, {args.attention}, vocabulary "
        f"{args.vocab}, embedding {args.embedding}, {args.units} LSTM units, "
        f"{args.length} source and {args.length} output tokens per sentence, "
        f"median of {args.repeats}\n"
    )
    print("| method | batch | ms / batch | sentences/s | tokens/s | vs per-token loop |")
    print("|---|---:|---:|---:|---:|---:|")
    for row in rows:
        loop = find("per-token predict() loop, greedy", row["batch"])
        speedup = f"{loop['seconds'] / row['seconds']:.1f}x" if loop else "-"
        agree = ""
        if row["agree"] is not None:  # random weights: near-ties may flip an argmax
            agree = f" ({row['agree']:.1%} same tokens)" if row["agree"] < 1 else " (same tokens)"
        print(
            f"| {row['method']}{agree} | {row['batch']} | {row['seconds'] * 1000:.1f} | "
            f"{row['sentences_per_s']:.1f} | {row['tokens_per_s']:.0f} | {speedup} |"
        )
    summary = {}
    print("\nGoals:")
    greedy32, loop32 = find("compiled greedy", 32), find("per-token predict() loop, greedy", 32)
    if greedy32 and loop32:
        summary["greedy_vs_loop_batch32"] = loop32["seconds"] / greedy32["seconds"]
        print(
            f"- compiled greedy vs per-token loop at batch 32: "
            f"{summary['greedy_vs_loop_batch32']:.1f}x faster (goal >= 20x)"
        )
    for batch in args.batches:
        greedy, beam = find("compiled greedy", batch), find(f"compiled beam {k}", batch)
        if greedy and beam:
            summary[f"beam{k}_over_greedy_batch{batch}"] = beam["seconds"] / greedy["seconds"]
            print(
                f"- beam {k} time / greedy time at batch {batch}: "
                f"{beam['seconds'] / greedy['seconds']:.2f}x (goal <= 4x)"
            )
    if latency:
        print(
            f"\nSavedModel single-sentence latency (serving_default, {latency['calls']} calls): "
            f"p50 {latency['p50_ms']:.1f} ms, p95 {latency['p95_ms']:.1f} ms"
        )
    if args.json:
        import keras

        environment = dict(
            backend=backend,
            keras=keras.__version__,
            python=platform.python_version(),
            cpu_count=os.cpu_count(),
            load_average=os.getloadavg() if hasattr(os, "getloadavg") else None,
        )
        Path(args.json).write_text(
            json.dumps(
                dict(
                    settings=vars(args),
                    environment=environment,
                    rows=rows,
                    latency=latency,
                    summary=summary,
                ),
                indent=2,
            )
            + "\n"
        )


if __name__ == "__main__":
    sys.exit(main())
