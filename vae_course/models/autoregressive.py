"""A VAE with an autoregressive decoder (a MADE over pixels): strong enough to ignore z."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from vae_course._checks import integer, positive_int

from ._base import (
    GaussianVAE,
    VAEOutput,
    _check_hidden_dims,
    _check_n,
    _images,
    _latents,
    _noise,
)
from ._networks import _mlp, _mlp_networks


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


class AutoregressiveVAE(GaussianVAE):
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
    Used in 05_kl_annealing and 06_posterior_collapse (the strong decoder).
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
        self._set_sizes(latent_dim, input_shape)
        self.hidden_dims = _check_hidden_dims(hidden_dims)
        n_pixels = math.prod(self.input_shape)
        if decoder_hidden_dims is None:
            decoder_hidden_dims = tuple(reversed(self.hidden_dims))
        self.decoder_hidden_dims = _check_hidden_dims(decoder_hidden_dims)
        if context is None:
            context = n_pixels - 1
        context = integer(context, "context (or None: all previous pixels)", minimum=0)
        self.context = min(context, n_pixels - 1)
        self.ar_hidden = positive_int(ar_hidden, "ar_hidden")

        # The factorised decoder built here is discarded; building it keeps the seeded initial
        # weights of the encoder and heads identical to those of the VAE of the same sizes.
        self.encoder, feature_dim, _ = _mlp_networks(
            self.input_shape, self.hidden_dims, self.latent_dim
        )
        self._add_heads(feature_dim)
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
                noise = _noise(torch.rand, logits.shape, generator, z.device)
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
        noise = None if greedy else _noise(torch.rand, (batch, n_pixels), generator, z.device)
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
    def generate_with_shared_noise(self, z: Tensor, seed: int = 0) -> Tensor:
        """One image per row of z (B, d), every row drawn with *the same* pixel noise:
        probabilities (B, C, H, W) as in :meth:`generate`, each row with a generator seeded
        by ``seed``. With the coin flips shared, the drawings differ only through z: the
        images of a decoder that ignores z come out (nearly) identical. Used in
        06_posterior_collapse (reconstructions and samples of a collapsed model).
        """
        z = _latents(z, self.latent_dim, type(self).__name__)
        seed = integer(seed, "seed")
        rows = [
            self.generate(z[i : i + 1], generator=torch.Generator().manual_seed(seed))
            for i in range(z.shape[0])
        ]
        return torch.cat(rows)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """Generate ``n`` images from z ~ N(0, I): pixel probabilities (n, C, H, W) along the
        sampled path (see :meth:`generate`); ``generator`` seeds both z and the pixels."""
        n = _check_n(n)
        device = next(self.parameters()).device
        z = _noise(torch.randn, (n, self.latent_dim), generator, device)
        return self.generate(z, generator)

    def extra_repr(self) -> str:
        return (
            f"latent_dim={self.latent_dim}, input_shape={self.input_shape}, "
            f"context={self.context}, ar_hidden={self.ar_hidden}"
        )


def strong_decoder_vae(latent_dim: int = 16) -> AutoregressiveVAE:
    """The strong-decoder VAE of chapters 05 and 06: the MLP encoder of :class:`VAE`
    (784-400-d) with a decoder that sees every previous pixel (``context=None``), i.e.
    ``AutoregressiveVAE(latent_dim=latent_dim)``. Used in 05_kl_annealing and
    06_posterior_collapse (as a factory: ``train.fit_from_seed(strong_decoder_vae, ...)``).
    """
    return AutoregressiveVAE(latent_dim=latent_dim)
