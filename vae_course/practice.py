"""``vae-course practice``: a timed olympiad paper in the terminal.

    vae-course practice                       # the 60-minute round-2 paper, a fresh seed
    vae-course practice --minutes 30 --seed 7 # a chosen paper, shorter
    vae-course practice --paper vae-quick     # 5 items, 20 minutes
    vae-course practice --seed 7 < answers.txt
    vae-course practice --history             # your scores per topic over time
    vae-course practice --formulas            # the formula sheet

Items are printed one at a time and answers read from standard input, one per line: a
letter for multiple choice, a number for numeric items, one number per step for
derivations, and for a coding item the path of a Python file that defines the asked
function (or a one-line ``lambda``). An empty line skips. Answers given after the time is
up are not counted (the clock is checked after every answer). At the end the score out of
N and the per-topic breakdown are printed, then your history (score per topic over your
attempts, :mod:`vae_course.drills.exam_history`) and your weakest topics; the last line is
``Score: X / N (P%)``. ``--review`` then prints every worked solution.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from vae_course.drills import exam_history
from vae_course.drills.exam import PAPERS, Exam, ExamItem, ExamReport, exam
from vae_course.drills.formulas import formula_sheet


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Options of ``vae-course practice``."""
    parser.add_argument(
        "--paper", default="vae-round2", choices=sorted(PAPERS), help="which paper to sit"
    )
    parser.add_argument(
        "--minutes", type=float, default=None, help="time limit (default: the paper's)"
    )
    parser.add_argument("--seed", type=int, default=None, help="paper seed (same seed, same paper)")
    parser.add_argument(
        "--review", action="store_true", help="print the worked solutions after the score"
    )
    parser.add_argument(
        "--history",
        action="store_true",
        help="print your scores per topic over time and your weakest topics, then stop",
    )
    parser.add_argument(
        "--formulas", action="store_true", help="print the formula sheet, then stop"
    )


def _read(stream: TextIO) -> str | None:
    line = stream.readline()
    if line == "":
        return None  # end of input
    return line.strip()


def _number_or_text(text: str) -> Any:
    try:
        return float(text)
    except ValueError:
        return text  # the checker explains what a number looks like


def _code_answer(text: str, name: str) -> Any:
    """The function a coding item's answer line gives: ``name`` from a Python file, or a
    one-line lambda. The learner's own code, run in this process, as in a notebook;
    anything that fails is handed to the checker as text (it explains what it expects)."""
    import math

    import torch
    import torch.nn.functional as F

    namespace: dict[str, Any] = {"math": math, "torch": torch, "F": F, "nn": torch.nn}
    try:
        if text.endswith(".py"):
            source = Path(text).expanduser().read_text(encoding="utf-8")
            exec(compile(source, text, "exec"), namespace)  # noqa: S102 - the learner's own file
            return namespace.get(name, f"{text} defines no `{name}`")
        return eval(compile(text, "<answer>", "eval"), namespace)  # noqa: S307 - their own lambda
    except Exception as error:  # noqa: BLE001 - a broken answer is the learner's to fix
        return f"{type(error).__name__}: {error}"


def _ask_item(item: ExamItem, stream: TextIO, out: TextIO) -> tuple[Any, bool]:
    """(answer, input exhausted) for one item; ``...`` when skipped."""
    if item.format == "derivation":
        values: dict[str, Any] = {}
        for step in item.drill.parts:  # type: ignore[attr-defined]
            print(f"  {step.key} ({step.points:g} pt, {step.description}): ", end="", file=out)
            out.flush()
            line = _read(stream)
            if line is None:
                print(file=out)
                return (values or Ellipsis), True
            if line:
                values[step.key] = _number_or_text(line)
        return (values or Ellipsis), False
    kind = {
        "choice": "letter",
        "code": f"path of a .py file defining `{item.drill.answer_name}`, or a lambda",
    }.get(item.format, "number")
    print(f"Your answer ({kind}, empty line to skip): ", end="", file=out)
    out.flush()
    line = _read(stream)
    if line is None:
        print(file=out)
        return Ellipsis, True
    if not line:
        return Ellipsis, False
    if item.format == "code":
        return _code_answer(line, item.drill.answer_name), False
    return (line if item.format == "choice" else _number_or_text(line)), False


def session(
    paper: str = "vae-round2",
    minutes: float | None = None,
    seed: int | None = None,
    *,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    clock: Callable[[], float] | None = None,
    review: bool = False,
    history: bool = True,
) -> ExamReport:
    """Run one paper on text streams (default: the terminal) and return its report.

    ``clock`` returns seconds (default: the exam's own); tests pass a fake one. With
    ``history`` the result is added to the practice history, which is printed with the
    weakest topics before the final score line.
    """
    stream = sys.stdin if stdin is None else stdin
    out = sys.stdout if stdout is None else stdout
    current: Exam = exam(paper, minutes=minutes, seed=seed, clock=clock)
    print(f"{current.paper.title}, seed {current.seed}", file=out)
    print(
        f"{len(current.items)} items, {sum(i.max_score for i in current.items):g} points, "
        f"{current.minutes:g} minutes. One answer per line; an empty line skips. "
        "Hints and solutions are off until the end.",
        file=out,
    )
    exhausted = False
    for item in current.items:
        if exhausted or not current.running:
            break
        print(
            f"\n=== Item {item.number} of {len(current.items)} ({item.topic}, {item.format}, "
            f"{item.max_score:g} points) — {current.remaining() / 60:.1f} min left ===",
            file=out,
        )
        print(item.text(), file=out)
        answer, exhausted = _ask_item(item, stream, out)
        if answer is not Ellipsis:
            message = current.answer(item.number, answer)
            if message.style == "refused":
                print("Time is up: this answer came too late and is not counted.", file=out)
                break
    if not current.running:
        print("\nTime is up.", file=out)
    report = current.finish()
    print("", file=out)
    print(str(report), file=out)
    if review:
        for item in current.items:
            print("", file=out)
            print(str(current.solution(item.number)), file=out)
    if history:
        problem = exam_history.record(report)
        print("", file=out)
        print(exam_history.summary(exam_history.load()), file=out)
        if problem:
            print(problem, file=out)
        print(report.score_line(), file=out)
    return report


def run(args: argparse.Namespace) -> int:
    """Entry point of ``vae-course practice``: 0 after a finished paper, 2 for bad options."""
    minutes = args.minutes
    if minutes is not None and not minutes > 0:
        print("vae-course practice: --minutes must be a positive number", file=sys.stderr)
        return 2
    if args.seed is not None and args.seed < 0:
        print("vae-course practice: --seed must be a non-negative integer", file=sys.stderr)
        return 2
    if args.formulas:
        print(formula_sheet())
        return 0
    if args.history:
        print(exam_history.summary(exam_history.load()))
        return 0
    session(args.paper, minutes, args.seed, review=args.review)
    return 0
