"""The part the two code kinds share (function and module drills): reference, catalogue, score.

How a learner's code is judged:

1. It is *observed*: called on seeded probes inside a time limit
   (:class:`~vae_course.drills.timed.TimedCalls`), every call reduced to plain data
   (:class:`~vae_course.drills.observation.Observation`). The reference implementation
   and every catalogued mistake are observed the same way (once per process).
2. The learner's observation is *compared* with the reference's: essential problems
   (wrong values, shapes, gradients, contract) give score 0; minor ones cost a point each
   (dtype, device, in-place changes, edge cases).
3. On an essential failure the *mistake catalogue* is consulted: each entry is a wrong
   implementation (data) and a message; the learner's code matches an entry when its
   observation shows the same behaviour. The first match's message comes first.

Feedback describes what is wrong and never prints the expected tensor. The judging half
(:meth:`CodeDrill.judge`) works on observations only, so an observation made elsewhere (the
grader's sandbox) is judged by exactly the code that judges ``drills.check`` in a notebook.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .core import FAILED, PASSED, Drill, NotAttempted, Result, resolve
from .observation import Mistake, Observation, isolated
from .timed import TimedCalls

REFERENCE_CALL_LIMIT_S = 60.0
REFERENCE_TOTAL_LIMIT_S = 600.0


@dataclass(eq=False, kw_only=True)
class CodeDrill(Drill):
    """Base of function and module drills: observe code, compare with the reference, find the
    mistake. Subclasses implement :meth:`record`, :meth:`compare` and :meth:`same_behaviour`.

    ``reference_name`` names the package's implementation as ``"module:attribute"`` (text,
    so that observing never imports it).
    """

    kind: ClassVar[str] = "code"

    reference_name: str
    mistakes: tuple[Mistake, ...] = ()
    min_score: float = 1.0
    success: str = (
        "All checks passed: right values, shapes and gradients on random and edge-case inputs."
    )
    _reference_cache: Observation | None = field(default=None, init=False, repr=False)
    _mistake_cache: dict[str, Observation] = field(default_factory=dict, init=False, repr=False)

    @property
    def runs_code(self) -> bool:
        return True

    def reference(self) -> Any:
        return resolve(self.reference_name)

    # -- observing (runs the answer) ---------------------------------------------------

    def answer_problem(self, answer: Any) -> str | None:  # pragma: no cover - abstract
        """A message when ``answer`` is not even the right kind of object (e.g. not callable)."""
        raise NotImplementedError

    def record(self, answer: Any, calls: TimedCalls, *, full: bool) -> Observation:
        """Run ``answer`` (the learner's or a catalogued one) and record what it does.

        ``full=False`` (catalogue entries) may skip the secondary checks.
        """
        raise NotImplementedError  # pragma: no cover - abstract

    def observe(self, answer: Any, seed: int | None = None) -> Observation:
        """The learner's observation (every check, the learner's time limits)."""
        problem = self.answer_problem(answer)
        if problem:
            return Observation(unusable=problem)
        with isolated():
            return self.record(answer, TimedCalls(), full=True)

    def _trusted_observation(self, answer: Any, *, full: bool) -> Observation:
        with isolated(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            calls = TimedCalls(REFERENCE_CALL_LIMIT_S, REFERENCE_TOTAL_LIMIT_S)
            return self.derive(self.record(answer, calls, full=full))

    def reference_observation(self) -> Observation:
        """The reference's observation (computed once per process)."""
        if self._reference_cache is None:
            self._reference_cache = self._trusted_observation(self.reference(), full=True)
        return self._reference_cache

    def mistake_observation(self, mistake: Mistake) -> Observation:
        """A catalogue entry's observation (computed once per process)."""
        if mistake.id not in self._mistake_cache:
            self._mistake_cache[mistake.id] = self._trusted_observation(
                mistake.implementation, full=False
            )
        return self._mistake_cache[mistake.id]

    # -- judging (never runs the answer) -------------------------------------------------

    def derive(self, observation: Observation) -> Observation:
        """Fill in what the judge derives from the raw observation (traits); returns it."""
        return observation

    def compare(
        self, learner: Observation, ref: Observation
    ) -> tuple[list[str], list[str]]:  # pragma: no cover - abstract
        """(essential problems, minor problems) of the learner's observation."""
        raise NotImplementedError

    def same_behaviour(self, learner: Observation, other: Observation) -> bool:  # pragma: no cover
        """True when two observations show the same behaviour (used to match mistakes)."""
        raise NotImplementedError

    def find_mistake(self, learner: Observation) -> Mistake | None:
        """The first catalogue entry the learner's observation matches."""
        for mistake in self.mistakes:
            other = self.mistake_observation(mistake)
            matcher = mistake.matches or self.same_behaviour
            try:
                if matcher(learner, other):
                    return mistake
            except Exception:  # noqa: BLE001 - a matcher must not break the check
                continue
        return None

    def judge(self, observation: Observation, seed: int | None = None) -> Result:
        if observation.unusable:
            return self.result(FAILED, 0, [observation.unusable])
        if observation.not_attempted:
            raise NotAttempted()
        learner = self.derive(observation)
        essential, minor = self.compare(learner, self.reference_observation())
        if essential:
            mistake = self.find_mistake(learner)
            feedback = ([mistake.message] if mistake else []) + dedupe(essential)[:3]
            return self.result(FAILED, 0, feedback)
        minor = dedupe(minor)
        if not minor:
            return self.result(PASSED, self.max_score, [self.success])
        score = max(self.max_score - len(minor), self.min_score)
        return self.graded(score, ["The main checks pass, but:", *minor])


def dedupe(lines: list[str]) -> list[str]:
    """The lines in order, each once."""
    seen: list[str] = []
    for line in lines:
        if line not in seen:
            seen.append(line)
    return seen


__all__ = ["CodeDrill", "dedupe"]
