"""Olympiad items: seeded questions, answers cross-checked with torch, partial credit, review."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from vae_course import drills, losses
from vae_course.drills.catalogue import ch09_olympiad as olympiad
from vae_course.drills.core import FAILED, NOT_ATTEMPTED, PARTIAL, PASSED
from vae_course.drills.review import answer_key, review

SEEDS = range(12)
SEEDED = [d.id for d in olympiad.ITEMS if d.seeded]


def _params(drill_id: str, seed: int) -> dict:
    return drills.question(drill_id, seed=seed).params


# ----------------------------------------------------------------------------- registry


def test_every_item_is_registered_worth_5_points_with_a_topic():
    listed = {row[0] for row in drills.list(chapter=9).rows}
    answer_names = [d.answer_name for d in olympiad.ITEMS]
    assert len(set(answer_names)) == len(answer_names)
    for item in olympiad.ITEMS:
        assert item.id in listed
        assert item.max_score == 5
        assert item.id in olympiad.TOPICS
    pooled = [i for ids in olympiad.POOLS.values() for i in ids]
    assert sorted(pooled) == sorted(d.id for d in olympiad.ITEMS)


def test_choice_items_have_five_options_and_one_right_answer_all_or_nothing():
    for item in olympiad.CHOICE_ITEMS:
        assert len(item.options) == 5
        right = answer_key(item.id, 0)
        assert len(right) == 1
        assert drills.check(item.id, right, record=False).score == 5
        for wrong in "abcde".replace(right, ""):
            assert drills.check(item.id, wrong, record=False).score == 0
        assert drills.check(item.id, {right, "a" if right != "a" else "b"}, record=False).score == 0


# ----------------------------------------------------------------------------- seeds


@pytest.mark.parametrize("drill_id", SEEDED)
def test_same_seed_same_question_and_answer(drill_id):
    first, again = drills.question(drill_id, seed=7), drills.question(drill_id, seed=7)
    assert first.params == again.params and first.text == again.text
    assert answer_key(drill_id, 7) == answer_key(drill_id, 7)


@pytest.mark.parametrize("drill_id", SEEDED)
def test_different_seeds_give_different_questions_and_answers(drill_id):
    texts = {drills.question(drill_id, seed=s).text for s in SEEDS}
    keys = [answer_key(drill_id, s) for s in SEEDS]
    answers = {repr(k) for k in keys}
    assert len(texts) >= len(SEEDS) // 2
    small_count = all(isinstance(k, float) and k.is_integer() and 0 <= k < 20 for k in keys)
    assert len(answers) >= (len(SEEDS) // 3 if small_count else len(SEEDS) // 2)


@pytest.mark.parametrize("drill_id", [d.id for d in olympiad.NUMERIC_ITEMS])
def test_numeric_answers_in_normal_form_pass_and_coarse_ones_fail(drill_id):
    for seed in SEEDS:
        truth = answer_key(drill_id, seed)
        assert drills.check(drill_id, round(truth, 4), seed=seed, record=False).passed
        assert drills.check(drill_id, torch.tensor(truth), seed=seed, record=False).passed
        coarse = round(truth, 1)
        if abs(coarse - truth) > 2e-3 * max(1.0, abs(truth)):
            assert not drills.check(drill_id, coarse, seed=seed, record=False).passed


# ------------------------------------------------------------- answers checked by torch


def test_kl_answer_matches_the_package_kl():
    for seed in SEEDS:
        p = _params("olympiad_kl", seed)
        mu = torch.tensor([p["mu"]], dtype=torch.float64)
        if p["given"] == "sigma":
            log_var = 2 * torch.log(torch.tensor([p["sigma"]], dtype=torch.float64))
        else:
            log_var = torch.tensor([p["log_var"]], dtype=torch.float64)
        expected = losses.kl_divergence(mu, log_var).item()
        assert answer_key("olympiad_kl", seed) == pytest.approx(expected, rel=1e-9)


def test_implicit_beta_matches_the_loss_code_in_the_question():
    """Run the question's own code: loss = a·R + b·K, and β = b / a."""
    seen = set()
    for seed in range(40):
        q = drills.question("olympiad_implicit_beta", seed=seed)
        seen.add(q.variant)
        code = q.text.split("```python\n")[1].split("```")[0]
        c, h, w = q.shape
        g = torch.Generator().manual_seed(seed)
        logits = torch.randn(q.batch, c, h, w, generator=g, dtype=torch.float64)
        x = torch.rand(q.batch, c, h, w, generator=g, dtype=torch.float64)
        mu = torch.randn(q.batch, q.d, generator=g, dtype=torch.float64)
        log_var = torch.randn(q.batch, q.d, generator=g, dtype=torch.float64)

        def run(mu, log_var, code=code, logits=logits, x=x):
            scope = {"F": F, "logits": logits, "x": x, "mu": mu, "log_var": log_var}
            exec(code, scope)  # the question's own code, on our tensors
            return scope["loss"].item()

        r = (
            F.binary_cross_entropy_with_logits(logits, x, reduction="none")
            .flatten(1)
            .sum(1)
            .mean()
            .item()
        )
        k = losses.kl_divergence(mu, log_var).mean().item()
        a = run(torch.zeros_like(mu), torch.zeros_like(log_var)) / r  # K = 0 at the prior
        b = (run(mu, log_var) - a * r) / k
        truth = answer_key("olympiad_implicit_beta", seed)
        assert b / a == pytest.approx(truth, rel=1e-6)
    assert len(seen) == 4  # every reduction variant was exercised


