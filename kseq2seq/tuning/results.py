"""The trials of a search as a table: printed, and saved as TSV and JSON."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import keras_tuner


def results_table(tuner: keras_tuner.Tuner) -> list[dict[str, Any]]:
    """The trials of a search, best first.

    Returns:
        One dict per trial: `trial_id`, `status`, `score` (the objective at the best epoch;
        None if the trial did not complete), `best_step`, `hyperparameters` (the active ones,
        without keras-tuner's own `tuner/...` entries) and `metrics` (`val_loss`,
        `val_bleu`, ... at the best step).
    """
    oracle = tuner.oracle
    direction = getattr(oracle.objective, "direction", "min")
    rows = []
    for trial in oracle.trials.values():
        hp = trial.hyperparameters
        metrics = {}
        for name in sorted(trial.metrics.metrics):
            history = trial.metrics.get_history(name)
            at_best = [m for m in history if m.step == trial.best_step] or history[-1:]
            if at_best:
                metrics[name] = float(at_best[0].value[0])
        rows.append(
            {
                "trial_id": trial.trial_id,
                "status": trial.status,
                "score": None if trial.score is None else float(trial.score),
                "best_step": trial.best_step,
                "hyperparameters": {
                    name: value
                    for name, value in hp.values.items()
                    if not name.startswith("tuner/") and hp.is_active(name)
                },
                "metrics": metrics,
            }
        )

    def order(row):
        score = row["score"]
        if score is None or math.isnan(score):
            return (1, 0.0, row["trial_id"])
        return (0, score if direction == "min" else -score, row["trial_id"])

    return sorted(rows, key=order)


def format_results(rows: list[dict[str, Any]]) -> str:
    """The rows of `results_table` as an aligned text table."""
    lines = _tabulate(rows)
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() for line in lines
    )


def save_results(
    rows: list[dict[str, Any]], directory: str | os.PathLike, objective_name: str = ""
) -> tuple[Path, Path]:
    """Writes `results.tsv` and `results.json` into `directory`, each atomically.

    Returns:
        The paths of the two files.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tsv = "".join("\t".join(line) + "\n" for line in _tabulate(rows))
    completed = [row for row in rows if row["score"] is not None]
    document = {"objective": objective_name, "best": (completed or [None])[0], "trials": rows}
    paths = directory / "results.tsv", directory / "results.json"
    for path, text in zip(paths, (tsv, json.dumps(document, indent=2, default=str) + "\n")):
        temporary = path.with_name(f".{path.name}.tmp{os.getpid()}")
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    return paths


def _tabulate(rows: list[dict[str, Any]]) -> list[list[str]]:
    """The header and one line of cells per row."""
    names = list(dict.fromkeys(name for row in rows for name in row["hyperparameters"]))
    metric_names = list(dict.fromkeys(name for row in rows for name in row["metrics"]))
    lines = [["trial_id", "status", "score", *names, *metric_names]]
    for row in rows:
        cells = [row["trial_id"], row["status"], row["score"]]
        cells += [row["hyperparameters"].get(name, "-") for name in names]
        cells += [row["metrics"].get(name, "-") for name in metric_names]
        lines.append([_show(cell) for cell in cells])
    return lines


def _show(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
