"""Tests of the teaching explorers in vae_course.widgets (gradient estimators, ELBO gap)."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

widgets = pytest.importorskip("vae_course.widgets")

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


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
