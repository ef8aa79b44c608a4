"""``losses.bits_per_dim``: nats per image -> bits per dimension, nats / (D ln 2)."""

from __future__ import annotations

import math

import pytest
import torch

from vae_course import losses


def test_one_bit_per_pixel_is_d_ln_2_nats():
    # a decoder that says 1/2 for every binary pixel costs ln 2 nats = 1 bit per pixel
    assert losses.bits_per_dim(784 * math.log(2), 784) == pytest.approx(1.0)


def test_it_is_linear_in_the_nats_and_inverse_in_the_dimensions():
    a, b = 91.3, 17.0
    assert losses.bits_per_dim(a + b, 784) == pytest.approx(
        losses.bits_per_dim(a, 784) + losses.bits_per_dim(b, 784)
    )
    assert losses.bits_per_dim(a, 2 * 784) == pytest.approx(losses.bits_per_dim(a, 784) / 2)


def test_base_change_matches_log2():
    p = torch.tensor([0.3, 0.6, 0.9], dtype=torch.float64)
    nats = -torch.log(p).sum()
    assert losses.bits_per_dim(nats, 3).item() == pytest.approx(-torch.log2(p).mean().item())


def test_a_tensor_keeps_its_shape_and_order():
    nelbo = torch.tensor([100.0, 80.0, 120.0])
    bpd = losses.bits_per_dim(nelbo, 784)
    assert bpd.shape == (3,) and torch.equal(bpd.argsort(), nelbo.argsort())


@pytest.mark.parametrize("n_dims", [0, -3, 2.5, "784"])
def test_bad_dimensions_are_refused(n_dims):
    with pytest.raises((TypeError, ValueError)):
        losses.bits_per_dim(100.0, n_dims)


def test_a_non_number_is_refused():
    with pytest.raises(ValueError, match="nelbo_nats"):
        losses.bits_per_dim("100", 784)
