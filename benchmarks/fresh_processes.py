"""Training throughput with each model timed alone in a fresh process, alternating.

`train_throughput.py` times every model in one process, one after the other. This script
runs it once per model and round (`--variants NAME`), so that no model shares a process,
its allocator or its thread pools with another, and starts each round one model further on,
so that no model always follows the same one. It reports, per model, the median over rounds
of each run's ms/step, the range, and the ratio of medians against the first model named.

    KERAS_BACKEND=jax .venv/bin/python benchmarks/fresh_processes.py --rounds 5 \\
        --variants keras_reference,luong_dot -- --repeats 4 --steps 12

Everything after `--` goes to train_throughput.py as it is.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

SCRIPT = Path(__file__).with_name("train_throughput.py")


def run_once(variant: str, passthrough: list[str]) -> tuple[float, str]:
    """ms/step of `variant` from one fresh train_throughput.py process, and its backend."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "row.json"
        command = [sys.executable, str(SCRIPT), "--variants", variant, "--json", str(out)]
        subprocess.run(command + passthrough, check=True, capture_output=True)
        result = json.loads(out.read_text(encoding="utf-8"))
    (row,) = result["rows"]
    if "error" in row:
        raise RuntimeError(f"{variant}: {row['error']}")
    return row["ms_per_step"], result["environment"]["backend"]


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    passthrough = argv[argv.index("--") + 1 :] if "--" in argv else []
    own = argv[: argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="runs of each model")
    parser.add_argument(
        "--variants",
        default="keras_reference,luong_dot",
        help="comma list of train_throughput.py variants; ratios are against the first",
    )
    args = parser.parse_args(own)
    variants = [name.strip() for name in args.variants.split(",") if name.strip()]
    if args.rounds < 1 or not variants:
        parser.error("--rounds must be >= 1 and --variants must name a model")
    times: dict[str, list[float]] = {name: [] for name in variants}
    for round_ in range(args.rounds):
        order = variants[round_ % len(variants) :] + variants[: round_ % len(variants)]
        for name in order:
            milliseconds, backend = run_once(name, passthrough)
            times[name].append(milliseconds)
            print(f"round {round_ + 1} {name}: {times[name][-1]:.1f} ms/step", flush=True)
    reference = statistics.median(times[variants[0]])
    print(f"\nbackend {backend}; {args.rounds} fresh processes a model; passed on: {passthrough}")
    print(f"| model | median ms/step | range | speed vs {variants[0]} |")
    print("| --- | ---: | ---: | ---: |")
    for name in variants:
        median = statistics.median(times[name])
        print(
            f"| {name} | {median:.1f} | {min(times[name]):.1f}-{max(times[name]):.1f} "
            f"| {reference / median:.2f}x |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
