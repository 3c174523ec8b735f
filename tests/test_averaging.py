"""Checkpoint averaging of the last epochs: `EpochAverage` and `kseq2seq train`."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from conftest import corpus_pairs

PAIR_COUNT = 40
BATCH_SIZE = 8  # 5 steps an epoch
EPOCHS = 4


class Recorder(keras.callbacks.Callback):
    """The weights at every epoch end, kept by the test itself."""

    def __init__(self):
        super().__init__()
        self.weights = []

    def on_epoch_end(self, epoch, logs=None):
        self.weights.append([np.array(w) for w in self.model.get_weights()])


class KillAtEpochEnd(keras.callbacks.Callback):
    """Stands in for a process killed at the end of epoch `epoch` (0-based), after the last
    batch's callbacks and before any `on_epoch_end` after it in the list."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            raise RuntimeError("killed")


def _translator(**compile_kwargs):
    from kseq2seq.training import compile_model
    from kseq2seq.translator import Translator

    keras.utils.set_random_seed(0)
    pairs = corpus_pairs("train", PAIR_COUNT)
    translator = Translator.from_pairs(pairs, embedding_dim=8, units=8, attention="luong_dot")
    compile_model(translator.model, learning_rate=1e-2, **compile_kwargs)
    return translator, pairs


def _fit(translator, pairs, callbacks):
    translator.fit(
        pairs,
        epochs=EPOCHS,
        batch_size=BATCH_SIZE,
        callbacks=callbacks,
        verbose=0,
        pad_to_multiple=32,  # one batch shape: one compilation under JAX
        bucket_boundaries=[32],
    )


def test_the_average_is_the_mean_of_the_last_epochs(tmp_path):
    from kseq2seq.training import EpochAverage

    translator, pairs = _translator()
    recorder, in_memory = Recorder(), EpochAverage(3)
    on_disk = EpochAverage(3, tmp_path / "epochs")
    _fit(translator, pairs, [recorder, in_memory, on_disk])
    assert len(recorder.weights) == EPOCHS
    assert in_memory.epochs() == on_disk.epochs() == [2, 3, 4]
    assert sorted(p.name for p in (tmp_path / "epochs").iterdir()) == [
        "epoch-0002.npz",
        "epoch-0003.npz",
        "epoch-0004.npz",
    ]
    want = [np.mean(np.stack(values), axis=0) for values in zip(*recorder.weights[-3:])]
    for average in (in_memory.average(), on_disk.average()):
        assert len(average) == len(want)
        for got, expected in zip(average, want):
            np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7)
    # The average is not the last epoch's weights (it would hide a no-op).
    assert not all(np.allclose(a, b) for a, b in zip(want, recorder.weights[-1]))


def test_an_epoch_stopped_early_is_not_kept():
    from kseq2seq.training import EpochAverage

    class StopMidEpoch(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 2:
                self.model.stop_training = True

    translator, pairs = _translator()
    average = EpochAverage(3)
    _fit(translator, pairs, [StopMidEpoch(), average])
    assert average.epochs() == [] and average.average() is None


def test_every_finished_epoch_is_kept_under_steps_per_execution():
    """With steps_per_execution=3, Keras calls `on_train_batch_end` once per 3 steps, with the
    index of the last: batches 2 and 5 of an epoch of 5 steps (the last group is partial).
    Counting the calls (2 of them) took every epoch for one stopped early."""
    from kseq2seq.training import EpochAverage

    translator, pairs = _translator(steps_per_execution=3)
    recorder, average = Recorder(), EpochAverage(3)
    _fit(translator, pairs, [recorder, average])
    assert len(recorder.weights) == EPOCHS
    assert average.epochs() == [2, 3, 4]
    want = [np.mean(np.stack(values), axis=0) for values in zip(*recorder.weights[-3:])]
    for got, expected in zip(average.average(), want):
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("count", [0, -1, 1.5, True])
def test_count_must_be_a_positive_int(count):
    from kseq2seq.training import EpochAverage

    with pytest.raises((TypeError, ValueError), match="count"):
        EpochAverage(count)


def test_a_run_killed_at_an_epoch_end_resumes_to_the_same_average(tmp_path):
    """Killed after an epoch's last batch and before `EpochAverage` kept it: the checkpoint
    has not saved that batch either (it saves an epoch's end in `on_epoch_end`, after the
    callbacks before it), so the resumed run redoes it and keeps the epoch."""
    from kseq2seq.training import EpochAverage, TrainingCheckpoint

    translator, pairs = _translator()
    uninterrupted = EpochAverage(3)
    _fit(translator, pairs, [uninterrupted])

    state = tmp_path / "state"
    translator, pairs = _translator()
    checkpoint = TrainingCheckpoint(state, save_freq=1)  # a save after every batch
    callbacks = [KillAtEpochEnd(1), EpochAverage(3, tmp_path / "epochs"), checkpoint]
    with pytest.raises(RuntimeError, match="killed"):
        _fit(translator, pairs, callbacks)
    assert checkpoint.position() == (1, 4)  # not (1, 5): the epoch's end was not saved
    assert EpochAverage(3, tmp_path / "epochs").epochs() == [1]

    translator, pairs = _translator()  # a new process: fresh weights, resumed from the state
    resumed = EpochAverage(3, tmp_path / "epochs")
    _fit(translator, pairs, [resumed, TrainingCheckpoint(state, save_freq=1)])
    assert resumed.epochs() == uninterrupted.epochs() == [2, 3, 4]
    for got, want in zip(resumed.average(), uninterrupted.average()):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)


