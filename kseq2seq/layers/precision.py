"""Dtype policies of the encoder and decoder layers under mixed precision.

Every layer computes in the policy named by `Seq2SeqConfig.mixed_precision`
(None: Keras's global policy) except these places:
- kept in float32: the attention softmax (`BaseSeq2SeqAttention.attend`), the
  loss, and the vocabulary logits (the output projection is a float32 layer,
  unless `Seq2SeqConfig.float32_logits` is False: then it computes in the
  policy's dtype and only its output is cast);
- float32 where no GPU is in use: the sum and tanh of the additive scores
  (`attention_base.additive_dtype`), which a CPU does faster in float32;
- the recurrent layers, float32 where the backend's only fused LSTM is
  float32-only: JAX on a GPU (`jax.experimental.rnn`), so that they still run
  fused there.

The float32 logits of a training step come from the 16-bit inputs where the
hardware multiplies 16-bit matrices natively (`native_products`: a GPU, or a CPU
with AMX): `float32_product` accumulates and returns float32, as the float32
product of the same inputs would up to summation order, at the 16-bit product's
speed.
"""

from __future__ import annotations

import functools
from pathlib import Path

import keras
from keras import ops

MIXED_POLICIES = ("mixed_bfloat16", "mixed_float16")


def layer_config(config, kwargs: dict):
    """The `Seq2SeqConfig` of an encoder or decoder made from `config` (or its dict); puts
    the config's policy into the layer's keyword arguments `kwargs` unless a dtype is given."""
    from kseq2seq.config import Seq2SeqConfig

    if isinstance(config, dict):
        config = Seq2SeqConfig.from_dict(config)
    if config.mixed_precision is not None:
        kwargs.setdefault("dtype", config.mixed_precision)
    return config


def effective_policy(config) -> str:
    """The name of the policy `config`'s layers compute in."""
    return config.mixed_precision or keras.config.dtype_policy().name


def layer_dtype(config) -> str | None:
    """The `dtype` argument of the encoder's and decoder's layers."""
    return config.mixed_precision


def recurrent_dtype(config) -> str | None:
    """The `dtype` argument of the recurrent layers (see the module docstring)."""
    from kseq2seq.layers.fused_lstm import jax_on_gpu

    if effective_policy(config) in MIXED_POLICIES and config.cell == "lstm" and jax_on_gpu():
        return "float32"
    return config.mixed_precision


def compiled_on_tensorflow(function):
    """`function` compiled by XLA under TensorFlow (JAX compiles the whole train step)."""
    if keras.backend.backend() != "tensorflow":
        return function
    import tensorflow as tf

    compiled = tf.function(function, jit_compile=True, reduce_retracing=True)

    @functools.wraps(function)
    def call(*args):
        # Tensors (variables too) as tensors; Python numbers stay constants of the trace.
        return compiled(
            *(a if isinstance(a, (int, float)) else tf.convert_to_tensor(a) for a in args)
        )

    return call


@functools.cache
def _read_cpuinfo() -> str:
    try:
        return Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:  # not Linux: no flags known
        return ""


def cpu_flags(cpuinfo: str | None = None) -> frozenset:
    """The CPU's flags, from `cpuinfo`, the text of Linux's `/proc/cpuinfo` (read when None);
    empty where there is none."""
    cpuinfo = _read_cpuinfo() if cpuinfo is None else cpuinfo
    for line in cpuinfo.splitlines():  # every core lists the same flags: the first will do
        name, _, value = line.partition(":")
        if name.strip() == "flags":
            return frozenset(value.split())
    return frozenset()


@functools.cache
def _cpu_has_amx() -> bool:
    return "amx_bf16" in cpu_flags()


def native_products(dtype: str) -> bool:
    """Whether `float32_product` serves matrices of `dtype` here: a 16-bit dtype on a GPU,
    or bfloat16 on a CPU with AMX tiles (Linux's `amx_bf16` flag), under TensorFlow or
    JAX. Elsewhere a 16-bit product is no faster than a float32 one (AVX512_BF16 without
    AMX), or much slower (emulated)."""
    from kseq2seq.layers.fused_lstm import jax_on_gpu, tensorflow_on_gpu

    backend = keras.backend.backend()
    dtype = None if dtype is None else keras.backend.standardize_dtype(dtype)
    if dtype not in ("bfloat16", "float16"):
        return False
    if (backend == "jax" and jax_on_gpu()) or (backend == "tensorflow" and tensorflow_on_gpu()):
        return True
    return dtype == "bfloat16" and backend in ("tensorflow", "jax") and _cpu_has_amx()


@compiled_on_tensorflow
def _tensorflow_product(rows, kernel):
    import tensorflow as tf

    # TensorFlow has no CPU kernel for a 16-bit product with a float32 result; XLA has.
    return tf.raw_ops.BatchMatMulV3(x=rows, y=kernel, Tout=tf.float32)


def _product(rows, kernel):
    if keras.backend.backend() == "tensorflow":
        return _tensorflow_product(rows, kernel)
    import jax

    dimensions = (((1,), (0,)), ((), ()))
    return jax.lax.dot_general(rows, kernel, dimensions, preferred_element_type="float32")


@ops.custom_gradient
def _float32_product(inputs, kernel):
    rows = ops.reshape(inputs, (-1, ops.shape(kernel)[0]))
    outputs = ops.reshape(_product(rows, kernel), (*ops.shape(inputs)[:-1], -1))

    def grad(*args, upstream=None):
        upstream = args[0] if upstream is None else upstream
        # The gradients flow in the 16-bit dtype, as through any mixed-precision layer.
        upstream = ops.cast(ops.reshape(upstream, (-1, ops.shape(kernel)[1])), kernel.dtype)
        d_inputs = ops.reshape(ops.matmul(upstream, ops.transpose(kernel)), ops.shape(inputs))
        return d_inputs, ops.matmul(ops.transpose(rows), upstream)

    return outputs, grad


def float32_product(inputs, kernel):
    """`inputs (..., K) @ kernel (K, N)`, both 16-bit, accumulated in and returned as float32
    (..., N). Callers use it where `native_products` holds: there the 16-bit product is 4-5x
    faster than the float32 one; the vocabulary projection of a training step (1,920 tokens,
    512 units, 8,000 words, forward and backward) took 46 ms against 165 ms on a 2-core CPU
    with AMX (benchmarks/README.md)."""
    return _float32_product(inputs, kernel)
