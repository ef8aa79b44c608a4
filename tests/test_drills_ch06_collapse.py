"""Chapter 06's diagnosis drill agrees with chapter 6's own measurement (Table 3): free bits,
a weaker decoder and a smaller β are graded as fixes; KL annealing, which the chapter
measured not to cure the collapse of its strong decoder, is not."""

from __future__ import annotations

import pytest

from vae_course import drills
from vae_course.drills.catalogue import ch06_collapse


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("VAE_COURSE_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("VAE_COURSE_MODE", raising=False)


def _fix_letter(words):
    texts = [text for text, _, _ in ch06_collapse.FIXES]
    (index,) = [i for i, text in enumerate(texts) if words in text]
    return "abcde"[index]


def _collapsed_question():
    for seed in range(60):
        q = drills.question("posterior_collapse_diagnosis", seed=seed)
        if sum(v > 0.01 for v in q.mu_variance) == 0:
            return q
    pytest.fail("no collapse scenario in 60 seeds")


def test_the_graded_fixes_are_the_ones_chapter_6_measured_to_work():
    graded = {text.split(":")[0].split(" (")[0] for text, helps, _ in ch06_collapse.FIXES if helps}
    assert graded == {"Free bits", "A weaker decoder", "A smaller KL weight β"}


def test_annealing_is_not_a_graded_fix_and_its_explanation_cites_the_measurement():
    q = _collapsed_question()
    right = {_fix_letter("Free bits"), _fix_letter("weaker decoder"), _fix_letter("smaller KL")}
    answer = {"active_units": 0, "diagnosis": "b", "fixes": right}
    assert drills.check(q, answer, record=False).score == 5
    with_annealing = {**answer, "fixes": right | {_fix_letter("KL annealing")}}
    result = drills.check(q, with_annealing, record=False)
    assert result.score < 5
    assert any("drained" in line for line in result.feedback), result.feedback


def test_a_smaller_beta_is_credited():
    q = _collapsed_question()
    partial = {"active_units": 0, "diagnosis": "b", "fixes": {_fix_letter("Free bits")}}
    more = {**partial, "fixes": partial["fixes"] | {_fix_letter("smaller KL")}}
    assert drills.check(q, more, record=False).score > drills.check(q, partial, record=False).score


def test_the_prompt_states_a_constant_beta():
    assert "constant KL weight β" in drills.get_drill("posterior_collapse_diagnosis").full_prompt()