def test_train_averages_the_last_epochs_when_it_does_not_hurt(tmp_path, capsys):
    from kseq2seq.cli import main
    from kseq2seq.datasets import default_corpus, save_tsv

    save_tsv(default_corpus("train")[:120], tmp_path / "pairs.tsv")
    command = ["train", str(tmp_path / "pairs.tsv"), "--epochs", "3", "--verbose", "0"]
    command += ["--units", "16", "--embedding-dim", "8", "--validation", "0.2"]
    assert main([*command, "--output", str(tmp_path / "averaged")]) == 0
    out = capsys.readouterr().out
    assert "Averaged the weights of epochs 1-3: validation BLEU" in out
    kept = "the average" if "keeping the average" in out else "the last epoch's"
    assert f"keeping {kept}" in out
    assert not (tmp_path / "averaged.partial").exists()

    assert main([*command, "--average-last", "1", "--output", str(tmp_path / "last")]) == 0
    assert "Averaged" not in capsys.readouterr().out

    config = tmp_path / "config.json"
    config.write_text('{"average_last": 0}')
    arguments = [*command, "--config", str(config), "--output", str(tmp_path / "bad")]
    assert main(arguments) == 2
    assert "average_last" in capsys.readouterr().err


def _epochs_ending_with(model, snapshots):
    """An `EpochAverage` that saw epochs end with each of `snapshots` as the weights (through
    the callback's own hooks); the model's weights are left as they were."""
    from kseq2seq.training import EpochAverage

    before = model.get_weights()
    average = EpochAverage(3)
    average.set_model(model)
    average.set_params({})
    for epoch, weights in snapshots:
        model.set_weights(weights)
        average.on_epoch_end(epoch - 1)
    model.set_weights(before)
    return average


def test_keep_if_better_keeps_the_weights_that_translate_the_validation_pairs_better():
    from kseq2seq.training import compile_model
    from kseq2seq.translator import Translator

    keras.utils.set_random_seed(0)
    pairs = corpus_pairs("train", PAIR_COUNT)
    translator = Translator.from_pairs(pairs, embedding_dim=16, units=32, attention="luong_dot")
    compile_model(translator.model, learning_rate=1e-2)
    translator.fit(  # to a validation BLEU well above 0 (43 on 16 of its pairs)
        pairs, epochs=30, batch_size=8, verbose=0, pad_to_multiple=32, bucket_boundaries=[32]
    )
    trained = translator.model.get_weights()
    rng = np.random.default_rng(0)
    noise = [rng.normal(0, 5, w.shape).astype(w.dtype) for w in trained]
    validation = pairs[:16]

    # The average of two noise snapshots translates worse: the trained weights stay.
    model = translator.model
    noisy = [(epoch, [w + n * epoch for w, n in zip(trained, noise)]) for epoch in (1, 2)]
    worse = _epochs_ending_with(model, noisy)
    kept, message, scores = worse.keep_if_better(translator, validation)
    assert scores[0] > 10
    assert kept == "last" and "keeping the last epoch's" in message
    for got, want in zip(translator.model.get_weights(), trained):
        np.testing.assert_array_equal(got, want)
    assert scores[2] == translator.translate([source for source, _ in validation])

    # Snapshots equal to the trained weights average to them: as good, so the average is kept.
    same = _epochs_ending_with(model, [(epoch, trained) for epoch in (4, 5, 6)])
    kept, message, _ = same.keep_if_better(translator, validation)
    assert kept == "average" and "epochs 4-6" in message and "keeping the average" in message

    # Without validation pairs the mean is taken on trust.
    kept, message, scores = worse.keep_if_better(translator, [])
    assert kept == "average" and scores is None and "no validation pairs" in message
    for got, want in zip(translator.model.get_weights(), worse.average()):
        np.testing.assert_array_equal(got, want)

    # One epoch kept: nothing to average, nothing changed.
    single = _epochs_ending_with(model, [(1, noise)])
    before = translator.model.get_weights()
    assert single.keep_if_better(translator, validation) == (None, None, None)
    for got, want in zip(translator.model.get_weights(), before):
        np.testing.assert_array_equal(got, want)
