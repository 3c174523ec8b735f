"""The example scripts run end to end on a tiny corpus."""

import runpy
import sys
from pathlib import Path

import pytest

from kseq2seq.datasets import default_corpus, save_tsv

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _run(script, *args, monkeypatch):
    monkeypatch.setattr(sys, "argv", [script, *map(str, args)])
    runpy.run_path(str(EXAMPLES / script), run_name="__main__")


@pytest.mark.slow
def test_train_fine_tune_and_translate_a_file(tmp_path, monkeypatch, capsys):
    pairs = tmp_path / "pairs.tsv"
    # Few pairs, so few batches (under JAX each batch shape compiles a train step).
    save_tsv(default_corpus("train")[:130], pairs)
    new_pairs = tmp_path / "new.tsv"
    save_tsv(default_corpus("validation")[:40], new_pairs)
    _run(
        "train_on_your_tsv.py",
        pairs,
        tmp_path / "t1",
        "--epochs",
        "1",
        "--units",
        "32",
        monkeypatch=monkeypatch,
    )
    assert "validation BLEU" in capsys.readouterr().out
    _run(
        "fine_tune_translator.py",
        tmp_path / "t1",
        new_pairs,
        tmp_path / "t2",
        "--epochs",
        "2",
        "--freeze-encoder",
        monkeypatch=monkeypatch,
    )
    assert "loss per epoch" in capsys.readouterr().out
    text = tmp_path / "in.txt"
    text.write_text("Le chat noir.\n\nLa souris mange.\n", encoding="utf-8")
    _run("translate_file.py", tmp_path / "t2", text, tmp_path / "out.txt", monkeypatch=monkeypatch)
    lines = (tmp_path / "out.txt").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3 and lines[1] == ""
