"""The package's folders read as the data flows: no import runs back up.

text -> preprocessor (data) -> layers -> models -> training -> samplers -> Translator ->
SavedModel (export), with the pictures, the tuner and the command line above them. A module
may import from its own stage and the stages before it only; the test reads every import
statement of the package (at module level and inside functions) with `ast`.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "kseq2seq"

# Each top-level module or subpackage of kseq2seq, by stage of the data flow.
STAGES = (
    {"special_tokens", "checks", "atomic", "lazy", "shapes", "console", "config"},
    {"text", "datasets"},
    {"data"},
    {"layers"},
    {"models", "auto_config"},
    {"training"},
    {"samplers"},
    {"translator"},
    {"export"},
    {"visualize", "tuning"},
    {"cli", "commands", "train_command", "train_options", "__main__"},
)
STAGE = {unit: index for index, units in enumerate(STAGES) for unit in units}

# Imports that run back up on purpose, each a convenience method inside a function:
# `Translator.export` calls the export module (as `keras.Model.export` does Keras's).
ALLOWED = {("kseq2seq.translator", "kseq2seq.export")}


def _unit(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None  # None: the package itself


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path):
    """The kseq2seq modules that the file at `path` imports, with their line numbers."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "kseq2seq":
                for alias in node.names:
                    yield f"kseq2seq.{alias.name}", node.lineno
            else:
                yield node.module, node.lineno
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno


def _files():
    return sorted(PACKAGE.rglob("*.py"))


def test_every_module_has_a_stage():
    units = {_unit(_module_name(path)) for path in _files()} - {None}
    assert units - set(STAGE) == set(), "give each new module a stage in STAGES"


@pytest.mark.parametrize("path", _files(), ids=lambda path: str(path.relative_to(PACKAGE)))
def test_no_import_runs_back_up(path):
    module = _module_name(path)
    unit = _unit(module)
    if unit is None:
        return  # kseq2seq/__init__.py names the public API of every stage (lazily)
    backwards = [
        f"line {line}: {imported} (stage {STAGE[_unit(imported)]}) from stage {STAGE[unit]}"
        for imported, line in _imports(path)
        if imported.startswith("kseq2seq.")
        and _unit(imported) in STAGE
        and STAGE[_unit(imported)] > STAGE[unit]
        and not any(module == a and imported.startswith(b) for a, b in ALLOWED)
    ]
    assert backwards == []


def test_the_check_finds_an_import_that_runs_back_up(tmp_path):
    fake = tmp_path / "module.py"
    fake.write_text("def f():\n    from kseq2seq.commands import cmd_demo\n")
    assert list(_imports(fake)) == [("kseq2seq.commands", 2)]
    assert STAGE["commands"] > STAGE["training"]
