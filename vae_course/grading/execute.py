"""Running a submission: a fresh kernel, every cell, then the harvest cell, all in a sandbox.

:func:`run_notebook` (the grader's side) prepares a private scratch folder and starts
``python -m vae_course.grading.execute SPEC FD`` inside the operating-system sandbox
(:mod:`.sandbox`). That process (:func:`execute_main`) and the notebook's kernel both run
inside it: the kernel reaches its client over the sandbox's own loopback and nothing else.
The notebook runs top to bottom with ``allow_errors``, under the wall-time budget and the
resource limits; the learner's outputs are discarded; an appended *harvest* cell
(:mod:`.harvest`) serialises the value of every requested answer name. The report goes
to the grader as JSON lines on descriptor ``FD`` (rewritten after every cell, so a hard
kill still leaves what was done); the process makes itself non-dumpable first, so the
kernel (the same user) cannot reach that descriptor through ``/proc``.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from .env import Options, learner_settings, sandbox_dir
from .harvest import harvest_cell_source
from .processes import RunResult, run_sandboxed
from .sandbox import Policy, Sandbox, prepare_workdir

KERNEL_STARTUP_S = 60  # a kernel that does not start within this is a crash
HARVEST_S = 30  # the appended harvest cell's own budget (not counted in --timeout)
GRACE_S = 30  # slack before the whole sandbox is killed from outside
KERNEL_NAME = "vae-grader"
PR_SET_DUMPABLE = 4


def skip_slow_schema_formats() -> None:
    """Keep ``jsonschema`` from importing ``rfc3987_syntax`` in this process.

    ``nbformat`` imports ``jsonschema``, whose optional checker of the "iri" format imports
    ``rfc3987_syntax``, and that import alone builds a grammar for about a second: a second
    of every submission's grading. The notebook schema uses no such format, so this process
    (which only runs notebooks) marks the module as missing and ``jsonschema`` skips it.
    """
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]


def _not_dumpable() -> None:
    """prctl(PR_SET_DUMPABLE, 0): other processes of this user cannot open our /proc files."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)


def execute_main(spec_path: str, report_fd: int) -> int:
    """Entry point inside the sandbox: run the notebook, harvest, report on ``report_fd``.

    Each report line holds ``started``, ``cells_run``, ``cells_total``, ``errors`` (cell,
    ename, evalue), ``timed_out``, ``kernel_died``, ``harvest`` (values and the kernel's
    integrity report) and ``error`` (a grader problem).
    """
    _not_dumpable()
    out = os.fdopen(report_fd, "w", encoding="utf-8")
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    report: dict[str, Any] = {
        "started": False,
        "cells_run": 0,
        "cells_total": 0,
        "errors": [],
        "timed_out": False,
        "kernel_died": False,
        "harvest": None,
        "error": None,
    }

    def save() -> None:
        with contextlib.suppress(OSError, ValueError):
            out.write(json.dumps(report) + "\n")
            out.flush()

    try:
        _execute(spec, report, save)
    except Exception as error:  # the kernel could not start, nbclient failed, ...
        report["error"] = f"{type(error).__name__}: {str(error)[:500]}"
    save()
    return 0


def _execute(spec: dict, report: dict, save) -> None:
    skip_slow_schema_formats()
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    class GraderClient(NotebookClient):
        """Keeps no outputs (the grader never reads them), only error names per cell."""

        async def _async_handle_timeout(self, timeout, cell=None):
            report["timed_out"] = True  # the cell ran into the notebook's time limit
            return await super()._async_handle_timeout(timeout, cell)

        def output(self, outs, msg, display_id, cell_index):  # noqa: D401
            if msg.get("msg_type") == "error" and len(report["errors"]) < 500:
                content = msg.get("content", {})
                report["errors"].append(
                    {
                        "cell": cell_index + 1,
                        "ename": str(content.get("ename", ""))[:100],
                        "evalue": str(content.get("evalue", ""))[:300],
                    }
                )
            return None

    notebook = nbformat.read(spec["notebook"], as_version=4)
    code_cells = [i for i, cell in enumerate(notebook.cells) if cell.cell_type == "code"]
    report["cells_total"] = len(code_cells)
    timeout_marker = "vae-course grader: time limit"
    client = GraderClient(
        notebook,
        kernel_name=KERNEL_NAME,
        allow_errors=True,
        interrupt_on_timeout=True,
        error_on_timeout={"ename": "TimeoutError", "evalue": timeout_marker, "traceback": []},
        startup_timeout=KERNEL_STARTUP_S,
        record_timing=False,
        shutdown_kernel="immediate",
        resources={"metadata": {"path": spec["workdir"]}},
    )
    deadline = time.monotonic() + float(spec["timeout"])
    with client.setup_kernel():
        report["started"] = True
        report["timeout_s"] = float(spec["timeout"])
        save()
        for index in code_cells:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                report["timed_out"] = True
                break
            client.timeout = max(1, math.ceil(remaining))
            try:
                client.execute_cell(notebook.cells[index], index)
            except CellTimeoutError:
                report["timed_out"] = True
                break
            except DeadKernelError:
                report["kernel_died"] = True
                break
            report["cells_run"] += 1
            if report["timed_out"]:  # nbclient interrupted the cell at the limit
                report["errors"].append(
                    {"cell": index + 1, "ename": "TimeoutError", "evalue": timeout_marker}
                )
                break
            save()
        save()
        if report["kernel_died"]:
            return
        harvest_path = spec["harvest_path"]
        cell = nbformat.v4.new_code_cell(harvest_cell_source(spec["names"], harvest_path))
        notebook.cells.append(cell)
        client.timeout = HARVEST_S
        errors_before = len(report["errors"])
        try:
            client.execute_cell(cell, len(notebook.cells) - 1, store_history=False)
        except (CellTimeoutError, DeadKernelError) as error:
            report["harvest_error"] = type(error).__name__
        harvest_errors = report["errors"][errors_before:]
        del report["errors"][errors_before:]
        if harvest_errors:
            report["harvest_error"] = f"{harvest_errors[0]['ename']}: {harvest_errors[0]['evalue']}"
        with contextlib.suppress(OSError, ValueError):
            report["harvest"] = json.loads(Path(harvest_path).read_text(encoding="utf-8"))


