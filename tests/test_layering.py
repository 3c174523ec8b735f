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

# Imports that run back up on purpose, each inside a function (a convenience method):
# `Translator.export` calls the export module (as `keras.Model.export` does Keras's).
ALLOWED = {("kseq2seq.translator", "kseq2seq.export")}


def _unit(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None  # None: the package itself


def _module_name(path: Path, package: Path = PACKAGE) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path):
    """`(module, line, at module level)` of every kseq2seq module the file at `path` imports:
    import statements, and the "kseq2seq...." strings of a lazy namespace (`kseq2seq.lazy`)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = set(map(id, tree.body))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}:{node.lineno}: a relative import; name the module"
            names = [node.module]
            if node.module == "kseq2seq":
                names = [f"kseq2seq.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            names = [node.value] if node.value.startswith("kseq2seq.") else []
            names = [name for name in names if name.replace(".", "").isidentifier()]
        else:
            continue
        for name in names:
            yield name, node.lineno, id(node) in top


def _backwards(path: Path, package: Path = PACKAGE) -> list[str]:
    """The imports of the file at `path` (inside `package`) that run back up the stages."""
    module = _module_name(path, package)
    unit = _unit(module)
    if unit is None:
        return []  # kseq2seq/__init__.py names the public API of every stage (lazily)
    found = []
    for imported, line, at_top in _imports(path):
        target = _unit(imported)
        if target not in STAGE or STAGE[target] <= STAGE[unit]:
            continue
        if not at_top and any(module == a and imported.startswith(b) for a, b in ALLOWED):
            continue
        found.append(f"line {line}: {imported} (stage {STAGE[target]}) from stage {STAGE[unit]}")
    return found


def _files():
    return sorted(PACKAGE.rglob("*.py"))


def test_every_module_has_a_stage():
    units = {_unit(_module_name(path)) for path in _files()} - {None}
    assert units - set(STAGE) == set(), "give each new module a stage in STAGES"


@pytest.mark.parametrize("path", _files(), ids=lambda path: str(path.relative_to(PACKAGE)))
def test_no_import_runs_back_up(path):
    assert _backwards(path) == []


def test_the_check_finds_imports_that_run_back_up(tmp_path):
    folder = tmp_path / "kseq2seq" / "training"
    folder.mkdir(parents=True)
    fake = folder / "fake.py"
    fake.write_text(
        "from kseq2seq.layers import decoder\n"  # an earlier stage: fine
        "def f():\n"
        "    from kseq2seq.commands import cmd_demo\n"  # a later stage, inside a function
        "LAZY = {'kseq2seq.translator': ['Translator']}\n"  # a lazy namespace's string
    )
    found = _backwards(fake, package=tmp_path / "kseq2seq")
    assert [entry.split(":")[0] for entry in found] == ["line 3", "line 4"]
    fake.write_text("from .decoder import Decoder\n")
    with pytest.raises(AssertionError, match="relative import"):
        list(_imports(fake))
