"""Nothing lost: NaN losses, failed saves and exports, and bad input everywhere."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from conftest import corpus_pairs
from keras import ops

from kseq2seq.training import MaskedSparseCategoricalCrossentropy, StopOnNaN
from kseq2seq.translator import Translator

POISON = "poison"  # a target word whose loss is NaN, with NaN gradients


def _tiny(pairs, **overrides):
    keras.utils.set_random_seed(3)
    options = dict(embedding_dim=8, units=8, attention="luong_dot")
    options.update(overrides)
    return Translator.from_pairs(pairs, **options)


class PoisonedLoss(MaskedSparseCategoricalCrossentropy):
    """The package's loss times NaN on the tokens of one word (so its gradients are NaN)."""

    def __init__(self, poison_id, **kwargs):
        super().__init__(**kwargs)
        self.poison_id = poison_id

    def call(self, y_true, y_pred):
        losses = super().call(y_true, y_pred)
        return losses * ops.where(ops.equal(y_true, self.poison_id), float("nan"), 1.0)


class Snapshots(keras.callbacks.Callback):
    """NumPy copies of every weight before each batch: `before[(epoch, batch)]`."""

    def __init__(self):
        super().__init__()
        self.before = {}
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        self.before[(self.epoch, batch)] = [np.array(w) for w in self.model.get_weights()]


@pytest.fixture(scope="module")
def poisoned():
    """A translator trained until a batch with the poisoned word: NaN loss."""
    pairs = corpus_pairs("train", 48)
    pairs[30] = (pairs[30][0], f"{POISON} {pairs[30][1]}")
    translator = _tiny(pairs)
    poison_id = translator.target_tokenizer.vocabulary.index(POISON)
    translator.model.compile(optimizer=keras.optimizers.Adam(1e-2), loss=PoisonedLoss(poison_id))
    snapshots, guard = Snapshots(), StopOnNaN()
    history = translator.fit(pairs, epochs=3, batch_size=8, callbacks=[snapshots, guard], verbose=0)
    return translator, snapshots, guard, history


def test_nan_loss_stops_training_with_the_weights_from_before_it(poisoned):
    translator, snapshots, guard, history = poisoned
    assert guard.stopped_at is not None, "the poisoned batch never came"
    assert guard.stopped_at[0] == 0  # in the first epoch: the poisoned pair is in every epoch
    assert np.isnan(history.history["loss"][-1]) or len(history.history["loss"]) == 1
    weights = translator.model.get_weights()
    assert all(np.all(np.isfinite(w)) for w in weights)
    before = snapshots.before[guard.stopped_at]
    for got, want in zip(weights, before):
        np.testing.assert_array_equal(got, want)
    assert guard.stopped_at != (0, 0), "nothing was learned before the NaN: a weak test"
    first = snapshots.before[(0, 0)]
    assert any(not np.array_equal(a, b) for a, b in zip(weights, first))


