"""The decoder: target embedding, stacked RNN, attention, output projection.

One layer serves teacher-forced training (`call`) and step-by-step decoding
(`prepare`, `initial_carry`, and `step` of `kseq2seq.layers.decoder_step`) with the same
weights and the same arithmetic, so a model trained with `fit` decodes exactly as it was
trained.

Three recurrences, chosen by the config:
- Luong without input feeding (and no attention): the RNN runs over the
  whole target in one call; attention for all steps is one batched matmul.
- Luong with input feeding: x_t = [y_t; h~_{t-1}]; h_t = RNN(x_t);
  c_t = attend(h_t); h~_t = tanh(W_c [c_t; h_t]).
- Bahdanau: c_t = attend(s_{t-1}); x_t = [y_t; c_t]; s_t = RNN(x_t);
  h~_t = tanh(W_c [c_t; s_t]).
The last two run as one compiled scan over time (`kseq2seq.layers.recurrence.scan`).

Every recurrence hoists its input projection out of the time loop
(`kseq2seq.layers.recurrence`): the fused path projects the whole target in
one matmul; the scanned ones project the target embeddings once (the
embedding rows of the first layer's kernel) and multiply only the context c_t
or h~_{t-1} rows inside the step. Decoding runs the very same step functions.
"""

from __future__ import annotations

import keras
from keras import ops

from kseq2seq.config import Seq2SeqConfig
from kseq2seq.layers import precision
from kseq2seq.layers.bahdanau_attention import BahdanauAttention
from kseq2seq.layers.decoder_step import DecoderStep
from kseq2seq.layers.encoder import word_dropout_layer
from kseq2seq.layers.luong_attention import LuongAttention
from kseq2seq.layers.precision import float32_product, layer_config, layer_dtype, recurrent_dtype
from kseq2seq.layers.recurrence import recurrence_path, run_recurrence, scan
from kseq2seq.layers.recurrent import (
    build_stack,
    check_shared_embedding,
    keep_frozen,
    make_rnn,
    states_per_layer,
)
from kseq2seq.special_tokens import PAD_ID


def make_attention(config: Seq2SeqConfig) -> keras.layers.Layer | None:
    """The attention layer named by `config.attention`."""
    units = config.attention_units or config.units
    dtype = layer_dtype(config)
    if config.attention is None:
        return None
    if config.attention in ("bahdanau", "normed_bahdanau"):
        return BahdanauAttention(
            units, normalize=config.attention == "normed_bahdanau", name="attention", dtype=dtype
        )
    score = config.attention.split("_", 1)[1]
    return LuongAttention(
        score=score,
        scale=config.scale_attention,
        units=units if score == "concat" else None,
        name="attention",
        dtype=dtype,
    )


def _native_logits(dtype, training) -> bool:
    """Whether the float32 logits of a training step come from the 16-bit product (see
    `VocabularyProjection`). Not when decoding: there the product has a few rows a step, and
    under TensorFlow the XLA call's own cost made greedy decoding of one sentence 40% slower
    (25 against 36 ms, benchmarks/README.md)."""
    return bool(training) and precision.native_products(dtype)


class VocabularyProjection(keras.layers.Dense):
    """The decoder's output projection: a `Dense` layer whose float32 form, fed the
    16-bit attentional vectors of a mixed-precision decoder (`product_dtype`), multiplies
    them in that dtype with float32 accumulation in training steps, where the hardware
    multiplies 16-bit matrices natively (`kseq2seq.layers.precision.float32_product`); the
    bias is added in float32. Its weights are those of the `Dense` layer it replaces."""

    def __init__(self, units, product_dtype=None, **kwargs):
        super().__init__(units, **kwargs)
        self.product_dtype = product_dtype

    def call(self, inputs, training=None):
        dtype = self.product_dtype
        if self.compute_dtype != "float32" or not _native_logits(dtype, training):
            return super().call(inputs)
        kernel = ops.cast(self.kernel, dtype)
        return float32_product(ops.cast(inputs, dtype), kernel) + self.bias


