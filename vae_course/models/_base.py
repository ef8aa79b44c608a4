"""What every model of the course shares: its outputs, input checks, reparameterisation and
the base class of the unconditional VAEs.

A new architecture lives in its own file next to this one: subclass :class:`GaussianVAE`
(build ``self.encoder`` (x -> features (B, F)) and ``self.decoder`` (z -> logits
(B, C, H, W)), then call ``self._add_heads(F)``), and re-export it from
``vae_course/models/__init__.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import torch
from torch import Tensor, nn

from vae_course._checks import positive_int


class VAEOutput(NamedTuple):
    """What a VAE's ``forward`` returns (all tensors keep their graph).

    ``logits`` (B, C, H, W) decoder output for the sampled ``z``;
    ``mu``, ``log_var`` (B, d) parameters of q(z|x) = N(mu, diag exp(log_var));
    ``z`` (B, d) the reparameterised sample mu + exp(log_var / 2) * eps.
    Taught in 02_vae (the VAE's forward returns it).
    """

    logits: Tensor
    mu: Tensor
    log_var: Tensor
    z: Tensor


class AEOutput(NamedTuple):
    """What an :class:`~vae_course.models.Autoencoder`'s ``forward`` returns: ``logits``
    (B, C, H, W), code ``z`` (B, d). Used in 01_autoencoder."""

    logits: Tensor
    z: Tensor


def reparameterize(mu: Tensor, log_var: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """Draw z ~ N(mu, diag exp(log_var)) differentiably: z = mu + exp(log_var / 2) * eps.

    ``eps ~ N(0, I)`` has the shape, dtype and device of ``mu`` (fresh noise per element),
    so dz/dmu = 1 and dz/dsigma = eps. ``mu`` and ``log_var`` must have the same shape;
    ``generator`` (a ``torch.Generator`` on any device) makes the noise reproducible.
    Taught in 03_reparameterisation, Exercise 3.1.
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


def _uniform(
    shape: tuple[int, ...], generator: torch.Generator | None, device: torch.device
) -> Tensor:
    """U(0, 1) noise on ``device``, drawn on the generator's own device when one is given."""
    if generator is None:
        return torch.rand(shape, device=device)
    return torch.rand(shape, generator=generator, device=generator.device).to(device)


def _check_n(n: int) -> int:
    return positive_int(n, "n (the number of samples)")


# ----------------------------------------------------------------------------- the VAE base


class GaussianVAE(nn.Module):
    """Base of the unconditional VAEs: a Gaussian encoder q(z|x) = N(mu(x), diag e^log_var(x))
    with two linear heads on the encoder's features, a decoder to logits, and the prior N(0, I).

    A subclass builds, in this order (the order fixes the initial weights under a seed),
    ``self.encoder`` (x (B, C, H, W) -> features (B, F)), ``self.decoder``
    (z (B, d) -> logits (B, C, H, W)), and then calls :meth:`_add_heads` with F. It sets
    ``latent_dim`` and ``input_shape`` (checked by :meth:`_set_sizes`). Used by
    :class:`~vae_course.models.VAE` (02_vae), :class:`~vae_course.models.ConvVAE`
    (08_applications) and :class:`~vae_course.models.AutoregressiveVAE` (05, 06).
    """

    latent_dim: int
    input_shape: tuple[int, int, int]

    def _set_sizes(self, latent_dim: int, input_shape: Sequence[int]) -> None:
        self.latent_dim = positive_int(latent_dim, "latent_dim")
        self.input_shape = _as_shape(input_shape)

    def _add_heads(self, feature_dim: int) -> None:
        """The two heads: ``fc_mu`` and ``fc_log_var``, Linear(F, d) each."""
        self.fc_mu = nn.Linear(feature_dim, self.latent_dim)
        self.fc_log_var = nn.Linear(feature_dim, self.latent_dim)

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """x (B, C, H, W) or (B, C*H*W) -> (mu, log_var), each (B, d): q(z|x) = N(mu, diag e^log_var)."""
        h = self.encoder(_images(x, self.input_shape, type(self).__name__))
        return self.fc_mu(h), self.fc_log_var(h)

    def decode(self, z: Tensor) -> Tensor:
        """z (B, d) -> logits (B, C, H, W) of Bernoulli pixels (sigmoid gives probabilities)."""
        return self.decoder(_latents(z, self.latent_dim, type(self).__name__))

    def reparameterize(
        self, mu: Tensor, log_var: Tensor, generator: torch.Generator | None = None
    ) -> Tensor:
        """z = mu + exp(log_var / 2) * eps with eps ~ N(0, I); shapes (B, d) -> (B, d)."""
        return reparameterize(mu, log_var, generator)

    def forward(self, x: Tensor) -> VAEOutput:
        """Encode, sample one z per image with the reparameterisation trick, decode.

        x (B, C, H, W) or (B, C*H*W) -> ``VAEOutput(logits (B,C,H,W), mu, log_var, z (B,d))``.
        """
        mu, log_var = self.encode(x)
        z = self.reparameterize(mu, log_var)
        return VAEOutput(self.decode(z), mu, log_var, z)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """Generate ``n`` images: z ~ N(0, I) (n, d), decode, sigmoid -> probabilities (n, C, H, W).

        ``generator`` (a ``torch.Generator`` on any device) makes the draw reproducible.
        """
        n = _check_n(n)
        device = next(self.parameters()).device
        z = _standard_normal((n, self.latent_dim), generator, device)
        return torch.sigmoid(self.decode(z))

    def extra_repr(self) -> str:
        return f"latent_dim={self.latent_dim}, input_shape={self.input_shape}"
