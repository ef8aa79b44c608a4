"""``vae-course notebooks DIR``: the course's notebooks, wherever the package came from.

Where the notebooks are (:func:`student_notebooks_dir`, :func:`solutions_dir`):

* an installed wheel ships the student notebooks as package data in
  ``vae_course/course_notebooks/`` (``setup.py`` copies ``notebooks/*.ipynb`` there when the
  wheel is built);
* a clone of the repository (``pip install -e .``, ``make setup``) uses its own
  ``notebooks/`` and ``solutions/`` folders, so an edit shows at once.

The worked solutions (``solutions/``) are not in the wheel: only a clone has them
(the nbgrader export needs them).

:func:`copy_notebooks` copies the student notebooks into a folder of the learner's and never
overwrites their work. It remembers, in ``DIR/.vae-course-notebooks.json``, the SHA-256 of
every file it wrote, so on a later run it can tell three cases apart:

* the file is missing, or is exactly what was copied last time (not edited): it is
  (re)written with the course's current version;
* the file differs from what was copied (the learner edited it): it is kept, and the
  report says so; ``force=True`` replaces it after saving the learner's version next to it
  as ``NN_topic.backup.ipynb`` (``.backup-2``, ``-3``, ... when that exists);
* the file already equals the course's version: nothing to do.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from vae_course import __version__
from vae_course.storage import atomic_write_bytes, atomic_write_text

PACKAGED_NOTEBOOKS = "course_notebooks"  # vae_course/course_notebooks/ inside a wheel
MANIFEST_NAME = ".vae-course-notebooks.json"
FIRST_NOTEBOOK = "00_welcome.ipynb"
_CHAPTER_NUMBER = re.compile(r"^(\d+)_")

# What copy_notebooks did with one file.
COPIED = "copied"  # the file was missing
UPDATED = "updated"  # it was the course's earlier copy, never edited
UNCHANGED = "unchanged"  # it already is the course's version
KEPT = "kept"  # the learner edited it; left alone
REPLACED = "replaced"  # edited, replaced with force=True; the learner's version backed up


class CourseFilesError(RuntimeError):
    """The notebooks cannot be found or written; the message says what to do."""


def _package_dir() -> Path:
    return Path(__file__).resolve().parent


def _checkout_dir(name: str) -> Path | None:
    """``<repository>/<name>`` when this package runs from a clone of the course."""
    root = _package_dir().parent
    folder = root / name
    if (root / "pyproject.toml").is_file() and any(folder.glob("*.ipynb")):
        return folder
    return None


def student_notebooks_dir() -> Path:
    """The folder holding the student notebooks (the wheel's copy, else the clone's)."""
    packaged = _package_dir() / PACKAGED_NOTEBOOKS
    if any(packaged.glob("*.ipynb")):
        return packaged
    checkout = _checkout_dir("notebooks")
    if checkout is not None:
        return checkout
    raise CourseFilesError(
        "this installation of vae-course has no notebooks (neither the wheel's "
        f"{packaged} nor a clone's notebooks/ folder): reinstall it with "
        "`pip install --force-reinstall vae-course`"
    )


def solutions_dir() -> Path:
    """The worked solution notebooks: the clone's ``solutions/`` (never in the wheel)."""
    checkout = _checkout_dir("solutions")
    if checkout is None:
        raise CourseFilesError(
            "the worked solutions are only in a clone of the course repository (the wheel "
            "ships the student notebooks only): run this in a clone, or pass --solutions DIR"
        )
    return checkout


def student_notebooks() -> list[Path]:
    """Every student notebook, in chapter order."""
    return sorted(student_notebooks_dir().glob("*.ipynb"))


def chapter_notebooks(folder: Path, chapters: list[str] | None = None) -> list[Path]:
    """The chapter notebooks (``NN_topic.ipynb``) of ``folder`` asked for, in chapter order.

    ``chapters``: e.g. ``["02", "4"]`` (numbers) or ``["04_elbo"]`` (names); None for all.
    Raises :class:`CourseFilesError` naming the chapters there are for an unknown one.
    """
    available = sorted(Path(folder).glob("[0-9]*_*.ipynb"))
    if not available:
        raise CourseFilesError(f"no chapter notebooks (NN_topic.ipynb) in {folder}")
    if not chapters:
        return available
    chosen: list[Path] = []
    for wanted in chapters:
        key = wanted.strip().removesuffix(".ipynb")
        number = f"{int(key):02d}" if key.isdigit() else None
        matches = [path for path in available if path.stem == key or _number(path) == number]
        if not matches:
            names = ", ".join(path.stem for path in available)
            raise CourseFilesError(f"there is no chapter {wanted!r}; the chapters are: {names}")
        chosen.extend(path for path in matches if path not in chosen)
    return sorted(chosen)


