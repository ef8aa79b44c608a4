"""Tests of vae_course.plots: every function returns a titled Figure and checks its input."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import pytest
import torch
from matplotlib.collections import PatchCollection
from matplotlib.figure import Figure

from vae_course import plots, toys
from vae_course.history import History
from vae_course.models import VAE, Autoencoder, ConditionalVAE

SHAPE = (1, 8, 8)


def model(latent_dim: int = 3) -> VAE:
    torch.manual_seed(0)
    return VAE(latent_dim=latent_dim, hidden_dims=(16,), input_shape=SHAPE)


@pytest.fixture(scope="module")
def images():
    return torch.rand(40, *SHAPE, generator=torch.Generator().manual_seed(0))


@pytest.fixture(scope="module")
def labels():
    return torch.arange(40) % 4


def title_of(fig: Figure) -> str:
    return fig.axes[0].get_title()


def test_image_grid(images):
    fig = plots.image_grid(images[:10], nrow=5, title="Ten images")
    assert isinstance(fig, Figure) and title_of(fig) == "Ten images"
    # (N, H, W) and a single (H, W) image are accepted too
    assert isinstance(plots.image_grid(images[:3, 0]), Figure)
    assert isinstance(plots.image_grid(images[0, 0]), Figure)
    with pytest.raises(ValueError, match="nrow"):
        plots.image_grid(images, nrow=0)
    with pytest.raises(ValueError, match="shaped"):
        plots.image_grid(torch.rand(2, 2, 2, 2, 2))


def test_reconstructions_show_inputs_and_outputs(images):
    fig = plots.reconstructions(model(), images, n=6)
    ax = fig.axes[0]
    assert "reconstruction" in title_of(fig).lower()
    assert [t.get_text() for t in ax.get_yticklabels()] == ["input", "reconstruction"]


def test_prior_samples_are_reproducible(images):
    first = plots.prior_samples(model(), n=16, seed=3)
    second = plots.prior_samples(model(), n=16, seed=3)
    other = plots.prior_samples(model(), n=16, seed=4)
    pixels = [f.axes[0].images[0].get_array() for f in (first, second, other)]
    assert (pixels[0] == pixels[1]).all() and not (pixels[0] == pixels[2]).all()
    assert "prior" in title_of(first).lower()


def test_prior_samples_of_autoencoder_and_conditional_model():
    torch.manual_seed(0)
    ae = Autoencoder(latent_dim=2, hidden_dims=(8,), input_shape=SHAPE)
    assert isinstance(plots.prior_samples(ae, n=4), Figure)
    cvae = ConditionalVAE(num_classes=3, latent_dim=2, hidden_dims=(8,), input_shape=SHAPE)
    assert isinstance(plots.prior_samples(cvae, n=6), Figure)


@pytest.mark.parametrize(
    ("latent_dim", "method", "in_title", "x_label"),
    [
        (2, "auto", "d=2", "z1"),
        (5, "auto", "principal components", "PC1"),
        (5, "first", "first two", "z1"),
    ],
)
def test_latent_scatter_says_what_it_shows(images, labels, latent_dim, method, in_title, x_label):
    fig = plots.latent_scatter(model(latent_dim), images, labels, method=method)
    ax = fig.axes[0]
    assert in_title in title_of(fig)
    assert ax.get_xlabel().startswith(x_label) and ax.get_ylabel()
    assert ax.get_legend() is not None  # one entry per label


def test_latent_scatter_checks_its_input(images, labels):
    with pytest.raises(ValueError, match="labels"):
        plots.latent_scatter(model(), images, labels[:5])
    with pytest.raises(ValueError, match="method"):
        plots.latent_scatter(model(), images, labels, method="tsne")
    cvae = ConditionalVAE(num_classes=4, latent_dim=2, hidden_dims=(8,), input_shape=SHAPE)
    with pytest.raises(ValueError, match="conditional"):
        plots.reconstructions(cvae, images)
    assert isinstance(plots.latent_scatter(cvae, images, labels), Figure)


def test_interpolation_strip_has_inputs_at_both_ends(images):
    fig = plots.interpolation_strip(model(), images[0], images[1], steps=5)
    ticks = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert ticks[0] == "x_a" and ticks[-1] == "x_b" and len(ticks) == 7
    assert fig.axes[0].get_xlabel() and "interpolation" in title_of(fig).lower()
    with pytest.raises(ValueError, match="one image"):
        plots.interpolation_strip(model(), images[:2], images[1])


def test_traversal_grid_rows_and_columns(images):
    fig = plots.traversal_grid(model(4), images[0], dims=[0, 2], steps=5, span=2.0)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["z1", "z3"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["-2.0", "-1.0", "0.0", "1.0", "2.0"]
    assert ax.get_xlabel() and ax.get_ylabel() and "traversal" in title_of(fig).lower()
    assert "prior mean" in title_of(plots.traversal_grid(model(4)))
    assert "first 10 of 12" in title_of(plots.traversal_grid(model(12)))
    with pytest.raises(ValueError, match="dims"):
        plots.traversal_grid(model(4), dims=[7])


def vae_history(epochs: int = 3) -> History:
    rows = []
    for e in range(1, epochs + 1):
        rows.append(
            {
                "epoch": e, "beta": e / epochs, "train_loss": 100.0 / e,
                "train_reconstruction": 90.0 / e, "train_kl": 10.0, "train_elbo": -90.0 / e - 10,
                "test_reconstruction": 95.0 / e, "test_kl": 11.0, "test_elbo": -95.0 / e - 11,
                "seconds": 0.1,
            }
        )  # fmt: skip
    return History(rows, [[5.0, 5.0]] * epochs, info={"model": "VAE"})


def test_training_curves_twin_axis_for_beta():
    fig = plots.training_curves(vae_history())
    ax, twin = fig.axes
    assert title_of(fig) and ax.get_xlabel() == "epoch" and "nats" in ax.get_ylabel()
    assert twin.get_ylabel().startswith("β")
    names = [t.get_text() for t in ax.get_legend().get_texts()]
    assert {"train reconstruction", "test reconstruction", "train KL", "test KL", "β"} <= set(names)


def test_training_curves_of_an_autoencoder_have_no_beta_axis():
    rows = [
        {"epoch": 1, "beta": None, "train_loss": 3.0, "train_reconstruction": 3.0,
         "train_kl": None, "train_elbo": None, "test_reconstruction": None, "test_kl": None,
         "test_elbo": None, "seconds": 0.1},
    ]  # fmt: skip
    fig = plots.training_curves(History(rows))
    assert len(fig.axes) == 1
    with pytest.raises(ValueError, match="no epochs"):
        plots.training_curves(History())
    with pytest.raises(TypeError, match="History"):
        plots.training_curves([1, 2, 3])


def test_rate_distortion_plane():
    fig = plots.rate_distortion([(5.0, 120.0, "β=4"), (25.0, 80.0, "β=1")])
    ax = fig.axes[0]
    assert "rate" in ax.get_xlabel() and "distortion" in ax.get_ylabel() and title_of(fig)
    assert [t.get_text() for t in ax.texts] == ["β=4", "β=1"]
    with pytest.raises(ValueError, match="at least one"):
        plots.rate_distortion([])
    with pytest.raises(ValueError, match="triples"):
        plots.rate_distortion([(1.0, 2.0)])


def test_plots_leave_the_model_mode_unchanged(images):
    vae = model()
    vae.train()
    plots.reconstructions(vae, images)
    assert vae.training


def rand(n: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, *SHAPE, generator=torch.Generator().manual_seed(seed))


random_images = rand


def vae2() -> VAE:
    torch.manual_seed(0)
    return VAE(latent_dim=2, hidden_dims=(16,), input_shape=SHAPE)


# ----------------------------------------------------------------------------- image_rows


def test_image_rows_labels_each_row_in_order():
    rows = {"input": rand(5), "decode(μ)": rand(5, 1), "a sample": rand(5, 2)}
    fig = plots.image_rows(rows, title="Inputs and decodes")
    ax = fig.axes[0]
    assert isinstance(fig, Figure)
    assert ax.get_title() == "Inputs and decodes"
    assert [t.get_text() for t in ax.get_yticklabels()] == list(rows)
    ticks = ax.get_yticks()
    assert all(a < b for a, b in zip(ticks, ticks[1:], strict=False))  # top to bottom
    shown = ax.get_images()[0].get_array()
    assert shown.shape[0] == 2 + 3 * (8 + 2) and shown.shape[1] == 2 + 5 * (8 + 2)


def test_image_rows_shows_the_given_pixels_in_their_row():
    top, bottom = torch.zeros(3, *SHAPE), torch.ones(3, *SHAPE)
    shown = plots.image_rows({"black": top, "white": bottom}).axes[0].get_images()[0].get_array()
    first_tile_top = shown[2:10, 2:10]
    first_tile_bottom = shown[12:20, 2:10]
    assert float(first_tile_top.max()) == 0.0 and float(first_tile_bottom.min()) == 1.0


def test_image_rows_pads_shorter_rows():
    fig = plots.image_rows({"four": rand(4), "two": rand(2)})
    shown = fig.axes[0].get_images()[0].get_array()
    assert shown.shape[1] == 2 + 4 * (8 + 2)
    blank = shown[12:20, 2 + 3 * 10 : 10 + 3 * 10]  # last tile of the short row
    assert float(blank.min()) == float(blank.max()) == 0.5


@pytest.mark.parametrize(
    ("rows", "error", "match"),
    [
        ({}, ValueError, "empty"),
        ([rand(2)], TypeError, "dict"),
        ({"a": rand(2), "b": torch.rand(2, 1, 9, 9)}, ValueError, "same"),
        ({"a": "not images"}, TypeError, "tensor"),
    ],
)
def test_image_rows_rejects_bad_input(rows, error, match):
    with pytest.raises(error, match=match):
        plots.image_rows(rows)


# ----------------------------------------------------------------------------- teaching toys


def test_gradient_estimates_figure_has_titles_labels_and_the_exact_gradient():
    fig = plots.gradient_estimates(mu=0.5, sigma=0.2, n=500)
    assert "μ = 0.50" in fig._suptitle.get_text() and "σ = 0.20" in fig._suptitle.get_text()
    assert len(fig.axes) == 2
    for ax, name in zip(fig.axes, ["score function", "reparameterisation"], strict=True):
        assert ax.get_title().startswith(name) and "variance" in ax.get_title()
        assert ax.get_xlabel() and ax.get_ylabel()
        assert any(line.get_xdata()[0] == pytest.approx(1.0) for line in ax.get_lines())
    score_var = float(fig.axes[0].get_title().split("variance")[1])
    reparam_var = float(fig.axes[1].get_title().split("variance")[1])
    assert score_var > 10 * reparam_var  # small sigma: the score function is far noisier
    assert plots.gradient_estimates(title="Figure 3")._suptitle.get_text() == "Figure 3"


@pytest.mark.parametrize("sigma", [0.0, -1.0, float("nan")])
def test_gradient_estimates_rejects_a_bad_sigma(sigma):
    with pytest.raises(ValueError, match="sigma"):
        plots.gradient_estimates(sigma=sigma)


def test_elbo_gap_figure_shows_the_gap_and_labels():
    toy = toys.LinearGaussianToy()
    fig = plots.elbo_gap(m=0.0, sigma=1.0, toy=toy)
    left, right = fig.axes
    assert fig._suptitle.get_text()
    assert left.get_xlabel() == "z" and left.get_ylabel() == "density"
    assert [t.get_text() for t in left.get_legend().get_texts()] == [
        "prior p(z)",
        "posterior p(z|x)",
        "your q(z|x)",
    ]
    heights = [bar.get_height() for bar in right.patches]
    assert heights[0] == pytest.approx(toy.log_evidence)
    assert heights[2] == pytest.approx(heights[0] - heights[1])
    assert heights[2] > 0.1  # q = prior is far from the posterior
    at_posterior = plots.elbo_gap(toy.posterior_mean, math.sqrt(toy.posterior_var), toy)
    assert at_posterior.axes[1].patches[2].get_height() == pytest.approx(0.0, abs=1e-9)


def test_elbo_gap_rejects_a_bad_toy():
    with pytest.raises(TypeError, match="LinearGaussianToy"):
        plots.elbo_gap(toy="toy")


# ----------------------------------------------------------------------------- regions


def test_posterior_regions_draws_one_ellipse_per_point_and_the_prior_circle():
    x, labels = random_images(30), torch.arange(30) % 3
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
    assert plots.posterior_regions(model, random_images(10), ax=right, title="AE") is fig
    assert right.get_title() == "AE" and not right.patches
    assert not any(isinstance(c, PatchCollection) for c in right.collections)


def test_posterior_regions_refuses_other_latent_sizes():
    torch.manual_seed(0)
    with pytest.raises(ValueError, match="latent_scatter"):
        plots.posterior_regions(
            VAE(latent_dim=3, hidden_dims=(16,), input_shape=SHAPE), random_images(4)
        )


def test_image_rows_names_columns_and_axes():
    fig = plots.image_rows(
        {"a": rand(3), "b": rand(3, seed=1)},
        title="Named",
        columns=["x", "y", "z"],
        xlabel="what the columns are",
        ylabel="what the rows are",
    )
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["x", "y", "z"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b"]
    assert ax.get_xlabel() == "what the columns are" and ax.get_ylabel() == "what the rows are"
    with pytest.raises(ValueError, match="2 columns, but the rows have 3"):
        plots.image_rows({"a": rand(3)}, columns=["x", "y"])


# ----------------------------------------------------------------------------- the figure style


def _every_figure() -> dict[str, Figure]:
    """One figure from every plotting function of plots.__all__ (a new function must be added)."""
    vae_model, ae = model(), Autoencoder(latent_dim=2, hidden_dims=(8,), input_shape=SHAPE)
    x, labels = rand(12), torch.arange(12) % 3
    return {
        "image_grid": plots.image_grid(rand(20), nrow=10),
        "image_rows": plots.image_rows({"a": rand(4), "b": rand(3)}, columns=list("wxyz")),
        "reconstructions": plots.reconstructions(vae_model, x, n=6),
        "prior_samples": plots.prior_samples(vae_model, n=16),
        "latent_scatter": plots.latent_scatter(vae_model, x, labels),
        "posterior_regions": plots.posterior_regions(vae2(), x, labels),
        "interpolation_strip": plots.interpolation_strip(ae, x[0], x[1], steps=30),
        "traversal_grid": plots.traversal_grid(vae_model, x[0], steps=25),
        "training_curves": plots.training_curves(vae_history()),
        "rate_distortion": plots.rate_distortion([(1.0, 80.0, "β = 1"), (3.0, 70.0, "β = 0.5")]),
        "gradient_estimates": plots.gradient_estimates(n=200),
        "elbo_gap": plots.elbo_gap(),
    }


def test_importing_plots_applies_the_course_style():
    import matplotlib

    style = matplotlib.rc_params_from_file(plots.STYLE, use_default_template=False)
    assert len(style) >= 10
    for key, value in style.items():
        assert matplotlib.rcParams[key] == value, key
    assert plots.STYLE.name == "course.mplstyle" and plots.STYLE.is_file()


def _off_style_texts(fig: Figure) -> list[tuple[str, float]]:
    """(text, size) of every non-empty text whose size is none of the style sheet's sizes."""
    import matplotlib
    from matplotlib.text import Text

    rc = matplotlib.rcParams
    sizes = {
        matplotlib.font_manager.FontProperties(size=rc[key]).get_size_in_points()
        for key in ("font.size", "axes.titlesize", "axes.labelsize", "xtick.labelsize",
                    "ytick.labelsize", "legend.fontsize", "legend.title_fontsize",
                    "figure.titlesize")
    }  # fmt: skip
    return [
        (text.get_text(), text.get_fontsize())
        for text in fig.findobj(Text)
        if text.get_text() and text.get_fontsize() not in sizes
    ]


