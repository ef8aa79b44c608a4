"""The part the two code kinds share (function and module drills): reference, catalogue, score.

How a learner's code is judged:

1. It is *observed*: called on seeded probes inside a time limit
   (:class:`~vae_course.drills.timed.TimedCalls`), every call reduced to plain data
   (:class:`~vae_course.drills.observation.Observation`). The reference implementation
   and every catalogued mistake are observed the same way (once per process).
2. The learner's observation is *compared* with the reference's: essential problems
   (wrong values, shapes, gradients, contract) give score 0; minor ones cost a point each
   (dtype, device, in-place changes, edge cases).
3. A drill with ``bans`` (an olympiad part: no loops, no ``torch.distributions``, only the
   fixed imports, no ``vae_course``) is judged on its source first (:mod:`.bans`): a
   banned construct gives 0, with a message naming it and its line.
4. On an essential failure the *mistake catalogue* is consulted: each entry is a wrong
   implementation (data) and a message; the learner's code matches an entry when its
   observation shows the same behaviour. The first match's message comes first.

Feedback describes what is wrong and never prints the expected tensor. The judging half
(:meth:`CodeDrill.judge`) works on observations only, so an observation made elsewhere (the
grader's sandbox) is judged by exactly the code that judges ``drills.check`` in a notebook.
"""

from __future__ import annotations

import contextlib
import warnings
from dataclasses import dataclass, field
from typing import Any, ClassVar

from . import bans as banned
from . import guard
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
    so that observing never imports it). ``bans`` lists the constructs the answer may not
    use (:data:`vae_course.drills.bans.BANS`); ``allowed_modules`` are the modules of the
    problem's fixed import cell (for the ``"imports"`` ban).
    """

    kind: ClassVar[str] = "code"

    reference_name: str
    mistakes: tuple[Mistake, ...] = ()
    min_score: float = 1.0
    success: str = (
        "All checks passed: right values, shapes and gradients on random and edge-case inputs."
    )
    bans: tuple[str, ...] = ()
    allowed_modules: tuple[str, ...] = ()
    _reference_cache: dict[int, Observation] = field(default_factory=dict, init=False, repr=False)
    _mistake_cache: dict[tuple[int, str], Observation] = field(
        default_factory=dict, init=False, repr=False
    )

    def __post_init__(self) -> None:
        self.bans = banned.check_bans(self.bans)

    @property
    def runs_code(self) -> bool:
        return True

    def reference(self) -> Any:
        return resolve(self.reference_name)

    # -- observing (runs the answer) ---------------------------------------------------

    def answer_problem(self, answer: Any) -> str | None:  # pragma: no cover - abstract
        """A message when ``answer`` is not even the right kind of object (e.g. not callable)."""
        raise NotImplementedError

    def record(self, answer: Any, calls: TimedCalls, *, full: bool, seed: int) -> Observation:
        """Run ``answer`` (the learner's or a catalogued one) on the probes of ``seed`` and
        record what it does. ``full=False`` (catalogue entries) may skip secondary checks."""
        raise NotImplementedError  # pragma: no cover - abstract

    def observe(self, answer: Any, seed: int | None = None, *, guarded: bool = True) -> Observation:
        """The learner's observation on the probes of ``seed`` (default 0): every check, the
        learner's time limits, and the course's own code out of reach (:mod:`.guard`).

        ``guarded=False`` skips the watch for the course's code: the grader's sandbox, where
        that code does not exist, needs no watch (and saves the profiler's cost).
        """
        problem = self.answer_problem(answer)
        if problem:
            return Observation(unusable=problem)
        watch = guard.course_code_refused() if guarded else contextlib.nullcontext([])
        with isolated(), watch as refused:
            observation = self.record(answer, TimedCalls(), full=True, seed=seed or 0)
        if refused:
            observation = Observation(unusable=guard.refusal_message(self.answer_name, refused))
        if self.bans:  # what the judge reads the bans from: the answer's source, as data
            observation.source = banned.answer_source(answer, self.answer_name)
        return observation

    def _trusted_observation(self, answer: Any, *, full: bool, seed: int) -> Observation:
        with isolated(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            calls = TimedCalls(REFERENCE_CALL_LIMIT_S, REFERENCE_TOTAL_LIMIT_S)
            return self.derive(self.record(answer, calls, full=full, seed=seed), seed)

    def reference_observation(self, seed: int = 0) -> Observation:
        """The reference's observation on the probes of ``seed`` (once per process and seed)."""
        if seed not in self._reference_cache:
            self._reference_cache[seed] = self._trusted_observation(
                self.reference(), full=True, seed=seed
            )
        return self._reference_cache[seed]

    def mistake_observation(self, mistake: Mistake, seed: int = 0) -> Observation:
        """A catalogue entry's observation (once per process and seed)."""
        key = (seed, mistake.id)
        if key not in self._mistake_cache:
            self._mistake_cache[key] = self._trusted_observation(
                mistake.implementation, full=False, seed=seed
            )
        return self._mistake_cache[key]

    # -- judging (never runs the answer) -------------------------------------------------

    def derive(self, observation: Observation, seed: int) -> Observation:
        """Fill in what the judge derives from the raw observation (traits); returns it."""
        return observation

    def compare(
        self, learner: Observation, ref: Observation, seed: int
    ) -> tuple[list[str], list[str]]:  # pragma: no cover - abstract
        """(essential problems, minor problems) of the learner's observation."""
        raise NotImplementedError

    def same_behaviour(
        self, learner: Observation, other: Observation, seed: int
    ) -> bool:  # pragma: no cover - abstract
        """True when two observations show the same behaviour (used to match mistakes)."""
        raise NotImplementedError

    def find_mistake(self, learner: Observation, seed: int) -> Mistake | None:
        """The first catalogue entry the learner's observation matches."""
        for mistake in self.mistakes:
            other = self.mistake_observation(mistake, seed)
            try:
                if mistake.matches is not None:
                    matched = mistake.matches(learner, other)
                else:
                    matched = self.same_behaviour(learner, other, seed)
                if matched:
                    return mistake
            except Exception:  # noqa: BLE001 - a matcher must not break the check
                continue
        return None

    def judge(self, observation: Observation, seed: int | None = None) -> Result:
        """The verdict on the learner's observation made on the probes of ``seed``."""
        seed = seed or 0
        violations = banned.find(observation.source, self.bans, self.allowed_modules)
        if observation.unusable or violations:
            reasons = [observation.unusable] if observation.unusable else []
            return self.result(
                FAILED, 0, reasons + (banned.feedback(violations) if violations else [])
            )
        if observation.not_attempted:
            raise NotAttempted()
        learner = self.derive(observation, seed)
        essential, minor = self.compare(learner, self.reference_observation(seed), seed)
        if essential:
            mistake = self.find_mistake(learner, seed)
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
