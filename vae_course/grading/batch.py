"""Grading a class: expand the submissions, reuse unchanged results, grade the rest in parallel.

:func:`grade` is the Python API behind ``vae-course grade``. Re-running with the same
output folder regrades only submissions whose content or grading settings changed.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from datetime import datetime
from pathlib import Path

from vae_course import __version__, storage
from vae_course._checks import positive_int, positive_number

from . import judge
from .engines import Task, run_dask, run_local
from .env import MIN_MEMORY_MB, Options
from .gradebook import GradingLog, Row, build_outputs, slug
from .notebook_code import NotebookCode
from .notebook_file import MAX_NOTEBOOK_BYTES, InvalidNotebook, read_notebook
from .sandbox import SandboxUnavailable, choose
from .submission import DrillInfo

RESULT_SCHEMA = 2
DEFAULT_TIMEOUT_S = 600.0
DEFAULT_MEMORY_MB = 8192


class GradingError(RuntimeError):
    """The batch cannot be graded at all (e.g. the checkers do not load); says how to fix it."""


ASSIGNMENT_NEEDED = (
    "name the assignment: --assignment notebooks/04_elbo.ipynb (the drills the notebook you "
    "handed out asks for), --chapter 04 (every drill of chapter 04; several: 04,05) or "
    "--drills ID,ID. The drills and the maximum score come from the teacher's side, never "
    "from the submissions."
)


def grade(
    submissions: str | os.PathLike | list[str | os.PathLike],
    out_dir: str | os.PathLike,
    *,
    handouts: list[str | os.PathLike] | None = None,
    chapters: list[str] | None = None,
    drills: list[str] | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
    jobs: int | None = None,
    memory_mb: int = DEFAULT_MEMORY_MB,
    container: str | None = None,
    no_sandbox: bool = False,
    scheduler: str | None = None,
    probe_seed: int | None = None,
    progress: bool = True,
) -> list[Row]:
    """Grade ``submissions`` (notebooks or folders of them) into ``out_dir``; one Row each.

    The assignment is the drills the ``handouts`` (the notebooks the teacher handed out) ask
    for, every drill of ``chapters``, and the ``drills`` named: any of the three, or several.
    Learner code runs in bubblewrap, or in ``container`` (an image for docker/podman), or,
    with ``no_sandbox``, unconfined (rows marked ``unsandboxed``). ``scheduler`` sends the
    submissions to a Dask cluster. ``probe_seed`` fixes the secret seed of the probes (by
    default a fresh one per run). Re-running with the same ``out_dir`` reuses the stored
    result of every submission whose content and grading settings are unchanged.

    Raises ``ValueError`` for missing paths, a missing assignment or bad limits, and
    :class:`GradingError` when grading cannot run here (no sandbox, missing packages).
    """
    if os.name != "posix":
        raise GradingError("classroom grading needs Linux (or a Dask cluster of Linux workers)")
    missing = [name for name in ("nbformat", "nbclient", "ipykernel") if not _importable(name)]
    if missing:
        raise GradingError(
            f"grading needs {', '.join(missing)}; install them with `pip install -e .[dev]` "
            "(or `make test`, which sets up the environment)"
        )
    if isinstance(submissions, (str, os.PathLike)):
        submissions = [submissions]
    timeout = positive_number(timeout, "--timeout")
    memory_mb = positive_int(memory_mb, "--memory-mb")
    if memory_mb < MIN_MEMORY_MB:
        raise ValueError(
            f"--memory-mb {memory_mb} is too small: torch alone needs about 3.6 GB of "
            f"address space; the minimum is {MIN_MEMORY_MB}"
        )
    jobs = default_jobs() if jobs is None else positive_int(jobs, "--jobs")
    catalogue = drill_catalogue()
    asked = [*(drills or []), *handout_drills(catalogue, handouts or [])]
    columns = assignment(catalogue, chapters, asked or None)
    try:
        sandbox = choose(container=container, no_sandbox=no_sandbox)
    except SandboxUnavailable as error:
        raise GradingError(str(error)) from error
    files = expand_submissions(submissions)
    if not files:
        raise ValueError("no notebooks found in " + ", ".join(map(str, submissions)))
    out = Path(out_dir)
    (out / "results").mkdir(parents=True, exist_ok=True)
    options = Options(
        timeout=float(timeout),
        memory_mb=int(memory_mb),
        package_dir=str(package_dir()),
        sandbox={"bubblewrap": "bubblewrap", "none": "none"}.get(
            sandbox.kind, f"container:{sandbox.image}"
        ),
        probe_seed=secrets.randbelow(2**31) if probe_seed is None else int(probe_seed),
    )
    fingerprint = grader_fingerprint(options, columns)
    records: dict[Path, dict] = {}
    todo: list[tuple[Path, str]] = []
    for path, _display in files:
        digest = _digest(path)
        stored = load_record(record_path(out, path))
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
    log = GradingLog(out, files, options, jobs, len(todo), sandbox, scheduler)
    for path, display in files:
        if path in records:
            log.add(display, records[path])
    if todo:
        judge.warm([d.id for d in columns], options.probe_seed)
        grade_all(
            todo,
            dict(files),
            columns,
            options,
            fingerprint,
            jobs,
            scheduler,
            out,
            records,
            log,
            progress,
        )
    log.write()
    rows = build_outputs(out, files, records, columns)
    log.add_summary(rows)
    log.write()
    return rows


def assignment(
    catalogue: list[DrillInfo], chapters: list[str] | None, drills: list[str] | None
) -> list[DrillInfo]:
    """The assignment's drills, in course order: those of ``chapters`` and those named."""
    if not chapters and not drills:
        raise ValueError(ASSIGNMENT_NEEDED)
    known = {d.id for d in catalogue}
    unknown = [d for d in drills or [] if d not in known]
    if unknown:
        raise ValueError(f"unknown drill id(s): {', '.join(unknown)}")
    wanted_chapters = set()
    for chapter in chapters or []:
        text = str(chapter).strip()
        if not text.isdigit():
            raise ValueError(f"a chapter is a number like 04, got {chapter!r}")
        wanted_chapters.add(f"{int(text):02d}")
    empty = sorted(c for c in wanted_chapters if not any(d.chapter == c for d in catalogue))
    if empty:
        raise ValueError(f"chapter(s) {', '.join(empty)} have no drills")
    return [d for d in catalogue if d.chapter in wanted_chapters or d.id in (drills or [])]


