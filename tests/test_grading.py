"""The classroom grader: ``vae-course grade`` on made-up submissions.

Fast unit tests cover the static reading of notebooks (which code is rebuilt, literal
values, tampering), the value encoding, the student-id rule and the kernel sandbox in a
plain Python process. The class tests grade one batch of ~30 small notebooks (honest,
broken and hostile) with two jobs, then check each gradebook row, status and feedback
file; a small second batch covers the time limit, resuming and the command line.
"""

from __future__ import annotations

import csv
import json
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import grading_fixtures as fx
import pytest

from vae_course import cli, drills, grading
from vae_course.grading import notebook_code
from vae_course.grading.env import sandbox_dir
from vae_course.grading.harvest import decode_value, encode_value
from vae_course.grading.notebook_code import InvalidNotebook, NotebookCode

MEMORY_MB = 6144  # torch needs ~3.3 GB of address space; the memory hog asks for 8 GB


# =============================================================== static reading (no kernel)


def _code(*cells: str) -> NotebookCode:
    return NotebookCode(fx.notebook(*cells))


def _rebuilt(code: NotebookCode, name: str) -> str:
    units, _notes, how = code.rebuild_units(name)
    assert units is not None, how
    return "\n".join(unit.code for unit in units)


def test_rebuild_takes_the_last_definition_and_only_what_it_needs():
    code = _code(
        "import torch\nimport numpy as np\nfrom vae_course import drills",
        fx.KL_STUB,
        "SCALE = 0.5\nDEVICE = torch.device('cpu')\nhistory = train_for_hours()",
        "def kl_divergence(mu, log_var):\n    return SCALE * helper(mu, log_var)\n",
        "def helper(mu, log_var):\n    return (mu.pow(2) + torch.exp(log_var) - log_var - 1).sum(dim=1)",
        "for epoch in range(100):\n    train()",
        "drills.check = lambda *a, **k: 'passed'\nprint('passed')",
    )
    rebuilt = _rebuilt(code, "kl_divergence")
    assert "return SCALE * helper" in rebuilt  # the last definition, not the stub
    assert "NotImplementedError" not in rebuilt
    assert "SCALE = 0.5" in rebuilt and "def helper" in rebuilt and "import torch" in rebuilt
    for never in ("train_for_hours", "for epoch", "drills.check =", "print(", "numpy", "DEVICE"):
        assert never not in rebuilt, never


def test_rebuild_keeps_line_numbers_of_the_cell():
    code = _code("x = 1\n\n\ndef kl_divergence(mu, log_var):\n    return mu\n")
    units, _, _ = code.rebuild_units("kl_divergence")
    assert units[0].code.splitlines()[3].startswith("def kl_divergence")
    assert units[0].filename == "<notebook cell 1>"


def test_rebuild_routes_drills_use_to_the_clean_checker_and_ignores_it_for_the_answer():
    code = _code(
        "from vae_course import drills",
        fx.KL_CORRECT,
        'kl_divergence = drills.use("kl_divergence", kl_divergence)',
        "def vae_loss(logits, x, mu, log_var):\n    return kl_divergence(mu, log_var).mean()",
    )
    assert "__vae_grader_use__" not in _rebuilt(code, "kl_divergence")
    rebuilt = _rebuilt(code, "vae_loss")
    assert "kl_divergence = __vae_grader_use__('kl_divergence', kl_divergence)" in rebuilt
    assert "def kl_divergence" in rebuilt


def test_an_imported_answer_is_not_the_learners_own_definition():
    code = _code("from vae_course.losses import kl_divergence")
    units, _notes, how = code.rebuild_units("kl_divergence")
    assert units is None and "import" in how


def test_an_answer_needing_a_computed_global_says_so():
    code = _code(
        "weights = load_everything()",
        "def kl_divergence(mu, log_var):\n    return weights * mu",
    )
    _units, notes, _ = code.rebuild_units("kl_divergence")
    assert any("`weights`" in note for note in notes)


