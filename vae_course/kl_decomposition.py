"""The KL term split in three, and the beta-TCVAE objective (Chen et al. 2018).

Averaged over the data, the KL term of the ELBO is (Chen et al., "Isolating Sources of
Disentanglement in VAEs"), with q(z) = 1/N sum_n q(z|x_n) the aggregate posterior of the N
training images and q(z_k) its marginals,

    E_x KL(q(z|x) || p(z)) = I_q(x; z)                       index-code mutual information
                           + KL(q(z) || prod_k q(z_k))        total correlation (TC)
                           + sum_k KL(q(z_k) || p(z_k))       dimension-wise KL.

At the sample z_i ~ q(z|x_i) of each example of a minibatch the three terms are

    MI_i = log q(z_i|x_i) - log q(z_i),   TC_i = log q(z_i) - sum_k log q(z_ik),
    dimKL_i = sum_k log q(z_ik) - log p(z_i),

which add up to log q(z_i|x_i) - log p(z_i), the one-sample estimate of KL_i, whatever
estimate of q(z) is used. q(z_i) is estimated from the B posteriors of the minibatch
(:func:`aggregate_posterior_log_density`). beta-TCVAE trains on
reconstruction + alpha MI + beta TC + gamma dimKL: :class:`BetaTCVAE`, passed to
:func:`vae_course.train.fit` as ``beta``. All quantities are in nats.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import Tensor

from vae_course import schedules
from vae_course._checks import finite_number, positive_int

ESTIMATORS = ("mws", "mss")
_LOG_2PI = math.log(2.0 * math.pi)


class KLDecomposition(NamedTuple):
    """The three parts of each example's KL, all (B,), in nats, at z ~ q(z|x).

    ``mutual_information`` = log q(z|x) - log q(z); ``total_correlation`` = log q(z) -
    sum_k log q(z_k); ``dimension_wise_kl`` = sum_k log q(z_k) - log p(z). :meth:`total`
    is their sum, log q(z|x) - log p(z), whose expectation is the closed-form KL.
    """

    mutual_information: Tensor
    total_correlation: Tensor
    dimension_wise_kl: Tensor

    def total(self) -> Tensor:
        """MI + TC + dimension-wise KL (B,) = log q(z|x) - log p(z)."""
        return self.mutual_information + self.total_correlation + self.dimension_wise_kl


def _batch_of_codes(z: object, mu: object, log_var: object) -> tuple[Tensor, Tensor, Tensor]:
    tensors = (z, mu, log_var)
    if not all(isinstance(t, Tensor) for t in tensors):
        raise TypeError("z, mu and log_var must be torch.Tensors, each shaped (B, d)")
    shapes = [tuple(t.shape) for t in tensors]  # type: ignore[union-attr]
    if len(set(shapes)) != 1 or len(shapes[0]) != 2:
        raise ValueError(
            f"z, mu and log_var must all be shaped (B, d), got {', '.join(map(str, shapes))}"
        )
    return tensors  # type: ignore[return-value]


def _dataset_size(dataset_size: object, batch_size: int) -> int:
    n = positive_int(dataset_size, "dataset_size (N, the number of training images)")
    if n < batch_size:
        raise ValueError(
            f"dataset_size N = {n} is smaller than the batch ({batch_size}); N is the size of "
            "the whole training set the batch was drawn from"
        )
    return n


def gaussian_log_density(z: Tensor, mu: Tensor | float, log_var: Tensor | float) -> Tensor:
    """log N(z; mu, exp(log_var)) element by element (broadcasting), no reduction:
    -1/2 [log(2 pi) + log_var + (z - mu)^2 exp(-log_var)]. ``mu = log_var = 0``: the prior."""
    mu = torch.as_tensor(mu, dtype=z.dtype, device=z.device)
    log_var = torch.as_tensor(log_var, dtype=z.dtype, device=z.device)
    return -0.5 * (_LOG_2PI + log_var + (z - mu).pow(2) * torch.exp(-log_var))


def pairwise_gaussian_log_density(z: Tensor, mu: Tensor, log_var: Tensor) -> Tensor:
    """Every sample under every posterior of the batch: (B, d) x3 -> L (B, B, d).

    L[i, j, k] = log N(z_ik; mu_jk, exp(log_var_jk)) = log q(z_ik | x_j): row i is sample i,
    column j the posterior of example j; the diagonal is each sample under its own posterior.
    """
    z, mu, log_var = _batch_of_codes(z, mu, log_var)
    return gaussian_log_density(z.unsqueeze(1), mu.unsqueeze(0), log_var.unsqueeze(0))


def stratified_log_weights(batch_size: int, dataset_size: int) -> Tensor:
    """log W (B, B): the importance weights of minibatch stratified sampling (Chen et al.).

    q(z_i) = 1/N sum_n q(z_i|x_n) is estimated as sum_j W_ij q(z_i|x_j) with M = B - 1:
    W_ii = 1/N (the example that drew z_i), W_i,(i+1 mod B) = (N - M)/(N M) (one stratum
    weight) and 1/M for the other M - 1; every row sums to 1. (The paper's reference code
    puts two stratum weights in row B-2 and none in row B-1.) B = 1 gives [[0.]].
    """
    b = positive_int(batch_size, "batch_size")
    n = _dataset_size(dataset_size, b)
    if b == 1:
        return torch.zeros(1, 1)
    m = b - 1
    weights = torch.full((b, b), 1.0 / m, dtype=torch.float64)
    rows = torch.arange(b)
    weights[rows, rows] = 1.0 / n
    weights[rows, (rows + 1) % b] = (n - m) / (n * m)
    return weights.log().float()


def aggregate_posterior_log_density(
    z: Tensor, mu: Tensor, log_var: Tensor, dataset_size: int, estimator: str = "mws"
) -> tuple[Tensor, Tensor]:
    """Minibatch estimates of log q(z_i) (B,) and of the marginals log q(z_ik) (B, d).

    With L from :func:`pairwise_gaussian_log_density` and N = ``dataset_size``:

    * ``"mws"``, minibatch weighted sampling (Chen et al.'s main estimator):
      log q(z_i) = logsumexp_j sum_k L_ijk - log(N B), log q(z_ik) = logsumexp_j L_ijk -
      log(N B). Biased low by a constant between log N and log(N B) per log density, so the
      TC is biased by up to (d - 1) log(N B); a constant does not change the gradients.
    * ``"mss"``, minibatch stratified sampling: log q(z_i) = logsumexp_j (log W_ij +
      sum_k L_ijk) with W of :func:`stratified_log_weights`, likewise per dimension; nearly
      unbiased when the batch covers q(z) well (many examples, few dimensions).
    """
    if estimator not in ESTIMATORS:
        raise ValueError(f"estimator must be one of {ESTIMATORS}, got {estimator!r}")
    pairwise = pairwise_gaussian_log_density(z, mu, log_var)
    b = pairwise.shape[0]
    n = _dataset_size(dataset_size, b)
    if estimator == "mws":
        log_norm = math.log(n * b)
        log_qz = torch.logsumexp(pairwise.sum(dim=2), dim=1) - log_norm
        return log_qz, torch.logsumexp(pairwise, dim=1) - log_norm
    log_w = stratified_log_weights(b, n).to(device=pairwise.device, dtype=pairwise.dtype)
    log_qz = torch.logsumexp(log_w + pairwise.sum(dim=2), dim=1)
    return log_qz, torch.logsumexp(log_w.unsqueeze(2) + pairwise, dim=1)


def kl_decomposition(
    z: Tensor, mu: Tensor, log_var: Tensor, dataset_size: int, estimator: str = "mws"
) -> KLDecomposition:
    """Split each example's KL into index-code MI, total correlation and dimension-wise KL.

    z (B, d): one sample z_i ~ q(z|x_i) per example (e.g. ``model(x).z``); mu, log_var (B, d)
    the posteriors; ``dataset_size`` N the number of training images the batch came from.
    MI_i = log q(z_i|x_i) - log q(z_i), TC_i = log q(z_i) - sum_k log q(z_ik),
    dimKL_i = sum_k [log q(z_ik) - log p(z_ik)], with q(z) estimated by ``estimator``
    (:func:`aggregate_posterior_log_density`). Returns :class:`KLDecomposition`, each (B,);
    the sum is log q(z_i|x_i) - log p(z_i) exactly, its batch mean estimates the mean
    closed-form KL (:func:`vae_course.losses.kl_divergence`).
    """
    log_qz, log_qz_marginals = aggregate_posterior_log_density(
        z, mu, log_var, dataset_size, estimator
    )
    log_qz_given_x = gaussian_log_density(z, mu, log_var).sum(dim=1)
    log_pz = gaussian_log_density(z, 0.0, 0.0).sum(dim=1)
    log_prod_marginals = log_qz_marginals.sum(dim=1)
    return KLDecomposition(
        mutual_information=log_qz_given_x - log_qz,
        total_correlation=log_qz - log_prod_marginals,
        dimension_wise_kl=log_prod_marginals - log_pz,
    )


def total_correlation(
    z: Tensor, mu: Tensor, log_var: Tensor, dataset_size: int, estimator: str = "mws"
) -> Tensor:
    """Minibatch estimate of the total correlation KL(q(z) || prod_k q(z_k)), (B, d) x3 -> (B,).

    TC_i = log q(z_i) - sum_k log q(z_ik); with minibatch weighted sampling (the default)

        TC_i = logsumexp_j sum_k L_ijk - sum_k logsumexp_j L_ijk + (d - 1) log(N B),

    L_ijk = log N(z_ik; mu_jk, exp(log_var_jk)). Taught in 07_beta_vae (Exercise 7.2).
    """
    return kl_decomposition(z, mu, log_var, dataset_size, estimator).total_correlation


def beta_tcvae_kl_term(
    z: Tensor,
    mu: Tensor,
    log_var: Tensor,
    dataset_size: int,
    *,
    alpha: float = 1.0,
    beta: float = 6.0,
    gamma: float = 1.0,
    estimator: str = "mss",
) -> Tensor:
    """Scalar KL part of the beta-TCVAE loss: mean_b(alpha MI_b + beta TC_b + gamma dimKL_b).

    alpha = beta = gamma = 1 is the one-sample estimate of the ordinary KL term; beta > 1
    penalises only the total correlation (Chen et al. use alpha = gamma = 1, beta = 6).
    """
    parts = kl_decomposition(z, mu, log_var, dataset_size, estimator)
    weighted = (
        alpha * parts.mutual_information
        + beta * parts.total_correlation
        + gamma * parts.dimension_wise_kl
    )
    return weighted.mean()


class BetaTCVAE(schedules.BetaSchedule):
    """The beta-TCVAE objective for :func:`vae_course.train.fit`: ``fit(model, data,
    beta=BetaTCVAE(dataset_size=len(data), beta=6.0))``.

    Per batch the KL part of the loss is :func:`beta_tcvae_kl_term` at the batch's samples
    z (B, d) and posteriors (mu, log_var) (``needs_posterior_samples``: fit calls
    :meth:`posterior_kl_term` instead of ``kl_term``); fit records ``beta`` (the TC weight)
    in its "beta" column and the closed-form KL as the rate. ``dataset_size`` N (the size of
    the training set; a batch larger than N, as in fast mode, counts as N = B) only shifts
    the "mws" estimate by a constant, but weights the "mss" one. Keyword arguments only.
    """

    needs_posterior_samples = True

    def __init__(
        self,
        *,
        dataset_size: int,
        beta: float = 6.0,
        alpha: float = 1.0,
        gamma: float = 1.0,
        estimator: str = "mss",
    ) -> None:
        self.tc_weight = finite_number(beta, "beta (the total-correlation weight)", minimum=0)
        self.alpha = finite_number(alpha, "alpha (the mutual-information weight)", minimum=0)
        self.gamma = finite_number(gamma, "gamma (the dimension-wise KL weight)", minimum=0)
        self.dataset_size = positive_int(dataset_size, "dataset_size")
        if estimator not in ESTIMATORS:
            raise ValueError(f"estimator must be one of {ESTIMATORS}, got {estimator!r}")
        self.estimator = estimator

    def beta(self, step: int) -> float:
        return self.tc_weight

    def kl_term(self, kl: Tensor | float, step: int) -> Tensor:
        raise TypeError(
            "BetaTCVAE needs the batch's samples and posteriors, not the KL: call "
            "posterior_kl_term(z, mu, log_var, step) (vae_course.train.fit does)"
        )

    def posterior_kl_term(self, z: Tensor, mu: Tensor, log_var: Tensor, step: int) -> Tensor:
        """alpha MI + beta TC + gamma dimKL averaged over the batch (a scalar tensor)."""
        return beta_tcvae_kl_term(
            z, mu, log_var, max(self.dataset_size, z.shape[0]), alpha=self.alpha,
            beta=self.tc_weight, gamma=self.gamma, estimator=self.estimator,
        )  # fmt: skip

    def _fields(self) -> dict[str, object]:
        return {
            "beta": self.tc_weight,
            "dataset_size": self.dataset_size,
            "alpha": self.alpha,
            "gamma": self.gamma,
            "estimator": self.estimator,
        }


__all__ = [
    "ESTIMATORS",
    "BetaTCVAE",
    "KLDecomposition",
    "aggregate_posterior_log_density",
    "beta_tcvae_kl_term",
    "gaussian_log_density",
    "kl_decomposition",
    "pairwise_gaussian_log_density",
    "stratified_log_weights",
    "total_correlation",
]
