"""``vae-course export nbgrader``: the real nbgrader grades the export as ``vae-course grade`` does.

The end-to-end test exports chapters 00, 02 and 04, runs ``nbgrader generate_assignment`` on
each, and ``nbgrader autograde`` (fast mode, offline) on chapters 02 and 04 for three
learners: alice hands in the worked solution, bob the untouched release notebook, carol the
solution with two answers partly right (02: one of the three correct options, which the drill
scores as partial credit; 04: the right reason for a wrong KL, one of ``kl_zero_case``'s two
points). ``vae-course grade``,
called through its command line, grades the same notebooks; every drill's points must agree.
nbgrader comes from the [dev] extra.
"""

from __future__ import annotations

import copy
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from vae_course import cli, drills, nbgrader_export
from vae_course.authoring import BEGIN_MARKER

pytest.importorskip("nbgrader", reason="nbgrader is in the [dev] extra: pip install -e '.[dev]'")

ROOT = Path(__file__).resolve().parents[1]
EXPORTED = ("00", "02", "04")
AUTOGRADED = ("02_vae", "04_elbo")
STUDENTS = ("alice", "bob", "carol")
RUN_TIMEOUT_S = 900


def _environment(work: Path) -> dict[str, str]:
    """nbgrader and the kernels: fast, offline, private Jupyter dirs, this venv on PATH."""
    env = dict(os.environ)
    for name in ("JUPYTER_PATH", "JUPYTER_CONFIG_PATH", "JUPYTER_PREFER_ENV_PATH"):
        env.pop(name, None)
    env.update(
        VAE_COURSE_FAST="1",
        VAE_COURSE_OFFLINE="1",
        VAE_COURSE_CACHE=str(work / "cache"),
        MPLBACKEND="Agg",
        JUPYTER_CONFIG_DIR=str(work / "jupyter-config"),
        JUPYTER_DATA_DIR=str(work / "jupyter-data"),
        JUPYTER_RUNTIME_DIR=str(work / "jupyter-runtime"),
        IPYTHONDIR=str(work / "ipython"),
        # nbgrader starts `alembic` (its database migrations) by name
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
    )
    return env


