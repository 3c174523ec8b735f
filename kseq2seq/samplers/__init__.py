"""Samplers, with keras-hub's names and arguments where they coincide; `decode` runs one over
a model (NumPy in and out), `generate` in tensors, for traced functions."""

from __future__ import annotations

import keras

from kseq2seq.samplers.beam_sampler import BeamSampler
from kseq2seq.samplers.driver import DecodingResult, decode, generate, greedy_decode
from kseq2seq.samplers.random_sampler import RandomSampler, TopKSampler, TopPSampler
from kseq2seq.samplers.sampler import GreedySampler, Sampler, seed_tensor

NAMES = {
    "greedy": GreedySampler,
    "beam": BeamSampler,
    "random": RandomSampler,
    "top_k": TopKSampler,
    "top_p": TopPSampler,
}


def serialize(sampler: Sampler) -> dict:
    """The sampler as a Keras config dict (`deserialize` reads it back)."""
    return keras.saving.serialize_keras_object(sampler)


def deserialize(config: dict) -> Sampler:
    """A sampler from `serialize`'s dict."""
    objects = {cls.__name__: cls for cls in NAMES.values()}
    return keras.saving.deserialize_keras_object(config, module_objects=objects)


def get(identifier: str | dict | Sampler) -> Sampler:
    """A sampler from a name (its default settings), a `serialize` dict, or itself.

    Raises:
        ValueError: an unknown name.
    """
    if isinstance(identifier, Sampler):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str) and identifier in NAMES:
        return NAMES[identifier]()
    raise ValueError(
        f"Unknown sampler: {identifier!r}. Valid options: {sorted(NAMES)} or a "
        "kseq2seq.samplers.Sampler"
    )


__all__ = [
    "BeamSampler",
    "DecodingResult",
    "GreedySampler",
    "RandomSampler",
    "Sampler",
    "TopKSampler",
    "TopPSampler",
    "decode",
    "deserialize",
    "generate",
    "get",
    "greedy_decode",
    "seed_tensor",
    "serialize",
]
