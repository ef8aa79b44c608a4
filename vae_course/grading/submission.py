"""Grading one submission: read it, run it, harvest, observe, judge, and keep the record.

:func:`grade_submission` never raises. The steps, each in its place:

1. **Read** the notebook here, statically (:mod:`.notebook_code`): which answer names it
   binds, literal values, the statements that rebuild each answer function, code that
   rebinds the checkers.
2. **Run** it in a fresh kernel inside the sandbox and harvest its answer values
   (:mod:`.execute`).
3. **Observe** its graded functions on the judge's probes, in a second sandbox where the
   course's implementations do not exist (:mod:`.probes`).
4. **Judge** values and observations here (:mod:`.judge`), without running learner code,
   then apply an olympiad problem's notebook-wide import rule (:mod:`.problem_rules`).

The record (stored as ``results/*.json`` by :mod:`.batch`) holds the flags (statuses that
apply), each drill's verdict, the student-id fields of the metadata, notes for the
learner, a log for the teacher, and the time taken. It is plain data, so a submission can
be graded on another machine (a Dask worker) and its record sent back.
"""

from __future__ import annotations

import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vae_course.drills import guard

from . import judge, probes, problem_rules
from .env import Options
from .execute import run_notebook
from .harvest import encode_value
from .notebook_code import NotebookCode
from .notebook_file import InvalidNotebook, chapter_of, notebook_metadata, read_notebook
from .processes import remove_tree
from .sandbox import Sandbox, choose

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


_SANDBOXES: dict[str, Sandbox] = {}
_SCRATCH: dict[str, Path] = {}


def sandbox_for(options: Options) -> Sandbox:
    """The sandbox ``options`` name, chosen once per process (bubblewrap, container, none)."""
    if options.sandbox not in _SANDBOXES:
        kind, _, image = options.sandbox.partition(":")
        _SANDBOXES[options.sandbox] = choose(
            container=image if kind == "container" else None, no_sandbox=kind == "none"
        )
    return _SANDBOXES[options.sandbox]


def _observer() -> Path:
    """This process's copy of the observing code (made on first use)."""
    if "observer" not in _SCRATCH:
        _SCRATCH["observer"] = probes.observer_package(Path(tempfile.mkdtemp(prefix="vae-obs-")))
    return _SCRATCH["observer"]


def grade_submission(data: bytes, name: str, catalogue: list[DrillInfo], options: Options) -> dict:
    """Grade one submission (the notebook's bytes; ``name`` for messages). Never raises."""
    started = time.monotonic()
    record: dict[str, Any] = {"flags": [], "drills": {}, "notes": [], "log": [], "metadata": {}}
    scratch = Path(tempfile.mkdtemp(prefix="vae-grade-"))
    try:
        _grade_into(record, data, name, catalogue, options, scratch)
    except Exception as error:  # a grader bug must not stop the class
        record["flags"].append("error")
        record["log"].append(f"grader error: {type(error).__name__}: {error}")
        record["log"].append(traceback.format_exc(limit=5))
    finally:
        remove_tree(scratch)
    if options.sandbox == "none":
        _flag(record, "unsandboxed", "graded with --no-sandbox: learner code ran unconfined")
    record["seconds"] = round(time.monotonic() - started, 2)
    return record


