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


def build_stack(embedding, rnn_layers, input_dim: int, units: int) -> None:
    """Builds an embedding and the RNN layers stacked on it (the first reads `input_dim`).

    An embedding already built (one shared with the encoder) is left as it is."""
    if not embedding.built:
        embedding.build((None, None))
    for rnn in rnn_layers:
        rnn.build((None, None, input_dim))
        input_dim = units


def keep_frozen(layer: keras.layers.Layer) -> None:
    """Passes a layer's `trainable=False` on to its sublayers and weights, once they are built.

    A frozen encoder (`freeze_encoder`) is saved as `trainable: false`; on loading, Keras makes
    it with that flag before its sublayers and weights exist, and only the `trainable` setter
    passes the flag on. Without this, the loaded model would train the frozen weights again,
    and its optimizer, built for more variables than were saved, would warn "Skipping variable
    loading for optimizer" and start afresh.
    """
    if not layer.trainable:
        # Under TensorFlow, assigning an attribute the value it already holds skips the
        # property's setter (`KerasAutoTrackable.__setattr__` returns early), hence two steps.
        layer.trainable = True
        layer.trainable = False


def check_shared_embedding(embedding, config) -> keras.layers.Embedding:
    """The encoder's embedding, once checked to fit the decoder of `config`."""
    if not config.share_embeddings:
        raise ValueError(
            "shared_embedding is given but the config has share_embeddings=False: "
            "set share_embeddings=True to read the encoder's embedding"
        )
    if not isinstance(embedding, keras.layers.Embedding):
        raise TypeError(
            "shared_embedding must be a keras.layers.Embedding. "
            f"Received: {type(embedding).__name__}"
        )
    expected = (config.target_vocab_size, config.embedding_dim)
    if (embedding.input_dim, embedding.output_dim) != expected:
        raise ValueError(
            f"shared_embedding must be {expected[0]} x {expected[1]} (target_vocab_size x "
            f"embedding_dim). Received: {embedding.input_dim} x {embedding.output_dim}"
        )
    return embedding
