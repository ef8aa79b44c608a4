"""The mutual-information matrix behind MIG, and its figures."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vae_course import diagnostics, disentanglement, models, shapes


def _factors(n: int = 3000, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.stack([rng.integers(0, s, n) for s in shapes.FACTOR_SIZES], axis=1)


def _disentangled_codes(classes: np.ndarray, seed: int = 1) -> np.ndarray:
    """Dimension k+2 is factor k plus a little noise; dimensions 0 and 1 are pure noise."""
    rng = np.random.default_rng(seed)
    signal = classes / np.array(shapes.FACTOR_SIZES) + 0.002 * rng.standard_normal(classes.shape)
    return np.concatenate([rng.standard_normal((len(classes), 2)), signal], axis=1)


def test_entropies_are_those_of_the_empirical_distribution():
    classes = np.array([[0, 1], [0, 1], [1, 1], [1, 1]])
    np.testing.assert_allclose(disentanglement.factor_entropies(classes), [np.log(2), 0.0])


def test_a_disentangled_code_has_one_bright_cell_per_factor():
    classes = _factors()
    codes = _disentangled_codes(classes)
    nmi = disentanglement.normalized_mutual_information(codes, classes)
    assert nmi.shape == (7, 5) and (nmi >= -1e-9).all() and (nmi <= 1 + 1e-6).all()
    best = disentanglement.best_dimensions(nmi, shapes.FACTOR_NAMES)
    assert [b.dimension for b in best] == [2, 3, 4, 5, 6]
    assert all(b.nmi > 0.8 and b.gap > 0.7 for b in best)
    # the mean gap is exactly MIG
    mig = diagnostics.mig_from_codes(torch.as_tensor(codes), torch.as_tensor(classes))
    assert np.mean([b.gap for b in best]) == pytest.approx(mig, abs=1e-9)


def test_mixing_the_factors_lowers_every_gap():
    classes = _factors(seed=2)
    codes = _disentangled_codes(classes)
    mixing = np.random.default_rng(3).standard_normal((7, 7))
    mixed = codes @ mixing
    sharp = disentanglement.best_dimensions(
        disentanglement.normalized_mutual_information(codes, classes), shapes.FACTOR_NAMES
    )
    blurred = disentanglement.best_dimensions(
        disentanglement.normalized_mutual_information(mixed, classes), shapes.FACTOR_NAMES
    )
    assert sum(b.gap for b in blurred) < 0.5 * sum(b.gap for b in sharp)


def test_the_figures_name_dimensions_and_factors():
    classes = _factors(500)
    nmi = disentanglement.normalized_mutual_information(_disentangled_codes(classes), classes)
    fig = disentanglement.plot_mutual_information(nmi, shapes.FACTOR_NAMES, title="T")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == list(shapes.FACTOR_NAMES)
    assert [t.get_text() for t in ax.get_yticklabels()][:3] == ["z1", "z2", "z3"]
    torch.manual_seed(0)
    model = models.BurgessVAE(latent_dim=7, input_shape=(1, 32, 32), channels=4, hidden_dim=8)
    fig = disentanglement.factor_traversals(
        model, torch.rand(1, 32, 32), nmi, shapes.FACTOR_NAMES, steps=5, title="traversals"
    )
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels[0].startswith("z3: shape (") and len(labels) == 5
    assert fig.axes[0].get_title() == "traversals"


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="nmi must be"):
        disentanglement.best_dimensions(np.zeros((1, 5)), shapes.FACTOR_NAMES)
    with pytest.raises(ValueError, match="factor_classes"):
        disentanglement.factor_entropies(np.zeros(5))
