"""Autoencoders and variational autoencoders with one shared interface.

Every model takes images ``x`` shaped ``(B, C, H, W)`` (MLP models also accept the
flattened ``(B, C*H*W)``) with values in [0, 1], and every decoder returns **logits**
shaped ``(B, C, H, W)``: apply ``torch.sigmoid`` to get pixel probabilities, or give the
logits to :func:`vae_course.losses.bernoulli_log_likelihood` (the numerically safe form).

=====================  =========================================  ============================
model                  ``encode(x)``                              ``forward(x)``
=====================  =========================================  ============================
:class:`Autoencoder`   code ``z`` (B, d)                          ``AEOutput(logits, z)``
:class:`VAE`           ``(mu, log_var)``, each (B, d)             ``VAEOutput(logits, mu,
:class:`ConvVAE`                                                  log_var, z)``
:class:`ConditionalVAE`  ``encode(x, y)``, ``decode(z, y)``       ``forward(x, y)``
=====================  =========================================  ============================

All models have ``latent_dim`` and ``input_shape`` attributes; the VAEs also have
``reparameterize(mu, log_var)`` and ``sample(n, generator=None)`` (pixel probabilities).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import torch
from torch import Tensor, nn

__all__ = [
    "AEOutput",
    "Autoencoder",
    "ConditionalVAE",
    "ConvAutoencoder",
    "ConvVAE",
    "VAE",
    "VAEOutput",
    "reparameterize",
]


class VAEOutput(NamedTuple):
    """What a VAE's ``forward`` returns (all tensors keep their graph).

    ``logits`` (B, C, H, W) decoder output for the sampled ``z``;
    ``mu``, ``log_var`` (B, d) parameters of q(z|x) = N(mu, diag exp(log_var));
    ``z`` (B, d) the reparameterised sample mu + exp(log_var / 2) * eps.
    """

    logits: Tensor
    mu: Tensor
    log_var: Tensor
    z: Tensor


class AEOutput(NamedTuple):
    """What an :class:`Autoencoder`'s ``forward`` returns: ``logits`` (B, C, H, W), code ``z`` (B, d)."""

    logits: Tensor
    z: Tensor


