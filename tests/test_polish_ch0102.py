"""Tests of the helpers moved out of chapters 01-02: nearest image, posterior regions, explorer."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.collections import PatchCollection  # noqa: E402

from vae_course import diagnostics, plots  # noqa: E402
from vae_course.models import VAE, Autoencoder  # noqa: E402

SHAPE = (1, 8, 8)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def images(n: int = 30, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, *SHAPE, generator=torch.Generator().manual_seed(seed))


def vae2() -> VAE:
    torch.manual_seed(0)
    return VAE(latent_dim=2, hidden_dims=(16,), input_shape=SHAPE)


# ----------------------------------------------------------------------------- nearest image


def test_an_image_in_the_reference_set_needs_no_flips():
    reference = images(20)
    flips, index = diagnostics.nearest_training_image(reference[[3, 7]], reference)
    assert flips.tolist() == [0.0, 0.0]
    assert ((reference[index] > 0.5) == (reference[[3, 7]] > 0.5)).all()


def test_flips_are_symmetric_and_count_differing_binary_pixels():
    a, b = images(1, seed=1), images(1, seed=2)
    ab, _ = diagnostics.nearest_training_image(a, b)
    ba, _ = diagnostics.nearest_training_image(b, a)
    assert ab.item() == ba.item() == ((a > 0.5) != (b > 0.5)).sum().item()


def test_nearest_is_the_minimum_over_the_reference_set():
    x, reference = images(5, seed=3), images(12, seed=4)
    flips, index = diagnostics.nearest_training_image(x, reference, batch_size=2)
    every = ((x > 0.5).flatten(1)[:, None] != (reference > 0.5).flatten(1)[None]).sum(2)
    assert torch.equal(flips, every.min(1).values.float())
    assert torch.equal(every[torch.arange(5), index], every.min(1).values)


def test_a_grey_blur_is_far_from_sharp_images():
    sharp = (images(10) > 0.5).float()
    blur = torch.full((1, *SHAPE), 0.45)
    flips, _ = diagnostics.nearest_training_image(blur, sharp)
    assert flips.item() > 0  # the blur binarises to an empty image, unlike every sharp one


def test_nearest_training_image_rejects_mismatched_sizes():
    with pytest.raises(ValueError, match="pixels"):
        diagnostics.nearest_training_image(images(2), torch.rand(3, 1, 4, 4))
    with pytest.raises(TypeError):
        diagnostics.nearest_training_image([1, 2], images(2))


# ----------------------------------------------------------------------------- regions


def test_posterior_regions_draws_one_ellipse_per_point_and_the_prior_circle():
    x, labels = images(30), torch.arange(30) % 3
    fig = plots.posterior_regions(vae2(), x, labels)
    ax = fig.axes[0]
    assert ax.get_title() and ax.get_xlabel() == "z1" and ax.get_ylabel() == "z2"
    regions = [c for c in ax.collections if isinstance(c, PatchCollection)]
    assert len(regions) == 1 and len(regions[0].get_paths()) == 30
    assert len(ax.patches) == 1  # the prior's 95% circle
    assert ax.patches[0].get_radius() == pytest.approx(plots.PRIOR_95_RADIUS)
    assert ax.get_legend() is not None


def test_prior_circle_holds_95_percent_of_the_prior():
    z = torch.randn(200_000, 2, generator=torch.Generator().manual_seed(0))
    inside = (z.norm(dim=1) <= plots.PRIOR_95_RADIUS).float().mean().item()
    assert inside == pytest.approx(0.95, abs=0.005)


def test_posterior_regions_of_an_autoencoder_draws_points_only_into_a_given_axes():
    torch.manual_seed(0)
    model = Autoencoder(latent_dim=2, hidden_dims=(16,), input_shape=SHAPE)
    fig, (left, right) = plt.subplots(1, 2)
    assert plots.posterior_regions(model, images(10), ax=right, title="AE") is fig
    assert right.get_title() == "AE" and not right.patches
    assert not any(isinstance(c, PatchCollection) for c in right.collections)


def test_posterior_regions_refuses_other_latent_sizes():
    torch.manual_seed(0)
    with pytest.raises(ValueError, match="latent_scatter"):
        plots.posterior_regions(VAE(latent_dim=3, hidden_dims=(16,), input_shape=SHAPE), images(4))


# ----------------------------------------------------------------------------- explorer


def test_latent_explorer_default_range_covers_the_codes():
    widgets = pytest.importorskip("vae_course.widgets")
    torch.manual_seed(0)
    model = Autoencoder(latent_dim=2, hidden_dims=(16,), input_shape=SHAPE)
    encode = model.encode
    model.encode = lambda x: encode(x) + 25.0  # codes far from the origin, outside [-3, 3]
    x = images(40)
    codes = plots.posterior_mean(model, x)
    box = widgets.latent_explorer(model, images=x)
    for i, slider in enumerate(box.sliders):
        assert slider.min <= codes[:, i].min().item() and codes[:, i].max().item() <= slider.max
        assert slider.min <= slider.value <= slider.max
    assert box.image.value  # rendered at the start


def test_latent_explorer_center_moves_the_range():
    widgets = pytest.importorskip("vae_course.widgets")
    box = widgets.latent_explorer(vae2(), span=2.0, center=(10.0, -4.0))
    assert [(s.min, s.max, s.value) for s in box.sliders] == [(8.0, 12.0, 10.0), (-6.0, -2.0, -4.0)]
    with pytest.raises(ValueError, match="not both"):
        widgets.latent_explorer(vae2(), center=(0, 0), images=images(3))
