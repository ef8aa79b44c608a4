"""vae_course._checks: one wording for every bad argument."""

from __future__ import annotations

import math

import numpy as np
import pytest

from vae_course import _checks


@pytest.mark.parametrize("bad", [0, -3, True, 1.0, "2", None, np.float32(2.0)])
def test_positive_int_rejects_non_positive_and_non_integers(bad):
    with pytest.raises(ValueError, match="latent_dim must be a positive integer"):
        _checks.positive_int(bad, "latent_dim")


def test_positive_int_returns_plain_int():
    value = _checks.positive_int(np.int64(4), "n")
    assert value == 4 and type(value) is int


@pytest.mark.parametrize("bad", [math.nan, math.inf, "1", None, False])
def test_finite_number_rejects_non_finite_and_non_numbers(bad):
    with pytest.raises(ValueError, match="lr must be a finite number"):
        _checks.finite_number(bad, "lr")


def test_finite_number_bounds():
    assert _checks.finite_number(0, "x", minimum=0) == 0.0
    with pytest.raises(ValueError, match=r"x must be >= 0.5, got 0.2"):
        _checks.finite_number(0.2, "x", minimum=0.5)
    with pytest.raises(ValueError, match=r"x must be > 0.5, got 0.5"):
        _checks.finite_number(0.5, "x", minimum=0.5, strict=True)
    with pytest.raises(ValueError, match="x must be a positive number"):
        _checks.positive_number(0, "x")
    with pytest.raises(ValueError, match=r"ratio must be <= 1"):
        _checks.finite_number(1.5, "ratio", maximum=1)
    assert _checks.positive_number(np.float32(0.5), "lr") == pytest.approx(0.5)


def test_integer_minimum_wording():
    assert _checks.integer(0, "step", minimum=0) == 0
    with pytest.raises(ValueError, match="step must be a non-negative integer"):
        _checks.integer(-1, "step", minimum=0)
    with pytest.raises(ValueError, match="n_bins must be an integer >= 2"):
        _checks.integer(1, "n_bins", minimum=2)
