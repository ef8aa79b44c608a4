"""The drills API: results, hints, solutions, prompts, tables, progress, use, questions."""

from __future__ import annotations

import dataclasses
import json
import warnings

import pytest
import torch

from vae_course import drills, storage
from vae_course.drills import core, progress_store, registry, state
from vae_course.drills.choice import ChoiceDrill, Option


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("VAE_COURSE_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("VAE_COURSE_MODE", raising=False)
    state.reset()


def kl_right(mu, log_var):
    return 0.5 * (mu.pow(2) + log_var.exp() - log_var - 1).sum(dim=1)


def kl_half_missing(mu, log_var):
    return (mu.pow(2) + log_var.exp() - log_var - 1).sum(dim=1)


def kl_stub(mu, log_var):
    raise NotImplementedError("Exercise 4.1: return the KL of each example, shape (B,)")


# ----------------------------------------------------------------------------- Result


@pytest.mark.parametrize(
    ("answer", "status", "colour"),
    [
        (kl_right, "passed", "#2e7d32"),
        (kl_half_missing, "failed", "#c62828"),
        (kl_stub, "not attempted", "#757575"),
    ],
)
def test_result_renders_as_html_and_text(answer, status, colour):
    result = drills.check("kl_divergence", answer)
    assert result.status == status
    html = result._repr_html_()
    assert colour in html and "kl_divergence" in html and "<li>" in html
    assert f"{result.score:g}/{result.max_score:g}" in html
    text = str(result)
    assert text.startswith(f"[{status.upper()}] kl_divergence")
    assert repr(result) == text
    assert all(line in text for line in result.feedback)


def test_partial_result_has_its_own_look():
    def kl_float64(mu, log_var):
        return kl_right(mu.double(), log_var.double())

    result = drills.check("kl_divergence", kl_float64)
    assert result.status == "partial" and 0 < result.score < result.max_score
    assert "#ef6c00" in result._repr_html_()
    assert any("float64" in line for line in result.feedback)


def test_result_rejects_unknown_status():
    with pytest.raises(ValueError):
        core.Result("x", "great", 1, 1)


def test_check_unknown_drill_is_a_failing_result_with_suggestion():
    result = drills.check("kl_divergense", kl_right)
    assert result.status == "failed"
    assert "kl_divergence" in result.feedback[0]


def test_other_api_functions_reject_unknown_ids_clearly():
    for function in (drills.hint, drills.solution, drills.prompt, drills.question):
        with pytest.raises(ValueError, match="Did you mean 'kl_divergence'"):
            function("kl_divergense")


# ----------------------------------------------------------------------------- hints etc.


def test_hints_are_progressive_and_remembered_per_drill():
    drill = drills.get_drill("kl_divergence")
    first = drills.hint("kl_divergence")
    assert "hint 1 of" in first.heading and drill.hints[0] in first.text
    assert drill.hints[1] not in first.text
    other = drills.hint("vae_loss")
    assert "hint 1 of" in other.heading
    second = drills.hint("kl_divergence")
    assert "hint 2 of" in second.heading and drill.hints[1] in second.text
    for _ in range(5):
        last = drills.hint("kl_divergence")
    assert f"hint {len(drill.hints)} of {len(drill.hints)}" in last.heading
    assert "drills.solution" in last.text
    assert "<div" in last._repr_html_() and drill.hints[0] in str(last)


def test_solution_shown_normally_and_refused_in_exam_mode(monkeypatch):
    shown = drills.solution("kl_divergence")
    assert "def kl_divergence" in shown.text
    assert "<pre" in shown._repr_html_()
    monkeypatch.setenv("VAE_COURSE_MODE", "exam")
    refused = drills.solution("kl_divergence")
    assert "exam" in str(refused).lower()
    assert "def kl_divergence" not in str(refused) and "log_var.exp()" not in str(refused)
    assert "def kl_divergence" not in refused._repr_html_()


def test_hints_refused_in_exam_mode(monkeypatch):
    monkeypatch.setenv("VAE_COURSE_MODE", "exam")
    refused = drills.hint("kl_divergence")
    assert "exam" in str(refused).lower()
    assert drills.get_drill("kl_divergence").hints[0] not in str(refused)
    assert state.hints_shown == {}


def test_prompt_states_the_contract_and_answer_name():
    for drill in drills.all_drills():
        shown = drills.prompt(drill.id)
        assert drill.answer_name in shown.text
        assert drill.kind in shown.heading
        assert "<div" in shown._repr_html_()
    choice = str(drills.prompt("log_var_rationale"))
    assert "(a)" in choice and "(e)" in choice


# ----------------------------------------------------------------------------- tables


def test_list_renders_as_html_and_text():
    table = drills.list()
    assert len(table) == len(drills.all_drills())
    html = table._repr_html_()
    assert "<table" in html and "kl_divergence" in html and "max score" in html
    text = str(table)
    assert "kl_divergence" in text and "function" in text
    lines = text.splitlines()
    assert len({line.index("chapter") for line in lines if "chapter" in line}) == 1


@pytest.mark.parametrize("chapter", [4, "04", "4"])
def test_list_filters_by_chapter(chapter):
    ids = {row[0] for row in drills.list(chapter=chapter).rows}
    assert ids == {
        "kl_divergence",
        "kl_zero_case",
        "kl_by_hand",
        "vae_loss",
        "vae_train_step",
        "iwae_bound",
    }


def test_list_rejects_bad_chapter():
    with pytest.raises(ValueError):
        drills.list(chapter="four")


def test_progress_table_round_trip():
    empty = drills.progress()
    assert "<table" in empty._repr_html_() and "chapter" in str(empty)
    drills.check("kl_divergence", kl_half_missing)
    drills.check("kl_divergence", kl_right)
    drills.check("kl_zero_case", {"kl": 0.0, "reason": "c"})
    drills.check("log_var_rationale", {"a", "b", "c"})
    drills.check("vae_loss", ...)  # not attempted: not recorded
    entries = progress_store.load_progress()
    assert entries["kl_divergence"]["attempts"] == 2
    assert entries["kl_divergence"]["passed"] is True
    assert entries["kl_divergence"]["best_score"] == 5
    assert entries["log_var_rationale"]["passed"] is False
    assert "vae_loss" not in entries
    rows = {row[0]: row for row in drills.progress().rows}
    chapter, n, attempted, passed, score = rows["04"]
    assert (attempted, passed) == (2, 2) and score.startswith("7 / ")
    assert rows["02"][2:4] == [1, 0]
    assert rows["all"][2] == 3
    assert "<table" in drills.progress()._repr_html_()


def test_best_score_is_kept_when_a_later_attempt_is_worse():
    drills.check("kl_divergence", kl_right)
    drills.check("kl_divergence", kl_half_missing)
    entry = progress_store.load_progress()["kl_divergence"]
    assert entry["best_score"] == 5 and entry["passed"] and entry["last_status"] == "failed"


def test_record_false_leaves_progress_alone():
    drills.check("kl_divergence", kl_right, record=False)
    assert progress_store.load_progress() == {}


def test_corrupt_progress_file_is_set_aside_and_recovered_from_backup():
    drills.check("kl_zero_case", {"kl": 0.0, "reason": "c"})
    drills.check("kl_divergence", kl_right)
    path = progress_store.progress_path()
    path.write_text("{ this is not json", encoding="utf-8")
    with pytest.warns(progress_store.ProgressWarning, match="recovered 2 drill"):
        drills.check("log_var_rationale", {"a", "b", "d"})
    aside = list(path.parent.glob("progress.json.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_text(encoding="utf-8") == "{ this is not json"
    entries = progress_store.load_progress()
    assert set(entries) == {"kl_zero_case", "kl_divergence", "log_var_rationale"}
    assert json.loads(path.read_text(encoding="utf-8"))["drills"] == entries


def test_corrupt_progress_without_backup_warns_and_starts_afresh():
    path = progress_store.progress_path()
    path.write_text(json.dumps({"drills": {"x": {"attempts": "many"}}}), encoding="utf-8")
    with pytest.warns(progress_store.ProgressWarning, match="starting afresh"):
        table = drills.progress()
    assert "<table" in table._repr_html_()
    assert list(path.parent.glob("progress.json.corrupt-*"))


def test_recording_failure_never_breaks_check(monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(storage, "atomic_write_text", broken)
    with pytest.warns(progress_store.ProgressWarning, match="disk full"):
        result = drills.check("kl_divergence", kl_right)
    assert result.passed


# ----------------------------------------------------------------------------- use


def test_use_returns_the_learner_function_when_it_passes(capsys):
    chosen = drills.use("kl_divergence", kl_right)
    assert chosen is kl_right
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "using your kl_divergence" in out


@pytest.mark.parametrize(
    ("answer", "why"), [(kl_stub, "not attempted"), (kl_half_missing, "failed")]
)
def test_use_falls_back_to_the_reference(capsys, answer, why):
    from vae_course.losses import kl_divergence

    chosen = drills.use("kl_divergence", answer)
    assert chosen is kl_divergence
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and why in out and "vae_course.losses.kl_divergence" in out


def test_use_hands_out_a_working_reference_that_is_no_answer(capsys):
    """drills.use keeps a stuck learner going with the course's code; handing that code in
    as an answer earns nothing (the same rule as in the grader)."""
    for drill in drills.all_drills():
        if drill.reference() is None:
            continue
        reference = drills.use(drill.id, ...)
        assert reference is drill.reference(), drill.id
        assert drill.judge(drill.reference_observation()).passed, drill.id
        refused = drills.check(drill.id, reference, record=False)
        assert refused.score == 0 and "course's own code" in refused.feedback[0], drill.id


def test_use_reference_autoencoder_returns_logits():
    model_class = drills.use("autoencoder", ...)
    model = model_class(4)
    x = torch.rand(2, 1, 28, 28)
    assert model(x).shape == (2, 1, 28, 28)
    assert model.encode(x).shape == (2, 4)


def test_use_is_refused_for_value_drills():
    with pytest.raises(ValueError, match="function and module drills"):
        drills.use("kl_zero_case", 0.0)


# ----------------------------------------------------------------------------- questions


@pytest.mark.parametrize(
    "drill_id", ["kl_by_hand", "reparam_gradient_flow", "posterior_collapse_diagnosis"]
)
def test_seeded_questions_are_reproducible_and_vary(drill_id):
    a, b = drills.question(drill_id, seed=11), drills.question(drill_id, seed=11)
    assert a.params == b.params and a.seed == 11
    others = [drills.question(drill_id, seed=s).params for s in range(12, 20)]
    assert any(p != a.params for p in others)
    assert "<div" in a._repr_html_() and drill_id in str(a)


def test_question_parameters_read_as_attributes_and_items():
    q = drills.question("reparam_gradient_flow", seed=2)
    assert q.eps == q["eps"] and isinstance(q.sigma, float)
    with pytest.raises(AttributeError, match="no parameter"):
        _ = q.nothing


def test_check_uses_the_seed_of_the_last_question():
    drill = drills.get_drill("kl_by_hand")
    q = drills.question("kl_by_hand", seed=123)
    answer = round(drill.answer(q.params), 4)
    assert drills.check("kl_by_hand", answer).passed
    drills.question("kl_by_hand", seed=124)
    other = round(drill.answer(drill.params_for(124)), 4)
    if abs(other - answer) > 0.01:
        assert not drills.check("kl_by_hand", answer).passed
    assert drills.check("kl_by_hand", answer, seed=123).passed


def test_default_seed_is_stable_for_a_learner():
    assert drills.question("kl_by_hand").seed == drills.question("kl_by_hand").seed


def test_question_rejects_bad_seeds_and_unseeded_drills():
    with pytest.raises(ValueError):
        drills.question("kl_by_hand", seed=-1)
    with pytest.raises(ValueError, match="no random parameters"):
        drills.question("kl_zero_case")
    assert drills.check("kl_by_hand", 1.0, seed="x").status == "failed"


# ----------------------------------------------------------------------------- registry


def test_register_adds_a_drill_and_refuses_duplicates():
    drill = ChoiceDrill(
        id="test_extra_choice",
        chapter="09",
        title="An olympiad item",
        answer_name="answer_extra",
        prompt="Pick (a).",
        hints=("It is (a).", "Really."),
        solution="(a)",
        options=(Option("yes", True, "right"), Option("no", False, "wrong")),
    )
    try:
        drills.register(drill)
        assert drills.check("test_extra_choice", "a", record=False).passed
        assert "test_extra_choice" in str(drills.list(chapter=9))
        with pytest.raises(ValueError, match="already exists"):
            drills.register(dataclasses.replace(drill, title="Another item, same id"))
        with pytest.raises(ValueError, match="already exists"):
            drills.register(dataclasses.replace(drills.get_drill("kl_zero_case")))
    finally:
        registry._EXTRA.pop("test_extra_choice", None)


def test_register_rejects_non_drills():
    with pytest.raises(TypeError):
        drills.register("kl_divergence")


def test_every_check_runs_in_a_fresh_process_with_only_the_answer(tmp_path):
    import subprocess
    import sys

    script = (
        "from vae_course import drills\n"
        "r = drills.check('kl_zero_case', {'kl': 0.0, 'reason': 'c'}, record=False)\n"
        "print(r.status, f'{r.max_score:g}', drills.get_drill('kl_zero_case').answer_name)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env={**__import__("os").environ, "VAE_COURSE_CACHE": str(tmp_path)},
    )
    assert out.stdout.split() == ["passed", "2", "answer_kl_zero"], out.stderr


def test_no_warning_is_emitted_by_a_clean_check():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert drills.check("kl_divergence", kl_right).passed


def test_drill_boxes_need_no_emoji_font():
    """Marks are words: symbols and emoji render as empty boxes without an emoji font."""
    from vae_course.drills import display

    for style in ("passed", "failed", "partial", "not attempted", "info", "hint", "refused"):
        page = display.box_html(style, "heading", bullets=["a line"])
        assert all(ord(char) < 0x2190 for char in page), style