def test_nan_in_a_resumed_epoch_is_placed_from_the_epoch_start(poisoned, tmp_path):
    """Resumed after the epoch's first batch, the run meets the poisoned batch at the same
    place of the epoch; `stopped_at` counts from the epoch's start, not from the resumed
    `fit`'s first batch."""
    from kseq2seq.training import TrainingCheckpoint

    expected = poisoned[2].stopped_at
    assert expected[1] >= 2, "the poisoned batch comes too early for this test"
    pairs = corpus_pairs("train", 48)
    pairs[30] = (pairs[30][0], f"{POISON} {pairs[30][1]}")
    translator = _tiny(pairs)
    poison_id = translator.target_tokenizer.vocabulary.index(POISON)
    translator.model.compile(optimizer=keras.optimizers.Adam(1e-2), loss=PoisonedLoss(poison_id))

    class StopAfterFirstBatch(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            self.model.stop_training = True

    checkpoint = TrainingCheckpoint(tmp_path / "state", save_freq=1)
    options = dict(epochs=3, batch_size=8, verbose=0)
    translator.fit(pairs, callbacks=[checkpoint, StopAfterFirstBatch()], **options)
    assert checkpoint.position() == (0, 1)
    guard = StopOnNaN()
    translator.fit(pairs, callbacks=[TrainingCheckpoint(tmp_path / "state"), guard], **options)
    assert guard.stopped_at == expected


def test_translator_saved_after_a_nan_loads_with_finite_weights(poisoned, tmp_path):
    translator = poisoned[0]
    translator.save(tmp_path / "model")
    loaded = Translator.load(tmp_path / "model", compile=False)
    for got, want in zip(loaded.model.get_weights(), translator.model.get_weights()):
        np.testing.assert_array_equal(got, want)
    assert isinstance(loaded.translate("le chat noir")[0], str)


# Atomic saves ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A tiny untrained translator saved once: the 'previous version'."""
    directory = tmp_path_factory.mktemp("saved")
    translator = _tiny(corpus_pairs("train", 20))
    translator.save(directory / "model")
    return translator, directory


def _same_weights(first, second):
    for got, want in zip(first.model.get_weights(), second.model.get_weights()):
        np.testing.assert_array_equal(got, want)


def _litter(parent):
    return sorted(path.name for path in parent.iterdir() if path.name.startswith(".model."))


def test_a_save_that_fails_midway_keeps_the_previous_version(saved, tmp_path, monkeypatch):
    import shutil

    translator, directory = saved
    target = tmp_path / "model"
    shutil.copytree(directory / "model", target)
    other = _tiny(corpus_pairs("train", 20))
    other.model.set_weights([w + 1.0 for w in other.model.get_weights()])

    def disk_full(self, where):
        (where / "vocab.txt").parent.mkdir(parents=True, exist_ok=True)
        (where / "vocab.txt").write_text("half a vocab")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(type(other.target_tokenizer), "save", disk_full)
    with pytest.raises(OSError, match="No space left"):
        other.save(target)
    _same_weights(Translator.load(target, compile=False), translator)
    assert _litter(tmp_path) == []  # the staging directory is gone


def test_a_save_killed_between_its_renames_is_recovered(saved, tmp_path):
    import shutil

    translator, directory = saved
    # What the two-rename fallback leaves when killed between the renames:
    # no model, the old version under a hidden name.
    shutil.copytree(directory / "model", tmp_path / ".model.old-x1y2")
    _same_weights(Translator.load(tmp_path / "model", compile=False), translator)
    assert _litter(tmp_path) == []


def test_the_two_rename_fallback_replaces_the_previous_version(saved, tmp_path, monkeypatch):
    import shutil

    from kseq2seq import atomic

    translator, directory = saved
    shutil.copytree(directory / "model", tmp_path / "model")
    monkeypatch.setattr(atomic, "_exchange", lambda first, second: False)
    (tmp_path / "model" / "stale.txt").write_text("from the old version")
    translator.save(tmp_path / "model")
    assert not (tmp_path / "model" / "stale.txt").exists()
    assert _litter(tmp_path) == []


KILLED_SAVE = """
import sys, time
from kseq2seq.translator import Translator
translator = Translator.load(sys.argv[1], compile=False)
translator.model.set_weights([w + 1.0 for w in translator.model.get_weights()])
tokenizer_save = type(translator.target_tokenizer).save
def slow_save(self, where):
    tokenizer_save(self, where)
    print("half written", flush=True)
    time.sleep(120)
type(translator.target_tokenizer).save = slow_save
translator.save(sys.argv[1])
"""


def test_a_save_killed_midway_keeps_the_previous_version(saved, tmp_path):
    import os
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    translator, directory = saved
    target = tmp_path / "model"
    shutil.copytree(directory / "model", target)
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    process = subprocess.Popen(
        [sys.executable, "-c", KILLED_SAVE, str(target)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    line = process.stdout.readline()
    assert line.strip() == "half written", process.stderr.read()[-3000:]
    process.kill()
    process.communicate(timeout=60)
    _same_weights(Translator.load(target, compile=False), translator)
    litter = _litter(tmp_path)
    assert len(litter) == 1 and litter[0].startswith(f".model.staging-{process.pid}-")
    translator.save(target)  # the next save clears what the dead process left
    assert _litter(tmp_path) == []


# Bad input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "texts, error, message",
    [
        (None, TypeError, "texts must be a string or a list of strings. Received: NoneType"),
        (5, TypeError, "Received: int"),
        (["fine", None], TypeError, r"texts\[1\] must be a string"),
        ({"le": "chat"}, TypeError, "Received: dict"),
    ],
)
def test_translate_refuses_what_is_not_text(saved, texts, error, message):
    with pytest.raises(error, match=message):
        saved[0].translate(texts)


@pytest.mark.parametrize(
    "options, message",
    [
        ({"max_length": 0}, "max_length must be a positive integer"),
        ({"max_length": "5"}, "max_length must be a positive integer"),
        ({"beam_width": 0}, "beam_width must be a positive integer"),
        ({"seed": 3}, "seed applies only to sampling"),
    ],
)
def test_translate_refuses_bad_options(saved, options, message):
    with pytest.raises(ValueError, match=message):
        saved[0].translate("le chat", **options)


def test_translate_documented_behaviour_on_odd_text(saved):
    translator = saved[0]
    odd = [
        "",  # empty and whitespace-only: ""
        " \t\n ",
        b"le chat \xff\xfe noir",  # bytes that are not UTF-8: replaced, then <unk>
        "le\x00 chat\x07 \x1b[31mnoir\u200b",  # control and format characters
        "zzzqx blorf",  # unknown words: <unk>
        "le \ud800 chat",  # a lone surrogate
    ]
    translations = translator.translate(odd)
    assert len(translations) == len(odd) and all(isinstance(t, str) for t in translations)
    assert translations[:2] == ["", ""]
    ids = translator.encode_sources(odd[2:])
    unk = translator.source_tokenizer.vocabulary.index("<unk>")
    assert (ids[2] == unk).sum() >= 2  # the unknown words
    with pytest.warns(UserWarning, match="longer than max_source_length=100"):
        long = translator.translate(["le chat " * 200])
    assert len(long) == 1 and isinstance(long[0], str)
    with pytest.warns(UserWarning, match="were cut"):
        assert translator.encode_sources(["le chat " * 200]).shape == (1, 100)


@pytest.mark.parametrize(
    "train_pairs, options, error, message",
    [
        (None, {}, TypeError, "train_pairs must be a list of .source, target. string pairs"),
        (["le chat\tthe cat"], {}, TypeError, r"train_pairs\[0\] must be a .source, target."),
        ([("le chat", None)], {}, TypeError, r"train_pairs\[0\] must be"),
        ([("a", "b", "c")], {}, TypeError, r"train_pairs\[0\] must be"),
        ([], {}, ValueError, "train_pairs is empty"),
        ([("le chat", "the cat")], {"epochs": 0}, ValueError, "epochs must be a positive"),
        ([("le chat", "the cat")], {"batch_size": 1.5}, ValueError, "batch_size must be"),
        ([(" ", "the cat")], {}, ValueError, "None of the 1 training pairs is left"),
        ([("le chat noir", "x")], {"max_source_length": 2}, ValueError, "None of the 1"),
        ([("le chat", "the cat")], {"pad_to_multiple": 0}, ValueError, "pad_to_multiple"),
        ([("le chat", "x")], {"max_target_length": 1}, ValueError, "max_target_length"),
    ],
)
def test_fit_refuses_bad_pairs_and_options(saved, train_pairs, options, error, message):
    with pytest.raises(error, match=message):
        saved[0].fit(train_pairs, **{"epochs": 1, "verbose": 0, **options})


@pytest.mark.parametrize(
    "options, message",
    [
        ({"max_source_length": 0}, "max_source_length must be a positive integer"),
        ({"max_source_length": None}, "max_source_length must be a positive integer"),
        ({"max_length": -1}, "max_length must be a positive integer or None"),
    ],
)
def test_translator_refuses_bad_limits(saved, options, message):
    translator = saved[0]
    with pytest.raises(ValueError, match=message):
        Translator(
            translator.model, translator.source_tokenizer, translator.target_tokenizer, **options
        )


def test_tokenizers_refuse_what_is_not_text_or_ids(saved):
    tokenizer = saved[0].source_tokenizer
    with pytest.raises(TypeError, match="texts must be"):
        tokenizer.encode(None)
    with pytest.raises(TypeError, match=r"texts\[1\] must be str or bytes, got int"):
        tokenizer.encode(["le chat", 3])
    with pytest.raises(TypeError, match="ids must be integers"):
        tokenizer.decode([[1.5, 2.0]])
    with pytest.raises(ValueError, match="ids must have rank 1 or 2"):
        tokenizer.decode(np.zeros((1, 2, 3), "int32"))
    unk = tokenizer.vocabulary.index("<unk>")
    assert tokenizer.encode([b"\xff\xfe"]).to_list() == [[unk, unk]]  # documented: <unk>
    assert tokenizer.decode([[10**6, -3]]).numpy().tolist() == [b"<unk> <unk>"]
    assert tokenizer.decode([[]]).numpy().tolist() == [b""]  # one empty row, as encode("") gives


@pytest.mark.parametrize(
    "content, message",
    [
        ("ok\tfine\ncafé\tcoffee\n".encode("latin-1"), r"bad.tsv:2: not valid UTF-8"),
        (b"", r"bad.tsv: no source-target pairs found"),
        (b"\n  \n\n", r"bad.tsv: no source-target pairs found"),
        (b"le chat\tthe cat\nhello world\n", r"bad.tsv:2: no tab between source and target"),
        (b"le chat\tthe cat\n\tthe dog\n", r"bad.tsv:2: empty source or target"),
        (b"\xff\xfeX\x00", r"bad.tsv:1: no tab"),  # UTF-16 with its mark: read, then checked
        (b"\xff\xfe\x00\xd8", r"bad.tsv: starts with a UTF-16 byte-order mark but is not"),
    ],
)
def test_pair_files_errors_name_the_file_and_line(tmp_path, content, message):
    from kseq2seq.data import MalformedPairsError, read_pairs

    (tmp_path / "bad.tsv").write_bytes(content)
    with pytest.raises(MalformedPairsError, match=message):
        read_pairs(tmp_path / "bad.tsv")


def test_pair_files_in_utf16_or_with_a_bom_are_read(tmp_path):
    from kseq2seq.data import read_pairs

    text = "café\tcoffee\r\nthé\ttea\n"
    for name, data in [
        ("utf16le.tsv", text.encode("utf-16")),
        ("utf16be.tsv", b"\xfe\xff" + text.encode("utf-16-be")),
        ("utf8bom.tsv", text.encode("utf-8-sig")),
    ]:
        (tmp_path / name).write_bytes(data)
        assert read_pairs(tmp_path / name) == [("café", "coffee"), ("thé", "tea")], name
    with pytest.raises(FileNotFoundError, match="No such pair file"):
        read_pairs(tmp_path)


def test_the_command_names_bad_arguments_and_files(tmp_path, capsys):
    from kseq2seq.cli import main

    (tmp_path / "latin1.tsv").write_bytes("café\tcoffee\n".encode("latin-1"))
    for option, value in [("--epochs", "0"), ("--batch-size", "x"), ("--learning-rate", "-1")]:
        with pytest.raises(SystemExit) as exit_info:
            main(["train", "pairs.tsv", "--output", "out", option, value])
        assert exit_info.value.code == 2
        assert f"argument {option}" in capsys.readouterr().err
    code = main(["train", str(tmp_path / "latin1.tsv"), "--output", str(tmp_path / "out")])
    assert code == 2
    assert "latin1.tsv:1: not valid UTF-8" in capsys.readouterr().err
    assert main(["translate", "--model", str(tmp_path / "nothing"), "le chat"]) == 2
    assert "is not a saved Translator" in capsys.readouterr().err
