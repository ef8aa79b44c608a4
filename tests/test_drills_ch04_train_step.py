"""The ``vae_train_step`` drill (chapter 04): each catalogued mistake is rejected with its own
message, honest alternatives pass, odd answers (not callable, raising, hanging) get a clear
Result, and chapter 01's step harness is the one both step drills use."""

from __future__ import annotations

import time

import pytest
import torch
import torch.nn.functional as F
from torch.distributions import Normal, kl_divergence

from vae_course import drills
from vae_course.drills import timed
from vae_course.drills.catalogue import ch01_train_step, ch04_train_step

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("VAE_COURSE_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("VAE_COURSE_MODE", raising=False)


def _learner_vae_loss(logits, x, mu, log_var, beta=1.0):
    reconstruction = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / x.shape[0]
    kl = -0.5 * (1 + log_var - mu.pow(2) - log_var.exp()).sum(dim=1).mean()
    return reconstruction + beta * kl, reconstruction, kl


def step_with_own_loss(model, optimizer, x, beta=1.0):
    optimizer.zero_grad()
    logits, mu, log_var = model(x)[:3]
    loss, reconstruction, kl = _learner_vae_loss(logits, x, mu, log_var, beta)
    loss.backward()
    optimizer.step()
    return {"loss": loss.item(), "reconstruction": reconstruction.item(), "kl": kl.item()}


def step_with_distributions(model, optimizer, x, beta=1.0):
    out = model(x)
    logits, mu, log_var = out[0], out[1], out[2]
    per_pixel = F.binary_cross_entropy_with_logits(logits, x, reduction="none")
    reconstruction = per_pixel.flatten(1).sum(1).mean()
    q = Normal(mu, torch.exp(0.5 * log_var))
    kl = kl_divergence(q, Normal(torch.zeros_like(mu), torch.ones_like(mu))).sum(1).mean()
    loss = reconstruction + beta * kl
    optimizer.zero_grad(set_to_none=False)  # after the forward pass is fine too
    loss.backward()
    optimizer.step()
    return {"reconstruction": float(reconstruction), "kl": float(kl), "loss": float(loss)}


def step_per_example(model, optimizer, x, beta=1.0):
    for p in model.parameters():
        p.grad = None
    logits, mu, log_var, *_ = model(x)
    log_p = x * F.logsigmoid(logits) + (1 - x) * F.logsigmoid(-logits)
    reconstruction_b = -log_p.sum(dim=(1, 2, 3))
    kl_b = 0.5 * (mu**2 + log_var.exp() - log_var - 1).sum(dim=1)
    loss = (reconstruction_b + beta * kl_b).mean()
    loss.backward()
    optimizer.step()
    return {
        "loss": loss.item(),
        "reconstruction": reconstruction_b.mean().item(),
        "kl": kl_b.mean().item(),
    }


ALTERNATIVES = [step_with_own_loss, step_with_distributions, step_per_example]


def test_the_catalogue_has_at_least_eight_named_mistakes():
    ids = {m.id for m in ch04_train_step.VAE_STEP_MISTAKES}
    assert len(ids) >= 8
    assert {
        "no_zero_grad",
        "step_before_backward",
        "backward_on_floats",
        "returns_tensors",
        "beta_on_reconstruction",
        "sum_over_batch",
        "wrong_keys",
    } <= ids


@pytest.mark.parametrize("mistake", ch04_train_step.VAE_STEP_MISTAKES, ids=lambda m: m.id)
def test_each_mistake_is_rejected_with_its_own_message(mistake):
    result = drills.check("vae_train_step", mistake.implementation, record=False)
    assert result.status == "failed" and result.score == 0
    assert result.feedback[0] == mistake.message, result.feedback


@pytest.mark.parametrize("fn", ALTERNATIVES, ids=lambda f: f.__name__)
def test_honest_alternatives_pass(fn):
    result = drills.check("vae_train_step", fn, record=False)
    assert result.passed, result.feedback


def test_the_harness_is_chapter_ones():
    """Both step drills observe through one harness, not two copies."""
    assert ch04_train_step.observe_step is ch01_train_step.observe_step


def test_the_reference_step_lowers_the_loss_of_the_tiny_vae():
    model, _, x = ch04_train_step._setup("fresh", 0)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    reference = drills.get_drill("vae_train_step").reference()
    losses = [reference(model, optimizer, x)["loss"] for _ in range(20)]
    assert losses[-1] < losses[0]


def _raises(model, optimizer, x, beta=1.0):
    raise KeyError("logits")


def _stub(model, optimizer, x, beta=1.0):
    raise NotImplementedError("Exercise 4.6")


def _hangs(model, optimizer, x, beta=1.0):
    time.sleep(100)


def test_odd_answers_get_clear_results(monkeypatch):
    not_callable = drills.check("vae_train_step", {"loss": 1.0}, record=False)
    assert not_callable.status == "failed" and "vae_train_step" in not_callable.feedback[0]
    raising = drills.check("vae_train_step", _raises, record=False)
    assert raising.status == "failed" and "KeyError" in " ".join(raising.feedback)
    assert drills.check("vae_train_step", _stub, record=False).status == "not attempted"
    monkeypatch.setattr(timed, "CALL_LIMIT_S", 1.0)
    hanging = drills.check("vae_train_step", _hangs, record=False)
    assert hanging.status == "failed" and "still running after" in hanging.feedback[0]
