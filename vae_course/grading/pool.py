"""The grader's handles on the isolated checker processes: start, ask, restart, close."""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .env import clean_environment, learner_settings
from .processes import kill_group, remove_tree


class CheckerUnavailable(RuntimeError):
    """The isolated checker process could not start or stopped answering."""


class CheckerProcess:
    """The grader's handle on one isolated checker (``python -I -m ... checker``)."""

    def __init__(self, package_dir: str, memory_mb: int | None, protected=()) -> None:
        self.protected = tuple(protected)
        self.scratch = Path(tempfile.mkdtemp(prefix="vae-grade-checker-"))
        empty = self.scratch / "cwd"
        empty.mkdir()
        env = clean_environment()
        env.update(learner_settings(self.scratch / "cache"))
        env.update(TMPDIR=str(empty), OBJC_DISABLE_INITIALIZE_FORK_SAFETY="YES")
        self.log_path = self.scratch / "checker.log"
        command = [sys.executable, "-I", "-m", "vae_course.grading.checker"]
        command += [package_dir, str(int(memory_mb or 0))]
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                cwd=empty,
                env=env,
                start_new_session=True,
            )
        self._buffer = b""
        self._requests = 0
        hello = self._read_reply(timeout=180)
        if not hello.get("ready"):
            self.close()
            problems = "; ".join(hello.get("problems") or ["it did not answer"])
            raise CheckerUnavailable(f"the isolated checker refused to start: {problems}")
        self.vae_course_file = hello.get("vae_course_file")

    def alive(self) -> bool:
        return self.process.poll() is None

    def check(self, jobs: list[dict], per_drill_timeout: float) -> dict[str, dict]:
        """Send one submission's jobs; returns ``{drill_id: reply}``."""
        if not jobs:
            return {}
        self._requests += 1
        request = {
            "id": self._requests,
            "jobs": jobs,
            "timeout": per_drill_timeout,
            "protected": list(self.protected),
        }
        try:
            self.process.stdin.write((json.dumps(request) + "\n").encode("utf-8"))
            self.process.stdin.flush()
        except (BrokenPipeError, OSError) as error:
            self.close()
            raise CheckerUnavailable(f"the checker stopped ({error})") from None
        reply = self._read_reply(timeout=len(jobs) * (per_drill_timeout + 10) + 30)
        if reply.get("id") != self._requests:
            self.close()
            raise CheckerUnavailable("the checker answered out of turn")
        return reply["results"]

    def _read_reply(self, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        stream = self.process.stdout
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.close()
                raise CheckerUnavailable(f"the checker did not answer within {timeout:g} s")
            ready, _, _ = select.select([stream], [], [], min(remaining, 1.0))
            if ready:
                chunk = os.read(stream.fileno(), 1 << 20)
                if not chunk:
                    self.close()
                    raise CheckerUnavailable(f"the checker stopped; see {self.log_path}")
                self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return json.loads(line.decode("utf-8"))

    def close(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                kill_group(self.process.pid)
                self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            with contextlib.suppress(OSError, ValueError):
                stream.close()
        remove_tree(self.scratch)


class CheckerPool:
    """Up to ``size`` checker processes shared by the grading threads (restarted if one dies)."""

    def __init__(self, size: int, package_dir: str, memory_mb: int | None, protected=()) -> None:
        import queue
        import threading

        self.package_dir = package_dir
        self.memory_mb = memory_mb
        self.protected = tuple(protected)
        self._idle: queue.SimpleQueue[CheckerProcess] = queue.SimpleQueue()
        self._all: list[CheckerProcess] = []
        self._lock = threading.Lock()
        self._size = max(1, size)

    def start_one(self) -> None:
        """Start a checker now (fails fast, before any notebook runs, if it cannot start)."""
        self._idle.put(self._new())

    def _new(self) -> CheckerProcess:
        checker = CheckerProcess(self.package_dir, self.memory_mb, self.protected)
        with self._lock:
            self._all.append(checker)
        return checker

    def check(self, jobs: list[dict], per_drill_timeout: float) -> dict[str, dict]:
        import queue

        try:
            checker = self._idle.get_nowait()
        except queue.Empty:
            checker = self._new()
        if not checker.alive():
            checker = self._new()
        try:
            return checker.check(jobs, per_drill_timeout)
        finally:
            if checker.alive():
                self._idle.put(checker)

    def close(self) -> None:
        with self._lock:
            checkers, self._all = self._all, []
        for checker in checkers:
            checker.close()
