"""Hyperparameter search: Seq2SeqHyperModel under keras-tuner's tuners, and `tune`."""

import argparse
import json
import math
import runpy
import sys
from pathlib import Path

import keras
import keras_tuner
import numpy as np
import pytest

import kseq2seq
from kseq2seq.data import make_dataset
from kseq2seq.datasets import default_corpus, save_tsv
from kseq2seq.tuning import (
    DEFAULT_SEARCH_SPACE,
    BayesianOptimization,
    RandomSearch,
    Seq2SeqHyperModel,
    best_translator,
    hyperparameters_from_dict,
    make_tuner,
    results_table,
)
from kseq2seq.tuning.cli import add_tune_command, load_tune_config

# Tiny models; one batch shape (256 = 4 x 64 pairs, every sentence padded to 32 tokens) so
# that each trial compiles its steps once, under JAX too.
TINY = {
    "units": [16, 32],
    "embedding_dim": [16],
    "attention": ["luong_dot", "luong_general"],
    "cell": ["gru"],
    "num_layers": 1,
    "bidirectional": [False, True],
    "dropout": {"min": 0.0, "max": 0.2, "step": 0.1},
    "learning_rate": {"min": 1e-3, "max": 1e-2, "sampling": "log"},
}
ONE_SHAPE = {"bucket_boundaries": [], "pad_to_multiple": 32}


@pytest.fixture(scope="module")
def pairs():
    train = [(e.source, e.target) for e in default_corpus("train")[:256]]
    validation = [(e.source, e.target) for e in default_corpus("validation")[:64]]
    return train, validation


def tiny_hypermodel(pairs, **kwargs):
    train, validation = pairs
    options = dict(
        search_space=TINY,
        fixed={"input_feeding": False},
        bleu_samples=16,
        dataset_options=ONE_SHAPE,
        seed=0,
    )
    options.update(kwargs)
    return Seq2SeqHyperModel.from_translator_data(train, validation, **options)


class CountTrainings(keras.callbacks.Callback):
    """Counts `fit` calls across trials (class attributes survive the tuner's deepcopy)."""

    trainings = 0
    steps: list = []
    interrupt_at = None

    def on_train_begin(self, logs=None):
        type(self).trainings += 1
        type(self).steps.append(self.params["steps"])
        if type(self).trainings == type(self).interrupt_at:
            raise KeyboardInterrupt  # as a user's Ctrl-C in the middle of a search

    @classmethod
    def reset(cls, interrupt_at=None):
        cls.trainings, cls.steps, cls.interrupt_at = 0, [], interrupt_at


class LogDirs(keras.callbacks.TensorBoard):
    """A TensorBoard callback that only records its log_dir (tensorboard is not installed)."""

    seen: list = []

    def set_model(self, model):
        keras.callbacks.Callback.set_model(self, model)
        type(self).seen.append(self.log_dir)


for _hook in [name for name in vars(keras.callbacks.TensorBoard) if name.startswith("on_")]:
    setattr(LogDirs, _hook, getattr(keras.callbacks.Callback, _hook))  # writes nothing


def completed(tuner):
    return [trial for trial in tuner.oracle.trials.values() if trial.status == "COMPLETED"]


def tuned_values(trial):
    return {k: v for k, v in trial.hyperparameters.values.items() if not k.startswith("tuner/")}


def as_arrays(pairs, hypermodel, width=32):
    """All pairs as one batch of NumPy arrays, from the package's pipeline."""
    dataset = make_dataset(
        pairs,
        hypermodel.source_tokenizer,
        hypermodel.target_tokenizer,
        batch_size=len(pairs),
        shuffle=False,
        bucket_boundaries=[],
        pad_to_multiple=width,
    )
    x, y, _ = next(iter(dataset))
    return {name: np.asarray(value) for name, value in x.items()}, np.asarray(y)


def tune_parser():
    parser = argparse.ArgumentParser(prog="kseq2seq")
    add_tune_command(parser.add_subparsers(dest="command", required=True))
    return parser


# The search space ---------------------------------------------------------------------