@keras.saving.register_keras_serializable(package="kseq2seq")
class Seq2SeqDecoder(DecoderStep, keras.layers.Layer):
    """Attentional RNN decoder over teacher-forced target ids.

    Args:
        config: a `Seq2SeqConfig` or its dict.
        seed: seed of the dropout masks of the scanned recurrences.
        shared_embedding: with `config.share_embeddings`, the encoder's
            Embedding layer, read as the target embedding too (not saved in
            the config: `build_model`'s model links the two on loading).

    Call arguments:
        inputs: `[target_in, source_ids, memory, *encoder_states]` as
            produced by `Seq2SeqEncoder` (target_in int (B, T), source_ids
            int (B, S), memory (B, S, units)).
        training: whether dropout is on.

    Returns:
        `[logits, attention_weights]`: logits float32 (B, T, V) and weights
        float32 (B, T, S); without attention, the logits alone. Under mixed
        precision the attention softmax still computes in float32, and so
        does the output projection unless `config.float32_logits` is False.
    """

    def __init__(self, config, seed: int | None = None, shared_embedding=None, **kwargs):
        config = layer_config(config, kwargs)
        super().__init__(**kwargs)
        self.config = config
        self.seed = seed
        self.per_layer = states_per_layer(config.cell)
        dtype, rnn_dtype = layer_dtype(config), recurrent_dtype(config)
        if shared_embedding is not None:
            self.embedding = check_shared_embedding(shared_embedding, config)
        else:
            self.embedding = keras.layers.Embedding(
                config.target_vocab_size,
                config.embedding_dim,
                name="target_embedding",
                dtype=dtype,
            )
        self.rnn_layers = [
            make_rnn(config.cell, config.units, name=f"decoder_rnn_{index}", dtype=rnn_dtype)
            for index in range(config.num_layers)
        ]
        self.attention = make_attention(config)
        self.attention_projection = None
        if self.attention is not None:
            # W_c of Luong et al. (2015), Eq. 5.
            self.attention_projection = keras.layers.Dense(
                config.units,
                activation="tanh",
                use_bias=False,
                name="attention_projection",
                dtype=dtype,
            )
        self.bridge_layers = []
        if config.bridge == "dense":
            self.bridge_layers = [
                keras.layers.Dense(
                    config.units, activation="tanh", name=f"bridge_{index}", dtype=dtype
                )
                for index in range(config.num_layers * self.per_layer)
            ]
        if not config.tie_embeddings:
            # float32 by default whatever the policy: the softmax over the
            # vocabulary needs the range and precision (Micikevicius et al., 2018).
            self.output_projection = VocabularyProjection(
                config.target_vocab_size,
                product_dtype=self.compute_dtype,
                name="output_projection",
                dtype="float32" if config.float32_logits else dtype,
            )
        self.dropout = keras.layers.Dropout(config.dropout, dtype=dtype)
        self.word_dropout = word_dropout_layer(config.word_dropout, dtype)
        self.seed_generator = keras.random.SeedGenerator(seed)
        # The memory arrives with the encoder's padding mask attached; the
        # decoder rebuilds the mask from the source ids and returns none.
        self.supports_masking = True

    # Building -------------------------------------------------------------
    @property
    def rnn_input_dim(self) -> int:
        config = self.config
        dim = config.embedding_dim
        if config.attention_family == "bahdanau":
            dim += config.units  # the context c_t
        if config.input_feeding:
            dim += config.units  # the attentional vector h~_{t-1}
        return dim

    def build(self, input_shape=None):
        config = self.config
        build_stack(self.embedding, self.rnn_layers, self.rnn_input_dim, config.units)
        if self.attention is not None:
            self.attention.build([(None, None, config.units), (None, None, config.units)])
            self.attention_projection.build((None, 2 * config.units))
        for layer in self.bridge_layers:
            layer.build((None, config.units))
        if config.tie_embeddings:
            # Read in float32 under mixed precision too (autocast=False).
            self.output_bias = self.add_weight(
                name="output_bias",
                shape=(config.target_vocab_size,),
                initializer="zeros",
                dtype="float32",
                autocast=False,
            )
        else:
            self.output_projection.build((None, config.units))
        self.built = True
        keep_frozen(self)

    # Pieces shared by training and decoding --------------------------------
    def prepare(self, source_ids, memory) -> dict:
        """The per-sentence constants of decoding: memory, keys and mask."""
        context = {
            "memory": memory,  # B x S x units
            "source_mask": ops.not_equal(source_ids, PAD_ID),  # B x S
        }
        if self.attention is not None:
            context["keys"] = self.attention.project_keys(memory)  # once per source
        return context

    def initial_carry(self, encoder_states, context) -> tuple:
        """The decoder's state before the first target token.

        Returns `(attentional, weights, *rnn_states)`: the attentional vector
        h~_0 = 0 (B, units), the attention weights (B, S) of the step before,
        and the RNN states of every layer after the bridge.
        """
        memory = context["memory"]
        batch = ops.shape(memory)[0]
        units = self.config.units
        # The carry keeps one dtype per element across steps (scan, while
        # loops): the RNN states that of the recurrent layers, h~ that of
        # the layer producing it.
        state_dtype = self.rnn_layers[0].compute_dtype
        attentional_dtype = (
            self.attention_projection.compute_dtype if self.attention is not None else state_dtype
        )
        if self.config.bridge == "copy":
            rnn_states = list(encoder_states)
        elif self.config.bridge == "dense":
            rnn_states = [layer(state) for layer, state in zip(self.bridge_layers, encoder_states)]
        else:
            rnn_states = [ops.zeros((batch, units))] * (self.config.num_layers * self.per_layer)
        rnn_states = [ops.cast(state, state_dtype) for state in rnn_states]
        weights = ops.zeros(ops.shape(context["source_mask"]), dtype="float32")
        return (ops.zeros((batch, units), dtype=attentional_dtype), weights, *rnn_states)

    def project(self, attentional, training=None):
        """Vocabulary logits (float32) of attentional vectors (..., units)."""
        if not self.config.tie_embeddings:
            return ops.cast(self.output_projection(attentional, training=training), "float32")
        # Under mixed precision the shared matrix arrives autocast to the compute dtype.
        dtype = self.compute_dtype
        kernel = ops.cast(ops.transpose(self.embedding.embeddings), dtype)
        if self.config.float32_logits and _native_logits(dtype, training):
            logits = float32_product(ops.cast(attentional, dtype), kernel)
        else:  # in float32 unless float32_logits is off
            dtype = "float32" if self.config.float32_logits else dtype
            logits = ops.matmul(ops.cast(attentional, dtype), ops.cast(kernel, dtype))
        return ops.cast(logits, "float32") + self.output_bias

    # Teacher-forced training graph ------------------------------------------
    def call(self, inputs, training=None):
        target_in, source_ids, memory = inputs[0], inputs[1], inputs[2]
        encoder_states = list(inputs[3:])
        context = self.prepare(source_ids, memory)
        carry = self.initial_carry(encoder_states, context)
        embedded = self.word_dropout(self.embedding(target_in), training=training)
        embedded = self.dropout(embedded, training=training)  # B x T x E
        if self.config.uses_fused_decoder:
            attentional, weights = self._fused(embedded, carry, context, training)
        else:
            attentional, weights = self._scanned(embedded, carry, context, training)
        logits = self.project(self.dropout(attentional, training=training), training)
        if self.attention is None:
            return logits
        return [logits, weights]

    def _fused(self, embedded, carry, context, training):
        """The RNN over the whole target in one call, then batched attention."""
        states = list(carry[2:])
        outputs = embedded
        for index, rnn in enumerate(self.rnn_layers):
            if index > 0:
                outputs = self.dropout(outputs, training=training)
            layer_inputs = outputs
            layer_states = states[index * self.per_layer : (index + 1) * self.per_layer]
            if recurrence_path(rnn, masked=False) == "hoisted":
                outputs = run_recurrence(rnn, layer_inputs, initial_state=layer_states)[0]
            else:  # cuDNN on a GPU
                outputs = rnn(layer_inputs, initial_state=layer_states, training=training)[0]
            if self.config.residual and index > 0:
                outputs = outputs + layer_inputs
        if self.attention is None:
            return outputs, None
        read_once = self.attention_weights()
        attention_context, weights = self._attend(outputs, context, read_once)  # B x T x S
        attentional = self._attentional(
            ops.cast(attention_context, outputs.dtype), outputs, read_once
        )
        return attentional, weights

    def _scanned(self, embedded, carry, context, training):
        """Input feeding and Bahdanau: one scan over target positions."""
        dropout_masks = None
        rate = self.config.dropout
        if training and rate > 0 and self.config.num_layers > 1:
            # Variational dropout (one mask per sequence) between layers:
            # random ops stay outside the scanned function.
            batch = ops.shape(embedded)[0]
            ones = ops.ones((batch, self.config.units), dtype=embedded.dtype)
            dropout_masks = [
                keras.random.dropout(ones, rate, seed=self.seed_generator)
                for _ in range(self.config.num_layers - 1)
            ]

        step_weights = self.step_weights()

        def body(carry, projected_t):
            new_carry = self._recurrence(projected_t, carry, context, dropout_masks, step_weights)
            # Keras's TensorFlow scan needs outputs with the carry's structure;
            # the states are kept for the backward pass anyway.
            return new_carry, new_carry

        # One matmul for the embedding part of every step's input.
        projected = self._project_embeddings(embedded)  # B x T x G
        time_major = ops.transpose(projected, (1, 0, 2))  # T x B x G
        _, outputs = scan(body, carry, time_major)
        attentional, weights = outputs[0], outputs[1]  # T x B x units, T x B x S
        attentional = ops.transpose(attentional, (1, 0, 2))  # B x T x units
        weights = ops.transpose(weights, (1, 0, 2))  # B x T x S
        return attentional, weights

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_spec(self, inputs, training=None):
        target_in, source_ids = inputs[0], inputs[1]
        batch, target_length = target_in.shape
        logits = keras.KerasTensor(
            (batch, target_length, self.config.target_vocab_size), dtype="float32"
        )
        if self.attention is None:
            return logits
        weights = keras.KerasTensor((batch, target_length, source_ids.shape[1]), dtype="float32")
        return [logits, weights]

    def get_config(self):
        return {**super().get_config(), "config": self.config.to_dict(), "seed": self.seed}
