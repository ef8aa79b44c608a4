"""Properties of the KL decomposition and the beta-TCVAE objective (Chen et al. 2018)."""

from __future__ import annotations

import math

import pytest
import torch

from vae_course import models, train
from vae_course.kl_decomposition import (
    BetaTCVAE,
    aggregate_posterior_log_density,
    beta_tcvae_kl_term,
    gaussian_log_density,
    kl_decomposition,
    pairwise_gaussian_log_density,
    stratified_log_weights,
    total_correlation,
)
from vae_course.losses import kl_divergence

ESTIMATORS = ("mws", "mss")


def _batch(n: int, d: int, seed: int, mu_scale: float = 1.5, correlated: bool = False):
    """Posteriors N(mu, e^log_var) and one sample z of each; with ``correlated`` every
    dimension's mean copies the first one's, so the aggregate posterior is far from a product."""
    g = torch.Generator().manual_seed(seed)
    mu = torch.randn(n, d, generator=g) * mu_scale
    if correlated:
        mu = mu[:, :1].expand(n, d).clone()
    log_var = torch.rand(n, d, generator=g) * 2 - 2
    z = mu + torch.exp(0.5 * log_var) * torch.randn(n, d, generator=g)
    return z, mu, log_var


@pytest.mark.parametrize("estimator", ESTIMATORS)
@pytest.mark.parametrize("seed", range(3))
def test_the_three_terms_add_up_to_the_one_sample_kl(estimator, seed):
    z, mu, log_var = _batch(64, 5, seed)
    parts = kl_decomposition(z, mu, log_var, dataset_size=10_000, estimator=estimator)
    assert all(t.shape == (64,) for t in parts)
    one_sample_kl = gaussian_log_density(z, mu, log_var).sum(1) - gaussian_log_density(
        z, 0.0, 0.0
    ).sum(1)
    torch.testing.assert_close(parts.total(), one_sample_kl, atol=1e-4, rtol=1e-5)


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_their_batch_mean_is_the_closed_form_kl_within_sampling_error(estimator):
    z, mu, log_var = _batch(4000, 4, seed=3)
    total = kl_decomposition(z, mu, log_var, dataset_size=4000, estimator=estimator).total()
    closed_form = kl_divergence(mu, log_var)
    difference = total - closed_form  # zero-mean noise: E_q[log q - log p] = KL
    standard_error = difference.std() / math.sqrt(len(difference))
    assert abs(float(difference.mean())) < 4 * float(standard_error)
    # and the check can fail: a KL that is 5 % too large is far outside the sampling error
    assert abs(float((total - 1.05 * closed_form).mean())) > 4 * float(standard_error)


def test_total_correlation_is_near_zero_for_a_factorised_aggregate_posterior():
    # independent coordinates everywhere: q(z) = prod_k q(z_k) up to the finite sample
    z, mu, log_var = _batch(2000, 3, seed=4)
    tc = total_correlation(z, mu, log_var, dataset_size=2000, estimator="mss")
    assert abs(float(tc.mean())) < 0.05


def test_total_correlation_is_large_for_a_correlated_aggregate_posterior():
    z, mu, log_var = _batch(2000, 2, seed=5, mu_scale=2.0, correlated=True)
    tc = float(total_correlation(z, mu, log_var, dataset_size=2000, estimator="mss").mean())
    # a Gaussian with correlation rho has TC = -1/2 log(1 - rho^2); here rho is about 0.9
    var_z = z.var(0)
    rho = float(torch.corrcoef(z.T)[0, 1])
    assert rho > 0.85 and bool((var_z > 1).all())
    assert tc > 0.5
    assert tc == pytest.approx(-0.5 * math.log(1 - rho**2), rel=0.25)


def test_minibatch_weighted_sampling_is_the_paper_formula_and_ranks_like_mss():
    z, mu, log_var = _batch(32, 4, seed=6)
    n, b, d = 1000, 32, 4
    loops = torch.empty(b)
    for i in range(b):
        joint = torch.stack([gaussian_log_density(z[i], mu[j], log_var[j]).sum() for j in range(b)])
        marginals = [
            torch.logsumexp(gaussian_log_density(z[i, k], mu[:, k], log_var[:, k]), 0)
            for k in range(d)
        ]
        loops[i] = torch.logsumexp(joint, 0) - sum(marginals) + (d - 1) * math.log(n * b)
    torch.testing.assert_close(total_correlation(z, mu, log_var, n, "mws"), loops)
    for estimator in ESTIMATORS:
        independent = total_correlation(*_batch(500, 3, 7), 500, estimator).mean()
        correlated = total_correlation(*_batch(500, 3, 7, correlated=True), 500, estimator).mean()
        assert correlated > independent + 0.5


