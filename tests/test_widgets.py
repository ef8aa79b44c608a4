"""Tests of vae_course.widgets: moving a slider re-renders the PNG image, no browser needed."""

from __future__ import annotations

import pytest
import torch

widgets = pytest.importorskip("vae_course.widgets")

from vae_course.models import VAE  # noqa: E402
from vae_course.plots import posterior_mean  # noqa: E402

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
