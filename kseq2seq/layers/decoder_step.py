"""`DecoderStep`: one step of the decoder, shared by the scanned training loop and decoding.

A mixin of `Seq2SeqDecoder` (it holds no weights of its own: it reads the decoder's
embedding, RNN layers, attention and projections), so that the step arithmetic of
training and decoding is one piece of code and the layer's weights, names and
serialisation stay those of `Seq2SeqDecoder`.
"""

from __future__ import annotations

from keras import ops

from kseq2seq.layers.recurrence import (
    input_bias,
    input_projection,
    recurrent_step,
    recurrent_weights,
)


class DecoderStep:
    """The step functions of `Seq2SeqDecoder` (see its module for the three recurrences)."""

    def _attend(self, query, context, step_weights):
        return self.attention.attend(
            query,
            context["memory"],
            context["keys"],
            value_mask=context["source_mask"],
            query_weights=step_weights["attention"],
        )

    def _attentional(self, attention_context, hidden, step_weights):
        """h~ = tanh(W_c [c; h]) (Luong et al., 2015, Eq. 5)."""
        kernel = step_weights["attentional"]  # 2 units x units
        concatenated = ops.concatenate([attention_context, hidden], axis=-1)
        return ops.tanh(ops.matmul(ops.cast(concatenated, kernel.dtype), kernel))

    def step_weights(self) -> dict:
        """The weights of one decoding step, read (and cast to their compute
        dtype) once outside the time loop. A weight read inside a loop is
        cast at every step, and its gradient accumulated at every step in
        float32 (under mixed bfloat16 on a CPU: Bahdanau's training step,
        benchmarks/README.md).

        Returns a dict: `"layers"`, per RNN layer `(kernel, bias, recurrent
        weights)`, where the first layer of the scanned variants gets the
        kernel rows of c_t and h~_{t-1} only, (D - E, G) (its embedding rows
        are applied to the whole target beforehand, `_project_embeddings`);
        `"attention"`, the attention's `query_weights()`; `"attentional"`,
        W_c (2 units, units)."""
        layers = []
        for index, rnn in enumerate(self.rnn_layers):
            cell = rnn.cell
            kernel = ops.cast(cell.kernel, cell.compute_dtype)  # D x G
            bias = input_bias(cell)
            if index == 0 and not self.config.uses_fused_decoder:
                kernel, bias = kernel[self.config.embedding_dim :], None
            layers.append((kernel, bias, recurrent_weights(cell)))
        return {"layers": layers, **self.attention_weights()}

    def attention_weights(self) -> dict:
        """The attention part of `step_weights()` (empty without attention)."""
        if self.attention is None:
            return {}
        projection = self.attention_projection
        return {
            "attention": self.attention.query_weights(),
            "attentional": ops.cast(projection.kernel, projection.compute_dtype),
        }

    def _stack_step(self, inputs, states, step_weights, first_projected=None, dropout_masks=None):
        """One step of the RNN stack: `(top output (B, units), new states)`.

        Args:
            inputs: the first layer's input (B, D), or None with `first_projected`.
            states: the states of every layer.
            step_weights: from `step_weights()`.
            first_projected: the first layer's input projection (B, G), computed already
                (the scanned variants), or None.
            dropout_masks: the variational dropout masks between layers, or None.
        """
        new_states = []
        for index, rnn in enumerate(self.rnn_layers):
            layer_states = states[index * self.per_layer : (index + 1) * self.per_layer]
            kernel, bias, recurrent = step_weights["layers"][index]
            if index == 0 and first_projected is not None:
                projected = first_projected
            else:
                if index > 0 and dropout_masks is not None:
                    inputs = inputs * dropout_masks[index - 1]
                projected = ops.matmul(ops.cast(inputs, kernel.dtype), kernel)
                if bias is not None:
                    projected = projected + bias
            output, layer_states = recurrent_step(rnn.cell, projected, layer_states, recurrent)
            if self.config.residual and index > 0:
                output = output + inputs
            new_states.extend(layer_states)
            inputs = output
        return inputs, new_states

    def _project_embeddings(self, embedded):
        """The embedding rows of the first layer's kernel times the target
        embeddings, plus its input bias: (..., E) -> (..., G), G = 4 units
        (LSTM) or 3 units (GRU). The scanned variants project the whole
        target with it in one matmul; the step adds the other rows."""
        return input_projection(
            self.rnn_layers[0].cell, embedded, rows=(0, self.config.embedding_dim)
        )

    def _recurrence(self, projected, carry, context, dropout_masks=None, step_weights=None):
        """One decoding step of the scanned variants; projected: (B, G), the
        target embedding's part of the first layer (`_project_embeddings`);
        `step_weights` from `step_weights()` (read here if None)."""
        step_weights = step_weights or self.step_weights()
        attentional, weights = carry[0], carry[1]
        states = list(carry[2:])
        bahdanau = self.config.attention_family == "bahdanau"
        pieces = []  # the rest of the first layer's input: [c_t; h~_{t-1}]
        if bahdanau:
            # Scored against the previous decoder state s_{t-1}.
            top_hidden = states[(self.config.num_layers - 1) * self.per_layer]
            attention_context, weights = self._attend(top_hidden, context, step_weights)
            pieces.append(attention_context)
        if self.config.input_feeding:
            pieces.append(attentional)
        first_kernel = step_weights["layers"][0][0]  # (D - E) x G
        pieces = [ops.cast(piece, first_kernel.dtype) for piece in pieces]
        rest = ops.concatenate(pieces, axis=-1) if len(pieces) > 1 else pieces[0]
        projected = projected + ops.matmul(rest, first_kernel)
        hidden, new_states = self._stack_step(
            None, states, step_weights, first_projected=projected, dropout_masks=dropout_masks
        )
        if self.attention is None:
            return (hidden, weights, *new_states)
        if not bahdanau:
            attention_context, weights = self._attend(hidden, context, step_weights)
        attentional = self._attentional(
            ops.cast(attention_context, hidden.dtype), hidden, step_weights
        )
        return (attentional, weights, *new_states)

    def step(self, token_ids, carry, context, step_weights=None):
        """Decodes one step. token_ids: int (B,), the previous target tokens.

        `step_weights`: `self.step_weights()`, read once before a decoding
        loop (read here if None).

        Returns `(logits, carry)`: logits float32 (B, V); the new carry, whose
        second element holds this step's attention weights (B, S).
        """
        step_weights = step_weights or self.step_weights()
        embedded = self.embedding(token_ids)  # B x E
        if self.config.uses_fused_decoder:
            inputs, new_states = self._stack_step(embedded, list(carry[2:]), step_weights)
            weights = carry[1]
            attentional = inputs
            if self.attention is not None:
                attention_context, weights = self._attend(inputs, context, step_weights)
                attentional = self._attentional(
                    ops.cast(attention_context, inputs.dtype), inputs, step_weights
                )
            carry = (attentional, weights, *new_states)
        else:
            projected = self._project_embeddings(embedded)
            carry = self._recurrence(projected, carry, context, step_weights=step_weights)
        return self.project(carry[0]), carry
