"""build_model, the inference pieces, attention_model, saving and fine-tuning."""

import json
import warnings

import keras
import numpy as np
import pytest
from conftest import SMALL
from keras import ops

import kseq2seq
from kseq2seq import InferencePieces, Seq2SeqConfig, attention_model, build_model
from kseq2seq.datasets.synthetic import reversal_task
from kseq2seq.special_tokens import BOS_ID, EOS_ID, PAD_ID

# Every decoder variant, and the encoder/bridge options around them.
VARIANTS = {
    "luong_general": dict(attention="luong_general"),
    "luong_dot": dict(attention="luong_dot"),
    "luong_concat_scaled": dict(attention="luong_concat", scale_attention=True),
    "luong_general_feeding": dict(attention="luong_general", input_feeding=True),
    "luong_dot_feeding_gru": dict(attention="luong_dot", input_feeding=True, cell="gru"),
    "bahdanau": dict(attention="bahdanau"),
    "normed_bahdanau_gru": dict(attention="normed_bahdanau", cell="gru"),
    "bahdanau_feeding": dict(attention="bahdanau", input_feeding=True),
    "no_attention": dict(attention=None),
    "deep_bidirectional_residual": dict(
        attention="luong_general", num_layers=2, bidirectional=True, residual=True
    ),
    "deep_bahdanau_dense_bridge": dict(
        attention="bahdanau", num_layers=2, bridge="dense", residual=True
    ),
    "feeding_no_bridge_tied": dict(
        attention="luong_general",
        input_feeding=True,
        bridge="none",
        tie_embeddings=True,
        embedding_dim=16,
    ),
    "gru_bidirectional_no_attention": dict(attention=None, cell="gru", bidirectional=True),
}


def _batch(seed=0, batch=3, source_length=7, target_length=6):
    rng = np.random.default_rng(seed)
    source = rng.integers(4, 30, (batch, source_length)).astype("int32")
    source[0, 4:] = 0  # a padded sentence
    target = rng.integers(4, 40, (batch, target_length)).astype("int32")
    return source, target


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_teacher_forced_logits_equal_step_by_step(variant):
    model = build_model(**{**SMALL, **VARIANTS[variant]})
    source, target = _batch()
    logits = model.predict({"source": source, "target_in": target}, verbose=0)
    assert logits.shape == (3, 6, 40)
    assert logits.dtype == np.float32

    pieces = InferencePieces(model)
    context, carry = pieces.encode(source)
    step_logits, step_weights = [], []
    for position in range(target.shape[1]):
        logits_t, carry = pieces.step(target[:, position], carry, context)
        step_logits.append(ops.convert_to_numpy(logits_t))
        step_weights.append(ops.convert_to_numpy(carry[1]))
    np.testing.assert_allclose(np.stack(step_logits, 1), logits, atol=1e-4, rtol=1e-4)

    if VARIANTS[variant].get("attention") is not None:
        weights = attention_model(model).predict({"source": source, "target_in": target}, verbose=0)
        assert weights.shape == (3, 6, 7)
        np.testing.assert_allclose(np.stack(step_weights, 1), weights, atol=1e-5)
        # Padded source positions get exactly zero weight; rows sum to one.
        assert np.all(weights[0, :, 4:] == 0.0)
        np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-5)


def test_padding_the_source_does_not_change_the_translation():
    model = build_model(**SMALL, attention="bahdanau", bidirectional=True)
    source, target = _batch()
    short = source[:1, :4]
    padded = np.concatenate([short, np.zeros((1, 9), "int32")], axis=1)
    out_short = model.predict({"source": short, "target_in": target[:1]}, verbose=0)
    out_padded = model.predict({"source": padded, "target_in": target[:1]}, verbose=0)
    np.testing.assert_allclose(out_short, out_padded, atol=1e-5)


def test_inputs_and_outputs_are_named():
    model = build_model(**SMALL)
    assert sorted(model.input) == ["source", "target_in"]
    assert model.get_layer("encoder") is not None
    assert kseq2seq.model_config(model) == Seq2SeqConfig(**SMALL)


def test_attention_model_shares_the_trained_weights():
    model = build_model(**SMALL, attention="luong_general")
    extractor = attention_model(model)
    source, target = _batch()
    inputs = {"source": source, "target_in": target}
    before = extractor.predict(inputs, verbose=0)
    kernel = model.get_layer("decoder").attention.key_kernel
    kernel.assign(kernel * 3.0)
    after = extractor.predict(inputs, verbose=0)
    assert not np.allclose(before, after)


