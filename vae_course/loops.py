"""The hand-written training loop of 05_kl_annealing: a VAE trained under a β schedule.

:func:`vae_course.train.fit` is the course's full trainer (shuffling, devices, caching,
per-epoch evaluation). This module holds the plain loop a learner writes in chapter 5
(Exercise 5.3) and that the drill ``train_with_schedule`` compares with:

    for t = 0, 1, ..., epochs · len(batches) − 1 (one step per batch, counted across epochs):
        β_t = schedule(t)
        L_t = mean_b [ −log p(x_b | z_b) + β_t · KL(q(z | x_b) ‖ N(0, I)) ]
        zero the gradients, back-propagate L_t, one optimizer step

with the Bernoulli likelihood from logits and the closed-form KL
(:func:`vae_course.losses.vae_loss`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from torch import Tensor, nn

from vae_course._checks import positive_int
from vae_course.losses import vae_loss

__all__ = ["train_with_schedule"]


def train_with_schedule(
    model: nn.Module,
    optimizer: Any,
    batches: Sequence[Tensor],
    schedule: Callable[[int], float],
    epochs: int,
) -> list[dict[str, float]]:
    """Train ``model`` for ``epochs`` passes over ``batches`` with KL weight β_t = schedule(t).

    ``model(x)`` returns logits (B, C, H, W), mu and log_var (B, d) as its first three items
    (a :class:`~vae_course.models.VAEOutput`, or the tuple of chapter 2's ``MyVAE``);
    ``batches`` is a list of image batches (B, C, H, W) in [0, 1], visited in order in every
    epoch; ``schedule`` maps the global step t = 0, 1, ... (counted across epochs) to β_t.
    One optimisation step per batch on L_t = reconstruction + β_t · KL (both averaged over
    the batch; the reconstruction summed over pixels, the KL over latent dimensions).

    Returns one record per step, ``{"beta", "loss", "reconstruction", "kl"}`` as Python
    floats: the batch's values before the update.
    Taught in 05_kl_annealing, Exercise 5.3.
    """
    epochs = positive_int(epochs, "epochs")
    history = []
    step = 0
    for _ in range(epochs):
        for x in batches:
            beta = float(schedule(step))
            logits, mu, log_var = model(x)[:3]
            loss, reconstruction, kl = vae_loss(logits, x, mu, log_var, beta)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            history.append(
                {
                    "beta": beta,
                    "loss": loss.item(),
                    "reconstruction": reconstruction.item(),
                    "kl": kl.item(),
                }
            )
            step += 1
    return history
