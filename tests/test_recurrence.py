"""The hoisted recurrence gives the results of Keras's own LSTM and GRU layers.

Each test runs a Keras layer (or stack of layers) and `run_recurrence` on the
very same weights and compares outputs, final states and the gradients with
respect to the inputs and every weight.
"""

import keras
import numpy as np
import pytest
from keras import ops

from kseq2seq import build_model
from kseq2seq.layers.recurrence import (
    hoistable,
    input_projection,
    recurrence_path,
    recurrent_step,
    run_recurrence,
)

CELLS = ["lstm", "gru"]
MASKS = {
    "none": None,
    "right_padded": [6, 3, 1, 0],  # with an empty row
    "holes": "holes",  # not right-padded: masked steps in the middle and at the start
}


def _layer(cell, bidirectional, units=4, width=5, seed=1):
    layer_class = keras.layers.LSTM if cell == "lstm" else keras.layers.GRU
    rnn = layer_class(
        units,
        return_sequences=True,
        return_state=True,
        # Random biases: both GRU bias rows and every LSTM gate matter.
        bias_initializer=keras.initializers.RandomNormal(stddev=0.5, seed=seed),
        kernel_initializer=keras.initializers.GlorotUniform(seed=seed),
    )
    if bidirectional:
        rnn = keras.layers.Bidirectional(rnn, merge_mode="concat")
    rnn.build((None, None, width))
    return rnn


def _batch(mask_kind, batch=4, length=6, width=5, seed=0):
    rng = np.random.default_rng(seed)
    inputs = rng.normal(size=(batch, length, width)).astype("float32")
    if mask_kind is None:
        return inputs, None
    if mask_kind == "holes":
        mask = np.ones((batch, length), bool)
        mask[0, :2] = False
        mask[1, 3] = False
        mask[2, 4:] = False
        return inputs, mask
    lengths = np.array(mask_kind)
    return inputs, np.arange(length)[None, :] < lengths[:, None]


def _value_and_gradients(function, variables, inputs):
    """`function(inputs)` (a list of tensors) and the gradients of a random
    linear read-out of it with respect to `inputs` and `variables`."""
    probes = []

    def read_out(results):
        if not probes:
            rng = np.random.default_rng(3)
            probes.extend(rng.normal(size=tuple(r.shape)).astype("float32") for r in results)
        return sum(ops.sum(result * probe) for result, probe in zip(results, probes))

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        inputs = tf.convert_to_tensor(inputs)
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            results = function(inputs)
            total = read_out(results)
        gradients = tape.gradient(total, [inputs, *[v.value for v in variables]])
        return [ops.convert_to_numpy(r) for r in results], [np.asarray(g) for g in gradients]
    if backend != "jax":
        pytest.skip("gradients checked under TensorFlow and JAX")
    import jax

    def loss(values, inputs):
        with keras.StatelessScope(state_mapping=list(zip(variables, values))):
            results = function(inputs)
            return read_out(results), results

    values = [variable.value for variable in variables]
    grad = jax.jit(jax.grad(loss, argnums=(1, 0), has_aux=True))
    (input_grad, weight_grads), results = grad(values, inputs)
    gradients = [input_grad, *weight_grads]
    return [np.asarray(r) for r in results], [np.asarray(g) for g in gradients]


def _assert_same(function, reference, variables, inputs, mask=None):
    results, gradients = _value_and_gradients(function, variables, inputs)
    expected, expected_gradients = _value_and_gradients(reference, variables, inputs)
    assert len(results) == len(expected)
    for value, target in zip(results, expected):
        np.testing.assert_allclose(value, target, atol=1e-5, rtol=1e-5)
    assert np.abs(results[0]).max() > 0.05  # not trivially zero
    assert len(gradients) == len(expected_gradients) == len(variables) + 1
    for value, target in zip(gradients, expected_gradients):
        np.testing.assert_allclose(value, target, atol=1e-5, rtol=1e-5)
    if mask is not None:
        input_gradients = gradients[0]
        assert np.all(input_gradients[~mask] == 0.0)  # masked steps reach nothing
        assert np.abs(input_gradients[mask]).min() > 0.0


@pytest.mark.parametrize("mask_kind", sorted(MASKS))
@pytest.mark.parametrize("bidirectional", [False, True], ids=["forward", "bidirectional"])
@pytest.mark.parametrize("cell", CELLS)
def test_layer_matches_keras(cell, bidirectional, mask_kind):
    rnn = _layer(cell, bidirectional)
    assert hoistable(rnn)
    inputs, mask = _batch(MASKS[mask_kind])

    def hoisted(inputs):
        return run_recurrence(rnn, inputs, mask=mask)

    def reference(inputs):
        return list(rnn(inputs, mask=mask))

    # Outputs at masked steps included: repeated (forward) or zero (inside
    # Bidirectional), as Keras computes them.
    _assert_same(hoisted, reference, rnn.trainable_variables, inputs, mask)


