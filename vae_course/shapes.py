"""A procedural dSprites-like data set: white shapes on black, with known generative factors.

Every image is drawn by this module from five independent factors, so a model's latent
code can be compared with the ground truth (latent traversals, MIG in chapter 07):

=============  =====  ============================================================
factor         count  values
=============  =====  ============================================================
shape          3      square, ellipse, heart (stored as 0, 1, 2)
scale          6      evenly spaced in [0.5, 1]
orientation    40     2πk/40, k = 0..39, i.e. evenly spaced in [0, 2π)
x              32     evenly spaced in [0, 1] (left to right)
y              32     evenly spaced in [0, 1] (top to bottom)
=============  =====  ============================================================

As in dSprites, the square repeats itself every quarter turn and the ellipse every half
turn, so some different orientations give the same image; the heart has no such symmetry.

**Differences from dSprites** (Matthey et al., 2017), to keep in mind when comparing numbers
with the literature. The factor grids are the same except orientation: dSprites uses
``linspace(0, 2π, 40)`` (step 2π/39, so its first and last orientations are the same angle
and the same image), ``shapes`` uses 2πk/40 (step 2π/40, 40 distinct angles). Both have 40
classes, so H(orientation) = log 40 and MIG normalises it the same way; the dSprites grid only
adds one pair of identical images per shape. The renderer is our own (signed distances, a
one-pixel anti-aliased edge, a heart of two discs and a V), and the data sets are random
draws from the factor grid, not the full product of 737 280 images.

Rendering is vectorised: for a batch of B images of S×S pixels the pixel centres are
mapped into each shape's own frame, p = R(−θ)(u − c) / scale, and a signed distance
d(p) (negative inside) is evaluated there. A pixel's intensity is the clipped ramp
clamp(½ − d·S, 0, 1): 1 well inside, 0 well outside, and a one-pixel anti-aliased edge, so
even half-pixel moves of the position change the image. Images are float32 in [0, 1].
"""

from __future__ import annotations

import math

import numpy as np
import torch

from vae_course._checks import integer, positive_int

SHAPE_NAMES: tuple[str, ...] = ("square", "ellipse", "heart")
FACTOR_NAMES: tuple[str, ...] = ("shape", "scale", "orientation", "x", "y")
FACTOR_SIZES: tuple[int, ...] = (3, 6, 40, 32, 32)

MIN_IMAGE_SIZE = 8
MAX_IMAGE_SIZE = 256

# Geometry, in fractions of the image side. At scale 1 the square's half-side is 0.15, the
# ellipse's semi-axes are 0.19 × 0.095 and the heart is 0.33 tall; every shape at every
# orientation then fits within 0.22 of its centre, so centres run over [0.22, 0.78].
_SQUARE_HALF_SIDE = 0.15
_ELLIPSE_SEMI_AXES = (0.19, 0.095)
_HEART_SIZE = 0.3  # the unit heart below is about 1.1 tall
_HEART_CENTRE_OFFSET = 0.55  # moves the unit heart's middle (not its tip) to the centre
_MARGIN = 0.22
_PIXELS_PER_CHUNK = 1 << 22  # bounds the temporary tensors to about 16 MB each


def factor_values(name: str) -> torch.Tensor:
    """The ordered possible values of one factor, e.g. ``factor_values("scale")`` (6,).

    ``shape`` gives 0., 1., 2. (indices into :data:`SHAPE_NAMES`).
    Used by load_dataset('shapes'), the data of 07_beta_vae.
    """
    if name == "shape":
        return torch.arange(3, dtype=torch.float32)
    if name == "scale":
        return torch.linspace(0.5, 1.0, FACTOR_SIZES[1])
    if name == "orientation":
        return torch.arange(FACTOR_SIZES[2], dtype=torch.float64).mul(2 * math.pi / 40).float()
    if name in ("x", "y"):
        return torch.linspace(0.0, 1.0, FACTOR_SIZES[3])
    raise ValueError(f"unknown factor {name!r}; the factors are {', '.join(FACTOR_NAMES)}")


def classes_to_values(factor_classes: torch.Tensor) -> torch.Tensor:
    """Map factor class indices (N, 5) int64 to factor values (N, 5) float32.

    Column j holds ``factor_values(FACTOR_NAMES[j])[factor_classes[:, j]]``.
    Used by render_classes (07_beta_vae).
    """
    classes = _check_classes(factor_classes)
    columns = [factor_values(name)[classes[:, j]] for j, name in enumerate(FACTOR_NAMES)]
    return torch.stack(columns, dim=1)


