"""Fused LSTMs with sequence lengths give the results of Keras's masked path."""

import keras
import numpy as np
import pytest
from keras import ops

from kseq2seq import build_model
from kseq2seq.layers.fused_lstm import (
    fused_implementation,
    fused_lstm,
    fused_lstm_available,
    get_fused_lstm,
    guards_empty_rows,
    run_masked_lstm,
    run_without_empty_rows,
    set_fused_lstm,
)

JAX_ONLY = pytest.mark.skipif(
    keras.backend.backend() != "jax",
    reason="the sequence-length path is JAX's (TensorFlow's cuDNN takes the mask itself)",
)
LENGTHS = [6, 3, 1, 0]  # right-padded, with an empty row


def _batch(lengths=LENGTHS, width=5, seed=0):
    rng = np.random.default_rng(seed)
    inputs = rng.normal(size=(len(lengths), max(lengths), width)).astype("float32")
    mask = np.arange(max(lengths))[None, :] < np.array(lengths)[:, None]
    return inputs, mask


def _lstm(bidirectional, units=4, width=5, seed=1):
    rnn = keras.layers.LSTM(
        units,
        return_sequences=True,
        return_state=True,
        bias_initializer=keras.initializers.RandomNormal(seed=seed),
        kernel_initializer=keras.initializers.GlorotUniform(seed=seed),
    )
    if bidirectional:
        rnn = keras.layers.Bidirectional(rnn, merge_mode="concat")
    rnn.build((None, None, width))
    return rnn


def _compiled(function, **static):
    """`function` compiled under JAX (eager JAX runs a scan op by op, slowly)."""
    if keras.backend.backend() != "jax":
        return function
    import jax

    return jax.jit(function, **static)


def _numpy(results, mask):
    """Outputs with masked positions zeroed (Keras repeats the last output
    there, cuDNN writes zeros; attention and the loss never read them)."""
    results = [ops.convert_to_numpy(tensor) for tensor in results]
    return [results[0] * mask[..., None], *results[1:]]


def test_modes_are_checked_and_restored():
    assert get_fused_lstm() == "auto"
    with pytest.raises(ValueError, match="Unknown fused LSTM mode: 'fast'. Valid options: 'auto'"):
        set_fused_lstm("fast")
    with fused_lstm("off"):
        assert get_fused_lstm() == "off"
        assert not fused_lstm_available()
    assert get_fused_lstm() == "auto"
    # No GPU here: the default keeps Keras's own masked path on every backend.
    assert not fused_lstm_available()
    assert not guards_empty_rows(_lstm(False))


@pytest.mark.parametrize("bidirectional", [False, True], ids=["forward", "bidirectional"])
def test_empty_rows_guard_matches_the_masked_path(bidirectional):
    # What the encoder runs on TensorFlow's GPU path (cuDNN rejects empty
    # rows); checked here on the CPU of both backends.
    rnn = _lstm(bidirectional)
    inputs, mask = _batch()
    expected = _numpy(_compiled(lambda x: rnn(x, mask=mask))(inputs), mask)
    results = _numpy(_compiled(lambda x: run_without_empty_rows(rnn, x, mask))(inputs), mask)
    assert len(results) == len(expected) == (5 if bidirectional else 3)
    for value, reference in zip(results, expected):
        np.testing.assert_allclose(value, reference, atol=1e-6)
    assert np.all(results[0][3] == 0.0) and all(np.all(state[3] == 0.0) for state in results[1:])


@JAX_ONLY
def test_sequence_lengths_match_the_masked_path_forward_and_gradients():
    # Bidirectional: both directions and the cuDNN layout of their weights
    # (the encoder test below covers the unidirectional layer).
    import jax

    rnn = _lstm(True)
    with fused_lstm("reference"):
        assert fused_implementation(rnn) == "reference"
    inputs, mask = _batch()
    keep = mask[..., None].astype("float32")
    rng = np.random.default_rng(2)
    output_probe = rng.normal(size=(*mask.shape, 8)).astype("float32")
    state_probe = rng.normal(size=(4, len(LENGTHS), 4)).astype("float32")

    def loss(values, inputs, fused):
        # A random linear read-out of every output and state: its gradient
        # reaches every weight and input through every valid step.
        mapping = list(zip(rnn.trainable_variables, values))
        with keras.StatelessScope(state_mapping=mapping):
            if fused:
                results = run_masked_lstm(rnn, inputs, mask, "reference")
            else:
                results = rnn(inputs, mask=mask)
        outputs, states = results[0] * keep, results[1:]
        total = (outputs * output_probe).sum()
        total = total + sum((state * probe).sum() for state, probe in zip(states, state_probe))
        return total, (outputs, states)

    values = [variable.value for variable in rnn.trainable_variables]
    gradient = jax.jit(jax.grad(loss, argnums=(0, 1), has_aux=True), static_argnums=2)
    (weight_grads, input_grads), (outputs, states) = gradient(values, inputs, True)
    expected_grads, (expected_outputs, expected_states) = gradient(values, inputs, False)
    np.testing.assert_allclose(outputs, expected_outputs, atol=1e-5)
    assert len(states) == len(expected_states) == 4
    for state, expected in zip(states, expected_states):
        np.testing.assert_allclose(state, expected, atol=1e-5)
    assert np.abs(np.asarray(outputs)).max() > 0.05  # not trivially zero

    np.testing.assert_allclose(input_grads, expected_grads[1], atol=1e-5)
    assert np.all(np.asarray(input_grads)[~mask] == 0.0)  # padding reaches nothing
    assert np.abs(np.asarray(input_grads)[mask]).min() > 0.0
    for value, expected in zip(weight_grads, expected_grads[0]):
        np.testing.assert_allclose(value, expected, atol=1e-5)


