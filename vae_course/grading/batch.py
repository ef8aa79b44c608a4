"""Grading a class: expand the submissions, reuse unchanged results, grade the rest in parallel.

:func:`grade` is the Python API behind ``vae-course grade``. Re-running with the same
output folder regrades only submissions whose content or grading settings changed.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import os
from datetime import datetime
from pathlib import Path

from vae_course import __version__, storage

from .checker import CHECK_TIMEOUT_S
from .gradebook import GradingLog, Row, build_outputs, slug
from .pool import CheckerPool, CheckerUnavailable
from .submission import DrillInfo, Options, grade_submission

RESULT_SCHEMA = 1


DEFAULT_TIMEOUT_S = 600.0


DEFAULT_MEMORY_MB = 8192


class GradingError(RuntimeError):
    """The batch cannot be graded at all (e.g. the checkers do not load); says how to fix it."""


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
    options = Options(
        timeout=float(timeout),
        memory_mb=int(memory_mb or 0),
        check_timeout=CHECK_TIMEOUT_S,
        package_dir=str(package_dir()),
        protected=protected_folders(files, out),
    )
    fingerprint = grader_fingerprint(options)
    records: dict[Path, dict] = {}
    todo: list[tuple[Path, str]] = []
    for path, _display in files:
        try:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError as error:  # graded as an invalid notebook, never reused
            digest = f"unreadable: {error}"
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
    log = GradingLog(out, files, options, jobs, len(todo))
    for path, display in files:
        if path in records:
            log.add(display, records[path])
    if todo:
        grade_all(
            todo, dict(files), catalogue, options, fingerprint, jobs, out, records, log, progress
        )
    log.write()
    rows = build_outputs(out, files, records, catalogue, drills)
    log.add_summary(rows)
    log.write()
    return rows


def protected_folders(files: list[tuple[Path, str]], out: Path) -> tuple[str, ...]:
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


def grader_fingerprint(options) -> str:
    """A hash of everything that can change a grade besides the notebook itself."""
    digest = hashlib.sha256()
    digest.update(f"{RESULT_SCHEMA}|{__version__}|{options.timeout}|{options.memory_mb}".encode())
    root = package_dir()
    # every module of the package: the checkers, the grader and the references they use
    for source in sorted(root.rglob("*.py")):
        digest.update(str(source.relative_to(root)).encode())
        digest.update(source.read_bytes())
    return digest.hexdigest()


def grade_all(
    todo, displays, catalogue, options, fingerprint, jobs, out, records, log, progress
) -> None:
    from tqdm.auto import tqdm

    checkers = CheckerPool(jobs, options.package_dir, options.memory_mb, options.protected)
    try:
        try:
            checkers.start_one()
        except CheckerUnavailable as error:
            raise GradingError(f"{error}. Run `vae-course doctor`.") from error
        bar = tqdm(total=len(todo), desc="grading", unit="notebook", disable=not progress)
        with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = {
                pool.submit(grade_submission, path, catalogue, options, checkers): (
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
                storage.atomic_write_text(record_path(out, path), json.dumps(record, indent=1))
                records[path] = record
                log.add(displays[path], record)
                log.write()
                bar.update(1)
        bar.close()
    finally:
        checkers.close()


def record_path(out: Path, path: Path) -> Path:
    tag = hashlib.sha1(str(path).encode()).hexdigest()[:10]
    return out / "results" / f"{slug(path.stem)}-{tag}.json"


def load_record(path: Path) -> dict | None:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and record.get("schema") == RESULT_SCHEMA else None