def _run(command: list[str], cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"{' '.join(command)} exited {done.returncode}:\n{output[-4000:]}"
    return output


def _nbgrader(*args: str) -> list[str]:
    return [sys.executable, "-m", "nbgrader", *args]


def _cells_by_grade_id(notebook) -> dict[str, nbformat.NotebookNode]:
    return {
        cell.metadata.nbgrader.grade_id: cell
        for cell in notebook.cells
        if "nbgrader" in cell.metadata
    }


def _submissions(course: Path, assignment: str) -> dict[str, nbformat.NotebookNode]:
    """alice: the solution typed into the release notebook; bob: untouched; carol: mixed."""
    release = nbformat.read(course / "release" / assignment / f"{assignment}.ipynb", 4)
    source = _cells_by_grade_id(
        nbformat.read(course / "source" / assignment / f"{assignment}.ipynb", 4)
    )
    alice = copy.deepcopy(release)
    for cell in alice.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            cell.source = source[meta["grade_id"]].source
    carol = copy.deepcopy(alice)
    changed = 0
    for cell in carol.cells:
        for right, partly in (
            ('answer_log_var_rationale = {"a", "b", "d"}', 'answer_log_var_rationale = {"a"}'),
            ('"kl": 0.0, "reason": "c"', '"kl": 0.5, "reason": "c"'),
        ):
            if right in cell.source and cell.metadata.get("nbgrader", {}).get("solution"):
                cell.source = cell.source.replace(right, partly)
                changed += 1
    assert changed == 1, f"{assignment}: the solution's answer lines have changed; update the test"
    return {"alice": alice, "bob": release, "carol": carol}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Export, generate, autograde with nbgrader and grade with vae-course grade."""
    work = tmp_path_factory.mktemp("nbgrader")
    course = work / "course"
    env = _environment(work)
    assert cli.main(["export", "nbgrader", str(course), "--chapters", ",".join(EXPORTED)]) == 0
    assignments = sorted(p.name for p in (course / "source").iterdir())
    for assignment in assignments:
        _run(_nbgrader("generate_assignment", assignment, "--force"), course, env)
    to_grade = work / "to-grade"
    for assignment in AUTOGRADED:
        for student, notebook in _submissions(course, assignment).items():
            for folder in (course / "submitted" / student / assignment, to_grade / student):
                folder.mkdir(parents=True, exist_ok=True)
                nbformat.write(notebook, folder / f"{assignment}.ipynb")
        _run(_nbgrader("autograde", assignment, "--create", "--force"), course, env)

    from nbgrader.api import Gradebook

    nbgrader_scores: dict[tuple[str, str], float] = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for assignment in AUTOGRADED:
            for student in STUDENTS:
                submission = gradebook.find_submission_notebook(assignment, assignment, student)
                for grade in submission.grades:
                    if grade.cell.name.startswith("drill_"):
                        drill_id = grade.cell.name.removeprefix("drill_")
                        nbgrader_scores[(student, drill_id)] = float(grade.score)
    drill_ids = sorted({drill_id for _, drill_id in nbgrader_scores})
    out = work / "grades"
    _run(
        [sys.executable, "-m", "vae_course.cli", "grade", str(to_grade), "--out", str(out)]
        + ["--drills", ",".join(drill_ids), "--quiet", "--jobs", "2"],
        work,
        env,
    )
    course_scores: dict[tuple[str, str], float] = {}
    with (out / "gradebook.csv").open() as handle:
        for row in csv.DictReader(handle):
            chapter = Path(row["file"]).stem
            chapter_drills = _exported_drills(course, chapter)
            for drill_id in chapter_drills:
                course_scores[(row["student_id"], drill_id)] = float(row[drill_id])
    return {
        "course": course,
        "assignments": assignments,
        "nbgrader": nbgrader_scores,
        "vae_course": course_scores,
    }


def _exported_drills(course: Path, assignment: str) -> list[str]:
    notebook = nbformat.read(course / "source" / assignment / f"{assignment}.ipynb", 4)
    return [
        grade_id.removeprefix("drill_")
        for grade_id in _cells_by_grade_id(notebook)
        if grade_id.startswith("drill_")
    ]


def test_nbgrader_scores_equal_vae_course_grade_scores(graded):
    assert graded["nbgrader"] == graded["vae_course"]
    # every drill of the autograded chapters, for each learner
    chapters = {assignment[:2] for assignment in AUTOGRADED}
    asked = {d.id for d in drills.all_drills() if d.chapter in chapters}
    assert set(graded["nbgrader"]) == {(s, d) for s in STUDENTS for d in asked}


def test_the_three_learners_earn_full_none_and_partial_credit(graded):
    scores = graded["nbgrader"]
    for (student, drill_id), score in scores.items():
        max_score = float(drills.get_drill(drill_id).max_score)
        if student == "alice":
            assert score == max_score, (drill_id, score)
        if student == "bob":
            assert score == 0, (drill_id, score)
    assert (
        0 < scores[("carol", "log_var_rationale")] < drills.get_drill("log_var_rationale").max_score
    )
    assert scores[("carol", "kl_zero_case")] == 1  # the reason right, the number wrong


def test_the_export_is_an_nbgrader_course(graded):
    from nbgrader.nbgraderformat import MetadataValidator

    course = graded["course"]
    assert (course / "nbgrader_config.py").is_file()
    assert graded["assignments"] == ["00_welcome", "02_vae", "04_elbo"]
    for assignment in graded["assignments"]:
        source = nbformat.read(course / "source" / assignment / f"{assignment}.ipynb", 4)
        MetadataValidator().validate_nb(source)
        assert source.metadata.vae_course.source == f"solutions/{assignment}.ipynb"
        tests = {
            gid: cell
            for gid, cell in _cells_by_grade_id(source).items()
            if gid.startswith("drill_")
        }
        assert tests, f"{assignment} has no autograded drill"
        for grade_id, cell in tests.items():
            drill = drills.get_drill(grade_id.removeprefix("drill_"))
            meta = cell.metadata.nbgrader
            assert meta.grade and meta.locked and not meta.solution
            assert meta.points == float(drill.max_score)
            assert f'drills.check("{drill.id}", {drill.answer_name}, record=False)' in cell.source
        release = (course / "release" / assignment / f"{assignment}.ipynb").read_text()
        assert "raise NotImplementedError()" in release
        assert "BEGIN SOLUTION" not in release and "END SOLUTION" not in release


def test_the_release_hides_every_solution(graded):
    course = graded["course"]
    release = nbformat.read(course / "release" / "04_elbo" / "04_elbo.ipynb", 4)
    text = "\n".join(cell.source for cell in release.cells)
    assert "log_var.exp() - log_var - 1" not in text  # the KL solution
    assert '"kl": 0.0' not in text
    assert "answer_kl_zero = ...\n# YOUR CODE HERE\nraise NotImplementedError()" in text
    assert "# Exercise 4.1: return the KL of each example" in text


def _solution_notebook(cells: list[tuple[str, str]]) -> nbformat.NotebookNode:
    notebook = nbformat.v4.new_notebook()
    for kind, source in cells:
        maker = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
        notebook.cells.append(maker(source))
    return notebook


def test_each_checked_drill_gets_one_test_cell_after_its_check():
    solution = _solution_notebook(
        [
            ("markdown", f"Regions start with `{BEGIN_MARKER}` lines."),
            (
                "code",
                "def kl_divergence(mu, log_var):\n"
                "    ### BEGIN SOLUTION Exercise 4.1: the KL\n"
                "    return 0\n"
                "    ### END SOLUTION\n\n"
                'drills.check("kl_divergence", kl_divergence)',
            ),
            ("code", 'drills.check("kl_divergence", a_deliberate_mistake)'),
            ("code", 'drills.check("kl_divergence", kl_divergence)'),
            (
                "code",
                "%matplotlib inline\nkl_divergence = drills.use('kl_divergence', kl_divergence)",
            ),
        ]
    )
    notebook, tested, solution_cells = nbgrader_export.nbgrader_notebook(
        solution, "solutions/04_elbo.ipynb", drills.all_drills()
    )
    assert tested == ["kl_divergence"] and solution_cells == 1
    kinds = [cell.metadata.get("nbgrader", {}).get("grade_id") for cell in notebook.cells]
    assert kinds == [None, "exercise_4_1", "drill_kl_divergence", None, None, None]
    assert "BEGIN SOLUTION" not in notebook.cells[0].source  # escaped with a no-break space
    assert notebook.cells[0].source.replace("\u00a0", " ") == solution.cells[0].source


def test_the_export_never_overwrites_without_force(tmp_path, capsys):
    course = tmp_path / "course"
    assert cli.main(["export", "nbgrader", str(course), "--chapters", "4"]) == 0
    exported = course / "source" / "04_elbo" / "04_elbo.ipynb"
    exported.write_text(exported.read_text().replace("Exercise 4.1", "My edited exercise"))
    capsys.readouterr()
    assert cli.main(["export", "nbgrader", str(course), "--chapters", "04"]) == 2
    assert "--force" in capsys.readouterr().err
    assert "My edited exercise" in exported.read_text()
    assert cli.main(["export", "nbgrader", str(course), "--chapters", "04_elbo", "--force"]) == 0
    assert "My edited exercise" not in exported.read_text()


def test_unknown_chapters_and_missing_solutions_are_clear_errors(tmp_path, capsys):
    assert cli.main(["export", "nbgrader", str(tmp_path / "c"), "--chapters", "42"]) == 2
    err = capsys.readouterr().err
    assert "no chapter '42'" in err and "04_elbo" in err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert cli.main(["export", "nbgrader", str(tmp_path / "c"), "--solutions", str(empty)]) == 2
    assert "no chapter notebooks" in capsys.readouterr().err
    assert not (tmp_path / "c").exists()


def test_a_written_answer_is_a_manually_graded_cell_worth_nothing_yet(graded):
    course = graded["course"]
    source = nbformat.read(course / "source" / "00_welcome" / "00_welcome.ipynb", 4)
    written = [
        cell
        for cell in source.cells
        if cell.cell_type == "markdown" and cell.metadata.get("nbgrader", {}).get("solution")
    ]
    assert len(written) == 1
    meta = written[0].metadata.nbgrader
    assert meta.grade and meta.points == 0
    release = json.loads((course / "release" / "00_welcome" / "00_welcome.ipynb").read_text())
    texts = ["".join(cell["source"]) for cell in release["cells"]]
    assert any("YOUR ANSWER HERE" in text for text in texts)
    assert not any("The digit 1 uses the least ink" in text for text in texts)
