"""Run a contest notebook top to bottom in a fresh kernel: the driver inside the sandbox.

``python kernel_driver.py SPEC FD``: the grader copies this file into the sandbox's control
folder and runs it there as a script, because the course's package is *not* in a contest
sandbox (a submission may not use it): it imports nothing from ``vae_course``. The
notebook's cells run in order in the folder that holds it and its ``data/``; the first cell
that raises stops the run (an IOAI "runtime error"); the time limit counts from the first
cell. Reports go as JSON lines to descriptor ``FD``, rewritten after every cell:
``started``, ``cells_run``, ``cells_total``, ``error`` (the first error: cell, name,
message), ``timed_out``, ``kernel_died``, ``seconds``, ``driver_error``.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import sys
import time
from pathlib import Path

KERNEL_STARTUP_S = 60


def _not_dumpable() -> None:
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE, 0


def main(spec_path: str, report_fd: int) -> int:
    """Run the notebook the spec names; one JSON report line per cell on ``report_fd``."""
    _not_dumpable()
    out = os.fdopen(report_fd, "w", encoding="utf-8")
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    report = {
        "started": False,
        "cells_run": 0,
        "cells_total": 0,
        "error": None,
        "timed_out": False,
        "kernel_died": False,
        "seconds": 0.0,
        "driver_error": None,
    }

    def save() -> None:
        with contextlib.suppress(OSError, ValueError):
            out.write(json.dumps(report) + "\n")
            out.flush()

    try:
        _run(spec, report, save)
    except Exception as error:  # the kernel could not start, nbclient failed, ...
        report["driver_error"] = f"{type(error).__name__}: {str(error)[:500]}"
    save()
    return 0


def _run(spec: dict, report: dict, save) -> None:
    # nbformat's jsonschema would import rfc3987_syntax (about a second, for a format the
    # notebook schema does not use): mark it missing, as vae_course.grading.execute does
    sys.modules.setdefault("rfc3987_syntax", None)
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    class Client(NotebookClient):
        def output(self, outs, msg, display_id, cell_index):  # noqa: D401 - keep no outputs
            if msg.get("msg_type") == "error" and report["error"] is None:
                content = msg.get("content", {})
                report["error"] = {
                    "cell": cell_index + 1,
                    "ename": str(content.get("ename", ""))[:100],
                    "evalue": str(content.get("evalue", ""))[:300],
                }
            return None

    notebook = nbformat.read(spec["notebook"], as_version=4)
    code_cells = [i for i, cell in enumerate(notebook.cells) if cell.cell_type == "code"]
    report["cells_total"] = len(code_cells)
    client = Client(
        notebook,
        kernel_name=spec["kernel"],
        allow_errors=True,
        interrupt_on_timeout=False,
        startup_timeout=KERNEL_STARTUP_S,
        record_timing=False,
        shutdown_kernel="immediate",
        resources={"metadata": {"path": spec["workdir"]}},
    )
    with client.setup_kernel():
        report["started"] = True
        save()
        start = time.monotonic()
        deadline = start + float(spec["timeout"])
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
            report["seconds"] = round(time.monotonic() - start, 2)
            if report["error"] is not None:
                break
            report["cells_run"] += 1
            save()
        report["seconds"] = round(time.monotonic() - start, 2)
        if report["seconds"] > float(spec["timeout"]):
            report["timed_out"] = True


if __name__ == "__main__":  # pragma: no cover - runs inside the sandbox
    sys.exit(main(sys.argv[1], int(sys.argv[2])))
