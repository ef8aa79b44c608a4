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

import grading_fixtures as fx
import pytest

from vae_course import cli, drills, grading
from vae_course.grading import notebook_file
from vae_course.grading.env import sandbox_dir
from vae_course.grading.harvest import decode_value, encode_value
from vae_course.grading.notebook_code import NotebookCode
from vae_course.grading.notebook_file import InvalidNotebook

# Grades batches of notebooks in sandboxes with two jobs: make test runs this file in its
# second phase, alone on the cores (see the Makefile).
pytestmark = pytest.mark.grading_batch

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
        notebook_file.read_notebook(data)


def test_student_id_rule():
    assert grading.student_id_for("x/alice_04_elbo.ipynb") == "alice"
    assert grading.student_id_for("x/bob-04.ipynb") == "bob"
    assert grading.student_id_for("class/carol/04_elbo.ipynb") == "carol"
    assert grading.student_id_for("x/alice_04.ipynb", {"student_id": "s123"}) == "s123"
    assert grading.student_id_for("x/alice_04.ipynb", {"student": "Dave Smith"}) == "Dave Smith"
    assert grading.student_id_for("x/alice_04.ipynb", {"student": ""}) == "alice"


def test_the_assignment_comes_from_the_teachers_side():
    catalogue = grading.drill_catalogue()
    chapter = [d.id for d in grading.assignment(catalogue, ["4"], None)]
    assert chapter == [d.id for d in drills.all_drills() if d.chapter == "04"]
    both = grading.assignment(catalogue, ["04"], ["reparameterize"])
    assert [d.id for d in both][0] == "reparameterize" and len(both) == len(chapter) + 1
    with pytest.raises(ValueError, match="name the assignment"):
        grading.assignment(catalogue, None, None)
    with pytest.raises(ValueError, match="no drills"):
        grading.assignment(catalogue, ["42"], None)
    with pytest.raises(ValueError, match="unknown drill"):
        grading.assignment(catalogue, None, ["no_such_drill"])
    metadata = {"vae_course": {"source": "solutions/04_elbo.ipynb"}}
    assert notebook_file.chapter_of(metadata) == "04"
    assert notebook_file.chapter_of({}) is None


def test_spreadsheet_formulas_are_neutralised():
    for text in ("=1+1", "+1", "-2", "@SUM(A1)", "\tx"):
        assert grading.spreadsheet_safe(text).startswith("'")
    assert grading.spreadsheet_safe("alice") == "alice"


def test_deep_or_huge_json_is_an_invalid_notebook():
    deep = b'{"cells": [], "metadata": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    with pytest.raises(InvalidNotebook, match="nested"):
        notebook_file.read_notebook(deep)
    with pytest.raises(InvalidNotebook, match="larger than"):
        notebook_file.read_notebook(b" " * (notebook_file.MAX_NOTEBOOK_BYTES + 1))


def test_an_answer_importing_the_course_is_refused_statically():
    code = _code(
        "from vae_course import drills, losses",
        "def kl_divergence(mu, log_var):\n    return losses.kl_divergence(mu, log_var)",
        "def vae_loss(logits, x, mu, log_var):\n    return drills.use('x', 1)",
    )
    units, _, _ = code.rebuild_units("kl_divergence")
    assert code.course_imports(units) == ["vae_course.losses"]
    units, _, _ = code.rebuild_units("vae_loss")
    assert code.course_imports(units) == []


def test_the_recorder_refuses_and_records_escapes_in_a_plain_python_process(tmp_path):
    work, outside = tmp_path / "work", tmp_path / "outside"
    work.mkdir()
    outside.mkdir()
    secret = outside / "secret.txt"
    secret.write_text("secret")
    log = tmp_path / "violations.jsonl"
    log.touch()  # the grader's is a FIFO it has made before the notebook starts
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
        attempt("relative delete", lambda: os.remove("../outside/secret.txt"))
        attempt("symlink escape", lambda: (os.symlink({str(secret)!r}, "link"), open("link").read()))
        attempt("loopback", lambda: __import__("socket").create_connection(("127.0.0.1", 9)))
        attempt("program", lambda: subprocess.run(["true"]))
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
        "relative delete": "refused",
        "symlink escape": "refused",
        "loopback": "refused",
        "program": "allowed",  # programs are contained by the OS sandbox, not recorded
        "write inside": "allowed",
        "read stdlib": "allowed",
    }
    assert secret.read_text() == "secret" and sorted(os.listdir(outside)) == ["secret.txt"]
    logged = [json.loads(line) for line in log.read_text().splitlines()]
    assert {entry["what"] for entry in logged} == {
        "reading outside your working folder",
        "changing files outside your working folder",
        "network access",
    }


