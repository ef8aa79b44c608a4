"""Honest work is never flagged: every chapter's unchanged notebooks grade cleanly.

The solution notebook of every chapter grades ``ok`` with full marks on the drills its
student version asks for, and the untouched student notebook grades ``no-answers``
(stubs are "not attempted", not violations). One batch of all twenty notebooks, two jobs,
the assignment taken from the student notebooks, as a teacher would hand them out.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from vae_course import drills, grading

# Grades batches of notebooks in sandboxes with two jobs: make test runs this file in its
# second phase, alone on the cores (see the Makefile).
pytestmark = pytest.mark.grading_batch

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("honest")
    for stem in CHAPTERS:
        shutil.copy(ROOT / "solutions" / f"{stem}.ipynb", folder / f"solution_{stem}.ipynb")
        shutil.copy(ROOT / "notebooks" / f"{stem}.ipynb", folder / f"student_{stem}.ipynb")
    handouts = [ROOT / "notebooks" / f"{stem}.ipynb" for stem in CHAPTERS]
    rows = grading.grade(
        [folder], folder / "out", handouts=handouts, timeout=600, jobs=2, progress=False
    )
    return {Path(row.file).stem: row for row in rows}


def _asked(stem: str) -> list[str]:
    catalogue = grading.drill_catalogue()
    return grading.handout_drills(catalogue, [ROOT / "notebooks" / f"{stem}.ipynb"])


@pytest.mark.parametrize("stem", CHAPTERS)
def test_the_solution_grades_ok_with_full_marks(graded, stem):
    row = graded[f"solution_{stem}"]
    assert row.status == "ok", (row.flags, row.drills)
    for drill_id in _asked(stem):
        verdict = row.drills[drill_id]
        assert verdict["score"] == drills.get_drill(drill_id).max_score, (drill_id, verdict)


@pytest.mark.parametrize("stem", CHAPTERS)
def test_the_untouched_student_notebook_has_no_answers(graded, stem):
    row = graded[f"student_{stem}"]
    assert row.status == "no-answers", (row.flags, row.drills)
    assert row.total == 0