def test_search_space_narrows_widens_and_fixes():
    hypermodel = Seq2SeqHyperModel(
        50,
        60,
        search_space={
            "units": [64, 128],
            "batch_size": [32, 64],
            "residual": [True, False],
            "word_dropout": {"min": 0.0, "max": 0.2, "step": 0.1},
        },
        fixed={"cell": "gru"},
    )
    hp = keras_tuner.HyperParameters()
    values = hypermodel.declare(hp)
    space = {entry.name: type(entry).__name__ for entry in hp.space}
    assert space["units"] == "Choice"
    assert space["cell"] == "Fixed" and values["cell"] == "gru"
    assert space["bidirectional"] == "Boolean" and space["residual"] == "Boolean"
    assert space["num_layers"] == "Int" and space["dropout"] == "Float"
    assert space["word_dropout"] == "Float"
    assert space["learning_rate"] == "Float" and space["batch_size"] == "Choice"
    learning_rate = next(entry for entry in hp.space if entry.name == "learning_rate")
    assert learning_rate.sampling == "log"
    units = next(entry for entry in hp.space if entry.name == "units")
    assert units.values == [64, 128]
    assert {entry.name for entry in DEFAULT_SEARCH_SPACE.space} <= set(space)
    assert hypermodel.config_for(hp).cell == "gru"
    assert hypermodel.batch_size_for(hp) == 32


def test_a_dict_maps_onto_keras_tuner_hyperparameters():
    hp = hyperparameters_from_dict(
        {
            "units": [64, 128],
            "num_layers": {"min": 1, "max": 3},
            "bridge": "dense",
            "dropout": [0, 0.25],  # as YAML writes it: one type, float, for keras-tuner
            "learning_rate": {"min": 1e-4, "max": 1, "sampling": "log"},
            "attention": ["bahdanau", None],
            "input_feeding": [False, True],
        },
        fixed={"cell": "gru"},
    )
    kinds = {entry.name: type(entry).__name__ for entry in hp.space}
    assert kinds == {
        "units": "Choice",
        "num_layers": "Int",
        "bridge": "Fixed",
        "dropout": "Choice",
        "learning_rate": "Float",
        "attention": "Choice",
        "input_feeding": "Boolean",
        "cell": "Fixed",
    }
    assert hp.get("bridge") == "dense" and hp.get("cell") == "gru"
    (dropout,) = [entry for entry in hp.space if entry.name == "dropout"]
    assert dropout.values == [0.0, 0.25]
    (attention,) = [entry for entry in hp.space if entry.name == "attention"]
    assert attention.values == ["bahdanau", "none"]
    # input_feeding is tuned only with an attention, as in the default space.
    (feeding,) = [entry for entry in hp.space if entry.name == "input_feeding"]
    assert [(c.name, c.values) for c in feeding.conditions] == [
        ("attention", ["bahdanau", "normed_bahdanau", "luong_dot", "luong_general", "luong_concat"])
    ]


def test_keras_tuner_hyperparameters_narrow_and_fix_the_space(tmp_path):
    hypermodel = Seq2SeqHyperModel(50, 60, config={"bridge": "dense"})
    hp = keras_tuner.HyperParameters()
    hp.Choice("units", [32, 48])
    hp.Fixed("cell", "gru")
    hp.Boolean("residual")  # not in the default space: widened

    def oracle_trials(**kwargs):
        tuner = RandomSearch(
            hypermodel,
            hyperparameters=hp,
            objective="val_loss",
            max_trials=6,
            directory=tmp_path,
            overwrite=True,
            seed=0,
            **kwargs,
        )
        space = {entry.name for entry in tuner.oracle.get_space().space}
        trials = [tuner.oracle.create_trial(f"tuner{i}") for i in range(6)]
        return space, [trial.hyperparameters for trial in trials if trial.status != "STOPPED"]

    # keras-tuner's documented way: only the given entries are tuned, the others keep
    # their defaults.
    space, trials = oracle_trials(tune_new_entries=False)
    assert space == {"units", "cell", "residual"} and len(trials) == 4  # all there are
    configs = [hypermodel.config_for(trial) for trial in trials]
    assert {config.units for config in configs} == {32, 48}
    assert {config.residual for config in configs} == {False, True}
    for config in configs:
        assert config.cell == "gru" and config.bridge == "dense"  # fixed; from the config
        assert config.attention == "luong_general" and config.num_layers == 1  # defaults
        assert config.embedding_dim == 64 and not config.bidirectional
    # With new entries tuned, the rest of the default space is searched as well.
    space, trials = oracle_trials()
    assert {"units", "cell", "residual", "attention", "dropout"} <= space
    configs = [hypermodel.config_for(trial) for trial in trials]
    assert {config.units for config in configs} <= {32, 48}
    assert len({config.attention for config in configs}) > 1
    assert all(config.cell == "gru" for config in configs)

    # The tuner checks the space it is given, before any trial.
    odd = keras_tuner.HyperParameters()
    odd.Choice("units", [63, 64])
    with pytest.raises(ValueError, match="units=63"):
        RandomSearch(hypermodel, hyperparameters=odd, objective="val_loss", directory=tmp_path)
    unknown = keras_tuner.HyperParameters()
    unknown.Int("layers", 1, 2)
    with pytest.raises(ValueError, match="Unknown hyperparameter: 'layers'"):
        RandomSearch(hypermodel, hyperparameters=unknown, objective="val_loss", directory=tmp_path)


