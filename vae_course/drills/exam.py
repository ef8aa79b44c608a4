"""Timed olympiad exams: ``drills.exam("vae-round2", minutes=60, seed=...)``.

An exam draws a paper of 5-point items from the pools of
:mod:`vae_course.drills.catalogue.ch09_olympiad` (USAAIO style: multiple choice with 5
options, all or nothing; numeric answers in a normal form; derivations with per-step
partial credit; short coding items checked like the drills), each numeric or derivation
item with its own seeded numbers and each coding item with its own seeded probes. Same
paper name and seed, same paper; two papers of different seeds share few items
(``benchmarks/exam_overlap.py`` measures it).

While the exam runs, answers are recorded without feedback, and hints and worked solutions
are refused: the exam's own (:meth:`Exam.hint`, :meth:`Exam.solution`) and the drills'
(:func:`vae_course.drills.hint`, :func:`vae_course.drills.solution`, ``drills.review``),
which ask :func:`vae_course.drills.state.in_exam`: the running exam is the process's
state, not an environment variable.
It ends when the time is up or when you hand in (:meth:`Exam.finish`); the score (out of N,
with a per-topic breakdown) comes as an :class:`ExamReport`. Answers given after the end
are recorded, marked late and score 0.

The deadline is the exam's own start plus its minutes, on a clock captured when this module
was imported (:data:`time.monotonic` as it was then), so a notebook that later replaces
``time.monotonic`` or ``time.time`` moves nothing. A timer thread, which waits on the
operating system's clock rather than on any Python function, also ends the exam on the dot,
whatever clock was passed in. ``clock`` (seconds) exists for tests and for
``vae-course practice``; it can end an exam earlier, never later.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from vae_course._checks import positive_number

from . import display, state
from .catalogue.ch09_olympiad import POOLS, TOPICS
from .core import NOT_ATTEMPTED, Drill, Result
from .question import Question, check_seed
from .registry import get_drill
from .review import worked_solution

# Captured at import: a notebook that replaces time.monotonic later does not move the clock.
_MONOTONIC = time.monotonic
_TIMER = threading.Timer


@dataclass(frozen=True)
class Paper:
    """An exam format: a title, the default duration and how many items of each format."""

    name: str
    title: str
    minutes: float
    counts: tuple[tuple[str, int], ...]  # (format, number of items), in paper order


PAPERS: dict[str, Paper] = {
    "vae-round2": Paper(
        "vae-round2",
        "VAE practice paper, USAAIO round-2 style",
        60.0,
        (("choice", 3), ("numeric", 2), ("derivation", 1), ("code", 2)),
    ),
    "vae-quick": Paper(
        "vae-quick",
        "Quick VAE practice paper",
        20.0,
        (("choice", 2), ("numeric", 1), ("derivation", 1), ("code", 1)),
    ),
}
SEEDED_FORMATS = ("numeric", "derivation", "code")  # code: the seed chooses the probes


@dataclass
class ExamItem:
    """One item of a paper: its number (from 1), drill, format, topic and seed.

    ``answer`` is the last answer given in time; ``late_answers`` the answers given after
    the end (recorded, never scored).
    """

    number: int
    drill_id: str
    format: str
    topic: str
    seed: int | None
    answer: Any = Ellipsis
    late_answers: list = field(default_factory=list)

    @property
    def drill(self) -> Drill:
        """The drill behind the item."""
        return get_drill(self.drill_id)

    @property
    def max_score(self) -> float:
        """The item's points (5 for every olympiad item)."""
        return float(self.drill.max_score)

    def text(self) -> str:
        """The question: the drill's prompt, with the item's numbers for a seeded item."""
        drill: Any = self.drill
        if self.seed is None or self.format == "code":
            return drill.full_prompt()
        text = drill.describe(drill.params_for(self.seed))
        if self.format == "derivation":
            return (
                f"{text}\n\nGive one number per step ({drill.normal_form}):\n{drill.steps_text()}"
            )
        return f"{text}\n\nAnswer {drill.normal_form}."

    def answer_format(self) -> str:
        """How to give the answer, in one line."""
        if self.format == "choice":
            return "one letter, e.g. 'b'"
        if self.format == "code":
            return (
                f"your function or class itself (no parentheses), e.g. `{self.drill.answer_name}`"
            )
        if self.format == "derivation":
            keys = self.drill.keys_text()  # type: ignore[attr-defined]
            return f"a dict with the keys {keys}"
        return f"a number, {self.drill.normal_form}"  # type: ignore[attr-defined]