def _number(path: Path) -> str | None:
    match = _CHAPTER_NUMBER.match(path.name)
    return match.group(1) if match else None


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class CopyAction:
    """What happened to one notebook: ``action`` is one of COPIED ... REPLACED."""

    name: str
    action: str
    backup: str = ""

    def __str__(self) -> str:
        if self.action == KEPT:
            return (
                f"kept      {self.name}: you edited it, so it was not replaced "
                "(--force replaces it and saves your version as a backup)"
            )
        if self.action == REPLACED:
            return f"replaced  {self.name} (your edited version is saved as {self.backup})"
        return f"{self.action:<9} {self.name}"


def _read_manifest(path: Path) -> dict[str, str]:
    """``{file name: sha256 of what was copied}``; empty when missing or unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, dict):
        return {}
    return {str(k): str(v) for k, v in files.items() if isinstance(v, str)}


def _backup_name(target: Path) -> Path:
    stem = target.name[: -len(".ipynb")] if target.name.endswith(".ipynb") else target.name
    for number in range(1, 1000):
        suffix = "" if number == 1 else f"-{number}"
        candidate = target.with_name(f"{stem}.backup{suffix}.ipynb")
        if not candidate.exists():
            return candidate
    raise CourseFilesError(f"too many backups of {target.name} in {target.parent}")


def copy_notebooks(
    destination: str | os.PathLike, *, force: bool = False, source: Path | None = None
) -> list[CopyAction]:
    """Copy the student notebooks into ``destination`` (created); one CopyAction per file.

    A file the learner edited is kept (``KEPT``) unless ``force``; with ``force`` it is
    first saved as ``NN_topic.backup.ipynb`` (``REPLACED``). Raises
    :class:`CourseFilesError` when ``destination`` is not a folder or cannot be written.
    """
    destination = Path(destination).expanduser()
    notebooks = sorted(Path(source).glob("*.ipynb")) if source else student_notebooks()
    if destination.exists() and not destination.is_dir():
        raise CourseFilesError(f"{destination} exists and is not a folder: choose another place")
    try:
        destination.mkdir(parents=True, exist_ok=True)
        manifest_path = destination / MANIFEST_NAME
        copied_before = _read_manifest(manifest_path)
        actions = []
        written = dict(copied_before)
        for notebook in notebooks:
            shipped = notebook.read_bytes()
            target = destination / notebook.name
            action, backup = _copy_one(target, shipped, copied_before.get(notebook.name), force)
            if action != KEPT:
                written[notebook.name] = sha256(shipped)
            actions.append(CopyAction(notebook.name, action, backup.name if backup else ""))
        manifest = {"vae_course_version": __version__, "files": dict(sorted(written.items()))}
        atomic_write_text(manifest_path, json.dumps(manifest, indent=1) + "\n")
    except OSError as error:
        raise CourseFilesError(f"cannot write the notebooks into {destination}: {error}") from error
    return actions


def _copy_one(
    target: Path, shipped: bytes, copied_digest: str | None, force: bool
) -> tuple[str, Path | None]:
    if not target.exists():
        atomic_write_bytes(target, shipped)
        return COPIED, None
    current = target.read_bytes()
    if current == shipped:
        return UNCHANGED, None
    if copied_digest is not None and sha256(current) == copied_digest:
        atomic_write_bytes(target, shipped)
        return UPDATED, None
    if not force:
        return KEPT, None
    backup = _backup_name(target)
    atomic_write_bytes(backup, current)
    atomic_write_bytes(target, shipped)
    return REPLACED, backup


# ----------------------------------------------------------------------------- command line


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``vae-course notebooks``."""
    parser.add_argument("directory", metavar="DIR", help="where to put the notebooks (created)")
    parser.add_argument(
        "--force",
        action="store_true",
        help="also replace notebooks you edited (your versions are saved as NN_topic.backup.ipynb)",
    )


def run(args: argparse.Namespace) -> int:
    """Copy the notebooks, print what happened to each, and what to do next."""
    try:
        actions = copy_notebooks(args.directory, force=args.force)
    except CourseFilesError as error:
        print(f"vae-course notebooks: {error}", file=sys.stderr)
        return 1
    destination = Path(args.directory).expanduser()
    for action in actions:
        print(action)
    kept = sum(action.action == KEPT for action in actions)
    print(f"{len(actions)} notebooks in {destination}", end="")
    print(f"; {kept} you edited were kept (--force replaces them)." if kept else ".")
    print(f"Open them: vae-course lab {args.directory}")
    return 0