def test_every_plots_function_draws_in_the_course_style():
    import matplotlib
    from matplotlib.layout_engine import ConstrainedLayoutEngine

    figures = _every_figure()
    functions = {name for name in plots.__all__ if callable(getattr(plots, name))}
    assert set(figures) == functions  # every plotting function is checked here
    for name, fig in figures.items():
        assert fig.get_figwidth() <= plots.MAX_FIGURE_WIDTH + 1e-9, name
        assert fig.dpi == matplotlib.rcParams["figure.dpi"], name
        assert isinstance(fig.get_layout_engine(), ConstrainedLayoutEngine), name
        assert _off_style_texts(fig) == [], name


def test_a_figure_with_its_own_font_size_is_caught():
    """The check above can fail: a per-figure override is not one of the style's sizes."""
    fig = plots.image_grid(rand(4))
    assert _off_style_texts(fig) == []
    fig.axes[0].set_title("tiny", fontsize=6.5)
    assert _off_style_texts(fig) == [("tiny", 6.5)]


def test_wide_image_figures_shrink_their_tiles_to_the_maximum_width():
    narrow = plots.image_grid(rand(4), nrow=4)
    wide = plots.image_grid(rand(40), nrow=40)
    assert narrow.get_figwidth() < plots.MAX_FIGURE_WIDTH
    assert wide.get_figwidth() == pytest.approx(plots.MAX_FIGURE_WIDTH)
