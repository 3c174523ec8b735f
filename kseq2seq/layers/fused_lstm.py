"""Fused (cuDNN) LSTMs over right-padded batches, with sequence lengths.

The encoder reads right-padded sources under a padding mask. Where each
backend finds its fused LSTM:

- TensorFlow: Keras's LSTM turns a right-padded mask into cuDNN sequence
  lengths itself when TensorFlow sees a GPU (`use_cudnn="auto"`). cuDNN
  rejects fully masked rows, so the encoder never passes one (an empty source
  reads one padding step and its states are reset to zero afterwards).
- JAX: Keras runs every masked LSTM with `lax.scan`. This module runs
  `jax.experimental.rnn.lstm` with the sequence lengths instead, when JAX's
  default backend is a GPU, the layer computes in float32 and has no dropout;
  a mask that is not right-padded falls back to the generic path inside the
  same compiled function (`lax.cond`).
- Elsewhere (CPU, PyTorch) the hoisted recurrence of
  `kseq2seq.layers.recurrence` runs (Keras's masked semantics, one input
  projection for all steps).

Keras's LSTM gate order (i, f, c, o) is cuDNN's (i, f, g, o); Keras's kernel
(input, 4 * units) is cuDNN's W_ih transposed; cuDNN's second bias b_hh is
zero. Padded positions of the outputs are zero on every path.

`set_fused_lstm("reference")` forces the sequence-length path on any JAX
device with `jax.experimental.rnn.lstm_ref` (pure JAX, same weight layout),
which is how the tests check it on CPU; `"off"` forces the generic path.

This is the one module of `kseq2seq.layers` that imports a backend: JAX
when the JAX path is taken, TensorFlow to ask whether it sees a GPU.
"""

from __future__ import annotations

import contextlib

import keras

from kseq2seq.checks import check_choice

MODES = ("auto", "off", "cudnn", "reference")
_state = {"mode": "auto"}


def set_fused_lstm(mode: str) -> None:
    """Chooses how masked encoder LSTMs run under JAX.

    Args:
        mode: `"auto"` (cuDNN on a JAX GPU, generic elsewhere), `"off"`
            (always generic), `"cudnn"` (`jax.experimental.rnn.lstm`
            wherever the layer qualifies) or `"reference"`
            (`jax.experimental.rnn.lstm_ref`, for testing on CPU).
    """
    check_choice("fused LSTM mode", mode, MODES)
    _state["mode"] = mode


def get_fused_lstm() -> str:
    """The current mode (see `set_fused_lstm`)."""
    return _state["mode"]


@contextlib.contextmanager
def fused_lstm(mode: str):
    """`set_fused_lstm(mode)` inside a `with` block, restored afterwards."""
    previous = get_fused_lstm()
    set_fused_lstm(mode)
    try:
        yield
    finally:
        set_fused_lstm(previous)


def jax_on_gpu() -> bool:
    """Whether Keras runs on JAX and JAX's default backend is a GPU."""
    if keras.backend.backend() != "jax":
        return False
    import jax

    return jax.default_backend() == "gpu"


def tensorflow_on_gpu() -> bool:
    """Whether Keras runs on TensorFlow and TensorFlow sees a GPU."""
    if keras.backend.backend() != "tensorflow":
        return False
    import tensorflow as tf

    return bool(tf.config.list_logical_devices("GPU"))


def directions(rnn) -> list:
    """The LSTM/GRU layers of `rnn`: itself, or the two of a `Bidirectional`."""
    if isinstance(rnn, keras.layers.Bidirectional):
        return [rnn.forward_layer, rnn.backward_layer]
    return [rnn]


def _qualifies(rnn) -> bool:
    """A float32 LSTM with the cuDNN activations, biases and no dropout."""
    for layer in directions(rnn):
        cell = getattr(layer, "cell", None)
        if not isinstance(cell, keras.layers.LSTMCell):
            return False
        if not (
            cell.activation is keras.activations.tanh
            and cell.recurrent_activation is keras.activations.sigmoid
            and cell.use_bias
            and not cell.dropout
            and not cell.recurrent_dropout
            and not layer.unroll
            and cell.compute_dtype == "float32"
        ):
            return False
    return True


def fused_implementation(rnn) -> str | None:
    """`"cudnn"`, `"reference"` or None (generic path) for a masked `rnn`."""
    mode = get_fused_lstm()
    if keras.backend.backend() != "jax" or mode == "off":
        return None
    if mode == "auto":
        if not jax_on_gpu():
            return None
        mode = "cudnn"
    return mode if _qualifies(rnn) else None


def guards_empty_rows(rnn) -> bool:
    """Whether `rnn` may run through TensorFlow's cuDNN kernel, which rejects
    a batch holding a row with no step (see `run_without_empty_rows`)."""
    layers = directions(rnn)
    return tensorflow_on_gpu() and all(
        getattr(layer, "use_cudnn", False) in ("auto", True) for layer in layers
    )


