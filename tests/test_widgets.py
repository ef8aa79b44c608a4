"""Tests of vae_course.widgets: moving a slider re-renders the PNG image, no browser needed."""

from __future__ import annotations

import io

import matplotlib.pyplot as plt
import pytest
import torch

from vae_course import widgets
from vae_course.models import VAE, Autoencoder, posterior_mean

SHAPE = (1, 8, 8)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def model(latent_dim: int) -> VAE:
    torch.manual_seed(0)
    return VAE(latent_dim=latent_dim, hidden_dims=(16,), input_shape=SHAPE)


def test_images_to_png_scales_the_grid():
    import io

    from PIL import Image

    png = widgets.images_to_png(torch.rand(3, *SHAPE), nrow=3, scale=2)
    picture = Image.open(io.BytesIO(png))
    assert png.startswith(PNG_SIGNATURE)
    assert picture.size == (2 * (2 + 3 * (8 + 2)), 2 * (2 + 8 + 2))


def test_latent_explorer_updates_the_image_when_a_slider_moves():
    box = widgets.latent_explorer(model(2))
    assert len(box.sliders) == 2 and bytes(box.image.value).startswith(PNG_SIGNATURE)
    before = box.image.value
    box.sliders[0].value = 2.5
    after_first = box.image.value
    assert after_first != before
    box.sliders[1].value = -2.5
    assert box.image.value not in (before, after_first)
    box.sliders[0].value, box.sliders[1].value = 0.0, 0.0
    assert box.image.value == before  # the picture is a function of the sliders only


def test_latent_explorer_refuses_other_latent_sizes():
    with pytest.raises(ValueError, match="traversal_sliders"):
        widgets.latent_explorer(model(3))


def test_traversal_sliders_start_at_the_posterior_mean_and_reset():
    vae = model(4)
    x = torch.rand(*SHAPE, generator=torch.Generator().manual_seed(1))
    box = widgets.traversal_sliders(vae, x, span=3.0)
    mean = posterior_mean(vae, x[None])[0].clamp(-3, 3)
    values = torch.tensor([s.value for s in box.sliders])
    assert len(box.sliders) == 4
    assert torch.allclose(values, mean, atol=box.sliders[0].step)
    start = box.image.value
    box.sliders[2].value = 2.9
    assert box.image.value != start
    reset = box.children[1].children[-1].children[-1]
    reset.click()
    assert box.sliders[2].value == pytest.approx(float(mean[2]), abs=box.sliders[0].step)


def test_traversal_sliders_without_an_image_start_at_zero():
    box = widgets.traversal_sliders(model(3))
    assert [s.value for s in box.sliders] == [0.0, 0.0, 0.0]


def test_beta_slider_switches_models():
    models = {1.0: model(2), 4.0: VAE(latent_dim=2, hidden_dims=(16,), input_shape=SHAPE)}
    box = widgets.beta_slider(models, torch.rand(5, *SHAPE), n=5)
    first = box.image.value
    box.sliders[0].value = 4.0
    assert box.image.value != first
    box.sliders[0].value = 1.0
    assert box.image.value == first
    with pytest.raises(ValueError, match="dict"):
        widgets.beta_slider({})


def random_images(n: int = 30, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, *SHAPE, generator=torch.Generator().manual_seed(seed))


def vae2() -> VAE:
    torch.manual_seed(0)
    return VAE(latent_dim=2, hidden_dims=(16,), input_shape=SHAPE)


# ----------------------------------------------------------------------------- explorer


def test_latent_explorer_default_range_covers_the_codes():
    torch.manual_seed(0)
    model = Autoencoder(latent_dim=2, hidden_dims=(16,), input_shape=SHAPE)
    encode = model.encode
    model.encode = lambda x: encode(x) + 25.0  # codes far from the origin, outside [-3, 3]
    x = random_images(40)
    codes = posterior_mean(model, x)
    box = widgets.latent_explorer(model, images=x)
    for i, slider in enumerate(box.sliders):
        assert slider.min <= codes[:, i].min().item() and codes[:, i].max().item() <= slider.max
        assert slider.min <= slider.value <= slider.max
    assert box.image.value  # rendered at the start


def test_latent_explorer_center_moves_the_range():
    box = widgets.latent_explorer(vae2(), span=2.0, center=(10.0, -4.0))
    assert [(s.min, s.max, s.value) for s in box.sliders] == [(8.0, 12.0, 10.0), (-6.0, -2.0, -4.0)]
    with pytest.raises(ValueError, match="not both"):
        widgets.latent_explorer(vae2(), center=(0, 0), images=random_images(3))


# ----------------------------------------------------------------------------- teaching explorers


def test_figure_to_png_closes_the_figure():
    from PIL import Image

    fig, ax = plt.subplots()
    ax.plot([0, 1])
    before = len(plt.get_fignums())
    png = widgets.figure_to_png(fig)
    assert png.startswith(PNG_SIGNATURE) and Image.open(io.BytesIO(png)).size[0] > 100
    assert len(plt.get_fignums()) == before - 1


@pytest.mark.parametrize(
    ("make", "names"),
    [
        (widgets.gradient_estimator_explorer, ["μ", "σ"]),
        (widgets.elbo_gap_explorer, ["mean of q", "σ of q"]),
    ],
)
def test_explorer_re_renders_when_a_slider_moves(make, names):
    figures_before = len(plt.get_fignums())
    box = make()
    assert [s.description for s in box.sliders] == names
    first = bytes(box.image.value)
    assert first.startswith(PNG_SIGNATURE)
    box.sliders[0].value = box.sliders[0].value + 0.5
    moved_first = bytes(box.image.value)
    assert moved_first != first
    box.sliders[1].value = box.sliders[1].value / 2
    assert bytes(box.image.value) not in (first, moved_first)
    box.sliders[0].value -= 0.5
    box.sliders[1].value *= 2
    box.render()
    assert bytes(box.image.value) == first  # the picture depends only on the sliders
    assert len(plt.get_fignums()) == figures_before  # no figures left open


def test_explorers_start_at_the_given_values():
    box = widgets.elbo_gap_explorer(m=1.2, sigma=0.45)
    assert [s.value for s in box.sliders] == pytest.approx([1.2, 0.45])
    box = widgets.gradient_estimator_explorer(mu=-1.0, sigma=0.1)
    assert box.sliders[0].value == pytest.approx(-1.0)
    assert box.sliders[1].value == pytest.approx(0.1, rel=0.15)


def test_elbo_gap_explorer_rejects_a_bad_toy():
    with pytest.raises(TypeError, match="LinearGaussianToy"):
        widgets.elbo_gap_explorer(toy=3)
