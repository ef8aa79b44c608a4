"""Classroom grading: ``vae-course grade SUBMISSION... --out DIR``.

A teacher collects the learners' notebooks and runs::

    vae-course grade submissions/ --out grades/ [--timeout 600] [--jobs 2] [--memory-mb 8192]

Each submission (an ``.ipynb``, or a folder searched recursively for them) is graded on
its own; the rest of the class is graded whatever one notebook does.

How one submission is graded (:func:`vae_course.grading_worker.grade_submission`)
-------------------------------------------------------------------------------
1. **Read.** The file must be a readable notebook, else its status is ``invalid-notebook``.
   Its code cells are turned into plain Python (magics and ``!shell`` lines removed) and
   parsed, in notebook order.
2. **Execute.** A copy of the notebook runs top to bottom in a fresh kernel of the
   grader's own Python, with ``allow_errors`` (a failing cell does not stop the rest), in
   a private temporary folder that is also its ``HOME``, ``TMPDIR`` and
   ``VAE_COURSE_CACHE`` (no state is shared between learners: a shared trained-model
   cache would let one learner's model be loaded by another), with ``VAE_COURSE_FAST=1``
   and ``VAE_COURSE_OFFLINE=1``, on the CPU (``CUDA_VISIBLE_DEVICES`` is emptied: CUDA
   cannot start under an address-space limit, and fast mode is small). Limits: ``--timeout`` seconds of wall time for all cells
   together (then the kernel is interrupted, or killed, and the status is ``timeout``) and
   ``--memory-mb`` of address space (``RLIMIT_AS`` on the process that starts the kernel,
   inherited by the kernel and its children; torch alone reserves about 3.3 GB of address
   space, so keep it at 6000 or more; not enforced on macOS); files are capped at
   ``MAX_FILE_MB`` (``RLIMIT_FSIZE``); processes the notebook leaves behind are killed. A
   sandbox (an audit hook, see :mod:`vae_course.sandbox_site`) refuses reads outside the
   working folder and the Python installation (and always of the submissions' folders,
   ``--out`` and ``solutions/``), writes and deletions outside the working folder, shells
   and network access; refused operations give the status ``sandbox-violation``. The
   learner's outputs are never read: a printed "passed" counts for nothing.
3. **Harvest values.** A cell appended after the learner's cells serialises the value of
   each value-answer name (``answer_kl_zero``, ``latent_dim_results``...) as tagged JSON:
   only plain data (numbers, strings, ``...``, lists, tuples, sets and dicts of those; numpy
   scalars and 0-d tensors count as numbers); anything else is "not gradable". If the run
   never reached the cell (time limit, crash), a literal assignment is read from the source.
4. **Rebuild functions from source.** For each implementation drill, the *last* top-level
   ``def``/``class`` (or ``name = lambda``) of its answer name, in notebook order across all
   cells, is taken — renamed, duplicated, reordered or merged cells do not matter — plus,
   transitively, what it refers to: imports, other top-level definitions, and assignments of
   simple values (literals, arithmetic, containers, calls of imported library functions).
   ``name = drills.use("id", name)`` is honoured with the clean ``drills.use``. Nothing else
   of the notebook runs in the grader: training loops, prints and any monkeypatching of
   ``drills.check`` at top level are simply not part of the rebuild.
5. **Check in a clean process.** An isolated checker (``python -I``: no ``PYTHONPATH``, no
   user site, no current folder on ``sys.path``; started in an empty folder) imports the
   installed ``vae_course`` once and refuses to run if any ``vae_course`` module comes from
   elsewhere, so a notebook that ships or imports its own copy of the checkers gains
   nothing. It forks one child per drill: the child rebuilds the answer, calls the checker
   through references captured before any learner code ran (``record=False``: no progress
   file), and compares the checker modules, the drill registry, ``builtins`` and key torch
   namespaces before and after; a change makes that drill ``tampered`` with no points. The
   child runs under the same sandbox as the kernel (the learner's function is called
   there), with the memory limit, and is killed after ``CHECK_TIMEOUT_S`` seconds.
   Learner-facing messages are the drills' own ``Result.feedback``: never a reference value.

Which drills are graded
-----------------------
One column per drill whose answer name is bound (defined, assigned or imported at module
level, e.g. by the student notebook's stub) in ANY submission of the batch; when the
notebooks carry the course's metadata (``vae-course build`` records
``metadata.vae_course.source = "solutions/04_elbo.ipynb"``), only the drills of the
chapters found that way, so a learner who also defines another chapter's function does not
add a column for the whole class. ``--drills ID,ID`` fixes the columns instead. A
submission that lacks an answer gets 0 for it with "not found: define `kl_divergence` as
the drill asks".

Student id
----------
The notebook metadata ``student_id``, else ``student``; else the file name up to the first
``_``, ``-``, space or dot (``alice_04_elbo.ipynb`` → ``alice``); if that part is a number
(``04_elbo.ipynb``) the name of the folder holding the file (``alice/04_elbo.ipynb`` →
``alice``). A metadata id that differs from the file-name id is noted in ``grading.log``.

Statuses (``status`` column: the first that applies, in this order; ``flags``: all)
-----------------------------------------------------------------------------------
``invalid-notebook``  not a readable notebook (empty, not JSON, not a notebook); all zeros.
``error``             the grader failed on this submission (details in grading.log); it is
                      graded again on the next run.
``tampered``          the notebook rebinds/patches the checkers, its kernel used a copy of
                      them, or an answer changed them while being checked. Points are those
                      earned in the clean checker (a patched drill gets none).
``sandbox-violation`` it tried to read/write/delete outside its folder, start a shell or a
                      program, or reach the network; the operations were refused.
``timeout``           it ran past ``--timeout``; graded from what could be graded.
``crashed``           the kernel died (memory limit, native crash) or did not start.
``no-answers``        none of the gradebook's drills was answered (answers not found, or
                      left as the student notebook's stubs).
``ok``                none of the above (cells that raise, e.g. stubs, are fine).
Warnings and stderr output never matter.

Outputs (all written atomically) in ``--out DIR``
-------------------------------------------------
``gradebook.csv``         file, student_id, one score column per drill, total, max_total,
                          status, flags, vae_course_version, seconds.
``feedback/NAME.md|html`` per submission: each drill's score and the messages the learner
                          saw in the notebook, and the grader's notes.
``grading.log``           one line per submission (status, score, time taken), then details.
``results/*.json``        the per-submission records. Re-running with the same ``--out``
                          resumes: a submission whose content (SHA-256), grader version,
                          drill code and limits are unchanged is not run again; changed
                          ones are regraded, and the CSV, feedback and log are rebuilt.

Grading needs Linux or macOS (fork, process groups, resource limits).

Known limits of the sandbox
---------------------------
Audit hooks only see Python-level operations: native code (``torch.save``'s C++ writer,
``ctypes``) is not seen, and code that goes looking for the hook can disable it. The grader
also trusts the learner's functions with the checker's process for the time of the check:
tampering with the checker's modules is detected, but a determined attacker who studies
this code could still forge a verdict. For an untrusted class, run the whole grader in a
container or as a dedicated user without access to anything else. Feedback files say which
cell each answer was rebuilt from, so a teacher can read the code behind every grade.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import csv
import hashlib
import html
import io
import json
import os
import re
import sys
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from vae_course import __version__, storage

RESULT_SCHEMA = 1
STATUS_ORDER = (
    "invalid-notebook",
    "error",
    "tampered",
    "sandbox-violation",
    "timeout",
    "crashed",
    "no-answers",
    "ok",
)
STATUS_MEANING = {
    "invalid-notebook": "not a readable notebook; nothing could be graded",
    "error": "the grader failed on this submission (see grading.log)",
    "tampered": "the notebook changed or replaced the checkers; only points earned in the "
    "clean grader count",
    "sandbox-violation": "the notebook tried operations outside its working folder; they were refused",
    "timeout": "the notebook ran past the time limit; what could be graded was graded",
    "crashed": "the kernel died (out of memory or a crash); what could be graded was graded",
    "no-answers": "none of the drills was answered (answers missing or left as stubs)",
    "ok": "graded normally",
}
DEFAULT_TIMEOUT_S = 600.0
DEFAULT_MEMORY_MB = 8192
NOT_FOUND = "not found: define `{name}` as the drill asks (see drills.prompt({drill!r}))."


class GradingError(RuntimeError):
    """The batch cannot be graded at all (e.g. the checkers do not load); says how to fix it."""


@dataclass
class Row:
    """One gradebook row: a submission's scores and status."""

    file: str
    student_id: str
    scores: dict[str, float]
    total: float
    max_total: float
    status: str
    flags: list[str]
    vae_course_version: str
    seconds: float
    feedback_markdown: Path
    feedback_html: Path
    resumed: bool = False
    drills: dict[str, dict] = field(default_factory=dict)


