"""The VAE objective, term by term.

Conventions used everywhere in the course:

* every function returns one value **per example**, shape ``(B,)``: sums run over pixels
  (all non-batch dimensions) and over latent dimensions, never over the batch;
* the training loss is the **mean over the batch** of the negative (beta-weighted) ELBO
  (:meth:`ElboTerms.loss`); a per-pixel *mean* in the reconstruction with a summed KL
  would be a hidden beta of 1/784 on MNIST;
* decoders output **logits**; the Bernoulli log-likelihood takes logits (the safe form of
  BCE), the Gaussian one uses ``sigmoid(logits)`` as the mean when called through
  :func:`reconstruction_log_likelihood`.

Quantities are in nats.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

from vae_course._checks import finite_number, positive_int
from vae_course.models import reparameterize

__all__ = [
    "ElboTerms",
    "bernoulli_log_likelihood",
    "bits_per_dim",
    "elbo",
    "gaussian_log_likelihood",
    "iwae_bound",
    "iwae_from_log_weights",
    "kl_between",
    "kl_divergence",
    "kl_divergence_per_dim",
    "negative_elbo",
    "negative_elbo_loss",
    "reconstruction_log_likelihood",
    "vae_loss",
]

LIKELIHOODS = ("bernoulli", "gaussian")
_LOG_2PI = math.log(2.0 * math.pi)


class ElboTerms(NamedTuple):
    """The ELBO of each example and its two terms, all shaped (B,), in nats.

    ``elbo = reconstruction - kl`` (the true bound, whatever beta training used);
    ``reconstruction`` = log p(x|z) for one z ~ q(z|x) (a log-likelihood: higher is better);
    ``kl`` = KL(q(z|x) || p(z)) in closed form.
    What elbo returns (04_elbo).
    """

    elbo: Tensor
    reconstruction: Tensor
    kl: Tensor

    def loss(self, beta: float | Tensor = 1.0) -> Tensor:
        """Scalar training loss: mean over the batch of ``-reconstruction + beta * kl``.

        With ``beta=1`` this is the negative ELBO averaged over the batch.
        """
        return (-self.reconstruction + beta * self.kl).mean()


# ----------------------------------------------------------------------------- checks


def _tensor(value: object, name: str) -> Tensor:
    if not isinstance(value, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    return value


def _gaussian_params(mu: object, log_var: object) -> tuple[Tensor, Tensor]:
    mu, log_var = _tensor(mu, "mu"), _tensor(log_var, "log_var")
    if mu.shape != log_var.shape:
        raise ValueError(
            f"mu and log_var must have the same shape (B, d), got {tuple(mu.shape)} "
            f"and {tuple(log_var.shape)}"
        )
    if mu.dim() < 2:
        raise ValueError(
            f"mu and log_var must be batched, shaped (B, d), got {tuple(mu.shape)}; "
            "for one example use mu.unsqueeze(0)"
        )
    return mu, log_var


def _sum_per_example(t: Tensor) -> Tensor:
    """(B, ...) -> (B,): sum over every non-batch dimension."""
    return t.reshape(t.shape[0], -1).sum(dim=1)


def _match_targets(prediction: Tensor, x: object, pred_name: str) -> Tensor:
    """Return x reshaped like ``prediction`` (e.g. (B, 784) targets for (B, 1, 28, 28) logits)."""
    x = _tensor(x, "x")
    if prediction.dim() < 1 or x.dim() < 1 or x.shape[0] != prediction.shape[0]:
        raise ValueError(
            f"{pred_name} and x must share the batch dimension, got {tuple(prediction.shape)} "
            f"and {tuple(x.shape)}"
        )
    if x.shape == prediction.shape:
        return x
    if x.numel() != prediction.numel():
        raise ValueError(
            f"{pred_name} {tuple(prediction.shape)} and x {tuple(x.shape)} describe different "
            "numbers of pixels per example"
        )
    return x.reshape(prediction.shape)


def _check_likelihood(likelihood: str) -> str:
    if likelihood not in LIKELIHOODS:
        raise ValueError(f"likelihood must be one of {LIKELIHOODS}, got {likelihood!r}")
    return likelihood


# ----------------------------------------------------------------------------- KL terms


def kl_divergence_per_dim(mu: Tensor, log_var: Tensor) -> Tensor:
    """KL(N(mu, exp(log_var)) || N(0, 1)) of each latent coordinate, shape like ``mu`` (B, d).

    KL_bj = 1/2 (mu_bj^2 + exp(log_var_bj) - log_var_bj - 1), no reduction. This is what
    free bits (:func:`vae_course.schedules.free_bits_kl`) and KL-per-dimension plots use.
    Used in 06_posterior_collapse (free bits act on it).
    """
    mu, log_var = _gaussian_params(mu, log_var)
    return 0.5 * (mu.pow(2) + log_var.exp() - log_var - 1.0)


def kl_divergence(mu: Tensor, log_var: Tensor) -> Tensor:
    """KL(q(z|x) || p(z)) per example for q = N(mu, diag exp(log_var)), p = N(0, I).

    KL_b = 1/2 sum_j (mu_bj^2 + sigma_bj^2 - log sigma_bj^2 - 1), summed over latent
    dimensions, **not** over the batch: (B, d) -> (B,). Zero exactly at mu = 0, log_var = 0.
    Taught in 04_elbo, Exercise 4.1; used in 08_applications.
    """
    return _sum_per_example(kl_divergence_per_dim(mu, log_var))


def kl_between(
    mu_q: Tensor,
    log_var_q: Tensor,
    mu_p: Tensor | float,
    log_var_p: Tensor | float,
) -> Tensor:
    """KL(q || p) per example between two diagonal Gaussians q = N(mu_q, e^log_var_q), p likewise.

    KL_b = 1/2 sum_j [log_var_p - log_var_q + (exp(log_var_q) + (mu_q - mu_p)^2)
    / exp(log_var_p) - 1]. ``mu_q``, ``log_var_q`` are (B, d); the prior's parameters may be
    tensors or floats broadcastable to (B, d) (e.g. a learned prior of shape (d,)).
    Returns (B,), summed over latent dimensions. ``kl_between(mu, lv, 0.0, 0.0)`` equals
    :func:`kl_divergence`.
    Used in 04_elbo (the ELBO's gap is a KL between Gaussians).
    """
    mu_q, log_var_q = _gaussian_params(mu_q, log_var_q)
    mu_p = torch.as_tensor(mu_p, dtype=mu_q.dtype, device=mu_q.device)
    log_var_p = torch.as_tensor(log_var_p, dtype=mu_q.dtype, device=mu_q.device)
    try:
        shape = torch.broadcast_shapes(mu_q.shape, mu_p.shape, log_var_p.shape)
    except RuntimeError as err:
        raise ValueError(
            f"the prior's parameters {tuple(mu_p.shape)}, {tuple(log_var_p.shape)} do not "
            f"broadcast to the posterior's shape {tuple(mu_q.shape)}"
        ) from err
    if shape != mu_q.shape:
        raise ValueError(
            f"the prior's parameters must broadcast to {tuple(mu_q.shape)} without growing it, "
            f"got {tuple(mu_p.shape)} and {tuple(log_var_p.shape)}"
        )
    per_dim = 0.5 * (
        log_var_p
        - log_var_q
        + (log_var_q - log_var_p).exp()
        + (mu_q - mu_p).pow(2) * (-log_var_p).exp()
        - 1.0
    )
    return _sum_per_example(per_dim)


# ----------------------------------------------------------------------------- likelihoods


def bernoulli_log_likelihood(logits: Tensor, x: Tensor) -> Tensor:
    """log p(x|z) for independent Bernoulli pixels with logits ``logits``, per example.

    log p(x|z) = sum_i [x_i log sigmoid(l_i) + (1 - x_i) log(1 - sigmoid(l_i))]
    = -BCEWithLogits(l, x) summed over every non-batch dimension: (B, ...) -> (B,).
    ``x`` holds values in [0, 1] and may be flattened ((B, 784) against (B, 1, 28, 28)
    logits). For grey-level x this is a useful loss but not a normalised likelihood.
    Used in 08_applications (the course's reconstruction error).
    """
    logits = _tensor(logits, "logits")
    x = _match_targets(logits, x, "logits")
    return -_sum_per_example(F.binary_cross_entropy_with_logits(logits, x, reduction="none"))


def gaussian_log_likelihood(mean: Tensor, x: Tensor, log_sigma: float | Tensor = 0.0) -> Tensor:
    """log N(x; mean, sigma^2 I) per example, constant included, (B, ...) -> (B,).

    log p(x|z) = sum_i [-(x_i - mean_i)^2 / (2 sigma_i^2) - log sigma_i - 1/2 log(2 pi)]
    = -||x - mean||^2 / (2 sigma^2) - D log sigma - D/2 log(2 pi) for a shared sigma, D
    pixels per example. ``log_sigma`` is a float (fixed sigma) or a tensor (e.g. a learned
    ``nn.Parameter``) broadcastable to ``mean``'s shape: a scalar, per pixel (C, H, W) or per
    example. With sigma fixed, maximising it is minimising the summed squared error.
    The Gaussian likelihood of 04_elbo; used by fit(likelihood="gaussian").
    """
    mean = _tensor(mean, "mean")
    x = _match_targets(mean, x, "mean")
    log_sigma = torch.as_tensor(log_sigma, dtype=mean.dtype, device=mean.device)
    try:
        shape = torch.broadcast_shapes(mean.shape, log_sigma.shape)
    except RuntimeError as err:
        raise ValueError(
            f"log_sigma {tuple(log_sigma.shape)} does not broadcast to {tuple(mean.shape)}"
        ) from err
    if shape != mean.shape:
        raise ValueError(
            f"log_sigma {tuple(log_sigma.shape)} must broadcast to {tuple(mean.shape)} "
            "without growing it"
        )
    per_pixel = -0.5 * (x - mean).pow(2) * torch.exp(-2.0 * log_sigma) - log_sigma - 0.5 * _LOG_2PI
    return _sum_per_example(per_pixel.expand(mean.shape))


def reconstruction_log_likelihood(
    logits: Tensor,
    x: Tensor,
    likelihood: str = "bernoulli",
    log_sigma: float | Tensor = 0.0,
) -> Tensor:
    """log p(x|z) per example (B,) from decoder logits.

    ``"bernoulli"``: :func:`bernoulli_log_likelihood` (logits, x).
    ``"gaussian"``: :func:`gaussian_log_likelihood` (sigmoid(logits), x, log_sigma): the
    decoder's pixel means stay in [0, 1], as in ``model.sample``.
    Used by elbo and fit (every chapter); no chapter calls it.
    """
    if _check_likelihood(likelihood) == "bernoulli":
        return bernoulli_log_likelihood(logits, x)
    return gaussian_log_likelihood(torch.sigmoid(_tensor(logits, "logits")), x, log_sigma)


# ----------------------------------------------------------------------------- the ELBO


def elbo(
    x: Tensor,
    logits: Tensor,
    mu: Tensor,
    log_var: Tensor,
    *,
    likelihood: str = "bernoulli",
    log_sigma: float | Tensor = 0.0,
) -> ElboTerms:
    """The single-sample ELBO of each example and its terms.

    ELBO_b = log p(x_b | z_b) - KL(q(z|x_b) || N(0, I)), z_b ~ q(z|x_b) (the z that produced
    ``logits``); the KL is in closed form. Shapes: x (B, C, H, W) or (B, D), logits
    (B, C, H, W), mu and log_var (B, d). Returns ``ElboTerms(elbo, reconstruction, kl)``,
    each (B,) (no batch reduction); the training loss is ``terms.loss(beta)`` =
    mean_b(-reconstruction_b + beta * kl_b).
    Used in 04_elbo and 08_applications.
    """
    reconstruction = reconstruction_log_likelihood(logits, x, likelihood, log_sigma)
    kl = kl_divergence(mu, log_var)
    if kl.shape != reconstruction.shape:
        raise ValueError(
            f"batch sizes differ: {reconstruction.shape[0]} images but {kl.shape[0]} rows of mu"
        )
    return ElboTerms(reconstruction - kl, reconstruction, kl)


def _vae_output(model: torch.nn.Module, x: Tensor):
    out = model(x)
    if not (hasattr(out, "logits") and hasattr(out, "mu") and hasattr(out, "log_var")):
        raise TypeError(
            f"{type(model).__name__} is not a VAE: its forward must return "
            "VAEOutput(logits, mu, log_var, z) (an Autoencoder has no KL term)"
        )
    return out


def negative_elbo_loss(
    model: torch.nn.Module,
    x: Tensor,
    beta: float | Tensor = 1.0,
    *,
    likelihood: str = "bernoulli",
    log_sigma: float | Tensor = 0.0,
) -> tuple[Tensor, ElboTerms]:
    """One forward pass and the beta-weighted loss: (scalar loss, :class:`ElboTerms`).

    loss = mean_b [-log p(x_b|z_b) + beta * KL_b] with z_b ~ q(z|x_b) (one sample); with
    beta = 1 it is the negative ELBO averaged over the batch. ``model(x)`` must return a
    ``VAEOutput``.
    Not used by a chapter: 04_elbo's loss (Exercise 4.4) as one call on a model.
    """
    out = _vae_output(model, x)
    terms = elbo(x, out.logits, out.mu, out.log_var, likelihood=likelihood, log_sigma=log_sigma)
    return terms.loss(beta), terms


def _encoded_gaussian(model: torch.nn.Module, x: Tensor, what: str) -> tuple[Tensor, Tensor]:
    encoded = model.encode(x)
    if not (isinstance(encoded, tuple) and len(encoded) == 2):
        raise TypeError(
            f"{type(model).__name__}.encode must return (mu, log_var); "
            f"{what} needs a VAE, not an Autoencoder"
        )
    return _gaussian_params(*encoded)


@torch.no_grad()
def negative_elbo(
    model: torch.nn.Module,
    x: Tensor,
    samples: int = 1,
    *,
    likelihood: str = "bernoulli",
    log_sigma: float | Tensor = 0.0,
    generator: torch.Generator | None = None,
) -> Tensor:
    """The negative ELBO of each example, (B,) in nats, averaged over ``samples`` draws of z.

    -ELBO(x) = 1/S sum_s [-log p(x | z_s) + KL(q(z|x) || N(0, I))], z_s ~ q(z|x) drawn as
    mu + exp(log_var / 2) * eps_s with eps_s from ``generator`` (seed it for a
    reproducible score). A score, not a loss: computed without gradients (train with
    :func:`negative_elbo_loss`). Works with any model with ``encode(x) -> (mu, log_var)``
    and ``decode(z) -> logits``. Used in 08_applications (the second anomaly score).
    """
    samples = positive_int(samples, "samples")
    _check_likelihood(likelihood)
    mu, log_var = _encoded_gaussian(model, x, "the negative ELBO")
    total = torch.zeros(mu.shape[0], device=mu.device)
    for _ in range(samples):
        z = reparameterize(mu, log_var, generator)
        logits = model.decode(z)
        total -= elbo(x, logits, mu, log_var, likelihood=likelihood, log_sigma=log_sigma).elbo
    return total / samples


def vae_loss(
    logits: Tensor, x: Tensor, mu: Tensor, log_var: Tensor, beta: float = 1.0
) -> tuple[Tensor, Tensor, Tensor]:
    """(loss, reconstruction, kl) as three scalars, each averaged over the batch.

    reconstruction = mean_b BCEWithLogits(logits_b, x_b) summed over pixels (>= 0, a loss);
    kl = mean_b KL_b (closed form, summed over latent dims); loss = reconstruction + beta * kl,
    which for beta = 1 is the negative ELBO per example, averaged.
    Taught in 04_elbo, Exercise 4.4 (07_beta_vae, Exercise 7.1 weights its KL by β).
    """
    reconstruction = -bernoulli_log_likelihood(logits, x).mean()
    kl = kl_divergence(mu, log_var).mean()
    return reconstruction + beta * kl, reconstruction, kl


# ----------------------------------------------------------------------------- IWAE


def iwae_from_log_weights(log_w: Tensor) -> Tensor:
    """The importance-weighted bound from log weights (K, B) -> (B,).

    L_K = log (1/K) sum_k w_k = logsumexp_k(log w_k) - log K, with
    log w_k = log p(x, z_k) - log q(z_k|x), z_k ~ q(z|x). K = 1 gives the ELBO estimate.
    Taught in 04_elbo, Exercise 4.5.
    """
    log_w = _tensor(log_w, "log_w")
    if log_w.dim() != 2:
        raise ValueError(f"log_w must be shaped (K, B), got {tuple(log_w.shape)}")
    return torch.logsumexp(log_w, dim=0) - math.log(log_w.shape[0])


def iwae_bound(
    model: torch.nn.Module,
    x: Tensor,
    k: int = 50,
    *,
    likelihood: str = "bernoulli",
    log_sigma: float | Tensor = 0.0,
    chunk_size: int | None = None,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Importance-weighted lower bound L_k on log p(x) of each example, (B,), in nats.

    L_k = logsumexp_{i=1..k} [log p(x|z_i) + log p(z_i) - log q(z_i|x)] - log k,
    z_i ~ q(z|x) = N(mu, diag e^log_var), p(z) = N(0, I). ELBO = L_1 <= L_k <= log p(x), and
    E[L_k] grows with k (Burda et al. 2016). The k samples are decoded ``chunk_size`` at a
    time to bound memory (default: about 2048 decoded images per chunk). Works with any
    model with ``encode(x) -> (mu, log_var)`` and ``decode(z) -> logits``. Gradients flow
    (it can train an IWAE); wrap in ``torch.no_grad()`` for evaluation.
    Used in 04_elbo (IWAE bounds).
    """
    k = positive_int(k, "k (the number of importance samples)")
    _check_likelihood(likelihood)
    mu, log_var = _encoded_gaussian(model, x, "the IWAE bound")
    batch, d = mu.shape[0], mu.shape[1:].numel()
    mu, log_var = mu.reshape(batch, d), log_var.reshape(batch, d)
    x_flat = _tensor(x, "x").reshape(batch, -1)
    if chunk_size is None:
        chunk_size = max(1, 2048 // max(batch, 1))
    chunk_size = positive_int(chunk_size, "chunk_size")
    std = torch.exp(0.5 * log_var)
    chunks = []
    for start in range(0, k, chunk_size):
        kc = min(chunk_size, k - start)
        noise_device = mu.device if generator is None else generator.device
        eps = torch.randn(
            (kc, batch, d), generator=generator, dtype=mu.dtype, device=noise_device
        ).to(mu.device)
        z = mu + std * eps  # (kc, B, d)
        logits = model.decode(z.reshape(kc * batch, d))
        targets = x_flat.expand(kc, batch, x_flat.shape[1]).reshape(kc * batch, -1)
        log_px = reconstruction_log_likelihood(logits, targets, likelihood, log_sigma)
        log_px = log_px.reshape(kc, batch)
        log_pz = (-0.5 * z.pow(2) - 0.5 * _LOG_2PI).sum(dim=-1)
        log_qz = (-0.5 * eps.pow(2) - 0.5 * log_var - 0.5 * _LOG_2PI).sum(dim=-1)
        chunks.append(log_px + log_pz - log_qz)
    return iwae_from_log_weights(torch.cat(chunks, dim=0))


# ----------------------------------------------------------------------------- units


def bits_per_dim(nelbo_nats: float | Tensor, n_dims: int) -> float | Tensor:
    """A negative log-likelihood bound per image in nats -> bits per dimension.

    bits/dim = nelbo_nats / (D ln 2), D = ``n_dims`` (784 for a 28 × 28 image): the same
    quantity per pixel and in base 2, so that images of different sizes can be compared.
    ``nelbo_nats`` is a number or a tensor of any shape (e.g. (B,) per example); the result
    has the same type and shape. A lower bound on log p(x) (ELBO, IWAE) gives an upper
    bound in bits/dim. Used in 04_elbo for the test bound.
    """
    n = positive_int(n_dims, "n_dims")
    if isinstance(nelbo_nats, Tensor):
        return nelbo_nats / (n * math.log(2.0))
    return finite_number(nelbo_nats, "nelbo_nats") / (n * math.log(2.0))
