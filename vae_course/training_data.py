"""What :func:`vae_course.train.fit` accepts as data, and the checks it makes before training.

``data`` may be a :class:`vae_course.data.Dataset`, an image tensor (N, C, H, W) or a pair
(images, labels); :func:`as_split` turns each into a :class:`Split` (float32 images,
int64 labels or None) or says clearly what is wrong. :func:`check_values` refuses pixels
that would make the loss NaN or meaningless, :func:`fast_subset` applies the one
fast-mode subset rule (:func:`vae_course.data.subset_indices`) and :func:`auto_test_split`
finds the test split that matches a training split.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor


@dataclass
class Split:
    """Images (N, C, H, W) float32 and labels (N,) int64 (or None) of one data split, with
    the data set's name and split when they came from a ``Dataset``.
    Used by fit (every chapter); no chapter makes one."""

    images: Tensor
    labels: Tensor | None
    name: str | None = None
    split: str | None = None

    def to(self, device: torch.device) -> Split:
        """The same split with its tensors on ``device``."""
        labels = None if self.labels is None else self.labels.to(device)
        return Split(self.images.to(device), labels, self.name, self.split)


def as_split(data: Any, role: str) -> Split:
    """Accept a ``vae_course.data.Dataset``, an image tensor or an (images, labels) pair.

    ``role`` names the argument in messages ("data", "test_data"). Raises TypeError or
    ValueError with the fix for non-tensors, empty or unbatched images, integer pixels and
    a number of labels that does not match the images.
    Used by fit and steps_per_epoch (every chapter); no chapter calls it.
    """
    labels = None
    name = split = None
    if hasattr(data, "images"):
        images, labels = data.images, getattr(data, "labels", None)
        name, split = getattr(data, "name", None), getattr(data, "split", None)
    elif isinstance(data, (tuple, list)) and len(data) == 2:
        images, labels = data
    else:
        images = data
    try:
        images = torch.as_tensor(images)
    except (TypeError, ValueError, RuntimeError) as error:
        raise TypeError(
            f"{role} must be a vae_course Dataset, an image tensor (N, 1, H, W) or a pair "
            f"(images, labels); got {type(data).__name__}"
        ) from error
    if images.dim() < 2 or images.shape[0] == 0:
        raise ValueError(
            f"{role} images must have shape (N, C, H, W) with N >= 1; got {tuple(images.shape)}"
        )
    if not images.is_floating_point():
        hint = " (uint8 pixels: divide by 255)" if images.dtype == torch.uint8 else ""
        raise TypeError(f"{role} images must be floating point in [0, 1]; got {images.dtype}{hint}")
    if labels is not None:
        labels = torch.as_tensor(labels).long().reshape(-1)
        if labels.shape[0] != images.shape[0]:
            raise ValueError(
                f"{role}: {images.shape[0]} images but {labels.shape[0]} labels; they must match"
            )
    return Split(images.float().contiguous(), labels, name, split)


def check_values(split: Split, role: str, likelihood: str) -> None:
    """Refuse data that would make the loss NaN or meaningless, before any training:
    non-finite pixels, and pixels outside [0, 1] under the Bernoulli likelihood.
    Used by fit; 08_applications shows its message for 0..255 pixels."""
    images = split.images
    low, high = (float(v) for v in torch.aminmax(images))  # NaN and inf propagate here
    if not (math.isfinite(low) and math.isfinite(high)):
        bad = int((~torch.isfinite(images)).flatten(1).any(1).nonzero()[0])
        raise ValueError(
            f"{role} contains NaN or infinite pixel values (first at example {bad}); "
            "fix the preprocessing before training: every pixel must be a finite number in [0, 1]"
        )
    if likelihood == "bernoulli" and (low < 0.0 or high > 1.0):
        hint = " (it looks like 0-255 pixels: divide by 255)" if high > 1.5 else ""
        raise ValueError(
            f"{role} has pixel values in [{low:.3g}, {high:.3g}], but the Bernoulli likelihood "
            f"(binary cross-entropy) needs inputs in [0, 1]{hint}; rescale the images or pass "
            "likelihood='gaussian'"
        )


def fast_subset(split: Split, limit: int, seed: int) -> Split:
    """At most ``limit`` examples, by :func:`vae_course.data.subset_indices` (stratified by
    label with proportional shares when there are labels, else seeded random).
    Used by fit under VAE_COURSE_FAST=1 (CI); no chapter calls it."""
    from vae_course.data import subset_indices

    count = split.images.shape[0]
    if count <= limit:
        return split
    keep = subset_indices(count, limit, split.labels, seed)
    labels = None if split.labels is None else split.labels[keep]
    return Split(split.images[keep], labels, split.name, split.split)


def auto_test_split(train: Split) -> Split | None:
    """The test split matching a ``Dataset`` loaded with split "train", else None.
    Used by fit (test_data="auto") from 01_autoencoder on; no chapter calls it.
    """
    if train.name is None or train.split != "train":
        return None
    try:
        from vae_course.data import load_dataset

        if train.name == "shapes":  # same image size as the training images
            test = load_dataset(train.name, "test", image_size=int(train.images.shape[-1]))
        else:
            test = load_dataset(train.name, "test")
    except Exception as error:  # a missing test split must not stop training
        print(f"fit: no test split for {train.name!r} ({error}); reporting training metrics only")
        return None
    split = as_split(test, "test_data")
    if split.images.shape[1:] != train.images.shape[1:]:
        return None
    return split


__all__ = ["Split", "as_split", "auto_test_split", "check_values", "fast_subset"]
