"""The package's own implementations, in the shape each drill's contract asks for.

Checkers compare learners' code with these, and :func:`vae_course.drills.use` hands them
out. Wherever the package already has the function it is used as is ("say it once");
the few adapters below only change a signature. Imports are lazy so that importing
``vae_course.drills`` stays cheap.
"""

from __future__ import annotations

from typing import Any


def kl_divergence() -> Any:
    """:func:`vae_course.losses.kl_divergence` (mu, log_var) -> (B,)."""
    from vae_course.losses import kl_divergence as reference

    return reference


def reparameterize() -> Any:
    """:func:`vae_course.models.reparameterize` (mu, log_var) -> z."""
    from vae_course.models import reparameterize as reference

    return reference


def vae_loss() -> Any:
    """:func:`vae_course.losses.vae_loss` (logits, x, mu, log_var) -> (loss, rec, kl)."""
    from vae_course.losses import vae_loss as reference

    return reference


def iwae_from_log_weights() -> Any:
    """:func:`vae_course.losses.iwae_from_log_weights` log_w (K, B) -> (B,)."""
    from vae_course.losses import iwae_from_log_weights as reference

    return reference


def cyclical_beta() -> Any:
    """:func:`vae_course.schedules.cyclical_beta` (step, total_steps, ...) -> float."""
    from vae_course.schedules import cyclical_beta as reference

    return reference


def free_bits_kl() -> Any:
    """:func:`vae_course.schedules.free_bits_kl` (kl_per_dim, free_bits) -> scalar."""
    from vae_course.schedules import free_bits_kl as reference

    return reference


def active_units() -> Any:
    """:func:`vae_course.diagnostics.active_units_from_means` (mu, threshold) -> int."""
    from vae_course.diagnostics import active_units_from_means as reference

    return reference


def beta_vae_loss(logits: Any, x: Any, mu: Any, log_var: Any, beta: float) -> Any:
    """mean_b(BCE summed over pixels + beta * KL): the loss of :func:`vae_course.losses.vae_loss`."""
    from vae_course.losses import vae_loss as package_vae_loss

    return package_vae_loss(logits, x, mu, log_var, beta)[0]


def pixel_mean(images: Any) -> Any:
    """Mean intensity of each image: (N, C, H, W) -> (N,), the mean over every non-batch dim."""
    return images.reshape(images.shape[0], -1).mean(dim=1)


def ae_train_step(model: Any, optimizer: Any, x: Any) -> float:
    """One optimisation step on mean_b(BCE-with-logits summed over pixels); returns the loss.

    loss = -mean_b log p(x_b | z_b) (:func:`vae_course.losses.bernoulli_log_likelihood`);
    zero the gradients, back-propagate, step, and return ``loss.item()`` (a Python float).
    """
    from vae_course.losses import bernoulli_log_likelihood

    optimizer.zero_grad()
    out = model(x)
    logits = out.logits if hasattr(out, "logits") else out
    loss = -bernoulli_log_likelihood(logits, x).mean()
    loss.backward()
    optimizer.step()
    return loss.item()


_AUTOENCODER_CLASS: Any = None


def autoencoder() -> Any:
    """:class:`vae_course.models.Autoencoder` whose ``forward(x)`` returns the logits only.

    The drill's contract is ``MyAutoencoder(latent_dim)`` with ``forward(x) -> logits``;
    the package's ``Autoencoder.forward`` returns ``AEOutput(logits, z)``.
    """
    global _AUTOENCODER_CLASS
    if _AUTOENCODER_CLASS is None:
        from vae_course.models import Autoencoder

        class ReferenceAutoencoder(Autoencoder):
            """``vae_course.models.Autoencoder`` with ``forward(x) -> logits (B, 1, 28, 28)``."""

            def forward(self, x: Any) -> Any:  # type: ignore[override]
                return self.decode(self.encode(x))

        _AUTOENCODER_CLASS = ReferenceAutoencoder
    return _AUTOENCODER_CLASS
