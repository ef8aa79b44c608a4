"""Multipart drills: one answer dict, one entry per part, each part scored on its own.

A :class:`MultipartDrill` is the one combinator of the course: a derivation graded step by
step, "why does it work" plus two derivatives, a diagnosis read off a training history
("count, diagnose, choose the fixes") are all declarations of parts. Each part is scored by
the rules of its kind:

* :class:`ChoicePart`: the choice kind's scoring (one option: all or nothing; several:
  partial credit), with options that may depend on the question's numbers, and optionally
  "none of them" as a valid answer;
* :class:`NumericPart`: the numeric kind's scoring (a tolerance, catalogued mistakes as
  data).

The parts share the question: a seeded drill draws its parameters once (``make_params``)
and every part reads them. ``notes(answer, params)`` adds remarks across parts (e.g. "your
own count contradicts your diagnosis"). An answer with no part answered is "not attempted";
a part left as ``...`` earns 0.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from . import display
from .answers import parse_letters, parse_number
from .choice import Option, options_text, score_choice
from .core import FAILED, NOT_ATTEMPTED, Drill, NotAttempted, Result
from .numeric import NumericMistake, close_enough, match_number_mistake
from .question import Question

Params = dict[str, Any]
_NONE_WORDS = ("", "none", "no fix", "nothing")


@dataclass(frozen=True)
class NumericPart:
    """One number: ``value(params)`` is the truth; ``description`` says what to compute.

    ``rubric`` is shown after an attempt (:mod:`vae_course.drills.review`); ``wrong`` is the
    message for a wrong number no catalogued mistake explains (``{key}``, ``{seed}``,
    ``{description}`` and ``{zero}``, "0/points", are filled in).
    """

    key: str
    points: float
    value: Callable[[Params], float]
    description: str = ""
    tolerance: float = 1e-3
    mistakes: tuple[NumericMistake, ...] = ()
    integer: bool = False
    rubric: str = ""
    wrong: str = (
        "`{key}`: not right ({zero}) for your question (seed {seed}). Re-derive: {description}"
    )

    def truth(self, params: Params) -> float:
        return float(self.value(params))

    def score(self, given: Any, params: Params, seed: int | None) -> tuple[float, list[str]]:
        """(points earned, feedback) for the learner's entry ``given``."""
        try:
            value, problem = parse_number(given, f"`{self.key}`")
        except NotAttempted:
            return 0.0, [f"`{self.key}`: not answered (0/{self.points:g})."]
        if problem or value is None:
            return 0.0, [f"{problem} (0/{self.points:g})"]
        if self.integer and not value.is_integer():
            return 0.0, [f"`{self.key}`: a count is a whole number (0/{self.points:g})."]
        truth = self.truth(params)
        if close_enough(value, truth, self.tolerance):
            return self.points, [f"`{self.key}`: right ({self.points:g}/{self.points:g})."]
        mistake = match_number_mistake(value, truth, params, self.mistakes, self.tolerance)
        if mistake is not None:
            return 0.0, [f"{mistake.message} (0/{self.points:g})"]
        text = self.wrong.format(
            key=self.key, seed=seed, description=self.description, zero=f"0/{self.points:g}"
        )
        return 0.0, [text]

    def prompt_line(self) -> str:
        return f"- `{self.key}` ({self.points:g} pt): {self.description}"


@dataclass(frozen=True)
class ChoicePart:
    """One or several letters among ``options`` (or ``options_for(params)``).

    With ``none_allowed`` an empty answer (``set()``, ``"none"``) means "none of these", the
    right answer when no option is correct for the question's numbers.
    """

    key: str
    points: float
    options: tuple[Option, ...] = ()
    options_for: Callable[[Params], tuple[Option, ...]] | None = None
    multiple: bool = False
    none_allowed: bool = False
    description: str = ""
    rubric: str = ""
    none_needed: str = "`{key}`: this question needs an answer; choose the options that apply."
    none_right: str = "`{key}`: right, none of the options applies."

    def choices(self, params: Params) -> tuple[Option, ...]:
        return self.options_for(params) if self.options_for is not None else self.options

    def score(self, given: Any, params: Params, seed: int | None) -> tuple[float, list[str]]:
        """(points earned, feedback) for the learner's entry ``given``."""
        options = self.choices(params)
        if self.none_allowed and _means_none(given):
            if any(o.correct for o in options):
                return 0.0, [self.none_needed.format(key=self.key)]
            return self.points, [self.none_right.format(key=self.key)]
        chosen, problem = parse_letters(given, len(options))
        if problem:
            return 0.0, [f"`{self.key}`: {problem}"]
        if self.none_allowed and not any(o.correct for o in options):
            return 0.0, [
                f"`{self.key}`: none of the options applies here (give set()); "
                f"({', '.join(sorted(chosen))}) does not."
            ]
        return score_choice(
            options, chosen, self.points, multiple=self.multiple, label=f"`{self.key}`"
        )

    def prompt_line(self) -> str:
        return f"- `{self.key}` ({self.points:g} pt): {self.description}"


Part = NumericPart | ChoicePart


