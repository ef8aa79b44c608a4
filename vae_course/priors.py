"""Priors other than N(0, I): a Gaussian mixture fitted to the codes, and the sampled KL.

With the standard normal prior the KL term of the ELBO has a closed form
(:func:`vae_course.losses.kl_divergence`). Nothing in the ELBO needs that prior; with any
other ``p(z)`` the KL is estimated from reparameterised samples of the encoder's Gaussian:

    KL(q(z|x) ‖ p(z)) ≈ (1/S) Σ_s [log q(z_s | x) − log p(z_s)],   z_s = μ + σ ⊙ ε_s,

an unbiased estimate whose noise shrinks as 1/√S (:func:`sampled_kl`). The prior used here
is a mixture of ``K`` diagonal Gaussians,

    p(z) = Σ_k π_k N(z; m_k, diag(s_k²)),

fitted by expectation-maximisation to codes of the training set
(:meth:`GaussianMixturePrior.fit`): a prior shaped like the *aggregate posterior*
q(z) = (1/N) Σ_n q(z | x_n) instead of a fixed ball. Taught in 02_vae ("the prior is a
choice"), where the same trained encoder and decoder are scored under both priors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

LOG_2PI = math.log(2 * math.pi)


def standard_normal_log_prob(z: Tensor) -> Tensor:
    """log N(z; 0, I) summed over the last dimension: (..., d) -> (...)."""
    return -0.5 * (z.pow(2) + LOG_2PI).sum(-1)


def diagonal_normal_log_prob(z: Tensor, mu: Tensor, log_var: Tensor) -> Tensor:
    """log N(z; μ, diag(exp(log_var))) summed over the last dimension (broadcasting)."""
    return -0.5 * ((z - mu).pow(2) / log_var.exp() + log_var + LOG_2PI).sum(-1)


def sampled_kl(
    mu: Tensor,
    log_var: Tensor,
    log_prior,
    samples: int = 64,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Monte Carlo KL(q(z|x) ‖ p(z)) of each example: (B, d), (B, d) -> (B,).

    ``log_prior`` maps codes (S, B, d) to log p(z) (S, B); ``samples`` is S. For
    ``standard_normal_log_prob`` the estimate agrees with the closed form up to its noise.
    """
    if mu.shape != log_var.shape or mu.dim() != 2:
        raise ValueError(f"mu and log_var must both be (B, d); got {tuple(mu.shape)} and "
                         f"{tuple(log_var.shape)}")  # fmt: skip
    if int(samples) < 1:
        raise ValueError(f"samples must be at least 1, got {samples}")
    eps = torch.randn((int(samples), *mu.shape), generator=generator, dtype=mu.dtype)
    z = mu + (0.5 * log_var).exp() * eps  # (S, B, d)
    log_q = diagonal_normal_log_prob(z, mu, log_var)  # (S, B)
    return (log_q - log_prior(z)).mean(0)


@dataclass(frozen=True)
class GaussianMixturePrior:
    """p(z) = Σ_k π_k N(z; m_k, diag(exp(log_vars_k))): ``weights`` (K,), ``means`` and
    ``log_vars`` (K, d)."""

    weights: Tensor
    means: Tensor
    log_vars: Tensor

    @property
    def components(self) -> int:
        return int(self.weights.shape[0])

    def component_log_probs(self, z: Tensor) -> Tensor:
        """log π_k + log N(z; m_k, s_k²) for every component: (..., d) -> (..., K)."""
        per = diagonal_normal_log_prob(z.unsqueeze(-2), self.means, self.log_vars)
        return per + self.weights.log()

    def log_prob(self, z: Tensor) -> Tensor:
        """log p(z): (..., d) -> (...), a log-sum-exp over the components."""
        return torch.logsumexp(self.component_log_probs(z), dim=-1)

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """``n`` codes drawn from the mixture: (n, d), in torch's default dtype (for a decoder)."""
        which = torch.multinomial(self.weights, int(n), replacement=True, generator=generator)
        eps = torch.randn((int(n), self.means.shape[1]), generator=generator, dtype=torch.float64)
        codes = self.means[which] + (0.5 * self.log_vars[which]).exp() * eps
        return codes.to(torch.get_default_dtype())

    @classmethod
    def fit(
        cls,
        codes: Tensor,
        components: int,
        iterations: int = 200,
        seed: int = 0,
        min_variance: float = 1e-4,
    ) -> GaussianMixturePrior:
        """Maximum-likelihood mixture of ``components`` diagonal Gaussians for ``codes`` (N, d).

        Expectation-maximisation from ``components`` distinct codes chosen at random (seeded):
        the E-step computes each code's responsibilities r_nk ∝ π_k N(z_n; m_k, s_k²), the
        M-step sets π_k = mean_n r_nk, m_k and s_k² to the r-weighted mean and variance
        (floored at ``min_variance`` so that no component shrinks onto one code).
        """
        codes = torch.as_tensor(codes, dtype=torch.float64)
        if codes.dim() != 2 or codes.shape[0] < 1:
            raise ValueError(f"codes must be a (N, d) batch; got shape {tuple(codes.shape)}")
        k = int(components)
        if not 1 <= k <= codes.shape[0]:
            raise ValueError(f"components must be between 1 and {codes.shape[0]}, got {k}")
        g = torch.Generator().manual_seed(seed)
        start = codes[torch.randperm(codes.shape[0], generator=g)[:k]]
        spread = codes.var(0, unbiased=False).clamp_min(min_variance)
        prior = cls(
            torch.full((k,), 1.0 / k, dtype=torch.float64),
            start.clone(),
            spread.log().expand(k, -1).clone(),
        )
        for _ in range(int(iterations)):
            r = torch.softmax(prior.component_log_probs(codes), dim=-1)  # (N, K)
            mass = r.sum(0).clamp_min(1e-12)  # (K,)
            means = (r.T @ codes) / mass[:, None]
            variances = (r.T @ codes.pow(2)) / mass[:, None] - means.pow(2)
            prior = cls(mass / mass.sum(), means, variances.clamp_min(min_variance).log())
        return prior


__all__ = [
    "GaussianMixturePrior",
    "diagonal_normal_log_prob",
    "sampled_kl",
    "standard_normal_log_prob",
]
