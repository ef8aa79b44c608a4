"""Starting one sandboxed process and collecting what it reports; scratch-folder housekeeping.

:func:`run_sandboxed` is how the grader runs anything that touches learner code: under the
sandbox (:mod:`.sandbox`) and the resource limits (``prlimit``: address space, CPU time,
file size, applied before the sandbox starts and inherited by all inside), with

* a **result channel**: a pipe whose write end is the only descriptor passed in; the
  process writes JSON lines to it. Nothing it writes elsewhere is read;
* a **violations channel**: a FIFO the audit-hook recorder inside opens at start-up
  (:mod:`.sandbox_site`); the grader drains it in a thread, so what was sent cannot be
  taken back;
* a **wall-time limit**: past it the whole process group is killed (bubblewrap's PID
  namespace takes everything inside with it).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from .sandbox import Policy, Sandbox

MAX_CHANNEL_BYTES = 64_000_000


@dataclass
class RunResult:
    """What a sandboxed run left: its exit code, result lines, violations, timing."""

    returncode: int | None
    lines: list[str] = field(default_factory=list)
    violations: list[dict] = field(default_factory=list)
    timed_out: bool = False
    seconds: float = 0.0
    log_tail: str = ""


def _drain(fd: int, sink: list[bytes], limit: int) -> None:
    total = 0
    with contextlib.suppress(OSError):
        while chunk := os.read(fd, 1 << 16):
            total += len(chunk)
            if total <= limit:
                sink.append(chunk)
    with contextlib.suppress(OSError):
        os.close(fd)


def violations_from(raw: bytes) -> list[dict]:
    """The distinct violation records (at most 50) in the recorder's JSON lines."""
    found: list[dict] = []
    seen = set()
    for line in raw.decode("utf-8", "replace").splitlines()[:1000]:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if not isinstance(record, dict):
            continue
        key = (record.get("what"), record.get("detail"))
        if key not in seen:
            seen.add(key)
            found.append({k: str(record.get(k, ""))[:300] for k in ("event", "what", "detail")})
    return found[:50]


def run_sandboxed(
    sandbox: Sandbox,
    argv: list[str],
    policy: Policy,
    *,
    timeout: float,
    pipes: Path,
    log: Path,
) -> RunResult:
    """Run ``argv`` in ``sandbox`` under ``policy``; ``{FD}`` in argv becomes the result fd.

    ``pipes`` is a folder outside the writable one (shown read-only inside) that holds the
    violations FIFO; the policy's ``VAE_GRADER_LOG`` must name it.
    """
    pipes.mkdir(parents=True, exist_ok=True)
    fifo = pipes / "violations"
    with contextlib.suppress(FileNotFoundError):
        fifo.unlink()
    os.mkfifo(fifo, 0o622)
    with contextlib.suppress(OSError):
        os.chmod(fifo, 0o622)
    fifo_fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    os.set_blocking(fifo_fd, True)
    keep = os.open(fifo, os.O_WRONLY)  # holds the FIFO open so reads block, not end
    read_fd, write_fd = os.pipe()
    argv = [str(write_fd) if part == "{FD}" else part for part in argv]
    limits = [f"--fsize={policy.file_mb * 2**20}"]
    if policy.memory_mb:
        limits.append(f"--as={policy.memory_mb * 2**20}")
    if policy.cpu_seconds:
        limits.append(f"--cpu={int(policy.cpu_seconds)}")
    command = sandbox.command(argv, policy)
    if shutil.which("prlimit"):
        command = ["prlimit", *limits, "--", *command]
    results: list[bytes] = []
    violations: list[bytes] = []
    readers = [
        threading.Thread(target=_drain, args=(read_fd, results, MAX_CHANNEL_BYTES), daemon=True),
        threading.Thread(target=_drain, args=(fifo_fd, violations, 1_000_000), daemon=True),
    ]
    started = time.monotonic()
    timed_out = False
    with open(log, "wb") as log_file:
        try:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                env=sandbox.environment(policy),
                cwd=policy.workdir,
                pass_fds=(write_fd, *policy.keep_fds),
                start_new_session=True,
            )
        finally:
            os.close(write_fd)
        for reader in readers:
            reader.start()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
        kill_group(process.pid)
        process.wait()
    os.close(keep)
    for reader in readers:
        reader.join(10)
    seconds = time.monotonic() - started
    tail = log.read_text(encoding="utf-8", errors="replace")[-1500:] if log.exists() else ""
    lines = b"".join(results).decode("utf-8", "replace").splitlines()
    return RunResult(
        process.returncode,
        lines,
        violations_from(b"".join(violations)),
        timed_out,
        seconds,
        tail,
    )


def kill_group(pid: int) -> None:
    """SIGKILL the process group of ``pid`` (and ``pid`` itself)."""
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


__all__ = ["RunResult", "kill_group", "remove_tree", "run_sandboxed", "violations_from"]
