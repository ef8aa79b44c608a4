"""Convolutional models: :class:`ConvVAE` and :class:`ConvAutoencoder` (stride-2 convolutions)."""

from __future__ import annotations

from collections.abc import Sequence

from ._base import GaussianVAE
from ._networks import _conv_networks
from .autoencoder import Autoencoder


class ConvVAE(GaussianVAE):
    """Convolutional VAE for square or rectangular images (28x28 MNIST, 64x64 shapes, ...).

    Encoder: stride-2 4x4 convolutions (each halves H and W, ReLU) -> Linear(hidden_dim) ->
    heads ``mu``, ``log_var`` (B, d). Decoder: the mirror image with transposed convolutions,
    ending in logits (B, C, H, W). With the defaults a 64x64 input uses channels
    (32, 32, 64, 64) (the Burgess et al. / beta-VAE architecture), a 28x28 input (32, 64).
    Used in 08_applications (conv vs MLP).

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
        self._set_sizes(latent_dim, input_shape)
        self.encoder, feature_dim, self.decoder, self.channels = _conv_networks(
            self.input_shape, channels, hidden_dim, self.latent_dim
        )
        self._add_heads(feature_dim)

    def extra_repr(self) -> str:
        return (
            f"latent_dim={self.latent_dim}, input_shape={self.input_shape}, "
            f"channels={self.channels}"
        )


class ConvAutoencoder(Autoencoder):
    """``Autoencoder(conv=True)``: convolutional encoder/decoder (see :class:`ConvVAE`).
    Not used by a chapter; the convolutional counterpart of 01_autoencoder's model."""

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
