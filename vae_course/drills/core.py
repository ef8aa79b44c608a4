"""The two types every drill shares, :class:`Result` and :class:`Drill`.

A drill is a small declarative object (id, chapter, prompt, hints, worked solution, a
checker). Checking an answer has two halves:

* :meth:`Drill.observe` turns the answer into an *observation*: plain data. For a value
  drill (choice, numeric, experiment, multipart) it is the answer itself; for a code drill
  (function, module) it is what the learner's code did on the drill's probes (values,
  shapes, gradients, errors), recorded while calling it.
* :meth:`Drill.judge` turns an observation into a :class:`Result`. It never runs the
  learner's code, so the classroom grader can observe in a sandbox and judge in a process
  that never imported a submission, with the same code as ``drills.check`` in a notebook.

:meth:`Drill.check` does both and never raises: a stub (``raise NotImplementedError``) or
``...`` gives "not attempted", anything else that goes wrong gives a failing Result with a
message.

Kinds (one module each): choice, numeric, function, module, experiment, multipart.
"""

from __future__ import annotations

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
    ``kind`` says how answers are checked. Subclasses implement :meth:`judge` (and
    :meth:`observe` when the answer is code).
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
        """Observe ``answer`` and judge it; never raises. ``seed`` selects a seeded drill's numbers."""
        if answer is Ellipsis:
            return self.result(NOT_ATTEMPTED, 0, [NOT_ATTEMPTED_VALUE])
        return self.safely(lambda: self.judge(self.observe(answer, seed), seed))

    def safely(self, verdict: Any) -> Result:
        """``verdict()`` as a Result: NotAttempted and any exception become a clear Result."""
        try:
            return verdict()
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

    def observe(self, answer: Any, seed: int | None) -> Any:
        """The observation of ``answer``: for a value drill, the answer itself."""
        return answer

    def judge(self, observation: Any, seed: int | None) -> Result:  # pragma: no cover - abstract
        """The verdict on an observation (never runs learner code)."""
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

    @property
    def runs_code(self) -> bool:
        """True for drills whose answer is code (function, module): observed by running it."""
        return False

    def full_prompt(self) -> str:
        """The prompt text with the contract (subclasses add options, etc.)."""
        return self.prompt

    def binding_line(self) -> str:
        """ "Bind your answer to `name`." unless the prompt already names it ('' then)."""
        if self.answer_name in self.prompt:
            return ""
        return f"\n\nBind your answer to `{self.answer_name}`."


def resolve(path: str) -> Any:
    """The object a ``"package.module:attribute"`` path names (a drill's reference).

    Drills name their references as text so that the code that observes a learner's answer
    never imports them: the grader's sandbox does not contain them.
    """
    module_name, _, attribute = path.partition(":")
    value: Any = importlib.import_module(module_name)
    for part in attribute.split("."):
        value = getattr(value, part)
    return value