def _means_none(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip().lower() in _NONE_WORDS
    return isinstance(value, set | frozenset | list | tuple) and len(value) == 0


def _unanswered(value: Any) -> bool:
    return value is Ellipsis or (
        isinstance(value, set | frozenset | list | tuple) and Ellipsis in value
    )


@dataclass(eq=False, kw_only=True)
class MultipartDrill(Drill):
    """A dict answer ``{part key: entry}``; ``max_score`` is the sum of the parts' points.

    ``make_params(rng)`` (optional) draws the question shared by the parts; ``describe(params)``
    words it; ``tables(params)`` adds tables to the question; ``notes(answer, params)`` adds
    remarks across parts; ``prompt_extra`` is shown in the prompt (e.g. the options of the
    choice parts). With ``bare_part`` an answer that is not a dict is read as that part's
    entry (the other parts unanswered), so a bare number earns that part and the feedback
    asks for the rest.
    """

    kind: ClassVar[str] = "multipart"

    parts: tuple[Part, ...]
    make_params: Callable[[random.Random], Params] | None = None
    describe: Callable[[Params], str] | None = None
    tables: Callable[[Params], list[display.Table]] | None = None
    notes: Callable[[dict, Params], list[str]] | None = None
    worked: Callable[[Params], str] | None = None
    normal_form: str = "numbers rounded to 4 decimals"
    prompt_extra: str = ""
    review_hint: bool = False
    fixed_params: tuple[tuple[str, Any], ...] = field(default=())
    bare_part: str | None = None

    def __post_init__(self) -> None:
        keys = [p.key for p in self.parts]
        if len(set(keys)) != len(keys):
            raise ValueError(f"{self.id}: two parts share a key")
        if self.bare_part is not None and self.bare_part not in keys:
            raise ValueError(f"{self.id}: bare_part {self.bare_part!r} is not a part's key")
        self.max_score = float(sum(p.points for p in self.parts))

    @property
    def seeded(self) -> bool:  # type: ignore[override]
        return self.make_params is not None

    def params_for(self, seed: int | None) -> Params:
        """The question's parameters for ``seed`` (the fixed ones for an unseeded drill)."""
        if self.make_params is None:
            return dict(self.fixed_params)
        return self.make_params(random.Random(seed if seed is not None else 0))

    def keys_text(self) -> str:
        return ", ".join(repr(p.key) for p in self.parts)

    def steps_text(self) -> str:
        """One line per part: key, points, what to give."""
        return "\n".join(p.prompt_line() for p in self.parts)

    def question(self, seed: int) -> Question:
        if self.make_params is None:
            return super().question(seed)
        params = self.params_for(seed)
        public = {k: v for k, v in params.items() if not k.startswith("_")}
        text = self.describe(params) if self.describe else ""
        text += (
            f"\n\nAnswer with a dict bound to `{self.answer_name}`, one entry per part:\n"
            f"{self.steps_text()}"
        )
        if self.prompt_extra:
            text += f"\n\n{self.prompt_extra}"
        tables = self.tables(params) if self.tables else []
        return Question(self.id, seed, public, text.strip(), tables)

    def full_prompt(self) -> str:
        text = (
            f"{self.prompt}\n\nAnswer: a dict with one entry per part; each part earns its "
            f"points:\n{self.steps_text()}"
        )
        if self.prompt_extra:
            text += f"\n\n{self.prompt_extra}"
        if self.seeded:
            text += f"\n\nYour numbers: `q = drills.question({self.id!r})`."
        return text + self.binding_line()

    def part_scores(self, answer: Any, seed: int | None) -> list[tuple[Part, float, list[str]]]:
        """(part, points earned, feedback) for every part; unanswered parts earn 0."""
        params = self.params_for(seed)
        rows = []
        for part in self.parts:
            given = answer.get(part.key, Ellipsis) if isinstance(answer, dict) else Ellipsis
            if _unanswered(given):
                rows.append((part, 0.0, [f"`{part.key}`: not answered (0/{part.points:g})."]))
                continue
            points, feedback = part.score(given, params, seed)
            rows.append((part, points, feedback))
        return rows

    def judge(self, answer: Any, seed: int | None) -> Result:
        if self.bare_part is not None and not isinstance(answer, dict):
            answer = {self.bare_part: answer}
        if not isinstance(answer, dict):
            return self.result(
                FAILED,
                0,
                [f"Answer with a dict with the keys {self.keys_text()} (one entry each)."],
            )
        rows = self.part_scores(answer, seed)
        answered = [p for p in self.parts if not _unanswered(answer.get(p.key, Ellipsis))]
        feedback = [line for _, _, lines in rows for line in lines]
        if not answered:
            return self.result(NOT_ATTEMPTED, 0, [*feedback, "No part answered yet."])
        if self.notes is not None:
            feedback += self.notes(answer, self.params_for(seed))
        if self.review_hint:
            feedback.append(
                f"After your attempt, `drills.review({self.id!r}, answer)` shows the rubric."
            )
        return self.graded(sum(points for _, points, _ in rows), feedback)

    def worked_solution(self, seed: int) -> str:
        """The worked solution with the numbers of ``seed``, then every step's value."""
        params = self.params_for(seed)
        text = self.worked(params) if self.worked is not None else self.solution
        values = ", ".join(f"{k} = {v:.4f}" for k, v in self.step_values(seed).items())
        return f"{text}\n\nStep values ({self.normal_form}): {values}" if values else text

    def step_values(self, seed: int | None) -> dict[str, float]:
        """{numeric part key: true value} for ``seed`` (an answer key for teachers and tests)."""
        params = self.params_for(seed)
        return {p.key: p.truth(params) for p in self.parts if isinstance(p, NumericPart)}


def choice_lines(title: str, options: tuple[Option, ...]) -> str:
    """A titled block of lettered options, for ``prompt_extra``."""
    return f"{title}:\n{options_text(options)}"


__all__ = ["ChoicePart", "MultipartDrill", "NumericPart", "Part", "choice_lines"]
