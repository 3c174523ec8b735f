"""Inference pieces: the encoder and one decoder step, sharing the weights."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from kseq2seq.models.builder import _decoder


class InferencePieces:
    """The encoder and one decoder step of a model made by `build_model`, calling the layers of
    `model` itself (no copied weights).

    Example:
        context, carry = pieces.encode(source_ids)
        logits, carry = pieces.step(previous_tokens, carry, context)  # carry[1]: attention
    """

    def __init__(self, model: keras.Model):
        self.model = model
        self.decoder = _decoder(model)
        self.encoder = model.get_layer("encoder")
        self.config = self.decoder.config

    def encode(self, source_ids):
        """Returns (context, carry) for a batch of source ids (B, S)."""
        source_ids = ops.convert_to_tensor(source_ids, dtype="int32")
        memory, *states = self.encoder(source_ids, training=False)
        context = self.decoder.prepare(source_ids, memory)
        return context, self.decoder.initial_carry(states, context)

    def step(self, token_ids, carry, context):
        """Returns (logits (B, V), carry) after feeding token_ids (B,)."""
        token_ids = ops.convert_to_tensor(token_ids, dtype="int32")
        return self.decoder.step(token_ids, carry, context)

    def step_function(self, context):
        """The search loops' `step(token_ids, carry) -> (logits, carry, attention (B, S))` over
        `context`, with the step's weights read once, outside the loops."""
        step_weights = self.decoder.step_weights()

        def step(token_ids, carry):
            logits, carry = self.decoder.step(token_ids, carry, context, step_weights)
            return logits, carry, carry[1]

        return step

    def teacher_forced_attention(self, source_ids, target_in):
        """The attention weights (B, T, S) while the decoder reads `target_in` (B, T)."""
        memory_and_states = self.encoder(source_ids, training=False)
        return self.decoder([target_in, source_ids, *memory_and_states], training=False)[1]

    def check_source_ids(self, source_ids) -> np.ndarray:
        """`source_ids` as a NumPy array; ValueError unless (B, S) ids of the source vocabulary."""
        source_ids = np.asarray(source_ids)
        if source_ids.ndim != 2 or not np.issubdtype(source_ids.dtype, np.integer):
            raise ValueError(
                "source_ids must be an integer array of shape (batch, length). "
                f"Received: dtype={source_ids.dtype}, shape={source_ids.shape}"
            )
        vocab = self.config.source_vocab_size
        if source_ids.size and (source_ids.min() < 0 or source_ids.max() >= vocab):
            raise ValueError(
                f"source_ids must lie in [0, {vocab}) (the source vocabulary). Received "
                f"ids from {source_ids.min()} to {source_ids.max()}"
            )
        return source_ids
