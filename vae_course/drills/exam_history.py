"""The history of practice papers: score per topic over time, and the weakest topics.

File: ``vae_course.storage.cache_dir("practice") / "history.json"``::

    {"version": 1,
     "attempts": [{"time": "2025-01-01T12:00:00", "paper": "vae-round2", "seed": 7,
                   "score": 27.5, "max_score": 40, "minutes_used": 41.2,
                   "ended_by": "handed in",
                   "topics": {"KL divergence": [5.0, 10.0], ...}}]}

Every update re-reads the file and writes it atomically; a file that cannot be read is set
aside (``storage.set_aside``) and a new history starts. Nothing here raises into a practice
session: :func:`record` returns a message instead.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from vae_course import storage

FILE_NAME = "history.json"
VERSION = 1
RECENT = 5  # the weakest topics are judged on each topic's last RECENT attempts


def history_path() -> Path:
    """``<cache dir>/practice/history.json`` (the directory is created)."""
    return storage.cache_dir("practice") / FILE_NAME


def _valid(attempt: Any) -> bool:
    if not isinstance(attempt, dict) or not isinstance(attempt.get("topics"), dict):
        return False
    for pair in attempt["topics"].values():
        if not (
            isinstance(pair, list)
            and len(pair) == 2
            and all(isinstance(v, int | float) and not isinstance(v, bool) for v in pair)
            and pair[1] > 0
        ):
            return False
    return isinstance(attempt.get("score"), int | float) and isinstance(
        attempt.get("max_score"), int | float
    )


def load() -> list[dict]:
    """The recorded attempts, oldest first ([] when there are none or the file is damaged)."""
    path = history_path()
    if not path.exists():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        attempts = data["attempts"]
        if not isinstance(attempts, list):
            raise ValueError("attempts is not a list")
    except (OSError, ValueError, KeyError, TypeError):
        try:
            storage.set_aside(path)
        except OSError:
            pass
        return []
    return [a for a in attempts if _valid(a)]


def entry(report: Any) -> dict:
    """The history entry of an :class:`~vae_course.drills.exam.ExamReport`."""
    return {
        "time": datetime.now().isoformat(timespec="seconds"),
        "paper": report.paper.name,
        "seed": report.seed,
        "score": report.score,
        "max_score": report.max_score,
        "minutes_used": round(report.minutes_used, 2),
        "ended_by": report.ended_by,
        "topics": {topic: [a, b] for topic, (a, b) in report.by_topic.items()},
    }


def record(report: Any) -> str:
    """Append ``report`` to the history; '' on success, else why it could not be saved."""
    try:
        attempts = load()
        attempts.append(entry(report))
        text = json.dumps({"version": VERSION, "attempts": attempts}, indent=1)
        storage.atomic_write_text(history_path(), text)
    except OSError as error:
        return f"(the practice history could not be saved: {error})"
    return ""


def trends(attempts: list[dict]) -> dict[str, list[float]]:
    """{topic: [percent of its points, per attempt where it appeared, oldest first]}."""
    out: dict[str, list[float]] = {}
    for attempt in attempts:
        for topic, (points, maximum) in attempt["topics"].items():
            out.setdefault(topic, []).append(100.0 * points / maximum)
    return out


def weakest(attempts: list[dict], n: int = 3) -> list[tuple[str, float]]:
    """The ``n`` topics with the lowest mean percent over their last :data:`RECENT`
    attempts, lowest first."""
    means = {topic: sum(v[-RECENT:]) / len(v[-RECENT:]) for topic, v in trends(attempts).items()}
    return sorted(means.items(), key=lambda item: (item[1], item[0]))[:n]


def summary(attempts: list[dict]) -> str:
    """The history as text: scores over time, percent per topic over time, weakest topics."""
    if not attempts:
        return "No practice papers recorded yet: `vae-course practice` starts one."
    shown = attempts[-10:]
    scores = ", ".join(f"{a['score']:g}/{a['max_score']:g}" for a in shown)
    lines = [
        f"Your practice history ({len(attempts)} paper(s); scores, oldest first"
        + (", last 10" if len(attempts) > 10 else "")
        + f"): {scores}",
        "Per topic, percent of its points (oldest -> newest):",
    ]
    topic_trends = trends(attempts)
    width = max(len(t) for t in topic_trends)
    for topic in sorted(topic_trends):
        values = " ".join(f"{v:4.0f}%" for v in topic_trends[topic][-10:])
        lines.append(f"  {topic:<{width}}  {values}")
    worst = ", ".join(f"{topic} ({percent:.0f}%)" for topic, percent in weakest(attempts))
    lines.append(f"Weakest topics (last {RECENT} attempts each): {worst}")
    return "\n".join(lines)


__all__ = ["entry", "history_path", "load", "record", "summary", "trends", "weakest"]