# =============================================================== command line


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
        help=f"address-space limit per notebook in MiB (default {DEFAULT_MEMORY_MB}; torch needs ~4000)",
    )
    parser.add_argument(
        "--drills",
        default=None,
        metavar="ID,ID",
        help="grade exactly these drills (default: the drills answered in any submission, "
        "limited to the chapters handed in)",
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
    drill_ids = [d.strip() for d in args.drills.split(",") if d.strip()] if args.drills else None
    try:
        rows = grade(
            args.submissions,
            args.out,
            timeout=args.timeout,
            jobs=args.jobs,
            memory_mb=args.memory_mb,
            drills=drill_ids,
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


# =============================================================== the Python API


def grade(
    submissions: str | os.PathLike | list[str | os.PathLike],
    out_dir: str | os.PathLike,
    *,
    timeout: float = DEFAULT_TIMEOUT_S,
    jobs: int | None = None,
    memory_mb: int = DEFAULT_MEMORY_MB,
    drills: list[str] | None = None,
    progress: bool = True,
) -> list[Row]:
    """Grade ``submissions`` (notebooks or folders of them) into ``out_dir``; one Row each.

    Re-running with the same ``out_dir`` reuses the stored result of every submission whose
    content and grading settings are unchanged. ``drills`` fixes the gradebook's columns
    (default: every drill answered in any submission). Raises ``ValueError`` for missing
    paths or bad limits and :class:`GradingError` when the checkers cannot start.
    """
    from vae_course import grading_worker as worker

    if os.name != "posix" or not hasattr(os, "fork"):
        raise GradingError(
            "classroom grading needs Linux or macOS (it relies on fork, process groups and "
            "resource limits); run it there or in WSL"
        )
    missing = [name for name in ("nbformat", "nbclient", "ipykernel") if not _importable(name)]
    if missing:
        raise GradingError(
            f"grading needs {', '.join(missing)}; install them with `pip install -e .[dev]` "
            "(or `make test`, which sets up the environment)"
        )
    if isinstance(submissions, (str, os.PathLike)):
        submissions = [submissions]
    if timeout <= 0:
        raise ValueError(f"--timeout must be positive, got {timeout}")
    if memory_mb is not None and memory_mb < 0:
        raise ValueError(f"--memory-mb must be positive, got {memory_mb}")
    jobs = default_jobs() if jobs is None else int(jobs)
    if jobs < 1:
        raise ValueError(f"--jobs must be at least 1, got {jobs}")
    files = expand_submissions(submissions)
    if not files:
        raise ValueError("no notebooks found in " + ", ".join(map(str, submissions)))
    catalogue = drill_catalogue()
    if drills is not None:
        unknown = [d for d in drills if d not in {info.id for info in catalogue}]
        if unknown:
            raise ValueError(f"unknown drill id(s): {', '.join(unknown)}")
    out = Path(out_dir)
    (out / "results").mkdir(parents=True, exist_ok=True)
    options = worker.Options(
        timeout=float(timeout),
        memory_mb=int(memory_mb or 0),
        check_timeout=worker.CHECK_TIMEOUT_S,
        package_dir=str(package_dir()),
        protected=_protected_folders(files, out),
    )
    fingerprint = grader_fingerprint(options)
    records: dict[Path, dict] = {}
    todo: list[tuple[Path, str]] = []
    for path, _display in files:
        try:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError as error:  # graded as an invalid notebook, never reused
            digest = f"unreadable: {error}"
        stored = _load_record(_record_path(out, path))
        reusable = (
            stored is not None
            and stored.get("content_sha256") == digest
            and stored.get("fingerprint") == fingerprint
            and "error" not in stored.get("flags", [])  # a grader failure is always retried
            and not digest.startswith("unreadable")
        )
        if reusable:
            stored["resumed"] = True
            records[path] = stored
        else:
            todo.append((path, digest))
    log = _Log(out, files, options, jobs, len(todo))
    for path, display in files:
        if path in records:
            log.add(display, records[path])
    if todo:
        _grade_all(
            todo, dict(files), catalogue, options, fingerprint, jobs, out, records, log, progress
        )
    log.write()
    rows = _build_outputs(out, files, records, catalogue, drills)
    log.add_summary(rows)
    log.write()
    return rows


def _protected_folders(files: list[tuple[Path, str]], out: Path) -> tuple[str, ...]:
    """Folders no notebook may read: the submissions' folders, ``--out`` and the course's
    ``solutions/`` (when the package runs from a source checkout)."""
    folders = {str(path.parent) for path, _ in files} | {str(out.resolve())}
    solutions = package_dir().parent / "solutions"
    if solutions.is_dir():
        folders.add(str(solutions))
    return tuple(sorted(folders))


def _importable(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def default_jobs() -> int:
    """Half the CPU cores, between 1 and 4 (each job runs a kernel and a checker)."""
    return max(1, min(4, (os.cpu_count() or 2) // 2))


def package_dir() -> Path:
    """The folder of the installed ``vae_course`` package the grader trusts."""
    import vae_course

    return Path(vae_course.__file__).resolve().parent


def expand_submissions(submissions: list[str | os.PathLike]) -> list[tuple[Path, str]]:
    """``(resolved path, display name)`` of every submission, folders searched recursively.

    Folders contribute their ``*.ipynb`` files (skipping ``.ipynb_checkpoints`` and hidden
    folders); a file named explicitly is graded whatever its extension. Missing paths raise
    ``ValueError``.
    """
    missing = [str(s) for s in submissions if not Path(s).exists()]
    if missing:
        raise ValueError(f"not found: {', '.join(missing)}")
    found: list[tuple[Path, str]] = []
    seen: set[Path] = set()
    for submission in submissions:
        given = Path(submission)
        if given.is_dir():
            candidates = sorted(
                p
                for p in given.rglob("*.ipynb")
                if p.is_file()
                and not any(part.startswith(".") for part in p.relative_to(given).parts)
            )
            named = [(p, str(given / p.relative_to(given))) for p in candidates]
        else:
            named = [(given, str(given))]
        for path, display in named:
            resolved = path.resolve()
            if resolved not in seen:
                seen.add(resolved)
                found.append((resolved, display))
    return found


def drill_catalogue() -> list:
    """Every registered drill as a :class:`~vae_course.grading_worker.DrillInfo`, in course order."""
    from vae_course import drills
    from vae_course.grading_worker import DrillInfo

    try:
        registered = drills.all_drills()
    except Exception as error:
        raise GradingError(
            f"the drills cannot be loaded ({type(error).__name__}: {error})"
        ) from error
    return [
        DrillInfo(
            id=d.id,
            chapter=str(d.chapter),
            answer_name=d.answer_name,
            kind=str(d.kind),
            max_score=float(d.max_score),
            seeded=bool(getattr(d, "seeded", False)),
        )
        for d in registered
    ]


def grader_fingerprint(options) -> str:
    """A hash of everything that can change a grade besides the notebook itself."""
    digest = hashlib.sha256()
    digest.update(f"{RESULT_SCHEMA}|{__version__}|{options.timeout}|{options.memory_mb}".encode())
    root = package_dir()
    sources = sorted((root / "drills").rglob("*.py"))
    sources += [
        root / "grading.py",
        root / "grading_worker.py",
        root / "sandbox_site" / "sitecustomize.py",
    ]
    sources += [
        root / name for name in ("losses.py", "schedules.py", "diagnostics.py", "models.py")
    ]
    for source in sources:
        if source.exists():
            digest.update(source.name.encode())
            digest.update(source.read_bytes())
    return digest.hexdigest()


def student_id_for(path: str | os.PathLike, metadata: dict | None = None) -> str:
    """The student id of a submission (rule in the module docstring)."""
    metadata = metadata or {}
    for key in ("student_id", "student"):
        value = metadata.get(key)
        if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value).strip():
            return _clean_id(str(value))
    path = Path(path)
    head = re.split(r"[_\-\s.]+", path.stem.strip(), maxsplit=1)[0]
    if head and not head.isdigit():
        return _clean_id(head)
    return _clean_id(path.parent.name or path.stem)


def _clean_id(text: str) -> str:
    return " ".join(text.split())[:100]


# =============================================================== grading the batch


def _grade_all(
    todo, displays, catalogue, options, fingerprint, jobs, out, records, log, progress
) -> None:
    from tqdm.auto import tqdm

    from vae_course import grading_worker as worker

    checkers = worker.CheckerPool(jobs, options.package_dir, options.memory_mb, options.protected)
    try:
        try:
            checkers.start_one()
        except worker.CheckerUnavailable as error:
            raise GradingError(f"{error}. Run `vae-course doctor`.") from error
        bar = tqdm(total=len(todo), desc="grading", unit="notebook", disable=not progress)
        with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = {
                pool.submit(worker.grade_submission, path, catalogue, options, checkers): (
                    path,
                    digest,
                )
                for path, digest in todo
            }
            for future in concurrent.futures.as_completed(futures):
                path, digest = futures[future]
                record = future.result()  # grade_submission never raises
                record.update(
                    schema=RESULT_SCHEMA,
                    path=str(path),
                    content_sha256=digest,
                    fingerprint=fingerprint,
                    vae_course_version=__version__,
                    graded_at=datetime.now().isoformat(timespec="seconds"),
                    resumed=False,
                )
                storage.atomic_write_text(_record_path(out, path), json.dumps(record, indent=1))
                records[path] = record
                log.add(displays[path], record)
                log.write()
                bar.update(1)
        bar.close()
    finally:
        checkers.close()


def _record_path(out: Path, path: Path) -> Path:
    tag = hashlib.sha1(str(path).encode()).hexdigest()[:10]
    return out / "results" / f"{_slug(path.stem)}-{tag}.json"


def _load_record(path: Path) -> dict | None:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and record.get("schema") == RESULT_SCHEMA else None


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._")[:80] or "notebook"


# =============================================================== gradebook, feedback, log


def _columns(records: dict[Path, dict], catalogue, wanted: list[str] | None) -> list:
    """The gradebook's drills (rule in the module docstring), in course order."""
    if wanted is not None:
        return [d for d in catalogue if d.id in wanted]
    batch = records.values()
    answered = {drill_id for record in batch for drill_id in record.get("drills", {})}
    chapters = {record["chapter"] for record in batch if record.get("chapter")}
    return [d for d in catalogue if d.id in answered and (not chapters or d.chapter in chapters)]


def _build_outputs(out: Path, files, records, catalogue, wanted) -> list[Row]:
    columns = _columns(records, catalogue, wanted)
    max_total = sum(d.max_score for d in columns)
    feedback_dir = out / "feedback"
    used_names: set[str] = set()
    rows: list[Row] = []
    for path, display in files:
        record = records[path]
        drills = {}
        for drill in columns:
            verdict = record.get("drills", {}).get(drill.id)
            if verdict is None:
                verdict = {
                    "status": "not found",
                    "score": 0.0,
                    "max_score": drill.max_score,
                    "feedback": [NOT_FOUND.format(name=drill.answer_name, drill=drill.id)],
                    "notes": [],
                }
            drills[drill.id] = verdict
        flags = list(record.get("flags", []))
        if (
            columns
            and "invalid-notebook" not in flags
            and all(v["status"] in ("not found", "not attempted") for v in drills.values())
        ):
            flags.append("no-answers")
        status = next((s for s in STATUS_ORDER if s in flags), "ok")
        scores = {d: float(v["score"]) for d, v in drills.items()}
        name = _slug(display.replace(os.sep, "__").removesuffix(".ipynb"))
        while name in used_names:
            name += "_"
        used_names.add(name)
        row = Row(
            file=display,
            student_id=student_id_for(path, record.get("metadata")),
            scores=scores,
            total=round(sum(scores.values()), 2),
            max_total=max_total,
            status=status,
            flags=flags or ["ok"],
            vae_course_version=str(record.get("vae_course_version", __version__)),
            seconds=float(record.get("seconds", 0.0)),
            feedback_markdown=feedback_dir / f"{name}.md",
            feedback_html=feedback_dir / f"{name}.html",
            resumed=bool(record.get("resumed")),
            drills=drills,
        )
        rows.append(row)
        storage.atomic_write_text(row.feedback_markdown, _feedback_markdown(row, record, columns))
        storage.atomic_write_text(row.feedback_html, _feedback_html(row, record, columns))
    storage.atomic_write_text(out / "gradebook.csv", _gradebook_csv(rows, columns))
    return rows


def _number(value: float) -> str:
    return f"{value:g}"


def _gradebook_csv(rows: list[Row], columns) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    header = ["file", "student_id", *[d.id for d in columns], "total", "max_total"]
    writer.writerow(header + ["status", "flags", "vae_course_version", "seconds"])
    for row in rows:
        writer.writerow(
            [row.file, row.student_id]
            + [_number(row.scores[d.id]) for d in columns]
            + [_number(row.total), _number(row.max_total), row.status, ";".join(row.flags)]
            + [row.vae_course_version, f"{row.seconds:.1f}"]
        )
    return buffer.getvalue()


def _summary_lines(row: Row, record: dict) -> list[str]:
    lines = [f"Status: {row.status} — {STATUS_MEANING[row.status]}."]
    execution = record.get("execution") or {}
    if execution.get("started"):
        ran = f"{execution.get('cells_run', 0)} of {execution.get('cells_total', 0)} code cells ran"
        errors = record.get("cell_errors") or []
        if errors:
            shown = ", ".join(f"cell {e['cell']} ({e['ename']})" for e in errors[:8])
            ran += f"; {len(errors)} raised an error: {shown}"
        lines.append(ran + ".")
    return lines + list(record.get("notes", []))


def _feedback_markdown(row: Row, record: dict, columns) -> str:
    lines = [
        f"# Feedback on `{row.file}`",
        "",
        f"Student: **{row.student_id}** · Score: **{_number(row.total)} / {_number(row.max_total)}**"
        f" · graded with vae-course {row.vae_course_version}",
        "",
    ]
    lines += [f"- {line}" for line in _summary_lines(row, record)]
    if columns:
        lines += ["", "| drill | chapter | score | result |", "|---|---|---|---|"]
        for drill in columns:
            verdict = row.drills[drill.id]
            lines.append(
                f"| {drill.id} | {drill.chapter} | {_number(verdict['score'])}/{_number(drill.max_score)} "
                f"| {verdict['status']} |"
            )
    for drill in columns:
        verdict = row.drills[drill.id]
        lines += [
            "",
            f"## {drill.id}: {verdict['status']} ({_number(verdict['score'])}/{_number(drill.max_score)})",
            "",
        ]
        lines += [f"- {line}" for line in verdict.get("feedback", [])]
        lines += [f"- *Grader:* {note}" for note in verdict.get("notes", [])]
    return "\n".join(lines) + "\n"


def _feedback_html(row: Row, record: dict, columns) -> str:
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Feedback: {e(row.file)}</title>",
        "<style>body{font-family:sans-serif;max-width:50em;margin:2em auto}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .6em}"
        ".passed{color:#1a7f37}.failed,.tampered,.error,.timeout{color:#b42318}"
        ".partial,.not-found,.not-gradable,.not-attempted{color:#9a6700}</style>",
        "</head><body>",
        f"<h1>Feedback on <code>{e(row.file)}</code></h1>",
        f"<p>Student: <b>{e(row.student_id)}</b> · Score: <b>{_number(row.total)} / "
        f"{_number(row.max_total)}</b> · graded with vae-course {e(row.vae_course_version)}</p>",
        "<ul>" + "".join(f"<li>{e(line)}</li>" for line in _summary_lines(row, record)) + "</ul>",
    ]
    if columns:
        parts.append("<table><tr><th>drill</th><th>chapter</th><th>score</th><th>result</th></tr>")
        for drill in columns:
            verdict = row.drills[drill.id]
            css = e(verdict["status"].replace(" ", "-"))
            parts.append(
                f"<tr><td>{e(drill.id)}</td><td>{e(drill.chapter)}</td>"
                f"<td>{_number(verdict['score'])}/{_number(drill.max_score)}</td>"
                f'<td class="{css}">{e(verdict["status"])}</td></tr>'
            )
        parts.append("</table>")
    for drill in columns:
        verdict = row.drills[drill.id]
        parts.append(
            f"<h2>{e(drill.id)}: {e(verdict['status'])} "
            f"({_number(verdict['score'])}/{_number(drill.max_score)})</h2><ul>"
        )
        parts += [f"<li>{e(line)}</li>" for line in verdict.get("feedback", [])]
        parts += [f"<li><i>Grader:</i> {e(note)}</li>" for note in verdict.get("notes", [])]
        parts.append("</ul>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


class _Log:
    """``grading.log``: a header, one line per submission (time taken) and indented details."""

    def __init__(self, out: Path, files, options, jobs: int, to_run: int) -> None:
        self.path = out / "grading.log"
        started = datetime.now().isoformat(timespec="seconds")
        self.header = [
            f"# vae-course {__version__} grade, started {started}: {len(files)} submission(s), "
            f"{to_run} to run, {len(files) - to_run} unchanged; jobs={jobs}, "
            f"timeout={options.timeout:g} s, memory={options.memory_mb} MiB, "
            f"python={sys.executable}, vae_course={options.package_dir}"
        ]
        self.entries: list[str] = []
        self.summary: list[str] = []

    def add(self, display: str, record: dict) -> None:
        total = sum(float(v.get("score", 0.0)) for v in record.get("drills", {}).values())
        flags = ";".join(record.get("flags", [])) or "ok"
        how = "unchanged, result reused" if record.get("resumed") else "graded"
        stamp = record.get("graded_at") or datetime.now().isoformat(timespec="seconds")
        line = (
            f"{stamp} {display} flags={flags} score={_number(round(total, 2))} "
            f"seconds={float(record.get('seconds', 0.0)):.1f} ({how})"
        )
        details = list(record.get("log", []))
        metadata = record.get("metadata") or {}
        from_name = student_id_for(display, {})
        from_metadata = student_id_for(display, metadata)
        if from_metadata != from_name:
            details.append(
                f"student id {from_metadata!r} from the notebook metadata; the file name says {from_name!r}"
            )
        execution = record.get("execution") or {}
        if execution.get("seconds") is not None:
            details.append(
                f"execution: {execution.get('cells_run', 0)}/{execution.get('cells_total', 0)} cells "
                f"in {float(execution['seconds']):.1f} s"
            )
        for drill_id, verdict in record.get("drills", {}).items():
            details.append(
                f"{drill_id}: {verdict.get('status')} {_number(float(verdict.get('score', 0)))}"
            )
        self.entries.append("\n".join([line] + [f"    {d}" for d in details]))

    def add_summary(self, rows: list[Row]) -> None:
        students: dict[str, int] = {}
        for row in rows:
            students[row.student_id] = students.get(row.student_id, 0) + 1
        self.summary = [
            f"# note: student {sid!r} has {n} submissions in this batch"
            for sid, n in students.items()
            if n > 1
        ]
        self.summary.append(
            f"# finished {datetime.now().isoformat(timespec='seconds')}: "
            + ", ".join(
                f"{s} {sum(r.status == s for r in rows)}"
                for s in STATUS_ORDER
                if any(r.status == s for r in rows)
            )
        )

    def write(self) -> None:
        text = "\n".join(self.header + self.entries + self.summary) + "\n"
        storage.atomic_write_text(self.path, text)
