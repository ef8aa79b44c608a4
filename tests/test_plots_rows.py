"""Tests of the labelled image rows and the teaching-toy figures in vae_course.plots."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from vae_course import losses, plots, toys  # noqa: E402

SHAPE = (1, 8, 8)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def rand(n: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, *SHAPE, generator=torch.Generator().manual_seed(seed))


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


# ----------------------------------------------------------------------------- gradient toy


def test_single_sample_gradients_are_unbiased_with_the_stated_variances():
    eps = torch.randn(400_000, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    mu, sigma = 0.7, 0.8
    estimates = toys.single_sample_gradients(mu, sigma, eps)
    theory = {
        "score function": mu**4 / sigma**2 + 14 * mu**2 + 15 * sigma**2,
        "reparameterisation": 4 * sigma**2,
    }
    assert set(estimates) == set(theory)
    for name, g in estimates.items():
        se = math.sqrt(theory[name] / eps.numel())
        assert abs(g.mean().item() - 2 * mu) < 5 * se, name
        assert g.var().item() == pytest.approx(theory[name], rel=0.1), name


def test_single_sample_gradients_match_autograd_for_the_reparameterised_estimator():
    eps = torch.randn(7, dtype=torch.float64)
    mu = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
    ((mu + 1.5 * eps) ** 2).sum().backward()
    assert torch.allclose(
        toys.single_sample_gradients(0.3, 1.5, eps)["reparameterisation"].sum(), mu.grad
    )


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


# ----------------------------------------------------------------------------- ELBO toy


def test_toy_gap_equals_the_kl_to_the_exact_posterior():
    toy = toys.LinearGaussianToy(x=1.5, s2=0.25)
    m = torch.tensor([-1.0, 0.0, 0.5, 1.2, 2.0, 3.0], dtype=torch.float64)
    v = torch.tensor([0.05, 1.0, 0.2, 0.2, 2.0, 0.5], dtype=torch.float64)
    gap = toy.log_evidence - toy.elbo(m, v)
    kl = losses.kl_between(
        m[:, None], v.log()[:, None], toy.posterior_mean, math.log(toy.posterior_var)
    )
    assert torch.allclose(gap, kl, atol=1e-10)
    assert bool((gap >= 0).all())
    assert bool((gap[[0, 1, 2, 4, 5]] > 0.1).all())  # all but q = N(1.2, 0.2) = p(z|x)
    at_posterior = toy.elbo(toy.posterior_mean, toy.posterior_var).item()
    assert at_posterior == pytest.approx(toy.log_evidence, abs=1e-12)


def test_toy_log_evidence_matches_numerical_integration():
    toy = toys.LinearGaussianToy(x=-0.7, s2=0.6)
    z = torch.linspace(-12, 12, 200_001, dtype=torch.float64)
    prior = torch.distributions.Normal(0.0, 1.0).log_prob(z)
    likelihood = torch.distributions.Normal(z, math.sqrt(toy.s2)).log_prob(torch.tensor(toy.x))
    integral = torch.trapezoid((prior + likelihood).exp(), z).item()
    assert math.log(integral) == pytest.approx(toy.log_evidence, abs=1e-8)


def test_toy_rejects_bad_parameters():
    with pytest.raises(ValueError, match="s2"):
        toys.LinearGaussianToy(s2=0.0)
    with pytest.raises(ValueError, match="positive"):
        toys.LinearGaussianToy().elbo(0.0, -1.0)


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
