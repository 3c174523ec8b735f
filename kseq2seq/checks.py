"""The argument checks that the package's public functions share.

One message shape everywhere, in Keras's style: ``"units must be a positive integer.
Received: units=0"``. Every check raises ``ValueError`` (as Keras's own layers do for a bad
argument, wrong type included), so that a caller catches one exception type.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def check_int(name: str, value: Any, minimum: int = 1, optional: bool = False) -> int | None:
    """Checks that `value` is an integer (a bool is not) of at least `minimum`.

    Args:
        name: the argument's name, for the message.
        value: the value given.
        minimum: the smallest value allowed.
        optional: whether `None` is allowed too.

    Returns:
        `value` as a Python int, or None.

    Raises:
        ValueError: `value` is not such an integer.
    """
    if value is None and optional:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or (
        value < minimum
    ):
        wanted = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        if optional:
            wanted += " or None"
        raise ValueError(f"{name} must be {wanted}. Received: {name}={value!r}")
    return int(value)


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
