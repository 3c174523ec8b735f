"""The search space of `Seq2SeqHyperModel`, written once as keras-tuner calls, and its check.

Entries declared in `hp` before `declare_search_space(hp)` narrow, widen or fix the default
space (keras-tuner keeps a name's first declaration):

```python
hp = keras_tuner.HyperParameters()
hp.Choice("units", [64, 128])      # narrowed
hp.Fixed("cell", "gru")            # fixed
hp.Boolean("residual")             # widened: not in the default space
tuner = kseq2seq.tuning.RandomSearch(hypermodel, hyperparameters=hp, objective="val_loss")
```

With `tune_new_entries=False` only those are tuned; the others keep their defaults (the first
choice, the minimum of a range, `learning_rate=1e-3`). `attention="none"` is the plain
encoder-decoder (keras-tuner values cannot be None), with `input_feeding` inactive.
`hyperparameters_from_dict` maps a plain dict (as in `kseq2seq tune`'s config file):

| written as | becomes | example |
| --- | --- | --- |
| a list of values | `hp.Choice` (one value: `hp.Fixed`) | `"units": [64, 128]` |
| a list of `True`/`False` | `hp.Boolean` | `"bidirectional": [True, False]` |
| `{"min", "max"[, "step"][, "sampling"]}`, ints | `hp.Int` | `"num_layers": {"min": 1, "max": 2}` |
| the same with a float | `hp.Float` | `"dropout": {"min": 0.0, "max": 0.5, "step": 0.1}` |
| a single value (or an entry of `fixed`) | `hp.Fixed` | `"cell": "gru"` |
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
from collections.abc import Mapping
from typing import Any

import keras_tuner

from kseq2seq.checks import check_fraction, check_int, check_number
from kseq2seq.config import ATTENTIONS, CELLS, Seq2SeqConfig

ATTENTION_SCORES = [attention for attention in ATTENTIONS if attention is not None]
#: Hyperparameters that are options of `Seq2SeqConfig`; the others go to training.
ARCHITECTURE_NAMES = tuple(
    field.name for field in dataclasses.fields(Seq2SeqConfig) if "vocab_size" not in field.name
)
TRAINING_NAMES = ("learning_rate", "batch_size", "label_smoothing")
NAMES = (*ARCHITECTURE_NAMES, *TRAINING_NAMES)
RANGE_KEYS = ("min", "max", "step", "sampling")


def declare_search_space(hp: keras_tuner.HyperParameters) -> None:
    """Declares the default search space in `hp`; entries declared before are kept."""
    hp.Choice("attention", ATTENTION_SCORES, default="luong_general")
    hp.Choice("cell", list(CELLS))
    # The recurrent state size (both directions together when bidirectional: keep it even).
    hp.Choice("units", [64, 128, 256, 512])
    hp.Int("num_layers", 1, 2)  # stacked layers in the encoder and in the decoder
    hp.Boolean("bidirectional")
    if not any(entry.name == "input_feeding" for entry in hp.space):  # else narrowed before
        with hp.conditional_scope("attention", ATTENTION_SCORES):  # needs an attention
            hp.Boolean("input_feeding")  # Luong's: h~(t-1) joins the input of step t
    hp.Float("dropout", 0.0, 0.5, step=0.1)
    hp.Choice("embedding_dim", [64, 128, 256])
    hp.Float("learning_rate", 1e-4, 1e-2, sampling="log", default=1e-3)  # Adam's


def trial_config(config: Seq2SeqConfig, values: Mapping[str, Any]) -> Seq2SeqConfig:
    """`config` with the architecture of a trial's values (None: inactive, not changed)."""
    options = {k: v for k, v in values.items() if k in ARCHITECTURE_NAMES and v is not None}
    if options.get("attention") == "none":
        options["attention"] = None
    return config.replace(**options)


def check_training_values(values: Mapping[str, Any]) -> None:
    """Raises ValueError unless the training hyperparameters in `values` are valid."""
    check_number("learning_rate", values.get("learning_rate", 1e-3), low=0, low_open=True)
    check_fraction("label_smoothing", values.get("label_smoothing", 0.0))
    check_int("batch_size", values.get("batch_size", 1))


