"""Autoencoders and variational autoencoders with one shared interface.

Every model takes images ``x`` shaped ``(B, C, H, W)`` (MLP models also accept the
flattened ``(B, C*H*W)``) with values in [0, 1], and every decoder returns **logits**
shaped ``(B, C, H, W)``: apply ``torch.sigmoid`` to get pixel probabilities, or give the
logits to :func:`vae_course.losses.bernoulli_log_likelihood` (the numerically safe form).

=========================  =========================================  ============================
model                      ``encode(x)``                              ``forward(x)``
=========================  =========================================  ============================
:class:`Autoencoder`       code ``z`` (B, d)                          ``AEOutput(logits, z)``
:class:`VAE`               ``(mu, log_var)``, each (B, d)             ``VAEOutput(logits, mu,
:class:`ConvVAE`                                                      log_var, z)``
:class:`AutoregressiveVAE` ``(mu, log_var)``; ``decode(z, x)``        ``VAEOutput(...)``
:class:`ConditionalVAE`    ``encode(x, y)``, ``decode(z, y)``         ``forward(x, y)``
:class:`BurgessVAE`        ``(mu, log_var)``, each (B, d)             ``VAEOutput(...)``
=========================  =========================================  ============================

All models have ``latent_dim`` and ``input_shape`` attributes; the VAEs also have
``reparameterize(mu, log_var)`` and ``sample(n, generator=None)`` (pixel probabilities).

Many images at once, for any of these models: :func:`encode_all` (mean codes and log
variances, in batches, on the CPU), :func:`posterior_mean` (the codes alone),
:func:`decode_probabilities` (sigmoid(decode(z))) and :func:`reconstruct` (decode the
mean code); :func:`encode_batch` / :func:`decode_batch`
call one model the way its kind expects (labels for a conditional model, x for an
autoregressive decoder).

One file per family: ``_base.py`` (outputs, input checks, :func:`reparameterize`, the base
class :class:`GaussianVAE` of the unconditional VAEs), ``_networks.py`` (MLP and
convolutional encoder/decoder builders), ``autoencoder.py``, ``mlp.py`` (:class:`VAE`),
``conv.py`` (:class:`ConvVAE`, :class:`ConvAutoencoder`), ``conditional.py`` and
``autoregressive.py``, ``burgess.py`` (:class:`BurgessVAE`, the standard dSprites
architecture). A new architecture gets its own file and a line here.
"""

from __future__ import annotations

from ._base import (
    AEOutput,
    GaussianVAE,
    VAEOutput,
    as_image_batch,
    check_model,
    decode_batch,
    decode_probabilities,
    encode_all,
    encode_batch,
    evaluating,
    model_device,
    parameter_count,
    posterior_mean,
    reconstruct,
    reparameterize,
)
from .autoencoder import Autoencoder
from .autoregressive import AutoregressiveVAE, strong_decoder_vae
from .burgess import BurgessVAE
from .conditional import ConditionalVAE
from .conv import ConvAutoencoder, ConvVAE
from .mlp import VAE

__all__ = [
    "AEOutput",
    "Autoencoder",
    "AutoregressiveVAE",
    "BurgessVAE",
    "ConditionalVAE",
    "ConvAutoencoder",
    "ConvVAE",
    "GaussianVAE",
    "VAE",
    "VAEOutput",
    "as_image_batch",
    "check_model",
    "decode_batch",
    "decode_probabilities",
    "encode_all",
    "encode_batch",
    "evaluating",
    "model_device",
    "parameter_count",
    "posterior_mean",
    "reconstruct",
    "reparameterize",
    "strong_decoder_vae",
]
