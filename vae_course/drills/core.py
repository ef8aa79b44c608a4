"""The two types every drill shares, :class:`Result` and :class:`Drill`, and the registry.

A drill is a small declarative object (id, chapter, prompt, hints, worked solution, a
checker). Its :meth:`Drill.check` turns any answer into a :class:`Result` and never
raises: a stub (``raise NotImplementedError``) or ``...`` gives "not attempted", anything
else that goes wrong gives a failing Result with a message.

The registry maps drill ids to drills. The course's own drills are defined as data in
:mod:`vae_course.drills.catalogue` and loaded on first use; :func:`register` adds more
(e.g. olympiad practice drills).
"""

from __future__ import annotations

import difflib
import importlib
from dataclasses import dataclass, field
from typing import Any, ClassVar

from . import display

PASSED = "passed"
FAILED = "failed"
PARTIAL = "partial"
NOT_ATTEMPTED = "not attempted"
STATUSES = (PASSED, FAILED, PARTIAL, NOT_ATTEMPTED)

NOT_ATTEMPTED_STUB = (
    "Exercise not attempted yet: write your code where it says NotImplementedError, "
    "then re-run this cell."
)
NOT_ATTEMPTED_VALUE = (
    "Exercise not attempted yet: replace the `...` with your answer, then re-run this cell."
)


class NotAttempted(Exception):
    """Raised inside a checker to answer "not attempted" (the learner's code is a stub)."""

    def __init__(self, message: str = NOT_ATTEMPTED_STUB) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class Result:
    """The verdict on one answer.

    ``status`` is one of "passed", "failed", "partial", "not attempted"; ``score`` lies in
    [0, max_score]; ``feedback`` is a list of sentences saying what is right or wrong
    (never the expected value). Renders as a coloured box in JupyterLab and as plain text
    elsewhere.
    """

    drill_id: str
    status: str
    score: float
    max_score: float
    feedback: list[str] = field(default_factory=list)
    title: str = ""

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")
        self.score = round(float(min(max(self.score, 0.0), self.max_score)), 2)

    @property
    def passed(self) -> bool:
        """True when every check passed (full score)."""
        return self.status == PASSED

    @property
    def attempted(self) -> bool:
        """False for a stub or ``...``."""
        return self.status != NOT_ATTEMPTED

    def headline(self) -> str:
        """``kl_divergence: passed (5/5)``."""
        return f"{self.drill_id}: {self.status} ({_fmt(self.score)}/{_fmt(self.max_score)})"

    def __str__(self) -> str:
        lines = [
            f"[{self.status.upper()}] {self.drill_id}  {_fmt(self.score)}/{_fmt(self.max_score)}"
        ]
        if self.title:
            lines[0] += f"  ({self.title})"
        lines += [f"  - {line}" for line in self.feedback]
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        heading = f"{self.drill_id}: {self.status} ({_fmt(self.score)}/{_fmt(self.max_score)})"
        if self.title:
            heading += f" · {self.title}"
        return display.box_html(self.status, heading, bullets=self.feedback)


def _fmt(value: float) -> str:
    return f"{value:g}"


@dataclass(eq=False, kw_only=True)
class Drill:
    """One drill: metadata, prompt, progressive hints, a worked solution and a checker.

    ``answer_name`` is the name the notebook binds the answer to (used by the grader);
    ``kind`` says how answers are checked. Subclasses implement :meth:`_check`.
    """

    kind: ClassVar[str] = "drill"
    seeded: ClassVar[bool] = False

    id: str
    chapter: str
    title: str
    answer_name: str
    prompt: str
    hints: tuple[str, ...]
    solution: str
    max_score: float = 5

    def check(self, answer: Any, *, seed: int | None = None) -> Result:
        """Check ``answer``; never raises. ``seed`` selects the random parameters of a seeded drill."""
        if answer is Ellipsis:
            return self.result(NOT_ATTEMPTED, 0, [NOT_ATTEMPTED_VALUE])
        try:
            return self._check(answer, seed)
        except NotAttempted as stub:
            return self.result(NOT_ATTEMPTED, 0, [stub.message])
        except Exception as error:  # a bug in the checker must not become a traceback
            return self.result(
                FAILED,
                0,
                [
                    "The checker could not judge this answer "
                    f"({type(error).__name__}: {str(error)[:200]}). Check that the answer "
                    "follows the contract in drills.prompt("
                    f"{self.id!r}); if it does, please report this to your teacher."
                ],
            )

    def _check(self, answer: Any, seed: int | None) -> Result:  # pragma: no cover - abstract
        raise NotImplementedError

    def result(self, status: str, score: float, feedback: list[str]) -> Result:
        """A :class:`Result` for this drill."""
        return Result(self.id, status, score, self.max_score, list(feedback), self.title)

    def graded(self, score: float, feedback: list[str]) -> Result:
        """Result whose status follows the score: full -> passed, 0 -> failed, else partial."""
        if score >= self.max_score - 1e-9:
            status = PASSED
        elif score <= 1e-9:
            status = FAILED
        else:
            status = PARTIAL
        return self.result(status, score, feedback)

    def question(self, seed: int) -> Any:
        """The seeded parameters (a :class:`~vae_course.drills.question.Question`), if any."""
        raise ValueError(f"drill {self.id!r} has no random parameters")

    def reference(self) -> Any:
        """The package's implementation for :func:`vae_course.drills.use`, or None."""
        return None

    def full_prompt(self) -> str:
        """The prompt text with the contract (subclasses add options, etc.)."""
        return self.prompt


# ----------------------------------------------------------------------------- registry

_REGISTRY: dict[str, Drill] = {}
_CATALOGUE_LOADED = False


def _load_catalogue() -> None:
    global _CATALOGUE_LOADED
    if not _CATALOGUE_LOADED:
        _CATALOGUE_LOADED = True
        importlib.import_module("vae_course.drills.catalogue")


def register(drill: Drill, *, replace: bool = False) -> Drill:
    """Add ``drill`` to the registry (``replace=True`` overwrites a drill with the same id)."""
    if not isinstance(drill, Drill):
        raise TypeError(f"register expects a Drill, got {type(drill).__name__}")
    if drill.id in _REGISTRY and not replace and _REGISTRY[drill.id] is not drill:
        raise ValueError(f"a drill with id {drill.id!r} is already registered")
    _REGISTRY[drill.id] = drill
    return drill


def all_drills() -> list[Drill]:
    """Every registered drill, ordered by chapter then registration order."""
    _load_catalogue()
    order = {drill_id: i for i, drill_id in enumerate(_REGISTRY)}
    return sorted(_REGISTRY.values(), key=lambda d: (d.chapter, order[d.id]))


def get_drill(drill_id: str) -> Drill:
    """The drill called ``drill_id``; ValueError (with suggestions) for an unknown id."""
    _load_catalogue()
    if not isinstance(drill_id, str):
        raise TypeError(f"a drill id is a string such as 'kl_divergence', got {drill_id!r:.60}")
    drill = _REGISTRY.get(drill_id)
    if drill is None:
        raise ValueError(unknown_id_message(drill_id))
    return drill


def unknown_id_message(drill_id: object) -> str:
    """'No drill called ...; did you mean ...?' with close matches."""
    close = difflib.get_close_matches(str(drill_id), list(_REGISTRY), n=3, cutoff=0.5)
    message = f"There is no drill called {drill_id!r}."
    if close:
        message += " Did you mean " + " or ".join(repr(c) for c in close) + "?"
    return message + " drills.list() shows every drill."
