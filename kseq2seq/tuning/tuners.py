"""keras-tuner's tuners for `Seq2SeqHyperModel`, `make_tuner`, and the best translator.

`RandomSearch`, `BayesianOptimization` and `Hyperband` are keras-tuner's, with the same
arguments, and one change: their trials run through `Seq2SeqTrials.run_trial`, a public
override. keras-tuner 1.4's own `Tuner.run_trial` imports `tensorboard` before every trial
under the TensorFlow backend (to give `TensorBoard` callbacks a directory per trial and add
its hparams callback), and TensorFlow 2.21 no longer installs tensorboard: without it, every
trial fails. These tuners do the rest of what it does (deep-copied callbacks, executions per
trial, the best epoch's weights kept for `load_model` and Hyperband's next rounds, a
`TensorBoard` callback's `log_dir` made per trial) and need no tensorboard. keras-tuner's own
classes work with `Seq2SeqHyperModel` too where tensorboard is installed.
"""

from __future__ import annotations

import contextlib
import copy
import os
from collections.abc import Sequence
from typing import Any

import keras
import keras_tuner

from kseq2seq.tuning.hypermodel import Seq2SeqHyperModel
from kseq2seq.tuning.names import OBJECTIVES, TUNERS
from kseq2seq.tuning.search_space import check_search_space

WEIGHTS = "best-epoch.weights.h5"


class BestEpochWeights(keras.callbacks.Callback):
    """Saves the model's weights at each epoch that betters the objective (every epoch when
    the logs lack it), across the executions of a trial."""

    def __init__(self, objective: keras_tuner.Objective, path: str):
        super().__init__()
        self.objective, self.path, self.best = objective, path, None

    def on_epoch_end(self, epoch, logs=None):
        if self.objective.has_value(logs or {}):
            value = self.objective.get_value(logs)
            if self.best is not None and not self.objective.better_than(value, self.best):
                return
            self.best = value
        self.model.save_weights(self.path)


class Seq2SeqTrials(keras_tuner.Tuner):
    """Runs trials with public keras-tuner and Keras API only (see the module docstring),
    and checks a `Seq2SeqHyperModel`'s space, `hyperparameters=` included, at once."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if isinstance(self.hypermodel, Seq2SeqHyperModel):
            space = self.oracle.get_space()
            tuned = None if self.oracle.tune_new_entries else {e.name for e in space.space}
            self.hypermodel.declare(space)
            check_search_space(space, self.hypermodel.config, tuned)

    def weights_path(self, trial_id: str) -> str:
        """Where the best epoch's weights of a trial are kept."""
        return os.path.join(self.get_trial_dir(trial_id), WEIGHTS)

    def run_trial(self, trial, *args: Any, **kwargs: Any) -> list:
        hp = trial.hyperparameters
        if isinstance(self.hypermodel, Seq2SeqHyperModel):
            self.hypermodel.check_objective(self.oracle.objective, *args, **kwargs)
        best_epoch = BestEpochWeights(self.oracle.objective, self.weights_path(trial.trial_id))
        given = kwargs.pop("callbacks", None) or []
        histories = []
        for execution in range(self.executions_per_trial):
            try:
                callbacks = copy.deepcopy(given)
            except Exception as error:
                raise keras_tuner.errors.FatalValueError(
                    f"The callbacks of a search must be deep-copyable (each trial gets copies): "
                    f"{error}"
                ) from None
            for callback in callbacks:
                if isinstance(callback, keras.callbacks.TensorBoard):
                    run = os.path.join(trial.trial_id, f"execution{execution}")
                    callback.log_dir = os.path.join(str(callback.log_dir), run)
            strategy = self.distribution_strategy
            with strategy.scope() if strategy else contextlib.nullcontext():
                model = self.hypermodel.build(hp)
            if "tuner/trial_id" in hp.values:  # Hyperband: go on from the earlier round
                model.load_weights(self.weights_path(hp.values["tuner/trial_id"]))
            callbacks.append(best_epoch)
            histories.append(self.hypermodel.fit(hp, model, *args, callbacks=callbacks, **kwargs))
        return histories

    def load_model(self, trial) -> keras.Model:
        """The model of `trial` with the weights of its best epoch."""
        model = self.hypermodel.build(trial.hyperparameters)
        model.load_weights(self.weights_path(trial.trial_id))
        return model


