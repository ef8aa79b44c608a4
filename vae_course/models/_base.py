"""What every model of the course shares: its outputs, input checks, reparameterisation,
the base class of the unconditional VAEs, and encoding / decoding many images at once.

A new architecture lives in its own file next to this one: subclass :class:`GaussianVAE`
(build ``self.encoder`` (x -> features (B, F)) and ``self.decoder`` (z -> logits
(B, C, H, W)), then call ``self._add_heads(F)``), and re-export it from
``vae_course/models/__init__.py``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NamedTuple

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
    return tuple(positive_int(h, f"hidden_dims[{i}]") for i, h in enumerate(hidden_dims))


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


def _noise(
    draw: Any, shape: tuple[int, ...], generator: torch.Generator | None, device: torch.device
) -> Tensor:
    """``draw`` (``torch.randn``: N(0, I), or ``torch.rand``: U(0, 1)) noise on ``device``,
    drawn on the generator's own device when one is given."""
    if generator is None:
        return draw(shape, device=device)
    return draw(shape, generator=generator, device=generator.device).to(device)


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
        z = _noise(torch.randn, (n, self.latent_dim), generator, device)
        return torch.sigmoid(self.decode(z))

    def extra_repr(self) -> str:
        return f"latent_dim={self.latent_dim}, input_shape={self.input_shape}"


# ----------------------------------------------------------------------------- many images at once