def test_static_values_are_literals_only():
    code = _code("answer_kl_zero = 1.0", "answer_kl_zero = 0.0\nanswer_other = compute()")
    assert code.static_value("answer_kl_zero") == (True, 0.0)
    assert code.static_value("answer_other") == (False, None)
    assert code.static_value("missing") == (False, None)
    assert _code("answer_kl_zero = ...").static_value("answer_kl_zero") == (True, Ellipsis)


def test_tampering_is_spotted_statically_without_false_alarms():
    honest = NotebookCode(fx.correct_notebook())
    assert honest.tamper_notes() == []
    for source in (
        "from vae_course import drills\ndrills.check = print",
        "import vae_course.drills as d\nd.check = print",
        "from vae_course.drills import check\ndef check(*a):\n    return 'passed'",
        "from vae_course import drills\nsetattr(drills, 'check', print)",
        "import sys\nsys.modules['vae_course.drills'] = object()",
        "from vae_course import drills\ndrills = None",
    ):
        assert _code(source).tamper_notes(), source


def test_bound_names_cover_stubs_blocks_and_imports():
    code = _code("if True:\n    answer_kl_zero = 1", fx.KL_STUB, "from x import reparameterize")
    assert {"answer_kl_zero", "kl_divergence", "reparameterize"} <= code.bound_names()


def test_ipython_syntax_does_not_hide_definitions():
    code = _code("%matplotlib inline\n!pip list\n" + fx.KL_CORRECT, "%%time\n" + fx.REPARAM_CORRECT)
    assert "0.5 * (mu.pow(2)" in _rebuilt(code, "kl_divergence")
    assert "randn_like" in _rebuilt(code, "reparameterize")
    assert _code("%%writefile x.py\ndef kl_divergence(mu, lv):\n    pass").bound_names() == set()


def test_a_cell_with_a_syntax_error_is_skipped_and_reported():
    code = _code("def broken(:\n    pass", fx.KL_CORRECT)
    assert code.syntax_errors and "cell 1" in code.syntax_errors[0]
    assert "def kl_divergence" in _rebuilt(code, "kl_divergence")


def test_plain_values_survive_the_harvest_encoding():
    import numpy as np
    import torch

    value = {
        "measurements": {2: {"reconstruction": 1.5, "kl": 2.0, "active_units": 2}, 16: {}},
        "conclusion": {"a", "c"},
        "pair": (1, "x"),
        "todo": ...,
        "inf": math.inf,
        "np": np.float32(0.25),
        "tensor": torch.tensor(3.0),
    }
    decoded = decode_value(json.loads(json.dumps(encode_value(value))))
    assert decoded["measurements"][2]["active_units"] == 2  # int keys stay ints
    assert decoded["conclusion"] == {"a", "c"} and decoded["pair"] == (1, "x")
    assert decoded["todo"] is Ellipsis and decoded["inf"] == math.inf
    assert decoded["np"] == 0.25 and decoded["tensor"] == 3.0
    with pytest.raises(Exception, match="shape"):
        encode_value(torch.zeros(3))


@pytest.mark.parametrize(
    ("data", "reason"),
    [(b"", "empty"), (b"not json", "not valid JSON"), (b'{"a": 1}', "not a Jupyter notebook")],
)
def test_unreadable_files_are_invalid_notebooks_with_a_reason(data, reason):
    with pytest.raises(InvalidNotebook, match=reason):
        notebook_code.read_notebook(data)


def test_student_id_rule():
    assert grading.student_id_for("x/alice_04_elbo.ipynb") == "alice"
    assert grading.student_id_for("x/bob-04.ipynb") == "bob"
    assert grading.student_id_for("class/carol/04_elbo.ipynb") == "carol"
    assert grading.student_id_for("x/alice_04.ipynb", {"student_id": "s123"}) == "s123"
    assert grading.student_id_for("x/alice_04.ipynb", {"student": "Dave Smith"}) == "Dave Smith"
    assert grading.student_id_for("x/alice_04.ipynb", {"student": ""}) == "alice"