class RandomSearch(keras_tuner.RandomSearch, Seq2SeqTrials):
    """`keras_tuner.RandomSearch` with the trials of `Seq2SeqTrials`."""


class BayesianOptimization(keras_tuner.BayesianOptimization, Seq2SeqTrials):
    """`keras_tuner.BayesianOptimization` with the trials of `Seq2SeqTrials`."""


class Hyperband(keras_tuner.Hyperband, Seq2SeqTrials):
    """`keras_tuner.Hyperband` with the trials of `Seq2SeqTrials`."""


def tuning_objective(name: str | keras_tuner.Objective) -> keras_tuner.Objective:
    """The `keras_tuner.Objective` of a metric name (`OBJECTIVES`), with its direction; an
    `Objective` is returned as is."""
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
    **kwargs: Any,
) -> keras_tuner.Tuner:
    """A `RandomSearch`, `BayesianOptimization` or `Hyperband` of this module.

    Args:
        hypermodel: the `Seq2SeqHyperModel`.
        tuner: `"random"`, `"bayesian"` or `"hyperband"`.
        objective: `"val_loss"`, `"val_bleu"`, ... (see `tuning_objective`).
        max_trials: the most trials (Hyperband's brackets decide its number; this caps it).
        epochs: Hyperband's `max_epochs` (required for it); unused otherwise.
        **kwargs: other arguments of the tuner class: `directory`, `project_name`,
            `overwrite` (a search resumes from its directory unless True), `seed`,
            `executions_per_trial`, `hyperparameters`, `tune_new_entries`, `factor`, ...
    """
    if tuner not in TUNERS:
        raise ValueError(f"Unknown tuner: {tuner!r}. Valid options: {', '.join(map(repr, TUNERS))}")
    for name, value in (
        ("max_trials", max_trials),
        ("executions_per_trial", kwargs.get("executions_per_trial", 1)),
    ):
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < 1
        ):
            raise ValueError(f"{name} must be a positive integer. Received: {name}={value!r}")
    if kwargs.get("directory") is not None:
        kwargs["directory"] = os.fspath(kwargs["directory"])
    kwargs.setdefault("project_name", "kseq2seq")
    kwargs["objective"] = tuning_objective(objective)
    if tuner != "hyperband":
        kind = RandomSearch if tuner == "random" else BayesianOptimization
        return kind(hypermodel, max_trials=max_trials, **kwargs)
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(
            "The hyperband tuner needs epochs (its max_epochs), a positive integer. "
            f"Received: epochs={epochs!r}"
        )
    hyperband = Hyperband(hypermodel, max_epochs=epochs, **kwargs)
    if max_trials is not None and hyperband.oracle.max_trials is None:
        hyperband.oracle.max_trials = max_trials  # a public attribute of the oracle
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
        hypermodel: the `Seq2SeqHyperModel` (with tokenizers); by default the tuner's.
        train_pairs, validation_pairs: `(source, target)` pairs; by default the hypermodel's.
        epochs: training epochs.
        callbacks, verbose: passed to `Translator.fit`.

    Returns:
        The trained `kseq2seq.Translator` (save it with `.save(directory)`).

    Raises:
        ValueError: no completed trial, or no tokenizers or training pairs.
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
    train_pairs = hypermodel.train_pairs if train_pairs is None else train_pairs
    if not train_pairs:
        raise ValueError("No train_pairs to train the best model on")
    if validation_pairs is None:
        validation_pairs = hypermodel.validation_pairs
    hp = best[0].hyperparameters
    translator = hypermodel.translator(hypermodel.build(hp))
    translator.fit(
        train_pairs,
        validation_pairs or None,
        epochs=epochs,
        batch_size=hypermodel.batch_size_for(hp),
        callbacks=callbacks,
        verbose=verbose,
        **hypermodel.dataset_options,
    )
    return translator
