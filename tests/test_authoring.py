"""Tests for ``vae-course build`` (vae_course.authoring): stubs, stripping, --check, markers.

Every build here goes into a temporary folder; the real notebooks/ is never written.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output, new_raw_cell

from vae_course import __version__, authoring, cli

REPO = Path(__file__).resolve().parents[1]
REAL_SOLUTIONS = sorted((REPO / "solutions").glob("*.ipynb"))

KL_CELL = (
    "def kl_divergence(mu, log_var):\n"
    '    """KL of each example."""\n'
    "    ### BEGIN SOLUTION Exercise 4.1: return the KL of each example, shape (B,)\n"
    "    inside = mu.pow(2) + log_var.exp() - log_var - 1\n"
    "    return 0.5 * inside.sum(dim=1)\n"
    "    ### END SOLUTION"
)
VALUE_CELL = "### BEGIN SOLUTION\nanswer_kl_zero = 0.0\nanswer_kl_by_hand = 1.5\n### END SOLUTION"
MARKDOWN_CELL = (
    "Why predict $\\log\\sigma^2$?\n\n### BEGIN SOLUTION\nIt is unconstrained.\n### END SOLUTION"
)


def solution_notebook(*cells) -> nbformat.NotebookNode:
    return new_notebook(cells=list(cells))


def write_solution(folder: Path, name: str, notebook: nbformat.NotebookNode) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    nbformat.write(notebook, str(path))
    return path


def build_one(tmp_path: Path, *cells, name: str = "04_elbo.ipynb"):
    """Build one synthetic solution; return (findings, student notebook or None)."""
    solutions, notebooks = tmp_path / "solutions", tmp_path / "notebooks"
    write_solution(solutions, name, solution_notebook(*cells))
    findings = authoring.build(solutions, notebooks)
    student = notebooks / name
    return findings, (nbformat.read(str(student), as_version=4) if student.exists() else None)


def problems(findings) -> list[str]:
    return [str(finding) for finding in findings if finding.is_problem]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.glob("*.ipynb"))}


# --------------------------------------------------------------------------- stubs


def test_code_region_becomes_a_raise_with_the_begin_text_at_its_indentation(tmp_path):
    findings, student = build_one(tmp_path, new_code_cell(KL_CELL))
    assert problems(findings) == []
    source = student.cells[0].source
    assert (
        '    raise NotImplementedError("Exercise 4.1: return the KL of each example, shape (B,)")'
        in (source.splitlines())
    )
    assert "BEGIN SOLUTION" not in source and "END SOLUTION" not in source
    assert "log_var.exp()" not in source
    # the code around the region is kept
    assert source.startswith('def kl_divergence(mu, log_var):\n    """KL of each example."""\n')


def test_stubbed_function_still_defines_and_raises_its_message(tmp_path):
    _, student = build_one(tmp_path, new_code_cell(KL_CELL))
    namespace: dict = {}
    exec(compile(student.cells[0].source, "<cell>", "exec"), namespace)  # the cell itself runs
    with pytest.raises(NotImplementedError, match=r"Exercise 4\.1: return the KL"):
        namespace["kl_divergence"](None, None)


def test_code_cell_with_a_region_is_tagged_raises_exception_keeping_its_tags(tmp_path):
    tagged = new_code_cell(KL_CELL, metadata={"tags": ["keep-me"]})
    plain = new_code_cell("x = 1")
    _, student = build_one(tmp_path, tagged, plain)
    assert student.cells[0].metadata["tags"] == ["keep-me", "raises-exception"]
    assert "tags" not in student.cells[1].metadata


def test_missing_text_gives_a_generated_label_numbered_by_chapter_and_order(tmp_path):
    first = new_code_cell("def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION")
    second = new_code_cell("def g():\n    ### BEGIN SOLUTION\n    return 2\n    ### END SOLUTION")
    _, student = build_one(tmp_path, first, second, name="07_beta_vae.ipynb")
    assert (
        'raise NotImplementedError("Exercise 7.1: complete this code")' in student.cells[0].source
    )
    assert (
        'raise NotImplementedError("Exercise 7.2: complete this code")' in student.cells[1].source
    )


def test_text_without_an_exercise_label_is_prefixed_with_one(tmp_path):
    cell = new_code_cell(
        "def f():\n    ### BEGIN SOLUTION sum the rows\n    pass\n    ### END SOLUTION"
    )
    _, student = build_one(tmp_path, cell, name="03_reparam.ipynb")
    assert '"Exercise 3.1: sum the rows"' in student.cells[0].source


def test_message_with_quotes_and_backslashes_is_a_valid_string_literal(tmp_path):
    text = 'use "randn_like" \\ not randn'
    cell = new_code_cell(
        f"def f():\n    ### BEGIN SOLUTION Exercise 3.2: {text}\n    pass\n    ### END SOLUTION"
    )
    _, student = build_one(tmp_path, cell)
    namespace: dict = {}
    exec(student.cells[0].source, namespace)
    with pytest.raises(NotImplementedError) as raised:
        namespace["f"]()
    assert str(raised.value) == f"Exercise 3.2: {text}"


def test_long_message_is_wrapped_the_way_ruff_format_leaves_it(tmp_path):
    text = "Exercise 4.9: " + "describe the reduction over pixels and latent dimensions " * 3
    cell = new_code_cell(
        f"def f():\n    ### BEGIN SOLUTION {text.strip()}\n    pass\n    ### END SOLUTION"
    )
    _, student = build_one(tmp_path, cell)
    lines = student.cells[0].source.splitlines()
    assert lines[1] == "    raise NotImplementedError("
    assert lines[3] == "    )"
    ast.parse(student.cells[0].source)
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed")
    result = subprocess.run(
        [ruff, "format", "--check", "--isolated", "--line-length", "100", "-"],
        input=student.cells[0].source + "\n",  # a .py file ends with a newline
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_value_region_becomes_ellipsis_for_each_assigned_name(tmp_path):
    cell = new_code_cell(VALUE_CELL + "\nprint(answer_kl_zero)")
    _, student = build_one(tmp_path, cell)
    lines = student.cells[0].source.splitlines()
    assert "answer_kl_zero = ..." in lines and "answer_kl_by_hand = ..." in lines
    assert "0.0" not in student.cells[0].source and "1.5" not in student.cells[0].source
    assert lines[-1] == "print(answer_kl_zero)"
    namespace: dict = {}
    exec(student.cells[0].source, namespace)  # the stub runs: the values are Ellipsis
    assert namespace["answer_kl_zero"] is Ellipsis


@pytest.mark.parametrize(
    "body, names",
    [
        ("a, b = 1, 2", ["a", "b"]),
        ("answer: float = 0.5", ["answer"]),
        ("x = y = 3", ["x", "y"]),
        ("# a comment\nletters = {'a', 'c'}", ["letters"]),
        ("results = {\n    2: 1.0,\n    16: 2.0,\n}", ["results"]),
    ],
)
def test_assignment_forms_count_as_answer_values(tmp_path, body, names):
    cell = new_code_cell(f"### BEGIN SOLUTION\n{body}\n### END SOLUTION")
    _, student = build_one(tmp_path, cell)
    stub_lines = [line for line in student.cells[0].source.splitlines() if not line.startswith("#")]
    assert stub_lines == [f"{name} = ..." for name in names]


@pytest.mark.parametrize(
    "cell_source",
    [
        "### BEGIN SOLUTION\nanswer = 1\nprint(answer)\n### END SOLUTION",  # not only assignments
        "### BEGIN SOLUTION\nmodel.weight = 1\n### END SOLUTION",  # attribute target
        "def f():\n    ### BEGIN SOLUTION\n    y = 2\n    ### END SOLUTION\n    return y",  # inside a def
    ],
)
def test_other_regions_are_code_stubs(tmp_path, cell_source):
    _, student = build_one(tmp_path, new_code_cell(cell_source))
    assert "raise NotImplementedError(" in student.cells[0].source
    assert "= ..." not in student.cells[0].source


def test_markdown_region_becomes_your_answer_here(tmp_path):
    _, student = build_one(tmp_path, new_markdown_cell(MARKDOWN_CELL))
    source = student.cells[0].source
    assert source == "Why predict $\\log\\sigma^2$?\n\n*Your answer here*"
    assert "tags" not in student.cells[0].metadata


def test_markers_inside_a_markdown_code_fence_are_left_alone(tmp_path):
    example = "Example:\n\n```python\n### BEGIN SOLUTION\nx = 1\n```\n"
    findings, student = build_one(tmp_path, new_markdown_cell(example))
    assert problems(findings) == []
    assert student.cells[0].source == example


def test_several_regions_in_one_cell(tmp_path):
    cell = new_code_cell(
        "def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n\n\n"
        "def g():\n    ### BEGIN SOLUTION\n    return 2\n    ### END SOLUTION\n"
    )
    _, student = build_one(tmp_path, cell, name="05_x.ipynb")
    source = student.cells[0].source
    assert source.count("raise NotImplementedError") == 2
    assert "Exercise 5.1" in source and "Exercise 5.2" in source
    assert student.cells[0].metadata["vae_course"]["stubs"] == [[1, 1], [5, 1]]


# --------------------------------------------------------------------------- stripping, metadata


def test_outputs_and_counts_are_stripped_from_both_versions(tmp_path):
    cell = new_code_cell(
        "print(1)", execution_count=5, outputs=[new_output("stream", name="stdout", text="1\n")]
    )
    cell.metadata["execution"] = {"iopub.status.busy": "2024-01-01T00:00:00Z"}
    notebook = solution_notebook(cell, new_code_cell(KL_CELL, execution_count=6))
    notebook.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {}}
    notebook.metadata["language_info"] = {"name": "python", "version": "3.11.4"}
    solution_path = write_solution(tmp_path / "solutions", "01_ae.ipynb", notebook)
    authoring.build(tmp_path / "solutions", tmp_path / "notebooks")
    for path in (solution_path, tmp_path / "notebooks" / "01_ae.ipynb"):
        written = nbformat.read(str(path), as_version=4)
        assert not authoring.has_outputs(written)
        assert all(c.execution_count is None for c in written.cells if c.cell_type == "code")
        assert "execution" not in written.cells[0].metadata
        assert "widgets" not in written.metadata
        assert written.metadata["language_info"] == {"name": "python"}
    # the solution keeps its solution code
    assert "log_var.exp()" in nbformat.read(str(solution_path), as_version=4).cells[1].source


def test_metadata_records_version_and_source_and_ids_are_copied(tmp_path):
    cells = [new_markdown_cell("# Title"), new_code_cell(KL_CELL), new_code_cell("x = 1")]
    _, student = build_one(tmp_path, *cells, name="04_elbo.ipynb")
    assert student.metadata["vae_course"] == {
        "version": __version__,
        "source": "solutions/04_elbo.ipynb",
    }
    solution = nbformat.read(str(tmp_path / "solutions" / "04_elbo.ipynb"), as_version=4)
    assert [c.id for c in student.cells] == [c.id for c in solution.cells]
    assert len({c.id for c in student.cells}) == len(cells)


def test_cells_without_regions_are_copied_unchanged(tmp_path):
    cells = [
        new_markdown_cell("# Title\n\nSome *text*."),
        new_code_cell("import math\n\nprint(math.pi)", metadata={"tags": ["x"]}),
        new_raw_cell("raw text"),
    ]
    _, student = build_one(tmp_path, *cells, new_code_cell(KL_CELL))
    solution = nbformat.read(str(tmp_path / "solutions" / "04_elbo.ipynb"), as_version=4)
    for index in range(3):
        assert student.cells[index] == solution.cells[index]


def test_cells_without_ids_get_ids_in_the_solution_and_the_student_copies_them(tmp_path):
    notebook = solution_notebook(new_code_cell("x = 1"), new_markdown_cell("hi"))
    notebook.nbformat_minor = 4
    for cell in notebook.cells:
        del cell["id"]
    solutions = tmp_path / "solutions"
    write_solution(solutions, "01_a.ipynb", notebook)
    authoring.build(solutions, tmp_path / "notebooks")
    solution = nbformat.read(str(solutions / "01_a.ipynb"), as_version=4)
    student = nbformat.read(str(tmp_path / "notebooks" / "01_a.ipynb"), as_version=4)
    assert solution.nbformat_minor >= 5 and all(cell.get("id") for cell in solution.cells)
    assert [c.id for c in student.cells] == [c.id for c in solution.cells]


def test_building_twice_gives_identical_bytes_and_reports_no_change(tmp_path):
    solutions, notebooks = tmp_path / "solutions", tmp_path / "notebooks"
    cells = [new_markdown_cell(MARKDOWN_CELL), new_code_cell(KL_CELL), new_code_cell(VALUE_CELL)]
    write_solution(solutions, "04_elbo.ipynb", solution_notebook(*cells))
    write_solution(solutions, "02_vae.ipynb", solution_notebook(new_code_cell("ü = 'ß'")))
    first = authoring.build(solutions, notebooks)
    assert {finding.kind for finding in first} >= {"wrote"}
    before = snapshot(notebooks), snapshot(solutions)
    second = authoring.build(solutions, notebooks)
    assert second == []
    assert (snapshot(notebooks), snapshot(solutions)) == before
    for text in snapshot(notebooks).values():
        assert text.endswith(b"}\n") and not text.endswith(b"\n\n")


# --------------------------------------------------------------------------- --check


@pytest.fixture
def built(tmp_path):
    """A solutions/ + notebooks/ pair, freshly built and in sync."""
    solutions, notebooks = tmp_path / "solutions", tmp_path / "notebooks"
    write_solution(solutions, "04_elbo.ipynb", solution_notebook(new_code_cell(KL_CELL)))
    write_solution(solutions, "05_anneal.ipynb", solution_notebook(new_code_cell(VALUE_CELL)))
    assert problems(authoring.build(solutions, notebooks)) == []
    return solutions, notebooks


def check_messages(solutions, notebooks) -> list[str]:
    before = snapshot(notebooks), snapshot(solutions)
    found = problems(authoring.build(solutions, notebooks, check=True))
    assert (snapshot(notebooks), snapshot(solutions)) == before, "--check must write nothing"
    return found


def test_check_is_clean_right_after_a_build(built):
    assert check_messages(*built) == []


def test_check_names_the_notebook_whose_solution_region_was_edited(built):
    solutions, notebooks = built
    path = solutions / "04_elbo.ipynb"
    notebook = nbformat.read(str(path), as_version=4)
    notebook.cells[0].source = notebook.cells[0].source.replace("Exercise 4.1", "Exercise 4.7")
    nbformat.write(notebook, str(path))
    found = check_messages(solutions, notebooks)
    assert len(found) == 1
    assert "04_elbo.ipynb" in found[0] and "make build" in found[0] and "cell 0" in found[0]


def test_check_names_each_missing_and_each_extra_student_notebook(built):
    solutions, notebooks = built
    (notebooks / "04_elbo.ipynb").unlink()
    shutil.copy(notebooks / "05_anneal.ipynb", notebooks / "99_orphan.ipynb")
    found = check_messages(solutions, notebooks)
    assert any("04_elbo.ipynb" in line and "missing" in line for line in found)
    assert any("99_orphan.ipynb" in line and "no solution" in line for line in found)
    assert all("make build" in line for line in found)


def test_check_fails_on_a_solution_with_outputs(built):
    solutions, notebooks = built
    path = solutions / "05_anneal.ipynb"
    notebook = nbformat.read(str(path), as_version=4)
    notebook.cells[0].execution_count = 3
    notebook.cells[0].outputs = [new_output("stream", name="stdout", text="hello\n")]
    nbformat.write(notebook, str(path))
    found = check_messages(solutions, notebooks)
    assert len(found) == 1
    assert (
        "05_anneal.ipynb" in found[0] and "strip outputs" in found[0] and "make build" in found[0]
    )
    # and a build strips them in place
    authoring.build(solutions, notebooks)
    assert not authoring.has_outputs(nbformat.read(str(path), as_version=4))
    assert check_messages(solutions, notebooks) == []


def test_check_detects_a_hand_edited_student_notebook(built):
    solutions, notebooks = built
    path = notebooks / "05_anneal.ipynb"
    notebook = nbformat.read(str(path), as_version=4)
    notebook.cells[0].source += "\nprint('edited by hand')"
    nbformat.write(notebook, str(path))
    found = check_messages(solutions, notebooks)
    assert len(found) == 1 and "05_anneal.ipynb" in found[0] and "make build" in found[0]


def test_check_detects_a_notebook_built_by_another_version(built, monkeypatch):
    solutions, notebooks = built
    monkeypatch.setattr(authoring, "__version__", "999.0")
    found = check_messages(solutions, notebooks)
    assert len(found) == 2 and all("metadata" in line for line in found)


def test_cli_check_exits_non_zero_naming_the_notebook(built, capsys):
    solutions, notebooks = built
    (notebooks / "05_anneal.ipynb").unlink()
    args = ["build", "--check", "--solutions", str(solutions), "--notebooks", str(notebooks)]
    assert cli.main(args) == 1
    err = capsys.readouterr().err
    assert "05_anneal.ipynb" in err and "make build" in err
    assert not (notebooks / "05_anneal.ipynb").exists()
    assert cli.main(args[:1] + args[2:]) == 0  # a build repairs it
    assert cli.main(args) == 0


def test_build_removes_its_own_orphans_but_not_hand_made_files(built):
    solutions, notebooks = built
    (solutions / "05_anneal.ipynb").unlink()
    nbformat.write(solution_notebook(new_code_cell("x = 1")), str(notebooks / "hand_made.ipynb"))
    findings = authoring.build(solutions, notebooks)
    assert not (notebooks / "05_anneal.ipynb").exists()
    assert (notebooks / "hand_made.ipynb").exists()
    found = problems(findings)
    assert len(found) == 1 and "hand_made.ipynb" in found[0]
    assert any(f.kind == "removed" and "05_anneal.ipynb" in f.path for f in findings)


# --------------------------------------------------------------------------- malformed markers

MALFORMED = {
    "begin without end": (
        new_code_cell("x = 1\n### BEGIN SOLUTION\ny = 2"),
        2,
        "without a matching",
    ),
    "end without begin": (new_code_cell("x = 1\n\n### END SOLUTION"), 3, "without a ### BEGIN"),
    "nested begin": (
        new_code_cell("### BEGIN SOLUTION\nx = 1\n### BEGIN SOLUTION\n### END SOLUTION"),
        3,
        "nested",
    ),
    "raw cell": (new_raw_cell("text\n### BEGIN SOLUTION\n### END SOLUTION"), 2, "raw cell"),
    "markdown end without begin": (new_markdown_cell("a\n### END SOLUTION"), 2, "without"),
    "typo in marker": (
        new_code_cell("## BEGIN SOLUTION\nx = 1\n### END SOLUTION"),
        1,
        "looks like",
    ),
    "glued text": (new_code_cell("### BEGIN SOLUTIONS\nx = 1\n### END SOLUTION"), 1, "looks like"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_marker_names_notebook_cell_and_line_and_writes_nothing(tmp_path, case):
    bad_cell, line, problem = MALFORMED[case]
    solutions, notebooks = tmp_path / "solutions", tmp_path / "notebooks"
    bad = solution_notebook(
        new_markdown_cell("# T"), new_code_cell("a = 1", execution_count=1), bad_cell
    )
    bad_path = write_solution(solutions, "06_collapse.ipynb", bad)
    bad_bytes = bad_path.read_bytes()
    write_solution(solutions, "01_ae.ipynb", solution_notebook(new_code_cell(KL_CELL)))
    for check in (False, True):
        found = problems(authoring.build(solutions, notebooks, check=check))
        assert len(found) == 1, found
        assert "06_collapse.ipynb" in found[0]
        assert "cell 2" in found[0] and f"line {line}" in found[0] and problem in found[0]
    assert not (notebooks / "06_collapse.ipynb").exists()
    assert bad_path.read_bytes() == bad_bytes  # not even its outputs were stripped
    assert (notebooks / "01_ae.ipynb").exists()  # the other notebook was still built


def test_malformed_marker_error_exposes_its_location():
    with pytest.raises(authoring.MarkerError) as raised:
        authoring.find_regions("a\nb\n### END SOLUTION", "code", "x.ipynb", 4)
    error = raised.value
    assert (error.notebook, error.cell_index, error.line) == ("x.ipynb", 4, 3)
    assert isinstance(error, ValueError)


def test_unreadable_solution_is_an_error_naming_it(tmp_path):
    solutions = tmp_path / "solutions"
    solutions.mkdir()
    (solutions / "03_broken.ipynb").write_text("{ not json", encoding="utf-8")
    found = problems(authoring.build(solutions, tmp_path / "notebooks"))
    assert len(found) == 1 and "03_broken.ipynb" in found[0]


# --------------------------------------------------------------------------- round trip

SYNTHETIC = {
    "functions and values": [
        new_markdown_cell("# Chapter\n\n" + MARKDOWN_CELL),
        new_code_cell(KL_CELL),
        new_code_cell(VALUE_CELL + "\nprint(answer_kl_zero)\n"),
        new_code_cell("import torch\n\nx = torch.zeros(2)"),
    ],
    "several regions, trailing newline, blank lines": [
        new_code_cell(
            "def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n\n\n"
            "class A:\n    def g(self):\n        ### BEGIN SOLUTION Exercise 9.9: g\n"
            "        return 2\n        ### END SOLUTION\n"
        ),
        new_markdown_cell("### BEGIN SOLUTION\nonly an answer\n### END SOLUTION"),
        new_code_cell("### BEGIN SOLUTION\n\n### END SOLUTION"),
    ],
}


def assert_round_trip(solution: nbformat.NotebookNode, source: str) -> None:
    solution = authoring.normalise(solution)
    student = authoring.student_notebook(solution, source)
    assert authoring.restore_solutions(student, solution) == [c.source for c in solution.cells]
    assert [c.cell_type for c in student.cells] == [c.cell_type for c in solution.cells]
    assert [c.id for c in student.cells] == [c.id for c in solution.cells]


@pytest.mark.parametrize("case", sorted(SYNTHETIC))
def test_round_trip_synthetic(case):
    assert_round_trip(solution_notebook(*SYNTHETIC[case]), "solutions/02_synthetic.ipynb")


@pytest.mark.parametrize("path", REAL_SOLUTIONS, ids=[path.name for path in REAL_SOLUTIONS])
def test_round_trip_real_solutions(path):
    assert_round_trip(nbformat.read(str(path), as_version=4), f"solutions/{path.name}")


def test_there_are_real_solutions_to_round_trip():
    assert REAL_SOLUTIONS, "solutions/ holds no notebooks"
