"""Grading a class on one contest task, and its leaderboard.

:func:`grade_class` is what ``vae-course contest grade SUBMISSIONS/ --task NAME --out DIR``
runs. The secret seed of the private split comes from the teacher (``--secret-seed``, to
grade the same private split again, or another class on it) or is drawn at grading time;
it is kept in this process only: the leaderboard and the log record a fingerprint of it
(``sha256``), never the seed. The private split is made once, here, after which every
submission is graded on its own (:func:`.grader.grade_submission`), a few at a time.

Outputs in ``DIR`` (written atomically): ``leaderboard.csv`` and ``leaderboard.md`` (rank
by private score, then public score; student, verdict, public and private metric and
score, parameters, seconds, message), ``results/STUDENT.json`` and ``contest.log``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import secrets
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from vae_course import storage
from vae_course.grading.batch import default_jobs, expand_submissions, package_dir, read_submission
from vae_course.grading.env import MIN_MEMORY_MB
from vae_course.grading.gradebook import slug, spreadsheet_safe, student_id_for
from vae_course.grading.notebook_file import InvalidNotebook, notebook_metadata, read_notebook
from vae_course.grading.sandbox import SandboxUnavailable, choose

from .data import private_split, public_split
from .grader import PRESENTATION_ERROR, grade_submission
from .sandboxed import RunLimits
from .task_files import public_files
from .tasks import ContestTask, get_task

COLUMNS = (
    "rank",
    "student",
    "verdict",
    "public_metric",
    "public_score",
    "private_metric",
    "private_score",
    "parameters",
    "seconds",
    "message",
    "file",
)


def seed_fingerprint(seed: int) -> str:
    """A short fingerprint of the secret seed (to tell two gradings apart, not to recover it)."""
    return hashlib.sha256(f"vae-course-contest:{seed}".encode()).hexdigest()[:12]


def _student(path: Path, data: bytes | str) -> str:
    metadata = {}
    if isinstance(data, bytes):
        try:
            metadata = notebook_metadata(read_notebook(data))
        except InvalidNotebook:
            metadata = {}
    return student_id_for(path, metadata)


def grade_class(
    submissions,
    task: str | ContestTask,
    out_dir,
    *,
    secret_seed: int | None = None,
    timeout: float | None = None,
    jobs: int | None = None,
    memory_mb: int = 8192,
    no_sandbox: bool = False,
) -> list[dict]:
    """Grade every notebook of ``submissions`` on ``task``; write the leaderboard; the rows.

    ``timeout`` overrides the task's time limit (seconds); ``no_sandbox`` runs learner code
    unconfined (trusted notebooks only; every row says so).
    """
    task = get_task(task) if isinstance(task, str) else task
    if timeout is not None:
        task = task.with_limits(time_limit_s=float(timeout))
    if memory_mb < MIN_MEMORY_MB:
        raise ValueError(f"memory_mb must be at least {MIN_MEMORY_MB} (torch needs ~3.6 GB)")
    try:
        sandbox = choose(no_sandbox=no_sandbox)
    except SandboxUnavailable as error:
        raise RuntimeError(str(error)) from error
    if isinstance(submissions, (str, os.PathLike)):
        submissions = [submissions]
    files = expand_submissions(list(submissions))
    if not files:
        raise ValueError("no notebooks found in " + ", ".join(map(str, submissions)))
    seed = secrets.randbelow(2**31) if secret_seed is None else int(secret_seed)
    splits = {"public": public_split(task), "private": private_split(task, seed)}
    limits = RunLimits(memory_mb=int(memory_mb), package_dir=package_dir())
    public_dir = Path(tempfile.mkdtemp(prefix="vae-contest-public-"))
    public_files(task, public_dir)  # once for the class; each run gets a copy

    def one(item: tuple[Path, str]) -> dict:
        path, display = item
        data = read_submission(path)
        row = {"file": display, "student": _student(path, data)}
        if isinstance(data, str):  # unreadable, or a symbolic link
            return row | {
                "verdict": PRESENTATION_ERROR,
                "message": data,
                "metrics": {},
                "scores": {},
            }
        return row | grade_submission(data, task, splits, sandbox, limits, public_dir)

    try:
        with ThreadPoolExecutor(max_workers=jobs or default_jobs()) as pool:
            rows = list(pool.map(one, files))
    finally:
        shutil.rmtree(public_dir, ignore_errors=True)
    if not sandbox.isolated:
        for row in rows:
            row["message"] = ("unsandboxed; " + row.get("message", "")).strip("; ")
    ranked = rank(rows)
    write_outputs(Path(out_dir), task, ranked, seed_fingerprint(seed), sandbox.kind)
    return ranked


def rank(rows: list[dict]) -> list[dict]:
    """Rows sorted by private score, then public score (best first), with ranks (ties share)."""

    def key(row: dict) -> tuple[float, float]:
        scores = row.get("scores") or {}
        return (-scores.get("private", 0.0), -scores.get("public", 0.0))

    ordered = sorted(rows, key=lambda r: (key(r), r["student"]))
    previous, place = None, 0
    for position, row in enumerate(ordered, start=1):
        if key(row) != previous:
            place, previous = position, key(row)
        row["rank"] = place
    return ordered


def _cell(row: dict, column: str) -> str:
    metrics, scores = row.get("metrics") or {}, row.get("scores") or {}
    split, _, kind = column.partition("_")
    if kind == "metric":
        value = metrics.get(split)
        return "" if value is None else f"{value:.4f}"
    if kind == "score":
        return f"{scores.get(split, 0.0):.1f}"
    value = row.get(column)
    return "" if value is None else str(value)


def write_outputs(
    out: Path, task: ContestTask, rows: list[dict], fingerprint: str, kind: str
) -> None:
    """leaderboard.csv, leaderboard.md, results/*.json and contest.log in ``out``."""
    (out / "results").mkdir(parents=True, exist_ok=True)
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([spreadsheet_safe(_cell(row, c)) for c in COLUMNS])
    storage.atomic_write_text(out / "leaderboard.csv", text.getvalue())
    head = f"# Leaderboard: {task.title} ({task.name})\n\n"
    head += (
        f"Metric: {task.metric} ({'higher' if task.higher_is_better else 'lower'} is better); "
        f"score 0 at {task.baseline:g} (baseline), 100 at {task.reference:g} (reference). "
        f"Private split {fingerprint}.\n\n"
    )
    shown = COLUMNS[:-1]
    lines = ["| " + " | ".join(shown) + " |", "|" + "---|" * len(shown)]
    for row in rows:
        cells = [_cell(row, c).replace("|", "/").replace("\n", " ")[:200] for c in shown]
        lines.append("| " + " | ".join(cells) + " |")
    storage.atomic_write_text(out / "leaderboard.md", head + "\n".join(lines) + "\n")
    for row in rows:
        name = slug(f"{row['student']}_{Path(row['file']).stem}")
        storage.atomic_write_text(
            out / "results" / f"{name}.json", json.dumps(row, indent=1, default=str)
        )
    log = [
        f"task {task.name}: time limit {task.time_limit_s:g} s, budget {task.max_parameters:,} "
        f"parameters, sandbox {kind}, private split {fingerprint}",
        *(
            f"{row['student']}: {row['verdict']} private {_cell(row, 'private_score')} "
            f"public {_cell(row, 'public_score')} {row.get('message', '')}"
            for row in rows
        ),
    ]
    storage.atomic_write_text(out / "contest.log", "\n".join(log) + "\n")


__all__ = ["COLUMNS", "grade_class", "rank", "seed_fingerprint", "write_outputs"]
