"""The standard dSprites architecture: :class:`BurgessVAE` (Burgess et al., 2018).

Four 4x4 stride-2 convolutions of 32 channels, two dense layers of 256 units and 10 latent
dimensions: the encoder/decoder used by the beta-VAE, beta-TCVAE and disentanglement_lib
papers on 64x64 dSprites, so MIG numbers on ``shapes`` compare with theirs.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from vae_course._checks import positive_int

from ._base import GaussianVAE, _images, _latents
from ._networks import _mlp

_CONV_LAYERS = 4  # each halves H and W: 64 -> 32 -> 16 -> 8 -> 4


class BurgessVAE(GaussianVAE):
    """Convolutional VAE of Burgess et al. (2018) for 64x64 images (any sides divisible by 16).

    Encoder: x (B, C, H, W) -> 4 x [Conv2d(k=4, s=2, p=1), ReLU] with ``channels`` each
    (features (B, channels, H/16, W/16)) -> flatten -> 2 x [Linear(hidden_dim), ReLU] ->
    heads ``mu``, ``log_var`` (B, d). Decoder: z (B, d) -> 2 x [Linear(hidden_dim), ReLU] ->
    Linear(channels * H/16 * W/16), ReLU -> 3 x [ConvTranspose2d(k=4, s=2, p=1), ReLU] ->
    ConvTranspose2d to C channels: logits (B, C, H, W). With the defaults (1x64x64, 32
    channels, 256 units, d = 10) it has about 0.5 M parameters.

    The convolutions keep their weights and activations in channels-last memory layout
    (``torch.channels_last``): the same numbers up to float rounding, about twice as fast
    on x86 CPUs (oneDNN). Used in 07_beta_vae (the shipped reference models).

    Args:
        latent_dim: d (default 10).
        input_shape: (C, H, W), default (1, 64, 64).
        channels: output channels of every convolution (default 32).
        hidden_dim: width of the two dense layers (default 256).
    """

    def __init__(
        self,
        latent_dim: int = 10,
        input_shape: Sequence[int] = (1, 64, 64),
        channels: int = 32,
        hidden_dim: int = 256,
    ) -> None:
        super().__init__()
        self._set_sizes(latent_dim, input_shape)
        self.channels = positive_int(channels, "channels")
        self.hidden_dim = positive_int(hidden_dim, "hidden_dim")
        c, h, w = self.input_shape
        factor = 2**_CONV_LAYERS
        if h % factor or w % factor:
            raise ValueError(
                f"BurgessVAE's {_CONV_LAYERS} stride-2 convolutions need image sides divisible "
                f"by {factor} (e.g. 64x64), got {h}x{w}"
            )
        self.feature_shape = (self.channels, h // factor, w // factor)
        flat = self.channels * (h // factor) * (w // factor)
        ch = self.channels

        convs: list[nn.Module] = []
        for i in range(_CONV_LAYERS):
            convs += [nn.Conv2d(c if i == 0 else ch, ch, 4, stride=2, padding=1), nn.ReLU()]
        self.encoder = nn.Sequential(
            *convs, nn.Flatten(), _mlp((flat, hidden_dim, hidden_dim), final_activation=True)
        )
        deconvs: list[nn.Module] = []
        for i in range(_CONV_LAYERS):
            last = i == _CONV_LAYERS - 1
            deconvs.append(nn.ConvTranspose2d(ch, c if last else ch, 4, stride=2, padding=1))
            if not last:
                deconvs.append(nn.ReLU())
        self.decoder = nn.Sequential(
            _mlp((self.latent_dim, hidden_dim, hidden_dim, flat), final_activation=True),
            nn.Unflatten(1, self.feature_shape),
            *deconvs,
        )
        self._add_heads(hidden_dim)
        self.to(memory_format=torch.channels_last)

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """x (B, C, H, W) or (B, C*H*W) -> (mu, log_var), each (B, d)."""
        x = _images(x, self.input_shape, type(self).__name__)
        h = self.encoder(x.contiguous(memory_format=torch.channels_last))
        return self.fc_mu(h), self.fc_log_var(h)

    def decode(self, z: Tensor) -> Tensor:
        """z (B, d) -> logits (B, C, H, W) (contiguous in the usual layout)."""
        return self.decoder(_latents(z, self.latent_dim, type(self).__name__)).contiguous()

    def extra_repr(self) -> str:
        return (
            f"latent_dim={self.latent_dim}, input_shape={self.input_shape}, "
            f"channels={self.channels}, hidden_dim={self.hidden_dim}"
        )
