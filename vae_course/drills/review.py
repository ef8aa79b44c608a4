"""After an attempt: the rubric, the worked solution with your numbers, and the answer key.

``drills.review(q, answer)`` (taught in 09_olympiad_practice) shows your score per step and
the worked solution for the numbers you were given; it is refused before an attempt and
during an exam. :func:`answer_key` gives teachers and tests the expected answer of any
seeded item.
"""

from __future__ import annotations

from typing import Any

from . import display, state
from .choice import ChoiceDrill
from .core import NOT_ATTEMPTED
from .multipart import MultipartDrill
from .numeric import NumericDrill
from .question import Question, check_seed
from .registry import get_drill


def worked_solution(drill_id: str, seed: int | None = None) -> str:
    """The worked solution of an item (with the numbers of ``seed`` for seeded items)."""
    drill = get_drill(drill_id)
    maker = getattr(drill, "worked_solution", None)
    if maker is not None and seed is not None and drill.seeded:
        return maker(check_seed(seed))
    if isinstance(drill, ChoiceDrill):
        right = [
            f"({chr(97 + i)}) {o.text}: {o.explanation}"
            for i, o in enumerate(drill.options)
            if o.correct
        ]
        return f"{drill.solution}\n\nRight option: {'; '.join(right)}"
    return drill.solution


def rubric_rows(drill: MultipartDrill, answer: Any, seed: int | None) -> list[list[object]]:
    """Rows (part, points earned / max, rubric) for ``answer``."""
    return [
        [part.key, f"{earned:g} / {part.points:g}", part.rubric]
        for part, earned, _ in drill.part_scores(answer, seed)
    ]


def review(drill_id: str | Question, answer: Any, seed: int | None = None) -> display.Message:
    """After an attempt: your score per step (the rubric) and the worked solution.

    ``drill_id`` is an item id or the :class:`Question` you answered (its seed is used).
    Refused during an exam and before an attempt (an ``answer`` that is ``...`` or has no
    step answered). Never raises for a bad answer.
    """
    if isinstance(drill_id, Question):
        seed = drill_id.seed if seed is None else seed
        drill_id = drill_id.drill_id
    drill = get_drill(drill_id)
    if state.in_exam():
        return display.Message(
            "refused",
            f"Review of {drill_id} withheld: exam in progress",
            "Rubrics and worked solutions come back when the exam is over.",
        )
    if drill.seeded and seed is None:
        seed = state.current_seeds().get(drill_id)
        if seed is None:
            return display.Message(
                "refused",
                f"Which question of {drill_id}?",
                f"Pass the question: `drills.review(q, answer)` with "
                f"`q = drills.question({drill_id!r}, seed=...)`.",
            )
    result = drill.check(answer, seed=seed)
    if result.status == NOT_ATTEMPTED:
        return display.Message(
            "refused",
            f"Attempt {drill_id} first",
            "The rubric and worked solution are shown after an attempt: answer, check, then "
            "review.",
        )
    bullets = [f"Your score: {result.score:g} / {result.max_score:g}."]
    if isinstance(drill, MultipartDrill) and isinstance(answer, dict):
        bullets += [
            f"{key}: {earned} — {rubric}"
            for key, earned, rubric in rubric_rows(drill, answer, seed)
        ]
    text = worked_solution(drill_id, seed)
    return display.Message("info", f"Review: {drill_id} ({drill.title})", text, bullets)


def answer_key(drill_id: str, seed: int) -> float | dict[str, float] | str:
    """The expected answer of an item for ``seed`` (for teachers, tests and answer keys)."""
    drill = get_drill(drill_id)
    if isinstance(drill, MultipartDrill):
        return drill.step_values(seed)
    if isinstance(drill, NumericDrill):
        return float(drill.answer(drill.params_for(seed)))
    if isinstance(drill, ChoiceDrill):
        return "".join(chr(97 + i) for i, o in enumerate(drill.options) if o.correct)
    raise ValueError(f"{drill_id!r} has no answer key (it is a {drill.kind} drill)")


__all__ = ["answer_key", "review", "rubric_rows", "worked_solution"]
