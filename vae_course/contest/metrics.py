"""From a model's outputs (plain arrays) to a task's metric, in the grader's own process.

Nothing here runs learner code: the outputs arrive decoded from the scoring sandbox
(:mod:`vae_course.drills.codec`), are checked for shape and finiteness (else
:class:`PresentationError`), and are scored against answers that never left the grader.

* anomaly: ROC AUC = P(score of a random anomaly > score of a random normal image), ties ½;
* compressor: −ELBO(x) = Σ_pixels BCE(logits, x) + KL(N(mu, e^log_var) ‖ N(0, I)) per
  image, averaged; the mean KL is the rate, checked against the task's budget;
* conditional: the fixed classifier's accuracy on the generated images, after a check that
  the images of each class vary (their mean per-pixel standard deviation is at least
  :data:`MIN_SPREAD` of the real digits').
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

MIN_SPREAD = 0.25


class PresentationError(ValueError):
    """The outputs do not have the shape, type or range the task asks for."""


def _tensor(value, name: str, shape: tuple) -> torch.Tensor:
    if not isinstance(value, np.ndarray):
        raise PresentationError(f"{name} is missing or not an array")
    if tuple(value.shape) != shape:
        raise PresentationError(f"{name} has shape {tuple(value.shape)}; expected {shape}")
    if not np.all(np.isfinite(value)):
        raise PresentationError(f"{name} holds NaN or inf")
    return torch.from_numpy(np.array(value, dtype=np.float64))


def roc_auc(scores: torch.Tensor, is_anomaly: torch.Tensor) -> float:
    """P(anomaly's score > normal's score), ties counting ½."""
    positive, negative = scores[is_anomaly.bool()], scores[~is_anomaly.bool()]
    wins = (positive[:, None] > negative[None, :]).double()
    ties = (positive[:, None] == negative[None, :]).double()
    return float((wins + 0.5 * ties).mean())


def anomaly_metric(outputs: dict, images: torch.Tensor, is_anomaly: torch.Tensor) -> dict:
    """{"metric": AUC} for ``score`` outputs of one split."""
    scores = _tensor(outputs.get("scores"), "score(x)", (len(images),))
    return {"metric": roc_auc(scores, is_anomaly)}


def latent_codes(outputs: dict, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(mu, log_var), each (N, d), from ``encode`` outputs (checked)."""
    mu = outputs.get("mu")
    if not isinstance(mu, np.ndarray) or mu.ndim != 2:
        raise PresentationError("encode(x) must return (mu, log_var), each of shape (B, d)")
    shape = (len(images), mu.shape[1])
    return _tensor(mu, "mu", shape), _tensor(outputs.get("log_var"), "log_var", shape)


def sample_codes(mu: torch.Tensor, log_var: torch.Tensor, noise_seed: int) -> torch.Tensor:
    """z = mu + exp(log_var / 2) · ε with ε from a generator seeded by ``noise_seed``."""
    eps = torch.randn(mu.shape, generator=torch.Generator().manual_seed(noise_seed), dtype=mu.dtype)
    return mu + torch.exp(0.5 * log_var) * eps


def compressor_metric(
    decoded: dict, images: torch.Tensor, mu: torch.Tensor, log_var: torch.Tensor, kl_budget: float
) -> dict:
    """{"metric": −ELBO, "rate": mean KL, "over_budget": bool} for one split."""
    logits = _tensor(decoded.get("logits"), "decode(z)", (len(images), 1, 28, 28))
    x = images.double()
    bce = F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)
    kl = 0.5 * (mu.pow(2) + log_var.exp() - log_var - 1).sum(1)
    rate = float(kl.mean())
    return {
        "metric": float((bce + kl).mean()),
        "rate": rate,
        "over_budget": rate > kl_budget + 1e-9,
    }


def spread(images: torch.Tensor, labels: torch.Tensor) -> float:
    """Mean over classes of the mean per-pixel standard deviation of that class's images."""
    values = [
        images[labels == c].std(dim=0).mean() for c in labels.unique() if (labels == c).sum() > 1
    ]
    return float(torch.stack(values).mean())


def conditional_metric(outputs: dict, labels: torch.Tensor, real_spread: float) -> dict:
    """{"metric": accuracy} for ``generate`` outputs of one split (after the spread check)."""
    from .classifier import accuracy

    images = _tensor(outputs.get("images"), "generate(labels)", (len(labels), 1, 28, 28))
    if images.min() < -1e-6 or images.max() > 1 + 1e-6:
        raise PresentationError("generate(labels) must return images with values in [0, 1]")
    varied = spread(images, labels)
    if varied < MIN_SPREAD * real_spread:
        raise PresentationError(
            f"the images of a class barely vary (spread {varied:.3f}, below {MIN_SPREAD:g} of "
            f"the real digits' {real_spread:.3f}): generate new digits, not copies"
        )
    return {"metric": accuracy(images.float(), labels), "spread": varied}


__all__ = [
    "MIN_SPREAD",
    "PresentationError",
    "anomaly_metric",
    "compressor_metric",
    "conditional_metric",
    "latent_codes",
    "roc_auc",
    "sample_codes",
    "spread",
]