def hyperparameters_from_dict(
    search_space: Mapping[str, Any] | None = None, fixed: Mapping[str, Any] | None = None
) -> keras_tuner.HyperParameters:
    """The `keras_tuner.HyperParameters` of a dict search space (module docstring) and `fixed`.

    Raises:
        ValueError: an invalid entry (named).
    """
    for argument, given in (("search_space", search_space), ("fixed", fixed)):
        if given is not None and not isinstance(given, Mapping):
            raise ValueError(
                f"{argument} must be a dict of hyperparameter names. Received: {given!r}"
            )
    search_space, fixed = dict(search_space or {}), dict(fixed or {})
    both = sorted(set(search_space) & set(fixed))
    if both:
        raise ValueError(
            f"{', '.join(both)} given both in search_space and in fixed: give each once"
        )
    entries = [(name, spec, "search_space") for name, spec in search_space.items()]
    entries += [(name, [value], "fixed") for name, value in fixed.items()]
    hp = keras_tuner.HyperParameters()
    # attention first: a tuned input_feeding is conditional on it, as in the default space
    for name, spec, where in sorted(entries, key=lambda entry: entry[0] != "attention"):
        if name not in NAMES:
            raise ValueError(f"Unknown hyperparameter: {name!r}. Valid names: {', '.join(NAMES)}")
        conditional = name == "input_feeding" and where == "search_space" and "attention" in hp
        scope = hp.conditional_scope("attention", ATTENTION_SCORES) if conditional else None
        try:
            with scope or contextlib.nullcontext():
                _declare(hp, name, spec)
        except (TypeError, ValueError) as error:
            raise ValueError(f"Invalid {where}[{name!r}]: {error}") from None
    return hp


def _declare(hp: keras_tuner.HyperParameters, name: str, spec: Any) -> None:
    if isinstance(spec, Mapping):
        if set(spec) - set(RANGE_KEYS) or not {"min", "max"} <= set(spec):
            raise ValueError(
                f"a range has keys {RANGE_KEYS} ('min', 'max' needed). Received: {spec}"
            )
        kind = hp.Int if all(type(spec.get(key, 1)) is int for key in RANGE_KEYS[:3]) else hp.Float
        sampling = spec.get("sampling", "linear")
        kind(name, spec["min"], spec["max"], step=spec.get("step"), sampling=sampling)
        return
    values = []
    for value in spec if isinstance(spec, (list, tuple)) else [spec]:
        value = "none" if name == "attention" and value is None else value
        if not any(value == seen and type(value) is type(seen) for seen in values):
            values.append(value)
    if not values:
        raise ValueError("an empty list: give at least one value")
    if float in map(type, values) and all(type(value) in (int, float) for value in values):
        values = [float(value) for value in values]  # YAML's [0, 0.1]: one type for keras-tuner
    if len(values) == 1:
        hp.Fixed(name, values[0])
    elif all(isinstance(value, bool) for value in values):
        hp.Boolean(name, default=values[0])
    else:
        hp.Choice(name, values)


def _candidates(entry) -> tuple:
    """The values to check an entry with: every choice, or a range's ends (and its 2nd value)."""
    if not hasattr(entry, "min_value"):  # not an Int or Float
        return tuple(entry.values)
    low, high = entry.min_value, entry.max_value
    if entry.sampling != "linear" or isinstance(low, float):
        return (low, high)
    step = entry.step or 1  # the second value shows an odd step
    return tuple(sorted({low, min(low + step, high), low + (high - low) // step * step}))


def check_search_space(
    hp: keras_tuner.HyperParameters, config: Seq2SeqConfig, tuned: set | None = None
) -> None:
    """Raises ValueError unless each value of the space `hp`, and each pair of them, makes a
    valid model and training (the others at their defaults, the rest from `config`).

    Args:
        tuned: the names that are tuned; the others keep their default (None: all).
    """
    entries = {entry.name: entry for entry in hp.space if not entry.name.startswith("tuner/")}
    unknown = [name for name in entries if name not in NAMES]
    if unknown:
        raise ValueError(f"Unknown hyperparameter: {unknown[0]!r}. Valid names: {', '.join(NAMES)}")
    defaults = {name: entry.default for name, entry in entries.items()}
    choices = {
        name: _candidates(entry) if tuned is None or name in tuned else (entry.default,)
        for name, entry in entries.items()
    }

    def check(changed: dict) -> None:
        values = {**defaults, **changed}
        active = {
            name: value
            for name, value in values.items()
            if all(condition.is_active(values) for condition in entries[name].conditions)
        }
        try:
            trial_config(config, active)
            check_training_values(active)
        except (TypeError, ValueError) as error:
            names = " and ".join(map(repr, changed))
            shown = ", ".join(f"{name}={value!r}" for name, value in changed.items())
            raise ValueError(
                f"Invalid search space for {names}: a trial with {shown} (the others at their "
                f"defaults) makes no valid model: {error}"
            ) from None

    for name, values in choices.items():
        for value in values:
            check({name: value})
    for first, second in itertools.combinations(choices, 2):
        for pair in itertools.product(choices[first], choices[second]):
            check(dict(zip((first, second), pair)))
