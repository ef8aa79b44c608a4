"""Grading one submission: read it, run it, harvest, check, and keep the record.

:func:`grade_submission` never raises. The record (stored as ``results/*.json`` by
:mod:`.batch`) holds the flags (statuses that apply), each drill's verdict, the student-id
fields of the metadata, notes for the learner, a log for the teacher, and the time taken.
"""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .env import Options
from .execute import run_notebook
from .harvest import decode_value, encode_value
from .notebook_code import (
    InvalidNotebook,
    NotebookCode,
    chapter_of,
    notebook_metadata,
    read_notebook,
)
from .pool import CheckerPool

# Learner-visible message for an answer the grader cannot hand to a checker.

NOT_OWN_DEFINITION = (
    "not found: `{name}` is bound, but not by your own `def`/`class` (it comes from {how}); "
    "write the definition the drill asks for."
)


@dataclass(frozen=True)
class DrillInfo:
    """What the grader needs to know about one drill (copied from the registry)."""

    id: str
    chapter: str
    answer_name: str
    kind: str
    max_score: float
    seeded: bool = False
    runs_code: bool = False

    @property
    def from_source(self) -> bool:
        """Code drills (function, module) are rebuilt from source; the others are harvested."""
        return self.runs_code


def grade_submission(
    path: Path, catalogue: list[DrillInfo], options: Options, checkers: CheckerPool
) -> dict:
    """Grade one submission: read, execute, check. Never raises; returns the result record.

    The record (stored as ``results/*.json`` by :mod:`vae_course.grading`) holds ``flags``
    (statuses that apply), ``drills`` (``{drill_id: {status, score, max_score, feedback,
    notes}}`` for every drill whose answer the notebook binds), ``metadata`` (student id
    fields), ``notes`` (for the learner), ``log`` (for the teacher) and ``seconds``.
    """
    started = time.monotonic()
    record: dict[str, Any] = {"flags": [], "drills": {}, "notes": [], "log": [], "metadata": {}}
    try:
        _grade_into(record, Path(path), catalogue, options, checkers)
    except Exception as error:  # a grader bug must not stop the class
        record["flags"].append("error")
        record["log"].append(f"grader error: {type(error).__name__}: {error}")
        record["log"].append(traceback.format_exc(limit=5))
    record["seconds"] = round(time.monotonic() - started, 2)
    return record


def _grade_into(
    record: dict, path: Path, catalogue: list[DrillInfo], options: Options, checkers
) -> None:
    try:
        data = path.read_bytes()
    except OSError as error:
        record["flags"].append("invalid-notebook")
        record["notes"].append(f"This file could not be read ({error.strerror or error}).")
        return
    try:
        notebook = read_notebook(data)
    except InvalidNotebook as error:
        record["flags"].append("invalid-notebook")
        record["notes"].append(f"This file could not be graded: {error}.")
        return
    metadata = notebook_metadata(notebook)
    record["metadata"] = {
        key: str(metadata[key])[:200]
        for key in ("student_id", "student")
        if isinstance(metadata.get(key), (str, int)) and not isinstance(metadata.get(key), bool)
    }
    record["chapter"] = chapter_of(metadata)
    code = NotebookCode(notebook)
    for message in code.syntax_errors:
        record["notes"].append(f"Syntax error, cell skipped when rebuilding your code: {message}")
    bound = code.bound_names()
    value_names = [drill.answer_name for drill in catalogue if not drill.from_source]
    execution = run_notebook(path, value_names, options)
    _record_execution(record, execution)
    harvest = execution.get("harvest") or {}
    values = harvest.get("values") or {}
    seeds = (harvest.get("integrity") or {}).get("seeds") or {}
    for note in code.tamper_notes():
        _flag(record, "tampered", f"the notebook {note.split(': ', 1)[-1]} ({note.split(': ')[0]})")
    _check_kernel_integrity(record, harvest.get("integrity") or {}, options.package_dir)
    jobs: list[dict] = []
    for drill in catalogue:
        name = drill.answer_name
        if drill.from_source:
            if name not in bound:
                continue
            units, notes, how = code.rebuild_units(name)
            if units is None:
                record["drills"][drill.id] = _verdict(
                    drill, "not found", [NOT_OWN_DEFINITION.format(name=name, how=how)]
                )
                continue
            notes = [f"Graded your `{name}` from {code.where_defined(name)}.", *notes]
            jobs.append(
                {
                    "drill": drill.id,
                    "mode": "source",
                    "answer_name": name,
                    "units": [unit.to_json() for unit in units],
                    "cells": {u.filename: code.cell_sources[u.filename] for u in units},
                    "future_flags": code.future_flags,
                    "notes": notes,
                }
            )
            continue
        harvested = values.get(name)
        if harvested is not None and "value" in harvested and not _decodable(harvested["value"]):
            harvested = {"not_plain": "a value that could not be read back"}
        if harvested is not None and "value" in harvested:
            job = {"drill": drill.id, "mode": "value", "value": harvested["value"], "notes": []}
        elif harvested is not None:
            reason = harvested.get("not_plain", "not plain data")
            record["drills"][drill.id] = _verdict(
                drill,
                "not gradable",
                [
                    f"`{name}` holds {reason}; the grader accepts only plain data (numbers, "
                    "strings, lists, tuples, sets and dicts of those). Convert tensors with "
                    "`.item()` or `.tolist()`."
                ],
            )
            continue
        elif name in bound:
            found, literal = code.static_value(name)
            if not found:
                why = (
                    "the cell that computes it raised an error before the assignment (see the "
                    "cell errors above)"
                    if execution.get("harvest") is not None
                    else "the notebook stopped (time limit or crash) before computing it"
                )
                record["drills"][drill.id] = _verdict(
                    drill,
                    "not gradable",
                    [
                        f"`{name}` is assigned in your notebook but its value could not be read: {why}."
                    ],
                )
                continue
            note = f"The value of `{name}` was read from your notebook's source (the run did not reach it)."
            job = {
                "drill": drill.id,
                "mode": "value",
                "value": encode_value(literal),
                "notes": [note],
            }
        else:
            continue
        if drill.seeded and isinstance(seeds.get(drill.id), int):
            job["seed"] = seeds[drill.id]
        jobs.append(job)
    replies = checkers.check(jobs, options.check_timeout) if jobs else {}
    by_id = {drill.id: drill for drill in catalogue}
    for job in jobs:
        drill = by_id[job["drill"]]
        reply = replies.get(drill.id) or {
            "status": "error",
            "score": 0.0,
            "feedback": ["no verdict"],
        }
        verdict = _verdict(drill, reply.get("status", "error"), reply.get("feedback") or [])
        verdict["score"] = min(max(float(reply.get("score") or 0.0), 0.0), drill.max_score)
        verdict["notes"] = list(job.get("notes") or []) + list(reply.get("notes") or [])
        record["drills"][drill.id] = verdict
        for violation in reply.get("violations") or []:
            _flag(
                record,
                "sandbox-violation",
                f"while checking {drill.id}: {violation['what']}: {violation['detail']}",
            )
            verdict["notes"].append(
                f"While being checked, your code tried something the grader does not allow "
                f"({violation['what']}: {violation['detail']}); it was refused."
            )
        if verdict["status"] == "tampered":
            _flag(record, "tampered", f"{drill.id}: changed {', '.join(reply.get('changed', []))}")
        elif verdict["status"] == "error":
            record["log"].append(f"{drill.id}: checker problem: {' '.join(verdict['feedback'])}")