def test_attention_model_rejects_models_without_attention():
    with pytest.raises(ValueError, match="no attention"):
        attention_model(build_model(**SMALL, attention=None))
    with pytest.raises(ValueError, match="build_model"):
        plain = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        attention_model(plain)


# Configuration -------------------------------------------------------------


def test_config_round_trips_through_json(tmp_path):
    config = Seq2SeqConfig(**SMALL, attention="bahdanau", dropout=0.2, num_layers=2)
    assert Seq2SeqConfig.from_json(config.to_json()) == config
    config.save(tmp_path / "config.json")
    assert Seq2SeqConfig.load(tmp_path / "config.json") == config
    assert json.loads(config.to_json())["attention"] == "bahdanau"


def test_build_model_takes_config_and_overrides():
    config = Seq2SeqConfig(**SMALL)
    model = build_model(config, attention="luong_dot", units=32, embedding_dim=32)
    got = kseq2seq.model_config(model)
    assert (got.attention, got.units) == ("luong_dot", 32)
    assert config.units == 16  # the caller's config is left alone


@pytest.mark.parametrize(
    "overrides, message",
    [
        (dict(attention="luong"), "attention.*Valid options"),
        (dict(cell="lstmm"), "cell.*'lstm', 'gru'"),
        (dict(bridge="linear"), "bridge"),
        (dict(units=0), "units"),
        (dict(units=15, bidirectional=True), "even"),
        (dict(dropout=1.5), "dropout"),
        (dict(word_dropout=1.0), "word_dropout.*\\[0, 1\\)"),
        (dict(word_dropout=True), "word_dropout"),
        (dict(num_layers=2.5), "num_layers"),
        (dict(tie_embeddings=True), "tie_embeddings"),
        (dict(share_embeddings=True), "share_embeddings.*source_vocab_size"),
        (dict(attention=None, bridge="none"), "bridge"),
        (dict(attention=None, input_feeding=True), "input_feeding"),
        (dict(source_vocab_size=2), "source_vocab_size"),
        (dict(input_feeding="yes"), "input_feeding"),
        (dict(hidden_size=8), "Unknown config option.*hidden_size"),
    ],
)
def test_bad_configurations_raise_clear_errors(overrides, message):
    with pytest.raises(ValueError, match=message):
        build_model(**{**SMALL, **overrides})


def test_word_dropout_drops_whole_tokens():
    from kseq2seq.layers.encoder import word_dropout_layer

    rate = 0.3
    keras.utils.set_random_seed(5)
    embedded = np.random.default_rng(5).normal(size=(16, 50, 8)).astype("float32") + 5.0
    dropped = ops.convert_to_numpy(word_dropout_layer(rate)(embedded, training=True))
    zeroed = (dropped == 0).all(-1)  # B x T: the tokens dropped whole
    kept = np.isclose(dropped, embedded / (1 - rate), rtol=1e-6).all(-1)
    assert (zeroed | kept).all()  # never some channels of a token and not others
    # 800 draws at 0.3: the count lies within 4.5 standard deviations.
    assert abs(zeroed.mean() - rate) < 4.5 * np.sqrt(rate * (1 - rate) / zeroed.size)
    same = ops.convert_to_numpy(word_dropout_layer(rate)(embedded, training=False))
    np.testing.assert_array_equal(same, embedded)


def test_word_dropout_acts_in_training_and_leaves_inference_alone():
    source, target = _batch(batch=4)
    inputs = {"source": source, "target_in": target}
    plain = build_model(**SMALL)
    model = build_model(**SMALL, word_dropout=0.5)
    model.set_weights(plain.get_weights())
    np.testing.assert_array_equal(
        ops.convert_to_numpy(model(inputs, training=False)),
        ops.convert_to_numpy(plain(inputs, training=False)),
    )
    trained = [ops.convert_to_numpy(model(inputs, training=True)) for _ in range(2)]
    reference = ops.convert_to_numpy(plain(inputs, training=True))
    assert not np.allclose(trained[0], reference)
    assert not np.allclose(trained[0], trained[1])  # a fresh draw every call


def test_config_of_the_wrong_type():
    with pytest.raises(TypeError, match="config"):
        build_model("lstm")


# Loss and metric -------------------------------------------------------------


