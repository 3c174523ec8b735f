#!/usr/bin/env python
"""Where a training step's CPU time goes, op by op: TensorFlow's profiler over `model.fit`.

Trains one model of `train_throughput.py` (same sizes, data and `fit` call) for a few steps
under `tf.profiler.experimental`, reads the trace it writes (the XSpace protobuf, with
TensorFlow's own `xplane_pb2`; no TensorBoard plugin needed) and sums the time of every op
executed, by region (the forward and backward time loops of the encoder and the decoder, and
everything outside them) and by op type, per step. Ops of one region may run at the same
time on several cores, so a region's sum is CPU time, not wall time; the sums over all
regions come to about the cores' share of the step. `profile_step.py` measures what removing
a piece saves; this script says which ops a step runs and where.

Run from the repository root (TensorFlow only):

    KERAS_BACKEND=tensorflow .venv/bin/python benchmarks/op_profile.py --variant bahdanau
    KERAS_BACKEND=tensorflow .venv/bin/python benchmarks/op_profile.py --variant luong_dot \\
        --dtype-policy mixed_bfloat16
    .venv/bin/python benchmarks/op_profile.py --quick          # smoke run
"""

from __future__ import annotations

import collections
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402
import train_throughput as tt  # noqa: E402  (its data, models and runner)

FULL = dict(tt.FULL, steps=6)
QUICK = dict(tt.QUICK)
REGIONS = (  # (name, substring of the op's name), the first match wins
    ("decoder loop, backward", "decoder_1/while_grad/body"),
    ("decoder loop, forward", "decoder_1/while/body"),
    ("encoder loop, backward", "encoder_1/while_grad/body"),
    ("encoder loop, forward", "encoder_1/while/body"),
)


def parse_args(argv=None):
    parser = common.make_parser(__doc__, FULL)
    common.add_flags(parser, "steps", "warmup", "batch", "length", "units", "embedding", "vocab")
    common.add_precision_flags(parser)
    parser.add_argument("--variant", default="bahdanau", choices=tt.ALL_VARIANTS[:-1])
    parser.add_argument("--top", type=int, default=12, help="op types shown per region")
    return common.parse(parser, argv, FULL, QUICK)


def op_times(trace_dir: str, steps: int) -> collections.Counter:
    """(region, op type) -> ms per step, from the XSpace file the profiler wrote."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    times: collections.Counter = collections.Counter()
    for path in Path(trace_dir).rglob("*.xplane.pb"):
        space = xplane_pb2.XSpace()
        space.ParseFromString(path.read_bytes())
        for plane in space.planes:
            names = {key: value.name for key, value in plane.event_metadata.items()}
            for line in plane.lines:
                for event in line.events:
                    name = names.get(event.metadata_id, "")
                    # Executed ops are named "<op name>:<op type>"; the rest (the executor's
                    # own spans, whole function calls) would count their ops twice.
                    if ":" not in name or "__inference" in name:
                        continue
                    op_name, op_type = name.rsplit(":", 1)
                    if not op_type or " " in op_type or "::" in name:
                        continue
                    region = next((r for r, key in REGIONS if key in op_name), "outside the loops")
                    times[region, op_type] += event.duration_ps / 1e9 / steps
    return times


def main(argv=None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import keras
    import tensorflow as tf

    if keras.backend.backend() != "tensorflow":
        print("op_profile.py reads TensorFlow's profiler: run it with KERAS_BACKEND=tensorflow")
        return 2
    keras.config.set_dtype_policy(args.dtype_policy)
    data = tt.make_data(args)
    runner = tt.build_runner(args.variant, data, args)
    runner.run(args.warmup)
    with tempfile.TemporaryDirectory() as trace_dir:
        tf.profiler.experimental.start(trace_dir)
        wall, cpu, _ = runner.run(args.steps)
        tf.profiler.experimental.stop()
        times = op_times(trace_dir, args.steps)
    print(
        f"{tt.LABELS[args.variant]}, policy {args.dtype_policy}, batch {args.batch}, "
        f"length {args.length}, units {args.units}, vocab {args.vocab}: "
        f"{wall / args.steps * 1000:.1f} ms a step (wall, profiled), "
        f"{cpu / args.steps * 1000:.1f} ms CPU"
    )
    regions = collections.Counter()
    for (region, _), ms in times.items():
        regions[region] += ms
    print("\n| region | op ms a step |\n|---|---:|")
    for region, ms in regions.most_common():
        print(f"| {region} | {ms:.1f} |")
    for region, _ in regions.most_common():
        rows = sorted(
            ((ms, op) for (where, op), ms in times.items() if where == region), reverse=True
        )
        print(f"\n{region}: " + ", ".join(f"{op} {ms:.1f}" for ms, op in rows[: args.top]))
    if args.json:
        results = {
            "variant": args.variant,
            "dtype_policy": args.dtype_policy,
            "ms_per_step_wall": wall / args.steps * 1000,
            "op_ms_per_step": {f"{region} / {op}": ms for (region, op), ms in times.items()},
        }
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
