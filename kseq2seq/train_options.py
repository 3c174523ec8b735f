"""What an interrupted `kseq2seq train` was started with, so that it resumes only as itself.

`OUTPUT.partial/options.json` records every option that shapes the model, its vocabularies or
the stream of batches; a run resumes only with the same ones.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from kseq2seq.config import Seq2SeqConfig, command_line_fields

RECORD = "options.json"

# The command-line flag of each recorded option (the model's without one are named as config-file
# options).
FLAGS = {
    **{field.name: field.metadata["flag"] for field in command_line_fields()},
    "tokenizer": "--tokenizer",
    "vocab_size": "--vocab-size",
    "lowercase": "--lowercase-source",
    "target_lowercase": "--lowercase-target",
    "shared_vocabulary": "--shared-vocabulary",
    "batch_size": "--batch-size",
    "learning_rate": "--learning-rate",
    "seed": "--seed",
    "validation": "--validation",
    "skip_malformed": "--skip-malformed",
    "pairs": "PAIRS",
}
# Set from the data (the vocabularies).
_DERIVED = ("source_vocab_size", "target_vocab_size")


def file_digest(path: str | Path) -> str:
    """The SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while block := stream.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def run_options(model: dict[str, Any], training: dict[str, Any]) -> dict[str, Any]:
    """The record of a run: the model's options (as asked for) and the training options."""
    kept = {key: value for key, value in model.items() if key not in _DERIVED}
    return {"model": kept, **training}


def _flat(options: dict[str, Any]) -> dict[str, Any]:
    return {**options.get("model", {}), **{k: v for k, v in options.items() if k != "model"}}


def _shown(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def differences(recorded: dict[str, Any], asked: dict[str, Any]) -> list[str]:
    """One line per option whose value differs: `--units: 64 then, 256 now`."""
    before, now = _flat(recorded), _flat(asked)
    lines = []
    for key in now:  # the order of the command's options
        if key in before and before[key] != now[key]:
            name = FLAGS.get(key, f"config option {key}")
            if key == "pairs":
                lines.append("PAIRS: not the file (contents) the run began with")
            else:
                lines.append(f"{name}: {_shown(before[key])} then, {_shown(now[key])} now")
    return lines


def check_resumable(state: Path, asked: dict[str, Any]) -> None:
    """Raises ValueError naming each option that differs from the run kept in `state`."""
    record = state / RECORD
    if record.is_file():
        recorded = json.loads(record.read_text(encoding="utf-8"))
    else:  # a state from before the record: only the model to compare
        config = Seq2SeqConfig.load(state / "config.json").to_dict()
        config.pop("mixed_precision")  # there, build_model's record of the global policy
        recorded = run_options(config, {})
    lines = differences(recorded, asked)
    if lines:
        listed = "".join(f"\n  {line}" for line in lines)
        raise ValueError(
            f"{state} holds an interrupted run made with other options:{listed}\n"
            "Rerun with the same options to resume it, or add --restart to discard it and "
            "start afresh."
        )


def save_record(state: Path, options: dict[str, Any]) -> None:
    state.mkdir(parents=True, exist_ok=True)
    (state / RECORD).write_text(json.dumps(options, indent=2) + "\n", encoding="utf-8")
