"""DenseAdam: the same Adam step under every backend, against NumPy."""

import keras
import numpy as np
import pytest

import kseq2seq
from kseq2seq.training.optimizers import DenseAdam

VOCAB, WIDTH = 6, 3
# Token 2 three times and token 4 twice in one batch: under TensorFlow the
# embedding's gradient is a tf.IndexedSlices with those rows unsummed.
IDS = np.array([[2, 2, 4, 1], [2, 4, 3, 5]], dtype="int32")
RNG = np.random.default_rng(0)
TABLE = RNG.uniform(-0.05, 0.05, (VOCAB, WIDTH)).astype("float32")
TARGETS = RNG.normal(size=(*IDS.shape, WIDTH)).astype("float32")


def _embedding_model():
    ids = keras.Input(shape=(None,), dtype="int32")
    embedding = keras.layers.Embedding(VOCAB, WIDTH)
    model = keras.Model(ids, embedding(ids))
    embedding.embeddings.assign(TABLE)
    return model


def _numpy_adam(steps, learning_rate, clipnorm, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    """Textbook Adam (Keras's epsilon placement) on the dense gradient of the
    mean squared error, each variable's gradient clipped to `clipnorm`."""
    table = TABLE.astype("float64")
    m = np.zeros_like(table)
    v = np.zeros_like(table)
    for step in range(1, steps + 1):
        # d mean((e - y)^2) / d e, summed into the rows the ids pick.
        per_token = 2.0 * (table[IDS] - TARGETS) / TARGETS.size
        gradient = np.zeros_like(table)
        np.add.at(gradient, IDS, per_token)
        if clipnorm is not None:
            gradient = gradient * clipnorm / max(np.linalg.norm(gradient), clipnorm)
        m += (gradient - m) * (1 - beta_1)
        v += (gradient**2 - v) * (1 - beta_2)
        alpha = learning_rate * np.sqrt(1 - beta_2**step) / (1 - beta_1**step)
        table = table - m * alpha / (np.sqrt(v) + epsilon)
    return table


@pytest.mark.parametrize("clipnorm", [None, 1e-3])
def test_embedding_update_is_textbook_adam(clipnorm):
    model = _embedding_model()
    model.compile(optimizer=DenseAdam(learning_rate=0.01, clipnorm=clipnorm), loss="mse")
    steps = 3
    for _ in range(steps):
        model.train_on_batch(IDS, TARGETS)
    expected = _numpy_adam(steps, 0.01, clipnorm)
    # Rows of repeated tokens are where Keras's Adam on tf.IndexedSlices
    # departs from this (by ~1e-3 here); unused rows must not move.
    np.testing.assert_allclose(model.get_weights()[0], expected, atol=2e-6)
    np.testing.assert_array_equal(model.get_weights()[0][0], TABLE[0])


def test_compile_model_uses_dense_adam_and_it_round_trips(tmp_path):
    model = kseq2seq.build_model(
        source_vocab_size=12, target_vocab_size=14, embedding_dim=4, units=8
    )
    kseq2seq.compile_model(model, learning_rate=2e-3, clipnorm=3.0)
    assert isinstance(model.optimizer, DenseAdam)
    restored = DenseAdam.from_config(model.optimizer.get_config())
    assert restored.get_config() == model.optimizer.get_config()
    ids = np.array([[4, 5, 6, 0]], dtype="int32")
    model.fit({"source": ids, "target_in": ids}, ids, epochs=1, verbose=0)
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    assert isinstance(loaded.optimizer, DenseAdam)
    assert float(loaded.optimizer.clipnorm) == 3.0


def test_compile_model_builds_the_optimizer_and_training_is_unchanged():
    """Under TensorFlow `compile_model` builds the optimizer before the first traced step
    (which `tf.function` would otherwise trace twice); the trained weights are those of
    Keras's own order, where the first traced step builds it."""
    from kseq2seq.training.losses import MaskedSparseCategoricalCrossentropy

    ids = np.array([[4, 5, 6, 0], [7, 8, 9, 10]], dtype="int32")
    weights = []
    for ours in (True, False):
        keras.utils.set_random_seed(7)
        model = kseq2seq.build_model(
            source_vocab_size=12, target_vocab_size=14, embedding_dim=4, units=8
        )
        if ours:
            kseq2seq.compile_model(model, learning_rate=1e-2)
            assert model.optimizer.built == (keras.backend.backend() == "tensorflow")
        else:
            loss = MaskedSparseCategoricalCrossentropy()
            model.compile(optimizer=DenseAdam(learning_rate=1e-2, clipnorm=5.0), loss=loss)
            assert not model.optimizer.built
        model.fit({"source": ids, "target_in": ids}, ids, epochs=3, verbose=0)
        assert model.optimizer.iterations.numpy() == 3
        weights.append(model.get_weights())
    for built_first, built_in_trace in zip(*weights):
        np.testing.assert_allclose(built_first, built_in_trace, rtol=1e-6, atol=1e-7)
