"""Images as tiles: the input forms pictures accept, and the grid that figures and widgets draw.

A grid is torchvision's ``make_grid`` with :data:`PAD` grey pixels between tiles, so the
tile centres (for row and column labels) are at :func:`tile_centres`.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

PAD = 2  # pixels between tiles
PAD_VALUE = 0.5  # grey separators show on black and on white digits


def as_images(images: Any, name: str = "images") -> Tensor:
    """Images as a float tensor (N, C, H, W) on the CPU, from (N, C, H, W), (N, H, W) or one
    (H, W) image (a tensor or anything ``torch.as_tensor`` takes); a clear error otherwise."""
    if not isinstance(images, Tensor):
        try:
            images = torch.as_tensor(images)
        except (TypeError, ValueError, RuntimeError) as error:
            raise TypeError(
                f"{name} must be a tensor of images, got {type(images).__name__}"
            ) from error
    images = images.detach()
    if images.dim() == 2:
        images = images[None, None]
    elif images.dim() == 3:
        images = images[:, None]
    if images.dim() != 4 or images.shape[0] == 0:
        raise ValueError(
            f"{name} must be shaped (N, C, H, W), (N, H, W) or (H, W) with N >= 1; "
            f"got {tuple(images.shape)}"
        )
    return images.float().cpu()


def as_single(x: Any, name: str) -> Tensor:
    """One image as (1, C, H, W) from (C, H, W), (H, W) or (1, C, H, W)."""
    x = torch.as_tensor(x) if not isinstance(x, Tensor) else x
    if x.dim() == 3 and x.shape[0] in (1, 3):
        x = x[None]
    images = as_images(x, name)
    if images.shape[0] != 1:
        raise ValueError(f"{name} must be one image, got shape {tuple(x.shape)}")
    return images


def grid(images: Tensor, nrow: int) -> Tensor:
    """Images (N, C, H, W) in [0, 1] tiled ``nrow`` per row with grey separators: (C, H', W')."""
    from torchvision.utils import make_grid

    return make_grid(images.clamp(0, 1), nrow=max(1, nrow), padding=PAD, pad_value=PAD_VALUE)


def tile_centres(count: int, size: int) -> list[float]:
    """Pixel coordinates of the centres of ``count`` tiles of ``size`` pixels along one axis."""
    return [PAD + i * (size + PAD) + (size - 1) / 2 for i in range(count)]


__all__ = ["PAD", "PAD_VALUE", "as_images", "as_single", "grid", "tile_centres"]
