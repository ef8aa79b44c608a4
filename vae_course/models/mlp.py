"""The MLP VAE: the course's default model (784-400-20)."""

from __future__ import annotations

from collections.abc import Sequence

from ._base import GaussianVAE, _check_hidden_dims
from ._networks import _mlp_networks


class VAE(GaussianVAE):
    """MLP VAE; the default is the classic 784-400-20 model (one hidden layer of 400, ReLU).

    Encoder: x (B, D) -> ReLU(Linear) per ``hidden_dims`` -> two heads ``mu``, ``log_var`` (B, d).
    Decoder: z (B, d) -> the mirror MLP -> logits (B, C, H, W) (no sigmoid).
    Taught in 02_vae; used in every later chapter.

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
        self._set_sizes(latent_dim, input_shape)
        self.hidden_dims = _check_hidden_dims(hidden_dims)
        self.encoder, feature_dim, self.decoder = _mlp_networks(
            self.input_shape, self.hidden_dims, self.latent_dim
        )
        self._add_heads(feature_dim)
