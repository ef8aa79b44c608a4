"""The deterministic autoencoder: x -> a code z (a point, not a distribution) -> logits."""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from vae_course._checks import positive_int

from ._base import AEOutput, _as_shape, _check_hidden_dims, _images, _latents
from ._networks import _conv_networks, _mlp_networks


class Autoencoder(nn.Module):
    """A deterministic autoencoder: x -> code z (B, d) -> logits (B, C, H, W).

    ``conv=False`` (default): MLP with ``hidden_dims`` (mirrored in the decoder).
    ``conv=True``: the same convolutional encoder/decoder as :class:`ConvVAE` (``channels``,
    ``hidden_dim``). Train it on reconstruction only, e.g. ``-bernoulli_log_likelihood``.
    Taught in 01_autoencoder, Exercise 1.1 (the learner's ``MyAutoencoder`` is this MLP);
    used again in 02_vae.

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
        self.latent_dim = positive_int(latent_dim, "latent_dim")
        self.input_shape = _as_shape(input_shape)
        self.conv = bool(conv)
        if self.conv:
            self.encoder, feature_dim, self.decoder, self.channels = _conv_networks(
                self.input_shape, channels, hidden_dim, self.latent_dim
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


__all__ = ["Autoencoder"]