def handout_drills(catalogue: list[DrillInfo], handouts: list[str | os.PathLike]) -> list[str]:
    """The drills whose answer names the handed-out notebooks bind (their stubs do)."""
    found: list[str] = []
    for handout in handouts:
        try:
            notebook = read_notebook(Path(handout).read_bytes())
        except (OSError, InvalidNotebook) as error:
            raise ValueError(f"the assignment notebook {handout} cannot be read: {error}") from None
        bound = NotebookCode(notebook).bound_names()
        asked = [d.id for d in catalogue if d.answer_name in bound and d.id not in found]
        if not asked:
            raise ValueError(f"the assignment notebook {handout} asks for no drill")
        found += asked
    return found


def _digest(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as error:  # graded as an invalid notebook, never reused
        return f"unreadable: {error}"


def _importable(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def default_jobs() -> int:
    """Half the CPU cores, between 1 and 4 (each job runs a kernel, then its functions)."""
    return max(1, min(4, (os.cpu_count() or 2) // 2))


def package_dir() -> Path:
    """The folder of the installed ``vae_course`` package the grader trusts."""
    import vae_course

    return Path(vae_course.__file__).resolve().parent


def expand_submissions(submissions: list[str | os.PathLike]) -> list[tuple[Path, str]]:
    """``(path, display name)`` of every submission, folders searched recursively.

    Folders contribute their ``*.ipynb`` files (skipping ``.ipynb_checkpoints`` and hidden
    folders); a file named explicitly is graded whatever its extension. Symbolic links are
    listed but never followed (:func:`read_submission` reports them). Missing paths raise
    ``ValueError``.
    """
    missing = [str(s) for s in submissions if not Path(s).exists()]
    if missing:
        raise ValueError(f"not found: {', '.join(missing)}")
    found: list[tuple[Path, str]] = []
    seen: set[Path] = set()
    for submission in submissions:
        given = Path(submission)
        if given.is_dir() and not given.is_symlink():
            named = [(p, str(p)) for p in _notebooks_in(given)]
        else:
            named = [(given, str(given))]
        for path, display in named:
            absolute = Path(os.path.abspath(path))  # not resolve(): links stay links
            if absolute not in seen:
                seen.add(absolute)
                found.append((absolute, display))
    return found


def _notebooks_in(folder: Path) -> list[Path]:
    """The ``*.ipynb`` below ``folder``, not entering hidden folders or linked folders."""
    found = []
    for root, dirs, files in os.walk(folder, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found += [Path(root) / f for f in sorted(files) if f.endswith(".ipynb")]
    return found


def read_submission(path: Path) -> bytes | str:
    """The submission's bytes, or why it cannot be read (a link is never followed)."""
    if path.is_symlink():
        return (
            "This file is a symbolic link; the grader never follows links (a link could point "
            "at another student's work). Hand in the notebook itself."
        )
    try:
        with open(path, "rb", opener=lambda p, f: os.open(p, f | os.O_NOFOLLOW)) as handle:
            return handle.read(MAX_NOTEBOOK_BYTES + 1)
    except OSError as error:
        return f"This file could not be read ({error.strerror or error})."


def drill_catalogue() -> list:
    """Every registered drill as a :class:`~vae_course.grading.DrillInfo`, in course order."""
    from vae_course import drills

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
            runs_code=bool(d.runs_code),
        )
        for d in registered
    ]


def grader_fingerprint(options: Options, columns: list[DrillInfo]) -> str:
    """A hash of everything that can change a grade besides the notebook itself (not the
    probe seed: verdicts do not depend on it)."""
    digest = hashlib.sha256()
    settings = (RESULT_SCHEMA, __version__, options.timeout, options.memory_mb, options.sandbox)
    digest.update(repr(settings).encode())
    digest.update(",".join(d.id for d in columns).encode())
    root = package_dir()
    # every module of the package: the checkers, the grader and the references they use
    for source in sorted(root.rglob("*.py")):
        digest.update(str(source.relative_to(root)).encode())
        digest.update(source.read_bytes())
    return digest.hexdigest()


def grade_all(
    todo, displays, columns, options, fingerprint, jobs, scheduler, out, records, log, progress
) -> None:
    """Grade the changed submissions and store each record as soon as it comes back."""
    from tqdm.auto import tqdm

    tasks: list[Task] = []
    by_key: dict[str, tuple[Path, str]] = {}
    for path, digest in todo:
        key = hashlib.sha1(str(path).encode()).hexdigest()[:16]
        by_key[key] = (path, digest)
        content = read_submission(path)
        if isinstance(content, str):
            _store(out, path, digest, fingerprint, records, log, displays, _unreadable(content))
            continue
        tasks.append((key, content, displays[path]))
    bar = tqdm(total=len(todo), desc="grading", unit="notebook", disable=not progress)
    bar.update(len(todo) - len(tasks))
    if scheduler:
        results = run_dask(tasks, columns, options, scheduler)
    else:
        results = run_local(tasks, columns, options, jobs)
    for key, record in results:
        path, digest = by_key[key]
        _store(out, path, digest, fingerprint, records, log, displays, record)
        bar.update(1)
    bar.close()


def _unreadable(reason: str) -> dict:
    return {
        "flags": ["invalid-notebook"],
        "drills": {},
        "notes": [reason],
        "log": [reason],
        "metadata": {},
        "seconds": 0.0,
    }


def _store(out, path, digest, fingerprint, records, log, displays, record) -> None:
    record.update(
        schema=RESULT_SCHEMA,
        path=str(path),
        content_sha256=digest,
        fingerprint=fingerprint,
        vae_course_version=__version__,
        graded_at=datetime.now().isoformat(timespec="seconds"),
        resumed=False,
    )
    storage.atomic_write_text(record_path(out, path), json.dumps(record, indent=1))
    records[path] = record
    log.add(displays[path], record)
    log.write()


def record_path(out: Path, path: Path) -> Path:
    tag = hashlib.sha1(str(path).encode()).hexdigest()[:10]
    return out / "results" / f"{slug(path.stem)}-{tag}.json"


def load_record(path: Path) -> dict | None:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and record.get("schema") == RESULT_SCHEMA else None