def test_attention_none_makes_input_feeding_conditional():
    hypermodel = Seq2SeqHyperModel(50, 60, search_space={"attention": ["bahdanau", None]})
    hp = keras_tuner.HyperParameters()
    hp.Choice("attention", ["bahdanau", "none"])
    hp.values["attention"] = "none"
    values = hypermodel.declare(hp)
    assert values["attention"] == "none" and "input_feeding" not in values
    assert not hp.is_active("input_feeding")
    config = hypermodel.config_for(hp)
    assert config.attention is None and config.input_feeding is False
    hp.values["attention"] = "bahdanau"
    hp.ensure_active_values()
    assert hp.is_active("input_feeding") and "input_feeding" in hypermodel.declare(hp)


@pytest.mark.parametrize(
    "search_space, fixed, words",
    [
        ({"unit": [64]}, None, ["'unit'", "units"]),
        ({"units": []}, None, ["'units'", "empty"]),
        ({"attention": ["luong_dot", "foo"]}, None, ["'attention'", "'foo'", "'bahdanau'"]),
        ({"cell": "rnn"}, None, ["'cell'", "'rnn'", "'lstm'", "'gru'"]),
        ({"num_layers": {"min": 3, "max": 1}}, None, ["'num_layers'", "3", "greater", "1"]),
        ({"dropout": {"min": 0.0, "max": 1.5}}, None, ["'dropout'", "[0, 1)"]),
        ({"word_dropout": []}, None, ["'word_dropout'", "empty"]),
        ({"word_dropout": {"min": 0.0, "max": 1.0}}, None, ["'word_dropout'", "[0, 1)"]),
        ({"mixed_precision": ["float64"]}, None, ["'mixed_precision'", "'mixed_bfloat16'"]),
        ({"learning_rate": {"min": 0.0, "max": 0.1, "sampling": "log"}}, None, ["'learning_rate'"]),
        ({"learning_rate": {"min": 0.0, "max": 0.1}}, None, ["'learning_rate'", "> 0"]),
        ({"learning_rate": {"min": 1e-4, "max": 0.1, "sampling": "cubic"}}, None, ["'log'"]),
        ({"label_smoothing": [0.1, 1.0]}, None, ["'label_smoothing'", "[0, 1)"]),
        ({"num_layers": {"min": 1, "maximum": 2}}, None, ["'num_layers'", "'maximum'"]),
        ({"num_layers": {"min": "one", "max": 2}}, None, ["'num_layers'"]),
        ({"units": [63, 64]}, None, ["'bidirectional'", "even", "units=63"]),
        ({"units": {"min": 16, "max": 64, "step": 3}}, None, ["'units'", "even", "units=19"]),
        ({"attention": None}, {"input_feeding": True}, ["input_feeding=True", "attention"]),
        ({"tie_embeddings": [True, False]}, None, ["tie_embeddings", "embedding_dim == units"]),
        ({"batch_size": [0, 32]}, None, ["'batch_size'", "positive"]),
        ({"units": [64, "big"]}, None, ["'units'", "one type"]),
        ({"attention": [None, "bahdanau"], "bridge": ["none", "copy"]}, None, ["bridge='none'"]),
        ({"units": [64]}, {"units": 128}, ["units", "both"]),
        ([64, 128], None, ["search_space", "dict"]),
        (None, {"cell": None}, ["'cell'"]),
        (None, {"colour": "red"}, ["'colour'", "Valid names"]),
    ],
)
def test_invalid_search_space_is_a_clear_error(search_space, fixed, words):
    with pytest.raises(ValueError) as error:
        Seq2SeqHyperModel(50, 60, search_space=search_space, fixed=fixed)
    for word in words:
        assert word in str(error.value)


