"""Derivations graded step by step, USAAIO style: a :class:`MultipartDrill` of numeric steps.

A derivation asks for the value of each intermediate quantity, ``{step key: number}``; each
step earns its own points (partial credit), and after an attempt
:func:`vae_course.drills.review.review` shows the rubric of every step and the worked
solution with the learner's numbers.

``TOLERANCE`` makes answers rounded to 4 decimals pass and answers rounded to 3 fail: it is
absolute below 1 and relative above (:func:`~vae_course.drills.numeric.close_enough`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .multipart import MultipartDrill, NumericPart

TOLERANCE = 1e-4
NATS_4 = "in nats, rounded to 4 decimals, e.g. 1.2345"


def Step(  # noqa: N802 - reads as a declaration in the catalogue, like the parts it builds
    key: str,
    description: str,
    value: Callable[[dict[str, Any]], float],
    points: float,
    rubric: str,
    *,
    tolerance: float = TOLERANCE,
) -> NumericPart:
    """One step: its answer key, what to compute, its value for the question, points, rubric."""
    return NumericPart(key, points, value, description, tolerance=tolerance, rubric=rubric)


def derivation(*, steps: tuple[NumericPart, ...], **fields: Any) -> MultipartDrill:
    """A derivation drill: ``steps`` are its parts; the other fields as for MultipartDrill
    (``make_params``, ``describe`` and ``worked`` are required)."""
    for needed in ("make_params", "describe", "worked"):
        if fields.get(needed) is None:
            raise ValueError(f"a derivation needs {needed}")
    fields.setdefault("normal_form", NATS_4)
    return MultipartDrill(parts=steps, review_hint=True, **fields)


__all__ = ["NATS_4", "TOLERANCE", "Step", "derivation"]
