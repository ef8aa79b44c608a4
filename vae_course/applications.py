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
* :func:`logistic_regression_accuracy`: test accuracy of a small torch logistic regression
  fitted on a few labelled feature vectors (codes mu(x), or raw pixels).
* :func:`perturbed_code_images`: augmentation in code space: decode mu(x) + s * sigma(x) * eps
  for each labelled image, keeping its label.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vae_course._checks import finite_number, integer, positive_int, positive_number
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
    weight_decay: float = 0.01,
    steps: int = 100,
) -> float:
    """Test accuracy in [0, 1] of a multinomial logistic regression fitted on a few examples.

    Features (n, D) are standardised with the training mean and spread (a feature that does
    not vary keeps spread 1); labels are class indices 0..C-1. The weights W (D, C) and
    biases b (C,) minimise mean_i CE(softmax(x_i W + b), y_i) + weight_decay / 2 * ||W||^2,
    starting from zero, by full-batch L-BFGS with at most ``steps`` iterations (on one thread,
    restored afterwards): deterministic,
    and cheap for any D (codes mu(x) (n, 16) or flattened pixels (n, 784)), so that only the
    features differ between two runs. Used in 08_applications.
    """
    weight_decay = finite_number(weight_decay, "weight_decay", minimum=0.0)
    steps = positive_int(steps, "steps")

    def as_tensor(values: Tensor | np.ndarray) -> Tensor:
        return torch.as_tensor(values).detach().cpu().reshape(len(values), -1).double()

    x, x_test = as_tensor(train_features), as_tensor(test_features)
    y = torch.as_tensor(train_labels).reshape(-1).long()
    y_test = torch.as_tensor(test_labels).reshape(-1).long()
    mean, spread = x.mean(dim=0), x.std(dim=0, correction=0)
    spread = torch.where(spread > 1e-6, spread, torch.ones_like(spread))
    x, x_test = (x - mean) / spread, (x_test - mean) / spread
    classes = int(max(y.max(), y_test.max())) + 1
    weights = torch.zeros(x.shape[1], classes, dtype=torch.float64, requires_grad=True)
    bias = torch.zeros(classes, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS(
        [weights, bias], max_iter=steps, history_size=10, line_search_fn="strong_wolfe"
    )

    def closure() -> Tensor:
        optimizer.zero_grad()
        loss = F.cross_entropy(x @ weights + bias, y) + 0.5 * weight_decay * weights.pow(2).sum()
        loss.backward()
        return loss

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny matrices: a second thread only adds waiting
    try:
        with torch.enable_grad():
            optimizer.step(closure)
        with torch.no_grad():
            predicted = (x_test @ weights + bias).argmax(dim=1)
    finally:
        torch.set_num_threads(threads)
    return float((predicted == y_test).double().mean())


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
