"""Process and scratch-folder housekeeping shared by the grading stages.

Killing a process group, deleting a scratch folder a notebook made read-only, killing what
a run left behind, and reading the sandbox's record of refused operations.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
from pathlib import Path


def kill_group(pid: int) -> None:
    for kill in (os.killpg, os.kill):
        with contextlib.suppress(ProcessLookupError, PermissionError, OSError):
            kill(pid, signal.SIGKILL)


def remove_tree(path: Path) -> None:
    """Delete a scratch folder even when the notebook made parts of it read-only."""

    def make_writable(function, failed_path, _error) -> None:
        with contextlib.suppress(OSError):
            os.chmod(os.path.dirname(failed_path), 0o700)
            os.chmod(failed_path, 0o700)
            function(failed_path)

    if Path(path).exists():
        shutil.rmtree(path, onerror=make_writable)
        shutil.rmtree(path, ignore_errors=True)


def kill_leftovers(work: Path) -> int:
    """Kill every process still carrying this run's ``VAE_GRADER_WORKDIR`` (Linux ``/proc``).

    A notebook's background processes (a forked child that called ``setsid``, say) leave
    the kernel's process group; their inherited environment still identifies them.
    """
    marker = f"VAE_GRADER_WORKDIR={work}".encode()
    killed = 0
    proc = Path("/proc")
    if not proc.is_dir():
        return 0
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if marker in environ.split(b"\0"):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(int(entry.name), signal.SIGKILL)
                killed += 1
    return killed


def read_violations(path: Path) -> list[dict]:
    found: list[dict] = []
    seen = set()
    with contextlib.suppress(OSError):
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines()[:1000]:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            key = (record.get("what"), record.get("detail"))
            if isinstance(record, dict) and key not in seen:
                seen.add(key)
                found.append({k: str(record.get(k, ""))[:300] for k in ("event", "what", "detail")})
    return found[:50]