def run_without_empty_rows(rnn, inputs, mask, training=None) -> list:
    """`rnn(inputs, mask=mask)` as `[outputs, *states]`, with no fully masked row.

    An empty row (an empty source) reads its first (padding) step, and its
    outputs and states are reset to zero afterwards: the values the generic
    path gives it. Valid rows are untouched, so the results equal the generic
    path's wherever the mask is true, and on TensorFlow's GPU the mask stays
    one that cuDNN accepts (right-padded, every row at least one step long).
    """
    from keras import ops

    mask = ops.cast(mask, "bool")  # B x T
    nonempty = ops.any(mask, axis=1)  # B
    first = ops.expand_dims(ops.equal(ops.arange(ops.shape(mask)[1]), 0), 0)  # 1 x T
    mask = ops.logical_or(mask, ops.logical_and(ops.logical_not(nonempty)[:, None], first))
    results = rnn(inputs, mask=mask, training=training)
    keep = nonempty[:, None]  # B x 1
    outputs = ops.where(keep[:, :, None], results[0], ops.zeros_like(results[0]))
    states = [ops.where(keep, state, ops.zeros_like(state)) for state in results[1:]]
    return [outputs, *states]


def fused_lstm_available(rnn=None) -> bool:
    """Whether masked LSTMs (`rnn`, if given) run fused with sequence lengths
    under the current backend, device and mode."""
    if rnn is None:
        rnn = keras.layers.LSTM(1)
        rnn.build((None, None, 1))
    return fused_implementation(rnn) is not None


def cudnn_weights(cells) -> object:
    """The flat cuDNN weight vector of LSTM cells (one per direction)."""
    from keras import ops

    matrices, biases = [], []
    for cell in cells:
        kernel = ops.convert_to_tensor(cell.kernel)  # input x 4 units
        recurrent_kernel = ops.convert_to_tensor(cell.recurrent_kernel)  # units x 4 units
        bias = ops.convert_to_tensor(cell.bias)  # 4 units
        matrices += [ops.reshape(ops.transpose(kernel), (-1,))]
        matrices += [ops.reshape(ops.transpose(recurrent_kernel), (-1,))]
        biases += [bias, ops.zeros_like(bias)]
    return ops.concatenate(matrices + biases, axis=0)


def lstm_with_lengths(
    inputs, lengths, weights, input_size, units, bidirectional, implementation="cudnn"
):
    """`jax.experimental.rnn.lstm` (or its reference) from zero states.

    Args:
        inputs: float32 (B, T, input_size).
        lengths: int32 (B,), each at least 1.
        weights: the flat vector of `cudnn_weights`.

    Returns:
        `(outputs, h, c)`: outputs (B, T, directions * units), zero after each
        length; h and c (directions, B, units).
    """
    import jax.numpy as jnp
    from jax.experimental import rnn as jax_rnn

    count = 2 if bidirectional else 1
    zeros = jnp.zeros((count, inputs.shape[0], units), dtype=inputs.dtype)
    if implementation == "cudnn":
        return jax_rnn.lstm(
            inputs,
            zeros,
            zeros,
            weights,
            lengths,
            input_size=input_size,
            hidden_size=units,
            num_layers=1,
            dropout=0.0,
            bidirectional=bidirectional,
        )
    if implementation != "reference":
        raise ValueError(
            f"Unknown implementation: {implementation!r}. Valid options: 'cudnn', 'reference'"
        )
    w_ih, w_hh, b_ih, b_hh = jax_rnn.unpack_lstm_weights(
        weights, input_size, units, 1, bidirectional
    )
    return jax_rnn.lstm_ref(
        inputs,
        zeros,
        zeros,
        w_ih,
        w_hh,
        b_ih,
        b_hh,
        lengths,
        input_size,
        units,
        1,
        0.0,
        bidirectional,
    )


def run_masked_lstm(rnn, inputs, mask, implementation: str, training=None) -> list:
    """Runs a built LSTM (or `Bidirectional` LSTM) layer over a masked batch.

    The same results as `rnn(inputs, mask=mask)`, as `[outputs, *states]`,
    with outputs zero at masked positions: through sequence lengths when the
    mask is right-padded, through the layer itself otherwise.
    """
    import jax
    import jax.numpy as jnp

    layers = directions(rnn)
    cells = [layer.cell for layer in layers]
    units = cells[0].units
    mask = jnp.asarray(mask, dtype=bool)  # B x T
    length = mask.shape[1]
    lengths = jnp.sum(mask, axis=1, dtype=jnp.int32)  # B
    positions = jnp.arange(length, dtype=jnp.int32)[None, :]  # 1 x T
    right_padded = jnp.all(mask == (positions < lengths[:, None]))
    keep = mask[..., None]  # B x T x 1

    def sequence_lengths(inputs):
        outputs, h, c = lstm_with_lengths(
            inputs,
            jnp.maximum(lengths, 1),  # cuDNN needs >= 1; empty rows are reset
            cudnn_weights(cells),
            inputs.shape[-1],
            units,
            len(cells) == 2,
            implementation,
        )
        empty = (lengths == 0)[:, None]
        states = []
        for index in range(len(cells)):
            states += [jnp.where(empty, 0.0, h[index]), jnp.where(empty, 0.0, c[index])]
        return jnp.where(keep, outputs, 0.0), states

    def generic(inputs):
        results = rnn(inputs, mask=mask, training=training)
        return jnp.where(keep, results[0], 0.0), list(results[1:])

    # As the layer's own call would: the inputs in its compute dtype (float32
    # LSTMs under a mixed policy receive low-precision embeddings).
    inputs = jnp.asarray(inputs, dtype=rnn.compute_dtype)
    outputs, states = jax.lax.cond(right_padded, sequence_lengths, generic, inputs)
    return [outputs, *states]
