"""Builders for the parts of the olympiad problems (chapters 10 and 11): 5 points each.

A part is an ordinary drill: a number computed by hand (:func:`hand_number`), five options
(:func:`five_options`), an implementation (an existing drill re-declared with the part's
id, name and bans, :func:`code_part`), or measurements with a conclusion checked against
them (:func:`measured`, :class:`Field`). The bans every code part of a problem carries are
:data:`PART_BANS` plus whatever the part adds.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .. import bans as banned
from ..choice import ChoiceDrill, Option
from ..code_drill import CodeDrill
from ..experiment import Claim, ExperimentDrill, read_number
from ..numeric import NumericDrill, NumericMistake

POINTS = 5.0
PART_BANS = ("vae_course", "imports")
NORMAL_FORM = "rounded to 4 decimals"


def hand_number(
    drill_id: str,
    chapter: str,
    title: str,
    prompt: str,
    value: float,
    solution: str,
    hints: tuple[str, ...],
    mistakes: tuple[tuple[str, float, str], ...] = (),
    *,
    answer_name: str,
    tolerance: float = 1e-4,
) -> NumericDrill:
    """A part answered by one number worked out by hand (fixed numbers, a normal form)."""
    return NumericDrill(
        id=drill_id,
        chapter=chapter,
        title=title,
        answer_name=answer_name,
        max_score=POINTS,
        prompt=f"{prompt} Give it {NORMAL_FORM}, bound to `{answer_name}`.",
        hints=hints,
        solution=solution,
        answer=lambda p, value=value: value,
        tolerance=tolerance,
        normal_form=NORMAL_FORM,
        mistakes=tuple(
            NumericMistake(key, lambda p, wrong=wrong: wrong, message)
            for key, wrong, message in mistakes
        ),
    )


def five_options(
    drill_id: str,
    chapter: str,
    title: str,
    prompt: str,
    options: tuple[Option, ...],
    solution: str,
    hints: tuple[str, ...],
    *,
    answer_name: str,
) -> ChoiceDrill:
    """Multiple choice, USAAIO style: five options, one right, all or nothing."""
    if len(options) != 5 or sum(o.correct for o in options) != 1:
        raise ValueError(f"{drill_id}: five options, exactly one right")
    return ChoiceDrill(
        id=drill_id,
        chapter=chapter,
        title=title,
        answer_name=answer_name,
        max_score=POINTS,
        prompt=prompt,
        hints=hints,
        solution=solution,
        options=options,
    )


def code_part(
    base: CodeDrill,
    drill_id: str,
    chapter: str,
    answer_name: str,
    *,
    bans: tuple[str, ...],
    allowed_modules: tuple[str, ...],
    title: str = "",
    prompt: str = "",
    **changes: Any,
) -> CodeDrill:
    """``base`` (a drill of the course or the pool) as a part: its own id and name, 5 points,
    the problem's bans and fixed modules, the prompt rewritten for the new name."""
    old = base.answer_name
    text = (prompt or base.prompt).replace(f"`{old}(", f"`{answer_name}(")
    text = text.replace(f"`{old}`", f"`{answer_name}`")
    ban_words = {
        "loops": "no Python loops or comprehensions",
        "distributions": "no `torch.distributions`",
    }
    extra = [ban_words[b] for b in bans if b in ban_words]
    rules = "only the fixed imports, no `vae_course`" + "".join(f", {w}" for w in extra)
    all_bans = tuple(dict.fromkeys((*PART_BANS, *bans)))
    # a catalogued mistake written with a banned construct is the ban's to report
    mistakes = tuple(
        m
        for m in base.mistakes
        if not banned.find(banned.answer_source(m.implementation), all_bans, allowed_modules)
    )
    return dataclasses.replace(
        base,
        id=drill_id,
        chapter=chapter,
        answer_name=answer_name,
        title=title or base.title,
        prompt=f"{text}\n\nRules of this part: {rules}.",
        max_score=POINTS,
        bans=all_bans,
        allowed_modules=allowed_modules,
        mistakes=mistakes,
        solution=base.solution.replace(f"def {old}(", f"def {answer_name}(").replace(
            f"class {old}(", f"class {answer_name}("
        ),
        **changes,
    )


@dataclass(frozen=True)
class Field:
    """One measurement a part asks for: its key, ``"number"``, ``"count"`` or ``"numbers"``
    (a list), and a check ``sane(value) -> message or None``."""

    key: str
    kind: str = "number"
    sane: Callable[[Any], str | None] | None = None


