"""The course's solutions of the olympiad coding items: what their drills compare against.

Each function is the reference of one coding item of the chapter 09 pool
(:mod:`vae_course.drills.catalogue.ch09_code`); where the package already has the function
the drill names it directly ("say it once": ``vae_course.losses:kl_between``). Only the
judge imports this module; the grader's sandbox, where graded answers run, does not contain
it (:mod:`vae_course.drills.guard`).

Shapes: ``B`` examples, ``d`` latent dimensions, images ``(B, C, H, W)``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from vae_course.losses import bernoulli_log_likelihood, gaussian_log_likelihood, kl_divergence


def bernoulli_nll(logits: Tensor, x: Tensor) -> Tensor:
    """−log p(x|z) per example, (B,): BCE with logits summed over every pixel."""
    return -bernoulli_log_likelihood(logits, x)


def gaussian_nll(x_hat: Tensor, x: Tensor, log_sigma: Tensor) -> Tensor:
    """−log N(x; x̂, σ² I) per example, (B,), with one scalar log σ:
    Σ_i [log σ + ½ log 2π + (x_i − x̂_i)²/(2σ²)]."""
    return -gaussian_log_likelihood(x_hat, x, log_sigma)


def bits_per_dim(nll: Tensor, num_dims: int) -> Tensor:
    """nats per example (B,) → bits per dimension (B,): nll / (num_dims · ln 2)."""
    return nll / (num_dims * math.log(2.0))


def linear_warmup(step: int, warmup_steps: int, beta_max: float = 1.0) -> float:
    """β = beta_max · min(1, step / warmup_steps)."""
    return float(beta_max * min(1.0, step / warmup_steps))


def sigmoid_beta(step: int, midpoint: float, steepness: float, beta_max: float = 1.0) -> float:
    """β = beta_max / (1 + exp(−steepness · (step − midpoint)))."""
    return float(beta_max / (1.0 + math.exp(-steepness * (step - midpoint))))


def capacity_penalty(kl: Tensor, step: int, c_max: float, total_steps: int, gamma: float) -> Tensor:
    """γ · |mean_b KL_b − C(step)| with C(step) = min(c_max, c_max · step / total_steps);
    ``kl`` is (B,), the result a scalar tensor (Burgess et al. 2018)."""
    capacity = min(c_max, c_max * step / total_steps)
    return gamma * (kl.mean() - capacity).abs()


def kl_per_dimension(mu: Tensor, log_var: Tensor) -> Tensor:
    """The batch-mean KL of each latent dimension, (d,): mean_b ½(μ² + σ² − log σ² − 1)."""
    return (0.5 * (mu.pow(2) + log_var.exp() - log_var - 1)).mean(dim=0)


def interpolate(z0: Tensor, z1: Tensor, steps: int) -> Tensor:
    """``steps`` points on the segment from z0 (d,) to z1 (d,), both ends included: (steps, d)."""
    t = torch.linspace(0.0, 1.0, steps, dtype=z0.dtype, device=z0.device).unsqueeze(1)
    return (1 - t) * z0 + t * z1


def roc_auc(scores: Tensor, labels: Tensor) -> float:
    """P(score of a random positive > score of a random negative), ties counting ½."""
    positive, negative = scores[labels.bool()], scores[~labels.bool()]
    greater = (positive.unsqueeze(1) > negative.unsqueeze(0)).double()
    ties = (positive.unsqueeze(1) == negative.unsqueeze(0)).double()
    return float((greater + 0.5 * ties).mean())


def reparameterize_with(mu: Tensor, log_var: Tensor, eps: Tensor) -> Tensor:
    """z = μ + exp(½ log σ²) ⊙ ε for a given ε, (B, d)."""
    return mu + torch.exp(0.5 * log_var) * eps


def elbo_terms(logits: Tensor, x: Tensor, mu: Tensor, log_var: Tensor) -> tuple[Tensor, Tensor]:
    """(reconstruction −log p(x|z) per example (B,), KL per example (B,))."""
    return bernoulli_nll(logits, x), kl_divergence(mu, log_var)


def kl_monte_carlo(mu: Tensor, log_var: Tensor, eps: Tensor) -> Tensor:
    """One-sample estimate log q(z|x) − log p(z) at z = μ + σε, summed over dims, (B,):
    Σ_j [−½ε_j² − ½ log σ_j² + ½ z_j²]."""
    z = reparameterize_with(mu, log_var, eps)
    return (-0.5 * eps.pow(2) - 0.5 * log_var + 0.5 * z.pow(2)).sum(dim=1)


def attribute_vector(mu: Tensor, has_attribute: Tensor) -> Tensor:
    """mean μ of the examples with the attribute − mean μ of those without, (d,)."""
    mask = has_attribute.bool()
    return mu[mask].mean(dim=0) - mu[~mask].mean(dim=0)


# ----------------------------------------------------------------- problem 1 (chapter 10)


class ProblemEncoder(torch.nn.Module):
    """``ProblemEncoder(latent_dim)``: x (B, 1, 28, 28) -> (mu, log_var), each (B, latent_dim)."""

    def __init__(self, latent_dim: int, hidden: int = 256) -> None:
        super().__init__()
        self.body = torch.nn.Sequential(
            torch.nn.Flatten(), torch.nn.Linear(784, hidden), torch.nn.ReLU()
        )
        self.mu = torch.nn.Linear(hidden, latent_dim)
        self.log_var = torch.nn.Linear(hidden, latent_dim)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = self.body(x)
        return self.mu(h), self.log_var(h)


class ProblemDecoder(torch.nn.Module):
    """``ProblemDecoder(latent_dim)``: z (B, latent_dim) -> logits (B, 1, 28, 28)."""

    def __init__(self, latent_dim: int, hidden: int = 256) -> None:
        super().__init__()
        self.net = torch.nn.Sequential(
            torch.nn.Linear(latent_dim, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 784)
        )

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z).view(-1, 1, 28, 28)


class ProblemVAE(torch.nn.Module):
    """``ProblemVAE(latent_dim)``: forward(x) -> (logits, mu, log_var), z = mu + σ ⊙ ε."""

    def __init__(self, latent_dim: int) -> None:
        super().__init__()
        self.encoder = ProblemEncoder(latent_dim)
        self.decoder = ProblemDecoder(latent_dim)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        mu, log_var = self.encoder(x)
        z = mu + torch.exp(0.5 * log_var) * torch.randn_like(mu)
        return self.decoder(z), mu, log_var


def vae_train_step(model: torch.nn.Module, optimizer: torch.optim.Optimizer, x: Tensor) -> float:
    """One step on the negative ELBO, mean_b(BCE summed over pixels + KL summed over dims),
    for ``model(x) -> (logits, mu, log_var)``; returns the loss before the step, a float."""
    optimizer.zero_grad()
    logits, mu, log_var = model(x)
    loss = (bernoulli_nll(logits, x) + kl_divergence(mu, log_var)).mean()
    loss.backward()
    optimizer.step()
    return loss.item()


def beta_train_step(
    model: torch.nn.Module, optimizer: torch.optim.Optimizer, x: Tensor, beta: float
) -> float:
    """:func:`vae_train_step` with the KL weighted by ``beta``."""
    optimizer.zero_grad()
    logits, mu, log_var = model(x)
    loss = (bernoulli_nll(logits, x) + beta * kl_divergence(mu, log_var)).mean()
    loss.backward()
    optimizer.step()
    return loss.item()


def gaussian_total_correlation(cov: Tensor) -> float:
    """TC of N(0, Σ): ½(Σ_j log Σ_jj − log det Σ), in nats (0 for a diagonal Σ)."""
    return float(0.5 * (torch.log(torch.diagonal(cov)).sum() - torch.logdet(cov)))


__all__ = [
    "ProblemDecoder",
    "ProblemEncoder",
    "ProblemVAE",
    "attribute_vector",
    "beta_train_step",
    "bernoulli_nll",
    "bits_per_dim",
    "capacity_penalty",
    "elbo_terms",
    "gaussian_nll",
    "gaussian_total_correlation",
    "interpolate",
    "kl_monte_carlo",
    "kl_per_dimension",
    "linear_warmup",
    "reparameterize_with",
    "roc_auc",
    "sigmoid_beta",
    "vae_train_step",
]
