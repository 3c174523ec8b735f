"""Samplers: how the next token is chosen, all run by one compiled loop driver.

The names and arguments of keras-hub's samplers where they coincide:
`GreedySampler()`, `BeamSampler(num_beams, length_penalty, coverage_penalty,
return_all_beams)`, `RandomSampler(seed, temperature)`, `TopKSampler(k, seed,
temperature)`, `TopPSampler(p, k, seed, temperature)`; `get(name | config |
sampler)`, `serialize` and `deserialize`. `decode(model, source_ids, sampler,
max_length)` runs one over a model (NumPy in, a `DecodingResult` out);
`generate` is the same loop in tensors, for traced functions.
"""

from __future__ import annotations

import keras

from kseq2seq.samplers.beam_sampler import BeamSampler
from kseq2seq.samplers.driver import DecodingResult, decode, generate, greedy_decode
from kseq2seq.samplers.greedy_sampler import GreedySampler
from kseq2seq.samplers.random_sampler import RandomSampler
from kseq2seq.samplers.sampler import Sampler, seed_tensor
from kseq2seq.samplers.top_k_sampler import TopKSampler
from kseq2seq.samplers.top_p_sampler import TopPSampler

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
        ValueError: an unknown name or another kind of identifier.
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