@pytest.mark.parametrize(
    "search_space, fixed, config",
    [
        ({"attention": ["bahdanau", None]}, None, None),  # input_feeding inactive without one
        ({"attention": ["bahdanau", None], "input_feeding": [True, False]}, None, None),
        ({"units": 64, "embedding_dim": 64}, {"tie_embeddings": True}, None),
        ({"units": {"min": 16, "max": 64, "step": 16}}, None, None),
        ({"units": [63, 65]}, {"bidirectional": False}, None),
    ],
)
def test_valid_search_spaces_are_accepted(search_space, fixed, config):
    hypermodel = Seq2SeqHyperModel(50, 60, search_space=search_space, fixed=fixed, config=config)
    assert hypermodel.build(keras_tuner.HyperParameters()).count_params() > 0


@pytest.mark.parametrize(
    "text, words",
    [
        ("search_space: {unit: [64]}\n", ["'unit'", "Valid names"]),
        ("search_space: {units: [64, big]}\n", ["'units'", "one type"]),
        ("search_space: {dropout: {min: 0.0, max: 2.0}}\n", ["'dropout'", "[0, 1)"]),
        ("search_space: [units, 64]\n", ["search_space", "dict"]),
        ("fixed: {cell: rnn}\n", ["'cell'", "'rnn'", "'lstm'"]),
        ("model: {bridge: sideways}\n", ["bridge", "'sideways'", "'dense'"]),
        ("batch_size: 0\n", ["batch_size", ">= 1"]),
    ],
)
def test_tune_config_file_errors_name_the_entry(tmp_path, text, words):
    pairs = tmp_path / "pairs.tsv"
    save_tsv(default_corpus("train")[:40], pairs)
    config = tmp_path / "tune.yaml"
    config.write_text(text, encoding="utf-8")
    args = tune_parser().parse_args(
        ["tune", str(pairs), "--output", str(tmp_path / "out"), "--config", str(config)]
    )
    with pytest.raises(ValueError) as error:
        args.handler(args)
    for word in [str(config), *words]:
        assert word in str(error.value)
    assert not (tmp_path / "out").exists()  # checked before anything is read or written


@pytest.mark.parametrize(
    "text, words",
    [
        ("units: [64]\n", ["'units'", "unknown setting", "search_space"]),
        ("max_trials: ten\n", ["max_trials", "int", "'ten'"]),
        ("lowercase: 'yes'\n", ["lowercase", "bool"]),
        ("epochs: true\n", ["epochs", "int"]),
        ("validation: 5%\n", ["validation", "float"]),
        ("[1, 2]\n", ["mapping"]),
    ],
)
def test_tune_config_file_settings_are_checked(tmp_path, text, words):
    config = tmp_path / "tune.yaml"
    config.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError) as error:
        load_tune_config(str(config))
    for word in words:
        assert word in str(error.value)
    config.write_text("validation: 500\nfinal_epochs: null\nexecutions_per_trial: 2\n")
    settings = load_tune_config(str(config))
    assert settings["validation"] == 500 and settings["executions"] == 2


def test_val_bleu_without_tokenizers_is_a_clear_error(pairs, tmp_path):
    train, validation = pairs
    hypermodel = Seq2SeqHyperModel(50, 60, search_space=TINY, fixed={"input_feeding": False})
    tuner = make_tuner(hypermodel, "random", "val_bleu", max_trials=1, directory=tmp_path)
    x = {"source": np.ones((8, 5), "int32"), "target_in": np.ones((8, 6), "int32")}
    with pytest.raises(ValueError, match="val_bleu.*tokenizers"):
        tuner.search(x, np.ones((8, 6), "int32"), validation_data=(x, np.ones((8, 6))), epochs=1)
    with pytest.raises(ValueError, match="Unknown tuner: 'grid'"):
        make_tuner(hypermodel, "grid")
    with pytest.raises(ValueError, match="Unknown objective: 'bleu'"):
        make_tuner(hypermodel, "random", "bleu")


# Real searches --------------------------------------------------------------------------


