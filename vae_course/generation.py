"""What a decoder makes, measured: random codes, generated images, straight latent paths.

Chapters 01 and 02 ask whether decoding a *random* code gives something digit-like, and
whether the straight line between two codes stays among real digits; chapters 06 and 07
ask how much decodings vary and how sharp they are. The measures:

* :func:`random_codes`: the model's own way to pick a code (the prior N(0, I) for a VAE,
  uniform in the box of the training codes for an autoencoder, which has no prior);
* :func:`generation_report`: pixel flips from generated images to the nearest training
  image (:func:`vae_course.diagnostics.nearest_training_image`), against the model's own
  reconstructions, and the latent "gap ratio" of the codes;
* :func:`latent_paths`: decodings along straight lines between the codes of image pairs;
* :func:`share_of_commonest`, :func:`image_spread`, :func:`edge_sharpness`: one-number
  summaries of a set of labels or images.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from vae_course._checks import integer, positive_int
from vae_course.diagnostics import nearest_training_image
from vae_course.models import as_image_batch, decode_probabilities, encode_all, posterior_mean

__all__ = [
    "edge_sharpness",
    "generation_report",
    "image_spread",
    "latent_paths",
    "random_codes",
    "share_of_commonest",
]


def random_codes(model: nn.Module, images: Any, n: int = 1000, seed: int = 0) -> Tensor:
    """``n`` random codes (n, d) the way the model would pick them, drawn with ``seed``.

    A VAE (``encode`` returns ``(mu, log_var)``): z ~ N(0, I), its prior. An autoencoder
    (``encode`` returns one code) has no prior: z is uniform in the box [min, max] of the
    codes of ``images`` (its training images), dimension by dimension. Taught in
    01_autoencoder (the "holes"); used in 02_vae.
    """
    n = positive_int(n, "n")
    generator = torch.Generator().manual_seed(integer(seed, "seed"))
    codes, log_var = encode_all(model, images)
    if log_var is not None:
        return torch.randn(n, codes.shape[1], generator=generator)
    low, high = codes.min(0).values, codes.max(0).values
    return low + (high - low) * torch.rand(n, codes.shape[1], generator=generator)


def generation_report(
    model: nn.Module, codes: Tensor, train_set: Any, test_set: Any, keep: int = 32
) -> dict[str, Any]:
    """Decode ``codes`` (n, d) and measure how much the decodings look like real images.

    ``train_set`` and ``test_set`` are Datasets (``.images``, and ``.labels`` for the
    training set). Every decoding and every reconstruction of a test image (decoded mean
    code) is binarised and compared with the training images by pixel flips. Returns:

    * ``"images"``: the first ``keep`` decodings (keep, C, H, W);
    * ``"reconstruction flips"`` (N_test,) and ``"flips"`` (n,): flips to the nearest
      training image;
    * ``"digit-like"``: the share of decodings with no more flips than 90% of the
      reconstructions, and ``"labels"``: the labels of the nearest training images of
      those digit-like decodings;
    * ``"gap ratio"``: median over the codes of (distance to the nearest training code) /
      (the median such distance of the test codes): about 1 for codes as close to known
      codes as real images are, large for codes in holes.

    Taught in 01_autoencoder (the holes, measured); used again in 02_vae (AE vs VAE).
    """
    keep = positive_int(keep, "keep")
    train_images = as_image_batch(train_set, "train_set")
    train_codes = posterior_mean(model, train_images)
    test_codes = posterior_mean(model, as_image_batch(test_set, "test_set"))
    typical = torch.cdist(test_codes, train_codes).min(1).values.median()
    generated = decode_probabilities(model, codes)
    reconstructed = decode_probabilities(model, test_codes)
    recon_flips, _ = nearest_training_image(reconstructed, train_images)
    flips, nearest = nearest_training_image(generated, train_images)
    digit_like = flips <= recon_flips.quantile(0.9)
    return {
        "images": generated[:keep],
        "reconstruction flips": recon_flips,
        "flips": flips,
        "labels": train_set.labels[nearest][digit_like],
        "digit-like": digit_like.float().mean().item(),
        "gap ratio": (torch.cdist(codes, train_codes).min(1).values / typical).median().item(),
    }


def latent_paths(
    model: nn.Module, images: Tensor, labels: Tensor, pairs: int = 200, steps: int = 11,
    seed: int = 0,
) -> Tensor:  # fmt: skip
    """Decodings along straight latent paths between random pairs of images with different
    labels: (pairs, steps, C, H, W) pixel probabilities.

    Pairs (a, b) are drawn with ``seed`` (pairs with equal labels are skipped); the path is
    z_t = (1 - t) mu(x_a) + t mu(x_b) for ``steps`` values of t from 0 to 1. The ends are
    the reconstructions of the two images. Taught in 01_autoencoder; used in 02_vae.
    """
    pairs = positive_int(pairs, "pairs")
    steps = positive_int(steps, "steps")
    count = len(labels)
    generator = torch.Generator().manual_seed(integer(seed, "seed"))
    a = torch.randint(count, (4 * pairs,), generator=generator)
    b = torch.randint(count, (4 * pairs,), generator=generator)
    keep = labels[a] != labels[b]
    a, b = a[keep][:pairs], b[keep][:pairs]
    z_a = posterior_mean(model, images[a])
    z_b = posterior_mean(model, images[b])
    t = torch.linspace(0, 1, steps)[None, :, None]
    path = (1 - t) * z_a[:, None] + t * z_b[:, None]
    decoded = decode_probabilities(model, path.reshape(-1, z_a.shape[1]))
    return decoded.reshape(len(a), steps, *decoded.shape[1:])


def share_of_commonest(labels: Tensor, num_classes: int = 10) -> str:
    """``"k (p%)"``: the most frequent label and its share (``"-"`` when there are none).
    Used in 01_autoencoder and 02_vae (which digits the random codes show)."""
    if len(labels) == 0:
        return "-"
    counts = torch.bincount(labels, minlength=num_classes).float() / len(labels)
    return f"{counts.argmax().item()} ({counts.max():.0%})"


def image_spread(images: Tensor) -> float:
    """How much a set of images (N, ...) differs: the variance across the images of each
    pixel, averaged over pixels. 0 when all images are identical. Used in
    06_posterior_collapse (do reconstructions and samples depend on z?)."""
    return as_image_batch(images).flatten(1).var(dim=0).mean().item()


def edge_sharpness(images: Tensor) -> float:
    """Mean squared difference between horizontally and vertically neighbouring pixels of
    images (..., H, W): large for crisp edges, small for blur. Used in 07_beta_vae (how
    much reconstructions blur as β grows, relative to the inputs)."""
    dx = (images[..., :, 1:] - images[..., :, :-1]).pow(2).mean()
    dy = (images[..., 1:, :] - images[..., :-1, :]).pow(2).mean()
    return (dx + dy).item()
