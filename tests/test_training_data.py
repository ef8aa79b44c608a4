"""Tests of vae_course.training_data: what fit accepts as data, the checks before training, the fast subset."""

from __future__ import annotations

import math

import pytest
import torch
from training_support import SHAPE, fit_quiet, tiny_vae

from vae_course.training_data import as_split, check_values, fast_subset

pytestmark = pytest.mark.usefixtures("one_thread", "cpu_training")


def test_nan_in_a_batch_is_refused_before_training(train_data):
    images = train_data[0].clone()
    images[17, 0, 3, 3] = float("nan")
    with pytest.raises(ValueError, match="NaN or infinite pixel values.*example 17"):
        fit_quiet(tiny_vae(), images)
    images[17, 0, 3, 3] = float("inf")
    with pytest.raises(ValueError, match="NaN or infinite"):
        fit_quiet(tiny_vae(), images)


def test_pixels_outside_unit_interval_are_refused_for_bce(train_data):
    images = train_data[0] * 255
    with pytest.raises(ValueError, match=r"\[0, 1\].*divide by 255"):
        fit_quiet(tiny_vae(), images)
    # the Gaussian likelihood accepts any finite value
    history = fit_quiet(tiny_vae(), train_data[0] * 2 - 0.5, likelihood="gaussian", epochs=1)
    assert math.isfinite(history.last["train_loss"])


def test_fast_subset_keeps_class_proportions():
    images = torch.rand(1000, *SHAPE)
    labels = torch.cat([torch.zeros(700), torch.ones(200), torch.full((100,), 2)]).long()
    subset = fast_subset(as_split((images, labels), "data"), 100, seed=0)
    assert torch.bincount(subset.labels).tolist() == [70, 20, 10]
    # the images travel with their labels
    picked = [int(torch.nonzero((images == x).flatten(1).all(1))[0]) for x in subset.images[:5]]
    assert subset.labels[:5].tolist() == labels[picked].tolist()


def test_fast_subset_has_exactly_the_limit_and_is_seeded():
    images = torch.rand(1003, *SHAPE)
    labels = torch.arange(1003) % 7  # uneven classes: 144 or 143 examples each
    split = as_split((images, labels), "data")
    first, again = fast_subset(split, 100, seed=3), fast_subset(split, 100, seed=3)
    assert len(first.images) == 100 and torch.equal(first.images, again.images)
    assert not torch.equal(first.images, fast_subset(split, 100, seed=4).images)
    counts = torch.bincount(first.labels, minlength=7).tolist()
    assert sum(counts) == 100 and max(counts) - min(counts) <= 1


def test_fast_subset_without_labels_is_random_and_small_splits_are_kept():
    images = torch.rand(300, *SHAPE)
    split = as_split(images, "data")
    subset = fast_subset(split, 50, seed=0)
    assert subset.images.shape == (50, *SHAPE) and subset.labels is None
    assert fast_subset(split, 300, seed=0) is split


class _DatasetLike:
    def __init__(self, images, labels):
        self.images, self.labels, self.name, self.split = images, labels, "fake", "train"


@pytest.mark.parametrize("form", ["dataset", "tensor", "pair", "list pair"])
def test_as_split_accepts_every_documented_form(train_data, form):
    images, labels = train_data
    data = {
        "dataset": _DatasetLike(images, labels),
        "tensor": images,
        "pair": (images, labels),
        "list pair": [images.double(), labels.int()],
    }[form]
    split = as_split(data, "data")
    assert split.images.dtype == torch.float32 and split.images.shape == images.shape
    assert torch.allclose(split.images, images)
    if form == "tensor":
        assert split.labels is None
    else:
        assert split.labels.dtype == torch.int64 and torch.equal(split.labels, labels)
    assert (split.name, split.split) == (("fake", "train") if form == "dataset" else (None, None))


@pytest.mark.parametrize(
    ("data", "error", "message"),
    [
        ("not images", TypeError, "Dataset, an image tensor"),
        (torch.zeros(0, 1, 8, 8), ValueError, "N >= 1"),
        (torch.zeros(5), ValueError, r"\(N, C, H, W\)"),
        (torch.zeros(4, 1, 8, 8, dtype=torch.uint8), TypeError, "divide by 255"),
        ((torch.zeros(4, 1, 8, 8), torch.zeros(3)), ValueError, "4 images but 3 labels"),
    ],
)
def test_as_split_names_what_is_wrong(data, error, message):
    with pytest.raises(error, match=message):
        as_split(data, "data")


def test_check_values_accepts_unit_pixels_and_gaussian_ranges():
    split = as_split(torch.rand(10, *SHAPE), "data")
    check_values(split, "data", "bernoulli")  # no error
    wide = as_split(torch.rand(10, *SHAPE) * 3, "data")
    check_values(wide, "data", "gaussian")
    with pytest.raises(ValueError, match="likelihood='gaussian'"):
        check_values(wide, "data", "bernoulli")
