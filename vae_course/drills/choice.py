"""Choice drills: options that carry their own explanations.

Single answer: all or nothing. Several correct options: partial credit
``max(0, right - wrong) / n_correct``; the feedback explains every option chosen wrongly
and says how many correct options are missing, never which.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from .answers import letters_of, parse_letters
from .core import FAILED, Drill, Result


@dataclass(frozen=True)
class Option:
    """One option: its text, whether it is correct, and why (shown in feedback)."""

    text: str
    correct: bool
    explanation: str


def options_text(options: tuple[Option, ...]) -> str:
    """'- (a) text' lines."""
    return "\n".join(
        f"- ({letter}) {o.text}"
        for letter, o in zip(letters_of(len(options)), options, strict=True)
    )


def score_choice(
    options: tuple[Option, ...], chosen: set[str], points: float, *, multiple: bool, label: str = ""
) -> tuple[float, list[str]]:
    """(points earned, feedback) for the letters ``chosen``; see the module docstring."""
    letters = letters_of(len(options))
    correct = {letter for letter, o in zip(letters, options, strict=True) if o.correct}
    prefix = f"{label}: " if label else ""
    by_letter = dict(zip(letters, options, strict=True))
    if not multiple:
        if len(chosen) != 1:
            return 0.0, [f"{prefix}choose exactly one option (you gave {len(chosen)})."]
        (letter,) = chosen
        option = by_letter[letter]
        verdict = "right" if option.correct else "not right"
        return (points if option.correct else 0.0), [
            f"{prefix}({letter}) is {verdict}: {option.explanation}"
        ]
    hits, wrong, missed = chosen & correct, chosen - correct, correct - chosen
    score = points * max(0, len(hits) - len(wrong)) / max(len(correct), 1)
    feedback = [f"{prefix}({c}) is not right: {by_letter[c].explanation}" for c in sorted(wrong)]
    if not wrong and not missed:
        feedback += [f"{prefix}({c}) is right: {by_letter[c].explanation}" for c in sorted(hits)]
    else:
        if hits:
            feedback.append(f"{prefix}{len(hits)} of your choices are right.")
        if missed:
            feedback.append(
                f"{prefix}{len(missed)} correct option(s) are missing from your answer."
            )
    return score, feedback


@dataclass(eq=False, kw_only=True)
class ChoiceDrill(Drill):
    """Pick the correct option(s) among ``options`` (letters a, b, c...)."""

    kind: ClassVar[str] = "choice"

    options: tuple[Option, ...]
    multiple: bool = False

    def full_prompt(self) -> str:
        how = (
            "Several options may be correct: give all the letters you think are right, "
            "e.g. {'a', 'c'}."
            if self.multiple
            else "Exactly one option is correct: give its letter, e.g. 'b'."
        )
        return f"{self.prompt}\n\n{options_text(self.options)}\n\n{how}{self.binding_line()}"

    def judge(self, answer: Any, seed: int | None) -> Result:
        chosen, problem = parse_letters(answer, len(self.options))
        if problem:
            return self.result(FAILED, 0, [problem])
        score, feedback = score_choice(self.options, chosen, self.max_score, multiple=self.multiple)
        return self.graded(score, feedback)