def test_masked_loss_and_accuracy_ignore_padding():
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(2, 4, 6)).astype("float32")
    labels = np.array([[2, 3, 0, 0], [1, 5, 4, 0]], dtype="int32")
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    real = labels != 0
    expected = -log_probs[real, labels[real]].mean()
    loss = kseq2seq.MaskedSparseCategoricalCrossentropy()(labels, logits)
    np.testing.assert_allclose(ops.convert_to_numpy(loss), expected, rtol=1e-5)

    # Label smoothing: the smoothed one-hot against the log-probabilities.
    smoothing = 0.1
    target = np.full(logits.shape, smoothing / 6) + (1 - smoothing) * np.eye(6)[labels]
    expected_smooth = -(target * log_probs).sum(-1)[real].mean()
    smoothed = kseq2seq.MaskedSparseCategoricalCrossentropy(label_smoothing=smoothing)
    np.testing.assert_allclose(
        ops.convert_to_numpy(smoothed(labels, logits)), expected_smooth, rtol=1e-5
    )

    accuracy = kseq2seq.MaskedAccuracy()
    accuracy.update_state(labels, logits)
    expected_accuracy = (logits.argmax(-1) == labels)[real].mean()
    np.testing.assert_allclose(ops.convert_to_numpy(accuracy.result()), expected_accuracy)

    # Ties with the largest logit count as hits; a sample weight of 0 drops a token.
    tied = np.zeros((1, 3, 4), "float32")
    tied[0, :, 1] = tied[0, :, 2] = 1.0  # classes 1 and 2 tie at the top
    accuracy = kseq2seq.MaskedAccuracy()
    accuracy.update_state(np.array([[2, 3, 1]]), tied, sample_weight=np.array([[1, 1, 0]]))
    # A hit (the tie), a miss, and a token of weight 0.
    assert ops.convert_to_numpy(accuracy.result()) == 0.5


@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_masked_loss_gradient_is_softmax_minus_the_target(smoothing):
    """d loss / d logits = (softmax - smoothed one-hot) / real tokens, 0 at padding."""
    rng = np.random.default_rng(4)
    logits = rng.normal(size=(2, 3, 5)).astype("float32") * 3
    labels = np.array([[4, 1, 0], [2, 0, 0]], dtype="int32")
    loss = kseq2seq.MaskedSparseCategoricalCrossentropy(label_smoothing=smoothing)
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        variable = tf.Variable(logits)
        with tf.GradientTape() as tape:
            value = loss(labels, variable)
        gradient = tape.gradient(value, variable).numpy()
    elif keras.backend.backend() == "jax":
        import jax

        gradient = np.asarray(jax.grad(lambda z: loss(labels, z))(logits))
    else:
        pytest.skip("gradients checked under TensorFlow and JAX")
    softmax = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    target = np.full(logits.shape, smoothing / 5) + (1 - smoothing) * np.eye(5)[labels]
    real = (labels != 0)[..., None]
    expected = (softmax - target) * real / real.sum()
    np.testing.assert_allclose(gradient, expected, rtol=1e-5, atol=1e-7)


# Saving, loading and fine-tuning ---------------------------------------------


def _fit_briefly(model, source, target, epochs=1):
    target_in = np.concatenate([np.full((len(target), 1), 2, "int32"), target[:, :-1]], 1)
    return model.fit({"source": source, "target_in": target_in}, target, epochs=epochs, verbose=0)


@pytest.mark.parametrize("attention", ["luong_general", "bahdanau", None])
def test_keras_round_trip_gives_identical_predictions(tmp_path, attention):
    model = kseq2seq.compile_model(build_model(**SMALL, attention=attention, dropout=0.1))
    source, target = _batch(batch=8)
    _fit_briefly(model, source, target)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = kseq2seq.load_model(path)
    inputs = {"source": source, "target_in": target}
    np.testing.assert_array_equal(
        model.predict(inputs, verbose=0), loaded.predict(inputs, verbose=0)
    )
    assert kseq2seq.model_config(loaded) == kseq2seq.model_config(model)
    tokens, _, _ = kseq2seq.greedy_decode(model, source, max_length=5)
    tokens_loaded, _, _ = kseq2seq.greedy_decode(loaded, source, max_length=5)
    np.testing.assert_array_equal(tokens, tokens_loaded)
    if attention is not None:
        np.testing.assert_array_equal(
            attention_model(model).predict(inputs, verbose=0),
            attention_model(loaded).predict(inputs, verbose=0),
        )


def test_load_model_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing-here"):
        kseq2seq.load_model(tmp_path / "nothing-here.keras")


