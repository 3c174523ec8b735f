"""benchmarks/gpu_train.py: its FLOP count and a smoke run on CPU."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import gpu_train  # noqa: E402


def test_training_flops_match_the_weights_of_the_model():
    # Independently: 2 FLOPs per weight per token it multiplies, from the
    # kernels of the very model the benchmark trains, 3 x for training.
    args = gpu_train.parse_args(["--quick", "--vocab", "30"])
    model = gpu_train.build_kseq2seq(12, args)
    batch, length = 3, 7
    kernels = {w.path: int(np.prod(w.shape)) for w in model.weights if w.path.endswith("kernel")}
    recurrent = sum(size for path, size in kernels.items() if "_rnn_" in path)
    keys = sum(size for path, size in kernels.items() if path.startswith("decoder/attention/"))
    combine = kernels["decoder/attention_projection/kernel"]
    output = kernels["decoder/output_projection/kernel"]
    assert recurrent == 2 * 2 * 2 * 4 * 12 * 12  # 2 RNNs x 2 layers x (kernel, recurrent)
    forward = 2 * recurrent * length  # each RNN over its `length` tokens
    forward += 2 * keys * length + 2 * combine * length + 2 * output * length
    forward += 2 * 2 * length * length * 12  # scores and context
    expected = 3 * forward * batch
    assert gpu_train.training_flops(12, batch, length, 30) == pytest.approx(expected)


def test_quick_run_prints_a_row_per_cell(tmp_path, capsys):
    out = tmp_path / "gpu.json"
    code = gpu_train.main(
        ["--quick", "--batches", "4", "--steps", "1", "--warmup", "0", "--no-torch"]
        + ["--no-decode", "--json", str(out)]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "| 2x16 | 4 |" in printed and "peak for MFU: n/a" in printed
    (row,) = json.loads(out.read_text())["rows"]
    assert row["units"] == 16 and row["kseq2seq"]["tokens_per_s"] > 0
    assert row["kseq2seq"]["mfu"] is None  # no known peak on a CPU


def test_bad_flags_are_named(capsys):
    with pytest.raises(SystemExit):
        gpu_train.parse_args(["--sizes", "512,x"])
    assert "--sizes must be comma-separated integers" in capsys.readouterr().err
