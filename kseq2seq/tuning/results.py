"""The trials of a search as a table: printed, and saved as TSV and JSON."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import keras_tuner

from kseq2seq.atomic import atomic_write


def results_table(tuner: keras_tuner.Tuner) -> list[dict[str, Any]]:
    """The trials of a search, best first.

    Returns:
        One dict per trial: `trial_id`, `status`, `score` (the objective at the best epoch;
        None if the trial did not complete), `best_step`, `hyperparameters` (the active ones,
        without keras-tuner's own `tuner/...` entries) and `metrics` (at the best step).
    """
    sign = 1 if getattr(tuner.oracle.objective, "direction", "min") == "min" else -1
    rows = []
    for trial in tuner.oracle.trials.values():
        hp, metrics = trial.hyperparameters, {}
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

    def order(row):  # unscored trials last
        score = row["score"]
        unscored = score is None or math.isnan(score)
        return (unscored, 0.0 if unscored else sign * score, row["trial_id"])

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
    """Writes `results.tsv` and `results.json` into `directory` atomically; returns their paths."""
    completed = [row for row in rows if row["score"] is not None]
    document = {"objective": objective_name, "best": (completed or [None])[0], "trials": rows}
    tsv = "".join("\t".join(line) + "\n" for line in _tabulate(rows))
    return (
        atomic_write(Path(directory, "results.tsv"), tsv),
        atomic_write(
            Path(directory, "results.json"), json.dumps(document, indent=2, default=str) + "\n"
        ),
    )


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
    return f"{value:.4g}" if isinstance(value, float) else str(value)
