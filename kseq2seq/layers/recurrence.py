"""One recurrence for every LSTM and GRU of kseq2seq, input projections hoisted.

Keras's `LSTMCell` and `GRUCell` multiply each step's input by the kernel
inside the time loop: T small matmuls where one large one would do. Here the
input projection x W_ih + b of all time steps is one matmul before the loop
(`input_projection`), and the loop (`scan`: `ops.scan`, or under TensorFlow a
`tf.while_loop` of its own) carries only the recurrent part h W_hh
(`recurrent_step`), as PyTorch's CPU LSTM does.

The weights stay those of the `keras.layers.LSTM` / `GRU` layers that hold
them (`kernel` (D, G), `recurrent_kernel` (U, G), `bias`; G = 4U for the LSTM
with gates (i, f, c, o), G = 3U for the GRU with gates (z, r, h) and
`reset_after=True`, whose bias (2, 3U) holds the input bias, then the
recurrent one), so saved models load unchanged. A layer's input may be split
into row blocks of the kernel (`rows`): the scanned decoders project the
target embeddings once for the whole target and multiply only the attention
context or h~ inside the step.

Masks (right-padded or not) follow Keras's masked path: where the mask is
false the states are carried unchanged; the outputs there repeat the last
output (unidirectional, `zero_output_for_mask=False`) or are zero (inside
`Bidirectional`); the backward direction runs from the end, so that each
sequence is read backwards from its own last token.

Which path a layer takes is decided once per layer, when its call is traced
(`recurrence_path`): the backend's fused kernel where one applies
(`kseq2seq.layers.fused_lstm`: `jax.experimental.rnn` with sequence lengths;
Keras's own layer, i.e. cuDNN, on a GPU), the hoisted recurrence elsewhere.
"""

from __future__ import annotations

import keras
from keras import ops

# The module, not its names: tests stand in a GPU by patching its functions.
from kseq2seq.layers import fused_lstm
from kseq2seq.layers.fused_lstm import directions


def hoistable(rnn) -> bool:
    """Whether every direction of `rnn` is a cell this module computes exactly
    (no dropout inside the cell, GRUs with `reset_after=True`, not unrolled)."""
    for layer in directions(rnn):
        cell = getattr(layer, "cell", None)
        if not isinstance(cell, (keras.layers.LSTMCell, keras.layers.GRUCell)):
            return False
        if cell.dropout or cell.recurrent_dropout or layer.unroll:
            return False
        if isinstance(cell, keras.layers.GRUCell) and not cell.reset_after:
            return False
    return True


def _cudnn_on_gpu(rnn) -> bool:
    """Whether Keras would run `rnn` through cuDNN (a GPU, default options)."""
    on_jax_gpu = fused_lstm.jax_on_gpu()
    if not (on_jax_gpu or fused_lstm.tensorflow_on_gpu()):
        return False
    for layer in directions(rnn):
        if getattr(layer, "use_cudnn", False) not in ("auto", True):
            return False
        if on_jax_gpu and not isinstance(layer.cell, keras.layers.LSTMCell):
            return False  # Keras's JAX GRU is always a scan
    return True


def recurrence_path(rnn, masked: bool) -> str:
    """How `rnn` runs: `"fused"` (`run_masked_lstm`, JAX), `"keras"` (the
    layer's own call: cuDNN on a GPU, or a cell this module does not cover)
    or `"hoisted"` (`run_recurrence`)."""
    if masked and fused_lstm.fused_implementation(rnn) is not None:
        return "fused"
    if _cudnn_on_gpu(rnn) or not hoistable(rnn):
        return "keras"
    return "hoisted"


def _weight(variable, dtype):
    # The cells compute in their own dtype (float32 weights autocast under
    # mixed precision, as the layer's call would).
    return ops.cast(variable, dtype)


def input_bias(cell):
    """The bias added to the input projection (G,), or None."""
    if not cell.use_bias:
        return None
    bias = _weight(cell.bias, cell.compute_dtype)
    return bias[0] if isinstance(cell, keras.layers.GRUCell) else bias


