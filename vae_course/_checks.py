"""Argument validation shared by the whole package: one wording for every bad argument.

Each function returns the value converted to a plain Python type, or raises ``ValueError``
with a message that names the argument, says what it must be and shows what it got::

    latent_dim = positive_int(latent_dim, "latent_dim")   # 0 -> "latent_dim must be a positive integer, got 0"
    lr = finite_number(lr, "lr", minimum=0, strict=True)  # nan -> "lr must be a finite number, got nan"

``bool`` is rejected wherever a number is expected (``True`` is an ``int`` in Python, but
``epochs=True`` is always a mistake).
"""

from __future__ import annotations

import math
from numbers import Integral, Real


def integer(value: object, name: str, *, minimum: int | None = None) -> int:
    """``value`` as an ``int``; ValueError unless it is an integer (not a bool) >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise ValueError(f"{name} must be an integer, got {value!r:.80}")
    if minimum is not None and value < minimum:
        if minimum == 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if minimum == 0:
            raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def positive_int(value: object, name: str) -> int:
    """``value`` as an ``int`` >= 1 (e.g. ``latent_dim``, ``epochs``, ``batch_size``)."""
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r:.80}")
    return int(value)


def finite_number(
    value: object,
    name: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    strict: bool = False,
) -> float:
    """``value`` as a finite ``float`` within [minimum, maximum].

    ``strict=True`` excludes the bounds themselves (``minimum=0, strict=True``: positive).
    """
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r:.80}")
    number = float(value)
    if minimum is not None and (number < minimum or (strict and number == minimum)):
        if minimum == 0 and strict:
            raise ValueError(f"{name} must be a positive number, got {value!r}")
        relation = ">" if strict else ">="
        raise ValueError(f"{name} must be {relation} {minimum:g}, got {number:g}")
    if maximum is not None and (number > maximum or (strict and number == maximum)):
        relation = "<" if strict else "<="
        raise ValueError(f"{name} must be {relation} {maximum:g}, got {number:g}")
    return number


def positive_number(value: object, name: str) -> float:
    """``value`` as a finite ``float`` > 0 (e.g. a learning rate or a time limit)."""
    return finite_number(value, name, minimum=0.0, strict=True)


__all__ = ["finite_number", "integer", "positive_int", "positive_number"]
