"""The encoder and decoder networks the models are built from: MLPs and stride-2 convolutions."""

from __future__ import annotations

import math
from collections.abc import Sequence

from torch import nn

from vae_course._checks import positive_int


def _mlp(sizes: Sequence[int], final_activation: bool) -> nn.Sequential:
    """Linear layers between consecutive ``sizes`` with ReLU between them (and after the
    last one when ``final_activation``)."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2 or final_activation:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def _mlp_networks(
    input_shape: tuple[int, int, int], hidden_dims: tuple[int, ...], latent_dim: int
) -> tuple[nn.Module, int, nn.Module]:
    """(encoder body x -> features, feature size, decoder z -> logits image) for an MLP."""
    d_in = math.prod(input_shape)
    body = nn.Sequential(nn.Flatten(), _mlp((d_in, *hidden_dims), final_activation=True))
    feature_dim = hidden_dims[-1] if hidden_dims else d_in
    decoder = nn.Sequential(
        _mlp((latent_dim, *reversed(hidden_dims), d_in), final_activation=False),
        nn.Unflatten(1, input_shape),
    )
    return body, feature_dim, decoder


def _default_channels(size: int) -> tuple[int, ...]:
    """Halve the image while it stays even and >= 4 px (at most 4 times): 28 -> (32, 64),
    64 -> (32, 32, 64, 64)."""
    n = 0
    while n < 4 and size % (2 ** (n + 1)) == 0 and size // 2 ** (n + 1) >= 4:
        n += 1
    if n == 0:
        raise ValueError(
            f"a convolutional model needs an even image size of at least 8 px, got {size}"
        )
    return tuple(32 if i < n // 2 else 64 for i in range(n))


def _conv_networks(
    input_shape: tuple[int, int, int],
    channels: Sequence[int] | None,
    hidden_dim: int,
    latent_dim: int,
) -> tuple[nn.Module, int, nn.Module, tuple[int, ...]]:
    """Conv encoder body (k=4, s=2, p=1 halves the size per layer) and its mirror decoder."""
    c, h, w = input_shape
    if channels is None:
        channels = _default_channels(min(h, w))
    channels = tuple(int(ch) for ch in channels)
    if not channels or any(ch < 1 for ch in channels):
        raise ValueError(f"channels must be a non-empty list of positive ints, got {channels!r}")
    factor = 2 ** len(channels)
    if h % factor or w % factor:
        raise ValueError(
            f"{len(channels)} stride-2 conv layers need image sides divisible by {factor}, "
            f"got {h}x{w}; use fewer channels entries (e.g. 2 layers for 28 px, 4 for 64 px)"
        )
    hidden_dim = positive_int(hidden_dim, "hidden_dim")
    fh, fw = h // factor, w // factor
    flat = channels[-1] * fh * fw

    enc: list[nn.Module] = []
    prev = c
    for ch in channels:
        enc += [nn.Conv2d(prev, ch, kernel_size=4, stride=2, padding=1), nn.ReLU()]
        prev = ch
    enc += [nn.Flatten(), nn.Linear(flat, hidden_dim), nn.ReLU()]

    dec: list[nn.Module] = [
        nn.Linear(latent_dim, hidden_dim),
        nn.ReLU(),
        nn.Linear(hidden_dim, flat),
        nn.ReLU(),
        nn.Unflatten(1, (channels[-1], fh, fw)),
    ]
    rev = list(reversed(channels))
    for i, ch in enumerate(rev):
        out = rev[i + 1] if i + 1 < len(rev) else c
        dec.append(nn.ConvTranspose2d(ch, out, kernel_size=4, stride=2, padding=1))
        if i + 1 < len(rev):
            dec.append(nn.ReLU())
    return nn.Sequential(*enc), hidden_dim, nn.Sequential(*dec), channels
