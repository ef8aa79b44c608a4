"""The conditional VAE: q(z|x, y) and p(x|z, y) with a class label y."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from vae_course._checks import positive_int

from ._base import (
    VAEOutput,
    _as_shape,
    _check_hidden_dims,
    _check_n,
    _images,
    _latents,
    _noise,
    reparameterize,
)
from ._networks import _mlp


class ConditionalVAE(nn.Module):
    """MLP conditional VAE: q(z|x, y) and p(x|z, y), with y a class label.

    The one-hot label (B, K) is concatenated to the flattened image for the encoder and to
    z for the decoder. ``y`` may be int labels (B,) in 0..K-1 or one-hot/soft labels (B, K).
    Used in 08_applications (generate the digit you ask for).

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
        self.num_classes = positive_int(num_classes, "num_classes")
        self.latent_dim = positive_int(latent_dim, "latent_dim")
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
        z = _noise(torch.randn, (n, self.latent_dim), generator, device)
        return torch.sigmoid(self.decode(z, y.to(device)))

    def extra_repr(self) -> str:
        return (
            f"num_classes={self.num_classes}, latent_dim={self.latent_dim}, "
            f"input_shape={self.input_shape}"
        )
