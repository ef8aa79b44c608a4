"""``vae-course grade``: the command line over :func:`vae_course.grading.grade`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .batch import DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT_S, GradingError, grade
from .env import MIN_MEMORY_MB
from .gradebook import STATUS_MEANING, STATUS_ORDER


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``vae-course grade``."""
    parser.add_argument(
        "submissions", nargs="+", metavar="SUBMISSION", help="notebooks, or folders of them"
    )
    parser.add_argument("--out", required=True, metavar="DIR", help="where the gradebook goes")
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_S,
        metavar="S",
        help=f"wall-time limit per notebook in seconds (default {DEFAULT_TIMEOUT_S:g})",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=None,
        metavar="N",
        help="notebooks graded at once (default: half the CPU cores, at most 4)",
    )
    parser.add_argument(
        "--memory-mb",
        type=int,
        default=DEFAULT_MEMORY_MB,
        metavar="M",
        help=f"address-space limit per notebook in MiB (default {DEFAULT_MEMORY_MB}, "
        f"at least {MIN_MEMORY_MB}: torch alone needs about 3.6 GB)",
    )
    parser.add_argument(
        "--assignment",
        default=None,
        metavar="NOTEBOOK[,NOTEBOOK]",
        help="the assignment: the drills the notebook you handed out asks for, e.g. "
        "notebooks/04_elbo.ipynb",
    )
    parser.add_argument(
        "--chapter",
        default=None,
        metavar="NN[,NN]",
        help="the assignment: every drill of these chapters, e.g. 04 or 04,05",
    )
    parser.add_argument(
        "--drills",
        default=None,
        metavar="ID,ID",
        help="the assignment: these drills (with --chapter: in addition to its drills)",
    )
    isolation = parser.add_mutually_exclusive_group()
    isolation.add_argument(
        "--container",
        default=None,
        metavar="IMAGE",
        help="run learner code with docker/podman in IMAGE (vae-course installed) instead of "
        "bubblewrap",
    )
    isolation.add_argument(
        "--no-sandbox",
        action="store_true",
        help="run learner code WITHOUT an OS sandbox (trusted notebooks only; rows are marked "
        "'unsandboxed')",
    )
    parser.add_argument(
        "--scheduler",
        default=None,
        metavar="tcp://HOST:PORT",
        help="grade on a Dask cluster (each worker runs the same sandboxed grading)",
    )
    parser.add_argument(
        "--probe-seed",
        type=int,
        default=None,
        metavar="N",
        help="the seed of the probes of code drills (default: a fresh secret one per run)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = (
        "Writes DIR/gradebook.csv, DIR/feedback/*.md|html, DIR/grading.log, DIR/results/.\n"
        "Re-running with the same --out regrades only changed submissions.\n\n"
        "Statuses (first that applies):\n"
        + "\n".join(f"  {status:<18} {STATUS_MEANING[status]}" for status in STATUS_ORDER)
    )


def run(args: argparse.Namespace) -> int:
    """``vae-course grade``: grade, print a summary, return the exit code."""

    def listed(text: str | None) -> list[str] | None:
        return [item.strip() for item in text.split(",") if item.strip()] if text else None

    try:
        rows = grade(
            args.submissions,
            args.out,
            handouts=listed(args.assignment),
            chapters=listed(args.chapter),
            drills=listed(args.drills),
            timeout=args.timeout,
            jobs=args.jobs,
            memory_mb=args.memory_mb,
            container=args.container,
            no_sandbox=args.no_sandbox,
            scheduler=args.scheduler,
            probe_seed=args.probe_seed,
            progress=not args.quiet,
        )
    except (ValueError, GradingError) as error:
        print(f"vae-course grade: {error}", file=sys.stderr)
        return 2 if isinstance(error, ValueError) else 1
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.status] = counts.get(row.status, 0) + 1
    resumed = sum(row.resumed for row in rows)
    out = Path(args.out)
    print(
        f"Graded {len(rows)} submission(s) ({len(rows) - resumed} run, {resumed} unchanged) -> "
        f"{out / 'gradebook.csv'}"
    )
    print("Statuses: " + ", ".join(f"{s} {counts[s]}" for s in STATUS_ORDER if s in counts))
    print(f"Feedback: {out / 'feedback'}   Log: {out / 'grading.log'}")
    return 0