def run_notebook(
    path: Path, names: list[str], options: Options, sandbox: Sandbox, scratch: Path
) -> dict:
    """Execute a copy of ``path`` in a sandboxed kernel, in ``scratch``; the last report.

    Adds ``violations`` (what the recorder saw refused), ``hard_killed`` (the sandbox had
    to be killed from outside) and ``seconds``.
    """
    work, control = scratch / "work", scratch / "control"
    private = {
        "HOME": work,
        "TMPDIR": work / ".tmp",
        "IPYTHONDIR": work / ".ipython",
        "MPLCONFIGDIR": work / ".matplotlib",
        "XDG_CACHE_HOME": work / ".cache",
        "XDG_CONFIG_HOME": work / ".config",
        "JUPYTER_RUNTIME_DIR": work / ".jupyter" / "runtime",
        "JUPYTER_DATA_DIR": work / ".jupyter" / "data",
    }
    for folder in [*private.values(), control / "site", control / "jupyter" / "kernels"]:
        folder.mkdir(parents=True, exist_ok=True)
    notebook_copy = work / (path.stem[:100] + ".ipynb")
    shutil.copyfile(path, notebook_copy)
    shutil.copy(sandbox_dir() / "sitecustomize.py", control / "site" / "sitecustomize.py")
    env = {key: str(value) for key, value in private.items()}
    env.update(learner_settings(private["XDG_CACHE_HOME"]))
    env.update(
        PATH=os.environ.get("PATH", "/usr/bin:/bin"),
        PYTHONPATH=str(control / "site"),
        PYTHONNOUSERSITE="1",
        PYDEVD_DISABLE_FILE_VALIDATION="1",
        JUPYTER_PATH=str(control / "jupyter"),
        JUPYTER_CONFIG_DIR=str(work / ".jupyter" / "config"),
        JUPYTER_PLATFORM_DIRS="1",
    )
    spec_dir = control / "jupyter" / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True)
    kernel_spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "vae-course grader",
        "language": "python",
        # the audit-hook recorder (sandbox_site) starts in the kernel and its children only
        "env": {
            "VAE_GRADER_WORKDIR": str(work),
            "VAE_GRADER_LOG": str(control / "pipes" / "violations"),
            "VAE_GRADER_READ_ROOTS": os.pathsep.join([options.package_dir, str(control)]),
        },
    }
    (spec_dir / "kernel.json").write_text(json.dumps(kernel_spec), encoding="utf-8")
    spec = {
        "notebook": str(notebook_copy),
        "workdir": str(work),
        "timeout": options.timeout,
        "names": sorted(set(names)),
        "harvest_path": str(work / ".vae-grader-harvest.json"),
    }
    (control / "spec.json").write_text(json.dumps(spec), encoding="utf-8")
    prepare_workdir(work)
    policy = Policy(
        workdir=work,
        env=env,
        read_only=(Path(options.package_dir), control),
        memory_mb=options.memory_mb,
        cpu_seconds=int(options.timeout * 2 + KERNEL_STARTUP_S + HARVEST_S + GRACE_S),
    )
    argv = [sys.executable, "-m", "vae_course.grading.execute", str(control / "spec.json"), "{FD}"]
    hard_limit = options.timeout + KERNEL_STARTUP_S + HARVEST_S + GRACE_S
    run = run_sandboxed(
        sandbox, argv, policy, timeout=hard_limit, pipes=control / "pipes", log=scratch / "log"
    )
    return _report(run)


def _report(run: RunResult) -> dict:
    report: dict[str, Any] = {"started": False, "errors": [], "harvest": None}
    for line in reversed(run.lines):
        with contextlib.suppress(ValueError):
            candidate = json.loads(line)
            if isinstance(candidate, dict):
                report = candidate
                break
    else:
        report["error"] = (
            f"the notebook's run left no report (exit {run.returncode}): {run.log_tail[-800:]}"
        )
    report["hard_killed"] = run.timed_out
    if run.timed_out:
        report["timed_out"] = True
    report["violations"] = run.violations
    report["seconds"] = run.seconds
    return report


if __name__ == "__main__":  # pragma: no cover - runs inside the sandbox
    sys.exit(execute_main(sys.argv[1], int(sys.argv[2])))
