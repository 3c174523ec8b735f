"""Interrupted training resumes: a training process really killed, then resumed.

The same file is the training worker: `python tests/test_resume.py DIR ...`
trains a tiny translator with a `TrainingCheckpoint` in DIR and prints one
line per finished step, so the test knows when to kill it.
"""

from __future__ import annotations

import argparse
import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import corpus_pairs

EPOCHS = 3
BATCH_SIZE = 8
PAIR_COUNT = 40  # 5 steps an epoch
SAVE_FREQ = 2


def train(
    directory,
    pause_at=None,
    step_delay=0.0,
    interrupt_at=None,
    pair_count=PAIR_COUNT,
    epochs=EPOCHS,
    steps_per_execution=1,
):
    """Trains the tiny translator (seed 0) and returns its final weights.

    With a state in `directory/state` it resumes from there. After global
    step `pause_at` it waits (up to 60 s) for a signal; after every step it
    sleeps `step_delay` seconds (so that a kill lands mid-epoch). At step
    `interrupt_at` it sends itself SIGINT, and once interrupted resumes in
    the same process, with the same (already compiled) model. The model is
    compiled with `steps_per_execution` (steps run between two callbacks).
    """
    import keras

    from kseq2seq.training import TrainingCheckpoint, TrainingInterrupted, compile_model
    from kseq2seq.translator import Translator

    keras.utils.set_random_seed(0)
    pairs = corpus_pairs("train", pair_count)
    translator = Translator.from_pairs(
        pairs, embedding_dim=8, units=8, attention="bahdanau", dropout=0.2
    )
    compile_model(translator.model, learning_rate=1e-2, steps_per_execution=steps_per_execution)
    checkpoint = TrainingCheckpoint(Path(directory) / "state", save_freq=SAVE_FREQ)
    steps_per_epoch = -(-pair_count // BATCH_SIZE)

    class Progress(keras.callbacks.Callback):
        epoch = 0

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

        def on_train_batch_end(self, batch, logs=None):
            step = checkpoint._step + self.epoch * steps_per_epoch  # global steps done
            print(f"step {step}", flush=True)
            if step == interrupt_at:
                os.kill(os.getpid(), signal.SIGINT)
            if step == pause_at:
                deadline = time.monotonic() + 60
                while checkpoint._signal is None and time.monotonic() < deadline:
                    time.sleep(0.01)
            time.sleep(step_delay)

    def fit():
        translator.fit(
            pairs,
            epochs=epochs,
            batch_size=BATCH_SIZE,
            callbacks=[checkpoint, Progress()],
            verbose=0,
            pad_to_multiple=32,  # one batch shape: one compilation under JAX
            bucket_boundaries=[32],
        )

    if interrupt_at is None:
        fit()
    else:
        with pytest.raises(TrainingInterrupted, match="SIGINT"):
            fit()
        # The checkpoint sees the signal at the next call: `steps_per_execution` steps on.
        expected = divmod(interrupt_at + steps_per_execution, steps_per_epoch)
        assert checkpoint.position() == expected
        fit()
    return [np.asarray(v) for v in translator.model.get_weights()]


def _start(directory, log, *options):
    """The worker, its stderr into the file `log` (a pipe nobody reads while
    the test waits on stdout would fill up and stop the worker)."""
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    with open(log, "w") as stderr:
        process = subprocess.Popen(
            [sys.executable, __file__, str(directory), *options],
            stdout=subprocess.PIPE,
            stderr=stderr,
            env=env,
        )
    process.log = Path(log)
    return process


def _stderr(process) -> str:
    return process.log.read_text(errors="replace")[-3000:]


def _wait_for_step(process, step, timeout=300):
    """Reads the worker's lines until `step {step}`; fails (and kills it) when
    it ends first or prints nothing for `timeout` seconds."""
    descriptor, pending = process.stdout.fileno(), b""
    selector = selectors.DefaultSelector()
    selector.register(descriptor, selectors.EVENT_READ)
    try:
        while selector.select(timeout):
            chunk = os.read(descriptor, 4096)  # unbuffered: select sees all that is left
            if not chunk:
                break
            *lines, pending = (pending + chunk).split(b"\n")
            if f"step {step}".encode() in (line.strip() for line in lines):
                return
    finally:
        selector.close()
    alive = process.poll() is None
    process.kill()
    process.wait(timeout=30)
    state = f"silent for {timeout} s" if alive else "ended"
    raise AssertionError(f"the worker {state} before step {step}: {_stderr(process)}")


def _position(directory):
    from kseq2seq.training import TrainingCheckpoint

    return TrainingCheckpoint(Path(directory) / "state").position()


@pytest.mark.slow
def test_killed_training_resumes_to_the_same_weights(tmp_path):
    steps_per_epoch = -(-PAIR_COUNT // BATCH_SIZE)
    # SIGTERM mid-epoch 1: the worker saves after the step it is in and exits 143.
    worker = _start(tmp_path, tmp_path / "worker1.log", "--pause-at", "2")
    _wait_for_step(worker, 2)
    worker.send_signal(signal.SIGTERM)
    worker.communicate(timeout=120)
    assert worker.returncode == 128 + signal.SIGTERM, _stderr(worker)
    assert "interrupted by SIGTERM" in _stderr(worker)
    assert _position(tmp_path) == (0, 3)

    # SIGKILL while it runs: it loses the steps since the last save, no more.
    worker = _start(tmp_path, tmp_path / "worker2.log", "--step-delay", "0.1")
    _wait_for_step(worker, steps_per_epoch + 2)
    worker.kill()
    worker.communicate(timeout=120)
    epoch, step = _position(tmp_path)
    assert (0, 3) < (epoch, step) <= (2, 0), "the killed run saved nothing, or ran on"

    # SIGINT (Ctrl-C) in this process, then resumed: the same weights at the end.
    resumed = train(tmp_path, interrupt_at=2 * steps_per_epoch + 1)
    uninterrupted = train(tmp_path / "fresh")
    assert len(resumed) == len(uninterrupted)
    for got, want in zip(resumed, uninterrupted):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
    assert _position(tmp_path / "fresh") == (EPOCHS, 0)


def test_train_command_stops_on_sigterm_and_resumes(tmp_path, monkeypatch, capsys):
    from kseq2seq.cli import main
    from kseq2seq.datasets import save_tsv
    from kseq2seq.datasets.default_corpus import default_corpus
    from kseq2seq.training import TrainingCheckpoint

    save_tsv(default_corpus("train")[:PAIR_COUNT], tmp_path / "pairs.tsv")
    output = tmp_path / "model"
    command = ["train", str(tmp_path / "pairs.tsv"), "--output", str(output)]
    command += ["--epochs", "2", "--batch-size", str(BATCH_SIZE), "--validation", "0"]
    command += ["--checkpoint-every", "2", "--verbose", "0"]
    command += ["--units", "8", "--embedding-dim", "8", "--attention", "luong_dot"]
    original = TrainingCheckpoint.on_train_batch_end
    steps_seen, interrupted = [], []

    def on_train_batch_end(self, batch, logs=None):
        original(self, batch, logs)
        steps_seen.append(self._step)
        if len(steps_seen) == 3 and not interrupted:  # SIGTERM in the middle of epoch 1
            interrupted.append(True)
            os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(TrainingCheckpoint, "on_train_batch_end", on_train_batch_end)
    assert main(command) == 128 + signal.SIGTERM
    assert "interrupted by SIGTERM at epoch 1, step 4" in capsys.readouterr().err
    partial = tmp_path / "model.partial"
    assert TrainingCheckpoint(partial / "checkpoint").position() == (0, 4)
    assert not output.exists()
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # handlers put back

    steps_seen.clear()
    assert main(command) == 0
    assert "Resuming the interrupted run" in capsys.readouterr().out
    assert steps_seen == [5, 1, 2, 3, 4, 5]  # the rest of epoch 1, then epoch 2
    assert (output / "translator.json").is_file() and not partial.exists()


def _main():
    parser = argparse.ArgumentParser()
    parser.add_argument("directory")
    parser.add_argument("--pause-at", type=int)
    parser.add_argument("--step-delay", type=float, default=0.0)
    args = parser.parse_args()
    from kseq2seq.training import TrainingInterrupted

    try:
        train(args.directory, pause_at=args.pause_at, step_delay=args.step_delay)
    except TrainingInterrupted as interrupted:
        print(f"worker: {interrupted}", file=sys.stderr)
        sys.exit(128 + interrupted.signal_number)


if __name__ == "__main__":
    _main()


def test_plain_model_fit_resumes_at_the_checkpoint_epoch(tmp_path):
    """With a plain `model.fit`, the state comes back at `on_train_begin`; the epochs count on
    from `checkpoint.initial_epoch`, and a fit that starts earlier is warned about."""
    import keras

    from kseq2seq.training import TrainingCheckpoint, compile_model
    from kseq2seq.translator import Translator

    keras.utils.set_random_seed(0)
    pairs = corpus_pairs("train", PAIR_COUNT)
    translator = Translator.from_pairs(pairs, embedding_dim=8, units=8, attention="luong_dot")
    compile_model(translator.model, learning_rate=1e-2)
    data = translator.validation_dataset(pairs, batch_size=BATCH_SIZE, pad_to_multiple=32)
    state = tmp_path / "state"
    assert TrainingCheckpoint(state).initial_epoch == 0
    translator.model.fit(data, epochs=2, callbacks=[TrainingCheckpoint(state)], verbose=0)
    trained = [np.asarray(v) for v in translator.model.get_weights()]

    fresh = Translator.from_pairs(pairs, embedding_dim=8, units=8, attention="luong_dot")
    compile_model(fresh.model, learning_rate=1e-2)
    checkpoint = TrainingCheckpoint(state)
    assert checkpoint.initial_epoch == 2
    seen = []

    class Restored(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            seen.append([np.asarray(v) for v in self.model.get_weights()])

    history = fresh.model.fit(
        data,
        epochs=3,
        initial_epoch=checkpoint.initial_epoch,
        callbacks=[checkpoint, Restored()],
        verbose=0,
    )
    assert history.epoch == [2]
    for restored, expected in zip(seen[0], trained):
        np.testing.assert_array_equal(restored, expected)
    with pytest.warns(UserWarning, match="initial_epoch=checkpoint.initial_epoch"):
        fresh.model.fit(data, epochs=1, callbacks=[TrainingCheckpoint(state)], verbose=0)


# steps_per_execution=N: Keras calls `on_train_batch_end` once per N steps, with `batch` the
# index of the last of them (past the epoch's end for its last group when N does not divide
# its steps), so that counting the calls counted N times too few steps.


def test_checkpoint_saves_the_steps_done_under_steps_per_execution(tmp_path, monkeypatch):
    """5 steps an epoch in groups of 3 (`batch` 2, then 5): the epoch ends after the second
    group, and the first (3 steps) passes a multiple of save_freq=2."""
    import keras

    from kseq2seq.training import TrainingCheckpoint, compile_model
    from kseq2seq.translator import Translator

    keras.utils.set_random_seed(0)
    pairs = corpus_pairs("train", PAIR_COUNT)
    translator = Translator.from_pairs(pairs, embedding_dim=8, units=8, attention="luong_dot")
    compile_model(translator.model, learning_rate=1e-2, steps_per_execution=3)
    saved = []
    original = TrainingCheckpoint.save

    def save(self, model=None):
        saved.append((self._epoch, self._step))
        original(self, model)

    monkeypatch.setattr(TrainingCheckpoint, "save", save)
    checkpoint = TrainingCheckpoint(tmp_path / "state", save_freq=2)
    translator.fit(
        pairs,
        epochs=2,
        batch_size=BATCH_SIZE,
        callbacks=[checkpoint],
        verbose=0,
        pad_to_multiple=32,
        bucket_boundaries=[32],
    )
    assert saved == [(0, 3), (1, 0), (1, 3), (2, 0)]
    assert checkpoint.position() == (2, 0)


def test_interrupted_training_resumes_to_the_same_weights_under_steps_per_execution(tmp_path):
    """10 steps an epoch in groups of 3: SIGINT after the first group stops after the second,
    mid-epoch, at step 6; the resumed run ends with the weights of an uninterrupted one. The
    epoch's last group is partial (step 9 of 10): Keras runs it whole, on the next batches of
    `Translator.fit`'s repeated stream, so an epoch takes 12 batches of it, and the resumed
    run's later epochs must start there."""
    options = dict(pair_count=80, epochs=2, steps_per_execution=3)
    resumed = train(tmp_path, interrupt_at=3, **options)  # asserts the position (0, 6)
    uninterrupted = train(tmp_path / "fresh", **options)
    assert len(resumed) == len(uninterrupted)
    for got, want in zip(resumed, uninterrupted):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
    assert _position(tmp_path / "fresh") == (2, 0)


def test_stop_on_nan_under_steps_per_execution_stops_at_the_group_it_restores(capsys):
    """A NaN input at index 4 (the fifth and last step), in the group of indices 3-5
    (`batch` 5 at its end): the weights go back to those from before index 3, `stopped_at`
    says (0, 3), and the message names batches 4-5 (1-based, cut at the epoch's end)."""
    import keras

    from kseq2seq.training import StopOnNaN

    keras.utils.set_random_seed(0)
    x = np.ones((5, 2), "float32")
    x[4] = np.nan
    y = np.zeros((5, 1), "float32")
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse", steps_per_execution=3)
    before = {}

    class Snapshots(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            before[batch] = [np.array(w) for w in self.model.get_weights()]

    guard = StopOnNaN()
    callbacks = [Snapshots(), guard]
    model.fit(x, y, batch_size=1, epochs=2, shuffle=False, callbacks=callbacks, verbose=0)
    assert sorted(before) == [0, 3]
    assert guard.stopped_at == (0, 3)
    assert "epoch 1, batches 4-5:" in capsys.readouterr().out
    for got, want in zip(model.get_weights(), before[3]):
        np.testing.assert_array_equal(got, want)
    assert any(not np.array_equal(a, b) for a, b in zip(before[3], before[0]))


def test_resuming_with_another_steps_per_execution_warns(tmp_path):
    """The state records the steps_per_execution it was saved with; restoring it into a model
    compiled with another warns (the batches differ from an uninterrupted run's), the same
    one does not."""
    import warnings

    import keras

    from kseq2seq.training import TrainingCheckpoint, compile_model
    from kseq2seq.training.callbacks import build_optimizer
    from kseq2seq.translator import Translator

    pairs = corpus_pairs("train", 16)

    def translator(steps_per_execution):
        keras.utils.set_random_seed(0)
        made = Translator.from_pairs(pairs, embedding_dim=8, units=8, attention="luong_dot")
        compile_model(made.model, learning_rate=1e-2, steps_per_execution=steps_per_execution)
        return made

    state = tmp_path / "state"
    saved = translator(3).model
    build_optimizer(saved)  # the state holds the optimizer's variables too
    TrainingCheckpoint(state).save(saved)  # as during a run with N=3
    assert TrainingCheckpoint(state).position() == (0, 0)
    with pytest.warns(UserWarning, match="steps_per_execution=3 and the model now runs 1"):
        TrainingCheckpoint(state).restore(translator(1).model)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert TrainingCheckpoint(state).restore(translator(3).model) == (0, 0)
