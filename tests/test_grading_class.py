"""One class of more than 60 submissions, honest and hostile, graded end to end with two jobs.

The batch mixes the honest and broken notebooks of :mod:`grading_fixtures` with every
attack of :mod:`grading_adversaries`: file-system escapes with relative and absolute paths,
processes meant to outlive grading, loopback and Unix-socket connections, reads of the
grader's ``/proc``, forgery of what the checking process reports, and delegation to the
course's own implementations. Canary files outside the submissions' folders, a loopback
server and a Unix socket run by this test watch from outside.
"""

from __future__ import annotations

import csv
import json
import os
import socket
import threading
from pathlib import Path

import grading_adversaries as adv
import grading_fixtures as fx
import pytest

from vae_course import drills, grading

# Grades batches of notebooks in sandboxes with two jobs: make test runs this file in its
# second phase, alone on the cores (see the Makefile).
pytestmark = pytest.mark.grading_batch

ASSIGNMENT = ["autoencoder", *fx.CORE_DRILLS]
MEMORY_MB = 6144  # the memory hog asks for 8 GB


class _Listener:
    """A TCP server on 127.0.0.1 and a Unix socket that count who connects."""

    def __init__(self, folder: Path) -> None:
        self.connections = 0
        self.tcp = socket.create_server(("127.0.0.1", 0))
        self.port = self.tcp.getsockname()[1]
        self.unix_path = folder / "grader.sock"
        self.unix = socket.socket(socket.AF_UNIX)
        self.unix.bind(str(self.unix_path))
        os.chmod(self.unix_path, 0o777)
        for server in (self.tcp, self.unix):
            server.listen()
            server.settimeout(0.5)
            threading.Thread(target=self._accept, args=(server,), daemon=True).start()
        self.running = True

    def _accept(self, server: socket.socket) -> None:
        while getattr(self, "running", True):
            try:
                connection, _ = server.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            connection.close()

    def close(self) -> None:
        self.running = False
        self.tcp.close()
        self.unix.close()


