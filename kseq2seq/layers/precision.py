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
"""

from __future__ import annotations

import keras

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