def render(
    shape: str | int,
    scale: float,
    orientation: float,
    x: float,
    y: float,
    image_size: int = 64,
) -> torch.Tensor:
    """Draw one image (1, S, S) float32 in [0, 1] from factor *values*.

    ``shape`` is a name from :data:`SHAPE_NAMES` or its index; ``scale`` > 0 (the data set
    uses 0.5..1); ``orientation`` in radians, counter-clockwise; ``x``, ``y`` in [0, 1] place
    the centre at u = 0.22 + 0.56·x across and 0.22 + 0.56·y down the image. Values between
    the grid points are allowed (handy for smooth traversals).
    Not used by a chapter: one shape, for experiments next to 07_beta_vae.
    """
    shape_index = _shape_index(shape)
    values = [float(scale), float(orientation), float(x), float(y)]
    if not all(math.isfinite(v) for v in values):
        raise ValueError("scale, orientation, x and y must be finite numbers")
    if values[0] <= 0:
        raise ValueError(f"scale must be positive, got {scale}")
    row = torch.tensor([[float(shape_index), *values]], dtype=torch.float32)
    return render_values(row, image_size)[0]


def render_classes(factor_classes: torch.Tensor, image_size: int = 64) -> torch.Tensor:
    """Draw images (N, 1, S, S) from factor class indices (N, 5) int64.

    Class j of a factor means its j-th value in :func:`factor_values`; use this for
    ground-truth traversals: copy a row, change one column, render both.
    Used in 07_beta_vae (ground-truth traversals).
    """
    return render_values(classes_to_values(factor_classes), image_size)


