"""The clean checker: learner answers checked by checkers no learner code has touched.

A long-lived, isolated process (``python -I -m vae_course.grading.checker``,
:func:`checker_main`) imports the installed ``vae_course`` once, verifies where it came
from, and never runs learner code itself. For each drill it forks a child that rebuilds
the learner's function from source (or decodes the harvested value), calls the drill's
checker through references captured before any learner code ran, and compares the checker
modules before and after (a change is *tampering*). One JSON request per line on stdin, one
reply per line on its protocol stream.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .env import limit_file_size, limit_memory, sandbox_dir
from .harvest import decode_value
from .processes import read_violations, remove_tree

CHECK_TIMEOUT_S = 60.0  # one drill check (rebuild + checker), hard kill after this


def _is_course(name: str) -> bool:
    return name == "vae_course" or name.startswith("vae_course.")


def _watched_modules() -> list[str]:
    names = sorted(name for name in list(sys.modules) if _is_course(name))
    return names + ["builtins", "torch", "torch.nn.functional", "torch.testing", "math", "json"]


def _identities(mapping: Any) -> dict[str, int]:
    try:
        return {str(key): id(value) for key, value in list(mapping.items())[:5000]}
    except Exception:  # an object with an exotic __dict__
        return {}


def _snapshot() -> dict[str, dict[str, int]]:
    """``{scope: {attribute: id(value)}}`` for the checkers and what they rely on.

    Scopes: the ``vae_course`` entries of ``sys.modules``; every loaded ``vae_course``
    module, the classes and objects it holds and the dicts it holds (e.g. the drill
    registry) one level deep; ``builtins``, ``torch``, ``torch.Tensor``,
    ``torch.nn.functional``, ``torch.testing``, ``math`` and ``json``.
    """
    snapshot: dict[str, dict[str, int]] = {
        "sys.modules": {n: id(m) for n, m in list(sys.modules.items()) if _is_course(n)}
    }
    seen_objects: set[int] = set()

    def add_object(label: str, value: Any) -> None:
        if id(value) in seen_objects:
            return
        seen_objects.add(id(value))
        if isinstance(value, type):
            label = f"{value.__module__}.{value.__qualname__}"
        snapshot[label] = _identities(vars(value))

    for name in _watched_modules():
        module = sys.modules.get(name)
        if module is None:
            continue
        namespace = dict(vars(module))
        snapshot[name] = _identities(namespace)
        if not _is_course(name):
            continue
        for key, value in namespace.items():
            label = f"{name}.{key}"
            if isinstance(value, dict):
                snapshot[label + "{}"] = _identities(value)
                for item_key, item in list(value.items())[:5000]:
                    if _is_course(type(item).__module__) and hasattr(item, "__dict__"):
                        add_object(f"{label}[{item_key!r}]", item)
            elif isinstance(value, type) and _is_course(getattr(value, "__module__", "")):
                add_object(label, value)
            elif _is_course(type(value).__module__) and hasattr(value, "__dict__"):
                add_object(label, value)
    torch = sys.modules.get("torch")
    if torch is not None:
        snapshot["torch.Tensor"] = _identities(vars(torch.Tensor))
    return snapshot


def _changes(before: dict, after: dict, package_dir: Path | None = None) -> list[str]:
    """Watched attributes that were replaced or deleted, or added where additions matter.

    Additions count in ``vae_course`` modules (unless the new value is a submodule) and
    classes; a new ``vae_course.*`` entry in ``sys.modules`` counts when it does not come
    from the installed package.
    """
    changed = []
    for scope, attributes in before.items():
        now = after.get(scope, {})
        changed += [
            f"{scope}.{key}" for key, identity in attributes.items() if now.get(key) != identity
        ]
        added = now.keys() - attributes.keys()
        if not added or scope.endswith("{}") or not _is_course(scope.split("[")[0]):
            if scope != "sys.modules":
                continue
        for key in sorted(added):
            if scope == "sys.modules":
                module_file = getattr(sys.modules.get(key), "__file__", None) or ""
                inside = (
                    package_dir is not None and package_dir in Path(module_file).resolve().parents
                )
                if not inside:
                    changed.append(f"sys.modules[{key!r}]")
                continue
            module = sys.modules.get(scope)
            value = getattr(module, key, None) if module is not None else None
            if type(value).__name__ != "module":
                changed.append(f"{scope}.{key}")
    return sorted(set(changed))


class _Pristine:
    """References to the clean checkers, captured before any learner code runs."""

    def __init__(self, package_dir: Path, scratch: Path) -> None:
        from vae_course import drills

        self.package_dir = package_dir
        self.scratch = scratch
        self.drills = drills
        self.check = drills.check
        self.use = getattr(drills, "use", None)
        self._warm: set[str] = set()

    def warm_up(self, drill_id: str) -> None:
        """Check the package's own answer once, here, before any fork.

        Checkers fill caches and import modules lazily (and importing some torch modules
        replaces functions such as ``torch.manual_seed``); doing it first keeps those
        changes out of the before/after comparison made around the learner's code, and
        makes every child's check faster.
        """
        if drill_id in self._warm:
            return
        self._warm.add(drill_id)
        with contextlib.suppress(Exception):
            drill = self.drills.get_drill(drill_id)
            reference = drill.reference()
            answer = reference if reference is not None else Ellipsis
            self.check(drill_id, answer, record=False)


def checker_main(package_dir: str, memory_mb: int | None) -> int:
    """Entry point of the isolated checker: one JSON request per stdin line, one reply each.

    Started as ``python -I -m vae_course.grading.checker`` (isolated mode: no
    ``PYTHONPATH``, no user site, no current folder on ``sys.path``) from an empty folder.
    It refuses to run unless ``vae_course`` was imported from ``package_dir``.
    """
    protocol_out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # stray prints can never corrupt the protocol
    hello: dict[str, Any] = {"ready": False}
    try:
        import vae_course
        from vae_course import drills  # noqa: F401  (imported once, pristine, before any request)

        try:
            import torch

            torch.set_num_threads(1)  # fork-safe, and the checks are tiny
        except ImportError:
            pass
        expected = Path(package_dir).resolve()
        problems = [
            f"{name} comes from {module.__file__}"
            for name, module in list(sys.modules.items())
            if (name == "vae_course" or name.startswith("vae_course."))
            and getattr(module, "__file__", None)
            and expected not in Path(module.__file__).resolve().parents
        ]
        hello = {
            "ready": not problems,
            "problems": problems,
            "vae_course_file": vae_course.__file__,
            "version": getattr(vae_course, "__version__", "?"),
            "pid": os.getpid(),
        }
    except Exception as error:
        hello = {"ready": False, "problems": [f"{type(error).__name__}: {error}"]}
    protocol_out.write(json.dumps(hello) + "\n")
    protocol_out.flush()
    if not hello["ready"]:
        return 1
    pristine = _Pristine(expected, Path(tempfile.mkdtemp(prefix="children-")))
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        replies = {}
        for job in request["jobs"]:
            pristine.warm_up(job["drill"])
            replies[job["drill"]] = _check_in_child(
                job, pristine, request, memory_mb, protocol_out.fileno()
            )
        protocol_out.write(json.dumps({"id": request["id"], "results": replies}) + "\n")
        protocol_out.flush()
    return 0


def _check_in_child(job: dict, pristine: _Pristine, request: dict, memory_mb, protocol_fd) -> dict:
    """Fork a child that grades ``job`` under the sandbox; wait for its verdict (or kill it)."""
    timeout = float(request.get("timeout", CHECK_TIMEOUT_S))
    area = Path(tempfile.mkdtemp(prefix="check-", dir=pristine.scratch))
    work = area / "work"
    work.mkdir()
    violations_log = area / "sandbox.jsonl"
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # ---- child: learner code runs only here
        data = b""
        try:
            os.close(read_end)
            os.close(protocol_fd)
            os.setpgid(0, 0)
            devnull = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(devnull, fd)
            limit_memory(memory_mb)
            limit_file_size()
            _enter_sandbox(work, violations_log, pristine.package_dir, request.get("protected", []))
            reply = _grade_job(job, pristine, request)
            data = json.dumps(reply).encode("utf-8")
        except BaseException as error:  # noqa: BLE001 - the child must always answer
            data = json.dumps(_grader_error(f"{type(error).__name__}: {error}")).encode()
        finally:
            try:
                view = memoryview(data)
                while view:
                    written = os.write(write_end, view)
                    view = view[written:]
            finally:
                os._exit(0)
    # ---- parent (the pristine checker)
    os.close(write_end)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    timed_out = False
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            timed_out = True
            break
        ready, _, _ = select.select([read_end], [], [], min(remaining, 1.0))
        if ready:
            chunk = os.read(read_end, 65536)
            if not chunk:
                break
            chunks.append(chunk)
            if sum(map(len, chunks)) > 4_000_000:
                break
    os.close(read_end)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)
    violations = read_violations(violations_log)
    remove_tree(area)
    reply = _child_reply(chunks, timed_out, timeout)
    if violations:
        reply["violations"] = violations
    return reply


def _child_reply(chunks: list[bytes], timed_out: bool, timeout: float) -> dict:
    if timed_out:
        return {
            "status": "timeout",
            "score": 0.0,
            "feedback": [
                f"Checking this answer took longer than {timeout:g} s and was stopped "
                "(an endless loop, or very slow code?)."
            ],
        }
    try:
        reply = json.loads(b"".join(chunks).decode("utf-8"))
        if not isinstance(reply, dict) or "status" not in reply:
            raise ValueError("not a reply")
        return reply
    except (ValueError, UnicodeDecodeError):
        return {
            "status": "error",
            "score": 0.0,
            "feedback": [
                "The grader could not read the verdict on this answer (the code stopped the "
                "checking process, e.g. with os._exit or a crash, or ran out of memory)."
            ],
        }


def _enter_sandbox(work: Path, log: Path, package_dir: Path, protected: list[str]) -> None:
    """Install the kernel's audit-hook sandbox in this (child) process, working in ``work``.

    The learner's functions run here when the checker calls them, so they get the same
    policy as in the kernel: no reads of other submissions, no writes outside ``work``,
    no shells. The hook cannot be removed; the child exits after one drill.
    """
    import runpy

    os.chdir(work)
    tempfile.tempdir = str(work)  # the learner's temporary files stay in the work folder
    sandbox = runpy.run_path(
        str(sandbox_dir() / "sitecustomize.py"), run_name="vae_course_grader_sandbox"
    )
    sandbox["install"](
        {
            "VAE_GRADER_WORKDIR": str(work),
            "VAE_GRADER_LOG": str(log),
            "VAE_GRADER_READ_ROOTS": os.pathsep.join([str(package_dir), str(sandbox_dir())]),
            "VAE_GRADER_DENY_ROOTS": os.pathsep.join(protected),
        }
    )


def _grader_error(message: str) -> dict:
    return {"status": "error", "score": 0.0, "feedback": [f"Grader error: {message[:300]}"]}


def _grade_job(job: dict, pristine: _Pristine, request: dict) -> dict:
    """Inside the child: build the answer, check it with the pristine checker, detect tampering."""
    import linecache
    import types

    drill_id = job["drill"]
    before = _snapshot()
    notes: list[str] = []
    if job["mode"] == "value":
        answer = decode_value(job["value"])
    else:
        module = types.ModuleType("submission")
        module.__file__ = "<submission>"
        sys.modules["submission"] = module
        namespace = module.__dict__

        def clean_use(use_id: str, function: Any) -> Any:
            if pristine.use is None:
                return function
            try:
                return pristine.use(use_id, function)
            except Exception:
                return function

        namespace["__vae_grader_use__"] = clean_use
        for filename, source in job.get("cells", {}).items():
            lines = source.splitlines(keepends=True)
            linecache.cache[filename] = (len(source), None, lines, filename)
        notes += _run_units(job["units"], namespace, job.get("future_flags", 0))
        name = job["answer_name"]
        answer = namespace.get(name)
        if not _defined_by_learner(answer):
            changed = _changes(before, _snapshot(), pristine.package_dir)
            if changed:
                return _tampered(changed)
            return {
                "status": "not found",
                "score": 0.0,
                "feedback": [
                    f"not found: `{name}` could not be rebuilt from your notebook's code "
                    f"({'; '.join(notes) or 'its definition did not run'})."
                ],
            }
    changed = _changes(before, _snapshot(), pristine.package_dir)
    if changed:
        return _tampered(changed)
    try:
        result = pristine.check(drill_id, answer, seed=job.get("seed"), record=False)
    except Exception as error:
        return _grader_error(f"the checker raised {type(error).__name__}: {error}")
    changed = _changes(before, _snapshot(), pristine.package_dir)
    if changed:
        return _tampered(changed)
    reply = _result_dict(result)
    reply["notes"] = notes
    return reply


def _run_units(units: list[dict], namespace: dict, future_flags: int) -> list[str]:
    """Execute the rebuild statements in order; retry failures until nothing more succeeds."""
    pending = list(units)
    errors: dict[int, str] = {}
    while pending:
        failed = []
        for unit in pending:
            try:
                code = compile(
                    unit["code"], unit["filename"], "exec", flags=future_flags, dont_inherit=True
                )
                exec(code, namespace)
                errors.pop(id(unit), None)
            except BaseException as error:  # noqa: BLE001 - learner code may raise anything
                errors[id(unit)] = (
                    f"cell {unit['cell']}: {type(error).__name__}: {str(error)[:200]}"
                )
                failed.append(unit)
        if len(failed) == len(pending):
            break
        pending = failed
    return [f"while rebuilding your code, {message}" for message in errors.values()]


def _defined_by_learner(value: Any) -> bool:
    import inspect

    if value is None:
        return False
    if isinstance(value, type):
        return getattr(value, "__module__", "") == "submission"
    try:
        function = inspect.unwrap(value)
    except Exception:
        return False
    code = getattr(function, "__code__", None)
    return code is not None and code.co_filename.startswith("<notebook cell ")


def _tampered(changed: list[str]) -> dict:
    shown = ", ".join(f"`{name}`" for name in changed[:5])
    return {
        "status": "tampered",
        "score": 0.0,
        "feedback": [
            f"Your code changed the course's checkers or what they rely on ({shown}) while "
            "being graded, so this answer cannot be trusted and earns no points."
        ],
        "changed": changed[:20],
    }


def _result_dict(result: Any) -> dict:
    feedback = getattr(result, "feedback", [])
    if isinstance(feedback, str):
        feedback = [feedback]
    return {
        "status": str(
            getattr(result, "status", "passed" if getattr(result, "passed", False) else "failed")
        ),
        "score": float(getattr(result, "score", 0.0) or 0.0),
        "max_score": float(getattr(result, "max_score", 0.0) or 0.0),
        "passed": bool(getattr(result, "passed", False)),
        "feedback": [str(line)[:2000] for line in list(feedback)[:50]],
    }


if __name__ == "__main__":  # pragma: no cover - exercised through subprocesses
    sys.exit(checker_main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else None))