def draw_items(paper: Paper, seed: int) -> list[ExamItem]:
    """The items of ``paper`` for ``seed``: distinct items per format, each with its own seed."""
    rng = random.Random(f"{paper.name}:{seed}")
    items: list[ExamItem] = []
    for fmt, count in paper.counts:
        pool = POOLS[fmt]
        if count > len(pool):
            raise ValueError(
                f"paper {paper.name!r} wants {count} {fmt} items; the pool has {len(pool)}"
            )
        for drill_id in rng.sample(pool, count):
            item_seed = rng.randrange(1_000_000) if fmt in SEEDED_FORMATS else None
            items.append(
                ExamItem(len(items) + 1, drill_id, fmt, TOPICS.get(drill_id, "other"), item_seed)
            )
    return items


@dataclass
class ItemScore:
    """The graded result of one item."""

    item: ExamItem
    result: Result

    @property
    def answered(self) -> bool:
        return self.result.status != NOT_ATTEMPTED


@dataclass
class ExamReport:
    """The end of an exam: score out of N, per item and per topic; HTML and text."""

    paper: Paper
    seed: int
    scores: list[ItemScore]
    minutes_used: float
    ended_by: str  # "time" or "handed in"
    paper_minutes: float
    notes: list[str] = field(default_factory=list)

    @property
    def score(self) -> float:
        """Total points (partial credit included)."""
        return round(sum(s.result.score for s in self.scores), 2)

    @property
    def max_score(self) -> float:
        """N: the points on the paper."""
        return sum(s.item.max_score for s in self.scores)

    def _totals(self, key: Callable[[ExamItem], str]) -> dict[str, tuple[float, float]]:
        """{key(item): (points, max points)}, in the paper's order."""
        groups: dict[str, list[float]] = {}
        for s in self.scores:
            row = groups.setdefault(key(s.item), [0.0, 0.0])
            row[0] += s.result.score
            row[1] += s.item.max_score
        return {k: (round(a, 2), b) for k, (a, b) in groups.items()}

    @property
    def by_topic(self) -> dict[str, tuple[float, float]]:
        """{topic: (points, max points)} in the paper's order."""
        return self._totals(lambda item: item.topic)

    @property
    def by_format(self) -> dict[str, tuple[float, float]]:
        """{format: (points, max points)}."""
        return self._totals(lambda item: item.format)

    def score_line(self) -> str:
        """``Score: 27.5 / 40 (69%)``."""
        percent = 100.0 * self.score / self.max_score if self.max_score else 0.0
        return f"Score: {self.score:g} / {self.max_score:g} ({percent:.0f}%)"

    def _item_rows(self) -> list[list[object]]:
        return [
            [
                s.item.number,
                s.item.topic,
                s.item.format,
                s.result.status + (" (+ late answer, 0)" if s.item.late_answers else ""),
                f"{s.result.score:g} / {s.item.max_score:g}",
            ]
            for s in self.scores
        ]

    def _topic_rows(self) -> list[list[object]]:
        return [[t, f"{a:g} / {b:g}"] for t, (a, b) in self.by_topic.items()]

    def tables(self) -> tuple[display.Table, display.Table]:
        """(per-item table, per-topic table)."""
        items = display.Table(
            ["item", "topic", "format", "status", "points"], self._item_rows(), "Per item"
        )
        topics = display.Table(["topic", "points"], self._topic_rows(), "Per topic")
        return items, topics

    def heading(self) -> str:
        return (
            f"{self.paper.title} (seed {self.seed}), {self.ended_by} after "
            f"{self.minutes_used:.1f} of {self.paper_minutes:g} min. {self.score_line()}"
        )

    def __str__(self) -> str:
        items, topics = self.tables()
        lines = [self.heading(), "", str(items), "", str(topics)]
        lines += [f"- {n}" for n in self.notes]
        lines += ["", self.score_line()]
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        items, topics = self.tables()
        style = "passed" if self.score >= 0.5 * self.max_score else "partial"
        return display.box_html(
            style,
            self.heading(),
            bullets=self.notes,
            body_html=items._repr_html_() + "<br>" + topics._repr_html_(),
        )