def test_pairwise_density_rows_are_samples_and_columns_posteriors():
    z, mu, log_var = _batch(5, 3, seed=8)
    pairwise = pairwise_gaussian_log_density(z, mu, log_var)
    assert pairwise.shape == (5, 5, 3)
    torch.testing.assert_close(pairwise[1, 3], gaussian_log_density(z[1], mu[3], log_var[3]))
    torch.testing.assert_close(
        torch.diagonal(pairwise, dim1=0, dim2=1).T, gaussian_log_density(z, mu, log_var)
    )


@pytest.mark.parametrize(("batch", "n"), [(2, 2), (8, 8), (8, 1000), (128, 60_000)])
def test_stratified_weights_are_a_distribution_per_row(batch, n):
    weights = stratified_log_weights(batch, n).double().exp()
    torch.testing.assert_close(weights.sum(1), torch.ones(batch, dtype=torch.float64))
    torch.testing.assert_close(torch.diagonal(weights), torch.full((batch,), 1 / n).double())
    stratum = (n - batch + 1) / (n * (batch - 1))
    assert int(torch.isclose(weights, torch.tensor(stratum).double()).sum(1).min()) >= 1


def test_with_the_whole_data_set_as_the_batch_mss_is_the_exact_mixture():
    z, mu, log_var = _batch(6, 2, seed=9)
    log_qz, _ = aggregate_posterior_log_density(z, mu, log_var, 6, "mss")
    exact = torch.logsumexp(pairwise_gaussian_log_density(z, mu, log_var).sum(2), 1) - math.log(6)
    assert float((log_qz - exact).abs().max()) < 0.25  # the one stratum weight is 1/(N(N-1))


def test_beta_tcvae_term_with_unit_weights_is_the_kl_estimate_and_has_gradients():
    z, mu, log_var = _batch(64, 4, seed=10)
    mu.requires_grad_(True)
    term = beta_tcvae_kl_term(z, mu, log_var, 1000, alpha=1.0, beta=1.0, gamma=1.0)
    one_sample_kl = gaussian_log_density(z, mu, log_var).sum(1) - gaussian_log_density(
        z, 0.0, 0.0
    ).sum(1)
    torch.testing.assert_close(term, one_sample_kl.mean(), atol=1e-4, rtol=1e-5)
    term.backward()
    assert mu.grad is not None and bool(torch.isfinite(mu.grad).all())
    heavier = beta_tcvae_kl_term(z, mu, log_var, 1000, beta=6.0)
    tc = total_correlation(z, mu, log_var, 1000, "mss").mean()
    torch.testing.assert_close(heavier - term, 5.0 * tc, atol=1e-3, rtol=1e-4)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda z, m, v: total_correlation(z, m[:, :2], v, 100), "shaped"),
        (lambda z, m, v: total_correlation(z, m, v, 3), "smaller than the batch"),
        (lambda z, m, v: total_correlation(z, m, v, 100, "exact"), "estimator"),
        (lambda z, m, v: total_correlation(z[0], m[0], v[0], 100), "shaped"),
    ],
)
def test_bad_arguments_get_clear_messages(call, message):
    with pytest.raises(ValueError, match=message):
        call(*_batch(8, 3, seed=11))


def test_fit_trains_the_beta_tcvae_objective():
    torch.manual_seed(0)
    model = models.BurgessVAE(latent_dim=3, input_shape=(1, 16, 16), channels=4, hidden_dim=16)
    images = (torch.rand(96, 1, 16, 16) > 0.7).float()
    objective = BetaTCVAE(dataset_size=96, beta=6.0)
    history = train.fit(model, images, epochs=2, batch_size=32, beta=objective, progress=False)
    assert history.last["beta"] == 6.0
    assert math.isfinite(history.last["train_loss"]) and history.last["train_kl"] > 0
    assert "BetaTCVAE(beta=6.0" in history.info["beta"]
    with pytest.raises(ValueError, match="free_bits"):
        train.fit(model, images, epochs=1, beta=objective, free_bits=0.5, progress=False)
    with pytest.raises(TypeError, match="posterior_kl_term"):
        objective.kl_term(torch.ones(3), 0)
    with pytest.raises(ValueError, match="dataset_size"):
        BetaTCVAE(dataset_size=0)
