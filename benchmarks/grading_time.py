"""Seconds to grade the unchanged chapter 04 solution, and where they go.

    .venv/bin/python benchmarks/grading_time.py [--chapter 04] [--jobs 2] [--repeats 3]
    .venv/bin/python benchmarks/grading_time.py --compare /path/to/older/checkout

Grades ``solutions/NN_*.ipynb`` (fast mode, the notebook's own assignment) from a fresh
output folder, ``--repeats`` times, and prints the best wall time with the share spent
running the notebook (its sandboxed kernel) and the rest (reading, the sandboxed run of the
graded functions, judging). ``--compare DIR`` also times the ``vae-course grade`` of
another checkout (its own ``.venv``), in the same run, and prints the ratio: timings on a
shared machine are only comparable within one run.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _grade(repo: Path, notebook: Path, jobs: int, extra: list[str]) -> tuple:
    folder = Path(tempfile.mkdtemp(prefix="vae-bench-grade-"))
    try:
        shutil.copy(notebook, folder / f"bench_{notebook.name}")
        command = [str(repo / ".venv" / "bin" / "python"), "-m", "vae_course.cli", "grade"]
        command += [str(folder)]
        command += ["--out", str(folder / "out"), "--jobs", str(jobs), "--quiet", *extra]
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, cwd=repo)
        seconds = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(f"grading failed ({repo}): {done.stderr[-1500:]}")
        records = list((folder / "out" / "results").glob("*.json"))
        record = json.loads(records[0].read_text()) if records else {}
        execution = float((record.get("execution") or {}).get("seconds") or 0.0)
        total = sum(float(v.get("score", 0)) for v in record.get("drills", {}).values())
        return seconds, execution, total
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chapter", default="04")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--compare", type=Path, default=None, help="an older checkout")
    args = parser.parse_args()
    notebook = next((ROOT / "solutions").glob(f"{args.chapter}_*.ipynb"))
    handout = ROOT / "notebooks" / notebook.name
    runs = {"this checkout": (ROOT, ["--assignment", str(handout)])}
    if args.compare is not None:  # an older grader chose its columns from the submissions
        runs["compared"] = (args.compare.resolve(), [])
    best: dict[str, tuple] = {}
    for _ in range(args.repeats):
        for name, (repo, extra) in runs.items():
            result = _grade(repo, notebook, args.jobs, extra)
            if name not in best or result[0] < best[name][0]:
                best[name] = result
    print(f"grading {notebook.name} with --jobs {args.jobs}, best of {args.repeats}:")
    for name, (seconds, execution, total) in best.items():
        print(
            f"  {name:<14} {seconds:6.1f} s  (notebook run {execution:5.1f} s, "
            f"rest {seconds - execution:5.1f} s; score {total:g})"
        )
    if "compared" in best:
        ratio = best["this checkout"][0] / best["compared"][0]
        print(f"  ratio this / compared: {ratio:.2f}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
