"""Hyperparameter search: Seq2SeqHyperModel under keras-tuner's tuners, and `tune`."""

import argparse
import json
import math

import keras
import keras_tuner
import numpy as np
import pytest

import kseq2seq
from kseq2seq.datasets import default_corpus, save_tsv
from kseq2seq.tuning import (
    DEFAULT_SEARCH_SPACE,
    Seq2SeqHyperModel,
    best_translator,
    encode_pairs,
    make_tuner,
    results_table,
)
from kseq2seq.tuning.cli import add_tune_command

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


def completed(tuner):
    return [trial for trial in tuner.oracle.trials.values() if trial.status == "COMPLETED"]


def tuned_values(trial):
    return {k: v for k, v in trial.hyperparameters.values.items() if not k.startswith("tuner/")}


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
    assert set(DEFAULT_SEARCH_SPACE) <= set(space)
    assert hypermodel.config_for(hp).cell == "gru"
    assert hypermodel.batch_size_for(hp) == 32


def test_attention_none_makes_input_feeding_conditional():
    hypermodel = Seq2SeqHyperModel(50, 60, search_space={"attention": ["bahdanau", None]})
    hp = keras_tuner.HyperParameters()
    hp.Choice("attention", ["bahdanau", "none"])
    hp.values["attention"] = "none"
    values = hypermodel.declare(hp)
    assert values["attention"] is None and values["input_feeding"] is False
    assert not hp.is_active("input_feeding")
    assert hypermodel.config_for(hp).attention is None


@pytest.mark.parametrize(
    "search_space, fixed, words",
    [
        ({"unit": [64]}, None, ["'unit'", "units"]),
        ({"units": []}, None, ["'units'", "empty"]),
        ({"attention": ["luong_dot", "foo"]}, None, ["'attention'", "'foo'", "'bahdanau'"]),
        ({"cell": "rnn"}, None, ["'cell'", "'rnn'", "'lstm'", "'gru'"]),
        ({"num_layers": {"min": 3, "max": 1}}, None, ["'num_layers'", "min (3)", "max (1)"]),
        ({"dropout": {"min": 0.0, "max": 1.5}}, None, ["'dropout'", "[0, 1)"]),
        ({"word_dropout": []}, None, ["'word_dropout'", "empty", "tokens dropped"]),
        ({"mixed_precision": []}, None, ["'mixed_precision'", "empty", "dtype policy"]),
        ({"learning_rate": {"min": 0.0, "max": 0.1, "sampling": "log"}}, None, ["'learning_rate'"]),
        ({"learning_rate": {"min": 1e-4, "max": 0.1, "sampling": "cubic"}}, None, ["'log'"]),
        ({"num_layers": {"min": 1, "maximum": 2}}, None, ["'num_layers'", "'maximum'"]),
        ({"units": [63, 64]}, None, ["'units'", "even", "63"]),
        ({"units": {"min": 16, "max": 64, "step": 3}}, None, ["'units'", "even", "19"]),
        ({"attention": None}, {"input_feeding": True}, ["'input_feeding'", "attention"]),
        ({"tie_embeddings": [True, False]}, None, ["'tie_embeddings'", "embedding_dim == units"]),
        ({"batch_size": [0, 32]}, None, ["'batch_size'", "positive"]),
        ({"units": [64, "big"]}, None, ["'units'", "mixes types"]),
        ({"attention": [None, "bahdanau"], "bridge": ["none", "copy"]}, None, ["'bridge'"]),
        ({"units": [64]}, {"units": 128}, ["units", "both"]),
        (None, {"cell": None}, ["'cell'"]),
        (None, {"colour": "red"}, ["'colour'", "Valid names"]),
    ],
)
def test_invalid_search_space_is_a_clear_error(search_space, fixed, words):
    with pytest.raises(ValueError) as error:
        Seq2SeqHyperModel(50, 60, search_space=search_space, fixed=fixed)
    for word in words:
        assert word in str(error.value)


def test_encode_pairs_shifts_and_pads(pairs):
    train, _ = pairs
    hypermodel = tiny_hypermodel(pairs)
    source_tokenizer, target_tokenizer = hypermodel.source_tokenizer, hypermodel.target_tokenizer
    x, target_out = encode_pairs(train[:3], source_tokenizer, target_tokenizer, 4, 6)
    assert x["source"].shape == (3, 4) and x["target_in"].shape == target_out.shape == (3, 6)
    target_ids = target_tokenizer.encode([train[0][1]]).to_list()[0]
    assert x["target_in"][0, 0] == 2 and list(x["target_in"][0, 1:]) == target_ids[:5]
    assert list(target_out[0, :5]) == target_ids[:5] and target_out[0, 5] == 3  # </s>
    x, target_out = encode_pairs(train[:3], source_tokenizer, target_tokenizer)
    assert x["source"].dtype == np.int32 and (x["source"][:, -1] != 0).any()
    with pytest.raises(ValueError, match="source_length"):
        encode_pairs(train[:3], source_tokenizer, target_tokenizer, source_length=0)


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
        return keras_tuner.RandomSearch(
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
    resumed.search(epochs=1, verbose=0, callbacks=[CountTrainings()])
    assert CountTrainings.trainings == 1  # only the interrupted trial ran again
    trials = completed(resumed)
    assert len(trials) == 2 == len(resumed.oracle.trials)
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
    x, y = encode_pairs(train, hypermodel.source_tokenizer, hypermodel.target_tokenizer, 32, 32)
    validation_data = encode_pairs(
        validation, hypermodel.source_tokenizer, hypermodel.target_tokenizer, 32, 32
    )
    tuner = keras_tuner.BayesianOptimization(
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
def test_hyperband_search_on_pairs(pairs, tmp_path):
    hypermodel = tiny_hypermodel(pairs, bleu_samples=0)
    # max_epochs=2, factor=3: one bracket of two models trained for 2 epochs.
    tuner = make_tuner(
        hypermodel, "hyperband", "val_loss", epochs=2, factor=3, directory=tmp_path, seed=2
    )
    assert isinstance(tuner, keras_tuner.Hyperband)
    tuner.search(verbose=0)
    trials = completed(tuner)
    assert len(trials) == 2 == len(tuner.oracle.trials)
    assert tuned_values(trials[0]) != tuned_values(trials[1])
    for trial in trials:
        assert trial.hyperparameters.get("tuner/epochs") == 2
        assert math.isfinite(trial.score)
    rows = results_table(tuner)
    assert all(not name.startswith("tuner/") for row in rows for name in row["hyperparameters"])
    best = tuner.get_best_hyperparameters(1)[0]
    model = hypermodel.build(best)
    assert kseq2seq.model_config(model).units == best.get("units")


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
    parser = argparse.ArgumentParser(prog="kseq2seq")
    commands = parser.add_subparsers(dest="command", required=True)
    add_tune_command(commands)
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
