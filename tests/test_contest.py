"""The contest scorer: ramp, verdicts (budget, time, errors), submissions, a real re-run."""

from __future__ import annotations

import math

import nbformat
import pytest
import torch
from nbformat.v4 import new_code_cell, new_notebook
from torch import nn

from vae_course import contest, models

TASK = contest.TASK


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _tiny_vae(latent_dim: int = 3) -> models.VAE:
    torch.manual_seed(0)
    return models.VAE(latent_dim=latent_dim, hidden_dims=(8,))


@pytest.fixture
def synthetic_split(monkeypatch):
    """Held-out images without loading a data set."""
    g = torch.Generator().manual_seed(1)
    images = {
        "public": (torch.rand(40, 1, 28, 28, generator=g) > 0.7).float(),
        "private": (torch.rand(30, 1, 28, 28, generator=g) > 0.7).float(),
    }
    monkeypatch.setattr(contest, "held_out", lambda split, task=TASK: images[split])
    return images


# ----------------------------------------------------------------------------- ramp


def test_ramp_endpoints_midpoint_and_clipping():
    assert contest.ramp(200.0, baseline=200.0, reference=100.0) == 0.0
    assert contest.ramp(100.0, baseline=200.0, reference=100.0) == 100.0
    assert contest.ramp(150.0, baseline=200.0, reference=100.0) == pytest.approx(50.0)
    assert contest.ramp(80.0, baseline=200.0, reference=100.0) == 100.0  # better than reference
    assert contest.ramp(300.0, baseline=200.0, reference=100.0) == 0.0  # worse than baseline
    assert contest.ramp(0.75, baseline=0.5, reference=1.0) == pytest.approx(50.0)  # higher-better
    assert contest.ramp(math.nan, baseline=200.0, reference=100.0) == 0.0
    with pytest.raises(ValueError):
        contest.ramp(1.0, baseline=2.0, reference=2.0)


def test_the_default_task_ramps_from_baseline_to_reference():
    assert contest.ramp(TASK.baseline, TASK.baseline, TASK.reference) == 0
    assert contest.ramp(TASK.reference, TASK.baseline, TASK.reference) == 100
    assert TASK.reference < TASK.baseline  # a negative ELBO: lower is better


# ----------------------------------------------------------------------------- verdicts


def test_over_the_parameter_budget_scores_zero(synthetic_split):
    model = _tiny_vae()
    count = contest.parameter_count(model)
    assert count == sum(p.numel() for p in model.parameters())
    result = contest.score(model, task=TASK.with_limits(max_parameters=count - 1))
    assert result.verdict == contest.OVER_BUDGET
    assert result.score == 0 and not result.metrics
    assert f"{count:,}" in str(result)
    within = contest.score(model, task=TASK.with_limits(max_parameters=count))
    assert within.verdict == contest.OK


def test_training_that_exceeds_the_time_limit_scores_zero(synthetic_split):
    clock = FakeClock()

    def slow_training():
        clock.now += 5.0  # "trains" for 5 seconds
        return _tiny_vae()

    tight = TASK.with_limits(time_limit_s=1.0)
    result = contest.timed_training(slow_training, task=tight, clock=clock)
    assert result.verdict == contest.TIME_LIMIT and result.score == 0
    assert result.seconds == pytest.approx(5.0)
    relaxed = contest.timed_training(
        slow_training, task=TASK.with_limits(time_limit_s=10), clock=clock
    )
    assert relaxed.verdict == contest.OK


def test_a_crashing_training_function_is_a_runtime_error():
    def broken():
        raise RuntimeError("shapes do not match")

    result = contest.timed_training(broken)
    assert result.verdict == contest.RUNTIME_ERROR and result.score == 0
    assert "shapes do not match" in result.message