def test_reparam_gradient_matches_autograd():
    for seed in range(30):
        p = _params("olympiad_reparam_gradient", seed)
        mu = torch.tensor(p["mu"], dtype=torch.float64, requires_grad=True)
        log_var = torch.tensor(p["log_var"], dtype=torch.float64, requires_grad=True)
        sigma = torch.exp(0.5 * log_var)
        sigma.retain_grad()
        z = mu + sigma * p["eps"]
        target = z if p["ask"].startswith("dz") else (z - p["target"]) ** 2
        target.backward()
        by_autograd = {
            "dz_dsigma": sigma.grad,
            "dz_dlog_var": log_var.grad,
            "dL_dmu": mu.grad,
            "dL_dlog_var": log_var.grad,
        }[p["ask"]].item()
        assert answer_key("olympiad_reparam_gradient", seed) == pytest.approx(
            by_autograd, rel=1e-9, abs=1e-12
        )


def test_iwae_answer_matches_logsumexp_and_is_above_the_mean_log_weight():
    for seed in SEEDS:
        p = _params("olympiad_iwae", seed)
        log_w = torch.tensor(p["log_w"], dtype=torch.float64).unsqueeze(1)  # (K, B=1)
        expected = losses.iwae_from_log_weights(log_w).item()
        truth = answer_key("olympiad_iwae", seed)
        assert truth == pytest.approx(expected, rel=1e-12)
        assert truth >= sum(p["log_w"]) / p["k"]


def test_derivation_values_match_torch_distributions():
    normal = torch.distributions.Normal
    for seed in SEEDS:
        p = _params("olympiad_derive_elbo", seed)
        v = answer_key("olympiad_derive_elbo", seed)
        x = torch.tensor(p["x"], dtype=torch.float64)
        assert v["log_evidence"] == pytest.approx(normal(0.0, math.sqrt(2)).log_prob(x).item())
        q = normal(torch.tensor(p["m"], dtype=torch.float64), p["s"])
        posterior = normal(x / 2, math.sqrt(0.5))
        gap = torch.distributions.kl_divergence(q, posterior).item()
        assert v["gap"] == pytest.approx(gap, rel=1e-9)
        assert v["elbo"] + v["gap"] == pytest.approx(v["log_evidence"])
        assert v["gap"] >= 0

        p = _params("olympiad_derive_kl", seed)
        v = answer_key("olympiad_derive_kl", seed)
        kl = torch.distributions.kl_divergence(
            normal(p["mu1"], p["sigma1"]), normal(p["mu2"], p["sigma2"])
        )
        assert v["kl"] == pytest.approx(kl.item(), rel=1e-6)

        p = _params("olympiad_derive_reparam", seed)
        v = answer_key("olympiad_derive_reparam", seed)
        mu = torch.tensor(p["mu"], dtype=torch.float64, requires_grad=True)
        sigma = torch.tensor(p["sigma"], dtype=torch.float64, requires_grad=True)
        ((mu + sigma * p["eps"] - p["a"]) ** 2).backward()
        assert v["sample_grad_mu"] == pytest.approx(mu.grad.item())
        assert v["sample_grad_sigma"] == pytest.approx(sigma.grad.item())


