"""Models saved before the hoisted recurrence load and compute the same logits.

The fixtures (tests/fixtures/, written by make_recurrence_fixtures.py with the
code of commit b3d23c5, which ran Keras's own LSTM and GRU layers) pin the
weight layout and variable paths: a `.keras` file saved then must load now and
give the logits it gave then.
"""

import importlib.util
from pathlib import Path

import keras
import numpy as np
import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures"
_spec = importlib.util.spec_from_file_location(
    "make_recurrence_fixtures", FIXTURES / "make_recurrence_fixtures.py"
)
make_fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_fixtures)


@pytest.mark.parametrize("name", sorted(make_fixtures.FIXTURES))
def test_saved_models_give_the_logits_they_gave(name):
    model = keras.saving.load_model(FIXTURES / f"{name}.keras")
    expected = np.load(FIXTURES / "recurrence_logits.npz")[name]
    logits = model.predict(make_fixtures.fixture_inputs(), verbose=0)
    assert np.abs(expected).max() > 0.05  # a fixture that can tell models apart
    np.testing.assert_allclose(logits, expected, atol=1e-5, rtol=1e-5)


def test_saved_weight_paths_are_those_of_keras_layers():
    model = keras.saving.load_model(FIXTURES / "lstm_bidirectional_residual_feeding.keras")
    paths = {variable.path for variable in model.weights}
    assert "encoder/encoder_birnn_0/forward_encoder_rnn_0/lstm_cell/kernel" in paths
    assert "decoder/decoder_rnn_1/lstm_cell/recurrent_kernel" in paths
