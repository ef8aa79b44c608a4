"""Is the latent space used? KL per dimension, active units, mutual information, MIG.

Every function that takes a ``model`` encodes ``images`` (a tensor (N, C, H, W) / (N, D),
or any object with an ``.images`` tensor such as a :class:`vae_course.data.Dataset`) with
:func:`vae_course.models.encode_all`: in minibatches under ``torch.no_grad()`` in eval
mode, on the model's device, putting the model back in the mode it was in. Posterior means mu(x) stand for the code of x; an
:class:`~vae_course.models.Autoencoder`'s code is used as its mean where that makes sense.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from vae_course._checks import finite_number, integer, positive_int
from vae_course.data import subset_indices
from vae_course.losses import kl_divergence_per_dim
from vae_course.models import as_image_batch, encode_all

__all__ = [
    "CollapseReport",
    "active_units",
    "active_units_from_means",
    "collapse_report",
    "kl_per_dimension",
    "mig",
    "mig_from_codes",
    "mutual_information",
    "mutual_information_from_posteriors",
    "mutual_information_matrix",
    "nearest_training_image",
]

_LOG_2PI = math.log(2.0 * math.pi)


# ----------------------------------------------------------------------------- encoding


def _posterior(model: nn.Module, images: Tensor, batch_size: int) -> tuple[Tensor, Tensor]:
    mu, log_var = encode_all(model, images, batch_size=batch_size)
    if log_var is None:
        raise TypeError(
            f"{type(model).__name__} has no posterior variance (encode returns one tensor): "
            "this diagnostic needs a VAE whose encode returns (mu, log_var)"
        )
    return mu, log_var


# ----------------------------------------------------------------------------- KL and AU


def kl_per_dimension(model: nn.Module, images: Tensor, batch_size: int = 512) -> Tensor:
    """Average KL(q(z_j|x) || N(0, 1)) of each latent dimension over the data, shape (d,).

    KL_j = 1/N sum_n 1/2 (mu_nj^2 + sigma_nj^2 - log sigma_nj^2 - 1), in nats; the sum over
    j is the average KL term of the ELBO. A dimension with KL_j ~ 0 is unused (collapsed).
    Used in 02_vae.
    """
    mu, log_var = _posterior(model, images, batch_size)
    return kl_divergence_per_dim(mu, log_var).mean(dim=0)


def active_units_from_means(mu: Tensor, threshold: float = 0.01) -> int:
    """Number of latent dimensions j with Var_n(mu_nj) > threshold (Burda et al. 2016).

    ``mu`` (N, d) are posterior means E_q[z|x_n] (N >= 2); the variance over examples is the
    unbiased sample variance. A dimension whose mean does not move with x carries no
    information about x.
    Taught in 06_posterior_collapse, Exercise 6.1 (the package's active_units).
    """
    if not isinstance(mu, Tensor):
        raise TypeError(f"mu must be a tensor (N, d), got {type(mu).__name__}")
    if mu.dim() != 2 or mu.shape[0] < 2:
        raise ValueError(f"mu must be shaped (N, d) with N >= 2, got {tuple(mu.shape)}")
    threshold = finite_number(threshold, "threshold", minimum=0.0)
    return int((mu.detach().cpu().double().var(dim=0) > threshold).sum().item())


def active_units(
    model: nn.Module, images: Tensor, threshold: float = 0.01, batch_size: int = 512
) -> int:
    """Active units of ``model`` on ``images``: #{j : Var_x E_q[z_j|x] > threshold}, an int.

    Encodes the images (posterior means; an autoencoder's codes) and calls
    :func:`active_units_from_means`.
    Used in 02_vae, 04_elbo and 07_beta_vae.
    """
    mu, _ = encode_all(model, images, batch_size=batch_size)
    return active_units_from_means(mu, threshold)


# ----------------------------------------------------------------------------- I(x; z)


def mutual_information_from_posteriors(
    mu: Tensor, log_var: Tensor, generator: torch.Generator | None = None
) -> float:
    """Monte-Carlo estimate of I(x; z) under q(x, z) = p_data(x) q(z|x), in nats.

    I = E_x E_{q(z|x)}[log q(z|x) - log q(z)] = E_x[KL(q(z|x)||p)] - KL(q(z)||p), with the
    aggregate posterior q(z) = 1/N sum_m q(z|x_m) (the estimator of Hoffman & Johnson 2016
    and He et al. 2019). One z_n ~ q(z|x_n) per example; I ~ 1/N sum_n [log q(z_n|x_n) -
    (logsumexp_m log q(z_n|x_m) - log N)], both terms at the same z_n so their noise cancels.
    ``mu``, ``log_var`` (N, d). The estimate is biased, lies in [0, log N] up to noise and
    saturates near log N when the posteriors barely overlap.
    Used by collapse_report (05_kl_annealing, 06_posterior_collapse).
    """
    if mu.shape != log_var.shape or mu.dim() != 2 or mu.shape[0] < 2:
        raise ValueError(
            f"mu and log_var must both be shaped (N, d) with N >= 2, got {tuple(mu.shape)} "
            f"and {tuple(log_var.shape)}"
        )
    mu, log_var = mu.detach().cpu().double(), log_var.detach().cpu().double()
    n, d = mu.shape
    eps = torch.randn(mu.shape, generator=generator, dtype=torch.float64)
    z = mu + torch.exp(0.5 * log_var) * eps
    inv_var = torch.exp(-log_var)  # (N, d)
    log_norm = -0.5 * (d * _LOG_2PI + log_var.sum(dim=1))  # (N,)
    chunk = max(1, 2**22 // (n * d))
    terms = []
    for start in range(0, n, chunk):
        rows = torch.arange(start, min(start + chunk, n))
        dev = z[rows, None, :] - mu[None]  # (c, N, d)
        log_density = -0.5 * (dev.pow(2) * inv_var[None]).sum(dim=-1) + log_norm[None]  # (c, N)
        log_q_own = log_density[torch.arange(len(rows)), rows]  # log q(z_n | x_n)
        log_q_aggregate = torch.logsumexp(log_density, dim=1) - math.log(n)
        terms.append(log_q_own - log_q_aggregate)
    return float(torch.cat(terms).mean())


def _subset(images: Tensor, max_examples: int | None, seed: int) -> Tensor:
    """At most ``max_examples`` images, a seeded random subset (:func:`data.subset_indices`)."""
    if max_examples is None:
        return images
    max_examples = integer(max_examples, "max_examples (or None)", minimum=2)
    if images.shape[0] <= max_examples:
        return images
    index = subset_indices(images.shape[0], max_examples, seed=seed)
    return images[index.to(images.device)]


def mutual_information(
    model: nn.Module,
    images: Tensor,
    batch_size: int = 512,
    max_examples: int | None = 2048,
    seed: int = 0,
) -> float:
    """Estimate I(x; z) in nats for ``model`` on ``images`` (at most ``max_examples`` of them).

    See :func:`mutual_information_from_posteriors` for the estimator (cost N^2 d, hence the
    random subset, drawn with ``seed``). Near 0 means z tells nothing about x (collapse); the
    estimate saturates near log N (7.6 nats for N = 2048).
    Not called by a chapter; collapse_report (06_posterior_collapse) reports the same estimate.
    """
    images = _subset(as_image_batch(images), max_examples, seed)
    mu, log_var = _posterior(model, images, batch_size)
    return mutual_information_from_posteriors(mu, log_var, torch.Generator().manual_seed(seed + 1))


# ----------------------------------------------------------------------------- report


@dataclass(frozen=True)
class CollapseReport:
    """The posterior-collapse diagnostics of one model on one dataset.

    ``kl_per_dim`` (d,) average KL per latent dimension; ``kl_total`` their sum (nats);
    ``active_units`` of ``latent_dim``; ``mutual_information`` I(x; z) estimate (nats);
    ``collapsed`` True when no unit is active or the total KL is below 1 nat; ``verdict``
    one line, e.g. ``"collapsed: 0/20 active units, KL 0.01 nats, I(x;z) 0.00 nats"``.
    What collapse_report returns in 05_kl_annealing and 06_posterior_collapse.
    """

    kl_per_dim: Tensor
    kl_total: float
    active_units: int
    latent_dim: int
    mutual_information: float
    threshold: float
    collapsed: bool
    verdict: str

    def __str__(self) -> str:
        lines = [self.verdict, "KL per dimension (nats):"]
        for j, value in enumerate(self.kl_per_dim.tolist()):
            lines.append(f"  z{j:<3d} {value:8.3f}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"CollapseReport({self.verdict!r})"

    def _repr_html_(self) -> str:
        values = self.kl_per_dim.tolist()
        top = max(max(values), 1e-12)
        colour = "#c0392b" if self.collapsed else "#1e8449"
        rows = "".join(
            "<tr>"
            f"<td style='padding:0 8px'>z{j}</td>"
            f"<td style='padding:0 8px;text-align:right'>{value:.3f}</td>"
            "<td style='padding:0 8px'><div style='background:#5b8def;height:10px;"
            f"width:{max(1, round(120 * value / top))}px'></div></td>"
            "</tr>"
            for j, value in enumerate(values)
        )
        return (
            f"<div><p style='color:{colour};font-weight:bold'>{html.escape(self.verdict)}</p>"
            "<table><thead><tr><th>dim</th><th>KL (nats)</th><th></th></tr></thead>"
            f"<tbody>{rows}</tbody></table></div>"
        )


def collapse_report(
    model: nn.Module,
    images: Tensor,
    threshold: float = 0.01,
    batch_size: int = 512,
    max_examples: int | None = 2048,
    seed: int = 0,
) -> CollapseReport:
    """KL per dimension, active units, I(x; z) and a one-line verdict for a VAE on ``images``.

    Verdict: ``"collapsed: ..."`` when no unit is active (threshold on Var_x mu) or the
    average total KL is below 1 nat, else ``"healthy: ..."`` (noting unused dimensions).
    All statistics use at most ``max_examples`` images (a random subset drawn with ``seed``).
    Used in 05_kl_annealing and 06_posterior_collapse.
    """
    images = _subset(as_image_batch(images), max_examples, seed)
    mu, log_var = _posterior(model, images, batch_size)
    kl_dims = kl_divergence_per_dim(mu, log_var).mean(dim=0)
    kl_total = float(kl_dims.sum())
    n_active = active_units_from_means(mu, threshold)
    mi = (
        mutual_information_from_posteriors(mu, log_var, torch.Generator().manual_seed(seed + 1))
        if mu.shape[0] >= 2
        else float("nan")
    )
    d = mu.shape[1]
    collapsed = n_active == 0 or kl_total < 1.0
    summary = f"{n_active}/{d} active units, KL {kl_total:.2f} nats, I(x;z) {mi:.2f} nats"
    if collapsed:
        verdict = f"collapsed: {summary}"
    elif n_active < d:
        verdict = f"healthy: {summary} ({d - n_active} unused dimensions stay at the prior)"
    else:
        verdict = f"healthy: {summary}"
    return CollapseReport(kl_dims, kl_total, n_active, d, mi, float(threshold), collapsed, verdict)


# ----------------------------------------------------------------------------- MIG


def _as_2d_array(values: object, name: str) -> np.ndarray:
    if isinstance(values, Tensor):
        values = values.detach().cpu().numpy()
    array = np.asarray(values)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2 or array.shape[0] < 2:
        raise ValueError(f"{name} must be shaped (N, k) with N >= 2, got {array.shape}")
    return array


def _discretize(codes: np.ndarray, n_bins: int) -> np.ndarray:
    """Each column into ``n_bins`` equal-width bins over its own range (as disentanglement_lib)."""
    out = np.zeros(codes.shape, dtype=np.int64)
    for j in range(codes.shape[1]):
        edges = np.histogram(codes[:, j], bins=n_bins)[1]
        out[:, j] = np.digitize(codes[:, j], edges[:-1])
    return out


def mutual_information_matrix(codes: Tensor, factors: Tensor, n_bins: int = 20) -> np.ndarray:
    """I(code_j; factor_k) in nats for every pair, an array (d, K).

    ``codes`` (N, d) are discretised into ``n_bins`` equal-width bins per dimension;
    ``factors`` (N, K) are treated as discrete labels (factor classes); MI by sklearn's
    ``mutual_info_score`` on the empirical joint distribution.
    Used by mig (07_beta_vae).
    """
    from sklearn.metrics import mutual_info_score

    n_bins = integer(n_bins, "n_bins", minimum=2)
    codes_np = _as_2d_array(codes, "codes").astype(np.float64)
    factors_np = _as_2d_array(factors, "factors")
    if codes_np.shape[0] != factors_np.shape[0]:
        raise ValueError(
            f"codes and factors must have the same number of rows, got {codes_np.shape[0]} "
            f"and {factors_np.shape[0]}"
        )
    if not np.isfinite(codes_np).all():
        raise ValueError("codes contain NaN or infinite values")
    binned = _discretize(codes_np, n_bins)
    matrix = np.zeros((codes_np.shape[1], factors_np.shape[1]))
    for j in range(codes_np.shape[1]):
        for k in range(factors_np.shape[1]):
            matrix[j, k] = mutual_info_score(factors_np[:, k], binned[:, j])
    return matrix


def mig_from_codes(codes: Tensor, factors: Tensor, n_bins: int = 20) -> float:
    """Mutual Information Gap (Chen et al. 2018) of codes (N, d) against factors (N, K).

    MIG = 1/K sum_k [I(z_(1); v_k) - I(z_(2); v_k)] / H(v_k), where z_(1), z_(2) are the two
    code dimensions with the largest MI with factor v_k (codes discretised into ``n_bins``
    bins, MI and H by sklearn's ``mutual_info_score``). In [0, 1]: 1 when each factor is
    captured by one dimension alone. Factors that never vary in the data (H = 0) are skipped.
    Used by mig (07_beta_vae).
    """
    matrix = mutual_information_matrix(codes, factors, n_bins)
    if matrix.shape[0] < 2:
        raise ValueError("MIG compares the two most informative latents: it needs d >= 2")
    from sklearn.metrics import mutual_info_score

    factors_np = _as_2d_array(factors, "factors")
    gaps = []
    for k in range(factors_np.shape[1]):
        entropy = mutual_info_score(factors_np[:, k], factors_np[:, k])
        if entropy <= 1e-12:
            continue
        top_two = np.sort(matrix[:, k])[::-1][:2]
        gaps.append((top_two[0] - top_two[1]) / entropy)
    if not gaps:
        raise ValueError("every factor is constant in this data: MIG is undefined")
    return float(np.mean(gaps))


def mig(
    model: nn.Module,
    images: Tensor,
    factor_classes: Tensor,
    factor_sizes: tuple[int, ...] | list[int] | None = None,
    n_bins: int = 20,
    batch_size: int = 512,
) -> float:
    """MIG of ``model``'s posterior means on ``images`` against the ground-truth factors.

    ``factor_classes`` (N, K) int: the class of each factor for each image (e.g.
    ``load_dataset("shapes").factor_classes``); ``factor_sizes`` (optional, length K)
    checks that every class lies in 0..size-1 (catching factor *values* passed by mistake).
    See :func:`mig_from_codes` for the formula.
    Used in 07_beta_vae.
    """
    images = as_image_batch(images)
    factors = _as_2d_array(factor_classes, "factor_classes")
    if factors.shape[0] != images.shape[0]:
        raise ValueError(
            f"factor_classes has {factors.shape[0]} rows but there are {images.shape[0]} images"
        )
    if factor_sizes is not None:
        sizes = list(factor_sizes)
        if len(sizes) != factors.shape[1]:
            raise ValueError(
                f"factor_sizes has {len(sizes)} entries for {factors.shape[1]} factors"
            )
        for k, size in enumerate(sizes):
            column = factors[:, k]
            if not np.issubdtype(column.dtype, np.integer) and not np.all(
                column == np.round(column)
            ):
                raise ValueError(
                    f"factor {k} holds non-integer values: pass factor classes, not factor values"
                )
            if column.min() < 0 or column.max() >= size:
                raise ValueError(
                    f"factor {k} has classes outside 0..{size - 1} (min {column.min()}, "
                    f"max {column.max()})"
                )
    codes, _ = encode_all(model, images, batch_size=batch_size)
    return mig_from_codes(codes, factors, n_bins)


# ----------------------------------------------------------------------------- nearest image


def _flat_binary(images: object, name: str, threshold: float) -> Tensor:
    images = as_image_batch(images, name)
    return (images.detach().float().cpu().flatten(1) > threshold).float()


def nearest_training_image(
    images: Tensor, reference: Tensor, threshold: float = 0.5, batch_size: int = 1024
) -> tuple[Tensor, Tensor]:
    """Pixel flips from each image to its nearest reference image, and that image's index.

    Both sets are binarised, b = [x > threshold], and the distance is the Hamming distance
    flips(a, b) = Σ_p |a_p − b_p| = Σ a + Σ b − 2 a·b, the number of pixels to flip to turn
    one into the other. ``images`` (N, C, H, W) or (N, D), ``reference`` (M, C, H, W) or a
    Dataset (with the same number of pixels). Returns ``flips`` (N,) float32 holding whole
    numbers (float so that ``.mean()`` and ``.quantile()`` work) and ``index`` (N,) int64 into
    ``reference`` (e.g. ``reference_set.labels[index]`` gives the nearest image's label).

    Why binarise: under the plain squared pixel distance a faint grey blur is close to every
    digit (it hedges between them), so blurry, undecided decodings would score as
    "near a real image". After thresholding, a blur becomes either an empty image or a blob,
    both many flips away from any real digit, while a sharp, digit-like decoding stays close.
    Used in 01_autoencoder and 02_vae.
    """
    threshold = float(threshold)
    if not 0.0 <= threshold < 1.0:
        raise ValueError(
            f"threshold must lie in [0, 1) for pixel values in [0, 1], got {threshold}"
        )
    batch_size = positive_int(batch_size, "batch_size")
    a_all = _flat_binary(images, "images", threshold)
    b = _flat_binary(reference, "reference", threshold)
    if a_all.shape[1] != b.shape[1]:
        raise ValueError(
            f"images have {a_all.shape[1]} pixels each but the reference images have "
            f"{b.shape[1]}: compare images of the same size"
        )
    b_counts = b.sum(1)
    flips, index = [], []
    for start in range(0, a_all.shape[0], batch_size):
        a = a_all[start : start + batch_size]
        distances = a.sum(1, keepdim=True) + b_counts[None] - 2.0 * (a @ b.T)
        best, where = distances.min(dim=1)
        flips.append(best.round())
        index.append(where)
    return torch.cat(flips), torch.cat(index)