def render_values(values: torch.Tensor, image_size: int = 64) -> torch.Tensor:
    """Draw images (N, 1, S, S) float32 in [0, 1] from factor values (N, 5).

    Columns: shape index (0, 1, 2), scale, orientation (radians), x, y, as in
    :data:`FACTOR_NAMES`. Work is done in chunks so memory stays small for any N.
    Used by load_dataset('shapes'), the data of 07_beta_vae.
    """
    size = check_image_size(image_size)
    values = torch.as_tensor(values, dtype=torch.float32)
    if values.ndim != 2 or values.shape[1] != len(FACTOR_NAMES):
        raise ValueError(f"factor values must have shape (N, 5), got {tuple(values.shape)}")
    images = torch.empty(values.shape[0], 1, size, size)
    chunk = max(1, _PIXELS_PER_CHUNK // (size * size))
    for start in range(0, values.shape[0], chunk):
        part = values[start : start + chunk]
        images[start : start + chunk, 0] = _render_chunk(part, size)
    return images


def generate_shapes(
    n: int, image_size: int = 64, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Draw ``n`` random images with their factors; the same seed gives the same data.

    The shape classes are balanced (each appears ⌊n/3⌋ or ⌈n/3⌉ times, in random order);
    scale, orientation, x and y are drawn uniformly from their grids, independently.

    Returns ``(images (n, 1, S, S) float32 in [0, 1], factor_values (n, 5) float32,
    factor_classes (n, 5) int64)``, columns in :data:`FACTOR_NAMES` order.
    Used by load_dataset('shapes'), the data of 07_beta_vae.
    """
    n = positive_int(n, "n")
    seed = integer(seed, "seed")
    size = check_image_size(image_size)
    rng = np.random.default_rng(int(seed))
    shapes = rng.permutation(np.arange(int(n)) % FACTOR_SIZES[0])
    others = [rng.integers(0, count, size=int(n)) for count in FACTOR_SIZES[1:]]
    classes = torch.from_numpy(np.stack([shapes, *others], axis=1).astype(np.int64))
    values = classes_to_values(classes)
    return render_values(values, size), values, classes


# ----------------------------------------------------------------------------- internals


def _shape_index(shape: str | int) -> int:
    if isinstance(shape, str):
        key = shape.strip().lower()
        if key in SHAPE_NAMES:
            return SHAPE_NAMES.index(key)
    elif isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        if 0 <= int(shape) < len(SHAPE_NAMES):
            return int(shape)
    raise ValueError(
        f"unknown shape {shape!r}; choose one of {', '.join(SHAPE_NAMES)} (or 0, 1, 2)"
    )


def check_image_size(image_size: int) -> int:
    """``image_size`` as an int in [MIN_IMAGE_SIZE, MAX_IMAGE_SIZE], or a ValueError.
    Used by load_dataset('shapes'); no chapter calls it.
    """
    ok = isinstance(image_size, (int, np.integer)) and not isinstance(image_size, bool)
    if not ok or not MIN_IMAGE_SIZE <= int(image_size) <= MAX_IMAGE_SIZE:
        raise ValueError(
            f"image_size must be an integer from {MIN_IMAGE_SIZE} to {MAX_IMAGE_SIZE} "
            f"(e.g. 32 or 64), got {image_size!r}"
        )
    return int(image_size)


def _check_classes(factor_classes: torch.Tensor) -> torch.Tensor:
    classes = torch.as_tensor(factor_classes)
    if classes.ndim != 2 or classes.shape[1] != len(FACTOR_NAMES):
        raise ValueError(f"factor classes must have shape (N, 5), got {tuple(classes.shape)}")
    if classes.dtype.is_floating_point or classes.dtype == torch.bool:
        raise TypeError(f"factor classes must be integers, got {classes.dtype}")
    classes = classes.long()
    sizes = torch.tensor(FACTOR_SIZES)
    if classes.numel() and ((classes < 0).any() or (classes >= sizes).any()):
        raise ValueError(
            f"factor classes out of range; column j must lie in [0, {FACTOR_SIZES}[j])"
        )
    return classes


def _render_chunk(values: torch.Tensor, size: int) -> torch.Tensor:
    """Signed-distance rendering of a chunk: values (B, 5) -> intensities (B, S, S)."""
    shape, scale, angle, x, y = (values[:, j].view(-1, 1, 1) for j in range(5))
    centres = (torch.arange(size, dtype=torch.float32) + 0.5) / size
    across, down = centres.view(1, 1, size), centres.view(1, size, 1)
    # offsets from the shape's centre, with "up" positive, in units of the shape's scale
    dx = (across - (_MARGIN + (1 - 2 * _MARGIN) * x)) / scale
    dy = ((_MARGIN + (1 - 2 * _MARGIN) * y) - down) / scale
    cos, sin = torch.cos(angle), torch.sin(angle)
    px, py = cos * dx + sin * dy, cos * dy - sin * dx  # rotate by -angle
    distance = torch.empty(values.shape[0], size, size)
    for index, signed_distance in enumerate((_square, _ellipse, _heart)):
        rows = (shape[:, 0, 0] == index).nonzero().flatten()
        if rows.numel():
            distance[rows] = signed_distance(px[rows], py[rows])
    distance = distance * scale  # back from the shape's frame to image fractions
    return (0.5 - distance * size).clamp(0.0, 1.0)


def _square(px: torch.Tensor, py: torch.Tensor) -> torch.Tensor:
    """Exact signed distance to the square of half-side h: |max(q, 0)| + min(max q, 0)."""
    qx, qy = px.abs() - _SQUARE_HALF_SIDE, py.abs() - _SQUARE_HALF_SIDE
    outside = torch.hypot(qx.clamp(min=0), qy.clamp(min=0))
    return outside + torch.maximum(qx, qy).clamp(max=0)


def _ellipse(px: torch.Tensor, py: torch.Tensor) -> torch.Tensor:
    """First-order signed distance to the ellipse (a, b): k0 (k0 − 1) / k1.

    k0 = |p / r| and k1 = |p / r²|; exact on the boundary, which is all the one-pixel
    anti-aliased edge needs.
    """
    a, b = _ELLIPSE_SEMI_AXES
    k0 = torch.hypot(px / a, py / b)
    k1 = torch.hypot(px / (a * a), py / (b * b)).clamp(min=1e-6)
    return k0 * (k0 - 1) / k1


def _heart(px: torch.Tensor, py: torch.Tensor) -> torch.Tensor:
    """Exact signed distance to a heart made of two discs and a V (tip at the bottom)."""
    k = _HEART_SIZE
    hx, hy = px.abs() / k, py / k + _HEART_CENTRE_OFFSET
    lobe = torch.hypot(hx - 0.25, hy - 0.75) - math.sqrt(2) / 4
    t = 0.5 * (hx + hy).clamp(min=0)
    to_top = hx.square() + (hy - 1).square()
    to_diagonal = (hx - t).square() + (hy - t).square()
    v_part = torch.sqrt(torch.minimum(to_top, to_diagonal)) * torch.sign(hx - hy)
    return torch.where(hx + hy > 1, lobe, v_part) * k


__all__ = [
    "FACTOR_NAMES",
    "FACTOR_SIZES",
    "SHAPE_NAMES",
    "check_image_size",
    "classes_to_values",
    "factor_values",
    "generate_shapes",
    "render",
    "render_classes",
    "render_values",
]
