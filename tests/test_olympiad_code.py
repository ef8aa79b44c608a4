"""The olympiad pool's coding items: three different correct solutions pass each, on the
notebook's probes and on another seed's (as in an exam); the catalogued mistakes are tested
with every drill's in tests/test_drills_catalogue.py."""

from __future__ import annotations

import pytest
import torch
from olympiad_answers import CORRECT

from vae_course import drills
from vae_course.drills.catalogue import ch09_olympiad

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


CASES = [(k, f) for k, fs in CORRECT.items() for f in fs]


def test_every_coding_item_has_three_correct_alternatives():
    assert set(CORRECT) == set(ch09_olympiad.POOLS["code"])
    assert all(len(v) >= 3 for v in CORRECT.values())


@pytest.mark.parametrize(("drill_id", "answer"), CASES, ids=lambda v: getattr(v, "__name__", v))
def test_correct_solutions_pass(drill_id, answer):
    result = drills.check(drill_id, answer, record=False)
    assert result.passed, result.feedback


@pytest.mark.parametrize(("drill_id", "answer"), CASES, ids=lambda v: getattr(v, "__name__", v))
def test_correct_solutions_pass_on_an_exams_probes(drill_id, answer):
    drill = drills.get_drill(drill_id)
    result = drill.judge(drill.observe(answer, 424242), 424242)
    assert result.passed, result.feedback


def test_a_coding_item_that_bans_loops_refuses_one_with_its_line():
    def interpolate(z0, z1, steps):
        rows = []
        for i in range(steps):
            t = i / (steps - 1)
            rows.append((1 - t) * z0 + t * z1)
        return torch.stack(rows)

    result = drills.check("olympiad_code_interpolate", interpolate, record=False)
    assert result.status == "failed" and result.score == 0
    first_line = interpolate.__code__.co_firstlineno
    assert any(
        f"Line {first_line + 2} " in line and "a `for` loop" in line for line in result.feedback
    ), result.feedback


def test_a_coding_item_that_bans_distributions_refuses_rsample():
    def reparameterize_with(mu, log_var, eps):
        return torch.distributions.Normal(mu, torch.exp(0.5 * log_var)).rsample()

    result = drills.check("olympiad_code_reparameterize_with", reparameterize_with, record=False)
    assert result.status == "failed"
    assert "`torch.distributions`" in " ".join(result.feedback)
    assert "bans `torch.distributions`" in " ".join(result.feedback)