def reparameterize(mu: Tensor, log_var: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """Draw z ~ N(mu, diag exp(log_var)) differentiably: z = mu + exp(log_var / 2) * eps.

    ``eps ~ N(0, I)`` has the shape, dtype and device of ``mu`` (fresh noise per element),
    so dz/dmu = 1 and dz/dsigma = eps. ``mu`` and ``log_var`` must have the same shape;
    ``generator`` (a ``torch.Generator`` on any device) makes the noise reproducible.
    """
    if not isinstance(mu, Tensor) or not isinstance(log_var, Tensor):
        raise TypeError("reparameterize expects two tensors: mu and log_var")
    if mu.shape != log_var.shape:
        raise ValueError(
            f"mu and log_var must have the same shape, got {tuple(mu.shape)} "
            f"and {tuple(log_var.shape)}"
        )
    if generator is None:
        eps = torch.randn_like(mu)
    else:  # drawn on the generator's device, so a CPU generator also seeds GPU models
        eps = torch.randn(mu.shape, generator=generator, dtype=mu.dtype, device=generator.device)
        eps = eps.to(mu.device)
    return mu + torch.exp(0.5 * log_var) * eps


# ----------------------------------------------------------------------------- checks


def _as_shape(input_shape: Sequence[int]) -> tuple[int, int, int]:
    shape = tuple(int(s) for s in input_shape)
    if len(shape) != 3 or any(s < 1 for s in shape):
        raise ValueError(f"input_shape must be (C, H, W) with positive sizes, got {input_shape!r}")
    return shape  # type: ignore[return-value]


def _check_latent_dim(latent_dim: int) -> int:
    if isinstance(latent_dim, bool) or not isinstance(latent_dim, int) or latent_dim < 1:
        raise ValueError(f"latent_dim must be a positive integer, got {latent_dim!r}")
    return latent_dim


def _check_hidden_dims(hidden_dims: Sequence[int] | int) -> tuple[int, ...]:
    if isinstance(hidden_dims, int):
        hidden_dims = (hidden_dims,)
    dims = tuple(hidden_dims)
    if any(isinstance(h, bool) or not isinstance(h, int) or h < 1 for h in dims):
        raise ValueError(f"hidden_dims must be positive integers, got {hidden_dims!r}")
    return dims


def _images(x: object, input_shape: tuple[int, int, int], model_name: str) -> Tensor:
    """Return ``x`` as (B, C, H, W), accepting (B, C*H*W) too; clear errors otherwise."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{model_name} expects a torch.Tensor of images, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(
            f"{model_name} expects floating-point images in [0, 1], got dtype {x.dtype}; "
            "convert with x.float() (and divide by 255 if the pixels are 0..255)"
        )
    c, h, w = input_shape
    if x.dim() == 4 and tuple(x.shape[1:]) == input_shape:
        return x
    if x.dim() == 2 and x.shape[1] == c * h * w:
        return x.reshape(x.shape[0], c, h, w)
    hint = ""
    if x.numel() == c * h * w and (x.dim() in (1, 3) or tuple(x.shape) == (h, w)):
        hint = " This looks like a single image: add a batch dimension with x.unsqueeze(0)."
    raise ValueError(
        f"{model_name} expected images shaped (B, {c}, {h}, {w}) or (B, {c * h * w}), "
        f"got {tuple(x.shape)}.{hint}"
    )


def _latents(z: object, latent_dim: int, model_name: str) -> Tensor:
    if not isinstance(z, Tensor):
        raise TypeError(f"{model_name}.decode expects a torch.Tensor, got {type(z).__name__}")
    if z.dim() != 2 or z.shape[1] != latent_dim:
        raise ValueError(
            f"{model_name}.decode expected latent codes shaped (B, {latent_dim}), "
            f"got {tuple(z.shape)}"
        )
    return z


def _standard_normal(
    shape: tuple[int, ...], generator: torch.Generator | None, device: torch.device
) -> Tensor:
    """N(0, I) noise on ``device``, drawn on the generator's own device when one is given."""
    if generator is None:
        return torch.randn(shape, device=device)
    return torch.randn(shape, generator=generator, device=generator.device).to(device)


def _check_n(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n (the number of samples) must be a positive integer, got {n!r}")
    return n


# ----------------------------------------------------------------------------- networks


def _mlp(sizes: Sequence[int], final_activation: bool) -> nn.Sequential:
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
    if hidden_dim < 1:
        raise ValueError(f"hidden_dim must be a positive integer, got {hidden_dim!r}")
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


# ----------------------------------------------------------------------------- models


class _VAEMixin:
    """``reparameterize``, ``forward`` and ``sample`` shared by the unconditional VAEs."""

    latent_dim: int

    def reparameterize(
        self, mu: Tensor, log_var: Tensor, generator: torch.Generator | None = None
    ) -> Tensor:
        """z = mu + exp(log_var / 2) * eps with eps ~ N(0, I); shapes (B, d) -> (B, d)."""
        return reparameterize(mu, log_var, generator)

    def forward(self, x: Tensor) -> VAEOutput:
        """Encode, sample one z per image with the reparameterisation trick, decode.

        x (B, C, H, W) or (B, C*H*W) -> ``VAEOutput(logits (B,C,H,W), mu, log_var, z (B,d))``.
        """
        mu, log_var = self.encode(x)  # type: ignore[attr-defined]
        z = self.reparameterize(mu, log_var)
        return VAEOutput(self.decode(z), mu, log_var, z)  # type: ignore[attr-defined]

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """Generate ``n`` images: z ~ N(0, I) (n, d), decode, sigmoid -> probabilities (n, C, H, W).

        ``generator`` (a ``torch.Generator`` on any device) makes the draw reproducible.
        """
        n = _check_n(n)
        device = next(self.parameters()).device  # type: ignore[attr-defined]
        z = _standard_normal((n, self.latent_dim), generator, device)
        return torch.sigmoid(self.decode(z))  # type: ignore[attr-defined]


class VAE(_VAEMixin, nn.Module):
    """MLP VAE; the default is the classic 784-400-20 model (one hidden layer of 400, ReLU).

    Encoder: x (B, D) -> ReLU(Linear) per ``hidden_dims`` -> two heads ``mu``, ``log_var`` (B, d).
    Decoder: z (B, d) -> the mirror MLP -> logits (B, C, H, W) (no sigmoid).

    Args:
        latent_dim: d, the size of z (default 20).
        hidden_dims: hidden layer sizes of the encoder (the decoder mirrors them), default (400,).
        input_shape: (C, H, W) of the images, default (1, 28, 28).
    """

    def __init__(
        self,
        latent_dim: int = 20,
        hidden_dims: Sequence[int] | int = (400,),
        input_shape: Sequence[int] = (1, 28, 28),
    ) -> None:
        super().__init__()
        self.latent_dim = _check_latent_dim(latent_dim)
        self.hidden_dims = _check_hidden_dims(hidden_dims)
        self.input_shape = _as_shape(input_shape)
        self.encoder, feature_dim, self.decoder = _mlp_networks(
            self.input_shape, self.hidden_dims, self.latent_dim
        )
        self.fc_mu = nn.Linear(feature_dim, self.latent_dim)
        self.fc_log_var = nn.Linear(feature_dim, self.latent_dim)

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """x (B, C, H, W) or (B, C*H*W) -> (mu, log_var), each (B, d): q(z|x) = N(mu, diag e^log_var)."""
        h = self.encoder(_images(x, self.input_shape, type(self).__name__))
        return self.fc_mu(h), self.fc_log_var(h)

    def decode(self, z: Tensor) -> Tensor:
        """z (B, d) -> logits (B, C, H, W) of Bernoulli pixels (sigmoid gives probabilities)."""
        return self.decoder(_latents(z, self.latent_dim, type(self).__name__))

    def extra_repr(self) -> str:
        return f"latent_dim={self.latent_dim}, input_shape={self.input_shape}"


class ConvVAE(_VAEMixin, nn.Module):
    """Convolutional VAE for square or rectangular images (28x28 MNIST, 64x64 shapes, ...).

    Encoder: stride-2 4x4 convolutions (each halves H and W, ReLU) -> Linear(hidden_dim) ->
    heads ``mu``, ``log_var`` (B, d). Decoder: the mirror image with transposed convolutions,
    ending in logits (B, C, H, W). With the defaults a 64x64 input uses channels
    (32, 32, 64, 64) (the Burgess et al. / beta-VAE architecture), a 28x28 input (32, 64).

    Args:
        latent_dim: d (default 10).
        input_shape: (C, H, W), default (1, 64, 64); H and W must be divisible by 2**len(channels).
        channels: output channels of each conv layer; ``None`` picks them from the image size.
        hidden_dim: width of the fully connected layer between convolutions and latent heads.
    """

    def __init__(
        self,
        latent_dim: int = 10,
        input_shape: Sequence[int] = (1, 64, 64),
        channels: Sequence[int] | None = None,
        hidden_dim: int = 256,
    ) -> None:
        super().__init__()
        self.latent_dim = _check_latent_dim(latent_dim)
        self.input_shape = _as_shape(input_shape)
        self.encoder, feature_dim, self.decoder, self.channels = _conv_networks(
            self.input_shape, channels, int(hidden_dim), self.latent_dim
        )
        self.fc_mu = nn.Linear(feature_dim, self.latent_dim)
        self.fc_log_var = nn.Linear(feature_dim, self.latent_dim)

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """x (B, C, H, W) (or flattened) -> (mu, log_var), each (B, d)."""
        h = self.encoder(_images(x, self.input_shape, type(self).__name__))
        return self.fc_mu(h), self.fc_log_var(h)

    def decode(self, z: Tensor) -> Tensor:
        """z (B, d) -> logits (B, C, H, W)."""
        return self.decoder(_latents(z, self.latent_dim, type(self).__name__))

    def extra_repr(self) -> str:
        return (
            f"latent_dim={self.latent_dim}, input_shape={self.input_shape}, "
            f"channels={self.channels}"
        )


class Autoencoder(nn.Module):
    """A deterministic autoencoder: x -> code z (B, d) -> logits (B, C, H, W).

    ``conv=False`` (default): MLP with ``hidden_dims`` (mirrored in the decoder).
    ``conv=True``: the same convolutional encoder/decoder as :class:`ConvVAE` (``channels``,
    ``hidden_dim``). Train it on reconstruction only, e.g. ``-bernoulli_log_likelihood``.

    Args:
        latent_dim: d, the size of the code (default 20).
        hidden_dims: MLP hidden sizes (MLP only), default (400,).
        input_shape: (C, H, W), default (1, 28, 28).
        conv: use the convolutional networks.
        channels, hidden_dim: convolutional settings (``conv=True`` only).
    """

    def __init__(
        self,
        latent_dim: int = 20,
        hidden_dims: Sequence[int] | int = (400,),
        input_shape: Sequence[int] = (1, 28, 28),
        conv: bool = False,
        channels: Sequence[int] | None = None,
        hidden_dim: int = 256,
    ) -> None:
        super().__init__()
        self.latent_dim = _check_latent_dim(latent_dim)
        self.input_shape = _as_shape(input_shape)
        self.conv = bool(conv)
        if self.conv:
            self.encoder, feature_dim, self.decoder, self.channels = _conv_networks(
                self.input_shape, channels, int(hidden_dim), self.latent_dim
            )
        else:
            self.hidden_dims = _check_hidden_dims(hidden_dims)
            self.encoder, feature_dim, self.decoder = _mlp_networks(
                self.input_shape, self.hidden_dims, self.latent_dim
            )
        self.fc_code = nn.Linear(feature_dim, self.latent_dim)

    def encode(self, x: Tensor) -> Tensor:
        """x (B, C, H, W) or (B, C*H*W) -> code z (B, d) (a point, not a distribution)."""
        return self.fc_code(self.encoder(_images(x, self.input_shape, type(self).__name__)))

    def decode(self, z: Tensor) -> Tensor:
        """z (B, d) -> logits (B, C, H, W)."""
        return self.decoder(_latents(z, self.latent_dim, type(self).__name__))

    def forward(self, x: Tensor) -> AEOutput:
        """x -> ``AEOutput(logits (B, C, H, W), z (B, d))``."""
        z = self.encode(x)
        return AEOutput(self.decode(z), z)

    def extra_repr(self) -> str:
        return f"latent_dim={self.latent_dim}, input_shape={self.input_shape}, conv={self.conv}"


class ConvAutoencoder(Autoencoder):
    """``Autoencoder(conv=True)``: convolutional encoder/decoder (see :class:`ConvVAE`)."""

    def __init__(
        self,
        latent_dim: int = 20,
        input_shape: Sequence[int] = (1, 28, 28),
        channels: Sequence[int] | None = None,
        hidden_dim: int = 256,
    ) -> None:
        super().__init__(
            latent_dim=latent_dim,
            input_shape=input_shape,
            conv=True,
            channels=channels,
            hidden_dim=hidden_dim,
        )


class ConditionalVAE(nn.Module):
    """MLP conditional VAE: q(z|x, y) and p(x|z, y), with y a class label.

    The one-hot label (B, K) is concatenated to the flattened image for the encoder and to
    z for the decoder. ``y`` may be int labels (B,) in 0..K-1 or one-hot/soft labels (B, K).

    Args:
        num_classes: K (default 10).
        latent_dim, hidden_dims, input_shape: as for :class:`VAE`.
    """

    def __init__(
        self,
        num_classes: int = 10,
        latent_dim: int = 20,
        hidden_dims: Sequence[int] | int = (400,),
        input_shape: Sequence[int] = (1, 28, 28),
    ) -> None:
        super().__init__()
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f"num_classes must be a positive integer, got {num_classes!r}")
        self.num_classes = num_classes
        self.latent_dim = _check_latent_dim(latent_dim)
        self.hidden_dims = _check_hidden_dims(hidden_dims)
        self.input_shape = _as_shape(input_shape)
        d_in = math.prod(self.input_shape)
        self.encoder = _mlp((d_in + num_classes, *self.hidden_dims), final_activation=True)
        feature_dim = self.hidden_dims[-1] if self.hidden_dims else d_in + num_classes
        self.fc_mu = nn.Linear(feature_dim, self.latent_dim)
        self.fc_log_var = nn.Linear(feature_dim, self.latent_dim)
        self.decoder = nn.Sequential(
            _mlp(
                (self.latent_dim + num_classes, *reversed(self.hidden_dims), d_in),
                final_activation=False,
            ),
            nn.Unflatten(1, self.input_shape),
        )

    def _one_hot(self, y: object, batch: int, like: Tensor) -> Tensor:
        name = type(self).__name__
        if not isinstance(y, Tensor):
            raise TypeError(f"{name} expects labels y as a tensor, got {type(y).__name__}")
        if y.dim() == 1 and not y.is_floating_point():
            if y.shape[0] != batch:
                raise ValueError(f"{name}: got {y.shape[0]} labels for a batch of {batch}")
            if y.numel() and (int(y.min()) < 0 or int(y.max()) >= self.num_classes):
                raise ValueError(f"{name}: labels must lie in 0..{self.num_classes - 1}")
            return nn.functional.one_hot(y.long(), self.num_classes).to(like)
        if y.dim() == 2 and y.shape == (batch, self.num_classes):
            return y.to(like)
        raise ValueError(
            f"{name} expected labels y shaped ({batch},) (integers) or "
            f"({batch}, {self.num_classes}) (one-hot), got {tuple(y.shape)} {y.dtype}"
        )

    def encode(self, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        """(x (B, C, H, W), y) -> (mu, log_var), each (B, d)."""
        x = _images(x, self.input_shape, type(self).__name__).flatten(1)
        h = self.encoder(torch.cat([x, self._one_hot(y, x.shape[0], x)], dim=1))
        return self.fc_mu(h), self.fc_log_var(h)

    def decode(self, z: Tensor, y: Tensor) -> Tensor:
        """(z (B, d), y) -> logits (B, C, H, W)."""
        z = _latents(z, self.latent_dim, type(self).__name__)
        return self.decoder(torch.cat([z, self._one_hot(y, z.shape[0], z)], dim=1))

    def reparameterize(
        self, mu: Tensor, log_var: Tensor, generator: torch.Generator | None = None
    ) -> Tensor:
        """z = mu + exp(log_var / 2) * eps with eps ~ N(0, I); shapes (B, d) -> (B, d)."""
        return reparameterize(mu, log_var, generator)

    def forward(self, x: Tensor, y: Tensor) -> VAEOutput:
        """(x, y) -> ``VAEOutput(logits, mu, log_var, z)`` as for :class:`VAE`."""
        mu, log_var = self.encode(x, y)
        z = self.reparameterize(mu, log_var)
        return VAEOutput(self.decode(z, y), mu, log_var, z)

    @torch.no_grad()
    def sample(
        self, n: int, y: Tensor | None = None, generator: torch.Generator | None = None
    ) -> Tensor:
        """Generate ``n`` images of classes ``y`` (default 0, 1, ..., K-1, 0, ... in turn).

        Returns pixel probabilities (n, C, H, W).
        """
        n = _check_n(n)
        device = next(self.parameters()).device
        if y is None:
            y = torch.arange(n, device=device) % self.num_classes
        z = _standard_normal((n, self.latent_dim), generator, device)
        return torch.sigmoid(self.decode(z, y.to(device)))

    def extra_repr(self) -> str:
        return (
            f"num_classes={self.num_classes}, latent_dim={self.latent_dim}, "
            f"input_shape={self.input_shape}"
        )


# ----------------------------------------------------------------------------- strong decoder


def _autoregressive_masks(
    n_pixels: int, hidden: int, context: int
) -> tuple[Tensor, Tensor, Tensor]:
    """MADE masks (Germain et al. 2015) for pixels in raster order, with a limited context.

    Output pixel i may depend on input pixels j with max(0, i - context) <= j < i only.
    Hidden unit k has a degree m_k in 0..D-2 spread evenly; it reads inputs
    (m_k - r, m_k] and feeds outputs (m_k, m_k + r'] with r + r' = context + 1, so every path
    input j -> hidden k -> output i satisfies i - context <= j < i (with the full context,
    r = r' = D: unit k reads every input j <= m_k, as in MADE).

    Returns (input->hidden (H, D), hidden->output (D, H), direct input->output (D, D)) masks.
    """
    pixels = torch.arange(n_pixels)
    degrees = torch.div(torch.arange(hidden) * (n_pixels - 1), hidden, rounding_mode="floor")
    if context >= n_pixels - 1:  # the full MADE: unit k reads every input <= m_k
        reads = feeds = n_pixels
    else:
        reads = (context + 1) // 2  # r: how far back a hidden unit reads
        feeds = context + 1 - reads  # r': how far ahead it feeds
    to_hidden = (pixels[None, :] <= degrees[:, None]) & (pixels[None, :] > degrees[:, None] - reads)
    to_output = (pixels[:, None] > degrees[None, :]) & (pixels[:, None] <= degrees[None, :] + feeds)
    direct = (pixels[None, :] < pixels[:, None]) & (pixels[None, :] >= pixels[:, None] - context)
    return to_hidden.float(), to_output.float(), direct.float()


class AutoregressiveVAE(_VAEMixin, nn.Module):
    """A VAE whose decoder is autoregressive over pixels: strong enough to ignore z.

    Encoder: the MLP of :class:`VAE`, x (B, C, H, W) -> (mu, log_var), each (B, d).
    Decoder: pixels in raster order, each a Bernoulli given z *and the previous pixels*,

        p(x|z) = prod_i Bernoulli(x_i; sigmoid(l_i)),
        l_i = g_i(z) + [W2 h]_i + [A x]_i,   h = ReLU(W1 x + V z + b1)   (H hidden units),

    where g is the MLP decoder of :class:`VAE` (z (B, d) -> (B, D) logits) and W1, W2, A are
    masked (a MADE, Germain et al. 2015) so that l_i only sees x_j for
    ``max(0, i - context) <= j < i``. ``context`` sets the decoder's strength:

    * ``0``: no autoregressive part; the model is the factorised VAE decoder g(z);
    * a small window such as 28 (one image row back): a local view, like a small PixelCNN;
    * ``None`` (or >= D - 1): every previous pixel (a full MADE), which can model the images
      well without z at all; trained with beta = 1 such decoders tend to cause posterior
      collapse (Bowman et al. 2016; Chen et al. 2017, "Variational Lossy Autoencoder").

    **Scoring x needs x** (teacher forcing): ``decode(z, x)`` returns the logits l (B, C, H, W)
    of x's pixels given their predecessors in x. The class sets ``decoder_needs_input = True``,
    so :func:`vae_course.train.fit` calls ``decode(z, x)``. Without x, ``decode(z)``
    *generates* greedily (each pixel set to 1 when its probability exceeds ½)
    and returns the logits along that path. :meth:`generate` draws images pixel by pixel;
    :meth:`sample` does it for z from the prior.

    Args:
        latent_dim: d (default 20).
        hidden_dims: encoder MLP hidden sizes (default (400,)).
        decoder_hidden_dims: hidden sizes of g; default: ``hidden_dims`` reversed.
        context: how many previous pixels each pixel may see (``None``: all of them).
        ar_hidden: H, hidden units of the masked network (default 500).
        input_shape: (C, H, W), default (1, 28, 28).
    """

    decoder_needs_input = True  # decode(z, x) scores x (teacher forcing); fit passes x

    def __init__(
        self,
        latent_dim: int = 20,
        hidden_dims: Sequence[int] | int = (400,),
        decoder_hidden_dims: Sequence[int] | int | None = None,
        context: int | None = None,
        ar_hidden: int = 500,
        input_shape: Sequence[int] = (1, 28, 28),
    ) -> None:
        super().__init__()
        self.latent_dim = _check_latent_dim(latent_dim)
        self.hidden_dims = _check_hidden_dims(hidden_dims)
        self.input_shape = _as_shape(input_shape)
        n_pixels = math.prod(self.input_shape)
        if decoder_hidden_dims is None:
            decoder_hidden_dims = tuple(reversed(self.hidden_dims))
        self.decoder_hidden_dims = _check_hidden_dims(decoder_hidden_dims)
        if context is None:
            context = n_pixels - 1
        if isinstance(context, bool) or not isinstance(context, int) or context < 0:
            raise ValueError(
                f"context must be None (all previous pixels) or an integer >= 0, got {context!r}"
            )
        self.context = min(context, n_pixels - 1)
        if isinstance(ar_hidden, bool) or not isinstance(ar_hidden, int) or ar_hidden < 1:
            raise ValueError(f"ar_hidden must be a positive integer, got {ar_hidden!r}")
        self.ar_hidden = ar_hidden

        self.encoder, feature_dim, _ = _mlp_networks(
            self.input_shape, self.hidden_dims, self.latent_dim
        )
        self.fc_mu = nn.Linear(feature_dim, self.latent_dim)
        self.fc_log_var = nn.Linear(feature_dim, self.latent_dim)
        self.latent_decoder = _mlp(
            (self.latent_dim, *self.decoder_hidden_dims, n_pixels), final_activation=False
        )
        if self.context > 0:
            to_hidden, to_output, direct = _autoregressive_masks(n_pixels, ar_hidden, self.context)
            self.register_buffer("mask_in", to_hidden, persistent=False)
            self.register_buffer("mask_out", to_output, persistent=False)
            self.register_buffer("mask_direct", direct, persistent=False)
            self.ar_in = nn.Linear(n_pixels, ar_hidden)
            self.ar_latent = nn.Linear(self.latent_dim, ar_hidden, bias=False)
            self.ar_out = nn.Linear(ar_hidden, n_pixels, bias=False)
            self.ar_direct = nn.Linear(n_pixels, n_pixels, bias=False)
            nn.init.zeros_(self.ar_direct.weight)

    # -- encoder ---------------------------------------------------------------------
    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """x (B, C, H, W) or (B, C*H*W) -> (mu, log_var), each (B, d)."""
        h = self.encoder(_images(x, self.input_shape, type(self).__name__))
        return self.fc_mu(h), self.fc_log_var(h)

    # -- decoder ---------------------------------------------------------------------
    def _ar_logits(self, z: Tensor, pixels: Tensor) -> Tensor:
        """Teacher-forced logits (B, D): g(z) + masked network of the pixels (B, D) and z."""
        logits = self.latent_decoder(z)
        if self.context > 0:
            pre = nn.functional.linear(pixels, self.ar_in.weight * self.mask_in, self.ar_in.bias)
            hidden = torch.relu(pre + self.ar_latent(z))
            logits = logits + nn.functional.linear(hidden, self.ar_out.weight * self.mask_out)
            logits = logits + nn.functional.linear(pixels, self.ar_direct.weight * self.mask_direct)
        return logits

    def decode(self, z: Tensor, x: Tensor | None = None) -> Tensor:
        """Logits (B, C, H, W) of p(x|z).

        With ``x`` (B, C, H, W): l_i = logit of p(x_i = 1 | x_<i, z) (teacher forcing).
        Without ``x``: the logits along a greedy generation (see :meth:`generate`).
        """
        name = type(self).__name__
        z = _latents(z, self.latent_dim, name)
        if x is None:
            return self._generate(z, greedy=True, generator=None)[1]
        pixels = _images(x, self.input_shape, name).flatten(1).to(z.dtype)
        if pixels.shape[0] != z.shape[0]:
            raise ValueError(
                f"{name}.decode: {z.shape[0]} latent codes but {pixels.shape[0]} images"
            )
        return self._ar_logits(z, pixels).reshape(z.shape[0], *self.input_shape)

    def forward(self, x: Tensor) -> VAEOutput:
        """x -> ``VAEOutput(logits, mu, log_var, z)``: logits of x's pixels given z and x_<i."""
        mu, log_var = self.encode(x)
        z = self.reparameterize(mu, log_var)
        return VAEOutput(self.decode(z, x), mu, log_var, z)

    @torch.no_grad()
    def _generate(
        self, z: Tensor, greedy: bool, generator: torch.Generator | None
    ) -> tuple[Tensor, Tensor]:
        """Pixel-by-pixel generation: (pixels (B, C, H, W) in {0, 1}, logits (B, C, H, W)).

        Incremental: setting pixel i adds x_i * W1[:, i] to the hidden pre-activations, so
        each of the D steps costs O(B (H + D)).
        """
        batch = z.shape[0]
        n_pixels = math.prod(self.input_shape)
        base = self.latent_decoder(z)  # (B, D)
        if self.context == 0:
            logits = base
            if greedy:
                pixels = (logits > 0).to(z.dtype)
            else:
                noise = _uniform(logits.shape, generator, z.device)
                pixels = (noise < torch.sigmoid(logits)).to(z.dtype)
            return (
                pixels.reshape(batch, *self.input_shape),
                logits.reshape(batch, *self.input_shape),
            )
        w_in = (self.ar_in.weight * self.mask_in).t().contiguous()  # (D, H)
        w_out = self.ar_out.weight * self.mask_out  # (D, H)
        w_direct = (self.ar_direct.weight * self.mask_direct).t().contiguous()  # (D, D)
        pre = self.ar_in.bias + self.ar_latent(z)  # (B, H): pixels all 0 so far
        direct = torch.zeros(batch, n_pixels, device=z.device, dtype=z.dtype)
        pixels = torch.zeros(batch, n_pixels, device=z.device, dtype=z.dtype)
        logits = torch.zeros(batch, n_pixels, device=z.device, dtype=z.dtype)
        noise = None if greedy else _uniform((batch, n_pixels), generator, z.device)
        for i in range(n_pixels):
            logit = base[:, i] + torch.relu(pre) @ w_out[i] + direct[:, i]
            logits[:, i] = logit
            if greedy:
                value = (logit > 0).to(z.dtype)
            else:
                value = (noise[:, i] < torch.sigmoid(logit)).to(z.dtype)
            pixels[:, i] = value
            pre = pre + value[:, None] * w_in[i]
            direct = direct + value[:, None] * w_direct[i]
        shape = (batch, *self.input_shape)
        return pixels.reshape(shape), logits.reshape(shape)

    @torch.no_grad()
    def generate(
        self, z: Tensor, generator: torch.Generator | None = None, greedy: bool = False
    ) -> Tensor:
        """Draw one image per code, pixel by pixel: z (B, d) -> probabilities (B, C, H, W).

        Pixel i is drawn from Bernoulli(p_i), p_i = sigmoid(l_i(z, x_<i)) (``greedy=True``:
        x_i = 1 when p_i > ½); the returned tensor holds the p_i along the drawn path (a soft
        picture of the drawn image). Runs in eval mode; ``generator`` makes the pixel noise
        reproducible: the same generator seed with different z isolates the effect of z.
        """
        z = _latents(z, self.latent_dim, type(self).__name__)
        was_training = self.training
        self.eval()
        try:
            _, logits = self._generate(z, greedy, generator)
        finally:
            self.train(was_training)
        return torch.sigmoid(logits)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """Generate ``n`` images from z ~ N(0, I): pixel probabilities (n, C, H, W) along the
        sampled path (see :meth:`generate`); ``generator`` seeds both z and the pixels."""
        n = _check_n(n)
        device = next(self.parameters()).device
        z = _standard_normal((n, self.latent_dim), generator, device)
        return self.generate(z, generator)

    def extra_repr(self) -> str:
        return (
            f"latent_dim={self.latent_dim}, input_shape={self.input_shape}, "
            f"context={self.context}, ar_hidden={self.ar_hidden}"
        )


def _uniform(
    shape: tuple[int, ...], generator: torch.Generator | None, device: torch.device
) -> Tensor:
    """U(0, 1) noise on ``device``, drawn on the generator's own device when one is given."""
    if generator is None:
        return torch.rand(shape, device=device)
    return torch.rand(shape, generator=generator, device=generator.device).to(device)


__all__ += ["AutoregressiveVAE"]