def _grade_into(
    record: dict,
    data: bytes,
    name: str,
    catalogue: list[DrillInfo],
    options: Options,
    scratch: Path,
) -> None:
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
    sandbox = sandbox_for(options)
    source = scratch / "submission.ipynb"
    source.write_bytes(data)
    value_names = [drill.answer_name for drill in catalogue if not drill.from_source]
    execution = run_notebook(source, value_names, options, sandbox, scratch / "run")
    _record_execution(record, execution)
    harvest = execution.get("harvest") or {}
    values = harvest.get("values") or {}
    seeds = (harvest.get("integrity") or {}).get("seeds") or {}
    for note in code.tamper_notes():
        _flag(record, "tampered", f"the notebook {note.split(': ', 1)[-1]} ({note.split(': ')[0]})")
    _check_kernel_integrity(record, harvest.get("integrity") or {}, options.package_dir)
    jobs = _code_jobs(record, code, catalogue)
    for drill in catalogue:
        if not drill.from_source:
            _judge_value(record, drill, code, values, seeds, execution)
    replies = probes.observe(jobs, options.probe_seed, options, sandbox, scratch, _observer())
    by_id = {drill.id: drill for drill in catalogue}
    for job in jobs:
        drill = by_id[job["drill"]]
        reply = replies[drill.id]
        verdict = judge.judge_observation(drill.id, reply, options.probe_seed)
        verdict["notes"] = list(job.get("notes") or []) + list(reply.get("notes") or [])
        record["drills"][drill.id] = verdict
    # olympiad problems: imports only in the fixed cell
    problem_rules.apply(record, code, catalogue)
    violations = next((r.get("violations") for r in replies.values() if r.get("violations")), [])
    for violation in violations or []:
        _flag(
            record,
            "sandbox-violation",
            f"while your functions were checked: {violation['what']}: {violation['detail']}",
        )


def _code_jobs(record: dict, code: NotebookCode, catalogue: list[DrillInfo]) -> list[dict]:
    """The probe runner's job for every code drill whose answer the notebook defines."""
    bound = code.bound_names()
    jobs: list[dict] = []
    for drill in catalogue:
        name = drill.answer_name
        if not drill.from_source or name not in bound:
            continue
        units, notes, how = code.rebuild_units(name)
        course = code.imported_from_course(name)
        if course:
            record["drills"][drill.id] = judge.verdict(
                "failed", [guard.refusal_message(name, [f"{course}.{name}"])], 0, drill.max_score
            )
            continue
        if units is None:
            record["drills"][drill.id] = judge.verdict(
                "not found", [NOT_OWN_DEFINITION.format(name=name, how=how)], 0, drill.max_score
            )
            continue
        course = code.course_imports(units)
        if course:
            record["drills"][drill.id] = judge.verdict(
                "failed", [guard.refusal_message(name, course)], 0, drill.max_score
            )
            continue
        jobs.append(
            {
                "drill": drill.id,
                "answer_name": name,
                "units": [unit.to_json() for unit in units],
                "cells": {u.filename: code.cell_sources[u.filename] for u in units},
                "future_flags": code.future_flags,
                "notes": [f"Graded your `{name}` from {code.where_defined(name)}.", *notes],
            }
        )
    return jobs


def _judge_value(
    record: dict,
    drill: DrillInfo,
    code: NotebookCode,
    values: dict,
    seeds: dict,
    execution: dict,
) -> None:
    name = drill.answer_name
    harvested = values.get(name)
    notes: list[str] = []
    if harvested is not None and "value" in harvested:
        encoded = harvested["value"]
    elif harvested is not None:
        reason = harvested.get("not_plain", "not plain data")
        record["drills"][drill.id] = judge.verdict(
            "not gradable",
            [
                f"`{name}` holds {reason}; the grader accepts only plain data (numbers, "
                "strings, lists, tuples, sets and dicts of those). Convert tensors with "
                "`.item()` or `.tolist()`."
            ],
            0,
            drill.max_score,
        )
        return
    elif name in code.bound_names():
        found, literal = code.static_value(name)
        if not found:
            why = (
                "the cell that computes it raised an error before the assignment (see the "
                "cell errors above)"
                if execution.get("harvest") is not None
                else "the notebook stopped (time limit or crash) before computing it"
            )
            record["drills"][drill.id] = judge.verdict(
                "not gradable",
                [f"`{name}` is assigned in your notebook but its value could not be read: {why}."],
                0,
                drill.max_score,
            )
            return
        encoded = encode_value(literal)
        notes.append(
            f"The value of `{name}` was read from your notebook's source (the run did not reach it)."
        )
    else:
        return
    seed = seeds.get(drill.id) if drill.seeded and isinstance(seeds.get(drill.id), int) else None
    verdict = judge.judge_value(drill.id, encoded, seed)
    verdict["notes"] = notes
    record["drills"][drill.id] = verdict


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
