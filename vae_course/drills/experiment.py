"""Experiment drills: the learner's own measurements, checked against their conclusion.

The answer is ``{"measurements": ..., "conclusion": <letters>}``. The checker

1. reads the measurements and checks they are *sane* (finite, KL >= 0, active units
   between 0 and the latent size, ...): ``sanity_points``; insane numbers fail the drill;
2. checks every claim against the learner's numbers: a claim chosen must be supported by
   them, and a supported claim must be chosen. Claims in the same ``group`` are
   alternatives (e.g. "which size reconstructs best"): exactly one must be chosen, the one
   the numbers support.

There is no hidden answer: two learners with different numbers can both pass with
different conclusions, as long as each conclusion follows from their own measurements.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from .answers import letters_of, parse_letters, parse_number
from .core import FAILED, Drill, NotAttempted, Result


@dataclass(frozen=True)
class Claim:
    """A conclusion the learner may draw; ``holds(data)`` says whether their numbers support
    it and ``evidence(data)`` says in words what their numbers show."""

    text: str
    holds: Callable[[Any], bool]
    evidence: Callable[[Any], str]
    group: str = ""


def claims_text(claims: tuple[Claim, ...]) -> str:
    """'- (a) ...' lines."""
    return "\n".join(
        f"- ({letter}) {claim.text}"
        for letter, claim in zip(letters_of(len(claims)), claims, strict=True)
    )


def contains_ellipsis(value: Any) -> bool:
    """True when ``...`` appears anywhere in nested dicts/lists (an unfinished answer)."""
    if value is Ellipsis:
        return True
    if isinstance(value, dict):
        return any(contains_ellipsis(v) for v in value.values())
    if isinstance(value, list | tuple | set):
        return any(contains_ellipsis(v) for v in value)
    return False


def read_number(
    entry: Any, key: str, where: str, *, integer: bool = False
) -> tuple[float | None, str | None]:
    """``entry[key]`` as a finite number (an int when ``integer``), or a message."""
    if not isinstance(entry, dict) or key not in entry:
        return None, f"{where} has no {key!r} entry."
    value, problem = parse_number(entry[key], f"{where}[{key!r}]")
    if problem or value is None:
        return None, problem
    if integer and not value.is_integer():
        return None, f"{where}[{key!r}] is {value:g}; it is a count, give an int."
    return value, None


@dataclass(eq=False, kw_only=True)
class ExperimentDrill(Drill):
    """Measurements + conclusion letters; see the module docstring.

    ``read(measurements) -> (data, problems)`` parses and sanity-checks the numbers.
    """

    kind: ClassVar[str] = "experiment"

    claims: tuple[Claim, ...]
    read: Callable[[Any], tuple[Any, list[str]]]
    sanity_points: float = 1.0

    def full_prompt(self) -> str:
        return (
            f"{self.prompt}\n\nConclusion options (choose every one your numbers support):\n"
            f"{claims_text(self.claims)}"
        )

    def judge(self, answer: Any, seed: int | None) -> Result:
        if contains_ellipsis(answer):
            raise NotAttempted(
                "Exercise not attempted yet: fill in every `...` with your measurements and "
                "conclusion, then re-run this cell."
            )
        if not isinstance(answer, dict) or not {"measurements", "conclusion"} <= set(answer):
            return self.result(
                FAILED,
                0,
                [
                    "Give a dict with two keys: 'measurements' (your numbers) and 'conclusion' "
                    f"(option letters); see drills.prompt({self.id!r})."
                ],
            )
        data, problems = self.read(answer["measurements"])
        if problems:
            return self.result(FAILED, 0, ["Your measurements do not add up:", *problems[:4]])
        chosen, problem = parse_letters(answer["conclusion"], len(self.claims))
        if problem:
            return self.result(FAILED, 0, [problem])
        score, feedback = self.judge_claims(data, chosen)
        return self.graded(score, feedback)

    def judge_claims(self, data: Any, chosen: set[str]) -> tuple[float, list[str]]:
        """(score, feedback) for the conclusion letters ``chosen`` given the learner's data."""
        letters = letters_of(len(self.claims))
        units: list[list[tuple[str, Claim]]] = []
        groups: dict[str, list[tuple[str, Claim]]] = {}
        for letter, claim in zip(letters, self.claims, strict=True):
            if claim.group:
                if claim.group not in groups:
                    groups[claim.group] = []
                    units.append(groups[claim.group])
                groups[claim.group].append((letter, claim))
            else:
                units.append([(letter, claim)])
        each = (self.max_score - self.sanity_points) / len(units)
        score, feedback = self.sanity_points, ["Your measurements are sane."]
        for unit in units:
            if len(unit) > 1 or unit[0][1].group:
                picked = [(lt, c) for lt, c in unit if lt in chosen]
                names = "/".join(lt for lt, _ in unit)
                supported = [(lt, c) for lt, c in unit if c.holds(data)]
                if len(picked) != 1:
                    feedback.append(
                        f"Choose exactly one of ({names}) ({unit[0][1].group}); you chose "
                        f"{len(picked)}."
                    )
                elif picked[0][1].holds(data):
                    score += each
                    feedback.append(f"({picked[0][0]}) follows from your numbers.")
                else:
                    shown = supported[0][1].evidence(data) if supported else ""
                    feedback.append(f"({picked[0][0]}) does not follow from your numbers: {shown}")
                continue
            letter, claim = unit[0]
            holds, picked = claim.holds(data), letter in chosen
            if holds == picked:
                score += each
                feedback.append(
                    f"({letter}) {'follows' if holds else 'rightly left out'}: "
                    f"{claim.evidence(data)}"
                )
            elif picked:
                feedback.append(
                    f"({letter}) does not follow from your numbers: {claim.evidence(data)}"
                )
            else:
                feedback.append(
                    f"Your numbers support ({letter}), but it is not in your conclusion: "
                    f"{claim.evidence(data)}"
                )
        return score, feedback
