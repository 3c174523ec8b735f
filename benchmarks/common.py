"""The command-line flags the benchmarks share, and their presets (full size or --quick)."""

from __future__ import annotations

import argparse
import os

# What `import kseq2seq` sets (kseq2seq/__init__.py), here for the scripts that load TensorFlow
# before kseq2seq: TensorFlow's oneDNN kernels, for the Keras references in the same run too.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

# name -> (type, help); a benchmark picks the ones it has.
FLAGS = {
    "steps": (int, "timed training steps per repeat"),
    "repeats": (int, "timed repeats per cell (median kept)"),
    "warmup": (int, "untimed warm-up (compile) steps per cell"),
    "batch": (int, "sentences per batch"),
    "batches": (str, "comma-separated batch sizes (sentences)"),
    "length": (int, "source and target length in tokens"),
    "units": (int, "LSTM units (encoder and decoder)"),
    "embedding": (int, "embedding size"),
    "vocab": (int, "source and target vocabulary size"),
}
MINIMUM = {"warmup": 0, "vocab": 5}


def make_parser(doc: str, full: dict, epilog: str = "") -> argparse.ArgumentParser:
    """A parser with the script's description, `--quick`, `--json OUT` and `--seed`; the full
    preset's defaults are listed in its help."""
    parser = argparse.ArgumentParser(
        description=doc.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=epilog + "Full-size defaults: " + ", ".join(f"--{k} {v}" for k, v in full.items()),
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run")
    parser.add_argument("--json", metavar="OUT", help="also write the results as JSON to OUT")
    parser.add_argument("--seed", type=int, default=0, help="seed of the data and the weights")
    return parser


def add_flags(parser: argparse.ArgumentParser, *names: str) -> None:
    """Adds the shared flags `names` (see FLAGS); each defaults to its preset's value."""
    for name in names:
        kind, help = FLAGS[name]
        parser.add_argument(f"--{name}", type=kind, help=help)


def add_precision_flags(parser: argparse.ArgumentParser) -> None:
    """`--dtype-policy` (Keras's global policy) and `--low-precision-logits` (kseq2seq's
    `float32_logits=False`); `parse` sets `args.float32_logits` from the latter."""
    parser.add_argument(
        "--dtype-policy",
        default="float32",
        choices=("float32", "mixed_bfloat16", "mixed_float16"),
        help="Keras's global dtype policy for every Keras model (PyTorch stays float32)",
    )
    parser.add_argument(
        "--low-precision-logits",
        action="store_true",
        help="kseq2seq models: float32_logits=False, the vocabulary projection in the mixed "
        "policy's compute dtype (as the Keras references' Dense), not in float32",
    )


def parse(parser: argparse.ArgumentParser, argv, full: dict, quick: dict) -> argparse.Namespace:
    """Parses `argv`, fills what was not given from the preset (`quick` with --quick), and
    refuses integer flags below their minimum (1, or MINIMUM's)."""
    args = parser.parse_args(argv)
    for key, value in (quick if args.quick else full).items():
        if getattr(args, key, None) is None:
            setattr(args, key, value)
    for key, (kind, _) in FLAGS.items():
        value = getattr(args, key, None)
        if kind is int and value is not None and value < MINIMUM.get(key, 1):
            parser.error(f"--{key} must be >= {MINIMUM.get(key, 1)}")
    if hasattr(args, "low_precision_logits"):
        args.float32_logits = not args.low_precision_logits
    return args


def time_calls(runs: dict, repeats: int, steps: int) -> dict:
    """name -> a call's milliseconds, one value a repeat (mean of `steps` calls): every
    function of `runs` called twice first (compilation, warm-up), then the rows timed
    round-robin, so that a change in the machine's load hits them alike."""
    import time

    for run in runs.values():
        run()
        run()
    times = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            start = time.perf_counter()
            for _ in range(steps):
                run()
            times[name].append((time.perf_counter() - start) / steps * 1000)
    return times


def make_timer(unit: str = "epoch"):
    """A Keras callback whose `seconds` lists the wall time of each epoch (`"epoch"`: from
    `on_epoch_begin` to `on_epoch_end`, every callback hook included) or of each training
    step (`"batch"`). Only the hooks of `unit` are defined: a callback with batch hooks makes
    Keras read each step's logs before the next step starts, which an epoch timer must not."""
    import time

    import keras

    hooks = {"epoch": "on_epoch", "batch": "on_train_batch"}
    if unit not in hooks:
        raise ValueError(f"unit must be one of {sorted(hooks)}. Received: {unit!r}")

    class Timer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seconds = []
            self.started = None

    def begin(self, index, logs=None):
        self.started = time.perf_counter()

    def end(self, index, logs=None):
        self.seconds.append(time.perf_counter() - self.started)

    setattr(Timer, f"{hooks[unit]}_begin", begin)
    setattr(Timer, f"{hooks[unit]}_end", end)
    return Timer()
