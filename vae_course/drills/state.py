"""Per-process drill state: seeds handed out, hints shown, the running exam.

Kept here, apart from the features that use it, so that no feature module needs another
(``api`` and ``exam`` both read :func:`in_exam`; neither imports the other). Nothing here
touches ``os.environ``: a teacher's ``VAE_COURSE_MODE=exam`` is read (never written)
through :func:`vae_course.config.exam_mode`.
"""

from __future__ import annotations

from typing import Any, Protocol

from vae_course import config

hints_shown: dict[str, int] = {}
"""{drill id: how many hints :func:`vae_course.drills.hint` has shown}."""

question_seeds: dict[str, int] = {}
"""{drill id: the seed of the last question asked for it}."""


class _Exam(Protocol):
    @property
    def running(self) -> bool: ...


_active_exam: _Exam | None = None


def current_seeds() -> dict[str, int]:
    """The seed of the last :func:`vae_course.drills.question` asked for each seeded drill.

    The classroom grader reads it at the end of a run so a learner's seeded answers are
    checked against the numbers they were given.
    """
    return dict(question_seeds)


def remember_seed(drill_id: str, seed: int) -> None:
    """Record that the learner was given the numbers of ``seed`` for ``drill_id``."""
    question_seeds[drill_id] = seed


def set_active_exam(exam: Any) -> None:
    """Make ``exam`` the running exam of this process (None: no exam)."""
    global _active_exam
    _active_exam = exam


def forget_exam(exam: Any) -> None:
    """``exam`` has ended: it is no longer this process's running exam."""
    global _active_exam
    if _active_exam is exam:
        _active_exam = None


def active_exam() -> Any:
    """The exam in progress in this process, or None (an exam whose time is up is closed)."""
    exam = _active_exam
    return exam if exam is not None and exam.running else None


def in_exam() -> bool:
    """True while hints, solutions and reviews are withheld.

    That is while an exam of this process runs (reading ``running`` also ends an exam whose
    time is up, so refusals stop at the deadline), or while the teacher has set
    ``VAE_COURSE_MODE=exam``.
    """
    return active_exam() is not None or config.exam_mode()


def reset() -> None:
    """Forget the seeds, hints and exam of this process (tests; a fresh start)."""
    hints_shown.clear()
    question_seeds.clear()
    set_active_exam(None)


__all__ = [
    "active_exam",
    "current_seeds",
    "forget_exam",
    "hints_shown",
    "in_exam",
    "question_seeds",
    "remember_seed",
    "reset",
    "set_active_exam",
]
