"""Each chapter's first code cell says how to install vae_course when the kernel lacks it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TAG = "install-check"
CHAPTERS = sorted(
    p for tree in ("solutions", "notebooks") for p in (ROOT / tree).glob("0[0-9]_*.ipynb")
)


def _install_cells(path: Path) -> tuple[list[dict], dict]:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    tagged = [c for c in cells if TAG in c.get("metadata", {}).get("tags", [])]
    first_code = next(c for c in cells if c["cell_type"] == "code")
    return tagged, first_code


def _source(cell: dict) -> str:
    return "".join(cell["source"])


def test_there_are_chapters_to_check():
    assert len(CHAPTERS) >= 20  # ten chapters, solution and student versions


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_the_first_code_cell_is_the_one_install_check(path):
    tagged, first_code = _install_cells(path)
    assert len(tagged) == 1, f"{path.name}: expected one cell tagged {TAG!r}"
    assert tagged[0] is first_code, f"{path.name}: the install check must run first"


def test_every_chapter_has_the_same_install_check():
    sources = {_source(_install_cells(p)[0][0]) for p in CHAPTERS}
    assert len(sources) == 1, "the install-check cell differs between chapters"


def _run(source: str, *flags: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *flags, "-c", source],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT / "tests",
    )


def test_without_the_package_the_cell_stops_with_how_to_install_it():
    source = _source(_install_cells(CHAPTERS[0])[0][0])
    # -I -S: no site-packages, so vae_course cannot be found (as in a bare kernel)
    run = _run(source, "-I", "-S")
    assert run.returncode != 0
    message = run.stderr
    assert "cannot import" in message
    assert "make lab" in message
    assert f"{sys.executable} -m pip install -e" in message
    assert "Traceback" not in message  # SystemExit: a message, not a traceback


def test_with_the_package_the_cell_is_silent():
    source = _source(_install_cells(CHAPTERS[0])[0][0])
    run = _run(source)
    assert run.returncode == 0, run.stderr
    assert run.stdout == "" and run.stderr == ""
