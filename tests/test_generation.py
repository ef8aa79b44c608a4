"""Tests of vae_course.generation: random codes, the generation report, latent paths, summaries."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch

from vae_course import generation
from vae_course.diagnostics import nearest_training_image
from vae_course.models import VAE, Autoencoder, decode_probabilities, posterior_mean

SHAPE = (1, 6, 6)


@dataclass
class Split:
    images: torch.Tensor
    labels: torch.Tensor


def split(n: int, seed: int) -> Split:
    g = torch.Generator().manual_seed(seed)
    return Split(torch.rand(n, *SHAPE, generator=g), torch.randint(0, 3, (n,), generator=g))


def vae(latent_dim: int = 2) -> VAE:
    torch.manual_seed(0)
    return VAE(latent_dim=latent_dim, hidden_dims=(12,), input_shape=SHAPE)


def autoencoder(latent_dim: int = 2) -> Autoencoder:
    torch.manual_seed(0)
    return Autoencoder(latent_dim=latent_dim, hidden_dims=(12,), input_shape=SHAPE)


def test_a_vae_draws_from_its_prior_and_an_autoencoder_from_the_box_of_its_codes():
    train = split(40, seed=1)
    z = generation.random_codes(vae(3), train.images, n=500, seed=2)
    assert z.shape == (500, 3)
    assert torch.equal(z, torch.randn(500, 3, generator=torch.Generator().manual_seed(2)))
    model = autoencoder(3)
    codes = posterior_mean(model, train.images)
    z = generation.random_codes(model, train.images, n=500, seed=2)
    low, high = codes.min(0).values, codes.max(0).values
    assert bool(((z >= low) & (z <= high)).all())
    assert torch.equal(z, generation.random_codes(model, train.images, n=500, seed=2))
    with pytest.raises(ValueError, match="n"):
        generation.random_codes(model, train.images, n=0)


def test_generation_report_measures_decodings_against_reconstructions():
    train, test = split(60, seed=1), split(20, seed=2)
    model = vae()
    codes = torch.randn(30, 2, generator=torch.Generator().manual_seed(3))
    report = generation.generation_report(model, codes, train, test, keep=5)
    assert report["images"].shape == (5, *SHAPE)
    expected_flips, nearest = nearest_training_image(
        decode_probabilities(model, codes), train.images
    )
    assert torch.equal(report["flips"], expected_flips)
    assert report["reconstruction flips"].shape == (20,)
    threshold = report["reconstruction flips"].quantile(0.9)
    digit_like = expected_flips <= threshold
    assert report["digit-like"] == pytest.approx(digit_like.float().mean().item())
    assert torch.equal(report["labels"], train.labels[nearest][digit_like])
    # the test codes themselves sit exactly as far from the training codes as is typical
    test_codes = posterior_mean(model, test.images)
    same = generation.generation_report(model, test_codes, train, test)
    assert same["gap ratio"] == pytest.approx(1.0)


def test_codes_far_from_every_training_code_have_a_large_gap_ratio():
    train, test = split(60, seed=1), split(20, seed=2)
    far = torch.full((10, 2), 50.0)
    assert generation.generation_report(vae(), far, train, test)["gap ratio"] > 10


def test_latent_paths_start_and_end_at_the_reconstructions_of_pairs_with_different_labels():
    data = split(50, seed=4)
    model = vae()
    paths = generation.latent_paths(model, data.images, data.labels, pairs=7, steps=5, seed=1)
    assert paths.shape == (7, 5, *SHAPE)
    generator = torch.Generator().manual_seed(1)
    a = torch.randint(50, (28,), generator=generator)
    b = torch.randint(50, (28,), generator=generator)
    keep = data.labels[a] != data.labels[b]
    a, b = a[keep][:7], b[keep][:7]
    ends = decode_probabilities(model, posterior_mean(model, data.images[a]))
    torch.testing.assert_close(paths[:, 0], ends)
    torch.testing.assert_close(
        paths[:, -1], decode_probabilities(model, posterior_mean(model, data.images[b]))
    )


def test_share_of_commonest_spread_and_sharpness():
    assert generation.share_of_commonest(torch.tensor([3, 3, 1, 3])) == "3 (75%)"
    assert generation.share_of_commonest(torch.tensor([], dtype=torch.long)) == "-"
    same = torch.rand(1, *SHAPE).repeat(4, 1, 1, 1)
    assert generation.image_spread(same) == 0.0
    assert generation.image_spread(torch.rand(8, *SHAPE)) > 0.0
    edge = torch.zeros(1, 1, 6, 6)
    edge[..., 3:] = 1.0
    blurred = torch.nn.functional.avg_pool2d(edge, 3, stride=1, padding=1)
    assert generation.edge_sharpness(edge) > generation.edge_sharpness(blurred) > 0.0
    assert generation.edge_sharpness(torch.full((2, 1, 6, 6), 0.3)) == 0.0
