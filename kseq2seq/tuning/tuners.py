"""Tuners over `Seq2SeqHyperModel`, their results, and the best translator."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import keras_tuner

from kseq2seq.tuning.hypermodel import Seq2SeqHyperModel
from kseq2seq.tuning.names import OBJECTIVES, TUNERS  # noqa: F401 (also exported here)


def tuning_objective(name: str | keras_tuner.Objective) -> keras_tuner.Objective:
    """The `keras_tuner.Objective` of a metric name, with its direction.

    Args:
        name: `"val_loss"` (minimised), `"val_bleu"` (maximised), `"loss"`,
            `"val_masked_accuracy"`, or an `Objective` (returned as is).

    Returns:
        A `keras_tuner.Objective`.
    """
    if isinstance(name, keras_tuner.Objective):
        return name
    if name not in OBJECTIVES:
        raise ValueError(
            f"Unknown objective: {name!r}. Valid options: {', '.join(map(repr, OBJECTIVES))} "
            "(or a keras_tuner.Objective)"
        )
    return keras_tuner.Objective(name, direction=OBJECTIVES[name])


def make_tuner(
    hypermodel: Seq2SeqHyperModel,
    tuner: str = "random",
    objective: str | keras_tuner.Objective = "val_loss",
    max_trials: int | None = 10,
    epochs: int | None = None,
    executions_per_trial: int = 1,
    directory: str | os.PathLike | None = None,
    project_name: str = "kseq2seq",
    overwrite: bool = False,
    seed: int | None = None,
    **kwargs: Any,
) -> keras_tuner.Tuner:
    """A `RandomSearch`, `BayesianOptimization` or `Hyperband` tuner.

    Args:
        hypermodel: the `Seq2SeqHyperModel`.
        tuner: `"random"`, `"bayesian"` or `"hyperband"`.
        objective: `"val_loss"`, `"val_bleu"`, ... (see `tuning_objective`).
        max_trials: the most trials. Hyperband's brackets decide its number
            of trials; `max_trials` only caps it there.
        epochs: Hyperband's `max_epochs` (required for it); unused otherwise.
        executions_per_trial: models trained per trial (their scores averaged).
        directory, project_name: where the search is kept: a search resumes
            from there unless `overwrite`.
        overwrite: start afresh, deleting an earlier search.
        seed: the random seed of the oracle.
        **kwargs: other arguments of the tuner class (e.g. `factor`,
            `num_initial_points`).

    Returns:
        The tuner; call `search(epochs=...)` (and data, unless the hypermodel
        holds pairs).
    """
    if tuner not in TUNERS:
        raise ValueError(f"Unknown tuner: {tuner!r}. Valid options: {', '.join(map(repr, TUNERS))}")
    for name, value in (("max_trials", max_trials), ("executions_per_trial", executions_per_trial)):
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < 1
        ):
            raise ValueError(f"{name} must be a positive integer. Received: {name}={value!r}")
    common = dict(
        hypermodel=hypermodel,
        objective=tuning_objective(objective),
        executions_per_trial=executions_per_trial,
        directory=None if directory is None else os.fspath(directory),
        project_name=project_name,
        overwrite=overwrite,
        seed=seed,
        **kwargs,
    )
    if tuner == "random":
        return keras_tuner.RandomSearch(max_trials=max_trials, **common)
    if tuner == "bayesian":
        return keras_tuner.BayesianOptimization(max_trials=max_trials, **common)
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(
            f"The hyperband tuner needs epochs (its max_epochs), a positive integer. "
            f"Received: epochs={epochs!r}"
        )
    hyperband = keras_tuner.Hyperband(max_epochs=epochs, **common)
    if max_trials is not None and hyperband.oracle.max_trials is None:
        hyperband.oracle.max_trials = max_trials
    return hyperband


def best_translator(
    tuner: keras_tuner.Tuner,
    hypermodel: Seq2SeqHyperModel | None = None,
    train_pairs: Sequence[tuple[str, str]] | None = None,
    validation_pairs: Sequence[tuple[str, str]] | None = None,
    epochs: int = 10,
    callbacks: list | None = None,
    verbose: Any = 0,
):
    """Rebuilds the best trial's model from its hyperparameters and trains it.

    Args:
        tuner: a tuner that has run at least one trial.
        hypermodel: the `Seq2SeqHyperModel` (with tokenizers); by default the
            tuner's.
        train_pairs, validation_pairs: `(source, target)` pairs; by default
            the hypermodel's.
        epochs: training epochs.
        callbacks, verbose: passed to `Translator.fit`.

    Returns:
        The trained `kseq2seq.Translator` (save it with `.save(directory)`).

    Raises:
        ValueError: the tuner has no completed trial, or the hypermodel has no
            tokenizers or no training pairs.
    """
    hypermodel = hypermodel or tuner.hypermodel
    if not isinstance(hypermodel, Seq2SeqHyperModel):
        raise ValueError(
            f"best_translator needs a Seq2SeqHyperModel. Received: {type(hypermodel).__name__}"
        )
    best = [
        trial
        for trial in tuner.oracle.get_best_trials(1)
        if trial.status == "COMPLETED" and trial.score is not None
    ]
    if not best:
        raise ValueError(
            "The tuner has no completed trial: run tuner.search(...) first (failed trials "
            "have no score; their errors are in the search log)"
        )
    if train_pairs is None:
        train_pairs = hypermodel.train_pairs
    if not train_pairs:
        raise ValueError("No train_pairs to train the best model on")
    if validation_pairs is None:
        validation_pairs = hypermodel.validation_pairs
    hyperparameters = best[0].hyperparameters
    translator = hypermodel.translator(hypermodel.build(hyperparameters))
    translator.fit(
        train_pairs,
        validation_pairs or None,
        epochs=epochs,
        batch_size=hypermodel.batch_size_for(hyperparameters),
        callbacks=callbacks,
        verbose=verbose,
        **hypermodel.dataset_options,
    )
    return translator


# Results ----------------------------------------------------------------------------


def results_table(tuner: keras_tuner.Tuner) -> list[dict[str, Any]]:
    """The trials of a search, best first.

    Returns:
        One dict per trial: `trial_id`, `status`, `score` (the objective at
        the best epoch; None if the trial did not complete), `best_step`,
        `hyperparameters` (the active ones, without keras-tuner's own
        `tuner/...` entries) and `metrics` (`val_loss`, `val_bleu`, ... at the
        best step).
    """
    oracle = tuner.oracle
    direction = getattr(oracle.objective, "direction", "min")
    rows = []
    for trial in oracle.trials.values():
        hyperparameters = {
            name: value
            for name, value in trial.hyperparameters.values.items()
            if not name.startswith("tuner/") and trial.hyperparameters.is_active(name)
        }
        metrics = {}
        for name in sorted(trial.metrics.metrics):
            history = trial.metrics.get_history(name)
            at_best = [m for m in history if m.step == trial.best_step] or history[-1:]
            if at_best:
                metrics[name] = float(at_best[0].value[0])
        score = None if trial.score is None else float(trial.score)
        rows.append(
            {
                "trial_id": trial.trial_id,
                "status": trial.status,
                "score": score,
                "best_step": trial.best_step,
                "hyperparameters": hyperparameters,
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
    header, lines = _tabulate(rows)
    widths = [max(len(str(line[i])) for line in [header, *lines]) for i in range(len(header))]
    return "\n".join(
        "  ".join(str(cell).ljust(width) for cell, width in zip(line, widths)).rstrip()
        for line in [header, *lines]
    )


def save_results(
    rows: list[dict[str, Any]], directory: str | os.PathLike, objective_name: str = ""
) -> tuple[Path, Path]:
    """Writes `results.tsv` and `results.json` into `directory`, atomically.

    Returns:
        The paths of the two files.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    header, lines = _tabulate(rows)
    tsv = "\n".join("\t".join(str(cell) for cell in line) for line in [header, *lines]) + "\n"
    completed = [row for row in rows if row["score"] is not None]
    document = {
        "objective": objective_name,
        "best": completed[0] if completed else None,
        "trials": rows,
    }
    paths = directory / "results.tsv", directory / "results.json"
    for path, text in zip(paths, (tsv, json.dumps(document, indent=2, default=str) + "\n")):
        temporary = path.with_name(f".{path.name}.tmp{os.getpid()}")
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    return paths


def _tabulate(rows: list[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    names: list[str] = []
    metric_names: list[str] = []
    for row in rows:
        names += [name for name in row["hyperparameters"] if name not in names]
        metric_names += [name for name in row["metrics"] if name not in metric_names]
    header = ["trial_id", "status", "score", *names, *metric_names]
    lines = []
    for row in rows:
        cells = [row["trial_id"], row["status"], _show(row["score"])]
        cells += [_show(row["hyperparameters"].get(name, "-")) for name in names]
        cells += [_show(row["metrics"].get(name, "-")) for name in metric_names]
        lines.append(cells)
    return header, lines


def _show(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
