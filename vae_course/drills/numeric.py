"""Numeric drills: one number, a tolerance, optional seeded parameters, known mistakes.

A numeric mistake is data too: a function of the parameters giving the number that mistake
produces, and the message to show when the learner's number equals it. Feedback never
contains the expected number.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from .answers import parse_number
from .core import FAILED, Drill, Result
from .question import Question


@dataclass(frozen=True)
class NumericMistake:
    """A wrong computation: ``value(params)`` is what it gives; ``message`` explains it."""

    id: str
    value: Callable[[dict[str, Any]], float]
    message: str


def match_number_mistake(
    answer: float,
    truth: float,
    params: dict[str, Any],
    mistakes: tuple[NumericMistake, ...],
    tolerance: float,
) -> NumericMistake | None:
    """The first mistake whose value equals ``answer`` (and differs from the truth)."""
    for mistake in mistakes:
        try:
            wrong = float(mistake.value(params))
        except (ArithmeticError, ValueError):
            continue
        if abs(wrong - truth) > 2 * tolerance and abs(answer - wrong) <= tolerance:
            return mistake
    return None


def close_enough(answer: float, truth: float, tolerance: float) -> bool:
    """|answer - truth| <= tolerance (absolute) or <= tolerance * |truth| (relative)."""
    return abs(answer - truth) <= max(tolerance, tolerance * abs(truth))


@dataclass(eq=False, kw_only=True)
class NumericDrill(Drill):
    """Give one number. ``make_params(rng)`` (optional) draws the question's parameters;
    ``worked(params)`` (optional) writes the worked solution with those numbers."""

    kind: ClassVar[str] = "numeric"

    answer: Callable[[dict[str, Any]], float]
    make_params: Callable[[random.Random], dict[str, Any]] | None = None
    describe: Callable[[dict[str, Any]], str] | None = None
    fixed_params: tuple[tuple[str, Any], ...] = ()
    tolerance: float = 1e-3
    normal_form: str = "in nats, rounded to 4 decimals"
    mistakes: tuple[NumericMistake, ...] = ()
    sanity: Callable[[float, dict[str, Any]], str | None] | None = None
    worked: Callable[[dict[str, Any]], str] | None = None

    @property
    def seeded(self) -> bool:  # type: ignore[override]
        return self.make_params is not None

    def params_for(self, seed: int | None) -> dict[str, Any]:
        """The parameters for ``seed`` (the fixed ones for an unseeded drill)."""
        if self.make_params is None:
            return dict(self.fixed_params)
        return self.make_params(random.Random(seed if seed is not None else 0))

    def worked_solution(self, seed: int) -> str:
        """The worked solution with the numbers of ``seed`` (``worked``), then the answer."""
        params = self.params_for(seed)
        text = self.worked(params) if self.worked is not None else self.solution
        return f"{text}\n\nAnswer ({self.normal_form}): {float(self.answer(params)):.4f}"

    def question(self, seed: int) -> Question:
        if self.make_params is None:
            return super().question(seed)
        params = self.params_for(seed)
        text = self.describe(params) if self.describe else ""
        text += f"\n\nAnswer {self.normal_form}; bind it to `{self.answer_name}`."
        return Question(self.id, seed, params, text.strip())

    def full_prompt(self) -> str:
        extra = f"\n\nNormal form: {self.normal_form}."
        if self.seeded:
            extra += (
                f"\n\nYour numbers: `q = drills.question({self.id!r})` (add `seed=...` to "
                f"choose them); check with `drills.check({self.id!r}, {self.answer_name})`."
            )
        return self.prompt + extra

    def judge(self, answer: Any, seed: int | None) -> Result:
        value, problem = parse_number(answer)
        if problem:
            return self.result(FAILED, 0, [problem])
        params = self.params_for(seed)
        truth = float(self.answer(params))
        where = f" for the question with seed {seed}" if self.seeded else ""
        if close_enough(value, truth, self.tolerance):
            return self.result("passed", self.max_score, [f"Correct{where}."])
        feedback: list[str] = []
        mistake = match_number_mistake(value, truth, params, self.mistakes, self.tolerance)
        if mistake is not None:
            feedback.append(mistake.message)
        elif self.sanity is not None and (message := self.sanity(value, params)):
            feedback.append(message)
        elif close_enough(value, truth, 20 * self.tolerance):
            feedback.append(
                f"Close, but outside the tolerance: give the value {self.normal_form} "
                "(round only at the end)."
            )
        else:
            feedback.append(
                f"Not the right value{where}. Re-do the computation step by step "
                f"(drills.hint({self.id!r}) gives a hint)."
            )
        return self.result(FAILED, 0, feedback)
