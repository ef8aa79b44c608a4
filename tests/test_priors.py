"""A non-Gaussian prior: the sampled KL, and a Gaussian mixture fitted by EM."""

from __future__ import annotations

import math

import pytest
import torch

from vae_course import losses, priors


def _posteriors(b=64, d=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(b, d, generator=g), torch.rand(b, d, generator=g) * 3 - 2


def test_the_sampled_kl_to_the_standard_normal_matches_the_closed_form():
    mu, log_var = _posteriors()
    g = torch.Generator().manual_seed(1)
    sampled = priors.sampled_kl(
        mu.double(), log_var.double(), priors.standard_normal_log_prob, 20000, g
    )
    exact = losses.kl_divergence(mu.double(), log_var.double())
    assert sampled.shape == exact.shape == (64,)
    assert torch.allclose(sampled, exact, rtol=0.03, atol=0.03)


def test_the_sampled_kl_is_zero_at_the_prior():
    zeros = torch.zeros(5, 4, dtype=torch.float64)
    kl = priors.sampled_kl(zeros, zeros, priors.standard_normal_log_prob, 7)
    assert torch.allclose(kl, torch.zeros(5, dtype=torch.float64), atol=1e-12)


def test_diagonal_normal_log_prob_is_the_standard_normal_at_zero_and_one():
    z = torch.randn(10, 3)
    mine = priors.diagonal_normal_log_prob(z, torch.zeros(3), torch.zeros(3))
    assert torch.allclose(mine, priors.standard_normal_log_prob(z))
    reference = torch.distributions.Normal(0.5, 2.0).log_prob(z).sum(-1)
    shifted = priors.diagonal_normal_log_prob(
        z, torch.full((3,), 0.5), torch.full((3,), math.log(4))
    )
    assert torch.allclose(shifted, reference, atol=1e-5)


def _two_clusters(n=3000, seed=0):
    g = torch.Generator().manual_seed(seed)
    left = torch.randn(int(0.3 * n), 2, generator=g) * 0.2 + torch.tensor([-2.0, 0.0])
    right = torch.randn(n - len(left), 2, generator=g) * 0.5 + torch.tensor([2.0, 1.0])
    return torch.cat([left, right])


def test_em_recovers_two_separated_clusters():
    prior = priors.GaussianMixturePrior.fit(_two_clusters(), 2)
    order = prior.means[:, 0].argsort()
    means, weights = prior.means[order], prior.weights[order]
    stds = (0.5 * prior.log_vars[order]).exp()
    assert torch.allclose(
        means, torch.tensor([[-2.0, 0.0], [2.0, 1.0]], dtype=means.dtype), atol=0.06
    )
    assert torch.allclose(weights, torch.tensor([0.3, 0.7], dtype=weights.dtype), atol=0.01)
    assert torch.allclose(stds, torch.tensor([[0.2, 0.2], [0.5, 0.5]], dtype=stds.dtype), atol=0.03)


def test_one_component_is_the_mean_and_variance_of_the_codes():
    codes = _two_clusters()
    prior = priors.GaussianMixturePrior.fit(codes, 1, iterations=3)
    assert torch.allclose(prior.means[0].float(), codes.mean(0), atol=1e-5)
    assert torch.allclose(prior.log_vars[0].exp().float(), codes.var(0, unbiased=False), atol=1e-4)


def test_the_mixture_density_integrates_to_one():
    prior = priors.GaussianMixturePrior.fit(_two_clusters(), 3)
    axis = torch.linspace(-6, 6, 601, dtype=torch.float64)
    grid = torch.stack(torch.meshgrid(axis, axis, indexing="ij"), -1)
    mass = prior.log_prob(grid).exp().sum() * (axis[1] - axis[0]) ** 2
    assert abs(mass.item() - 1.0) < 1e-3


def test_samples_follow_the_mixture():
    prior = priors.GaussianMixturePrior.fit(_two_clusters(), 2)
    z = prior.sample(20000, torch.Generator().manual_seed(3))
    assert z.shape == (20000, 2) and z.dtype == torch.get_default_dtype()
    expected = (prior.weights[:, None] * prior.means).sum(0)
    assert torch.allclose(z.mean(0).double(), expected, atol=0.05)


def test_a_prior_fitted_to_the_codes_costs_fewer_nats_than_the_standard_normal():
    # posteriors concentrated in two clusters away from the origin: N(0, I) pays for the
    # distance to 0 in every example, a mixture fitted to samples of q(z) does not
    centres = _two_clusters(400, seed=1)
    log_var = torch.full_like(centres, math.log(0.05))
    g = torch.Generator().manual_seed(2)
    codes = centres + math.sqrt(0.05) * torch.randn(centres.shape, generator=g)
    mixture = priors.GaussianMixturePrior.fit(codes, 4)
    under_mixture = priors.sampled_kl(centres, log_var, mixture.log_prob, 256, g).mean()
    under_standard = losses.kl_divergence(centres, log_var).mean()
    assert under_mixture < under_standard - 1.0


@pytest.mark.parametrize(
    ("codes", "k", "words"),
    [
        (torch.zeros(5), 2, "(N, d)"),
        (torch.zeros(5, 2), 0, "between 1 and 5"),
        (torch.zeros(5, 2), 6, "between 1 and 5"),
    ],
)
def test_fit_rejects_bad_inputs_with_a_message(codes, k, words):
    with pytest.raises(ValueError, match=words.replace("(", r"\(").replace(")", r"\)")):
        priors.GaussianMixturePrior.fit(codes, k)


def test_sampled_kl_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="both be"):
        priors.sampled_kl(torch.zeros(3, 2), torch.zeros(3), priors.standard_normal_log_prob)
