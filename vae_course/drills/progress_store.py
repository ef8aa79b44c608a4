"""The learner's drill progress, one JSON file per user.

File: ``vae_course.storage.cache_dir("progress") / "progress.json"``::

    {"version": 1,
     "drills": {"kl_divergence": {"attempts": 3, "best_score": 5.0, "max_score": 5.0,
                                  "passed": true, "last_status": "passed",
                                  "last_time": "2025-01-01T12:00:00"}}}

Every update re-reads the file (so two notebooks open at once do not overwrite each
other's drills), writes a backup copy ``progress.json.bak`` and then the file itself, both
atomically. A file that cannot be read is set aside (``storage.set_aside``) with a warning
and the entries are recovered from the backup; nothing here ever raises into a check.
"""

from __future__ import annotations

import json
import math
import warnings
from datetime import datetime
from pathlib import Path
from typing import Any

from vae_course import storage

FILE_NAME = "progress.json"
BACKUP_SUFFIX = ".bak"
VERSION = 1


class ProgressWarning(UserWarning):
    """Something was wrong with the progress file (it was repaired)."""


class _Unreadable(Exception):
    pass


def progress_path() -> Path:
    """``<cache dir>/progress/progress.json`` (the directory is created)."""
    return storage.cache_dir("progress") / FILE_NAME


def _backup_path(path: Path) -> Path:
    return path.with_name(path.name + BACKUP_SUFFIX)


def _valid_entry(entry: Any) -> bool:
    if not isinstance(entry, dict):
        return False
    attempts, best = entry.get("attempts"), entry.get("best_score")
    return (
        isinstance(attempts, int)
        and not isinstance(attempts, bool)
        and attempts >= 0
        and isinstance(best, int | float)
        and not isinstance(best, bool)
        and math.isfinite(best)
        and isinstance(entry.get("passed"), bool)
    )


def _read(path: Path) -> dict[str, dict]:
    """The drills dict of a progress file; _Unreadable if it is damaged."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise _Unreadable(str(error)) from error
    if not isinstance(data, dict) or not isinstance(data.get("drills"), dict):
        raise _Unreadable("not a progress file")
    drills = data["drills"]
    if not all(isinstance(k, str) and _valid_entry(v) for k, v in drills.items()):
        raise _Unreadable("an entry is malformed")
    return drills


def load_progress(path: Path | None = None) -> dict[str, dict]:
    """Every recorded drill: ``{drill_id: entry}``; repairs a damaged file (with a warning)."""
    path = progress_path() if path is None else Path(path)
    if not path.exists():
        return {}
    try:
        return _read(path)
    except _Unreadable as problem:
        aside = storage.set_aside(path)
        backup = _backup_path(path)
        recovered: dict[str, dict] = {}
        if backup.exists():
            try:
                recovered = _read(backup)
            except _Unreadable:
                recovered = {}
        if recovered:
            _write(path, recovered, backup=False)
            note = f"recovered {len(recovered)} drill(s) from the backup {backup.name}"
        else:
            note = "no usable backup: starting afresh"
        warnings.warn(
            f"The drill progress file could not be read ({problem}); it was moved to "
            f"{aside.name} and {note}.",
            ProgressWarning,
            stacklevel=2,
        )
        return recovered


def _write(path: Path, drills: dict[str, dict], *, backup: bool = True) -> None:
    text = json.dumps({"version": VERSION, "drills": drills}, indent=1, sort_keys=True)
    if backup:
        storage.atomic_write_text(_backup_path(path), text)
    storage.atomic_write_text(path, text)


def record_result(result: Any, path: Path | None = None) -> bool:
    """Add one checked answer (a :class:`~vae_course.drills.core.Result`) to the file.

    attempts += 1, best_score = max, passed = ever passed, last_status/last_time updated.
    "not attempted" results are not recorded. Returns True when written; never raises
    (a failure is a warning).
    """
    try:
        if result.status == "not attempted":
            return False
        path = progress_path() if path is None else Path(path)
        drills = load_progress(path)
        entry = dict(drills.get(result.drill_id, {}))
        entry["attempts"] = int(entry.get("attempts", 0)) + 1
        entry["best_score"] = max(float(entry.get("best_score", 0.0)), float(result.score))
        entry["max_score"] = float(result.max_score)
        entry["passed"] = bool(entry.get("passed", False)) or bool(result.passed)
        entry["last_status"] = result.status
        entry["last_time"] = datetime.now().isoformat(timespec="seconds")
        drills[result.drill_id] = entry
        _write(path, drills)
        return True
    except Exception as error:  # noqa: BLE001 - recording must never break a check
        warnings.warn(
            f"Your answer was checked, but the progress could not be saved ({error}).",
            ProgressWarning,
            stacklevel=2,
        )
        return False