def _decodable(data: Any) -> bool:
    try:
        decode_value(data)
    except Exception:  # a kernel that tampered with its own json module, say
        return False
    return True


def _verdict(drill: DrillInfo, status: str, feedback: list[str]) -> dict:
    return {
        "status": status,
        "score": 0.0,
        "max_score": float(drill.max_score),
        "feedback": [str(line) for line in feedback],
        "notes": [],
    }


def _flag(record: dict, flag: str, detail: str) -> None:
    if flag not in record["flags"]:
        record["flags"].append(flag)
    record["log"].append(f"{flag}: {detail}")


def _record_execution(record: dict, execution: dict) -> None:
    record["execution"] = {
        key: execution.get(key)
        for key in (
            "started",
            "cells_run",
            "cells_total",
            "timed_out",
            "kernel_died",
            "hard_killed",
            "seconds",
        )
    }
    record["cell_errors"] = execution.get("errors") or []
    record["violations"] = execution.get("violations") or []
    if execution.get("error") and not execution.get("started"):
        _flag(record, "crashed", f"the kernel did not start: {execution['error']}")
        record["notes"].append("Your notebook could not be run (the kernel did not start).")
    if execution.get("timed_out"):
        _flag(record, "timeout", f"stopped at the {execution.get('timeout_s', '?')} s time limit")
        record["notes"].append(
            "Your notebook did not finish within the time limit and was stopped; everything that "
            "can be graded without the rest of the run was graded. Look for an endless loop or "
            "a very long training run."
        )
    elif execution.get("kernel_died"):
        _flag(record, "crashed", "the kernel died (memory limit, or a crash in native code)")
        record["notes"].append(
            "The kernel running your notebook died (it ran out of memory or crashed); answers "
            "were graded from what could be recovered."
        )
    for violation in record["violations"]:
        _flag(record, "sandbox-violation", f"{violation['what']}: {violation['detail']}")
    if record["violations"]:
        shown = "; ".join(f"{v['what']} ({v['detail']})" for v in record["violations"][:5])
        record["notes"].append(
            f"Your notebook tried operations the grader does not allow, and they were refused: {shown}."
        )
    memory_errors = [e["cell"] for e in record["cell_errors"] if e.get("ename") == "MemoryError"]
    if memory_errors:
        record["log"].append(f"MemoryError (address-space limit) in cell(s) {memory_errors}")
        record["notes"].append(
            f"Cell(s) {', '.join(map(str, memory_errors))} ran out of memory: the grader allows "
            "each notebook a limited amount; use smaller tensors or batches."
        )
    if execution.get("leftover_processes"):
        record["log"].append(f"killed {execution['leftover_processes']} process(es) left running")
    if execution.get("harvest_error"):
        record["log"].append(f"harvest: {execution['harvest_error']}")


def _check_kernel_integrity(record: dict, integrity: dict, package_dir: str) -> None:
    """Flag a kernel whose course package or checkers did not come from the installed package."""
    if not package_dir:
        return
    root = Path(package_dir).resolve()

    def foreign(file: Any) -> bool:
        if not isinstance(file, str) or not file:
            return False
        try:
            return root not in Path(file).resolve().parents
        except (OSError, ValueError):
            return True

    for key in ("vae_course_file", "drills_file", "check_file"):
        if foreign(integrity.get(key)):
            _flag(record, "tampered", f"in the notebook's kernel, {key} = {integrity[key]}")
    for name, info in (integrity.get("names") or {}).items():
        if name not in ("drills", "vae_course"):  # a learner's own `check` is not tampering
            continue
        if (
            isinstance(info, dict)
            and foreign(info.get("file"))
            and not str(info.get("file")).startswith("<")
        ):
            _flag(
                record,
                "tampered",
                f"in the notebook's kernel, `{name}` comes from {info.get('file')}",
            )
