"""Classes past one machine: ``--scheduler`` grades on a Dask cluster, row for row as here.

A ``LocalCluster`` on loopback with two single-threaded worker processes grades the same
submissions as a local run; the gradebooks must agree in every column but the timing.
"""

from __future__ import annotations

import csv

import distributed  # in the dev extra: make test installs it
import grading_fixtures as fx
import pytest

from vae_course import grading

# Grades batches of notebooks in sandboxes with two jobs: make test runs this file in its
# second phase, alone on the cores (see the Makefile).
pytestmark = pytest.mark.grading_batch


def _gradebook(out):
    with open(out / "gradebook.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        row.pop("seconds")
    return sorted(rows, key=lambda row: row["file"])


def test_a_cluster_grades_exactly_as_a_local_run(tmp_path):
    submissions = tmp_path / "submissions"
    fx.write(submissions, "alice_04.ipynb", fx.light_correct_notebook())
    fx.write(submissions, "bob_04.ipynb", fx.student_notebook())
    fx.write(submissions, "carol_04.ipynb", fx.wrong_notebook())
    fx.write(submissions, "dave_04.ipynb", b"not a notebook")
    settings = {"drills": fx.CORE_DRILLS, "timeout": 120, "progress": False}
    grading.grade([submissions], tmp_path / "local", jobs=2, **settings)
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:
        grading.grade(
            [submissions], tmp_path / "cluster", scheduler=cluster.scheduler_address, **settings
        )
    assert _gradebook(tmp_path / "cluster") == _gradebook(tmp_path / "local")
    log = (tmp_path / "cluster" / "grading.log").read_text()
    assert "scheduler=tcp://127.0.0.1" in log
    assert sorted(p.name for p in (tmp_path / "cluster" / "feedback").iterdir()) == sorted(
        p.name for p in (tmp_path / "local" / "feedback").iterdir()
    )
