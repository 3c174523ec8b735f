"""`build_model`: the functional training graph, and its attention submodel."""

from __future__ import annotations

from typing import Any

import keras

from kseq2seq.config import Seq2SeqConfig
from kseq2seq.layers.decoder import Seq2SeqDecoder
from kseq2seq.layers.encoder import Seq2SeqEncoder
from kseq2seq.layers.precision import MIXED_POLICIES


def build_model(
    config: Seq2SeqConfig | dict | None = None, seed: int | None = None, **overrides: Any
) -> keras.Model:
    """Builds the encoder-decoder as a functional `keras.Model`.

    A mixed global policy (`keras.config.set_dtype_policy`) is recorded as the config's
    `mixed_precision`; logits, attention weights and the loss stay float32.

    Args:
        config: a `Seq2SeqConfig`, its dict, or None for the defaults.
        seed: seed of the decoder's dropout masks (weights follow `keras.utils.set_random_seed`).
        **overrides: config options that replace those of `config`, e.g. `units=256`.

    Returns:
        An uncompiled `keras.Model` (a `SharedEmbeddingModel` with `share_embeddings=True`)
        with inputs `{"source": int32 (B, S), "target_in": int32 (B, T)}` and float32 logits
        (B, T, V) out.

    Raises:
        ValueError: an option is unknown or has an invalid value.
    """
    if config is None or isinstance(config, dict):
        config = Seq2SeqConfig.from_dict(config or {})
    elif not isinstance(config, Seq2SeqConfig):
        raise TypeError(
            f"config must be a Seq2SeqConfig, a dict or None. Received: {type(config).__name__}"
        )
    config = config.replace(**overrides)
    global_policy = keras.config.dtype_policy().name
    if config.mixed_precision is None and global_policy in MIXED_POLICIES:
        config = config.replace(mixed_precision=global_policy)
    if config.share_embeddings:
        return SharedEmbeddingModel(config, seed=seed)
    return _set_policy(keras.Model(*_graph(config, seed), name="seq2seq"), config)


def _graph(config: Seq2SeqConfig, seed: int | None):
    """The inputs and the logits of the training graph."""
    source = keras.Input(shape=(None,), dtype="int32", name="source")
    target_in = keras.Input(shape=(None,), dtype="int32", name="target_in")
    encoder = Seq2SeqEncoder(config, name="encoder")
    shared = encoder.embedding if config.share_embeddings else None
    decoder = Seq2SeqDecoder(config, seed=seed, shared_embedding=shared, name="decoder")
    memory, *states = encoder(source)
    outputs = decoder([target_in, source, memory, *states])
    logits = outputs[0] if config.attention is not None else outputs
    return {"source": source, "target_in": target_in}, logits


def _set_policy(model: keras.Model, config: Seq2SeqConfig) -> keras.Model:
    if config.mixed_precision is not None:
        # So that `compile` wraps the optimizer in a LossScaleOptimizer under mixed_float16.
        model.dtype_policy = config.mixed_precision
    return model


@keras.saving.register_keras_serializable(package="kseq2seq")
class SharedEmbeddingModel(keras.Model):
    """The model of `build_model` with `share_embeddings=True`: one embedding layer for both
    sides. It is saved as its config because a functional model is rebuilt layer by layer on
    loading, which would give each side its own embedding again.

    Args:
        config: a `Seq2SeqConfig` (or its dict) with `share_embeddings=True`.
        seed: as for `build_model`.
    """

    def __init__(self, config, seed: int | None = None, **kwargs):
        if isinstance(config, dict):
            config = Seq2SeqConfig.from_dict(config)
        if not config.share_embeddings:
            raise ValueError("SharedEmbeddingModel needs a config with share_embeddings=True")
        inputs, logits = _graph(config, seed)
        kwargs.setdefault("name", "seq2seq")
        super().__init__(inputs=inputs, outputs=logits, **kwargs)
        _set_policy(self, config)

    def get_config(self):
        decoder = _decoder(self)
        return {
            "name": self.name,
            "trainable": self.trainable,
            "config": decoder.config.to_dict(),
            "seed": decoder.seed,
        }


def model_config(model: keras.Model) -> Seq2SeqConfig:
    """The `Seq2SeqConfig` of a model made by `build_model` (or loaded)."""
    return _decoder(model).config


def _decoder(model: keras.Model) -> Seq2SeqDecoder:
    decoder = next((layer for layer in model.layers if layer.name == "decoder"), None)
    if not isinstance(decoder, Seq2SeqDecoder):
        raise ValueError(
            "Expected a model made by kseq2seq.build_model (with a Seq2SeqDecoder "
            f"layer named 'decoder'). Received: {model.name!r}"
        )
    return decoder


def check_attention(config: Seq2SeqConfig) -> None:
    """Raises ValueError unless the model of `config` has attention weights to extract."""
    if config.attention is None:
        raise ValueError(
            "This model has no attention (attention=None): there are no weights to extract."
        )


def attention_model(model: keras.Model) -> keras.Model:
    """The attention-extraction submodel of a model made by `build_model`.

    Same inputs as `model`; output the teacher-forced attention weights float32 (B, T, S),
    computed by the very layers of `model`, so it always reflects the current weights.

    Raises:
        ValueError: `model` was not made by `build_model`, or has no attention.
    """
    decoder = _decoder(model)
    check_attention(decoder.config)
    return keras.Model(inputs=model.input, outputs=decoder.output[1], name="attention_model")
