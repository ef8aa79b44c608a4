"""The committed notebooks: valid, without outputs, and notebooks/ in sync with solutions/.

Also checks the nbval configuration in the root conftest.py on a throwaway notebook.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from vae_course import authoring

REPO = Path(__file__).resolve().parents[1]
SOLUTIONS, NOTEBOOKS = REPO / "solutions", REPO / "notebooks"
COMMITTED = sorted(SOLUTIONS.glob("*.ipynb")) + sorted(NOTEBOOKS.glob("*.ipynb"))
IDS = [f"{path.parent.name}/{path.name}" for path in COMMITTED]


@pytest.mark.parametrize("path", COMMITTED, ids=IDS)
def test_committed_notebook_is_valid_and_has_no_outputs(path):
    notebook = nbformat.read(str(path), as_version=4)
    nbformat.validate(notebook)
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{IDS[COMMITTED.index(path)]} cell {index} has outputs"
            assert cell.execution_count is None, f"cell {index} has an execution count"
    assert notebook.cells, "an empty notebook"


@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("*.ipynb")), ids=lambda p: p.name)
def test_student_notebook_contains_no_solution_marker(path):
    notebook = nbformat.read(str(path), as_version=4)
    for index, cell in enumerate(notebook.cells):
        assert authoring.find_regions(cell.source, cell.cell_type, path.name, index) == []


def test_every_solution_has_a_student_notebook_and_vice_versa():
    solutions = {path.name for path in SOLUTIONS.glob("*.ipynb")}
    students = {path.name for path in NOTEBOOKS.glob("*.ipynb")}
    assert solutions, "solutions/ holds no notebooks"
    assert solutions == students, "run `make build`"


def test_build_check_is_clean():
    problems = [str(f) for f in authoring.build(SOLUTIONS, NOTEBOOKS, check=True) if f.is_problem]
    assert problems == [], "\n".join(problems)


def _nbval(folder: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_conftest_skips_noisy_outputs_but_still_compares_stdout(tmp_path):
    """A checked cell passes despite different stderr and HTML, and fails on different stdout."""
    shutil.copy(REPO / "conftest.py", tmp_path / "conftest.py")
    code = (
        "# NBVAL_CHECK_OUTPUT\nimport sys\nfrom IPython.display import HTML\n"
        "print('same')\nprint('progress 73%', file=sys.stderr)\nHTML('<b>new</b>')"
    )
    stored = [
        new_output("stream", name="stdout", text="same\n"),
        new_output("stream", name="stderr", text="progress 12%"),
        new_output(
            "execute_result",
            data={"text/html": "<i>old</i>", "text/plain": "<IPython.core.display.HTML object>"},
            execution_count=1,
        ),
    ]
    checked = new_code_cell(code, execution_count=1, outputs=stored)
    differs = new_code_cell(
        "# NBVAL_CHECK_OUTPUT\nprint('now')",
        execution_count=2,
        outputs=[new_output("stream", name="stdout", text="before\n")],
    )
    nbformat.write(new_notebook(cells=[checked, differs]), str(tmp_path / "probe.ipynb"))
    result = _nbval(tmp_path, "--nbval-lax", "probe.ipynb")
    assert "1 failed, 1 passed" in result.stdout, result.stdout + result.stderr
    assert "probe.ipynb::Cell 1" in result.stdout


def test_conftest_sets_cell_timeout_and_current_env(tmp_path):
    shutil.copy(REPO / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "test_probe.py").write_text(
        "def test_options(request):\n"
        "    option = request.config.option\n"
        "    print('OPTIONS', option.nbval_current_env, option.nbval_cell_timeout)\n",
        encoding="utf-8",
    )
    default = _nbval(tmp_path, "-s", "--nbval-lax", "test_probe.py")
    assert "OPTIONS True 300.0" in default.stdout, default.stdout + default.stderr
    explicit = _nbval(tmp_path, "-s", "--nbval-lax", "--nbval-cell-timeout", "7", "test_probe.py")
    assert "OPTIONS True 7.0" in explicit.stdout, "an explicit --nbval-cell-timeout must win"
