"""The anchors of every contest task's 0–100 ramp: its baseline and reference notebooks'
public metrics, measured by grading them exactly as a class is graded.

    .venv/bin/python benchmarks/contest_anchors.py [--tasks anomaly-home,...] [--jobs 2]

Prints, per task, the public and private metric of both notebooks, their scores with the
anchors currently declared in :mod:`vae_course.contest.tasks`, and the seconds taken. The
declared ``baseline`` and ``reference`` are this script's public metrics (copy them over
after changing a notebook or the data); tests/test_contest.py checks they still score 0
and 100. Needs bubblewrap, like the grader.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from vae_course.contest import TASKS, grade_class, notebook_path


def measure(name: str, jobs: int) -> list[dict]:
    task = TASKS[name]
    folder = Path(tempfile.mkdtemp(prefix="contest-anchors-"))
    try:
        for role in ("baseline", "reference"):
            shutil.copyfile(notebook_path(task.kind, role), folder / f"{role}_{task.kind}.ipynb")
        return grade_class([folder], task, folder / "out", secret_seed=1, jobs=jobs)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default=",".join(TASKS))
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    for name in args.tasks.split(","):
        started = time.monotonic()
        rows = measure(name, args.jobs)
        task = TASKS[name]
        print(f"{name} ({task.metric}); declared anchors {task.baseline:g} -> {task.reference:g}")
        for row in sorted(rows, key=lambda r: r["student"]):
            metrics, scores = row.get("metrics") or {}, row.get("scores") or {}
            print(
                f"  {row['student']:<10} {row['verdict']:<18} public {metrics.get('public', float('nan')):.4f} "
                f"({scores.get('public', 0):5.1f})  private {metrics.get('private', float('nan')):.4f} "
                f"({scores.get('private', 0):5.1f})  notebook {row.get('seconds')} s  {row.get('message', '')}"
            )
        print(f"  graded in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