def test_fine_tuning_a_loaded_model_lowers_the_loss_with_the_encoder_frozen(tmp_path):
    model = kseq2seq.compile_model(build_model(**SMALL, attention="luong_general"))
    source, target = _batch(seed=1, batch=16)
    _fit_briefly(model, source, target)
    model.save(tmp_path / "model.keras")

    loaded = kseq2seq.load_model(tmp_path / "model.keras")
    kseq2seq.freeze_encoder(loaded)
    kseq2seq.compile_model(loaded, learning_rate=1e-2)
    encoder_before = [w.copy() for w in loaded.get_layer("encoder").get_weights()]
    decoder_before = [w.copy() for w in loaded.get_layer("decoder").get_weights()]

    # New data: the reversal of short symbol sequences, same vocabularies.
    task = reversal_task(64, num_symbols=20, min_length=3, max_length=6, seed=5)
    history = loaded.fit(
        {"source": task["source"], "target_in": task["target_in"]},
        task["target_out"],
        epochs=20,
        verbose=0,
    )
    losses = history.history["loss"]
    assert losses[-1] < 0.85 * losses[0]
    for before, after in zip(encoder_before, loaded.get_layer("encoder").get_weights()):
        np.testing.assert_array_equal(before, after)
    changed = [
        not np.array_equal(before, after)
        for before, after in zip(decoder_before, loaded.get_layer("decoder").get_weights())
    ]
    assert any(changed)


def test_a_model_fine_tuned_with_the_encoder_frozen_loads_without_warnings(tmp_path):
    model = kseq2seq.compile_model(build_model(**SMALL, attention="luong_general"))
    source, target = _batch(seed=2, batch=8)
    kseq2seq.freeze_encoder(model)
    kseq2seq.compile_model(model)  # Keras reads `trainable` when compiling
    _fit_briefly(model, source, target)
    model.save(tmp_path / "tuned.keras")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loaded = kseq2seq.load_model(tmp_path / "tuned.keras")
    assert not [w for w in caught if "Skipping variable loading" in str(w.message)]
    # Still frozen: the same weights train, and the optimizer's state came back.
    assert len(loaded.trainable_variables) == len(model.trainable_variables)
    assert not loaded.get_layer("encoder").trainable_variables
    assert int(loaded.optimizer.iterations) == int(model.optimizer.iterations) > 0


def test_greedy_decode_rejects_bad_input():
    model = build_model(**SMALL)
    with pytest.raises(ValueError, match="source_ids"):
        kseq2seq.greedy_decode(model, np.array([1.5, 2.0]))
    with pytest.raises(ValueError, match=r"\[0, 30\)"):
        kseq2seq.greedy_decode(model, np.array([[4, 99]]))
    with pytest.raises(ValueError, match="max_length"):
        kseq2seq.greedy_decode(model, np.array([[4, 5]]), max_length=0)


def _python_greedy(model, source_ids, max_length):
    """Greedy decoding step by step from Python, with `InferencePieces.step`."""
    pieces = InferencePieces(model)
    batch = source_ids.shape[0]
    context, carry = pieces.encode(source_ids)
    previous = np.full((batch,), BOS_ID, dtype="int32")
    finished = np.zeros((batch,), dtype=bool)
    scores = np.zeros((batch,), dtype="float32")
    tokens, attention = [], []
    for _ in range(max_length):
        logits, carry = pieces.step(previous, carry, context)
        log_probs = ops.convert_to_numpy(ops.log_softmax(logits, axis=-1))
        chosen = np.where(finished, PAD_ID, log_probs.argmax(axis=-1)).astype("int32")
        scores += np.where(finished, 0.0, log_probs[np.arange(batch), chosen])
        attention.append(np.where(finished[:, None], 0.0, ops.convert_to_numpy(carry[1])))
        tokens.append(chosen)
        finished |= chosen == EOS_ID
        previous = chosen
        if finished.all():
            break
    return np.stack(tokens, axis=1), scores, np.stack(attention, axis=1)


@pytest.mark.parametrize("variant", ["luong_general", "bahdanau_feeding", "no_attention"])
def test_compiled_greedy_loop_equals_the_python_loop_and_sees_new_weights(variant):
    model = build_model(**{**SMALL, **VARIANTS[variant]})
    source, _ = _batch(batch=5)
    for _ in range(2):  # the second round runs after the weights change
        fast = kseq2seq.greedy_decode(model, source, max_length=7)
        slow = _python_greedy(model, source, max_length=7)
        np.testing.assert_array_equal(fast[0], slow[0])
        np.testing.assert_allclose(fast[1], slow[1], atol=1e-4)
        np.testing.assert_allclose(fast[2], slow[2], atol=1e-5)
        embedding = model.get_layer("decoder").embedding.embeddings
        embedding.assign(embedding * -2.0)
    assert fast[0].shape[0] == 5 and fast[0].shape[1] <= 7