def _snapshot(folder: Path) -> dict:
    return {
        str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mode, p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _leftovers() -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
                comm = (entry / "comm").read_bytes()
            except OSError:
                continue
            if adv.MARKER.encode() in cmdline or adv.MARKER[:15].encode() in comm:
                found.append(cmdline.decode(errors="replace"))
    return found


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    """Grade the whole class once; the tests read rows, records and what survived outside."""
    root = tmp_path_factory.mktemp("class")
    submissions = root / "submissions"
    outside, solutions = root / "outside", root / "course" / "solutions"
    outside.mkdir()
    solutions.mkdir(parents=True)
    canary = outside / "canary.txt"
    canary.write_text("must survive")
    (solutions / "04_elbo.ipynb").write_text('{"the": "solutions"}')
    out = root / "out"
    (out / "results").mkdir(parents=True)
    listener = _Listener(root)
    alice = fx.write(submissions, "alice_04.ipynb", fx.correct_notebook())
    targets = adv.Targets(canary, outside, alice, solutions, out, listener.port, listener.unix_path)
    named = {
        "alice": alice,
        "bob": fx.write(submissions, "bob_04.ipynb", fx.student_notebook()),
        "carol": fx.write(submissions, "carol_04.ipynb", fx.wrong_notebook()),
        "dave": fx.write(submissions, "dave_04.ipynb", fx.shuffled_notebook()),
        "erin": fx.write(submissions, "erin_04.ipynb", fx.noisy_notebook()),
        "grace": fx.write(submissions, "grace_04.ipynb", fx.fake_pass_notebook()),
        "heidi": fx.write(submissions, "heidi_04.ipynb", fx.monkeypatch_notebook()),
        "ivan": fx.write(submissions, "ivan_04.ipynb", fx.checker_copy_notebook()),
        "leo": fx.write(submissions, "leo_04.ipynb", fx.kl_only_notebook()),
        "mallory": fx.write(submissions, "mallory_04.ipynb", b""),
        "nina": fx.write(submissions, "nina_04.ipynb", b"this is not json"),
        "oscar": fx.write(submissions, "oscar_04.ipynb", b'{"cells_are": "missing"}'),
        "peggy": fx.write(submissions, "peggy_04.ipynb", fx.notebook()),
        "quinn": fx.write(submissions, "quinn_04.ipynb", fx.tensor_value_notebook()),
        "rita": fx.write(submissions, "rita_04.ipynb", fx.not_plain_value_notebook()),
        "sam": fx.write(submissions / "sam", "04_elbo.ipynb", fx.light_correct_notebook()),
        "trent": fx.write(
            submissions, "x_04.ipynb", fx.light_correct_notebook(1, {"student_id": "trent"})
        ),
        "uma": fx.write(submissions, "uma_04.ipynb", fx.memory_hog_notebook(8)),
        "victor": fx.write(submissions, "victor_04.ipynb", fx.snooping_answer_notebook(canary)),
    }
    for index in range(2):
        named[f"filler{index}"] = fx.write(
            submissions, f"filler{index}_04.ipynb", fx.light_correct_notebook(index)
        )
    for name, build in adv.BUILDERS.items():
        named[name] = fx.write(submissions, f"{name}_04.ipynb", build(targets))
    link = submissions / "linked_04.ipynb"
    link.symlink_to(alice)
    named["linked"] = link
    before = {
        "outside": _snapshot(outside),
        "solutions": _snapshot(solutions),
        "alice": alice.read_bytes(),
    }
    try:
        rows = grading.grade(
            [submissions],
            out,
            drills=ASSIGNMENT,
            timeout=90,
            jobs=2,
            memory_mb=MEMORY_MB,
            progress=False,
        )
    finally:
        listener.close()
    return {
        "rows": rows,
        "by": {row.file: row for row in rows},
        "out": out,
        "paths": named,
        "before": before,
        "targets": targets,
        "listener": listener,
        "leftovers": _leftovers(),
    }


def _row(graded_class, name):
    path = graded_class["paths"][name]
    return next(row for row in graded_class["rows"] if Path(row.file) == path)


def _record(graded_class, name):
    path = graded_class["paths"][name]
    for result in (graded_class["out"] / "results").glob("*.json"):
        record = json.loads(result.read_text())
        if record["path"] == str(path):
            return record
    raise AssertionError(f"no result for {name}")


# ----------------------------------------------------------------------------- the class


def test_the_class_is_big_enough_and_everyone_has_a_row(graded_class):
    assert len(graded_class["rows"]) == len(graded_class["paths"]) >= 60
    assert {row.max_total for row in graded_class["rows"]} == {
        sum(drills.get_drill(d).max_score for d in ASSIGNMENT)
    }


def test_nothing_outside_a_submissions_folder_changed(graded_class):
    targets, before = graded_class["targets"], graded_class["before"]
    assert _snapshot(targets.outside) == before["outside"]
    assert _snapshot(targets.solutions) == before["solutions"]
    assert targets.other.read_bytes() == before["alice"]
    assert not (graded_class["out"] / "planted.json").exists()


def test_no_process_outlives_grading(graded_class):
    assert graded_class["leftovers"] == []


def test_no_connection_reached_the_graders_loopback_or_unix_socket(graded_class):
    assert graded_class["listener"].connections == 0


@pytest.mark.parametrize("name", sorted(adv.EXPECT))
def test_each_adversary_scores_what_its_own_work_is_worth(graded_class, name):
    expect = adv.EXPECT[name]
    row = _row(graded_class, name)
    for drill_id, score in expect.get("scores", {}).items():
        assert row.scores[drill_id] == score, (drill_id, row.drills[drill_id])
    if "status" in expect:
        assert row.status == expect["status"], row.flags
    if "refused" in expect:
        feedback = " ".join(row.drills[expect["refused"]]["feedback"])
        assert "course's own code" in feedback, feedback


@pytest.mark.parametrize(
    "name",
    [
        "relative_deletes",
        "absolute_deletes",
        "dir_fd_delete",
        "renames_and_moves",
        "chmods_and_times",
        "symlink_escapes",
        "overwrites",
        "loopback_connect",
        "unix_socket_connect",
        "internet",
    ],
)
def test_attempts_seen_by_python_are_reported_as_violations(graded_class, name):
    row = _row(graded_class, name)
    assert row.status == "sandbox-violation", row.flags
    assert "refused" in row.feedback_markdown.read_text()


def test_the_graders_proc_and_secrets_are_out_of_sight(graded_class):
    record = _record(graded_class, "reads_the_grader")
    assert record["drills"]["kl_zero_case"]["score"] == 2  # the notebook ran to its end
    details = " ".join(v["detail"] for v in record["violations"])
    assert "/etc/shadow" in details


def test_a_symlinked_submission_is_not_followed(graded_class):
    row = _row(graded_class, "linked")
    assert row.status == "invalid-notebook" and row.total == 0
    assert "symbolic link" in row.feedback_markdown.read_text()


def test_a_formula_in_a_student_id_is_neutralised_in_the_csv(graded_class):
    with open(graded_class["out"] / "gradebook.csv", newline="") as handle:
        ids = [row["student_id"] for row in csv.DictReader(handle)]
    formula = next(i for i in ids if "HYPERLINK" in i)
    assert formula.startswith("'=")
    assert not any(i[:1] in "=+-@" for i in ids)


def test_metadata_never_changes_the_columns_or_the_maximum(graded_class):
    row = _row(graded_class, "other_chapter_metadata")
    assert list(row.scores) == ASSIGNMENT
    assert row.max_total == _row(graded_class, "alice").max_total


# ----------------------------------------------------------------------------- honest and broken


def test_correct_submissions_get_full_marks_on_their_drills(graded_class):
    for name in ("alice", "sam", "trent", "filler0", "filler1", "dave", "erin"):
        row = _row(graded_class, name)
        assert row.status == "ok", (name, row.flags)
        assert all(row.scores[d] == drills.get_drill(d).max_score for d in fx.CORE_DRILLS), name


def test_the_student_version_scores_zero_as_no_answers(graded_class):
    row = _row(graded_class, "bob")
    assert row.status == "no-answers" and row.total == 0


def test_wrong_answers_earn_nothing_with_the_notebooks_own_messages(graded_class):
    row = _row(graded_class, "carol")
    assert row.scores["kl_divergence"] == 0 and row.scores["kl_zero_case"] == 0
    assert row.scores["reparameterize"] == 5
    namespace: dict = {}
    exec(fx.KL_MISSING_HALF, namespace)
    seen = drills.check("kl_divergence", namespace["kl_divergence"], record=False)
    assert row.drills["kl_divergence"]["feedback"][0] == seen.feedback[0]


def test_feedback_says_which_definition_was_graded(graded_class):
    notes = _row(graded_class, "dave").drills["kl_divergence"]["notes"]
    assert any("cell 2 (the last of 2 definitions" in note for note in notes), notes


def test_a_missing_answer_scores_zero_with_a_not_found_message(graded_class):
    verdict = _row(graded_class, "leo").drills["reparameterize"]
    assert verdict["score"] == 0 and verdict["status"] == "not found"


@pytest.mark.parametrize("name", ["mallory", "nina", "oscar"])
def test_unreadable_files_are_invalid_notebooks(graded_class, name):
    assert _row(graded_class, name).status == "invalid-notebook"


def test_an_empty_notebook_has_no_answers(graded_class):
    assert _row(graded_class, "peggy").status == "no-answers"


def test_printed_passes_and_patched_checkers_count_for_nothing(graded_class):
    assert _row(graded_class, "grace").total == 0
    heidi = _row(graded_class, "heidi")
    assert heidi.status == "tampered" and heidi.scores["kl_divergence"] == 0
    assert heidi.scores["kl_zero_case"] == 2
    ivan = _row(graded_class, "ivan")
    assert ivan.status == "tampered" and ivan.scores["kl_divergence"] == 0


def test_an_answer_that_snoops_when_checked_keeps_its_points_and_is_reported(graded_class):
    row = _row(graded_class, "victor")
    assert row.scores["kl_divergence"] == 5 and row.status == "sandbox-violation"
    assert "while your functions were checked" in (graded_class["out"] / "grading.log").read_text()


def test_values_tensors_and_memory(graded_class):
    assert _row(graded_class, "quinn").scores["kl_zero_case"] == 2
    assert _row(graded_class, "rita").drills["kl_zero_case"]["status"] == "not gradable"
    uma = _record(graded_class, "uma")
    assert any(e["ename"] == "MemoryError" for e in uma["cell_errors"])
    assert _row(graded_class, "uma").scores["kl_divergence"] == 5


def test_feedback_pages_hold_no_solutions(graded_class):
    for row in graded_class["rows"]:
        text = row.feedback_markdown.read_text()
        for drill_id in ASSIGNMENT:
            for line in drills.get_drill(drill_id).solution.splitlines():
                if len(line.strip()) > 30:
                    assert line.strip() not in text, (row.file, drill_id)
