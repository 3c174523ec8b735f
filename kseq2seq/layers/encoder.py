"""The encoder: source embedding and stacked, optionally bidirectional RNNs."""

from __future__ import annotations

import keras
from keras import ops

from kseq2seq.layers.fused_lstm import (
    fused_implementation,
    guards_empty_rows,
    run_masked_lstm,
    run_without_empty_rows,
)
from kseq2seq.layers.precision import layer_config, layer_dtype, recurrent_dtype
from kseq2seq.layers.recurrence import recurrence_path, run_recurrence
from kseq2seq.layers.recurrent import build_stack, keep_frozen, make_rnn, states_per_layer
from kseq2seq.special_tokens import PAD_ID


def word_dropout_layer(rate: float, dtype=None) -> keras.layers.Dropout:
    """Dropout of whole tokens: one draw per (sequence, position), shared by
    every channel of that token's embedding (`Seq2SeqConfig.word_dropout`)."""
    return keras.layers.Dropout(rate, noise_shape=(None, None, 1), dtype=dtype)


@keras.saving.register_keras_serializable(package="kseq2seq")
class Seq2SeqEncoder(keras.layers.Layer):
    """Reads source ids and keeps one hidden state per source position.

    Args:
        config: a `Seq2SeqConfig` or its dict.

    Call arguments:
        source_ids: int (B, S), right-padded with 0.
        training: whether dropout is on.

    Returns:
        `[memory, *final_states]`: memory (B, S, units), the top layer's
        states at every position (the attention's keys and values), then the
        final states of every layer, bottom first: `h, c` per LSTM layer, `h`
        per GRU layer, each (B, units). With a bidirectional encoder the
        forward and backward halves are concatenated.
    """

    def __init__(self, config, **kwargs):
        config = layer_config(config, kwargs)
        super().__init__(**kwargs)
        self.config = config
        dtype, rnn_dtype = layer_dtype(config), recurrent_dtype(config)
        # With share_embeddings the decoder reads this very layer (`build_model` passes it on).
        name = "shared_embedding" if config.share_embeddings else "source_embedding"
        self.embedding = keras.layers.Embedding(
            config.source_vocab_size, config.embedding_dim, name=name, dtype=dtype
        )
        direction_units = config.units // 2 if config.bidirectional else config.units
        self.rnn_layers = []
        for index in range(config.num_layers):
            rnn = make_rnn(
                config.cell, direction_units, name=f"encoder_rnn_{index}", dtype=rnn_dtype
            )
            if config.bidirectional:
                rnn = keras.layers.Bidirectional(
                    rnn, merge_mode="concat", name=f"encoder_birnn_{index}", dtype=rnn_dtype
                )
            self.rnn_layers.append(rnn)
        self.dropout = keras.layers.Dropout(config.dropout, dtype=dtype)
        self.word_dropout = word_dropout_layer(config.word_dropout, dtype)

    def build(self, input_shape=None):
        build_stack(self.embedding, self.rnn_layers, self.config.embedding_dim, self.config.units)
        self.built = True
        keep_frozen(self)

    def call(self, source_ids, training=None):
        source_mask = ops.not_equal(source_ids, PAD_ID)  # B x S
        embedded = self.word_dropout(self.embedding(source_ids), training=training)
        outputs = self.dropout(embedded, training=training)
        final_states = []
        per_layer = states_per_layer(self.config.cell)
        for index, rnn in enumerate(self.rnn_layers):
            if index > 0:
                outputs = self.dropout(outputs, training=training)
            layer_inputs = outputs
            results = self._run_rnn(rnn, layer_inputs, source_mask, training)
            outputs, states = results[0], list(results[1:])
            if self.config.bidirectional:
                # Bidirectional returns forward states, then backward states.
                forward, backward = states[:per_layer], states[per_layer:]
                states = [ops.concatenate([f, b], axis=-1) for f, b in zip(forward, backward)]
            if self.config.residual and index > 0:
                outputs = outputs + layer_inputs
            final_states.extend(states)
        # Recurrent layers may compute in float32 under mixed precision
        # (kseq2seq.layers.precision); the encoder's outputs are in its policy.
        dtype = self.compute_dtype
        return [ops.cast(tensor, dtype) for tensor in (outputs, *final_states)]

    def _run_rnn(self, rnn, inputs, source_mask, training):
        """One recurrent layer over a right-padded batch, by the path
        `kseq2seq.layers.recurrence.recurrence_path` chooses: fused where the
        backend has a fused LSTM that takes sequence lengths
        (kseq2seq.layers.fused_lstm), Keras's layer (cuDNN) on a GPU, the
        hoisted recurrence elsewhere."""
        path = recurrence_path(rnn, masked=True)
        if path == "fused":
            return run_masked_lstm(rnn, inputs, source_mask, fused_implementation(rnn), training)
        if path == "hoisted":
            return run_recurrence(rnn, inputs, mask=source_mask)
        if guards_empty_rows(rnn):
            return run_without_empty_rows(rnn, inputs, source_mask, training)
        return rnn(inputs, mask=source_mask, training=training)

    def compute_mask(self, source_ids, mask=None):
        return None

    def compute_output_spec(self, source_ids, training=None):
        batch, length = source_ids.shape
        units = self.config.units
        count = self.config.num_layers * states_per_layer(self.config.cell)
        memory = keras.KerasTensor((batch, length, units), dtype=self.compute_dtype)
        states = [keras.KerasTensor((batch, units), dtype=self.compute_dtype) for _ in range(count)]
        return [memory, *states]

    def get_config(self):
        return {**super().get_config(), "config": self.config.to_dict()}