def test_columns_are_the_drills_answered_in_the_chapters_handed_in():
    catalogue = grading.drill_catalogue()
    answered = {"kl_divergence": {}, "kl_zero_case": {}}
    plain = {Path("a"): {"drills": answered}, Path("b"): {"drills": {"reparameterize": {}}}}
    assert [d.id for d in grading.columns_for(plain, catalogue, None)] == fx.CORE_DRILLS
    # with course metadata, another chapter's function in one notebook adds no column
    built = {
        Path("a"): {"drills": answered, "chapter": "04"},
        Path("b"): {"drills": {**answered, "reparameterize": {}}, "chapter": "04"},
    }
    assert [d.id for d in grading.columns_for(built, catalogue, None)] == fx.CORE_DRILLS[1:]
    assert [d.id for d in grading.columns_for(built, catalogue, ["reparameterize"])] == [
        "reparameterize"
    ]
    metadata = {"vae_course": {"source": "solutions/04_elbo.ipynb"}}
    assert notebook_code.chapter_of(metadata) == "04"
    assert notebook_code.chapter_of({}) is None


def test_sandbox_refuses_escapes_in_a_plain_python_process(tmp_path):
    work, outside = tmp_path / "work", tmp_path / "outside"
    work.mkdir()
    outside.mkdir()
    secret = outside / "secret.txt"
    secret.write_text("secret")
    log = tmp_path / "violations.jsonl"
    script = textwrap.dedent(
        f"""
        import os, subprocess
        results = {{}}
        def attempt(name, action):
            try:
                action()
                results[name] = "allowed"
            except PermissionError:
                results[name] = "refused"
        attempt("read outside", lambda: open({str(secret)!r}).read())
        attempt("list outside", lambda: os.listdir({str(outside)!r}))
        attempt("write outside", lambda: open({str(outside / "x")!r}, "w"))
        attempt("delete outside", lambda: os.remove({str(secret)!r}))
        attempt("symlink escape", lambda: (os.symlink({str(secret)!r}, "link"), open("link").read()))
        attempt("shell", lambda: subprocess.run(["sh", "-c", "true"]))
        open("uname", "w").write("#!/bin/sh\\necho pwned\\n")
        os.chmod("uname", 0o755)
        attempt("look-alike helper", lambda: subprocess.run(["./uname"]))
        attempt("system helper", lambda: subprocess.run(["uname"], capture_output=True))
        attempt("write inside", lambda: open("mine.txt", "w").write("ok"))
        attempt("read stdlib", lambda: open(os.__file__).read())
        print(repr(results))
        """
    )
    env = dict(
        os.environ,
        PYTHONPATH=str(sandbox_dir()),
        VAE_GRADER_WORKDIR=str(work),
        VAE_GRADER_LOG=str(log),
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    results = eval(done.stdout.strip().splitlines()[-1])  # a dict literal printed by the script
    assert results == {
        "read outside": "refused",
        "list outside": "refused",
        "write outside": "refused",
        "delete outside": "refused",
        "symlink escape": "refused",
        "shell": "refused",
        "look-alike helper": "refused",
        "system helper": "allowed",
        "write inside": "allowed",
        "read stdlib": "allowed",
    }
    assert secret.read_text() == "secret" and sorted(os.listdir(outside)) == ["secret.txt"]
    logged = [json.loads(line) for line in log.read_text().splitlines()]
    assert {entry["what"] for entry in logged} >= {
        "reading outside your working folder",
        "changing files outside your working folder",
        "starting other programs",
    }


# =============================================================== a class of ~30 notebooks


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    """Grade a made-up class once (two jobs); tests read the rows and files."""
    root = tmp_path_factory.mktemp("class")
    submissions = root / "submissions"
    outside = root / "outside"
    outside.mkdir()
    secret = outside / "secret.txt"
    secret.write_text("do not read")
    alice = fx.write(submissions, "alice_04.ipynb", fx.correct_notebook())
    named = {
        "alice": alice,
        "bob": fx.write(submissions, "bob_04.ipynb", fx.student_notebook()),
        "carol": fx.write(submissions, "carol_04.ipynb", fx.wrong_notebook()),
        "dave": fx.write(submissions, "dave_04.ipynb", fx.shuffled_notebook()),
        "erin": fx.write(submissions, "erin_04.ipynb", fx.noisy_notebook()),
        "frank": fx.write(
            submissions, "frank_04.ipynb", fx.escape_notebook(secret, alice, outside)
        ),
        "grace": fx.write(submissions, "grace_04.ipynb", fx.fake_pass_notebook()),
        "heidi": fx.write(submissions, "heidi_04.ipynb", fx.monkeypatch_notebook()),
        "ivan": fx.write(submissions, "ivan_04.ipynb", fx.checker_copy_notebook()),
        "judy": fx.write(submissions, "judy_04.ipynb", fx.tampering_answer_notebook()),
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
    }
    named["victor"] = fx.write(submissions, "victor_04.ipynb", fx.snooping_answer_notebook(secret))
    for index in range(9):
        named[f"filler{index}"] = fx.write(
            submissions, f"filler{index}_04.ipynb", fx.light_correct_notebook(index)
        )
    out = root / "out"
    rows = grading.grade(
        [submissions], out, timeout=120, jobs=2, memory_mb=MEMORY_MB, progress=False
    )
    by_student = {row.student_id: row for row in rows}
    return {"rows": rows, "by": by_student, "out": out, "paths": named, "outside": outside}


def _row(graded_class, student):
    return graded_class["by"][student]


def _record(graded_class, student):
    path = graded_class["paths"][student].resolve()
    for result in (graded_class["out"] / "results").glob("*.json"):
        record = json.loads(result.read_text())
        if record["path"] == str(path):
            return record
    raise AssertionError(f"no result for {student}")


def test_every_submission_has_a_row_and_the_log_times_each(graded_class):
    rows, out = graded_class["rows"], graded_class["out"]
    assert len(rows) == len(graded_class["paths"]) == 30
    log_lines = (out / "grading.log").read_text().splitlines()
    for row in rows:
        line = next(line for line in log_lines if f" {row.file} " in line)
        seconds = float(line.split("seconds=")[1].split()[0])
        assert seconds >= 0 and row.seconds == pytest.approx(seconds, abs=0.06)
    ran = [row for row in rows if row.status != "invalid-notebook"]
    assert all(row.seconds > 0 for row in ran)


def test_gradebook_csv_has_stable_columns(graded_class):
    out = graded_class["out"]
    with open(out / "gradebook.csv", newline="") as handle:
        table = list(csv.DictReader(handle))
    assert list(table[0].keys()) == [
        "file", "student_id", *fx.CORE_DRILLS, "total", "max_total", "status", "flags",
        "vae_course_version", "seconds",
    ]  # fmt: skip
    assert len(table) == 30
    assert {row["max_total"] for row in table} == {table[0]["max_total"]}
    assert all(row["vae_course_version"] for row in table)
    for row in table:
        total = sum(float(row[d]) for d in fx.CORE_DRILLS)
        assert float(row["total"]) == pytest.approx(total)


def test_a_correct_submission_gets_full_marks(graded_class):
    for student in ("alice", "sam", "trent", "filler0", "filler1"):
        row = _row(graded_class, student)
        assert row.status == "ok", (student, row.flags)
        assert row.total == row.max_total > 0, student
        assert all(v["status"] == "passed" for v in row.drills.values())


def test_the_student_version_scores_zero_as_no_answers(graded_class):
    row = _row(graded_class, "bob")
    assert row.status == "no-answers" and row.total == 0
    assert {v["status"] for v in row.drills.values()} == {"not attempted"}


def test_wrong_answers_earn_nothing_with_the_checkers_messages(graded_class):
    row = _row(graded_class, "carol")
    assert row.status == "ok"
    assert row.scores["kl_divergence"] == 0 and row.scores["kl_zero_case"] == 0
    assert row.scores["reparameterize"] == 5


def test_renamed_duplicated_reordered_and_merged_cells_are_still_found(graded_class):
    row = _row(graded_class, "dave")
    assert row.total == row.max_total, row.drills


def test_feedback_says_which_definition_was_graded(graded_class):
    notes = _row(graded_class, "dave").drills["kl_divergence"]["notes"]
    assert any("cell 2 (the last of 2 definitions" in note for note in notes), notes


def test_warnings_and_stderr_cost_nothing(graded_class):
    row = _row(graded_class, "erin")
    assert row.status == "ok" and row.total == row.max_total


def test_a_missing_answer_scores_zero_with_a_not_found_message(graded_class):
    row = _row(graded_class, "leo")
    verdict = row.drills["reparameterize"]
    assert verdict["score"] == 0 and verdict["status"] == "not found"
    assert "not found: define `reparameterize`" in verdict["feedback"][0]
    assert row.scores["kl_divergence"] == 5
    assert "not found: define `reparameterize`" in row.feedback_markdown.read_text()


@pytest.mark.parametrize("student", ["mallory", "nina", "oscar"])
def test_unreadable_files_are_invalid_notebooks(graded_class, student):
    row = _row(graded_class, student)
    assert row.status == "invalid-notebook" and row.total == 0


def test_an_empty_notebook_has_no_answers(graded_class):
    row = _row(graded_class, "peggy")
    assert row.status == "no-answers" and row.total == 0


def test_escapes_are_refused_and_reported_but_earned_points_count(graded_class):
    row = _row(graded_class, "frank")
    assert row.status == "sandbox-violation"
    assert row.scores["kl_divergence"] == 5 and row.scores["kl_zero_case"] == 2
    outside = graded_class["outside"]
    assert sorted(os.listdir(outside)) == ["secret.txt"]
    assert (outside / "secret.txt").read_text() == "do not read"
    details = " ".join(
        f"{v['what']} {v['detail']}" for v in _record(graded_class, "frank")["violations"]
    )
    assert "secret.txt" in details and "alice_04.ipynb" in details and "/etc/shadow" in details
    assert "starting other programs" in details
    assert "refused" in row.feedback_markdown.read_text()


def test_answers_run_by_the_checker_are_sandboxed_too(graded_class):
    row = _row(graded_class, "victor")
    assert row.status == "sandbox-violation"
    assert row.scores["kl_divergence"] == 5  # the points it earned still count
    assert (graded_class["outside"] / "secret.txt").read_text() == "do not read"
    log = (graded_class["out"] / "grading.log").read_text()
    assert "while checking kl_divergence" in log and "secret.txt" in log


def test_a_printed_pass_counts_for_nothing(graded_class):
    row = _row(graded_class, "grace")
    assert row.total == 0 and row.status == "ok"


def test_monkeypatching_the_checker_is_flagged_and_earns_only_real_points(graded_class):
    row = _row(graded_class, "heidi")
    assert row.status == "tampered"
    assert row.scores["kl_divergence"] == 0  # the wrong answer it 'passed' in its own kernel
    assert row.scores["kl_zero_case"] == 2  # a right answer still counts


def test_a_shipped_copy_of_the_checkers_is_flagged_and_ignored(graded_class):
    row = _row(graded_class, "ivan")
    assert row.status == "tampered" and row.scores["kl_divergence"] == 0
    assert row.scores["kl_zero_case"] == 2
    log = (graded_class["out"] / "grading.log").read_text()
    assert "vae_course/drills/__init__.py" in log


def test_an_answer_that_patches_the_checker_while_checked_gets_nothing(graded_class):
    row = _row(graded_class, "judy")
    assert row.status == "tampered"
    assert row.drills["kl_divergence"]["status"] == "tampered"
    assert row.scores["kl_divergence"] == 0 and row.scores["kl_zero_case"] == 2


def test_zero_dimensional_tensors_are_numbers_and_others_are_not_gradable(graded_class):
    assert _row(graded_class, "quinn").scores["kl_zero_case"] == 2
    verdict = _row(graded_class, "rita").drills["kl_zero_case"]
    assert verdict["status"] == "not gradable" and "shape (3,)" in verdict["feedback"][0]


def test_the_memory_limit_stops_a_hog_without_stopping_the_notebook(graded_class):
    row = _row(graded_class, "uma")
    errors = _record(graded_class, "uma")["cell_errors"]
    assert any(error["ename"] == "MemoryError" for error in errors)
    assert row.scores["kl_divergence"] == 5 and row.scores["kl_zero_case"] == 2


def test_student_ids_come_from_metadata_or_file_or_folder(graded_class):
    by = graded_class["by"]
    assert by["trent"].file.endswith("x_04.ipynb")
    assert by["sam"].file.endswith(os.path.join("sam", "04_elbo.ipynb"))


def test_feedback_files_repeat_the_learners_messages_and_no_solutions(graded_class):
    row = _row(graded_class, "carol")
    namespace: dict = {}
    exec(fx.KL_MISSING_HALF, namespace)
    seen_in_notebook = drills.check("kl_divergence", namespace["kl_divergence"], record=False)
    markdown = row.feedback_markdown.read_text()
    page = row.feedback_html.read_text()
    assert seen_in_notebook.feedback and row.drills["kl_divergence"]["feedback"] == list(
        seen_in_notebook.feedback
    )
    for line in seen_in_notebook.feedback:
        assert line in markdown
    assert "<html" in page and "kl_divergence" in page
    for drill_id in fx.CORE_DRILLS:
        solution = drills.get_drill(drill_id).solution
        lines = [line.strip() for line in solution.splitlines() if len(line.strip()) > 25]
        for line in lines:
            assert line not in markdown and line not in page, (drill_id, line)


# =============================================================== time limit, resume, CLI


def test_time_limit_resume_and_command_line(tmp_path):
    submissions = tmp_path / "submissions"
    loop = fx.write(submissions, "zoe_04.ipynb", fx.endless_loop_notebook())
    keep = fx.write(submissions, "yan_04.ipynb", fx.kl_only_notebook())
    change = fx.write(submissions, "xia_04.ipynb", fx.wrong_notebook())
    out = tmp_path / "out"
    arguments = ["grade", str(submissions), "--out", str(out), "--jobs", "2"]
    arguments += ["--timeout", "8", "--memory-mb", str(MEMORY_MB), "--quiet"]
    assert cli.main(arguments) == 0
    first = {row["student_id"]: row for row in csv.DictReader(open(out / "gradebook.csv"))}
    assert first["zoe"]["status"] == "timeout"
    assert float(first["zoe"]["kl_divergence"]) == 5 and float(first["zoe"]["kl_zero_case"]) == 2
    assert first["xia"]["kl_divergence"] == "0"
    stamps = {p.name: p.stat().st_mtime_ns for p in (out / "results").glob("*.json")}

    rows = grading.grade([submissions], out, timeout=8, jobs=2, memory_mb=MEMORY_MB, progress=False)
    assert all(row.resumed for row in rows)
    assert {p.name: p.stat().st_mtime_ns for p in (out / "results").glob("*.json")} == stamps

    fx.write(submissions, change.name, fx.light_correct_notebook())
    rows = grading.grade([submissions], out, timeout=8, jobs=2, memory_mb=MEMORY_MB, progress=False)
    by = {row.student_id: row for row in rows}
    assert not by["xia"].resumed and by["xia"].total == by["xia"].max_total
    assert by["zoe"].resumed and by["yan"].resumed and by["zoe"].status == "timeout"
    rebuilt = {row["student_id"]: row for row in csv.DictReader(open(out / "gradebook.csv"))}
    assert float(rebuilt["xia"]["total"]) == by["xia"].max_total
    log = (out / "grading.log").read_text()
    assert "unchanged, result reused" in log and str(loop.name) in log and str(keep.name) in log


def test_unknown_paths_and_drills_are_refused_clearly(tmp_path, capsys):
    with pytest.raises(ValueError, match="not found"):
        grading.grade([tmp_path / "nope"], tmp_path / "out", progress=False)
    assert cli.main(["grade", str(tmp_path / "nope"), "--out", str(tmp_path / "out")]) == 2
    assert "not found" in capsys.readouterr().err
    fx.write(tmp_path, "a_04.ipynb", fx.kl_only_notebook())
    with pytest.raises(ValueError, match="unknown drill"):
        grading.grade([tmp_path], tmp_path / "out", drills=["no_such_drill"], progress=False)
