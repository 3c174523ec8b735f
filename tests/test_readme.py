"""The README's examples run, and CI runs the README's commands."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _blocks(language):
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


@pytest.mark.slow
def test_python_examples_each_run_alone(tmp_path, monkeypatch):
    # A reader copies one example, not the page: each runs in a fresh namespace and an empty
    # directory, so that none leans on a name or a file another one made.
    blocks = _blocks("python")
    assert len(blocks) >= 3
    for index, block in enumerate(blocks):
        directory = tmp_path / f"example{index}"
        directory.mkdir()
        monkeypatch.chdir(directory)
        exec(compile(block, f"README.md, python example {index + 1}", "exec"), {})
    assert (tmp_path / "example0" / "reverse.keras").is_file()


def test_ci_runs_the_readme_test_command():
    commands = _blocks("bash")
    test_command = next(command for command in commands if "pytest" in command).strip()
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    # Every step of the README's command appears in .ci/run, in order.
    steps = [step.strip() for step in test_command.split("&&")]
    positions = [ci.find(step) for step in steps]
    assert -1 not in positions, [s for s, p in zip(steps, positions) if p == -1]
    assert positions == sorted(positions)
    assert any("kseq2seq demo" in command for command in commands)