@pytest.mark.parametrize("cell", CELLS)
def test_initial_states_match_keras(cell):
    rnn = _layer(cell, False)
    inputs, _ = _batch(None)
    rng = np.random.default_rng(5)
    count = 2 if cell == "lstm" else 1
    states = [rng.normal(size=(4, 4)).astype("float32") for _ in range(count)]

    def hoisted(inputs):
        return run_recurrence(rnn, inputs, initial_state=states)

    def reference(inputs):
        return list(rnn(inputs, initial_state=states))

    _assert_same(hoisted, reference, rnn.trainable_variables, inputs)


def _stack(cell, bidirectional, width=4):
    # Every layer takes `width` inputs, so that residual sums line up.
    units = width // 2 if bidirectional else width
    return [_layer(cell, bidirectional, units=units, width=width, seed=seed) for seed in (1, 2, 3)]


@pytest.mark.parametrize("residual", [False, True], ids=["stacked", "residual"])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["forward", "bidirectional"])
@pytest.mark.parametrize("cell", CELLS)
def test_stacks_match_keras(cell, bidirectional, residual):
    layers = _stack(cell, bidirectional)
    inputs, mask = _batch([6, 3, 1, 0], width=4)

    def run(layer_function):
        def function(inputs):
            outputs, states = inputs, []
            for index, rnn in enumerate(layers):
                results = layer_function(rnn, outputs)
                if residual and index > 0:
                    results[0] = results[0] + outputs
                outputs = results[0]
                states.extend(results[1:])
            return [outputs, *states]

        return function

    hoisted = run(lambda rnn, x: run_recurrence(rnn, x, mask=mask))
    reference = run(lambda rnn, x: list(rnn(x, mask=mask)))
    variables = [v for rnn in layers for v in rnn.trainable_variables]
    _assert_same(hoisted, reference, variables, inputs, mask)


@pytest.mark.parametrize("cell", CELLS)
def test_split_rows_and_one_step_match_the_cell(cell):
    # What the scanned decoders do: project the first rows of the kernel
    # once, the others inside the step; one step equals the cell's call.
    rnn = _layer(cell, False, width=7)
    rng = np.random.default_rng(4)
    embedded = rng.normal(size=(3, 4)).astype("float32")
    context = rng.normal(size=(3, 3)).astype("float32")
    count = 2 if cell == "lstm" else 1
    states = [rng.normal(size=(3, 4)).astype("float32") for _ in range(count)]
    projected = input_projection(rnn.cell, embedded, rows=(0, 4))
    projected = projected + input_projection(rnn.cell, context, rows=(4, 7), bias=False)
    output, new_states = recurrent_step(rnn.cell, projected, states)
    expected, expected_states = rnn.cell(np.concatenate([embedded, context], -1), states)
    np.testing.assert_allclose(output, expected, atol=1e-6)
    for state, target in zip(new_states, expected_states):
        np.testing.assert_allclose(state, target, atol=1e-6)


def test_paths_are_chosen_per_layer():
    assert recurrence_path(_layer("lstm", True), masked=True) == "hoisted"
    assert recurrence_path(_layer("gru", False), masked=False) == "hoisted"
    with_dropout = keras.layers.LSTM(3, recurrent_dropout=0.5, return_state=True)
    with_dropout.build((None, None, 2))
    assert not hoistable(with_dropout)
    assert recurrence_path(with_dropout, masked=True) == "keras"
    old_gru = keras.layers.GRU(3, reset_after=False)
    old_gru.build((None, None, 2))
    assert recurrence_path(old_gru, masked=False) == "keras"


@pytest.mark.parametrize(
    "options",
    [
        dict(cell="lstm", bidirectional=True, num_layers=2, residual=True),
        dict(cell="gru", bidirectional=True, num_layers=2),
        dict(cell="lstm", num_layers=2, residual=True),
    ],
    ids=["lstm_bidirectional_residual", "gru_bidirectional_stacked", "lstm_residual"],
)
def test_encoder_matches_its_keras_layers(options):
    model = build_model(
        source_vocab_size=20, target_vocab_size=20, embedding_dim=6, units=6, **options
    )
    encoder = model.get_layer("encoder")
    source = np.array([[5, 6, 7, 8, 9], [9, 10, 0, 0, 0], [0, 0, 0, 0, 0]], "int32")
    results = [ops.convert_to_numpy(x) for x in encoder(source)]
    # The encoder's loop, written out with the Keras layers' own calls.
    mask = source != 0
    outputs, states = encoder.embedding(source), []
    per_layer = 2 if options["cell"] == "lstm" else 1
    for index, rnn in enumerate(encoder.rnn_layers):
        layer_results = list(rnn(outputs, mask=mask))
        layer_outputs, layer_states = layer_results[0], layer_results[1:]
        if options.get("bidirectional"):
            forward, backward = layer_states[:per_layer], layer_states[per_layer:]
            layer_states = [ops.concatenate([f, b], -1) for f, b in zip(forward, backward)]
        if options.get("residual") and index > 0:
            layer_outputs = layer_outputs + outputs
        outputs = layer_outputs
        states.extend(layer_states)
    expected = [ops.convert_to_numpy(x) for x in (outputs, *states)]
    assert len(results) == len(expected)
    for value, target in zip(results, expected):
        np.testing.assert_allclose(value, target, atol=1e-5)
