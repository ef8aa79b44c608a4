"""Chapter 05's drills beyond the shared catalogue tests: the package's loop itself, the
harness that observes a learner's loop, odd answers, and the ``beta_bound`` choice."""

from __future__ import annotations

import pytest
import torch
from training_support import hand_written_loop

from vae_course import drills, loops
from vae_course.drills import timed
from vae_course.drills.catalogue import ch05_train_loop
from vae_course.drills.catalogue.harness_models import TinyVAE, parameters_of

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("VAE_COURSE_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("VAE_COURSE_MODE", raising=False)


def _tiny_run(epochs=4, beta=lambda t: 0.1 * t):
    model = TinyVAE(latent_dim=3, seed=3, fixed_noise=True)
    g = torch.Generator().manual_seed(4)
    batches = [(torch.rand(6, 1, 28, 28, generator=g) < 0.3).float() for _ in range(3)]
    optimizer = torch.optim.SGD(model.parameters(), lr=5e-4)
    asked = []

    def schedule(t):
        asked.append(t)
        return beta(t)

    history = loops.train_with_schedule(model, optimizer, batches, schedule, epochs)
    return history, asked


def test_the_package_loop_asks_the_schedule_for_every_global_step():
    history, asked = _tiny_run(epochs=4)
    assert asked == list(range(12))
    assert [r["beta"] for r in history] == pytest.approx([0.1 * t for t in range(12)])
    assert all(isinstance(v, float) for r in history for v in r.values())


def test_the_package_loop_records_loss_as_reconstruction_plus_beta_kl():
    history, _ = _tiny_run(epochs=2)
    for r in history:
        assert r["kl"] >= 0
        assert r["loss"] == pytest.approx(r["reconstruction"] + r["beta"] * r["kl"], rel=1e-5)


def test_the_package_loop_lowers_the_loss_at_constant_beta():
    history, _ = _tiny_run(epochs=6, beta=lambda t: 1.0)
    first, last = history[:3], history[-3:]
    assert sum(r["loss"] for r in last) < sum(r["loss"] for r in first)


def test_the_package_loop_refuses_a_bad_epoch_count():
    model = TinyVAE()
    with pytest.raises((TypeError, ValueError)):
        loops.train_with_schedule(model, torch.optim.SGD(model.parameters(), lr=0.1), [], float, 0)


def test_fixed_noise_makes_the_harness_deterministic():
    model = TinyVAE(latent_dim=3, seed=1, fixed_noise=True)
    x = torch.rand(4, 1, 28, 28)
    assert torch.equal(model(x)[3], model(x)[3])
    assert not torch.equal(TinyVAE(seed=1)(x)[3], TinyVAE(seed=1)(x)[3])


def test_the_harness_reports_what_the_loop_did():
    report = ch05_train_loop.run_train_loop(loops.train_with_schedule, "changing_beta", 0)
    assert report["format"] == 0.0
    assert report["records"] == report["steps"] == 9.0
    assert report["asked"].tolist() == list(range(9))
    assert report["parameter_change"].abs().sum() > 0
    assert report["batches_changed"] == 0.0


def test_the_package_loop_accepts_a_model_returning_three_items():
    class ThreeItems(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = TinyVAE(seed=2)

        def forward(self, x):
            return self.inner(x)[:3]

    model = ThreeItems()
    before = parameters_of(model)
    batches = [torch.rand(5, 1, 28, 28).round()]
    loops.train_with_schedule(model, torch.optim.Adam(model.parameters()), batches, float, 2)
    assert not torch.equal(before, parameters_of(model))


def test_handing_in_a_loop_of_ones_own_passes():
    assert drills.check("train_with_schedule", hand_written_loop, record=False).passed


def _mutating_loop(model, optimizer, batches, schedule, epochs):
    history = hand_written_loop(model, optimizer, batches, schedule, epochs)
    batches[0].mul_(1.0).add_(0.0)
    batches[-1][0, 0, 0, 0] = 1.0 - batches[-1][0, 0, 0, 0]
    return history


def test_a_loop_that_changes_the_batches_loses_a_point_only():
    result = drills.check("train_with_schedule", _mutating_loop, record=False)
    assert result.status == "partial", result.feedback
    assert any("in place" in line for line in result.feedback)


def _returns_nothing(model, optimizer, batches, schedule, epochs):
    hand_written_loop(model, optimizer, batches, schedule, epochs)


def _raises(model, optimizer, batches, schedule, epochs):
    raise RuntimeError("mat1 and mat2 shapes cannot be multiplied")


def _endless(model, optimizer, batches, schedule, epochs):
    while True:
        pass


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (_returns_nothing, "return history"),
        (_raises, "mat1 and mat2"),
        (42, "itself"),
        (lambda model: [], "argument"),
    ],
)
def test_odd_answers_fail_with_a_clear_message(answer, words):
    result = drills.check("train_with_schedule", answer, record=False)
    assert result.status == "failed" and result.score == 0
    assert any(words in line for line in result.feedback), result.feedback


def test_an_endless_loop_is_stopped(monkeypatch):
    monkeypatch.setattr(timed, "CALL_LIMIT_S", 1.0)
    result = drills.check("train_with_schedule", _endless, record=False)
    assert result.status == "failed"
    assert result.feedback


def test_beta_bound_full_marks_and_a_tempting_wrong_answer():
    assert drills.check("beta_bound", {"a", "c", "e"}, record=False).passed
    tighter = drills.check("beta_bound", {"b"}, record=False)
    assert not tighter.passed and tighter.score == 0