def input_projection(cell, inputs, rows=None, bias=True):
    """x W_ih (+ b): inputs (..., D) -> (..., G), in the cell's dtype.

    Args:
        cell: a built `LSTMCell` or `GRUCell`.
        inputs: (..., D), or (..., stop - start) with `rows`.
        rows: `(start, stop)`: the block of kernel rows `inputs` multiplies
            (the kernel's input is the concatenation of several pieces).
        bias: whether to add the input bias.
    """
    dtype = cell.compute_dtype
    kernel = _weight(cell.kernel, dtype)  # D x G
    if rows is not None:
        kernel = kernel[rows[0] : rows[1]]
    projected = ops.matmul(ops.cast(inputs, dtype), kernel)
    if bias and input_bias(cell) is not None:
        projected = projected + input_bias(cell)
    return projected


def recurrent_weights(cell) -> tuple:
    """`(recurrent_kernel (U, G), recurrent_bias (G,) or None)` in the cell's
    dtype. Read once before a loop and passed to every `recurrent_step`: a
    weight read (and cast) inside a TensorFlow loop runs at every step, and so
    does its gradient's accumulation into a full-size zero tensor."""
    dtype = cell.compute_dtype
    recurrent_bias = None
    if isinstance(cell, keras.layers.GRUCell) and cell.use_bias:
        recurrent_bias = _weight(cell.bias, dtype)[1]
    return _weight(cell.recurrent_kernel, dtype), recurrent_bias


def recurrent_step(cell, projected, states, weights=None):
    """One step from the projected input: projected (B, G), states `[h, c]`
    (LSTM) or `[h]` (GRU), each (B, U); `weights` from `recurrent_weights`
    (read here if None). Returns `(h, new_states)`."""
    recurrent_kernel, recurrent_bias = weights or recurrent_weights(cell)  # U x G, G
    h_previous = states[0]
    if isinstance(cell, keras.layers.LSTMCell):
        z = projected + ops.matmul(h_previous, recurrent_kernel)
        z_i, z_f, z_c, z_o = ops.split(z, 4, axis=-1)
        c = cell.recurrent_activation(z_f) * states[1] + cell.recurrent_activation(
            z_i
        ) * cell.activation(z_c)
        h = cell.recurrent_activation(z_o) * cell.activation(c)
        return h, [h, c]
    inner = ops.matmul(h_previous, recurrent_kernel)  # B x 3U
    if recurrent_bias is not None:
        inner = inner + recurrent_bias
    x_z, x_r, x_h = ops.split(projected, 3, axis=-1)
    inner_z, inner_r, inner_h = ops.split(inner, 3, axis=-1)
    z = cell.recurrent_activation(x_z + inner_z)
    r = cell.recurrent_activation(x_r + inner_r)
    candidate = cell.activation(x_h + r * inner_h)
    h = z * h_previous + (1.0 - z) * candidate
    return h, [h]


def scan(f, init, xs, reverse=False):
    """`ops.scan(f, init, xs, reverse=reverse)`, where `f(carry, x)` returns `(carry, y)` and
    `y` has the structure, shapes and dtypes of `carry` (as Keras's TensorFlow scan needs).

    Under TensorFlow the loop is a `tf.while_loop` of its own: the carry is its loop variables
    (Keras's scan keeps it in a TensorArray, one read and one write a step) and up to 32
    iterations may run at once (Keras's scan runs them one by one), so that a step's
    independent work, such as the backward pass's weight-gradient sums, overlaps the next
    step's; `maximum_iterations` is set, which XLA needs. On the LSTM layer of
    benchmarks/README.md ("oneDNN") that is 20 ms a forward and backward pass against 26 ms.
    Other backends run `ops.scan` (`jax.lax.scan`).
    """
    if keras.backend.backend() != "tensorflow":
        return ops.scan(f, init, xs, reverse=reverse)
    import tensorflow as tf

    xs_flat = [tf.convert_to_tensor(x) for x in tf.nest.flatten(xs)]
    carry_flat = [tf.convert_to_tensor(part) for part in tf.nest.flatten(init)]
    length = tf.shape(xs_flat[0])[0]
    inputs = [
        tf.TensorArray(x.dtype, size=length, element_shape=x.shape[1:]).unstack(x) for x in xs_flat
    ]
    outputs = [
        tf.TensorArray(part.dtype, size=length, element_shape=part.shape) for part in carry_flat
    ]

    def body(step, carry, outputs):
        index = length - 1 - step if reverse else step
        x = tf.nest.pack_sequence_as(xs, [array.read(index) for array in inputs])
        carry, y = f(tf.nest.pack_sequence_as(init, carry), x)
        outputs = [array.write(index, part) for array, part in zip(outputs, tf.nest.flatten(y))]
        return step + 1, tf.nest.flatten(carry), outputs

    _, carry_flat, outputs = tf.while_loop(
        lambda step, carry, outputs: step < length,
        body,
        (tf.constant(0), carry_flat, outputs),
        parallel_iterations=32,
        maximum_iterations=length,
    )
    stacked = []
    for array in outputs:
        value = array.stack()
        value.set_shape(xs_flat[0].shape[:1].concatenate(value.shape[1:]))
        stacked.append(value)
    return tf.nest.pack_sequence_as(init, carry_flat), tf.nest.pack_sequence_as(init, stacked)


