"""The search space of `Seq2SeqHyperModel`: a small dict format, checked eagerly.

A search space maps hyperparameter names to one of:

| written as | becomes | example |
| --- | --- | --- |
| a list of values | `hp.Choice` (one value: `hp.Fixed`) | `"units": [64, 128]` |
| a list of `True`/`False` | `hp.Boolean` | `"bidirectional": [True, False]` |
| `{"min", "max"[, "step"][, "sampling"]}`, ints | `hp.Int` | `"num_layers": {"min": 1, "max": 2}` |
| the same with a float | `hp.Float` | `"dropout": {"min": 0.0, "max": 0.5, "step": 0.1}` |
| a single value | `hp.Fixed` | `"cell": "gru"` |

`sampling` is `"linear"` (the default), `"log"` or `"reverse_log"`. `attention` may include
None (or `"none"`), the plain encoder-decoder; keras-tuner records it as `"none"`, and
`input_feeding` is then inactive (False).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

import keras_tuner

from kseq2seq.config import ATTENTIONS, Seq2SeqConfig

#: The default search space. Every entry can be narrowed, widened or fixed.
DEFAULT_SEARCH_SPACE: dict[str, Any] = {
    # The attention score (None, the plain encoder-decoder, can be added).
    "attention": ["luong_general", "luong_dot", "luong_concat", "bahdanau", "normed_bahdanau"],
    # The recurrent cell of encoder and decoder.
    "cell": ["lstm", "gru"],
    # The recurrent state size (both directions together when bidirectional: keep it even).
    "units": [64, 128, 256, 512],
    # Stacked recurrent layers in the encoder and in the decoder.
    "num_layers": {"min": 1, "max": 2},
    # A bidirectional encoder.
    "bidirectional": [False, True],
    # Luong's input feeding: h~(t-1) joins the input of step t.
    "input_feeding": [False, True],
    # Dropout on embeddings, between layers and before the output projection.
    "dropout": {"min": 0.0, "max": 0.5, "step": 0.1},
    # Word embedding size, source and target.
    "embedding_dim": [64, 128, 256],
    # Adam's learning rate, sampled uniformly on a log scale.
    "learning_rate": {"min": 1e-4, "max": 1e-2, "sampling": "log"},
}

#: One line on each hyperparameter that can be tuned or fixed.
HYPERPARAMETERS: dict[str, str] = {
    "attention": "attention score: " + ", ".join(repr(a) for a in ATTENTIONS if a) + ", None",
    "cell": "recurrent cell: 'lstm', 'gru'",
    "units": "recurrent state size (even when bidirectional)",
    "num_layers": "stacked recurrent layers in encoder and decoder",
    "bidirectional": "bidirectional encoder layers",
    "input_feeding": "feed h~(t-1) into step t (needs an attention)",
    "dropout": "dropout rate in [0, 1)",
    "word_dropout": "rate of whole source and target-input tokens dropped in training, in [0, 1)",
    "embedding_dim": "word embedding size",
    "learning_rate": "Adam learning rate (> 0)",
    "batch_size": "sentences per batch (not in the default space; add it to tune it)",
    "label_smoothing": "label smoothing of the loss, in [0, 1)",
    "attention_units": "width of additive attention scores",
    "scale_attention": "learned scale of Luong scores",
    "residual": "residual connections from the second layer on",
    "bridge": "how the encoder's final state starts the decoder: 'copy', 'dense', 'none'",
    "tie_embeddings": "share the target embedding with the output projection",
    "mixed_precision": "dtype policy: 'mixed_bfloat16', 'mixed_float16', 'float32', None",
}

#: Hyperparameters that are options of `Seq2SeqConfig`; the others go to training.
ARCHITECTURE_NAMES = tuple(
    field.name
    for field in dataclasses.fields(Seq2SeqConfig)
    if field.name not in ("source_vocab_size", "target_vocab_size")
)
TRAINING_NAMES = ("learning_rate", "batch_size", "label_smoothing")
RANGE_KEYS = ("min", "max", "step", "sampling")
SAMPLINGS = ("linear", "log", "reverse_log")

# A valid architecture that each value is checked against, one option at a time.
_NEUTRAL = dict(
    attention="luong_general",
    input_feeding=False,
    bidirectional=False,
    tie_embeddings=False,
    bridge="copy",
    units=64,
    embedding_dim=64,
)


@dataclasses.dataclass(frozen=True)
class Hyperparameter:
    """One parsed entry of a search space.

    Attributes:
        name: the hyperparameter's name.
        kind: `"choice"`, `"boolean"`, `"int"`, `"float"` or `"fixed"`.
        values: the choices (`"choice"`), or the one value (`"fixed"`).
        min_value, max_value, step, sampling: the range (`"int"`, `"float"`).
    """

    name: str
    kind: str
    values: tuple = ()
    min_value: float | int | None = None
    max_value: float | int | None = None
    step: float | int | None = None
    sampling: str = "linear"

    def candidates(self) -> tuple:
        """The values to check: every choice, or both ends of a range."""
        if self.kind == "boolean":
            return (False, True)
        if self.kind in ("int", "float"):
            return (self.min_value, self.max_value)
        return self.values

    def may_be(self, value: Any) -> bool:
        """Whether a trial can get `value` (exact for choices, in range otherwise)."""
        if self.kind in ("int", "float"):
            return self.min_value <= value <= self.max_value
        return any(
            value == candidate and type(value) is type(candidate) for candidate in self.candidates()
        )

    def declare(self, hp: keras_tuner.HyperParameters) -> Any:
        """Declares this hyperparameter in `hp` and returns its value for the trial."""
        if self.kind == "fixed":
            return hp.Fixed(self.name, self.values[0])
        if self.kind == "boolean":
            return hp.Boolean(self.name, default=self.values[0] if self.values else False)
        if self.kind == "choice":
            return hp.Choice(self.name, list(self.values))
        if self.kind == "int":
            return hp.Int(
                self.name,
                self.min_value,
                self.max_value,
                step=self.step,
                sampling=self.sampling,
            )
        return hp.Float(
            self.name, self.min_value, self.max_value, step=self.step, sampling=self.sampling
        )


def parse_search_space(
    search_space: Mapping[str, Any] | None = None,
    fixed: Mapping[str, Any] | None = None,
    base: Mapping[str, Any] | None = None,
    config: Seq2SeqConfig | None = None,
) -> dict[str, Hyperparameter]:
    """Merges and checks a search space.

    Args:
        search_space: entries that replace or add to `base` (see the module
            docstring for the format).
        fixed: hyperparameters fixed to one value each.
        base: the space to start from; `DEFAULT_SEARCH_SPACE` by default.
        config: the architecture of the options that are not in the space
            (`Seq2SeqConfig()` by default), checked together with the space.

    Returns:
        The parsed hyperparameters by name, in declaration order.

    Raises:
        ValueError: an unknown name, an empty choice, an invalid value or range,
            or two options that cannot go together; the message names the
            hyperparameter and its valid values.
    """
    for argument, given in (("search_space", search_space), ("fixed", fixed)):
        if given is not None and not isinstance(given, Mapping):
            raise ValueError(
                f"{argument} must be a dict of hyperparameter names. "
                f"Received: {type(given).__name__}"
            )
    search_space = dict(search_space or {})
    fixed = dict(fixed or {})
    for name in [*search_space, *fixed]:
        _check_name(name)
    both = sorted(set(search_space) & set(fixed))
    if both:
        raise ValueError(
            f"{', '.join(both)} given both in search_space and in fixed: give each only once"
        )
    merged = dict(DEFAULT_SEARCH_SPACE if base is None else base)
    merged.update(search_space)
    parsed = {}
    for name, spec in merged.items():
        _check_name(name)
        parsed[name] = _parse_entry(name, spec, "search_space")
    for name, value in fixed.items():
        parsed[name] = _parse_fixed(name, value, "fixed")
    for entry in parsed.values():
        _check_values(entry)
        _check_with_keras_tuner(entry)
    _check_combinations(parsed, config or Seq2SeqConfig())
    return parsed


def _check_name(name: Any) -> None:
    valid = (*ARCHITECTURE_NAMES, *TRAINING_NAMES)
    if name not in valid:
        raise ValueError(f"Unknown hyperparameter: {name!r}. Valid names: {', '.join(valid)}")


def _normalise(name: str, value: Any) -> Any:
    # keras-tuner values cannot be None: the plain encoder-decoder is "none".
    if name == "attention" and value is None:
        return "none"
    return value


def _parse_fixed(name: str, value: Any, where: str) -> Hyperparameter:
    value = _normalise(name, value)
    if not isinstance(value, (bool, int, float, str)):
        raise ValueError(f"{where}[{name!r}] must be a bool, number or string. Received: {value!r}")
    return Hyperparameter(name, "fixed", values=(value,))


def _parse_entry(name: str, spec: Any, where: str) -> Hyperparameter:
    if isinstance(spec, (list, tuple)):
        return _parse_list(name, list(spec), where)
    if isinstance(spec, Mapping):
        return _parse_range(name, dict(spec), where)
    return _parse_fixed(name, spec, where)


def _parse_list(name: str, values: list, where: str) -> Hyperparameter:
    if not values:
        raise ValueError(
            f"{where}[{name!r}] is an empty list: give at least one value "
            f"({name}: {HYPERPARAMETERS[name]})"
        )
    values = [_normalise(name, value) for value in values]
    unique = []
    for value in values:
        if not any(value == seen and type(value) is type(seen) for seen in unique):
            unique.append(value)
    for value in unique:
        if not isinstance(value, (bool, int, float, str)):
            raise ValueError(
                f"{where}[{name!r}] holds {value!r}: values must be bools, numbers or strings"
            )
    if len(unique) == 1:
        return Hyperparameter(name, "fixed", values=(unique[0],))
    if all(isinstance(value, bool) for value in unique):
        return Hyperparameter(name, "boolean", values=(unique[0],))
    if any(isinstance(value, bool) for value in unique) or (
        any(isinstance(value, str) for value in unique)
        and not all(isinstance(value, str) for value in unique)
    ):
        raise ValueError(
            f"{where}[{name!r}] mixes types: {unique!r}. A choice holds values of one type"
        )
    if any(isinstance(value, float) for value in unique):
        unique = [float(value) for value in unique]  # keras-tuner wants one type
    return Hyperparameter(name, "choice", values=tuple(unique))


def _parse_range(name: str, spec: dict, where: str) -> Hyperparameter:
    unknown = sorted(set(spec) - set(RANGE_KEYS))
    if unknown:
        raise ValueError(
            f"{where}[{name!r}] has unknown key(s) {', '.join(map(repr, unknown))}. "
            f"A range has keys {', '.join(map(repr, RANGE_KEYS))}"
        )
    for key in ("min", "max"):
        if key not in spec:
            raise ValueError(f"{where}[{name!r}] is a range without {key!r}: {spec!r}")
    for key in ("min", "max", "step"):
        value = spec.get(key)
        if key == "step" and value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{where}[{name!r}][{key!r}] must be a number. Received: {value!r}")
        if not math.isfinite(value):
            raise ValueError(f"{where}[{name!r}][{key!r}] must be finite. Received: {value!r}")
    low, high, step = spec["min"], spec["max"], spec.get("step")
    if low > high:
        raise ValueError(f"{where}[{name!r}]: min ({low!r}) is greater than max ({high!r})")
    if step is not None and step <= 0:
        raise ValueError(f"{where}[{name!r}]: step must be positive. Received: {step!r}")
    sampling = spec.get("sampling", "linear")
    if sampling not in SAMPLINGS:
        raise ValueError(
            f"{where}[{name!r}]: unknown sampling {sampling!r}. "
            f"Valid options: {', '.join(map(repr, SAMPLINGS))}"
        )
    if sampling != "linear" and low <= 0:
        raise ValueError(
            f"{where}[{name!r}]: sampling={sampling!r} needs min > 0. Received: min={low!r}"
        )
    integral = all(isinstance(v, int) for v in (low, high, step) if v is not None)
    if integral:
        if step is None and sampling == "linear":
            step = 1
        return Hyperparameter(
            name, "int", min_value=low, max_value=high, step=step, sampling=sampling
        )
    return Hyperparameter(
        name,
        "float",
        min_value=float(low),
        max_value=float(high),
        step=None if step is None else float(step),
        sampling=sampling,
    )


def _check_values(entry: Hyperparameter) -> None:
    """Each candidate value alone must make a valid model or training option."""
    name = entry.name
    for value in entry.candidates():
        if name in ARCHITECTURE_NAMES:
            if name == "attention" and value == "none":
                value = None
            try:
                Seq2SeqConfig(**{**_NEUTRAL, name: value})
            except ValueError as error:
                raise ValueError(f"Invalid search space for {name!r}: {error}") from None
        elif name == "batch_size":
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(
                    f"Invalid search space for 'batch_size': it must be a positive integer. "
                    f"Received: {value!r}"
                )
        else:
            upper = math.inf if name == "learning_rate" else 1.0
            lower_ok = value > 0 if name == "learning_rate" else value >= 0
            if isinstance(value, (bool, str)) or not (lower_ok and value < upper):
                expected = "a number > 0" if name == "learning_rate" else "a number in [0, 1)"
                raise ValueError(
                    f"Invalid search space for {name!r}: it must be {expected}. Received: {value!r}"
                )


def _check_with_keras_tuner(entry: Hyperparameter) -> None:
    try:
        entry.declare(keras_tuner.HyperParameters())
    except (TypeError, ValueError) as error:
        raise ValueError(f"Invalid search space for {entry.name!r}: {error}") from None


def _check_combinations(parsed: dict[str, Hyperparameter], config: Seq2SeqConfig) -> None:
    """Options that are valid alone but not together."""

    def possible(name: str) -> tuple:
        entry = parsed.get(name)
        if entry is None:  # not tuned: the value of the base config
            return (_normalise(name, getattr(config, name)),)
        return entry.candidates()

    def may_be(name: str, value: Any) -> bool:
        entry = parsed.get(name)
        if entry is None:
            return possible(name)[0] == value
        return entry.may_be(value)

    if may_be("bidirectional", True):
        units = parsed.get("units")
        odd = [value for value in possible("units") if value % 2]
        if units is not None and units.kind == "int" and not odd:
            # Linear steps add `step`, log steps multiply by it; no step: any integer.
            if units.step is None:
                reachable = range(units.min_value, units.max_value + 1)
            elif units.sampling == "linear":
                reachable = range(units.min_value, units.max_value + 1, units.step)
            else:
                reachable = ()
            odd = [value for value in reachable if value % 2][:1]
        if odd:
            raise ValueError(
                "Invalid search space for 'units': bidirectional=True needs even units "
                f"(each direction gets units // 2). Odd values: {odd!r}; make them even or "
                "fix bidirectional to False"
            )
    if may_be("attention", "none") and may_be("bridge", "none"):
        raise ValueError(
            "Invalid search space for 'bridge': bridge='none' with attention=None leaves the "
            "decoder no view of the source. Drop 'none' from one of them"
        )
    if possible("attention") == ("none",) and possible("input_feeding") == (True,):
        raise ValueError(
            "Invalid search space for 'input_feeding': input_feeding=True needs an attention, "
            "but attention is fixed to None"
        )
    if may_be("tie_embeddings", True):
        sizes = possible("embedding_dim"), possible("units")
        if len(sizes[0]) != 1 or sizes[0] != sizes[1]:
            raise ValueError(
                "Invalid search space for 'tie_embeddings': tie_embeddings=True needs "
                "embedding_dim == units; fix both to the same value or fix tie_embeddings "
                "to False"
            )