@contextmanager
def evaluating(model: nn.Module) -> Iterator[None]:
    """Context: eval mode and no gradients inside; the model's previous mode is restored.
    Used by every function that encodes or decodes for a measurement or a picture.
    Used by every measurement and picture of the package; no chapter calls it."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        model.train(was_training)


def parameter_count(model: nn.Module) -> int:
    """Every number the model stores: its parameters plus its floating-point buffers.
    Used in 08_applications (conv vs MLP). (The contest counts a submission's state dict
    itself, inside its sandbox, where this package is not importable.)"""
    if not isinstance(model, nn.Module):
        raise TypeError(f"expected a torch.nn.Module, got {type(model).__name__}")
    count = sum(p.numel() for p in model.parameters())
    count += sum(b.numel() for b in model.buffers() if b.is_floating_point())
    return int(count)


def model_device(model: nn.Module, default: torch.device | str = "cpu") -> torch.device:
    """The device of the model's first parameter (or buffer), else ``default``.
    Used by encode_all and decode_probabilities; no chapter calls it.
    """
    for tensor in model.parameters():
        return tensor.device
    for tensor in model.buffers():
        return tensor.device
    return torch.device(default)


def check_model(model: object, method: str) -> nn.Module:
    """``model`` itself, or a TypeError unless it is an ``nn.Module`` with a ``method``
    (``"encode"`` or ``"decode"``). Used by encode_all, decode_probabilities and the plots;
    no chapter calls it."""
    if not isinstance(model, nn.Module) or not callable(getattr(model, method, None)):
        raise TypeError(
            "model must be a torch.nn.Module with encode(x) and decode(z) methods, "
            f"got {type(model).__name__}"
        )
    return model


def _labels_for(model: nn.Module, labels: Any, count: int, device: torch.device) -> Tensor | None:
    """Labels (count,) on ``device`` for a conditional model (``num_classes``), else None."""
    if getattr(model, "num_classes", None) is None:
        return None
    if labels is None:
        raise ValueError(
            f"{type(model).__name__} is conditional (num_classes={model.num_classes}): "
            "pass the labels of the images (labels=... or label=...)"
        )
    labels = torch.as_tensor(labels).long().reshape(-1)
    if labels.numel() == 1:
        labels = labels.expand(count)
    if labels.numel() != count:
        raise ValueError(f"got {labels.numel()} labels for {count} images")
    return labels.to(device)


def encode_batch(model: nn.Module, x: Tensor, labels: Tensor | None = None) -> Any:
    """``model.encode(x)``, or ``model.encode(x, labels)`` for a conditional model: the one
    place that knows how each kind of course model is called (``fit`` uses it too).
    Used by fit and encode_all (every chapter); no chapter calls it."""
    return model.encode(x) if labels is None else model.encode(x, labels)


def decode_batch(
    model: nn.Module, z: Tensor, labels: Tensor | None = None, x: Tensor | None = None
) -> Tensor:
    """Logits of the decoder for codes ``z`` (B, d): ``decode(z, labels)`` for a conditional
    model; ``decode(z, x)`` for a decoder that scores each pixel from the previous ones of
    ``x`` (``decoder_needs_input = True``, teacher forcing) when ``x`` is given.
    Used by fit and decode_probabilities (every chapter); no chapter calls it."""
    if x is not None and getattr(model, "decoder_needs_input", False):
        return model.decode(z, x)
    return model.decode(z) if labels is None else model.decode(z, labels)


def as_image_batch(images: object, name: str = "images") -> Tensor:
    """The images of a tensor (N, ...) or of a ``Dataset`` (its ``.images``), N >= 1;
    TypeError or ValueError naming ``name`` otherwise.
    Used by encode_all and the diagnostics; no chapter calls it."""
    if not isinstance(images, Tensor) and isinstance(getattr(images, "images", None), Tensor):
        images = images.images  # a Dataset
    if not isinstance(images, Tensor):
        raise TypeError(
            f"{name} must be a tensor of images (N, C, H, W) or a Dataset with .images, "
            f"got {type(images).__name__}"
        )
    if images.dim() < 2 or images.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty batch (N, ...), got {tuple(images.shape)}")
    return images


def encode_all(
    model: nn.Module, images: Any, labels: Any = None, batch_size: int = 2048
) -> tuple[Tensor, Tensor | None]:
    """Encode every image: ``(mu (N, d), log_var (N, d))`` on the CPU, float32.

    For an autoencoder (``encode`` returns one tensor) the result is ``(codes (N, d), None)``.
    ``images`` is a tensor (N, C, H, W) (or (N, D) for an MLP model) or a ``Dataset``;
    ``labels`` (N,) (or one label for all) are required by a conditional model. Encodes
    ``batch_size`` images at a time on the model's device, in eval mode under
    ``torch.no_grad()``; the model's mode is restored afterwards. Used by
    :func:`vae_course.models.posterior_mean` and every function of
    :mod:`vae_course.diagnostics`; used directly in 02_vae and 06_posterior_collapse.
    """
    model = check_model(model, "encode")
    images = as_image_batch(images)
    batch_size = positive_int(batch_size, "batch_size")
    device = model_device(model, images.device)
    count = images.shape[0]
    y_all = _labels_for(model, labels, count, device)
    codes, log_vars = [], []
    with evaluating(model):
        for start in range(0, count, batch_size):
            x = images[start : start + batch_size].to(device)
            y = None if y_all is None else y_all[start : start + batch_size]
            out = encode_batch(model, x, y)
            mu = out[0] if isinstance(out, (tuple, list)) else out
            codes.append(mu.detach().reshape(mu.shape[0], -1).float().cpu())
            if isinstance(out, (tuple, list)) and len(out) > 1:
                log_vars.append(out[1].detach().reshape(mu.shape[0], -1).float().cpu())
    return torch.cat(codes), (torch.cat(log_vars) if log_vars else None)


def posterior_mean(
    model: nn.Module, images: Any, labels: Any = None, batch_size: int = 2048
) -> Tensor:
    """Deterministic codes (N, d) on the CPU: mu(x) of a VAE, z(x) of an autoencoder
    (the first part of :func:`encode_all`). Used from 01_autoencoder on."""
    return encode_all(model, images, labels, batch_size)[0]


def decode_probabilities(model: nn.Module, z: Any, labels: Any = None) -> Tensor:
    """Pixel probabilities sigmoid(decode(z)), (N, C, H, W) on the CPU, for codes z (N, d)
    (one code (d,) is treated as N = 1), in eval mode under ``torch.no_grad()``.

    ``labels`` (N,) (or one label for all) are required by a conditional model. Used by
    every picture of :mod:`vae_course.plots` and :mod:`vae_course.widgets`; used directly in
    01_autoencoder, 02_vae, 07_beta_vae and 08_applications.
    """
    model = check_model(model, "decode")
    z = torch.as_tensor(z, dtype=torch.float32)
    if z.dim() == 1:
        z = z[None]
    device = model_device(model)
    y = _labels_for(model, labels, z.shape[0], device)
    with evaluating(model):
        logits = decode_batch(model, z.to(device), y)
        return torch.sigmoid(logits).float().cpu()


def reconstruct(model: nn.Module, images: Any, labels: Any = None) -> Tensor:
    """Reconstructions decoded from the mean code: sigmoid(decode(mu(x))), shaped like the
    images (N, C, H, W), on the CPU (:func:`encode_all`, then :func:`decode_probabilities`).
    Deterministic (no sampling of z). Used in 01_autoencoder, 07_beta_vae, 08_applications.
    """
    return decode_probabilities(model, posterior_mean(model, images, labels), labels)
