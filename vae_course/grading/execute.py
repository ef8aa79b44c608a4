"""Running a submission: a fresh kernel, every cell, then the harvest cell.

:func:`run_notebook` (the grader's side) starts ``python -m vae_course.grading.execute
SPEC`` in a private scratch folder; that process (:func:`execute_main`) runs a copy of the
notebook top to bottom in a fresh kernel with ``allow_errors``, under the wall-time budget
and the address-space limit, with the audit-hook sandbox of :mod:`.sandbox_site`. The
learner's outputs are discarded; an appended *harvest* cell (:mod:`.harvest`) serialises
the value of every requested answer name. The report is rewritten after every cell, so a
hard kill still leaves what was done.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .env import (
    Options,
    clean_environment,
    learner_settings,
    limit_file_size,
    limit_memory,
    sandbox_dir,
)
from .harvest import harvest_cell_source
from .processes import kill_group, kill_leftovers, read_violations, remove_tree

KERNEL_STARTUP_S = 60  # a kernel that does not start within this is a crash
HARVEST_S = 30  # the appended harvest cell's own budget (not counted in --timeout)
GRACE_S = 30  # slack before the execute process is killed from outside
KERNEL_NAME = "vae-grader"


def execute_main(spec_path: str) -> int:
    """Entry point of the execute process: run the notebook, harvest, write a JSON report.

    The report (``spec["report"]``) holds ``started``, ``cells_run``, ``cells_total``,
    ``errors`` (cell, ename, evalue), ``timed_out``, ``kernel_died``, ``harvest`` (values
    and the kernel's integrity report) and ``error`` (a grader problem), and is rewritten
    after every cell so a hard kill still leaves what was done.
    """
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    limit_memory(spec.get("memory_mb"))
    limit_file_size()
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
    report_path = Path(spec["report"])

    def save() -> None:
        tmp = report_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(report), encoding="utf-8")
        os.replace(tmp, report_path)

    try:
        _execute(spec, report, save)
    except Exception as error:  # the kernel could not start, nbclient failed, ...
        report["error"] = f"{type(error).__name__}: {str(error)[:500]}"
    save()
    return 0


def _execute(spec: dict, report: dict, save) -> None:
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
        with contextlib.suppress(Exception):
            report["kernel_pid"] = int(client.km.provisioner.pid)
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


def run_notebook(path: Path, names: list[str], options: Options) -> dict:
    """Execute a copy of ``path`` in a sandboxed kernel; returns the execute report.

    Adds ``violations`` (what the sandbox refused), ``hard_killed`` (the execute process
    itself had to be killed) and ``seconds``.
    """
    started = time.monotonic()
    scratch = Path(tempfile.mkdtemp(prefix="vae-grade-"))
    try:
        return _run_in(scratch, path, names, options) | {"seconds": time.monotonic() - started}
    finally:
        remove_tree(scratch)


def _run_in(scratch: Path, path: Path, names: list[str], options: Options) -> dict:
    import secrets

    work = scratch / "work"
    private = {
        "HOME": work,
        "TMPDIR": work / ".tmp",
        "IPYTHONDIR": work / ".ipython",
        "MPLCONFIGDIR": work / ".matplotlib",
        "XDG_CACHE_HOME": work / ".cache",
        "XDG_CONFIG_HOME": work / ".config",
        "JUPYTER_RUNTIME_DIR": work / ".jupyter" / "runtime",
    }
    for folder in private.values():
        folder.mkdir(parents=True, exist_ok=True)
    notebook_copy = work / (path.stem[:100] + ".ipynb")
    shutil.copyfile(path, notebook_copy)
    violations_log = scratch / "sandbox.jsonl"
    kernel_env = {key: str(value) for key, value in private.items()}
    kernel_env.update(learner_settings(private["XDG_CACHE_HOME"]))
    kernel_env.update(
        PYTHONPATH=str(sandbox_dir()),
        PYTHONNOUSERSITE="1",
        PYDEVD_DISABLE_FILE_VALIDATION="1",
        VAE_GRADER_WORKDIR=str(work),
        VAE_GRADER_READ_ROOTS=os.pathsep.join([options.package_dir, str(sandbox_dir())]),
        VAE_GRADER_LOG=str(violations_log),
        VAE_GRADER_DENY_ROOTS=os.pathsep.join([str(path.parent), *options.protected]),
    )
    spec_dir = scratch / "jupyter" / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True)
    kernel_spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "vae-course grader",
        "language": "python",
        "env": kernel_env,
    }
    (spec_dir / "kernel.json").write_text(json.dumps(kernel_spec), encoding="utf-8")
    report_path = scratch / "execution.json"
    spec = {
        "notebook": str(notebook_copy),
        "workdir": str(work),
        "timeout": options.timeout,
        "memory_mb": options.memory_mb,
        "names": sorted(set(names)),
        "harvest_path": str(work / f".vae-grader-{secrets.token_hex(8)}.json"),
        "report": str(report_path),
    }
    spec_path = scratch / "spec.json"
    spec_path.write_text(json.dumps(spec), encoding="utf-8")
    env = clean_environment()
    env.update(
        TMPDIR=str(private["TMPDIR"]),  # the kernel's connection file is written there
        JUPYTER_PATH=str(scratch / "jupyter"),
        JUPYTER_DATA_DIR=str(scratch / "jupyter"),
        JUPYTER_CONFIG_DIR=str(scratch / "jupyter-config"),
        JUPYTER_RUNTIME_DIR=str(private["JUPYTER_RUNTIME_DIR"]),
        JUPYTER_PLATFORM_DIRS="1",
        IPYTHONDIR=str(scratch / "ipython"),
    )
    hard_limit = options.timeout + KERNEL_STARTUP_S + HARVEST_S + GRACE_S
    command = [sys.executable, "-m", "vae_course.grading.execute", str(spec_path)]
    hard_killed = False
    with open(scratch / "execute.log", "wb") as log:
        process = subprocess.Popen(
            command, cwd=scratch, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        try:
            process.wait(timeout=hard_limit)
        except subprocess.TimeoutExpired:
            hard_killed = True
            kill_group(process.pid)
            process.wait()
    try:
        report = json.loads(report_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        report = {"started": False, "errors": [], "harvest": None}
        tail = (scratch / "execute.log").read_text(encoding="utf-8", errors="replace")[-800:]
        report["error"] = f"the execute process left no report (exit {process.returncode}): {tail}"
    if report.get("kernel_pid"):
        kill_group(int(report["kernel_pid"]))
    report["leftover_processes"] = kill_leftovers(work)
    report["hard_killed"] = hard_killed
    if hard_killed:
        report["timed_out"] = True
    report["violations"] = read_violations(violations_log)
    return report


if __name__ == "__main__":  # pragma: no cover - exercised through subprocesses
    sys.exit(execute_main(sys.argv[1]))
