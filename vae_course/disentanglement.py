"""Which latent dimension carries which factor: the mutual-information matrix and its figures.

MIG (:func:`vae_course.diagnostics.mig_from_codes`) condenses disentanglement into one
number; this module shows what is behind it, for codes (N, d) of images whose K true
factors are known (``shapes``: :data:`vae_course.shapes.FACTOR_NAMES`):

* :func:`normalized_mutual_information`: I(z_j; v_k) / H(v_k), a (d, K) array in [0, 1]
  (1: dimension j determines factor k), from
  :func:`vae_course.diagnostics.mutual_information_matrix` (20 bins per dimension);
* :func:`best_dimensions`: for each factor, the dimension that knows most about it and the
  gap to the runner-up (MIG is the mean of these gaps);
* :func:`plot_mutual_information`: the matrix as a heat map;
* :func:`latent_traversal`: the images of one traversal (the reference of the drill
  ``latent_traversal``);
* :func:`factor_traversals`: latent traversals of the best dimension of each factor, each
  row labelled by the factor that dimension knows most about.

Used in 07_beta_vae (part 2).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from vae_course import diagnostics, plots


class FactorDimension(NamedTuple):
    """The best latent dimension of one factor: ``dimension`` (0-based), its normalised MI
    ``nmi`` and ``gap`` = nmi minus the runner-up's (this factor's share of MIG).
    Used in 07_beta_vae (part 2).
    """

    factor: str
    dimension: int
    nmi: float
    gap: float


def factor_entropies(factor_classes: Any) -> np.ndarray:
    """H(v_k) in nats of each factor column (N, K) -> (K,), from its empirical distribution.
    Used in 07_beta_vae (part 2).
    """
    classes = np.asarray(factor_classes)
    if classes.ndim != 2:
        raise ValueError(f"factor_classes must be (N, K), got shape {classes.shape}")
    entropies = []
    for column in classes.T:
        _, counts = np.unique(column, return_counts=True)
        p = counts / counts.sum()
        entropies.append(float(-(p * np.log(p)).sum()))
    return np.array(entropies)


def normalized_mutual_information(codes: Any, factor_classes: Any, n_bins: int = 20) -> np.ndarray:
    """I(z_j; v_k) / H(v_k) for every latent dimension j and factor k: (N, d), (N, K) -> (d, K).

    MI as in :func:`vae_course.diagnostics.mutual_information_matrix` (codes discretised
    into ``n_bins`` equal-width bins); a factor that never varies gets 0. Used in 07_beta_vae.
    """
    matrix = diagnostics.mutual_information_matrix(codes, factor_classes, n_bins)
    entropies = factor_entropies(factor_classes)
    safe = np.where(entropies > 1e-12, entropies, 1.0)
    return np.where(entropies > 1e-12, matrix / safe, 0.0)


def best_dimensions(nmi: np.ndarray, factor_names: Sequence[str]) -> list[FactorDimension]:
    """For each factor (column of ``nmi`` (d, K)), its most informative dimension and the gap
    to the second most informative one; the mean of the gaps is the MIG. Used in 07_beta_vae."""
    nmi = np.asarray(nmi, dtype=float)
    if nmi.ndim != 2 or nmi.shape[0] < 2 or nmi.shape[1] != len(factor_names):
        raise ValueError(
            f"nmi must be (d >= 2, K = {len(factor_names)}) like the factor names, "
            f"got shape {nmi.shape}"
        )
    best = []
    for k, name in enumerate(factor_names):
        order = np.argsort(nmi[:, k])[::-1]
        top, second = nmi[order[0], k], nmi[order[1], k]
        best.append(FactorDimension(str(name), int(order[0]), float(top), float(top - second)))
    return best


@torch.no_grad()
def latent_traversal(
    model: torch.nn.Module, x: torch.Tensor, dim: int, values: torch.Tensor
) -> torch.Tensor:
    """The images of one latent traversal: x (C, H, W), one image; values (S,).

    mu = model.encode(x[None])[0] (1, d), the posterior mean, not a sample; row s of the
    codes (S, d) is mu with dimension ``dim`` *set* to values[s] (the others unchanged);
    returns sigmoid(model.decode(codes)) reshaped to (S, C, H, W): pixel probabilities, in
    the order of ``values``. Used in 07_beta_vae (the drill ``latent_traversal``).
    """
    mu = model.encode(x.unsqueeze(0))[0]
    codes = mu.repeat(values.shape[0], 1)
    codes[:, dim] = values.to(codes.dtype)
    return torch.sigmoid(model.decode(codes)).reshape(values.shape[0], *x.shape)


def plot_mutual_information(
    nmi: np.ndarray, factor_names: Sequence[str], title: str = "Normalised mutual information"
) -> Figure:
    """Heat map of ``nmi`` (d, K): rows z1..zd, columns the factors, each cell
    I(z_j; v_k) / H(v_k) written in it. A disentangled code has one bright cell per column
    and per row. Returns the Figure. Used in 07_beta_vae."""
    nmi = np.asarray(nmi, dtype=float)
    d, k = nmi.shape
    fig, ax = plt.subplots(figsize=(1.1 * k + 2.0, 0.42 * d + 1.4))
    image = ax.imshow(nmi, vmin=0.0, vmax=max(0.5, float(nmi.max())), cmap="viridis", aspect="auto")
    for j in range(d):
        for c in range(k):
            colour = "black" if nmi[j, c] > 0.6 * max(0.5, float(nmi.max())) else "white"
            ax.text(c, j, f"{nmi[j, c]:.2f}", ha="center", va="center", fontsize=8, color=colour)
    ax.set_xticks(range(k), list(factor_names))
    ax.set_yticks(range(d), [f"z{j + 1}" for j in range(d)])
    ax.set_xlabel("true factor")
    ax.set_ylabel("latent dimension")
    ax.set_title(title)
    fig.colorbar(image, ax=ax, label="I(z_j; v_k) / H(v_k)")
    return fig


def factor_traversals(
    model: torch.nn.Module,
    x: torch.Tensor,
    nmi: np.ndarray,
    factor_names: Sequence[str],
    span: float = 2.5,
    steps: int = 9,
    title: str | None = None,
) -> Figure:
    """Traversals of each factor's best dimension (:func:`best_dimensions`), around mu(x).

    Row r sweeps dimension j from -span to +span (:func:`vae_course.plots.traversal_grid`)
    and is labelled "zj: factor (NMI)" with the factor whose mutual information with z_j is
    highest: a disentangled model shows that factor, and only it, changing along the row.
    A dimension that is best for two factors appears once. Returns the Figure. Used in
    07_beta_vae.
    """
    nmi = np.asarray(nmi, dtype=float)
    dims: list[int] = []
    for entry in best_dimensions(nmi, factor_names):
        if entry.dimension not in dims:
            dims.append(entry.dimension)
    fig = plots.traversal_grid(model, x, dims=dims, span=span, steps=steps)
    ax = fig.axes[0]
    labels = []
    for j in dims:
        k = int(np.argmax(nmi[j]))
        labels.append(f"z{j + 1}: {factor_names[k]} ({nmi[j, k]:.2f})")
    ax.set_yticklabels(labels)
    ax.set_ylabel("dimension: its best factor (normalised MI)")
    if title is not None:
        ax.set_title(title)
    return fig


__all__ = [
    "FactorDimension",
    "best_dimensions",
    "factor_entropies",
    "factor_traversals",
    "latent_traversal",
    "normalized_mutual_information",
    "plot_mutual_information",
]
