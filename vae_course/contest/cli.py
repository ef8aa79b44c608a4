"""``vae-course contest``: list the tasks, write a task's files, grade a class.

    vae-course contest tasks
    vae-course contest data --task anomaly-home --dir my-task/     # data/ + submission.ipynb
    vae-course contest grade SUBMISSIONS/ --task anomaly-home --out results/ \\
        [--secret-seed N] [--timeout S] [--jobs N] [--memory-mb M] [--no-sandbox]

``grade`` writes ``leaderboard.csv``, ``leaderboard.md``, ``results/`` and ``contest.log``
(:mod:`vae_course.contest.leaderboard`); without ``--secret-seed`` the private split's seed
is drawn at grading time and never written anywhere.
"""

from __future__ import annotations

import argparse
import sys

from .tasks import TASKS


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """The sub-commands of ``vae-course contest``."""
    sub = parser.add_subparsers(dest="action", metavar="ACTION")
    sub.add_parser("tasks", help="list the contest tasks")
    data = sub.add_parser("data", help="write a task's public files and starter notebook")
    data.add_argument("--task", required=True, choices=sorted(TASKS))
    data.add_argument("--dir", required=True, metavar="DIR")
    grade = sub.add_parser("grade", help="grade a class of submissions: the leaderboard")
    grade.add_argument("submissions", nargs="+", metavar="SUBMISSION")
    grade.add_argument("--task", required=True, choices=sorted(TASKS))
    grade.add_argument("--out", required=True, metavar="DIR")
    grade.add_argument("--secret-seed", type=int, default=None, metavar="N")
    grade.add_argument("--timeout", type=float, default=None, metavar="S")
    grade.add_argument("--jobs", type=int, default=None, metavar="N")
    grade.add_argument("--memory-mb", type=int, default=8192, metavar="M")
    grade.add_argument("--no-sandbox", action="store_true")


def run(args: argparse.Namespace) -> int:
    """Entry point; 0 on success, 2 for bad arguments, 1 when grading cannot run."""
    action = getattr(args, "action", None)
    if action == "tasks":
        for task in TASKS.values():
            direction = "higher" if task.higher_is_better else "lower"
            print(f"{task.name:<20} {task.round:<8} {task.title}")
            print(
                f"{'':<20} {task.metric}, {direction} is better; 0 at {task.baseline:g}, 100 at {task.reference:g}"
            )
        return 0
    if action == "data":
        from . import write_task

        for path in write_task(args.task, args.dir):
            print(path)
        return 0
    if action == "grade":
        if args.secret_seed is not None and args.secret_seed < 0:
            print(
                "vae-course contest: --secret-seed must be a non-negative integer", file=sys.stderr
            )
            return 2
        from .leaderboard import grade_class

        try:
            rows = grade_class(
                args.submissions,
                args.task,
                args.out,
                secret_seed=args.secret_seed,
                timeout=args.timeout,
                jobs=args.jobs,
                memory_mb=args.memory_mb,
                no_sandbox=args.no_sandbox,
            )
        except ValueError as error:
            print(f"vae-course contest: {error}", file=sys.stderr)
            return 2
        except RuntimeError as error:
            print(f"vae-course contest: {error}", file=sys.stderr)
            return 1
        for row in rows:
            scores = row.get("scores") or {}
            print(
                f"{row['rank']:>3}. {row['student']:<20} {row['verdict']:<19} private "
                f"{scores.get('private', 0.0):5.1f}  public {scores.get('public', 0.0):5.1f}"
            )
        print(f"Leaderboard: {args.out}/leaderboard.md")
        return 0
    print("usage: vae-course contest {tasks,data,grade} ...", file=sys.stderr)
    return 2