@JAX_ONLY
def test_masks_that_are_not_right_padded_take_the_masked_path():
    rnn = _lstm(True)
    inputs, _ = _batch()
    mask = np.ones((4, 6), bool)
    mask[0, :2] = False  # left-padded row
    mask[1, 3] = False  # a hole
    results = _numpy(_compiled(lambda x: run_masked_lstm(rnn, x, mask, "reference"))(inputs), mask)
    expected = _numpy(_compiled(lambda x: rnn(x, mask=mask))(inputs), mask)
    for value, reference in zip(results, expected):
        np.testing.assert_allclose(value, reference, atol=1e-6)


@JAX_ONLY
def test_low_precision_inputs_are_cast_like_the_layer_casts_them(monkeypatch):
    # A float32 LSTM under a mixed policy receives bfloat16 embeddings;
    # cuDNN takes float32 only.
    from kseq2seq.layers import fused_lstm as module

    seen = []
    original = module.lstm_with_lengths

    def recording(inputs, *args, **kwargs):
        seen.append(str(inputs.dtype))
        return original(inputs, *args, **kwargs)

    monkeypatch.setattr(module, "lstm_with_lengths", recording)
    rnn = _lstm(False)
    inputs, mask = _batch()
    low = ops.cast(inputs, "bfloat16")
    results = _compiled(lambda x: run_masked_lstm(rnn, x, mask, "reference"))(low)
    expected = _compiled(lambda x: rnn(x, mask=mask))(low)
    assert seen == ["float32"]
    assert all(ops.convert_to_numpy(x).dtype == np.float32 for x in results)
    for value, reference in zip(_numpy(results, mask), _numpy(expected, mask)):
        np.testing.assert_allclose(value, reference, atol=1e-5)


@JAX_ONLY
def test_encoder_runs_the_sequence_length_path_with_the_same_logits():
    model = build_model(
        source_vocab_size=20,
        target_vocab_size=20,
        embedding_dim=8,
        units=8,
        num_layers=2,
        residual=True,
        attention="luong_general",
    )
    rng = np.random.default_rng(0)
    source = rng.integers(4, 20, (3, 6)).astype("int32")
    source[1, 2:] = 0
    source[2, :] = 0  # an empty source
    inputs = {"source": source, "target_in": rng.integers(4, 20, (3, 4)).astype("int32")}
    encoder = model.get_layer("encoder")
    # The logits and everything the encoder returns, in one compiled call.
    probe = keras.Model(model.input, [model.output, *encoder.output])
    values = [[v.value for v in probe.trainable_variables], probe.non_trainable_variables]

    def run(inputs):
        return probe.stateless_call(values[0], values[1], inputs)[0]

    with fused_lstm("reference"):
        assert [fused_implementation(rnn) for rnn in encoder.rnn_layers] == ["reference"] * 2
        fused = [ops.convert_to_numpy(x) for x in _compiled(run)(inputs)]
    generic = [ops.convert_to_numpy(x) for x in _compiled(run)(inputs)]
    mask = source != 0
    np.testing.assert_allclose(fused[0], generic[0], atol=1e-5)  # logits
    np.testing.assert_allclose(fused[1] * mask[..., None], generic[1] * mask[..., None], atol=1e-5)
    for state, expected in zip(fused[2:], generic[2:]):
        np.testing.assert_allclose(state, expected, atol=1e-5)


def test_encoder_guards_empty_rows_where_tensorflow_would_run_cudnn(monkeypatch):
    # TensorFlow's GPU path, forced on this CPU: the encoder gives an empty
    # source one step and resets it; every result equals the plain path's.
    from kseq2seq.layers import fused_lstm as module

    model = build_model(
        source_vocab_size=20,
        target_vocab_size=20,
        embedding_dim=8,
        units=8,
        bidirectional=True,
        attention="luong_dot",
    )
    encoder = model.get_layer("encoder")
    source = np.array([[5, 6, 7, 8], [9, 10, 0, 0], [0, 0, 0, 0]], "int32")
    expected = [ops.convert_to_numpy(x) for x in encoder(source)]
    calls = []
    original = module.run_without_empty_rows

    def recording(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, "tensorflow_on_gpu", lambda: True)
    monkeypatch.setattr("kseq2seq.layers.encoder.run_without_empty_rows", recording)
    with fused_lstm("off"):  # under JAX, not the sequence-length path
        assert guards_empty_rows(encoder.rnn_layers[0])
        guarded = [ops.convert_to_numpy(x) for x in encoder(source)]
    assert calls == [1]
    mask = (source != 0)[..., None]
    np.testing.assert_allclose(guarded[0] * mask, expected[0] * mask, atol=1e-6)
    for state, reference in zip(guarded[1:], expected[1:]):
        np.testing.assert_allclose(state, reference, atol=1e-6)
    assert all(np.all(state[2] == 0.0) for state in guarded[1:])
