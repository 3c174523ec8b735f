"""Compiling decoding loops once per model and input shape, per backend.

`keras.ops.while_loop` is backend-neutral but runs eagerly unless the
function around it is compiled: `tf.function` under TensorFlow, `jax.jit`
under JAX (with the model's variables passed in as state, as keras-hub's
generate functions do). Other backends run the loop eagerly.
"""

from __future__ import annotations

from collections.abc import Callable

import keras


def compile_decoding_function(model: keras.Model, function: Callable) -> Callable:
    """Returns `function` compiled for the current backend.

    `function(*tensors)` may read `model`'s variables; under JAX they are
    passed to the compiled function as state, so later weight updates
    (fine-tuning) are seen without recompiling.
    """
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.function(function, reduce_retracing=True)
    if backend == "jax":
        import jax

        variables = list(model.variables)

        @jax.jit
        def compiled(values, *args):
            with keras.StatelessScope(state_mapping=list(zip(variables, values))):
                return function(*args)

        def run(*args):
            return compiled([variable.value for variable in variables], *args)

        return run
    return function


def pad_source_width(source_ids, multiple: int = 8):
    """Right-pads int source ids (B, S) with 0 to a width that is a multiple of
    `multiple` (at least `multiple`), so that few shapes compile; padding is
    masked, so results do not change."""
    import numpy as np

    width = max(multiple, -(-source_ids.shape[1] // multiple) * multiple)
    padded = np.zeros((source_ids.shape[0], width), dtype="int32")
    padded[:, : source_ids.shape[1]] = source_ids
    return padded
