"""Tests of vae_course.divergence: fit stops at a NaN loss and names the likeliest cause."""

from __future__ import annotations

import pytest
import torch
from training_support import SHAPE, fit_quiet, tiny_vae

from vae_course.divergence import TrainingDiverged
from vae_course.models import VAE

pytestmark = pytest.mark.usefixtures("one_thread", "cpu_training")


# ----------------------------------------------------------------------------- NaN guard


class PoisonedVAE(VAE):
    """A VAE whose decoder starts returning NaN after ``healthy_calls`` training calls."""

    def __init__(self, healthy_calls: int, **kwargs):
        super().__init__(**kwargs)
        self.healthy_calls = healthy_calls
        self.calls = 0

    def decode(self, z):
        logits = super().decode(z)
        self.calls += 1
        if self.training and self.calls > self.healthy_calls:
            logits = logits * float("nan")
        return logits


class ExplodingVarianceVAE(VAE):
    """A VAE whose encoder's log-variance blows up (as with a far too large step size)."""

    def encode(self, x):
        mu, log_var = super().encode(x)
        return mu, log_var * 0 + 200.0


class SigmaHeadVAE(VAE):
    """The design chapter 2 argues against: the second head read as sigma, log_var = 2 log sigma."""

    def encode(self, x):
        mu, sigma = super().encode(x)
        return mu, 2 * torch.log(sigma)


def test_guard_names_a_log_var_computed_from_a_negative_sigma(train_data):
    torch.manual_seed(0)
    model = SigmaHeadVAE(latent_dim=3, hidden_dims=(16,), input_shape=SHAPE)
    with pytest.raises(TrainingDiverged, match="log_var contains NaN.*negative or zero sigma"):
        fit_quiet(model, train_data, cache=False)


def test_guard_stops_at_the_poisoned_step_and_names_the_decoder(train_data):
    torch.manual_seed(0)
    model = PoisonedVAE(healthy_calls=2, latent_dim=3, hidden_dims=(16,), input_shape=SHAPE)
    with pytest.raises(TrainingDiverged, match="at step 2.*decoder output is NaN.*log\\(0\\)"):
        fit_quiet(model, train_data, cache=False)


def test_guard_names_an_exploding_log_var(train_data):
    torch.manual_seed(0)
    model = ExplodingVarianceVAE(latent_dim=3, hidden_dims=(16,), input_shape=SHAPE)
    with pytest.raises(TrainingDiverged, match="log_var exploded"):
        fit_quiet(model, train_data, cache=False)


def test_guard_blames_a_huge_learning_rate(train_data):
    with pytest.raises(TrainingDiverged, match="learning rate") as caught:
        fit_quiet(tiny_vae(), train_data, epochs=3, lr=1e8, cache=False)
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, FloatingPointError)


def test_diagnose_names_bad_inputs_and_probabilities_from_the_decoder():
    from types import SimpleNamespace

    from vae_course.divergence import describe_nonfinite, diagnose

    model = tiny_vae()
    x = torch.rand(4, *SHAPE)
    x[0, 0, 0, 0] = float("nan")
    message = str(diagnose(model, x, None, 1e-3, "bernoulli", 3, "NaN"))
    assert "at step 3" in message and "input batch contains NaN" in message
    probabilities = SimpleNamespace(
        logits=torch.rand(4, *SHAPE), mu=torch.zeros(4, 3), log_var=torch.zeros(4, 3)
    )
    message = str(diagnose(model, torch.rand(4, *SHAPE), probabilities, 1e-3, "bernoulli", 0, "x"))
    assert "remove the final sigmoid" in message
    error = diagnose(model, torch.rand(4, *SHAPE), None, 1e-3, "bernoulli", -1, "inf")
    assert isinstance(error, TrainingDiverged) and "while evaluating" in str(error)
    assert describe_nonfinite(torch.tensor(float("nan"))) == "NaN"
    assert "infinite" in describe_nonfinite(torch.tensor(float("inf")))
