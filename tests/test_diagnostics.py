"""Diagnostics see what the encoder does: KL per dim, active units, I(x;z), collapse, MIG."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from vae_course.diagnostics import (
    CollapseReport,
    active_units,
    active_units_from_means,
    collapse_report,
    kl_per_dimension,
    mig,
    mig_from_codes,
    mutual_information,
    mutual_information_from_posteriors,
    mutual_information_matrix,
    nearest_training_image,
)
from vae_course.losses import kl_divergence_per_dim
from vae_course.models import VAE, Autoencoder, encode_all


class StubEncoder(nn.Module):
    """encode(x) -> (mu, log_var) from a fixed rule on the flattened input (a test double)."""

    def __init__(self, latent_dim: int, mode: str, log_var: float = -6.0) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.mode = mode
        self.offset = nn.Parameter(torch.full((latent_dim,), 0.3))
        self.log_var_value = log_var
        self.seen_training_flags: list[bool] = []

    def encode(self, x):
        self.seen_training_flags.append(self.training)
        flat = x.reshape(x.shape[0], -1)
        if self.mode == "ignore":  # the posterior is the same for every x
            mu = self.offset.expand(x.shape[0], -1)
        else:  # "copy": the first latent_dim pixels become the code
            mu = flat[:, : self.latent_dim] * 4.0
        return mu, torch.full_like(mu, self.log_var_value)


def _data(n: int = 400, d: int = 6, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, d, generator=torch.Generator().manual_seed(seed))


def test_active_units_from_means():
    g = torch.Generator().manual_seed(0)
    mu = torch.cat([torch.randn(500, 3, generator=g), torch.full((500, 2), 1.7)], dim=1)
    assert active_units_from_means(mu) == 3
    assert active_units_from_means(mu * 0.05, threshold=0.01) == 0  # variance 0.0025
    assert active_units_from_means(mu, threshold=100.0) == 0
    with pytest.raises(ValueError, match=r"\(N, d\)"):
        active_units_from_means(torch.zeros(1, 3))


def test_active_units_zero_for_an_encoder_that_ignores_x_and_full_for_a_copying_one():
    x = _data()
    assert active_units(StubEncoder(4, "ignore"), x) == 0
    assert active_units(StubEncoder(4, "copy"), x) == 4


def test_active_units_works_for_an_autoencoder():
    torch.manual_seed(0)
    model = Autoencoder(latent_dim=3, hidden_dims=(16,), input_shape=(1, 4, 4))
    with torch.no_grad():
        model.fc_code.weight.mul_(50)
    assert active_units(model, torch.rand(200, 1, 4, 4)) == 3


def test_kl_per_dimension_matches_the_closed_form_average():
    x = _data()
    model = StubEncoder(4, "copy", log_var=-1.0)
    mu, log_var = model.encode(x)
    expected = kl_divergence_per_dim(mu, log_var).mean(0)
    torch.testing.assert_close(kl_per_dimension(model, x, batch_size=64), expected)
    assert kl_per_dimension(model, x).shape == (4,)
    with pytest.raises(TypeError, match="VAE"):
        kl_per_dimension(Autoencoder(latent_dim=2, input_shape=(1, 2, 2)), torch.rand(5, 4))


def test_encoding_in_batches_restores_the_mode_and_accepts_a_dataset_like_object():
    x = _data(n=130)
    model = StubEncoder(3, "copy")
    model.train()
    mu, log_var = encode_all(model, x, batch_size=50)
    assert mu.shape == log_var.shape == (130, 3)
    torch.testing.assert_close(mu, x[:, :3] * 4)
    assert model.training and model.seen_training_flags == [False, False, False]
    model.eval()
    kl_per_dimension(model, x)
    assert not model.training

    class Holder:
        images = x

    torch.testing.assert_close(encode_all(model, Holder())[0], mu)
    with pytest.raises(TypeError, match="images"):
        encode_all(model, [[0.0]])
    with pytest.raises(ValueError, match="batch_size"):
        encode_all(model, x, batch_size=0)


def test_mutual_information_of_a_gaussian_channel_matches_the_formula():
    # z = mu + sigma * eps with mu ~ N(0, 1): I(x; z) = 1/2 log(1 + 1 / sigma^2) per dimension
    g = torch.Generator().manual_seed(0)
    mu = torch.randn(3000, 2, generator=g)
    log_var = torch.full_like(mu, math.log(0.5))
    estimate = mutual_information_from_posteriors(mu, log_var, g)
    assert estimate == pytest.approx(2 * 0.5 * math.log(1 + 1 / 0.5), rel=0.1)


def test_mutual_information_is_zero_when_z_ignores_x_and_near_log_n_when_codes_are_separate():
    x = _data(n=500, d=6)
    assert abs(mutual_information(StubEncoder(4, "ignore"), x)) < 1e-9
    separate = mutual_information(StubEncoder(6, "copy", log_var=-20.0), x)
    assert separate == pytest.approx(math.log(500), rel=0.01)
    assert separate <= math.log(500) + 1e-6


def test_collapse_report_tells_collapsed_from_healthy():
    x = _data()
    collapsed = collapse_report(StubEncoder(5, "ignore", log_var=0.0), x)
    assert isinstance(collapsed, CollapseReport)
    assert collapsed.collapsed and collapsed.active_units == 0 and collapsed.latent_dim == 5
    assert collapsed.verdict.startswith("collapsed: 0/5 active units")
    healthy = collapse_report(StubEncoder(5, "copy", log_var=-3.0), x)
    assert not healthy.collapsed and healthy.active_units == 5
    assert healthy.verdict.startswith("healthy: 5/5 active units")
    assert healthy.kl_total == pytest.approx(float(healthy.kl_per_dim.sum()))
    assert healthy.mutual_information > collapsed.mutual_information
    for report in (collapsed, healthy):
        assert report.verdict in str(report) and report.verdict in repr(report)
        html = report._repr_html_()
        assert html.startswith("<div>") and "z4" in html


def test_collapse_report_on_an_untrained_vae_runs_on_images():
    torch.manual_seed(0)
    model = VAE(latent_dim=3, hidden_dims=(8,), input_shape=(1, 5, 5))
    report = collapse_report(model, torch.rand(50, 1, 5, 5))
    assert report.kl_per_dim.shape == (3,)
    assert report.verdict.split(":")[0] in {"collapsed", "healthy"}


def _factors(n: int = 2000, sizes=(3, 6, 10, 8), seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.stack([rng.integers(0, s, n) for s in sizes], axis=1)


def test_mig_is_near_one_for_codes_that_copy_each_factor_into_its_own_latent():
    factors = _factors()
    noise = np.random.default_rng(1).normal(size=(len(factors), 2))
    codes = np.concatenate([factors.astype(float), noise], axis=1)  # 4 copies + 2 nuisance dims
    assert mig_from_codes(codes, factors) > 0.9
    assert mig_from_codes(torch.from_numpy(codes), torch.from_numpy(factors)) > 0.9


def test_mig_is_near_zero_for_random_codes_and_for_duplicated_codes():
    factors = _factors()
    random_codes = np.random.default_rng(2).normal(size=(len(factors), 6))
    assert mig_from_codes(random_codes, factors) < 0.1
    # every factor captured twice: the gap between the top two latents vanishes
    duplicated = np.concatenate([factors, factors], axis=1).astype(float)
    assert mig_from_codes(duplicated, factors) < 0.05


def test_mutual_information_matrix_shape_and_entropy_bound():
    factors = _factors(n=500)
    codes = np.random.default_rng(3).normal(size=(500, 3))
    matrix = mutual_information_matrix(codes, factors)
    assert matrix.shape == (3, 4)
    assert (matrix >= 0).all()
    assert (matrix <= math.log(20) + 1e-9).all()


def test_mig_on_a_model_and_argument_checks():
    factors = _factors(n=600, sizes=(4, 5, 3))
    images = torch.from_numpy(factors).float()  # the stub copies the first pixels: the factors
    model = StubEncoder(3, "copy")
    assert mig(model, images, factors, factor_sizes=(4, 5, 3)) > 0.9
    with pytest.raises(ValueError, match="outside"):
        mig(model, images, factors, factor_sizes=(2, 5, 3))
    with pytest.raises(ValueError, match="rows"):
        mig(model, images[:10], factors)
    with pytest.raises(ValueError, match="d >= 2"):
        mig_from_codes(np.zeros((10, 1)), factors[:10])
    with pytest.raises(ValueError, match="constant"):
        mig_from_codes(np.random.default_rng(0).normal(size=(10, 3)), np.zeros((10, 2)))


def random_images(n: int = 30, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, 1, 8, 8, generator=torch.Generator().manual_seed(seed))


# ----------------------------------------------------------------------------- nearest image


def test_an_image_in_the_reference_set_needs_no_flips():
    reference = random_images(20)
    flips, index = nearest_training_image(reference[[3, 7]], reference)
    assert flips.tolist() == [0.0, 0.0]
    assert ((reference[index] > 0.5) == (reference[[3, 7]] > 0.5)).all()


def test_flips_are_symmetric_and_count_differing_binary_pixels():
    a, b = random_images(1, seed=1), random_images(1, seed=2)
    ab, _ = nearest_training_image(a, b)
    ba, _ = nearest_training_image(b, a)
    assert ab.item() == ba.item() == ((a > 0.5) != (b > 0.5)).sum().item()


def test_nearest_is_the_minimum_over_the_reference_set():
    x, reference = random_images(5, seed=3), random_images(12, seed=4)
    flips, index = nearest_training_image(x, reference, batch_size=2)
    every = ((x > 0.5).flatten(1)[:, None] != (reference > 0.5).flatten(1)[None]).sum(2)
    assert torch.equal(flips, every.min(1).values.float())
    assert torch.equal(every[torch.arange(5), index], every.min(1).values)


def test_a_grey_blur_is_far_from_sharp_images():
    sharp = (random_images(10) > 0.5).float()
    blur = torch.full((1, 1, 8, 8), 0.45)
    flips, _ = nearest_training_image(blur, sharp)
    assert flips.item() > 0  # the blur binarises to an empty image, unlike every sharp one


def test_nearest_training_image_rejects_mismatched_sizes():
    with pytest.raises(ValueError, match="pixels"):
        nearest_training_image(random_images(2), torch.rand(3, 1, 4, 4))
    with pytest.raises(TypeError):
        nearest_training_image([1, 2], random_images(2))
