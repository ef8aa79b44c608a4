"""Properties of the VAE objective: KL, likelihoods, ELBO, IWAE."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch.distributions import Normal

from vae_course.losses import (
    ElboTerms,
    bernoulli_log_likelihood,
    elbo,
    gaussian_log_likelihood,
    iwae_bound,
    iwae_from_log_weights,
    kl_between,
    kl_divergence,
    kl_divergence_per_dim,
    negative_elbo,
    negative_elbo_loss,
    reconstruction_log_likelihood,
    vae_loss,
)
from vae_course.models import VAE, Autoencoder


def _posterior(batch: int = 16, d: int = 5, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    mu = torch.randn(batch, d, generator=g) * 2
    log_var = torch.rand(batch, d, generator=g) * 6 - 3
    return mu, log_var


# ----------------------------------------------------------------------------- KL


@pytest.mark.parametrize("seed", range(5))
def test_kl_is_non_negative_and_per_example(seed):
    mu, log_var = _posterior(seed=seed)
    kl = kl_divergence(mu, log_var)
    assert kl.shape == (mu.shape[0],)
    assert (kl >= 0).all()


def test_kl_is_exactly_zero_at_the_prior():
    zeros = torch.zeros(4, 7)
    assert torch.equal(kl_divergence(zeros, zeros), torch.zeros(4))
    # ...and positive as soon as either parameter moves away from it
    assert (kl_divergence(zeros + 0.1, zeros) > 0).all()
    assert (kl_divergence(zeros, zeros - 0.1) > 0).all()


def test_kl_per_dim_sums_to_kl():
    mu, log_var = _posterior()
    per_dim = kl_divergence_per_dim(mu, log_var)
    assert per_dim.shape == mu.shape
    torch.testing.assert_close(per_dim.sum(dim=1), kl_divergence(mu, log_var))


def test_kl_matches_a_monte_carlo_estimate():
    mu, log_var = _posterior(batch=4, d=3, seed=1)
    q = Normal(mu, torch.exp(0.5 * log_var))
    p = Normal(torch.zeros_like(mu), torch.ones_like(mu))
    torch.manual_seed(0)
    z = q.sample((400_000,))  # (S, B, d)
    mc = (q.log_prob(z) - p.log_prob(z)).sum(dim=-1).mean(dim=0)
    closed = kl_divergence(mu, log_var)
    assert torch.allclose(closed, mc, rtol=0.01, atol=0.01)


def test_kl_agrees_with_torch_distributions():
    mu, log_var = _posterior(seed=2)
    q = Normal(mu, torch.exp(0.5 * log_var))
    p = Normal(torch.zeros_like(mu), torch.ones_like(mu))
    expected = torch.distributions.kl_divergence(q, p).sum(dim=1)
    torch.testing.assert_close(kl_divergence(mu, log_var), expected)


def test_kl_between_reduces_to_kl_divergence_for_the_standard_prior():
    mu, log_var = _posterior(seed=3)
    torch.testing.assert_close(kl_between(mu, log_var, 0.0, 0.0), kl_divergence(mu, log_var))
    zeros = torch.zeros_like(mu)
    torch.testing.assert_close(kl_between(mu, log_var, zeros, zeros), kl_divergence(mu, log_var))


def test_kl_between_a_distribution_and_itself_is_zero():
    mu, log_var = _posterior(seed=4)
    assert torch.equal(kl_between(mu, log_var, mu, log_var), torch.zeros(mu.shape[0]))


def test_kl_between_matches_torch_distributions_and_is_asymmetric():
    mu_q, lv_q = _posterior(seed=5)
    mu_p, lv_p = _posterior(seed=6)
    q = Normal(mu_q, torch.exp(0.5 * lv_q))
    p = Normal(mu_p, torch.exp(0.5 * lv_p))
    ours = kl_between(mu_q, lv_q, mu_p, lv_p)
    torch.testing.assert_close(ours, torch.distributions.kl_divergence(q, p).sum(dim=1))
    assert (ours >= 0).all()
    assert not torch.allclose(ours, kl_between(mu_p, lv_p, mu_q, lv_q))


def test_kl_between_broadcasts_a_learned_prior():
    mu, log_var = _posterior(d=4)
    prior_mu, prior_lv = torch.randn(4), torch.randn(4)
    expected = kl_between(mu, log_var, prior_mu.expand_as(mu), prior_lv.expand_as(mu))
    torch.testing.assert_close(kl_between(mu, log_var, prior_mu, prior_lv), expected)


def test_kl_rejects_bad_shapes_with_clear_messages():
    with pytest.raises(ValueError, match="same shape"):
        kl_divergence(torch.zeros(3, 2), torch.zeros(3, 4))
    with pytest.raises(ValueError, match=r"\(B, d\)"):
        kl_divergence(torch.zeros(5), torch.zeros(5))
    with pytest.raises(TypeError):
        kl_divergence([0.0], [0.0])
    with pytest.raises(ValueError, match="broadcast"):
        kl_between(torch.zeros(3, 2), torch.zeros(3, 2), torch.zeros(5), 0.0)


# ----------------------------------------------------------------------------- likelihoods


def test_bernoulli_log_likelihood_is_minus_summed_bce():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(6, 1, 28, 28, generator=g) * 3
    x = torch.rand(6, 1, 28, 28, generator=g)
    ours = bernoulli_log_likelihood(logits, x)
    assert ours.shape == (6,)
    probs = torch.sigmoid(logits)
    bce = torch.stack([F.binary_cross_entropy(probs[i], x[i], reduction="sum") for i in range(6)])
    torch.testing.assert_close(ours, -bce, rtol=1e-4, atol=1e-3)
    by_hand = (x * F.logsigmoid(logits) + (1 - x) * F.logsigmoid(-logits)).sum(dim=(1, 2, 3))
    torch.testing.assert_close(ours, by_hand, rtol=1e-5, atol=1e-3)
    # flattened targets are accepted and give the same value
    torch.testing.assert_close(bernoulli_log_likelihood(logits, x.reshape(6, -1)), ours)
    assert (ours <= 0).all()


def test_bernoulli_log_likelihood_is_finite_for_extreme_logits():
    logits = torch.tensor([[200.0, -200.0]])
    x = torch.tensor([[0.0, 1.0]])
    value = bernoulli_log_likelihood(logits, x)
    assert torch.isfinite(value).all()
    torch.testing.assert_close(value, torch.tensor([-400.0]))


@pytest.mark.parametrize("log_sigma", [0.0, -1.3, 0.7])
def test_gaussian_log_likelihood_matches_normal_log_prob_for_784_pixels(log_sigma):
    g = torch.Generator().manual_seed(1)
    mean = torch.rand(5, 1, 28, 28, generator=g)
    x = torch.rand(5, 1, 28, 28, generator=g)
    expected = Normal(mean, math.exp(log_sigma)).log_prob(x).sum(dim=(1, 2, 3))
    torch.testing.assert_close(gaussian_log_likelihood(mean, x, log_sigma), expected)
    # the constant -D/2 log(2 pi) is included: at x = mean with sigma = 1 only it remains
    at_mean = gaussian_log_likelihood(mean, mean, 0.0)
    torch.testing.assert_close(at_mean, torch.full((5,), -784 / 2 * math.log(2 * math.pi)))


def test_gaussian_log_likelihood_learned_sigma_per_pixel_gets_gradients():
    g = torch.Generator().manual_seed(2)
    mean = torch.rand(3, 1, 4, 4, generator=g)
    x = torch.rand(3, 1, 4, 4, generator=g)
    log_sigma = torch.randn(1, 4, 4, generator=g).requires_grad_()
    value = gaussian_log_likelihood(mean, x, log_sigma)
    expected = Normal(mean, log_sigma.exp()).log_prob(x).sum(dim=(1, 2, 3))
    torch.testing.assert_close(value, expected)
    value.sum().backward()
    assert log_sigma.grad is not None and torch.isfinite(log_sigma.grad).all()
    with pytest.raises(ValueError, match="broadcast"):
        gaussian_log_likelihood(mean, x, torch.zeros(7))


def test_likelihoods_reject_mismatched_inputs():
    with pytest.raises(ValueError, match="batch"):
        bernoulli_log_likelihood(torch.zeros(4, 784), torch.zeros(3, 784))
    with pytest.raises(ValueError, match="pixels"):
        bernoulli_log_likelihood(torch.zeros(4, 784), torch.zeros(4, 100))
    with pytest.raises(ValueError, match="likelihood"):
        reconstruction_log_likelihood(torch.zeros(2, 4), torch.zeros(2, 4), likelihood="poisson")


# ----------------------------------------------------------------------------- ELBO


def test_elbo_terms_are_consistent():
    g = torch.Generator().manual_seed(3)
    x = torch.rand(8, 784, generator=g)
    logits = torch.randn(8, 1, 28, 28, generator=g)
    mu, log_var = _posterior(batch=8, d=20)
    terms = elbo(x, logits, mu, log_var)
    assert isinstance(terms, ElboTerms)
    assert all(t.shape == (8,) for t in terms)
    torch.testing.assert_close(terms.reconstruction, bernoulli_log_likelihood(logits, x))
    torch.testing.assert_close(terms.kl, kl_divergence(mu, log_var))
    torch.testing.assert_close(terms.elbo, terms.reconstruction - terms.kl)
    for beta in (0.0, 1.0, 4.0):
        expected = (-terms.reconstruction + beta * terms.kl).mean()
        torch.testing.assert_close(terms.loss(beta), expected)
    gaussian = elbo(x, logits, mu, log_var, likelihood="gaussian", log_sigma=-1.0)
    expected_rec = gaussian_log_likelihood(torch.sigmoid(logits), x, -1.0)
    torch.testing.assert_close(gaussian.reconstruction, expected_rec)


def test_elbo_rejects_mismatched_batches():
    with pytest.raises(ValueError, match="batch"):
        elbo(torch.rand(4, 784), torch.zeros(4, 784), torch.zeros(3, 2), torch.zeros(3, 2))


def test_vae_loss_matches_the_drill_contract():
    g = torch.Generator().manual_seed(4)
    x = torch.rand(8, 1, 28, 28, generator=g)
    logits = torch.randn(8, 1, 28, 28, generator=g)
    mu, log_var = _posterior(batch=8, d=10)
    loss, rec, kl = vae_loss(logits, x, mu, log_var)
    bce = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / 8
    torch.testing.assert_close(rec, bce)
    torch.testing.assert_close(kl, kl_divergence(mu, log_var).mean())
    torch.testing.assert_close(loss, rec + kl)
    torch.testing.assert_close(vae_loss(logits, x, mu, log_var, beta=3.0)[0], rec + 3.0 * kl)


def test_negative_elbo_loss_runs_a_model_and_backpropagates():
    torch.manual_seed(0)
    model = VAE(latent_dim=3, hidden_dims=(16,), input_shape=(1, 6, 6))
    x = torch.rand(5, 1, 6, 6)
    loss, terms = negative_elbo_loss(model, x, beta=2.0)
    assert loss.dim() == 0
    torch.testing.assert_close(loss, terms.loss(2.0))
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())
    with pytest.raises(TypeError, match="not a VAE"):
        negative_elbo_loss(Autoencoder(latent_dim=2, input_shape=(1, 6, 6)), x)


# ----------------------------------------------------------------------------- IWAE


def test_negative_elbo_averages_single_sample_elbos_and_is_seeded():
    torch.manual_seed(0)
    model = VAE(latent_dim=3, hidden_dims=(16,), input_shape=(1, 4, 4))
    x = torch.rand(6, 1, 4, 4)
    one = negative_elbo(model, x, generator=torch.Generator().manual_seed(1))
    assert one.shape == (6,) and not one.requires_grad
    # one sample: -ELBO of the z that mu + sigma * eps gives for the generator's eps
    mu, log_var = model.encode(x)
    eps = torch.randn(mu.shape, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        z = mu + torch.exp(0.5 * log_var) * eps
        expected = -elbo(x, model.decode(z), mu, log_var).elbo
    torch.testing.assert_close(one, expected)
    four = negative_elbo(model, x, samples=4, generator=torch.Generator().manual_seed(1))
    again = negative_elbo(model, x, samples=4, generator=torch.Generator().manual_seed(1))
    assert torch.equal(four, again) and not torch.equal(four, one)
    # the KL part is in closed form, so every draw is at least the reconstruction part's floor
    assert bool((four >= kl_divergence(mu, log_var).detach() - 1e-4).all())
    with pytest.raises(TypeError, match="VAE"):
        negative_elbo(Autoencoder(latent_dim=2, input_shape=(1, 4, 4)), x)
    with pytest.raises(ValueError, match="samples"):
        negative_elbo(model, x, samples=0)


def test_iwae_from_log_weights_formula():
    g = torch.Generator().manual_seed(5)
    log_w = torch.randn(7, 3, generator=g) * 5
    expected = torch.log(log_w.double().exp().mean(dim=0)).float()
    torch.testing.assert_close(iwae_from_log_weights(log_w), expected)
    # a single sample is the plain ELBO estimate, and equal weights give that weight
    torch.testing.assert_close(iwae_from_log_weights(log_w[:1]), log_w[0])
    torch.testing.assert_close(
        iwae_from_log_weights(torch.full((9, 2), -3.0)), torch.full((2,), -3.0)
    )
    with pytest.raises(ValueError, match=r"\(K, B\)"):
        iwae_from_log_weights(torch.zeros(4))


def _bars(n: int, size: int = 8, seed: int = 0) -> torch.Tensor:
    """Binary images made of random horizontal and vertical bars, with a little pixel noise."""
    g = torch.Generator().manual_seed(seed)
    rows = (torch.rand(n, size, 1, generator=g) < 0.25).float()
    cols = (torch.rand(n, 1, size, generator=g) < 0.25).float()
    images = torch.maximum(rows.expand(n, size, size), cols.expand(n, size, size))
    flip = (torch.rand(n, size, size, generator=g) < 0.02).float()
    return (images + flip).remainder(2).unsqueeze(1)


@pytest.fixture(scope="module")
def trained_vae():
    torch.manual_seed(0)
    data = _bars(1024)
    model = VAE(latent_dim=4, hidden_dims=(64,), input_shape=(1, 8, 8))
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    g = torch.Generator().manual_seed(1)
    for _ in range(300):
        batch = data[torch.randint(0, len(data), (128,), generator=g)]
        loss, _ = negative_elbo_loss(model, batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    return model, _bars(512, seed=99)


def test_iwae_bound_is_at_least_the_elbo_and_grows_with_k(trained_vae):
    model, x = trained_vae
    g = torch.Generator().manual_seed(2)
    with torch.no_grad():
        # the ELBO with its closed-form KL, averaged over many reparameterised samples
        elbo_mean = torch.stack(
            [negative_elbo_loss(model, x)[1].elbo.mean() for _ in range(50)]
        ).mean()
        bounds = {k: iwae_bound(model, x, k, generator=g).mean() for k in (1, 10, 100)}
    for k, value in bounds.items():
        assert torch.isfinite(value), k
    assert bounds[10] > elbo_mean
    assert bounds[100] > bounds[10] > bounds[1]
    # k = 1 is an unbiased ELBO estimate: close to the closed-form-KL average
    assert abs(float(bounds[1] - elbo_mean)) < 0.05 * abs(float(elbo_mean))


def test_iwae_bound_chunking_does_not_change_the_result(trained_vae):
    model, x = trained_vae
    # the noise comes from one generator stream drawn in order, so chunks see the same eps
    with torch.no_grad():
        whole = iwae_bound(model, x, 12, chunk_size=12, generator=torch.Generator().manual_seed(3))
        chunked = iwae_bound(model, x, 12, chunk_size=5, generator=torch.Generator().manual_seed(3))
    assert whole.shape == (x.shape[0],)
    torch.testing.assert_close(whole, chunked)


def test_iwae_bound_rejects_bad_arguments(trained_vae):
    model, x = trained_vae
    for bad_k in (0, -1, 2.5):
        with pytest.raises(ValueError, match="k"):
            iwae_bound(model, x, bad_k)
    with pytest.raises(TypeError, match="VAE"):
        iwae_bound(Autoencoder(latent_dim=2, input_shape=(1, 8, 8)), x, 3)