def _read_field(entry: dict, spec: Field, where: str) -> tuple[Any, str | None]:
    if spec.kind == "numbers":
        values = entry.get(spec.key) if isinstance(entry, dict) else None
        if not isinstance(values, list | tuple) or not values:
            return None, f"{where}[{spec.key!r}] must be a non-empty list of numbers."
        out = []
        for i, item in enumerate(values):
            value, problem = read_number({"v": item}, "v", f"{where}[{spec.key!r}][{i}]")
            if problem:
                return None, problem
            out.append(value)
        return out, None
    return read_number(entry, spec.key, where, integer=spec.kind == "count")


def reader(
    fields: tuple[Field, ...],
    groups: tuple[str, ...] = (),
    check: Callable[[dict], list[str]] | None = None,
) -> Callable[[Any], tuple[dict, list[str]]]:
    """A ``read`` for :class:`ExperimentDrill`: the fields (in each of ``groups`` when given,
    e.g. one per β), their sanity, then ``check(data)`` across fields."""

    def read(measurements: Any) -> tuple[dict, list[str]]:
        if not isinstance(measurements, dict):
            return {}, ["'measurements' must be a dict (see the part's prompt)."]
        problems: list[str] = []

        def row(entry: Any, where: str) -> dict:
            out: dict = {}
            for spec in fields:
                value, problem = _read_field(entry, spec, where)
                if problem:
                    problems.append(problem)
                    continue
                message = spec.sane(value) if spec.sane else None
                if message:
                    problems.append(f"{where}[{spec.key!r}]: {message}")
                out[spec.key] = value
            return out

        if groups:
            data = {}
            for group in groups:
                entry = measurements.get(group)
                if not isinstance(entry, dict):
                    problems.append(f"measurements has no {group!r} entry (a dict).")
                    continue
                data[group] = row(entry, f"measurements[{group!r}]")
        else:
            data = row(measurements, "measurements")
        if not problems and check is not None:
            problems += check(data)
        return data, problems

    return read


def non_negative(value: Any) -> str | None:
    """Sanity: a KL, a rate or a count is never negative."""
    values = value if isinstance(value, list) else [value]
    return "must not be negative." if any(v < 0 for v in values) else None


def positive(value: Any) -> str | None:
    """Sanity: a negative log-likelihood of images (a distortion) is positive."""
    values = value if isinstance(value, list) else [value]
    return "must be positive." if any(v <= 0 for v in values) else None


def close(a: float, b: float, rel: float = 1e-3) -> bool:
    """a ≈ b up to ``rel`` (relative, with an absolute floor of ``rel``)."""
    return math.isclose(a, b, rel_tol=rel, abs_tol=rel)


def either(
    yes: str,
    no: str,
    holds: Callable[[Any], bool],
    evidence: Callable[[Any], str],
    group: str,
) -> tuple[Claim, Claim]:
    """Two claims, a statement and its negation, of which the learner chooses the one their
    numbers support (a conclusion is never empty)."""
    return (
        Claim(yes, holds, evidence, group=group),
        Claim(no, lambda d: not holds(d), evidence, group=group),
    )


def measured(
    drill_id: str,
    chapter: str,
    title: str,
    prompt: str,
    read: Callable[[Any], tuple[dict, list[str]]],
    claims: tuple[Claim, ...],
    solution: str,
    hints: tuple[str, ...],
    *,
    answer_name: str,
) -> ExperimentDrill:
    """Your measurements and the conclusion they support (checked against your own numbers)."""
    return ExperimentDrill(
        id=drill_id,
        chapter=chapter,
        title=title,
        answer_name=answer_name,
        max_score=POINTS,
        prompt=(
            f"{prompt}\n\nAnswer with `{answer_name} = {{'measurements': {{...}}, "
            "'conclusion': {...}}`: the conclusion is the set of letters of every statement "
            "your own numbers support (exactly one of each group). Sane numbers earn 1 point, "
            "the conclusion the other 4."
        ),
        hints=hints,
        solution=solution,
        claims=claims,
        read=read,
    )


__all__ = [
    "PART_BANS",
    "POINTS",
    "Claim",
    "Field",
    "Option",
    "close",
    "code_part",
    "either",
    "five_options",
    "hand_number",
    "measured",
    "non_negative",
    "positive",
    "reader",
]
