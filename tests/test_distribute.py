"""Data-parallel training on two CPU devices matches one device."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest

import kseq2seq
from kseq2seq.training.distribute import DataParallelEngine, as_engine

REPO_ROOT = Path(__file__).resolve().parents[1]

# Runs in a fresh process: the device count must be set before the backend
# initialises. Prints the losses and final weights of the same few steps on
# one device and on two, from the same initial weights and data.
SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import keras
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * 2
        )
        devices = ["/cpu:0", "/cpu:1"]
    else:
        devices = keras.distribution.list_devices()
    import kseq2seq
    from kseq2seq.training.distribute import DataParallelEngine

    keras.utils.set_random_seed(0)
    options = dict(source_vocab_size=20, target_vocab_size=20, embedding_dim=8, units=8,
                   attention=sys.argv[1])
    rng = np.random.default_rng(0)
    source = rng.integers(4, 20, (16, 6)).astype("int32")
    source[::3, 4:] = 0  # padded sources
    target = rng.integers(4, 20, (16, 6)).astype("int32")  # the same token count per replica
    inputs = {"source": source, "target_in": target}

    def train(model):
        history = model.fit(inputs, target, batch_size=8, epochs=2, shuffle=False, verbose=0)
        return history.history["loss"], [w.tolist() for w in model.get_weights()]

    single = kseq2seq.compile_model(kseq2seq.build_model(**options))
    initial = single.get_weights()
    single_losses, single_weights = train(single)
    engine = DataParallelEngine(devices=devices)
    model = engine.build_model(**options)
    model.set_weights(initial)
    losses, weights = train(model)
    print(json.dumps({"replicas": engine.num_replicas, "strategy": engine.strategy,
                      "single": [single_losses, single_weights], "multi": [losses, weights]}))
    """
)


def _run_two_devices(attention):
    env = dict(os.environ)
    env["KERAS_BACKEND"] = keras.backend.backend()
    env["XLA_FLAGS"] = (
        env.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=2"
    ).strip()
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), env.get("PYTHONPATH", "")])
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, attention],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(
    keras.backend.backend() not in ("jax", "tensorflow"), reason="JAX and TensorFlow engines only"
)
def test_two_devices_train_like_one():
    result = _run_two_devices("bahdanau")
    assert result["replicas"] == 2
    expected = "data_parallel" if keras.backend.backend() == "jax" else "mirrored"
    assert result["strategy"] == expected
    single_losses, single_weights = result["single"]
    losses, weights = result["multi"]
    assert len(losses) == 2 and losses[1] < losses[0]
    np.testing.assert_allclose(losses, single_losses, rtol=1e-5)
    for value, reference in zip(weights, single_weights):
        np.testing.assert_allclose(value, reference, rtol=1e-4, atol=1e-6)


def test_bad_strategies_are_named():
    with pytest.raises(ValueError, match="Unknown strategy: 'ring'"):
        DataParallelEngine("ring")
    other = "mirrored" if keras.backend.backend() == "jax" else "data_parallel"
    with pytest.raises(ValueError, match=f"strategy='{other}' does not run"):
        DataParallelEngine(other)
    with pytest.raises(ValueError, match="devices must name at least one device"):
        DataParallelEngine(devices=[])
    with pytest.raises(TypeError, match="distribute must be None"):
        as_engine(2)


def test_translator_fit_on_an_engine(monkeypatch):
    devices = ["/cpu:0"] if keras.backend.backend() == "tensorflow" else None
    engine = DataParallelEngine(devices=devices)
    assert engine.num_replicas == 1
    with monkeypatch.context() as patch:
        patch.setattr(DataParallelEngine, "num_replicas", property(lambda self: 2))
        with pytest.raises(ValueError, match="batch_size=3 does not split evenly"):
            engine.check_batch_size(3)
        import tensorflow as tf

        rows = np.arange(1, 15, dtype="int32").reshape(7, 2)
        sizes = tf.data.Dataset.from_tensor_slices({"source": rows})
        sizes = sizes.batch(4).map(lambda inputs: (inputs, inputs["source"] * 10))
        batches = [(x["source"].numpy(), y.numpy()) for x, y in engine.even_batches(sizes)]
        # JAX splits only even batches: the odd one gets an empty row (all
        # padding, no token); TensorFlow splits any.
        jax = keras.backend.backend() == "jax"
        assert [len(source) for source, _ in batches] == ([4, 4] if jax else [4, 3])
        last_source, last_target = batches[1]
        np.testing.assert_array_equal(last_source[:3], rows[4:])
        np.testing.assert_array_equal(last_target[:3], rows[4:] * 10)
        if jax:
            assert not last_source[3].any() and not last_target[3].any()
    pairs = [("a b c", "x y z"), ("b c", "y z"), ("c a", "z x"), ("a", "x")] * 4
    translator = kseq2seq.Translator.from_pairs(pairs, embedding_dim=8, units=8)
    before = translator.model.get_weights()
    history = engine.fit_translator(translator, pairs, epochs=1, batch_size=4, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    # The translator trained, and keeps, the copy made in the engine's scope.
    assert translator.model in engine._models
    assert any(not np.array_equal(a, b) for a, b in zip(before, translator.model.get_weights()))