class Exam:
    """A running (or finished) exam. Create it with :func:`exam`.

    ``exam.question(n)`` shows item n (``exam.numbers(n)`` its parameters as a
    :class:`Question`), ``exam.answer(n, value)`` records an answer (no
    feedback until the end; answering again replaces it), ``exam.remaining()`` the seconds
    left, ``exam.finish()`` hands in, ``exam.report()`` gives the :class:`ExamReport` once
    the exam is over, and ``exam.solution(n)`` / ``exam.hint(n)`` work after it.
    """

    def __init__(
        self,
        paper: Paper,
        minutes: float,
        seed: int,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.paper = paper
        self.minutes = float(minutes)
        self.seed = seed
        self.items = draw_items(paper, seed)
        self._clock = clock if clock is not None else _MONOTONIC
        self._started = float(self._clock())
        self._ended_at: float | None = None
        self._ended_by = ""
        self._report: ExamReport | None = None
        self._late: list[int] = []
        self._time_is_up = False  # set by the timer thread, on the operating system's clock
        self._lock = threading.RLock()
        self._timer = _TIMER(self.minutes * 60.0, self._timer_fired)
        self._timer.daemon = True
        self._timer.start()

    def _timer_fired(self) -> None:
        self._time_is_up = True
        self._refresh()

    # -- time -------------------------------------------------------------------------
    @property
    def deadline(self) -> float:
        """The clock reading at which the time is up."""
        return self._started + self.minutes * 60.0

    def remaining(self) -> float:
        """Seconds left (0 once the exam is over)."""
        self._refresh()
        if self._ended_at is not None:
            return 0.0
        return max(0.0, self.deadline - float(self._clock()))

    @property
    def running(self) -> bool:
        """True until the time is up or the paper is handed in."""
        self._refresh()
        return self._ended_at is None

    def _refresh(self) -> None:
        with self._lock:
            if self._ended_at is None and (
                self._time_is_up or float(self._clock()) >= self.deadline
            ):
                self._end("time", at=self.deadline)

    def _end(self, how: str, at: float) -> None:
        with self._lock:
            if self._ended_at is not None:
                return
            self._ended_at = at
            self._ended_by = how
            self._timer.cancel()
            state.forget_exam(self)

    # -- items ------------------------------------------------------------------------
    def item(self, number: int) -> ExamItem:
        """Item ``number`` (1-based); ValueError for a number not on the paper."""
        if isinstance(number, bool) or not isinstance(number, int):
            raise TypeError(f"item numbers are integers 1..{len(self.items)}, got {number!r}")
        if not 1 <= number <= len(self.items):
            raise ValueError(f"this paper has items 1..{len(self.items)}, not {number}")
        return self.items[number - 1]

    def question(self, number: int) -> display.Message:
        """Item ``number``: its question, points and how to answer."""
        item = self.item(number)
        heading = (
            f"Item {item.number} of {len(self.items)} ({item.topic}, {item.format}, "
            f"{item.max_score:g} points)"
        )
        text = (
            f"{item.text()}\n\nAnswer: `exam.answer({item.number}, ...)` with "
            f"{item.answer_format()}."
        )
        return display.Message("info", heading, text)

    def numbers(self, number: int) -> Question | None:
        """The :class:`Question` (parameters) of a numeric or derivation item; None for choice."""
        item = self.item(number)
        return None if item.seed is None else item.drill.question(item.seed)

    def answer(self, number: int, value: Any) -> display.Message:
        """Record the answer to item ``number``; after the end it is recorded as late and
        scores 0 (the on-time answer, if any, still counts)."""
        item = self.item(number)
        self._refresh()
        if self._ended_at is not None:
            self._late.append(item.number)
            item.late_answers.append(value)
            return display.Message(
                "refused",
                f"Item {item.number}: the exam is over ({self._ended_by})",
                "This answer was recorded as late and scores 0. `exam.report()` shows your score.",
            )
        item.answer = value
        left = self.remaining() / 60.0
        return display.Message(
            "info", f"Item {item.number}: answer recorded ({left:.1f} min left)", ""
        )

    def answers(self, values: dict[int, Any]) -> display.Message:
        """Record several answers at once: ``{item number: answer}``."""
        messages = [self.answer(number, value) for number, value in values.items()]
        refused = [m for m in messages if m.style == "refused"]
        if refused:
            return refused[0]
        return display.Message(
            "info", f"{len(messages)} answers recorded ({self.remaining() / 60:.1f} min left)", ""
        )

    # -- the end ----------------------------------------------------------------------
    def finish(self) -> ExamReport:
        """Hand in now (or, after the time is up, just collect the report)."""
        self._refresh()
        self._end("handed in", at=float(self._clock()))
        return self.report()

    def report(self) -> ExamReport | display.Message:
        """The :class:`ExamReport` once the exam is over; a message while it runs."""
        self._refresh()
        if self._ended_at is None:
            return display.Message(
                "refused",
                "The exam is still running",
                f"{self.remaining() / 60:.1f} minutes left. `exam.finish()` hands in now.",
            )
        if self._report is None:
            scores = [
                ItemScore(item, item.drill.check(item.answer, seed=item.seed))
                for item in self.items
            ]
            notes = []
            if self._late:
                numbers = ", ".join(str(n) for n in sorted(set(self._late)))
                notes.append(
                    f"late answers to item(s) {numbers} were recorded after the end and scored 0"
                )
            used = min(self._ended_at - self._started, self.minutes * 60.0) / 60.0
            self._report = ExamReport(
                self.paper, self.seed, scores, used, self._ended_by, self.minutes, notes
            )
        return self._report

    def _refusal(self, what: str, number: int) -> display.Message:
        return display.Message(
            "refused",
            f"No {what} for item {number} during the exam",
            f"{self.remaining() / 60:.1f} minutes left; {what}s come back when the time is up "
            "or after `exam.finish()`.",
        )

    def solution(self, number: int) -> display.Message:
        """The worked solution of item ``number`` with its numbers; refused while running."""
        item = self.item(number)
        if self.running:
            return self._refusal("solution", number)
        result = self.report()
        feedback = []
        if isinstance(result, ExamReport):
            graded = result.scores[number - 1].result
            feedback = [f"Your points: {graded.score:g} / {graded.max_score:g}", *graded.feedback]
        return display.Message(
            "info",
            f"Item {number}: worked solution ({item.drill.title})",
            worked_solution(item.drill_id, item.seed),
            feedback,
        )

    def hint(self, number: int) -> display.Message:
        """The hints of item ``number``; refused while the exam runs."""
        item = self.item(number)
        if self.running:
            return self._refusal("hint", number)
        hints = "\n\n".join(f"Hint {i + 1}: {h}" for i, h in enumerate(item.drill.hints))
        return display.Message("hint", f"Item {number}: hints", hints)

    # -- display ----------------------------------------------------------------------
    def _status(self) -> str:
        if self.running:
            return f"running, {self.remaining() / 60:.1f} of {self.minutes:g} min left"
        return f"over ({self._ended_by}); `exam.report()` shows the score"

    def _rows(self) -> list[list[object]]:
        return [
            [
                i.number,
                i.topic,
                i.format,
                f"{i.max_score:g}",
                "yes" if i.answer is not Ellipsis else "no",
            ]
            for i in self.items
        ]

    def _heading(self) -> str:
        total = sum(i.max_score for i in self.items)
        return (
            f"{self.paper.title}: seed {self.seed}, {len(self.items)} items, "
            f"{total:g} points — {self._status()}"
        )

    def __str__(self) -> str:
        table = display.Table(["item", "topic", "format", "points", "answered"], self._rows())
        return f"{self._heading()}\n{table}\nexam.question(n) shows item n."

    __repr__ = __str__

    def _repr_html_(self) -> str:
        table = display.Table(["item", "topic", "format", "points", "answered"], self._rows())
        return display.box_html(
            "info",
            self._heading(),
            body_html=table._repr_html_()
            + display.text_to_html(
                "`exam.question(n)` shows item n; `exam.answer(n, value)` records an answer; "
                "`exam.finish()` hands in."
            ),
        )


def running_exam() -> Exam | None:
    """The exam in progress in this process, or None (an exam whose time is up is closed)."""
    return state.active_exam()


def exam(
    paper: str = "vae-round2",
    minutes: float | None = None,
    seed: int | None = None,
    clock: Callable[[], float] | None = None,
) -> Exam:
    """Start a timed exam and return it.

    ``paper``: a name in :data:`PAPERS` ("vae-round2": 3 choice, 2 numeric, 1 derivation and
    2 coding items, 40 points, 60 min; "vae-quick": 5 items, 20 min). ``minutes``: the
    duration (default: the paper's). ``seed``: which paper (same seed, same items and
    numbers; default a fresh random seed, shown in the heading). ``clock``: a function
    returning seconds, for tests (default: :func:`time.monotonic` as captured at import; the
    real deadline holds whatever it returns). Starting an exam hands in one that is still
    running.
    """
    if paper not in PAPERS:
        raise ValueError(f"unknown paper {paper!r}; choose one of {', '.join(PAPERS)}")
    chosen = PAPERS[paper]
    minutes = chosen.minutes if minutes is None else minutes
    minutes = positive_number(minutes, "minutes")
    seed = random.SystemRandom().randrange(1_000_000) if seed is None else check_seed(seed)
    if clock is not None and not callable(clock):
        raise TypeError("clock must be a function returning seconds, e.g. time.monotonic")
    previous = state.active_exam()
    if previous is not None:
        print(f"Handing in the exam that was still running (seed {previous.seed}).")
        previous.finish()
    started = Exam(chosen, float(minutes), seed, clock)
    state.set_active_exam(started)
    return started


__all__ = [
    "PAPERS",
    "Exam",
    "ExamItem",
    "ExamReport",
    "Paper",
    "draw_items",
    "exam",
    "running_exam",
]
