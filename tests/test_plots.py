"""Tests of vae_course.plots: every function returns a titled Figure and checks its input."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from vae_course import plots  # noqa: E402
from vae_course.models import VAE, Autoencoder, ConditionalVAE  # noqa: E402
from vae_course.train import History  # noqa: E402

SHAPE = (1, 8, 8)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


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
