"""Tests of vae_course.toys: the exact gradient estimators and the linear-Gaussian ELBO toy."""

from __future__ import annotations

import math

import pytest
import torch

from vae_course import losses, plots, toys


def test_single_sample_gradients_are_unbiased_with_the_stated_variances():
    eps = torch.randn(400_000, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    mu, sigma = 0.7, 0.8
    estimates = toys.single_sample_gradients(mu, sigma, eps)
    theory = {
        "score function": mu**4 / sigma**2 + 14 * mu**2 + 15 * sigma**2,
        "reparameterisation": 4 * sigma**2,
    }
    assert set(estimates) == set(theory)
    for name, g in estimates.items():
        se = math.sqrt(theory[name] / eps.numel())
        assert abs(g.mean().item() - 2 * mu) < 5 * se, name
        assert g.var().item() == pytest.approx(theory[name], rel=0.1), name


def test_single_sample_gradients_match_autograd_for_the_reparameterised_estimator():
    eps = torch.randn(7, dtype=torch.float64)
    mu = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
    ((mu + 1.5 * eps) ** 2).sum().backward()
    assert torch.allclose(
        toys.single_sample_gradients(0.3, 1.5, eps)["reparameterisation"].sum(), mu.grad
    )


@pytest.mark.parametrize("sigma", [0.0, -1.0, float("nan")])
def test_gradient_estimates_rejects_a_bad_sigma(sigma):
    with pytest.raises(ValueError, match="sigma"):
        plots.gradient_estimates(sigma=sigma)


def test_toy_gap_equals_the_kl_to_the_exact_posterior():
    toy = toys.LinearGaussianToy(x=1.5, s2=0.25)
    m = torch.tensor([-1.0, 0.0, 0.5, 1.2, 2.0, 3.0], dtype=torch.float64)
    v = torch.tensor([0.05, 1.0, 0.2, 0.2, 2.0, 0.5], dtype=torch.float64)
    gap = toy.log_evidence - toy.elbo(m, v)
    kl = losses.kl_between(
        m[:, None], v.log()[:, None], toy.posterior_mean, math.log(toy.posterior_var)
    )
    assert torch.allclose(gap, kl, atol=1e-10)
    assert bool((gap >= 0).all())
    assert bool((gap[[0, 1, 2, 4, 5]] > 0.1).all())  # all but q = N(1.2, 0.2) = p(z|x)
    at_posterior = toy.elbo(toy.posterior_mean, toy.posterior_var).item()
    assert at_posterior == pytest.approx(toy.log_evidence, abs=1e-12)


def test_toy_log_evidence_matches_numerical_integration():
    toy = toys.LinearGaussianToy(x=-0.7, s2=0.6)
    z = torch.linspace(-12, 12, 200_001, dtype=torch.float64)
    prior = torch.distributions.Normal(0.0, 1.0).log_prob(z)
    likelihood = torch.distributions.Normal(z, math.sqrt(toy.s2)).log_prob(torch.tensor(toy.x))
    integral = torch.trapezoid((prior + likelihood).exp(), z).item()
    assert math.log(integral) == pytest.approx(toy.log_evidence, abs=1e-8)


def test_toy_rejects_bad_parameters():
    with pytest.raises(ValueError, match="s2"):
        toys.LinearGaussianToy(s2=0.0)
    with pytest.raises(ValueError, match="positive"):
        toys.LinearGaussianToy().elbo(0.0, -1.0)
