"""IOAI-style contest tasks: notebooks re-run on hidden data, scored on a 0–100 ramp.

Three task kinds, each with an at-home round and an on-site continuation that changes the
data or the target (:mod:`.tasks`): anomaly detection scored by ROC AUC, a rate-limited
compressor scored by the negative ELBO at a KL budget, and conditional generation scored
by a fixed classifier's accuracy (:mod:`.classifier`). A submission is a plain-PyTorch
notebook that trains ``Model`` and saves its state dict; the grader

1. refuses any use of ``vae_course`` (read statically), then runs the notebook in a
   sandbox without the course's package and without the course's digits, with only the
   task's public files (:mod:`.data`), under the task's time limit (:mod:`.sandboxed`);
2. after the run has ended, makes the private split from a secret seed that only the
   grading command holds, and runs the saved model on its inputs in a second sandbox;
3. computes the metric in its own process from the model's outputs (:mod:`.metrics`) and
   places it on the ramp between the task's baseline and reference (:mod:`.grader`);
4. writes a leaderboard for the class (:mod:`.leaderboard`).

``vae-course contest tasks | data | grade`` is the command line (:mod:`.cli`); each task
has a baseline and a reference notebook (``notebook_path(kind, role)``).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from .grader import (
    OK,
    OVER_BUDGET,
    PRESENTATION_ERROR,
    RULE_VIOLATION,
    RUNTIME_ERROR,
    TIME_LIMIT,
    VERDICTS,
)
from .tasks import KINDS, TASKS, ContestTask, get_task, ramp

NOTEBOOKS = Path(__file__).resolve().parent / "notebooks"
ROLES = ("baseline", "reference")


def notebook_path(kind: str, role: str = "baseline") -> Path:
    """The baseline or reference notebook of a task kind (shipped with the package).
    Used in 09_olympiad_practice (Exercise 9.10)."""
    if kind not in KINDS or role not in ROLES:
        raise ValueError(f"kind is one of {KINDS} and role one of {ROLES}")
    return NOTEBOOKS / f"{kind}_{role}.ipynb"


def write_task(task: str | ContestTask, folder: str | Path) -> list[Path]:
    """A task folder for a learner: ``data/`` (the public files) and the baseline notebook as
    ``submission.ipynb``, to improve and hand in. Returns the files written.
    Used in 09_olympiad_practice (section 4)."""
    from .task_files import public_files

    task = get_task(task) if isinstance(task, str) else task
    folder = Path(folder)
    written = public_files(task, folder / "data")
    target = folder / "submission.ipynb"
    if not target.exists():  # never overwrite a learner's work
        shutil.copyfile(notebook_path(task.kind, "baseline"), target)
        written.append(target)
    return written


def grade_class(*args, **kwargs):
    """:func:`vae_course.contest.leaderboard.grade_class` (imported when used): grade a
    folder of submissions on one task and write the leaderboard. Used in 09_olympiad_practice."""
    from .leaderboard import grade_class as grade

    return grade(*args, **kwargs)


__all__ = [
    "KINDS",
    "OK",
    "OVER_BUDGET",
    "PRESENTATION_ERROR",
    "ROLES",
    "RULE_VIOLATION",
    "RUNTIME_ERROR",
    "TASKS",
    "TIME_LIMIT",
    "VERDICTS",
    "ContestTask",
    "get_task",
    "grade_class",
    "notebook_path",
    "ramp",
    "write_task",
]