# ----------------------------------------------------------------------------- feedback


def test_known_numeric_mistakes_are_named():
    seed = 4
    p = _params("olympiad_iwae", seed)
    mean_log = sum(p["log_w"]) / p["k"]
    result = drills.check("olympiad_iwae", mean_log, seed=seed, record=False)
    assert result.status == FAILED and "ELBO estimate" in " ".join(result.feedback)
    truth = answer_key("olympiad_kl", seed)
    result = drills.check("olympiad_kl", 2 * truth, seed=seed, record=False)
    assert "½" in " ".join(result.feedback)
    assert str(round(truth, 4)) not in " ".join(result.feedback)


@pytest.mark.parametrize("drill_id", [d.id for d in olympiad.DERIVATION_ITEMS])
def test_derivations_give_partial_credit_per_step(drill_id):
    drill = drills.get_drill(drill_id)
    truth = answer_key(drill_id, 3)
    assert drills.check(drill_id, truth, seed=3, record=False).status == PASSED
    first = drill.parts[0]
    partial = {first.key: truth[first.key]} | {s.key: 1e6 for s in drill.parts[1:]}
    result = drills.check(drill_id, partial, seed=3, record=False)
    assert result.status == PARTIAL
    assert result.score == pytest.approx(first.points)
    only_last = {drill.parts[-1].key: truth[drill.parts[-1].key]}
    assert drills.check(drill_id, only_last, seed=3, record=False).score == pytest.approx(
        drill.parts[-1].points
    )
    wrong = {s.key: truth[s.key] + 1.0 for s in drill.parts}
    assert drills.check(drill_id, wrong, seed=3, record=False).score == 0


@pytest.mark.parametrize(
    "answer",
    [None, "0.5", 3.0, [1, 2], {"kl": "abc"}, {"kl": float("nan")}, {"unknown": 1.0}, {}],
)
def test_derivation_checker_never_raises(answer):
    result = drills.check("olympiad_derive_kl", answer, seed=1, record=False)
    assert result.score == 0
    assert result.feedback


def test_unanswered_derivation_is_not_attempted():
    result = drills.check("olympiad_derive_elbo", ..., seed=1, record=False)
    assert result.status == NOT_ATTEMPTED
    result = drills.check("olympiad_derive_elbo", {"kl": ...}, seed=1, record=False)
    assert result.status == NOT_ATTEMPTED


# ----------------------------------------------------------------------------- review


def test_review_only_after_an_attempt_and_never_in_exam_mode(monkeypatch):
    monkeypatch.delenv("VAE_COURSE_MODE", raising=False)
    q = drills.question("olympiad_derive_kl", seed=11)
    assert review(q, ...).style == "refused"
    answer = {"expected_log_q": answer_key("olympiad_derive_kl", 11)["expected_log_q"]}
    shown = review(q, answer)
    assert shown.style == "info"
    assert any(line.startswith("expected_log_q: 1.5 / 1.5") for line in shown.bullets)
    assert any(line.startswith("kl: 0 / 1.5") for line in shown.bullets)
    assert "Step values" in shown.text
    monkeypatch.setenv("VAE_COURSE_MODE", "exam")
    assert review(q, answer).style == "refused"


def test_review_of_a_numeric_item_shows_the_worked_numbers():
    q = drills.question("olympiad_kl", seed=2)
    shown = review(q, 0.0)
    truth = answer_key("olympiad_kl", 2)
    assert f"{truth:.4f}" in shown.text
