"""Uses of a trained VAE, taught in 08_applications: scores, paths and features from its codes.

Every function takes a VAE with ``encode(x) -> (mu, log_var)`` (each (N, d)) and
``decode(z) -> logits`` (N, C, H, W), and runs it in evaluation mode without gradients
(the model's mode is restored afterwards).

* :func:`anomaly_score`: s(x) = -log p(x | z = mu(x)), the Bernoulli reconstruction error
  of the mean code, summed over pixels, (N, C, H, W) -> (N,).
* :func:`interpolate`: sigmoid(decode((1 - t) mu(x_a) + t mu(x_b))) for ``steps`` values of
  t from 0 to 1, endpoints included, -> (steps, C, H, W).
* :func:`attribute_vector`: v = mean_i mu(x_i^with) - mean_j mu(x_j^without), (d,).
* :func:`few_labels`: a seeded, stratified draw of labelled examples (so many per class).
* :func:`logistic_regression_accuracy`: test accuracy of a logistic regression fitted on
  a few labelled feature vectors (codes mu(x), or raw pixels).
* :func:`perturbed_code_images`: augmentation in code space: decode mu(x) + s * sigma(x) * eps
  for each labelled image, keeping its label.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from vae_course._checks import integer, positive_int, positive_number
from vae_course.losses import bernoulli_log_likelihood
from vae_course.models import evaluating


def anomaly_score(model: nn.Module, x: Tensor) -> Tensor:
    """The reconstruction error of the mean code, one score per image: (N, C, H, W) -> (N,).

    s(x) = -log p(x | z = mu(x)) = sum over pixels of BCE-with-logits(decode(mu(x)), x),
    in eval mode under ``torch.no_grad()`` (no sampling: the same image always gets the same
    score). High = unusual for the training data. Taught in 08_applications, Exercise 8.1.
    """
    with evaluating(model):
        mu, _ = model.encode(x)
        return -bernoulli_log_likelihood(model.decode(mu), x)


def interpolate(model: nn.Module, x_a: Tensor, x_b: Tensor, steps: int) -> Tensor:
    """Pixel probabilities along the straight line between two mean codes: (steps, C, H, W).

    With z_a = mu(x_a), z_b = mu(x_b) (``x_a``, ``x_b`` one image each, (C, H, W)) and
    t_k = k / (steps - 1), k = 0 .. steps-1 (so t runs from 0 to 1, both ends included):
    image_k = sigmoid(decode((1 - t_k) z_a + t_k z_b)). Eval mode, no gradients.
    Taught in 08_applications, Exercise 8.3.
    """
    steps = positive_int(steps, "steps")
    if steps < 2:
        raise ValueError("steps must be at least 2 (the two end points)")
    with evaluating(model):
        mu, _ = model.encode(torch.stack([x_a, x_b]))
        t = torch.linspace(0, 1, steps, dtype=mu.dtype, device=mu.device)[:, None]
        return torch.sigmoid(model.decode((1 - t) * mu[0] + t * mu[1]))


def attribute_vector(model: nn.Module, x_with: Tensor, x_without: Tensor) -> Tensor:
    """The difference of the groups' mean codes, (d,): mean mu(x_with) - mean mu(x_without).

    ``x_with`` (N1, C, H, W) show the attribute, ``x_without`` (N2, C, H, W) do not (N1 and
    N2 may differ); adding alpha * v to a code adds the attribute. Eval mode, no gradients.
    Taught in 08_applications, Exercise 8.4.
    """
    with evaluating(model):
        return model.encode(x_with)[0].mean(dim=0) - model.encode(x_without)[0].mean(dim=0)


def few_labels(labels: Tensor, per_class: int, seed: int) -> Tensor:
    """Indices (per_class * classes,) of a seeded draw of ``per_class`` examples of each
    class of ``labels`` (N,): the labelled set of a few-label experiment (e.g. 10 of each
    digit = 100 labels). Used in 08_applications (features and augmentation)."""
    per_class = positive_int(per_class, "per_class")
    seed = integer(seed, "seed")
    labels = torch.as_tensor(labels).reshape(-1)
    generator = torch.Generator().manual_seed(seed)
    picked = []
    for label in torch.unique(labels).tolist():
        members = torch.nonzero(labels == label).flatten()
        if len(members) < per_class:
            raise ValueError(f"class {label} has {len(members)} examples, fewer than {per_class}")
        picked.append(members[torch.randperm(len(members), generator=generator)[:per_class]])
    return torch.cat(picked)


def logistic_regression_accuracy(
    train_features: Tensor | np.ndarray,
    train_labels: Tensor | np.ndarray,
    test_features: Tensor | np.ndarray,
    test_labels: Tensor | np.ndarray,
    weight_decay: float = 1.0,
) -> float:
    """Test accuracy in [0, 1] of a multinomial logistic regression (scikit-learn, L2
    penalty with C = 1 / ``weight_decay``) fitted on ``train_features`` (n, D) after
    standardising each feature with the training mean and spread.

    The same classifier for every kind of feature (codes mu(x) (n, d), flattened pixels
    (n, 784)), so only the features differ. Used in 08_applications.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    weight_decay = positive_number(weight_decay, "weight_decay")

    def flat(values: Tensor | np.ndarray) -> np.ndarray:
        array = values.detach().cpu().numpy() if isinstance(values, Tensor) else values
        return np.asarray(array, dtype=np.float64).reshape(len(array), -1)

    classifier = make_pipeline(
        StandardScaler(), LogisticRegression(C=1.0 / weight_decay, max_iter=2000)
    )
    classifier.fit(flat(train_features), flat(train_labels).ravel())
    return float(classifier.score(flat(test_features), flat(test_labels).ravel()))


def perturbed_code_images(
    model: nn.Module,
    images: Tensor,
    labels: Tensor,
    copies: int,
    scale: float = 1.0,
    seed: int = 0,
) -> tuple[Tensor, Tensor]:
    """Augmentation in code space: ``copies`` new images per labelled image, with its label.

    For each image x (N, C, H, W): z = mu(x) + scale * sigma(x) * eps, eps ~ N(0, I) (scale
    = 1 draws from q(z|x)), decoded to pixel probabilities sigmoid(decode(z)). Returns
    (images (N * copies, C, H, W), labels (N * copies,)), the copies of image i together.
    Seeded, eval mode, no gradients. Used in 08_applications.
    """
    copies = positive_int(copies, "copies")
    scale = positive_number(scale, "scale")
    generator = torch.Generator().manual_seed(integer(seed, "seed"))
    with evaluating(model):
        mu, log_var = model.encode(images)
        mu, sigma = (
            mu.repeat_interleave(copies, 0),
            (0.5 * log_var).exp().repeat_interleave(copies, 0),
        )
        eps = torch.randn(mu.shape, generator=generator).to(mu)
        new_images = torch.sigmoid(model.decode(mu + scale * sigma * eps))
    return new_images, torch.as_tensor(labels).repeat_interleave(copies)


__all__ = [
    "anomaly_score",
    "attribute_vector",
    "few_labels",
    "interpolate",
    "logistic_regression_accuracy",
    "perturbed_code_images",
]
