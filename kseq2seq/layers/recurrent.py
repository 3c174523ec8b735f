"""Small helpers shared by the encoder and the decoder."""

from __future__ import annotations

import keras


def make_rnn(cell: str, units: int, name: str, **kwargs) -> keras.layers.Layer:
    """One LSTM or GRU layer returning its sequence and final state."""
    layer_class = keras.layers.LSTM if cell == "lstm" else keras.layers.GRU
    return layer_class(units, return_sequences=True, return_state=True, name=name, **kwargs)


def states_per_layer(cell: str) -> int:
    """LSTM carries (h, c), GRU carries h."""
    return 2 if cell == "lstm" else 1
