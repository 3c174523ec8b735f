"""A quiet, quick command: no TensorFlow for --help, no native log lines, no spurious warnings."""

import io
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from kseq2seq.console import progress_verbosity

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("tensorflow", "keras", "jax", "keras_tuner", "matplotlib")

# Runs `python -m kseq2seq ARGS` in this process, then lists the heavy modules it imported.
RUN_COMMAND = """
import runpy, sys
sys.argv = ["kseq2seq", *sys.argv[1:]]
try:
    runpy.run_module("kseq2seq", run_name="__main__")
except SystemExit as exit:
    code = exit.code
heavy = [name for name in {heavy!r} if name in sys.modules]
print("HEAVY", code, "[" + ",".join(heavy) + "]", file=sys.stderr)
"""


def _run(*arguments):
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", RUN_COMMAND.format(heavy=HEAVY), *arguments],
        capture_output=True,
        text=True,
        timeout=120,
        env=environment,
    )
    _, code, heavy = result.stderr.strip().splitlines()[-1].split(" ", 2)
    return result, int(code), heavy.strip("[]")


@pytest.mark.parametrize(
    "arguments, code",
    [
        (["--help"], 0),
        (["train", "--help"], 0),
        (["tune", "--help"], 0),
        (["attention", "--help"], 0),
        (["train", "pairs.tsv", "--outptu", "model"], 2),  # a mistyped option
        (["translate", "--model", "m", "--beam-width", "x"], 2),
        (["nonsense"], 2),
    ],
)
def test_help_and_usage_errors_import_no_tensorflow(arguments, code):
    result, exit_code, heavy = _run(*arguments)
    assert exit_code == code, result.stderr
    assert heavy == "", f"{' '.join(arguments)} imported {heavy}"
    assert "usage: kseq2seq" in result.stdout + result.stderr


def test_import_kseq2seq_is_lazy_and_complete():
    code = (
        "import sys, kseq2seq, kseq2seq.tuning, kseq2seq.visualize;"
        f"print([name for name in {HEAVY!r} if name in sys.modules])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.stdout.strip() == "[]", result.stderr
    import kseq2seq

    for name in kseq2seq.__all__:
        assert getattr(kseq2seq, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        kseq2seq.nothing  # noqa: B018


@pytest.mark.parametrize("given, expected", [(None, "1"), ("0", "0")])
def test_import_kseq2seq_turns_on_tensorflows_onednn_unless_the_user_chose(given, expected):
    # TensorFlow reads TF_ENABLE_ONEDNN_OPTS when it loads, after `import kseq2seq`.
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    environment.pop("TF_ENABLE_ONEDNN_OPTS", None)
    if given is not None:
        environment["TF_ENABLE_ONEDNN_OPTS"] = given
    code = "import os, kseq2seq; print(os.environ['TF_ENABLE_ONEDNN_OPTS'])"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=environment
    )
    assert result.stdout.strip() == expected, result.stderr


HIDE = r"""
import os, sys
from kseq2seq.console import hide_native_logs
with hide_native_logs():
    os.write(2, b"WARNING: All log messages before absl::InitializeLog() is called are written\n")
    os.write(2, b"I0000 00:00:1796170364.653577    5717 port.cc:153] oneDNN custom operations\n")
    os.write(2, b"E0000 00:00:1796170364.654078    5717 cuda.cc:1] failed call to cuInit\n")
    os.write(2, b"To enable the following instructions: AVX2 FMA, in other operations, rebuild "
                b"TensorFlow with the appropriate compiler flags.\n")
    os.write(2, b"a line of a library\n")
    print("a Python warning", file=sys.stderr)
print("after", file=sys.stderr)
"""


def test_native_log_lines_are_hidden_and_the_rest_kept():
    result = subprocess.run(
        [sys.executable, "-c", HIDE],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert sorted(lines) == ["a Python warning", "a line of a library", "after"]


def test_progress_is_one_line_per_epoch_unless_on_a_terminal():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    assert progress_verbosity(None, io.StringIO()) == 2
    assert progress_verbosity(None, Terminal()) == 1
    assert progress_verbosity(0, Terminal()) == 0


def test_fit_with_validation_does_not_run_out_of_data():
    import keras

    from kseq2seq.datasets.default_corpus import default_corpus
    from kseq2seq.translator import Translator

    keras.utils.set_random_seed(0)
    pairs = [(e.source, e.target) for e in default_corpus("train")[:48]]
    translator = Translator.from_pairs(pairs[:40], embedding_dim=8, units=8)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = translator.fit(pairs[:40], pairs[40:], epochs=2, batch_size=16, verbose=0)
    assert len(history.history["val_loss"]) == 2
    assert not [w for w in caught if "ran out of data" in str(w.message)]
