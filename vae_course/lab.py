"""``vae-course lab [DIR] [JUPYTERLAB OPTIONS]``: open the course in JupyterLab, as any user.

JupyterLab refuses to start as root ("Running as root is not recommended. Use --allow-root
to bypass."), and a fresh container or cloud VM is exactly where people run as root. As
root this command passes ``--allow-root`` and says so in one line (:data:`ROOT_NOTE`).

``DIR`` (default: the current folder) becomes the file browser's root, and the welcome
notebook opens first when ``DIR`` holds it (``DIR/00_welcome.ipynb`` after
``vae-course notebooks DIR``, or ``DIR/notebooks/00_welcome.ipynb`` in a clone; ``make lab``
calls ``vae-course lab <clone>``). Everything after ``DIR`` goes to JupyterLab unchanged,
e.g. ``vae-course lab ~/vae-course --no-browser --port 8899``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from vae_course.course_files import FIRST_NOTEBOOK

ALLOW_ROOT = "--allow-root"
ROOT_NOTE = (
    "vae-course lab: running as root (as in a container or a cloud VM), so JupyterLab "
    "gets --allow-root."
)


def running_as_root() -> bool:
    """True for uid 0 on POSIX; never on Windows (no such refusal there)."""
    return hasattr(os, "geteuid") and os.geteuid() == 0


def first_notebook(root_dir: Path) -> str | None:
    """The welcome notebook's path relative to ``root_dir``, or None when it is not there."""
    for relative in (FIRST_NOTEBOOK, f"notebooks/{FIRST_NOTEBOOK}"):
        if (root_dir / relative).is_file():
            return relative
    return None


def lab_command(
    root_dir: Path, lab_args: list[str] | tuple[str, ...] = (), *, as_root: bool | None = None
) -> list[str]:
    """The ``python -m jupyter lab ...`` command line for ``root_dir`` (an existing folder)."""
    as_root = running_as_root() if as_root is None else as_root
    command = [sys.executable, "-m", "jupyter", "lab", f"--ServerApp.root_dir={root_dir}"]
    notebook = first_notebook(root_dir)
    if notebook is not None:
        command.append(f"--LabApp.default_url=/lab/tree/{notebook}")
    if as_root and ALLOW_ROOT not in lab_args:
        command.append(ALLOW_ROOT)
    return command + list(lab_args)


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``vae-course lab``."""
    parser.add_argument(
        "directory",
        nargs="?",
        default=".",
        metavar="DIR",
        help="the folder to open (default: here); `vae-course notebooks DIR` fills it",
    )
    parser.add_argument(
        "lab_args",
        nargs=argparse.REMAINDER,
        metavar="...",
        help="options passed on to JupyterLab, e.g. --no-browser --port 8899",
    )


def run(args: argparse.Namespace) -> int:
    """Start JupyterLab in ``args.directory``; on POSIX the process becomes JupyterLab."""
    root_dir = Path(args.directory).expanduser().resolve()
    if not root_dir.is_dir():
        print(
            f"vae-course lab: there is no folder {args.directory}; put the course there first "
            f"with: vae-course notebooks {args.directory}",
            file=sys.stderr,
        )
        return 2
    command = lab_command(root_dir, args.lab_args)
    if ALLOW_ROOT in command and ALLOW_ROOT not in args.lab_args:
        print(ROOT_NOTE, flush=True)
    if first_notebook(root_dir) is None:
        print(
            f"vae-course lab: {root_dir} has no {FIRST_NOTEBOOK}; "
            f"`vae-course notebooks {args.directory}` copies the course there.",
            flush=True,
        )
    sys.stderr.flush()
    if os.name == "posix":
        os.execv(command[0], command)  # Ctrl+C and the exit code are JupyterLab's own
    return subprocess.call(command)
