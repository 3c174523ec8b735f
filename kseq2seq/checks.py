"""The argument checks that the package's public functions share.

Messages in Keras's style (``"units must be a positive integer. Received: units=0"``); every
check raises ``ValueError``, wrong type included, as Keras's layers do.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np


def check_number(name, value, low=None, high=None, integer=False, low_open=False, none=False):
    """Raises ValueError naming `name` unless `value` is a number in range
    (`low` < or <= value <= `high`), an integer if asked, or None if allowed."""
    if value is None and none:
        return
    kind = numbers.Integral if integer else numbers.Real
    valid = isinstance(value, kind) and not isinstance(value, bool)
    valid = valid and (integer or math.isfinite(value))
    valid = valid and (low is None or (value > low if low_open else value >= low))
    if not (valid and (high is None or value <= high)):
        if integer and low == 1 and high is None:
            what = "a positive integer"
        else:
            bounds = [f"{'>' if low_open else '>='} {low}"] if low is not None else []
            bounds += [f"<= {high}"] if high is not None else []
            what = " ".join(["an integer" if integer else "a finite number", *bounds])
        raise ValueError(
            f"{name} must be {what}{' or None' if none else ''}. Received: {name}={value!r}"
        )


def check_int(name: str, value: Any, minimum: int = 1, optional: bool = False) -> int | None:
    """Returns `value` as an int after checking it is an integer (not a bool) >= `minimum`,
    or None if `optional`."""
    check_number(name, value, low=minimum, integer=True, none=optional)
    return None if value is None else int(value)


def check_fraction(name: str, value: Any, closed: bool = False) -> float:
    """Checks that `value` is a real number in [0, 1) (or [0, 1] when `closed`)."""
    if (
        isinstance(value, (bool, np.bool_))
        or not isinstance(value, (int, float, np.integer, np.floating))
        or not (0.0 <= value <= 1.0 if closed else 0.0 <= value < 1.0)
    ):
        interval = "[0, 1]" if closed else "[0, 1)"
        raise ValueError(f"{name} must be a number in {interval}. Received: {name}={value!r}")
    return float(value)


def check_bool(name: str, value: Any) -> bool:
    """Checks that `value` is a bool (not merely truthy)."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False. Received: {name}={value!r}")
    return bool(value)


def check_choice(name: str, value: Any, choices) -> Any:
    """Checks that `value` is one of `choices`."""
    if value not in tuple(choices):
        shown = ", ".join(repr(choice) for choice in choices)
        raise ValueError(f"Unknown {name}: {value!r}. Valid options: {shown}")
    return value
