"""One rule for code answers, in the notebook and in the grader: your own code, not the course's.

An answer that calls the course's implementations (``vae_course.losses``, the models, the
schedules, ``drills.references``, a drill's ``reference()``...) would be graded on the
course's code, not the learner's. The classroom grader runs graded answers in a sandbox
that does not contain them at all; here, in the learner's own process, the same rule is
kept by watching, while the answer is observed, which Python functions run: a call into
any ``vae_course`` module other than the drills' own observing code (and the small
helpers it uses) refuses the answer with :func:`refusal_message`.

The watch is :func:`sys.setprofile` (and :func:`threading.setprofile` for the thread a
time-limited call may use) for the duration of the observation only; the previous
profiler, if any, is put back.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent
_DRILLS = _PACKAGE / "drills"
_ALLOWED_FILES = {
    str(_PACKAGE / name) for name in ("__init__.py", "_checks.py", "_source.py", "config.py")
} | {str(_PACKAGE / "storage.py")}
_REFUSED_IN_DRILLS = {str(_DRILLS / "references.py")}
_SHOWN = 3


def is_course_code(filename: str) -> bool:
    """True for a file of the course's implementations (what an answer may not call)."""
    if not filename.startswith(str(_PACKAGE) + os.sep):
        return False
    if filename in _ALLOWED_FILES:
        return False
    if filename.startswith(str(_DRILLS) + os.sep):
        return filename in _REFUSED_IN_DRILLS
    return True


def observer_files() -> list[Path]:
    """The package's files an observation may use (relative to the package's parent): what
    the grader's sandbox for graded answers contains instead of the whole package."""
    files = [
        path
        for path in sorted(_PACKAGE.rglob("*.py"))
        if "__pycache__" not in path.parts and not is_course_code(str(path))
    ]
    return [path.relative_to(_PACKAGE.parent) for path in files]


def _name(frame) -> str:
    code = frame.f_code
    module = frame.f_globals.get("__name__", "vae_course")
    return f"{module}.{getattr(code, 'co_qualname', code.co_name)}"


@contextlib.contextmanager
def course_code_refused() -> Iterator[list[str]]:
    """Record (in the yielded list) the course functions called while the block runs."""
    seen: list[str] = []
    verdicts: dict[str, bool] = {}  # by file name: this runs on every Python call

    def profile(frame, event, arg):  # noqa: ANN001 - the profiler protocol
        if event != "call":
            return
        filename = frame.f_code.co_filename
        refused = verdicts.get(filename)
        if refused is None:
            refused = verdicts[filename] = is_course_code(filename)
        if refused:
            name = _name(frame)
            if name not in seen and len(seen) < _SHOWN:
                seen.append(name)

    previous = sys.getprofile()
    previous_threads = getattr(threading, "getprofile", lambda: None)()
    sys.setprofile(profile)
    threading.setprofile(profile)
    try:
        yield seen
    finally:
        sys.setprofile(previous)
        threading.setprofile(previous_threads)


def refusal_message(answer_name: str, called: list[str]) -> str:
    """The learner-facing reason an answer that used the course's code earns nothing."""
    names = ", ".join(f"`{name}`" for name in called[:_SHOWN])
    return (
        f"Your `{answer_name}` calls the course's own code ({names}). An answer is graded on "
        "your own code only (the grader runs it where the course's implementations are not "
        "available): write it without `vae_course`. If `drills.use` handed you the course's "
        "version of a function you call, make your own version pass its drill first."
    )


__all__ = ["course_code_refused", "is_course_code", "observer_files", "refusal_message"]
