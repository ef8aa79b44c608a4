"""Chapter 00, warm-up: ``pixel_mean`` (implementation)."""

from __future__ import annotations

import numpy as np
import torch

from ..function import FunctionDrill
from ..observation import EDGE, Mistake, Probe
from ..outputs import TensorOut


def pixel_mean_probes(seed: int = 0) -> list[Probe]:
    """Image batches (N, 1, H, W) with N != H, and a single image."""
    g = torch.Generator().manual_seed(1 + seed)
    return [
        Probe("mnist_5", (torch.rand(5, 1, 28, 28, generator=g),)),
        Probe("small_3", (torch.rand(3, 1, 8, 8, generator=g),)),
        Probe("wide_7", (torch.rand(7, 1, 12, 20, generator=g),)),
        Probe(
            "one_image",
            (torch.rand(1, 1, 28, 28, generator=g),),
            group=EDGE,
            label="a single image (N = 1)",
            advice="Avoid `.squeeze()`: it also removes the batch dimension.",
        ),
    ]


def _pm_mean_all(images):
    return images.mean()


def _pm_mean_dim0(images):
    return images.mean(dim=0)


def _pm_sum(images):
    return images.sum(dim=(1, 2, 3))


def _pm_last_dim(images):
    return images.mean(dim=-1)


def _pm_numpy(images):
    return np.asarray(images).mean(axis=(1, 2, 3))


PIXEL_MEAN_MISTAKES = (
    Mistake(
        "mean_over_everything",
        _pm_mean_all,
        "It averages over the whole batch and returns one number; keep one value per "
        "image: average over every dimension except dim 0.",
    ),
    Mistake(
        "mean_over_batch",
        _pm_mean_dim0,
        "It averages over dim 0, the images, and returns an average image; average over "
        "the pixels of each image instead (dims 1, 2, 3).",
    ),
    Mistake(
        "sum_instead_of_mean",
        _pm_sum,
        "It sums the pixels; the mean divides the sum by the number of pixels.",
    ),
    Mistake(
        "last_dim_only",
        _pm_last_dim,
        "It averages over the last dimension only (one row of pixels at a time); average "
        "over channels, height and width: dim=(1, 2, 3).",
    ),
    Mistake(
        "numpy_result",
        _pm_numpy,
        "It returns a numpy array; return a torch tensor (use torch operations).",
    ),
)

PIXEL_MEAN = FunctionDrill(
    id="pixel_mean",
    chapter="00",
    title="Warm-up: mean intensity of each image",
    answer_name="pixel_mean",
    max_score=2,
    prompt=(
        "Implement `pixel_mean(images) -> Tensor (N,)`: the mean intensity of each image, for "
        "a batch of images shaped (N, 1, H, W) with values in [0, 1]. Return a float32 tensor "
        "with one value per image; do not modify the input."
    ),
    hints=(
        "A tensor's `.mean(dim=...)` accepts a tuple of dimensions.",
        "Keep dim 0 (the images) and average over dims 1, 2 and 3.",
    ),
    solution=(
        "```python\n"
        "def pixel_mean(images):\n"
        "    return images.mean(dim=(1, 2, 3))\n"
        "```\n\n"
        "Equivalently `images.flatten(1).mean(dim=1)`: flatten each image into a row of "
        "pixels, then average each row."
    ),
    reference_name="vae_course.drills.references:pixel_mean",
    mistakes=PIXEL_MEAN_MISTAKES,
    make_probes=pixel_mean_probes,
    output=TensorOut(lambda p: (p.args[0].shape[0],), "one mean per image"),
    arg_names=("images",),
    wrong_values="Its values are not the mean intensity of each image.",
    success="All checks passed: one mean per image, float32, input untouched.",
)

DRILLS = (PIXEL_MEAN,)
