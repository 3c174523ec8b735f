"""keras-tuner's tuners for `Seq2SeqHyperModel`, `make_tuner`, and the best translator.

Their trials run through `Seq2SeqTrials.run_trial`, because keras-tuner 1.4's own imports
`tensorboard` under TensorFlow, which TensorFlow 2.21 no longer installs.
"""

from __future__ import annotations

import contextlib
import copy
import os
from collections.abc import Sequence
from typing import Any

import keras
import keras_tuner

from kseq2seq.checks import check_choice, check_int
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
    """A tuner whose trials need no tensorboard, and that checks a `Seq2SeqHyperModel`'s space
    (`hyperparameters=` included) at once."""

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
    check_choice("objective", name, OBJECTIVES)
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
        tuner: `"random"`, `"bayesian"` or `"hyperband"`.
        objective: a name of `OBJECTIVES`, or a `keras_tuner.Objective`.
        max_trials: the most trials (for Hyperband, a cap on what its brackets decide).
        epochs: Hyperband's `max_epochs` (required for it); unused otherwise.
        **kwargs: other arguments of the tuner class (a search resumes from its `directory`
            unless `overwrite=True`).
    """
    check_choice("tuner", tuner, TUNERS)
    check_int("max_trials", max_trials, optional=True)
    check_int("executions_per_trial", kwargs.get("executions_per_trial", 1), optional=True)
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
    """Rebuilds the best trial's model and trains it on `train_pairs` (by default, the pairs
    of the tuner's hypermodel, or of `hypermodel`); returns the `kseq2seq.Translator`.

    Args:
        callbacks, verbose: passed to `Translator.fit`.

    Raises:
        ValueError: no completed trial, or no tokenizers or training pairs.
    """
    hypermodel = hypermodel or tuner.hypermodel
    if not isinstance(hypermodel, Seq2SeqHyperModel):
        raise ValueError(
            f"best_translator needs a Seq2SeqHyperModel. Received: {type(hypermodel).__name__}"
        )
    best = tuner.oracle.get_best_trials(1)
    if not best or best[0].status != "COMPLETED" or best[0].score is None:
        raise ValueError(
            "The tuner has no completed trial: run tuner.search(...) first (failed trials "
            "have no score; their errors are in the search log)"
        )
    train_pairs = hypermodel.train_pairs if train_pairs is None else train_pairs
    if not train_pairs:
        raise ValueError("No train_pairs to train the best model on")
    hp = best[0].hyperparameters
    translator = hypermodel.translator(hypermodel.build(hp))
    translator.fit(
        train_pairs,
        (hypermodel.validation_pairs if validation_pairs is None else validation_pairs) or None,
        epochs=epochs,
        batch_size=hypermodel.batch_size_for(hp),
        callbacks=callbacks,
        verbose=verbose,
        **hypermodel.dataset_options,
    )
    return translator