@pytest.mark.slow
def test_random_search_on_val_bleu_resumes_and_gives_the_best_translator(pairs, tmp_path):
    hypermodel = tiny_hypermodel(pairs)
    objective = keras_tuner.Objective("val_bleu", direction="max")

    def tuner(max_trials):
        return RandomSearch(
            hypermodel,
            objective=objective,
            max_trials=max_trials,
            directory=tmp_path,
            project_name="search",
            overwrite=False,
            seed=3,
        )

    # Interrupted (Ctrl-C) as the second trial starts training.
    CountTrainings.reset(interrupt_at=2)
    with pytest.raises(KeyboardInterrupt):
        tuner(2).search(epochs=1, verbose=0, callbacks=[CountTrainings()])
    first = tuner(2)  # reloads the search from its directory
    assert [trial.score for trial in completed(first)] != []
    (kept,) = completed(first)
    kept_id, kept_score, kept_values = kept.trial_id, kept.score, tuned_values(kept)

    CountTrainings.reset()
    resumed = tuner(2)
    LogDirs.seen = []
    board = LogDirs(log_dir=str(tmp_path / "logs"))
    resumed.search(epochs=1, verbose=0, callbacks=[CountTrainings(), board])
    assert CountTrainings.trainings == 1  # only the interrupted trial ran again
    trials = completed(resumed)
    assert len(trials) == 2 == len(resumed.oracle.trials)
    # A TensorBoard callback logs to a directory per trial and execution.
    (rerun,) = [trial.trial_id for trial in trials if trial.trial_id != kept_id]
    assert LogDirs.seen == [str(tmp_path / "logs" / rerun / "execution0")]
    assert resumed.oracle.trials[kept_id].score == kept_score
    assert tuned_values(resumed.oracle.trials[kept_id]) == kept_values
    assert tuned_values(trials[0]) != tuned_values(trials[1])
    for trial in trials:
        bleu = trial.metrics.get_last_value("val_bleu")
        assert trial.score is not None and 0.0 <= trial.score <= 100.0
        assert math.isclose(trial.score, bleu)
        assert math.isfinite(trial.metrics.get_last_value("val_loss"))
    rows = results_table(resumed)
    assert [row["score"] for row in rows] == sorted((t.score for t in trials), reverse=True)

    translator = best_translator(resumed, epochs=1)
    best = resumed.get_best_hyperparameters(1)[0]
    assert translator.config.units == best.get("units")
    assert translator.config.attention == best.get("attention")
    translator.save(tmp_path / "best")
    loaded = kseq2seq.Translator.load(tmp_path / "best")
    outputs = loaded.translate(["Le chat noir mange la souris.", ""])
    assert len(outputs) == 2 and isinstance(outputs[0], str) and outputs[1] == ""


