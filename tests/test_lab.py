"""``make lab`` from a fresh clone serves the course, as root too; ``vae-course lab`` options.

The end-to-end test clones this repository into a temporary folder (``git clone``, plus the
working tree's uncommitted changes to tracked files, applied as a patch, so that what is
tested is what you are about to commit; untracked files are not part of a clone) and runs
the clone's own ``make lab`` there, the README's first command. Installing the course a
second time (about 5 GB) for every test run would be too slow, so the clone's ``make lab``
is pointed at this test run's environment with ``VENV=<sys.prefix>``: the Makefile then uses
that environment as it is and installs nothing (an editable install, its ``vae-course``
runs this repository's package; the Makefile, the folder served and the root handling are
the clone's). The server gets a free loopback port, a random token and private Jupyter
directories; the test checks that it answers ``/api/status`` and lists the clone's
``notebooks/``, and that as root the one-line note about ``--allow-root`` was printed. The
server and everything ``make`` started are stopped in a ``finally``, also when the test fails.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import urllib.error
from pathlib import Path

import pytest
from browser_support import REPO_ROOT, LabServer

from vae_course import cli, course_files, lab

STARTUP_TIMEOUT_S = 120.0
WELCOME = course_files.FIRST_NOTEBOOK


def _git(*args: str, cwd: Path, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, check=True, timeout=300, **kwargs
    )


@pytest.fixture
def fresh_clone(tmp_path) -> Path:
    """A clone of this repository with the working tree's changes to tracked files."""
    if shutil.which("git") is None or shutil.which("make") is None:
        pytest.skip("the fresh-clone test needs git and make")
    if not (REPO_ROOT / ".git").exists():
        pytest.skip(f"{REPO_ROOT} is not a git checkout")
    clone = tmp_path / "clone"
    _git("clone", "--quiet", str(REPO_ROOT), str(clone), cwd=tmp_path)
    patch = _git("diff", "HEAD", "--binary", cwd=REPO_ROOT).stdout
    if patch.strip():
        _git("apply", "--whitespace=nowarn", "-", cwd=clone, input=patch)
    return clone


def test_make_lab_from_a_fresh_clone_serves_the_notebooks(fresh_clone):
    marker = fresh_clone / "notebooks" / "only-in-this-clone.txt"
    marker.write_text("the server must list this clone's notebooks/\n")
    work_dir = Path(tempfile.mkdtemp(prefix="vae-course-make-lab-"))
    server = LabServer(root_dir=fresh_clone, work_dir=work_dir).reserve()
    server.startup_timeout_s = STARTUP_TIMEOUT_S
    lab_args = (
        f"--no-browser --ServerApp.ip=127.0.0.1 --ServerApp.port={server.port} "
        "--ServerApp.port_retries=0"
    )
    command = ["make", "--no-print-directory", "lab", f"VENV={sys.prefix}", f"LAB_ARGS={lab_args}"]
    try:
        server.start_with(command, cwd=fresh_clone)
        status = server.api("GET", "/api/status")
        listing = server.api("GET", "/api/contents/notebooks")
        root = server.api("GET", "/api/contents")
        log = server.log_text()
    finally:
        server.stop()
        shutil.rmtree(work_dir, ignore_errors=True)
    assert "started" in status
    names = {item["name"] for item in listing["content"]}
    expected = {p.name for p in (fresh_clone / "notebooks").glob("*.ipynb")}
    assert WELCOME in names and expected <= names and marker.name in names
    assert {"Makefile", "notebooks", "solutions"} <= {item["name"] for item in root["content"]}
    root_notes = [line for line in log.splitlines() if line.strip() == lab.ROOT_NOTE]
    assert len(root_notes) == (1 if lab.running_as_root() else 0), log[-3000:]
    assert "Running as root is not recommended" not in log, log[-3000:]
    assert server.process is None  # stopped
    with pytest.raises((OSError, urllib.error.URLError)):
        server.api("GET", "/api/status", timeout=2)


def test_make_lab_refuses_a_venv_without_the_course(tmp_path):
    if shutil.which("make") is None:
        pytest.skip("needs make")
    done = subprocess.run(
        ["make", "--no-print-directory", "-C", str(REPO_ROOT), "lab", f"VENV={tmp_path}"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert "has no vae-course" in done.stdout + done.stderr
    assert not (tmp_path / "bin").exists()  # nothing was installed there


def test_lab_refuses_a_missing_folder_and_says_how_to_fill_it(tmp_path, capsys):
    assert cli.main(["lab", str(tmp_path / "nowhere")]) == 2
    assert f"vae-course notebooks {tmp_path / 'nowhere'}" in capsys.readouterr().err


def test_lab_passes_allow_root_only_as_root(tmp_path):
    course_files.copy_notebooks(tmp_path)
    as_root = lab.lab_command(tmp_path, ["--no-browser"], as_root=True)
    assert as_root.count("--allow-root") == 1 and as_root[-1] == "--no-browser"
    assert f"--LabApp.default_url=/lab/tree/{WELCOME}" in as_root
    assert f"--ServerApp.root_dir={tmp_path}" in as_root
    assert "--allow-root" not in lab.lab_command(tmp_path, [], as_root=False)
    given = lab.lab_command(tmp_path, ["--allow-root"], as_root=True)
    assert given.count("--allow-root") == 1


def test_lab_opens_the_welcome_notebook_of_a_clone_or_a_copied_folder(tmp_path):
    assert lab.first_notebook(REPO_ROOT) == f"notebooks/{WELCOME}"
    assert lab.first_notebook(tmp_path) is None
    no_welcome = lab.lab_command(tmp_path, [], as_root=False)
    assert not [arg for arg in no_welcome if arg.startswith("--LabApp.default_url")]