# =============================================================== time limit, resume, CLI


def test_time_limit_resume_and_command_line(tmp_path):
    submissions = tmp_path / "submissions"
    loop = fx.write(submissions, "zoe_04.ipynb", fx.endless_loop_notebook())
    keep = fx.write(submissions, "yan_04.ipynb", fx.kl_only_notebook())
    change = fx.write(submissions, "xia_04.ipynb", fx.wrong_notebook())
    out = tmp_path / "out"
    arguments = ["grade", str(submissions), "--out", str(out), "--jobs", "2", "--drills"]
    arguments += [",".join(fx.CORE_DRILLS)]
    arguments += ["--timeout", "8", "--memory-mb", str(MEMORY_MB), "--quiet"]
    assert cli.main(arguments) == 0
    first = {row["student_id"]: row for row in csv.DictReader(open(out / "gradebook.csv"))}
    assert first["zoe"]["status"] == "timeout"
    assert float(first["zoe"]["kl_divergence"]) == 5 and float(first["zoe"]["kl_zero_case"]) == 2
    assert first["xia"]["kl_divergence"] == "0"
    stamps = {p.name: p.stat().st_mtime_ns for p in (out / "results").glob("*.json")}

    settings = {"drills": fx.CORE_DRILLS, "timeout": 8, "jobs": 2, "memory_mb": MEMORY_MB}
    rows = grading.grade([submissions], out, progress=False, **settings)
    assert all(row.resumed for row in rows)
    assert {p.name: p.stat().st_mtime_ns for p in (out / "results").glob("*.json")} == stamps

    fx.write(submissions, change.name, fx.light_correct_notebook())
    rows = grading.grade([submissions], out, progress=False, **settings)
    by = {row.student_id: row for row in rows}
    assert not by["xia"].resumed and by["xia"].total == by["xia"].max_total
    assert by["zoe"].resumed and by["yan"].resumed and by["zoe"].status == "timeout"
    rebuilt = {row["student_id"]: row for row in csv.DictReader(open(out / "gradebook.csv"))}
    assert float(rebuilt["xia"]["total"]) == by["xia"].max_total
    log = (out / "grading.log").read_text()
    assert "unchanged, result reused" in log and str(loop.name) in log and str(keep.name) in log


def test_unknown_paths_drills_and_limits_are_refused_clearly(tmp_path, capsys):
    with pytest.raises(ValueError, match="not found"):
        grading.grade([tmp_path / "nope"], tmp_path / "out", chapters=["04"], progress=False)
    command = ["grade", str(tmp_path / "nope"), "--out", str(tmp_path / "out"), "--chapter", "04"]
    assert cli.main(command) == 2
    assert "not found" in capsys.readouterr().err
    fx.write(tmp_path, "a_04.ipynb", fx.kl_only_notebook())
    with pytest.raises(ValueError, match="unknown drill"):
        grading.grade([tmp_path], tmp_path / "out", drills=["no_such_drill"], progress=False)
    with pytest.raises(ValueError, match="name the assignment"):
        grading.grade([tmp_path], tmp_path / "out", progress=False)
    with pytest.raises(ValueError, match="the minimum is 4096"):
        grading.grade([tmp_path], tmp_path / "out", chapters=["04"], memory_mb=2000)


def test_without_a_sandbox_grading_refuses_to_start_and_names_the_fix(tmp_path, monkeypatch):
    from vae_course.grading import sandbox

    fx.write(tmp_path, "a_04.ipynb", fx.kl_only_notebook())
    monkeypatch.setattr(sandbox, "bubblewrap_problem", lambda: "bwrap is not installed")
    with pytest.raises(grading.GradingError, match="apt-get install bubblewrap") as error:
        grading.grade([tmp_path], tmp_path / "out", chapters=["04"], progress=False)
    assert "--container" in str(error.value) and "--no-sandbox" in str(error.value)


def test_no_sandbox_marks_every_row_unsandboxed(tmp_path):
    submissions = tmp_path / "submissions"
    fx.write(submissions, "a_04.ipynb", fx.light_correct_notebook())
    rows = grading.grade(
        [submissions], tmp_path / "out", drills=fx.CORE_DRILLS, no_sandbox=True, progress=False
    )
    assert rows[0].status == "unsandboxed" and rows[0].total == rows[0].max_total