@pytest.mark.slow
def test_bayesian_search_tunes_the_batch_size_on_arrays(pairs, tmp_path):
    train, validation = pairs
    hypermodel = tiny_hypermodel(pairs, search_space={**TINY, "batch_size": [32, 64]})
    x, y = as_arrays(train, hypermodel)
    validation_data = as_arrays(validation, hypermodel)
    tuner = BayesianOptimization(
        hypermodel,
        objective="val_loss",
        max_trials=2,
        num_initial_points=1,  # the second trial comes from the Gaussian process
        directory=tmp_path,
        seed=1,
    )
    CountTrainings.reset()
    tuner.search(
        x, y, validation_data=validation_data, epochs=1, verbose=0, callbacks=[CountTrainings()]
    )
    trials = list(tuner.oracle.trials.values())
    assert len(trials) == 2 and all(trial.status == "COMPLETED" for trial in trials)
    assert tuned_values(trials[0]) != tuned_values(trials[1])
    assert all(math.isfinite(trial.score) for trial in trials)
    # Each trial trained with its own batch size: 256 pairs / batch_size steps.
    assert CountTrainings.steps == [256 // t.hyperparameters.get("batch_size") for t in trials]


@pytest.mark.slow
def test_hyperband_search_on_pairs_goes_on_from_the_best_epoch(pairs, tmp_path):
    hypermodel = tiny_hypermodel(pairs, bleu_samples=0)
    # max_epochs=2, factor=2: the first bracket trains two models for 1 epoch, then the
    # better one for its second epoch from its saved weights (the third trial).
    tuner = make_tuner(
        hypermodel,
        "hyperband",
        "val_loss",
        max_trials=3,
        epochs=2,
        factor=2,
        directory=tmp_path,
        seed=2,
    )
    assert isinstance(tuner, keras_tuner.Hyperband)
    tuner.search(verbose=0)
    trials = completed(tuner)
    assert len(trials) == 3 == len(tuner.oracle.trials)
    first, second, third = sorted(trials, key=lambda trial: trial.trial_id)
    assert tuned_values(first) != tuned_values(second)
    continued = {first.trial_id: first, second.trial_id: second}[
        third.hyperparameters.get("tuner/trial_id")
    ]
    assert continued.score == min(first.score, second.score)
    assert tuned_values(third) == tuned_values(continued)
    assert third.hyperparameters.get("tuner/initial_epoch") == 1
    assert all(math.isfinite(trial.score) for trial in trials)
    rows = results_table(tuner)
    assert all(not name.startswith("tuner/") for row in rows for name in row["hyperparameters"])
    # The best model comes back with the weights of its best epoch.
    (best_model,) = tuner.get_best_models(1)
    best = tuner.oracle.get_best_trials(1)[0]
    assert kseq2seq.model_config(best_model).units == best.hyperparameters.get("units")
    x, y = as_arrays(pairs[1], hypermodel)
    loss = best_model.evaluate(x, y, verbose=0, return_dict=True)["loss"]
    fresh = hypermodel.build(best.hyperparameters).evaluate(x, y, verbose=0, return_dict=True)
    assert loss < fresh["loss"]


# The command ------------------------------------------------------------------------------


@pytest.mark.slow
def test_tune_command_end_to_end(tmp_path, capsys):
    pairs = tmp_path / "pairs.tsv"
    save_tsv(default_corpus("train")[:320], pairs)
    config = tmp_path / "tune.yaml"
    config.write_text(
        "tuner: random\nmax_trials: 1\nepochs: 1\nbleu_samples: 16\nvalidation: 64\n"
        "search_space:\n  units: [16, 32]\n  embedding_dim: [16]\n  cell: [gru]\n"
        "  attention: [luong_dot, luong_general]\n  num_layers: 1\n"
        "fixed: {input_feeding: false}\n"
        "dataset: {bucket_boundaries: [], pad_to_multiple: 32}\n",
        encoding="utf-8",
    )
    parser = tune_parser()
    output = tmp_path / "tuned"
    arguments = [
        "tune",
        str(pairs),
        "--output",
        str(output),
        "--config",
        str(config),
        "--objective",
        "val_bleu",
        "--verbose",
        "0",
    ]
    args = parser.parse_args(arguments)
    assert args.handler(args) == 0
    out = capsys.readouterr().out
    assert "trial_id" in out and "Saved the best translator" in out

    header, *rows = (output / "results.tsv").read_text(encoding="utf-8").splitlines()
    assert header.split("\t")[:3] == ["trial_id", "status", "score"]
    assert "units" in header.split("\t") and len(rows) == 1
    results = json.loads((output / "results.json").read_text(encoding="utf-8"))
    assert results["objective"] == "val_bleu"
    assert 0.0 <= results["best"]["score"] <= 100.0
    assert (output / "search" / "kseq2seq" / "oracle.json").is_file()
    translator = kseq2seq.Translator.load(output / "best")
    assert translator.config.units == results["best"]["hyperparameters"]["units"]
    assert len(translator.translate(["Le chat noir."])) == 1

    # The search directory belongs to a random search on val_bleu.
    args = parser.parse_args([*arguments, "--tuner", "bayesian"])
    with pytest.raises(ValueError, match="tuner='random'"):
        args.handler(args)
    args = parser.parse_args([*arguments[:6], "--config", str(tmp_path / "missing.yaml")])
    with pytest.raises(FileNotFoundError, match="missing.yaml"):
        args.handler(args)


@pytest.mark.slow
def test_tune_example_quick(tmp_path, monkeypatch, capsys):
    script = Path(__file__).resolve().parents[1] / "examples" / "tune_hyperparameters.py"
    arguments = [tmp_path / "out", "--quick", "--max-trials", "1", "--epochs", "1"]
    monkeypatch.setattr(sys, "argv", [str(script), *map(str, [*arguments, "--final-epochs", "1"])])
    runpy.run_path(str(script), run_name="__main__")
    out = capsys.readouterr().out
    assert "trial_id" in out and "validation BLEU of the best" in out
    (row,) = json.loads((tmp_path / "out" / "results.json").read_text())["trials"]
    assert row["hyperparameters"]["cell"] == "gru" and row["hyperparameters"]["units"] in (16, 32)
    assert kseq2seq.Translator.load(tmp_path / "out" / "best").config.cell == "gru"