def scan_recurrence(cell, projected, states, mask=None, reverse=False, zero_masked=False):
    """`recurrent_step` over time.

    Args:
        cell: a built `LSTMCell` or `GRUCell`.
        projected: (B, T, G), the input projection of every step.
        states: the initial states, `[h, c]` or `[h]`, each (B, U).
        mask: bool (B, T) or None. Masked steps carry the states unchanged.
        reverse: run from the last step to the first.
        zero_masked: zero outputs at masked steps (else the last output).

    Returns:
        `(outputs (B, T, U), final states)`.
    """
    states = [ops.cast(state, cell.compute_dtype) for state in states]
    time_major = ops.transpose(projected, (1, 0, 2))  # T x B x G
    if mask is not None:
        # The mask is an input of the loop of its own, T x B x 1. As one more column of
        # the projection it cost a B x T x G+1 copy and a slice at every step: 20 ms of a
        # 120 ms LSTM layer's forward and backward (benchmarks/README.md).
        keep_major = ops.transpose(ops.cast(mask, "bool"), (1, 0))[..., None]
        time_major = (time_major, keep_major)

    weights = recurrent_weights(cell)

    def body(carry, step_inputs):
        if mask is None:
            output, new_states = recurrent_step(cell, step_inputs, list(carry), weights)
        else:
            projected_t, keep = step_inputs  # B x G, B x 1
            output, new_states = recurrent_step(cell, projected_t, list(carry), weights)
            new_states = [ops.where(keep, new, old) for new, old in zip(new_states, carry)]
            # h carried through a masked step is the last output.
            output = (
                ops.where(keep, output, ops.zeros_like(output)) if zero_masked else new_states[0]
            )
        # Keras's TensorFlow scan stacks outputs with the carry's structure:
        # the output takes h's place.
        return tuple(new_states), (output, *new_states[1:])

    final, stacked = scan(body, tuple(states), time_major, reverse=reverse)
    return ops.transpose(stacked[0], (1, 0, 2)), list(final)


def _zero_states(cell, batch):
    count = 2 if isinstance(cell, keras.layers.LSTMCell) else 1
    return [ops.zeros((batch, cell.units), dtype=cell.compute_dtype)] * count


def run_recurrence(rnn, inputs, initial_state=None, mask=None) -> list:
    """A built LSTM, GRU or `Bidirectional` of them over a batch, hoisted.

    The results of `rnn(inputs, initial_state=..., mask=mask)` with
    `return_sequences=True, return_state=True`: `[outputs, *states]`
    (forward states, then backward ones). One matmul projects the inputs of
    every step and both directions.
    """
    layers = directions(rnn)
    cells = [layer.cell for layer in layers]
    batch = ops.shape(inputs)[0]
    if initial_state is None:
        initial_state = [state for cell in cells for state in _zero_states(cell, batch)]
    if mask is not None:
        mask = ops.cast(mask, "bool")
    dtype = cells[0].compute_dtype
    kernels = ops.concatenate([_weight(cell.kernel, dtype) for cell in cells], axis=-1)
    projected = ops.matmul(ops.cast(inputs, dtype), kernels)  # B x T x directions G
    pieces = ops.split(projected, len(cells), axis=-1) if len(cells) > 1 else [projected]
    outputs, final_states = [], []
    per_cell = len(initial_state) // len(cells)
    for index, (layer, cell, piece) in enumerate(zip(layers, cells, pieces)):
        if input_bias(cell) is not None:
            piece = piece + input_bias(cell)
        states = initial_state[index * per_cell : (index + 1) * per_cell]
        output, states = scan_recurrence(
            cell,
            piece,
            states,
            mask=mask,
            reverse=layer.go_backwards,
            zero_masked=layer.zero_output_for_mask,
        )
        outputs.append(output)
        final_states.extend(states)
    if len(layers) > 1:
        outputs = [ops.concatenate(outputs, axis=-1)]
    return [outputs[0], *final_states]
