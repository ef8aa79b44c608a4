"""Pictures of what a (variational) autoencoder learned, in the course's one figure style.

Every plotting function returns the matplotlib ``Figure`` it drew (made with
``plt.subplots``; nothing is shown or closed here: end the notebook cell with ``;`` or
``plt.show()``). Each figure has a title, and labelled axes where axes mean something.

Importing this module applies the course's style sheet (``vae_course/course.mplstyle``,
:data:`STYLE`): font sizes, 90 dpi and constrained layout for every figure of the
session, the chapters' own ``plt.subplots`` figures included. Figures are at most
:data:`MAX_FIGURE_WIDTH` inches wide, so a notebook shows them all at their natural size.

Models follow the course interface (:mod:`vae_course.models`): ``encode(x)`` returns
``(mu, log_var)`` for a VAE or a code ``z`` for an autoencoder, and ``decode(z)`` returns
logits, shown as pixel probabilities ``sigmoid(logits)``. Conditional models (with a
``num_classes`` attribute) take labels where a function has a ``labels``/``label`` argument.
Images may be given as (N, C, H, W), (N, H, W) or one (H, W) image, on any device.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure
from torch import Tensor, nn

from vae_course import _tiles
from vae_course._checks import finite_number, positive_int, positive_number
from vae_course.models import check_model, decode_probabilities, encode_all, posterior_mean
from vae_course.toys import LinearGaussianToy, single_sample_gradients

__all__ = [
    "MAX_FIGURE_WIDTH",
    "STYLE",
    "elbo_gap",
    "gradient_estimates",
    "image_grid",
    "image_rows",
    "interpolation_strip",
    "latent_scatter",
    "posterior_regions",
    "prior_samples",
    "rate_distortion",
    "reconstructions",
    "training_curves",
    "traversal_grid",
]

STYLE = Path(__file__).with_name("course.mplstyle")  # the course's one figure style
MAX_FIGURE_WIDTH = 10.0  # inches: 900 pixels at the style's 90 dpi
plt.style.use(STYLE)

_TILE = 0.6  # inches per image tile, unless the figure would be wider than allowed
_LABELS = 1.3  # inches for row labels (tick labels and an axis label) left of the tiles


# ----------------------------------------------------------------------------- helpers


def _latent_dim(model: nn.Module, codes: Tensor | None = None) -> int:
    check_model(model, "decode")
    d = getattr(model, "latent_dim", None)
    if d is None and codes is not None:
        d = codes.shape[1]
    if d is None:
        raise ValueError(f"{type(model).__name__} has no latent_dim attribute")
    return int(d)


def _tile_figsize(
    columns: int, rows: int, left: float = 0.0, extra_height: float = 0.5
) -> tuple[float, float]:
    """(width, height) in inches for ``rows`` x ``columns`` image tiles, ``left`` inches of row
    labels and ``extra_height`` inches of title and column labels, at most MAX_FIGURE_WIDTH
    wide (the tiles shrink to fit)."""
    tile = min(_TILE, (MAX_FIGURE_WIDTH - left) / max(columns, 1))
    return max(2.0, tile * columns + left), max(1.2, tile * rows + extra_height)


def _show_tiles(ax: Any, images: Tensor, nrow: int) -> None:
    picture = _tiles.grid(images, nrow)
    picture = picture[0] if images.shape[1] == 1 else picture.permute(1, 2, 0)
    ax.imshow(picture.numpy(), cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")


# ----------------------------------------------------------------------------- image figures


def image_grid(images: Any, nrow: int = 8, title: str = "Images") -> Figure:
    """Show images (N, C, H, W) with values in [0, 1] as a grid of ``nrow`` per row.
    Used from 00_welcome on.
    """
    images = _tiles.as_images(images)
    nrow = positive_int(nrow, "nrow")
    rows = -(-images.shape[0] // nrow)
    columns = min(nrow, images.shape[0])
    fig, ax = plt.subplots(figsize=_tile_figsize(columns, rows))
    _show_tiles(ax, images, nrow)
    ax.set_axis_off()
    ax.set_title(title)
    return fig


def image_rows(
    rows: Mapping[str, Any],
    title: str = "Image rows",
    columns: Sequence[str] | None = None,
    xlabel: str = "",
    ylabel: str = "",
) -> Figure:
    """Show several rows of images, each labelled on the left with its key.

    ``rows`` maps a label to images (n, C, H, W) with values in [0, 1] (n may differ between
    rows; shorter rows end in grey blanks). All rows must share C, H and W. Rows are drawn
    top to bottom in the order of the mapping, e.g.
    ``image_rows({"input": x, "decode(μ)": x_hat}, title="...")``. ``columns`` names the
    columns below them (one name per column); ``xlabel`` and ``ylabel`` say what the
    columns and rows are. Used from 01_autoencoder on (07 and 08 name rows and columns).
    """
    if not isinstance(rows, Mapping):
        raise TypeError(
            "rows must be a dict {row label: images (n, C, H, W)}, got " + type(rows).__name__
        )
    if not rows:
        raise ValueError("rows is empty: give at least one {label: images} entry")
    tensors = {
        str(name): _tiles.as_images(images, f"rows[{name!r}]") for name, images in rows.items()
    }
    shapes = {tuple(t.shape[1:]) for t in tensors.values()}
    if len(shapes) > 1:
        found = ", ".join(f"{name!r}: {tuple(t.shape[1:])}" for name, t in tensors.items())
        raise ValueError(f"every row needs images of the same (C, H, W); got {found}")
    count = max(t.shape[0] for t in tensors.values())
    if columns is not None:
        columns = [str(name) for name in columns]
        if len(columns) != count:
            raise ValueError(f"columns names {len(columns)} columns, but the rows have {count}")
    padded = []
    for images in tensors.values():
        blanks = images.new_full((count - images.shape[0], *images.shape[1:]), _tiles.PAD_VALUE)
        padded.append(torch.cat([images, blanks]))
    below = 0.5 if columns is None and not xlabel else 0.9
    fig, ax = plt.subplots(figsize=_tile_figsize(count, len(tensors), _LABELS, below))
    _show_tiles(ax, torch.cat(padded), count)
    height, width = padded[0].shape[-2], padded[0].shape[-1]
    ax.set_yticks(_tiles.tile_centres(len(tensors), height), list(tensors))
    if columns is None:
        ax.set_xticks([])
    else:
        ax.set_xticks(_tiles.tile_centres(count, width), columns)
    ax.tick_params(length=0)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    return fig


def reconstructions(model: nn.Module, images: Any, n: int = 8, labels: Any = None) -> Figure:
    """Inputs (top row) and their reconstructions sigmoid(decode(mu(x))) (bottom row).

    Uses the first ``n`` images (N, C, H, W); decoding the posterior mean is deterministic.
    Used in 01_autoencoder.
    """
    n = positive_int(n, "n")
    images = _tiles.as_images(images)[:n]
    labels = None if labels is None else torch.as_tensor(labels).reshape(-1)[: images.shape[0]]
    codes = posterior_mean(model, images, labels)
    recon = decode_probabilities(model, codes, labels)
    count = images.shape[0]
    fig, ax = plt.subplots(figsize=_tile_figsize(count, 2, _LABELS))
    _show_tiles(ax, torch.cat([images, recon.reshape(images.shape)]), count)
    size = images.shape[-2]
    ax.set_yticks(_tiles.tile_centres(2, size), ["input", "reconstruction"])
    ax.set_xticks([])
    ax.set_title(f"Inputs vs reconstructions ({type(model).__name__}, decoded from the mean code)")
    return fig


def prior_samples(model: nn.Module, n: int = 64, seed: int = 0, nrow: int = 8) -> Figure:
    """Decode ``n`` codes z ~ N(0, I) drawn with ``seed``: what the model generates.

    For an autoencoder this shows what lies between its codes (often not digits). A
    conditional model gets the labels 0, 1, ..., K-1, 0, ... in turn.
    Used in 02_vae, 03_reparameterisation and 08_applications.
    """
    n = positive_int(n, "n")
    d = _latent_dim(model)
    z = torch.randn(n, d, generator=torch.Generator().manual_seed(seed))
    num_classes = getattr(model, "num_classes", None)
    labels = None if num_classes is None else torch.arange(n) % num_classes
    samples = decode_probabilities(model, z, labels)
    fig = image_grid(samples, nrow=min(nrow, n))
    fig.axes[0].set_title(f"Samples from the prior z ~ N(0, I) ({type(model).__name__}, d={d})")
    return fig


def latent_scatter(
    model: nn.Module, images: Any, labels: Any = None, method: str = "auto", max_points: int = 5000
) -> Figure:
    """Scatter the mean codes of ``images`` (N, C, H, W), coloured by ``labels`` (N,).

    ``method``: ``"auto"`` (the codes themselves when d <= 2, else PCA), ``"pca"`` (first two
    principal components of the codes, with their share of the variance) or ``"first"`` (the
    first two latent dimensions). At most ``max_points`` points are drawn.
    Used in 01_autoencoder and 02_vae.
    """
    if method not in ("auto", "pca", "first"):
        raise ValueError(f"method must be 'auto', 'pca' or 'first', got {method!r}")
    images = _tiles.as_images(images)[:max_points]
    label_tensor = None if labels is None else torch.as_tensor(labels).reshape(-1)[:max_points]
    if label_tensor is not None and label_tensor.numel() != images.shape[0]:
        raise ValueError(f"got {label_tensor.numel()} labels for {images.shape[0]} images")
    codes = posterior_mean(model, images, label_tensor)
    d = codes.shape[1]
    if d == 1:
        points = torch.cat([codes, torch.zeros_like(codes)], dim=1)
        axis_names, how = ("z1", ""), "1-D latent"
    elif d == 2 or method == "first":
        points = codes[:, :2]
        axis_names = ("z1", "z2")
        how = "d=2" if d == 2 else f"first two of d={d} dimensions"
    else:
        centred = codes - codes.mean(0)
        _, singular, vh = torch.linalg.svd(centred, full_matrices=False)
        points = centred @ vh[:2].T
        share = singular.pow(2) / singular.pow(2).sum().clamp_min(1e-12)
        axis_names = (f"PC1 ({share[0]:.0%} of variance)", f"PC2 ({share[1]:.0%} of variance)")
        how = f"first two principal components of d={d}"
    fig, ax = plt.subplots(figsize=(6.5, 5.0))
    if label_tensor is None:
        ax.scatter(points[:, 0], points[:, 1], s=4, alpha=0.6)
    else:
        classes = torch.unique(label_tensor).tolist()
        cmap = plt.get_cmap("tab10" if len(classes) <= 10 else "tab20")
        for i, value in enumerate(classes):
            chosen = label_tensor == value
            ax.scatter(
                points[chosen, 0], points[chosen, 1], s=4, alpha=0.6,
                color=cmap(i % cmap.N), label=str(value),
            )  # fmt: skip
        if len(classes) <= 20:
            ax.legend(title="label", markerscale=3, loc="best")
    ax.set_xlabel(axis_names[0])
    ax.set_ylabel(axis_names[1] or "")
    ax.set_title(f"Mean codes of {images.shape[0]} images ({how})")
    return fig


# 95% of N(0, I) in 2-D lies within radius r: P(|z|² <= r²) = 1 − exp(−r²/2) = 0.95.
PRIOR_95_RADIUS = math.sqrt(-2.0 * math.log(0.05))


def posterior_regions(
    model: nn.Module,
    images: Any,
    labels: Any = None,
    max_points: int = 2000,
    title: str | None = None,
    ax: Any = None,
    legend: bool = True,
) -> Figure:
    """Each image's encoding in a 2-D latent space: a dot at μ(x) and, for a VAE, the ellipse
    μ ± σ (semi-axes σ1, σ2 with σ = exp(log_var / 2)), plus the dashed circle of radius
    √(−2 ln 0.05) ≈ 2.45 that holds 95% of the prior N(0, I).

    ``images`` (N, C, H, W), ``labels`` (N,) colour the dots and ellipses (one colour per
    label, legend on the right when ``legend``). For an autoencoder (``encode`` returns one
    code) only the dots are drawn: it has no region and no prior. At most ``max_points``
    images are used. Draws into ``ax`` when given (e.g. one panel of a comparison), else into
    a new figure; returns the Figure either way.
    Used in 02_vae (points vs regions).
    """
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import Circle, Ellipse

    max_points = positive_int(max_points, "max_points")
    images = _tiles.as_images(images)[:max_points]
    label_tensor = None if labels is None else torch.as_tensor(labels).reshape(-1)[:max_points]
    if label_tensor is not None and label_tensor.numel() != images.shape[0]:
        raise ValueError(f"got {label_tensor.numel()} labels for {images.shape[0]} images")
    d = _latent_dim(model)
    if d != 2:
        raise ValueError(
            f"posterior_regions draws a 2-D latent space; this model has latent_dim={d}. "
            "Use latent_scatter(model, images, labels) for a projection of larger codes."
        )
    mu, log_var = encode_all(model, images, label_tensor)
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.5, 5.0))
    fig = ax.figure
    if label_tensor is None:
        classes, colour_index = [None], torch.zeros(images.shape[0], dtype=torch.long)
    else:
        classes_tensor, colour_index = torch.unique(label_tensor, return_inverse=True)
        classes = classes_tensor.tolist()
    cmap = plt.get_cmap("tab10" if len(classes) <= 10 else "tab20")
    colours = [cmap(int(i) % cmap.N) for i in colour_index]
    if log_var is not None:
        sigma = (0.5 * log_var).exp()
        ellipses = [
            Ellipse((m[0].item(), m[1].item()), 2 * s[0].item(), 2 * s[1].item())
            for m, s in zip(mu, sigma, strict=True)
        ]
        regions = PatchCollection(ellipses, facecolors=colours, edgecolors="none", alpha=0.08)
        regions.set_label("_regions")
        ax.add_collection(regions, autolim=True)
        ax.add_patch(
            Circle((0.0, 0.0), PRIOR_95_RADIUS, fill=False, linestyle="--", color="k",
                   label="95% of the prior")
        )  # fmt: skip
        ax.set_aspect("equal", adjustable="datalim")
    for i, value in enumerate(classes):
        chosen = colour_index == i
        ax.scatter(
            mu[chosen, 0], mu[chosen, 1], s=3, color=cmap(i % cmap.N),
            label="_codes" if value is None else str(value),
        )  # fmt: skip
    ax.autoscale_view()
    ax.set_xlabel("z1")
    ax.set_ylabel("z2")
    if title is None:
        what = "codes (points)" if log_var is None else "posterior regions μ ± σ"
        title = f"{type(model).__name__}: {what} of {images.shape[0]} images"
    ax.set_title(title)
    if legend and (label_tensor is not None or log_var is not None) and len(classes) <= 20:
        ax.legend(
            title=None if label_tensor is None else "label", markerscale=3,
            loc="center left", bbox_to_anchor=(1.02, 0.5),
        )  # fmt: skip
    return fig


def interpolation_strip(
    model: nn.Module, x_a: Any, x_b: Any, steps: int = 10, label: Any = None
) -> Figure:
    """Decode codes on the straight line from mu(x_a) to mu(x_b): z_t = (1-t) z_a + t z_b.

    ``x_a``, ``x_b``: one image each ((C, H, W), (H, W) or (1, C, H, W)); ``steps`` >= 2 values
    of t from 0 to 1. The inputs are shown at both ends for comparison.
    Used in 01_autoencoder, 02_vae and 08_applications.
    """
    steps = positive_int(steps, "steps")
    if steps < 2:
        raise ValueError("steps must be at least 2 (the two end points)")
    ends = torch.cat([_tiles.as_single(x_a, "x_a"), _tiles.as_single(x_b, "x_b")])
    z = posterior_mean(model, ends, label)
    t = torch.linspace(0, 1, steps)[:, None]
    path = (1 - t) * z[0] + t * z[1]
    decoded = decode_probabilities(model, path, label)
    strip = torch.cat([ends[:1], decoded.reshape(steps, *ends.shape[1:]), ends[1:]])
    fig, ax = plt.subplots(figsize=_tile_figsize(steps + 2, 1, extra_height=1.1))
    _show_tiles(ax, strip, steps + 2)
    names = ["x_a"] + [f"{v:.2f}" for v in t.flatten().tolist()] + ["x_b"]
    ax.set_xticks(_tiles.tile_centres(steps + 2, ends.shape[-1]), names)
    ax.set_yticks([])
    ax.set_xlabel("interpolation weight t (inputs at both ends)")
    ax.set_title(f"Latent interpolation ({type(model).__name__}): decode((1-t) z_a + t z_b)")
    return fig


def traversal_grid(
    model: nn.Module,
    x: Any = None,
    dims: Sequence[int] | None = None,
    span: float = 3.0,
    steps: int = 9,
    label: Any = None,
) -> Figure:
    """Latent traversals: row j decodes the base code with dimension ``dims[j]`` set to values
    from -span to +span (``steps`` columns), all other dimensions fixed.

    The base code is mu(x) for an image ``x``, or 0 (the prior mean) when ``x`` is None.
    ``dims`` defaults to all dimensions, or the first 10 when d > 10.
    Used in 07_beta_vae.
    """
    _latent_dim(model)  # a course model, or a clear TypeError
    steps = positive_int(steps, "steps")
    if x is None:
        base = torch.zeros(_latent_dim(model))
        origin = "the prior mean 0"
    else:
        base = posterior_mean(model, _tiles.as_single(x, "x"), label)[0]
        origin = "mu(x)"
    d = base.numel()
    if dims is None:
        dims = list(range(min(d, 10)))
        note = "" if d <= 10 else f", first 10 of {d} dims"
    else:
        dims = [int(j) for j in dims]
        note = ""
        if not dims or any(j < 0 or j >= d for j in dims):
            raise ValueError(f"dims must be a non-empty list of dimensions in 0..{d - 1}")
    values = torch.linspace(-float(span), float(span), steps)
    codes = base.repeat(len(dims) * steps, 1)
    for row, j in enumerate(dims):
        codes[row * steps : (row + 1) * steps, j] = values
    decoded = decode_probabilities(model, codes, label)
    fig, ax = plt.subplots(figsize=_tile_figsize(steps, len(dims), _LABELS, extra_height=1.1))
    _show_tiles(ax, decoded, steps)
    height, width = decoded.shape[-2], decoded.shape[-1]
    ax.set_yticks(_tiles.tile_centres(len(dims), height), [f"z{j + 1}" for j in dims])
    ax.set_xticks(_tiles.tile_centres(steps, width), [f"{v:.1f}" for v in values.tolist()])
    ax.set_xlabel("value of the varied latent dimension")
    ax.set_ylabel("varied dimension")
    ax.set_title(f"Latent traversals around {origin} ({type(model).__name__}{note})")
    return fig


# ----------------------------------------------------------------------------- curves


def training_curves(history: Any, title: str | None = None) -> Figure:
    """Reconstruction and KL (nats per example; train solid, test dashed) against the epoch,
    with the KL weight β on a second y axis. ``history`` is a :class:`vae_course.train.History`.
    Used in 01_autoencoder and 02_vae.
    """
    try:
        epochs = history["epoch"]
    except (KeyError, TypeError) as error:
        raise TypeError(
            "training_curves needs the History returned by vae_course.train.fit"
        ) from error
    if not epochs:
        raise ValueError("the history has no epochs to plot")
    fig, ax = plt.subplots(figsize=(MAX_FIGURE_WIDTH, 4.0))
    styles = {"train": "-", "test": "--"}
    for metric, colour in (("reconstruction", "tab:blue"), ("kl", "tab:orange")):
        for split, style in styles.items():
            values = history[f"{split}_{metric}"]
            if all(v is None for v in values):
                continue
            name = "reconstruction" if metric == "reconstruction" else "KL"
            ax.plot(epochs, values, style, color=colour, marker=".", label=f"{split} {name}")
    ax.set_xlabel("epoch")
    ax.set_ylabel("nats per example")
    handles, names = ax.get_legend_handles_labels()
    legend_x = 1.02  # axes fraction: the legend starts right of the axes (and of the β axis)
    betas = history["beta"]
    if any(b is not None for b in betas):
        twin = ax.twinx()
        twin.plot(epochs, betas, ":", color="tab:grey", marker="s", markersize=3, label="β")
        twin.set_ylabel("β (KL weight, mean over the epoch)")
        twin.set_ylim(bottom=0)
        more_handles, more_names = twin.get_legend_handles_labels()
        handles, names = handles + more_handles, names + more_names
        legend_x = 1.16
    # Outside the axes, right of the β axis: inside, it would hide the curves or the β line.
    ax.legend(
        handles, names, loc="upper left", bbox_to_anchor=(legend_x, 1.0),
    )  # fmt: skip
    model = getattr(history, "info", {}).get("model", "model")
    ax.set_title(title or f"Training curves of the {model}")
    return fig


def rate_distortion(
    points: Sequence[Sequence[Any]], title: str = "Rate–distortion plane"
) -> Figure:
    """Place models on the rate–distortion plane: ``points`` is a list of
    (rate, distortion, label) with rate = KL(q(z|x) || p(z)) and distortion = -log p(x|z),
    both in nats per example. Dotted diagonals mark equal negative ELBO = rate + distortion.
    Used in 07_beta_vae.
    """
    try:
        parsed = [(float(r), float(d), str(name)) for r, d, name in points]
    except (TypeError, ValueError) as error:
        raise ValueError("points must be a list of (rate, distortion, label) triples") from error
    if not parsed:
        raise ValueError("points is empty: give at least one (rate, distortion, label)")
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    rates = [p[0] for p in parsed]
    distortions = [p[1] for p in parsed]
    for rate, distortion, name in parsed:
        ax.scatter([rate], [distortion], s=40, zorder=3)
        ax.annotate(name, (rate, distortion), textcoords="offset points", xytext=(5, 5))
    low = min(r + d for r, d in zip(rates, distortions, strict=True))
    high = max(r + d for r, d in zip(rates, distortions, strict=True))
    x_max = max(rates) * 1.15 + 1.0
    for level in torch.linspace(low, high, 3 if high > low else 1).tolist():
        ax.plot([0, x_max], [level, level - x_max], ":", color="tab:grey", linewidth=0.8)
    ax.set_xlim(0, x_max)
    span = max(distortions) - min(distortions)
    ax.set_ylim(min(distortions) - 0.1 * span - 1, max(distortions) + 0.1 * span + 1)
    ax.set_xlabel("rate: KL(q(z|x) ‖ p(z)) (nats)")
    ax.set_ylabel("distortion: −log p(x|z) (nats)")
    ax.set_title(f"{title} (dotted: equal −ELBO = rate + distortion)")
    return fig


# ----------------------------------------------------------------------------- teaching toys


def gradient_estimates(
    mu: float = 1.0, sigma: float = 1.0, n: int = 4000, seed: int = 1, title: str | None = None
) -> Figure:
    """Histograms of ``n`` single-sample estimates of d/dμ E[z²], z ~ N(μ, σ²), by the score
    function (left) and by reparameterisation (right), on a shared x axis, with the exact
    gradient 2μ marked and each estimator's measured variance in its panel title.

    The estimators are those of :func:`single_sample_gradients` (variances
    μ⁴/σ² + 14μ² + 15σ² and 4σ²); the noise ε ~ N(0, 1) is drawn in float64 with ``seed``.
    Used in 03_reparameterisation (through widgets.gradient_estimator_explorer).
    """
    mu = finite_number(mu, "mu")
    sigma = positive_number(sigma, "sigma")
    n = positive_int(n, "n")
    eps = torch.randn(n, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    estimates = single_sample_gradients(mu, sigma, eps)
    low, high = torch.quantile(
        torch.cat(list(estimates.values())), torch.tensor([0.01, 0.99], dtype=torch.float64)
    ).tolist()
    bins = torch.linspace(min(low, 2 * mu - 1), max(high, 2 * mu + 1), 81).numpy()
    fig, axes = plt.subplots(1, 2, figsize=(MAX_FIGURE_WIDTH, 3.4), sharex=True)
    colours = ["tab:blue", "tab:orange"]
    for ax, (name, g), colour in zip(axes, estimates.items(), colours, strict=True):
        ax.hist(g.numpy(), bins=bins, color=colour)
        ax.axvline(2 * mu, color="black", label=f"exact 2μ = {2 * mu:.2f}")
        ax.set(
            title=f"{name}: variance {g.var().item():.3g}",
            xlabel="single-sample estimate",
            ylabel="count",
        )
        ax.legend()
    fig.suptitle(
        title or f"Gradient estimates of d/dμ E[z²] for μ = {mu:.2f}, σ = {sigma:.2f} (same x axis)"
    )
    return fig


def elbo_gap(
    m: float = 0.0,
    sigma: float = 1.0,
    toy: LinearGaussianToy | None = None,
    title: str | None = None,
) -> Figure:
    """The ELBO gap in the exact toy model (:class:`LinearGaussianToy`, default x = 1.5,
    s² = 0.25) for q(z | x) = N(m, σ²).

    Left: the densities of the prior p(z), the exact posterior p(z | x) and q. Right: bars
    of log p(x), ELBO(m, σ²) and the gap log p(x) − ELBO = KL(q ‖ p(z | x)) ≥ 0, in nats.
    Used in 04_elbo (through widgets.elbo_gap_explorer).
    """
    toy = LinearGaussianToy() if toy is None else toy
    if not isinstance(toy, LinearGaussianToy):
        raise TypeError(f"toy must be a LinearGaussianToy, got {type(toy).__name__}")
    m = finite_number(m, "m")
    sigma = positive_number(sigma, "sigma")
    elbo = toy.elbo(m, sigma**2).item()
    gap = toy.log_evidence - elbo
    centre = toy.posterior_mean
    z = torch.linspace(min(-3.0, m - 3 * sigma), max(centre + 3.0, m + 3 * sigma), 400)
    fig, (left, right) = plt.subplots(1, 2, figsize=(MAX_FIGURE_WIDTH, 3.6))
    densities = {
        "prior p(z)": (0.0, 1.0),
        "posterior p(z|x)": (centre, math.sqrt(toy.posterior_var)),
        "your q(z|x)": (m, sigma),
    }
    for name, (mean, std) in densities.items():
        left.plot(z, torch.distributions.Normal(mean, std).log_prob(z).exp(), label=name)
    left.set(title=f"Densities of the toy model (x = {toy.x:g})", xlabel="z", ylabel="density")
    left.legend()
    right.bar(
        ["log p(x)", "ELBO", "gap = KL(q || p(z|x))"],
        [toy.log_evidence, elbo, gap],
        color=["black", "tab:blue", "tab:red"],
    )
    right.axhline(0, color="grey", linewidth=0.8)
    right.set(title=f"ELBO {elbo:.3f}, gap {gap:.3f} nats", ylabel="nats")
    fig.suptitle(title or f"ELBO gap for q = N({m:.2f}, {sigma:.2f}²): the gap is KL(q ‖ p(z|x))")
    return fig
