"""Toy problems small enough to solve exactly, used to check claims against the truth.

* :func:`single_sample_gradients`: the score-function and reparameterised estimators of
  d/dμ E[z²] (chapter 03), whose means and variances are known in closed form;
* :class:`LinearGaussianToy`: a 1-D latent-variable model with an exact posterior and
  evidence, where the ELBO gap can be computed exactly (chapter 04).

Pictures of them live in :mod:`vae_course.plots` and widgets in :mod:`vae_course.widgets`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from vae_course._checks import finite_number, positive_number

__all__ = ["LinearGaussianToy", "single_sample_gradients"]


def single_sample_gradients(mu: Any, sigma: Any, eps: Tensor) -> dict[str, Tensor]:
    """Single-sample estimates of d/dμ E[f(z)] for f(z) = z², z ~ N(μ, σ²) (exact value 2μ).

    With z = μ + σ·ε for each noise value ε (any shape):

    * score function (REINFORCE): ĝ = f(z) · d/dμ log N(z; μ, σ²) = z² (z − μ) / σ²,
      variance μ⁴/σ² + 14μ² + 15σ²;
    * reparameterisation: ĝ = f'(z) · ∂z/∂μ = 2z, variance 4σ².

    Both are unbiased. Returns ``{"score function": ĝ, "reparameterisation": ĝ}``, each
    shaped like ``eps``. ``mu`` and ``sigma`` are numbers or tensors broadcastable to ``eps``.
    Used in 03_reparameterisation.
    """
    if not isinstance(eps, Tensor):
        raise TypeError(f"eps must be a tensor of standard normal noise, got {type(eps).__name__}")
    z = mu + sigma * eps
    return {"score function": z**2 * (z - mu) / sigma**2, "reparameterisation": 2 * z}


@dataclass(frozen=True)
class LinearGaussianToy:
    """A 1-D latent-variable model where everything is exact: z ~ N(0, 1), x | z ~ N(z, s²),
    and one observation ``x``.

    Then p(x) = N(x; 0, 1 + s²) and the posterior is p(z | x) = N(x / (1 + s²), s² / (1 + s²)).
    For a Gaussian q = N(m, v) the ELBO has the closed form

        ELBO(m, v) = −½ log(2π s²) − ((x − m)² + v) / (2 s²)  −  ½ (m² + v − log v − 1),

    (expected log-likelihood minus KL(q ‖ p(z))), and log p(x) − ELBO(m, v) = KL(q ‖ p(z | x)).
    Used in 04_elbo.
    """

    x: float = 1.5
    s2: float = 0.25

    def __post_init__(self) -> None:
        object.__setattr__(self, "x", finite_number(self.x, "x"))
        object.__setattr__(self, "s2", positive_number(self.s2, "s2"))

    @property
    def posterior_mean(self) -> float:
        """Mean x / (1 + s²) of the exact posterior p(z | x)."""
        return self.x / (1 + self.s2)

    @property
    def posterior_var(self) -> float:
        """Variance s² / (1 + s²) of the exact posterior p(z | x)."""
        return self.s2 / (1 + self.s2)

    @property
    def log_evidence(self) -> float:
        """log p(x) = −½ log(2π (1 + s²)) − x² / (2 (1 + s²)), in nats."""
        total = 1 + self.s2
        return -0.5 * math.log(2 * math.pi * total) - self.x**2 / (2 * total)

    def elbo(self, m: Any, v: Any) -> Tensor:
        """ELBO(m, v) of q = N(m, v) (formula in the class docstring), elementwise over
        tensors (or numbers) m and v > 0 of broadcastable shapes; float64 for numbers."""
        m = torch.as_tensor(m, dtype=torch.float64)
        v = torch.as_tensor(v, dtype=torch.float64)
        if bool((v <= 0).any()):
            raise ValueError("the variance v of q must be positive")
        expected_log_likelihood = -0.5 * math.log(2 * math.pi * self.s2) - (
            (self.x - m) ** 2 + v
        ) / (2 * self.s2)
        kl_to_prior = 0.5 * (m**2 + v - torch.log(v) - 1)
        return expected_log_likelihood - kl_to_prior