def test_wrong_output_shapes_are_a_presentation_error(synthetic_split):
    class Cropped(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = _tiny_vae()

        def encode(self, x):
            return self.inner.encode(x)

        def decode(self, z):
            return self.inner.decode(z)[..., :27, :27]

    result = contest.score(Cropped())
    assert result.verdict == contest.PRESENTATION_ERROR and result.score == 0
    assert contest.score(nn.Linear(2, 2)).verdict == contest.PRESENTATION_ERROR


def test_ok_scores_follow_the_ramp_on_each_split(synthetic_split):
    model = _tiny_vae()
    result = contest.score(model, ("public", "private"))
    assert result.verdict == contest.OK
    for split, value in result.metrics.items():
        expected = contest.negative_elbo(model, synthetic_split[split], seed=TASK.eval_seed)
        assert value == pytest.approx(expected)
        assert result.scores[split] == pytest.approx(
            contest.ramp(value, TASK.baseline, TASK.reference)
        )
    assert result.score == result.scores["private"]  # the final score is the private one


# ----------------------------------------------------------------------------- the metric


def test_negative_elbo_of_a_model_at_the_prior_is_the_pixel_cross_entropy():
    class Constant(nn.Module):
        """mu = 0, log_var = 0 (KL = 0) and constant logits."""

        def __init__(self):
            super().__init__()
            self.logit = nn.Parameter(torch.tensor(0.3))

        def encode(self, x):
            zeros = torch.zeros(x.shape[0], 2) * self.logit
            return zeros, zeros

        def decode(self, z):
            return self.logit.expand(z.shape[0], 1, 28, 28) + 0 * z.sum()

    images = (torch.rand(10, 1, 28, 28) > 0.5).float()
    p = torch.sigmoid(torch.tensor(0.3))
    by_hand = -(images * p.log() + (1 - images) * (1 - p).log()).flatten(1).sum(1).mean()
    assert contest.negative_elbo(Constant(), images) == pytest.approx(by_hand.item(), rel=1e-5)


def test_a_saved_submission_loads_without_its_class_and_scores_the_same(tmp_path):
    model = _tiny_vae(latent_dim=4)
    path = contest.save_submission(model, tmp_path / "sub.pt2")
    loaded = contest.load_submission(path)
    images = torch.rand(7, 1, 28, 28)
    assert loaded.latent_dim == 4
    assert contest.parameter_count(loaded) == contest.parameter_count(model)
    assert contest.negative_elbo(loaded, images, seed=3) == pytest.approx(
        contest.negative_elbo(model, images, seed=3), rel=1e-5
    )
    (tmp_path / "junk.pt2").write_bytes(b"not a model")
    with pytest.raises(ValueError, match="not a submission"):
        contest.load_submission(tmp_path / "junk.pt2")


# ----------------------------------------------------------------------------- re-runs


def _notebook(tmp_path, name, *sources):
    path = tmp_path / name
    nbformat.write(new_notebook(cells=[new_code_cell(s) for s in sources]), path)
    return path


def test_run_submission_stops_a_notebook_at_the_time_limit(tmp_path):
    path = _notebook(tmp_path, "slow.ipynb", "import time\nwhile True:\n    time.sleep(0.1)")
    result = contest.run_submission(path, timeout=2)
    assert result.verdict == contest.TIME_LIMIT and result.score == 0
    assert result.seconds < 30


def test_run_submission_reports_errors_and_missing_files(tmp_path):
    crash = contest.run_submission(_notebook(tmp_path, "crash.ipynb", "x = 1", "1 / 0"))
    assert crash.verdict == contest.RUNTIME_ERROR and "ZeroDivisionError" in crash.message
    silent = contest.run_submission(_notebook(tmp_path, "silent.ipynb", "x = 1"))
    assert silent.verdict == contest.PRESENTATION_ERROR and TASK.submission_file in silent.message


def test_run_submission_scores_what_the_notebook_saved(tmp_path, synthetic_split):
    source = (
        "import torch\n"
        "from vae_course import contest, models\n"
        "torch.manual_seed(0)\n"
        "model = models.VAE(latent_dim=3, hidden_dims=(8,))\n"
        "contest.save_submission(model)\n"
    )
    result = contest.run_submission(_notebook(tmp_path, "ok.ipynb", source))
    assert result.verdict == contest.OK, result.message
    assert set(result.metrics) == {"public", "private"}
    assert result.parameters == contest.parameter_count(_tiny_vae())
    expected = contest.negative_elbo(_tiny_vae(), synthetic_split["private"], seed=TASK.eval_seed)
    assert result.metrics["private"] == pytest.approx(expected, rel=1e-4)
