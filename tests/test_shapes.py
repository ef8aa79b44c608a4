"""The procedural dSprites-like data set: factors, determinism, one factor per change."""

from __future__ import annotations

import pytest
import torch

from vae_course import shapes


def test_factor_cardinalities_match_dsprites():
    assert shapes.FACTOR_SIZES == (3, 6, 40, 32, 32)
    for name, size in zip(shapes.FACTOR_NAMES, shapes.FACTOR_SIZES, strict=True):
        assert len(shapes.factor_values(name)) == size
    scale = shapes.factor_values("scale")
    assert scale.min() == pytest.approx(0.5) and scale.max() == pytest.approx(1.0)
    orientation = shapes.factor_values("orientation")
    assert orientation.min() == 0 and orientation.max() < 2 * torch.pi


def test_generate_returns_images_and_all_factor_values():
    images, values, classes = shapes.generate_shapes(60, image_size=32, seed=3)
    assert images.shape == (60, 1, 32, 32) and images.dtype == torch.float32
    assert values.shape == (60, 5) and classes.shape == (60, 5)
    assert torch.allclose(values, shapes.classes_to_values(classes))
    assert 0 <= images.min() and images.max() <= 1 and images.max() == 1
    for j, size in enumerate(shapes.FACTOR_SIZES):
        assert classes[:, j].min() >= 0 and classes[:, j].max() < size
    assert classes[:, 0].bincount().tolist() == [20, 20, 20]


def test_same_seed_same_data_and_different_seed_different_data():
    a = shapes.generate_shapes(20, image_size=24, seed=7)
    b = shapes.generate_shapes(20, image_size=24, seed=7)
    c = shapes.generate_shapes(20, image_size=24, seed=8)
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    assert not torch.equal(a[2], c[2])


@pytest.mark.parametrize("factor", range(5))
def test_changing_one_factor_changes_the_image(factor):
    # a heart (no rotational symmetry), so every orientation step is a visible change
    base = torch.tensor([[2, 3, 5, 10, 20]])
    for other in (0, shapes.FACTOR_SIZES[factor] - 1):
        changed = base.clone()
        changed[0, factor] = other if other != base[0, factor] else other - 1
        images = shapes.render_classes(torch.cat([base, changed]), image_size=64)
        assert (images[0] - images[1]).abs().sum() > 0.5, (factor, other)


def test_render_matches_render_classes_and_default_size_is_64():
    classes = torch.tensor([[1, 2, 3, 4, 5]])
    values = shapes.classes_to_values(classes)[0]
    one = shapes.render(int(values[0]), *values[1:].tolist())
    assert one.shape == (1, 64, 64)
    assert torch.allclose(one, shapes.render_classes(classes)[0])


def test_position_moves_the_shape_the_right_way():
    left = shapes.render("square", 0.5, 0.0, 0.0, 0.5, image_size=32)[0]
    right = shapes.render("square", 0.5, 0.0, 1.0, 0.5, image_size=32)[0]
    columns = torch.arange(32, dtype=torch.float32)
    centre = lambda img: (img.sum(0) * columns).sum() / img.sum()  # noqa: E731
    assert centre(right) > centre(left) + 10


@pytest.mark.parametrize(
    "call",
    [
        lambda: shapes.generate_shapes(0),
        lambda: shapes.render("triangle", 1, 0, 0.5, 0.5),
        lambda: shapes.render("square", -1, 0, 0.5, 0.5),
        lambda: shapes.render_values(torch.zeros(3, 4)),
        lambda: shapes.factor_values("colour"),
    ],
)
def test_bad_arguments_raise_clear_value_errors(call):
    with pytest.raises(ValueError):
        call()
