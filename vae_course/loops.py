"""The hand-written training loop of 05_kl_annealing: a VAE trained under a β schedule.

:func:`vae_course.train.fit` is the course's full trainer (shuffling, devices, caching,
per-epoch evaluation). This module holds the plain loop a learner writes in chapter 5
(Exercise 5.3) and that the drill ``train_with_schedule`` compares with:

    for t = 0, 1, ..., epochs · len(batches) − 1 (one step per batch, counted across epochs):
        β_t = schedule(t)
        L_t = mean_b [ −log p(x_b | z_b) + β_t · KL(q(z | x_b) ‖ N(0, I)) ]
        zero the gradients, back-propagate L_t, one optimizer step

with the Bernoulli likelihood from logits and the closed-form KL
(:func:`vae_course.losses.vae_loss`). :func:`learner_epoch` lets ``fit(..., loop=...)``
train with a learner's loop of that contract, one epoch at a time (chapter 5's Table 1).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from torch import Tensor, nn

from vae_course._checks import positive_int
from vae_course.losses import vae_loss

__all__ = ["learner_epoch", "train_with_schedule"]


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


def learner_epoch(
    loop: Callable[..., Any],
    model: nn.Module,
    optimizer: Any,
    batches: list[Tensor],
    schedule: Callable[[int], float],
    first_step: int,
) -> dict[str, float]:
    """One epoch of ``fit(..., loop=loop)``: ``loop(model, optimizer, batches, β, 1)``.

    ``loop`` has the contract of :func:`train_with_schedule` (a learner's Exercise 5.3);
    it sees the epoch's batches (each (B_i, C, H, W)) and the schedule shifted to the global
    step, β(t) = schedule(first_step + t). Returns the epoch's means over its N examples,
    each batch weighted by its size: ``{"beta": Σ_i β_i / n_batches, "loss": Σ_i B_i loss_i / N,
    "reconstruction": ..., "kl": ...}``.

    Raises ``ValueError`` when the loop does not return one record of four finite numbers
    per batch, naming what it returned instead. Used by ``fit`` in 05_kl_annealing.
    """
    records = loop(model, optimizer, batches, lambda t: schedule(first_step + t), 1)
    keys = ("beta", "loss", "reconstruction", "kl")
    if not isinstance(records, Sequence) or len(records) != len(batches):
        got = f"{len(records)} records" if isinstance(records, Sequence) else type(records).__name__
        raise ValueError(
            f"fit(loop=...) needs one record per batch from the loop ({len(batches)} for "
            f"{len(batches)} batches), as train_with_schedule returns; it returned {got}"
        )
    sums = dict.fromkeys(keys, 0.0)
    count = sum(x.shape[0] for x in batches)
    for step, (record, x) in enumerate(zip(records, batches, strict=True)):
        try:
            values = {key: float(record[key]) for key in keys}
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(
                f"fit(loop=...): record {step} of the loop must be a dict of four numbers "
                f"{keys}; got {record!r:.200} ({type(error).__name__}: {error})"
            ) from error
        if not all(math.isfinite(v) for v in values.values()):
            raise ValueError(
                f"fit(loop=...): training diverged at global step {first_step + step}: the "
                f"loop's record is {values}; lower the learning rate or check the loss"
            )
        sums["beta"] += values["beta"] / len(batches)
        for key in keys[1:]:
            sums[key] += values[key] * x.shape[0] / count
    return sums
