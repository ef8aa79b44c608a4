"""Why did training diverge? :class:`TrainingDiverged` and the diagnosis that names a cause.

When :func:`vae_course.train.fit` meets a NaN or infinite loss it stops at once and raises
:class:`TrainingDiverged` (a ``ValueError``) whose message names the likeliest cause, found
by inspecting the batch, the model's parameters and its outputs: bad pixels, inputs outside
[0, 1], a too-high learning rate, a log_var computed from something invalid, an exploding
log_var, a decoder that returns probabilities instead of logits.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

HIGH_LEARNING_RATE = 1e-2  # Adam above this is the first suspect when training diverges


class TrainingDiverged(FloatingPointError, ValueError):
    """Training produced a NaN or infinite loss; the message names the likeliest cause.
    Met in 02_vae (a VAE that predicts sigma stops with a diagnosis)."""


def describe_nonfinite(loss: Tensor) -> str:
    """``"NaN"`` or ``"inf (infinite)"``: what a non-finite loss was, for the message.
    Used by fit (its messages appear in 02_vae); no chapter calls it.
    """
    value = float(loss.detach())
    return "NaN" if math.isnan(value) else f"{value} (infinite)"


def diagnose(
    model: nn.Module,
    x: Tensor,
    terms: Any,
    lr: float,
    likelihood: str,
    step: int,
    error: str,
) -> TrainingDiverged:
    """The :class:`TrainingDiverged` to raise: inspect the batch, the parameters and the
    outputs, and name the likeliest cause (then any others).

    ``x`` is the batch (B, C, H, W) whose loss was not finite; ``terms`` (or None) has the
    batch's ``logits`` and, for a VAE, ``mu`` and ``log_var`` (B, d); ``step`` is the
    global step (-1 while evaluating); ``error`` says what the loss was ("NaN", ...).
    Used by fit; 02_vae shows its diagnosis of a VAE that predicts sigma.
    """
    where = f"at step {step}" if step >= 0 else "while evaluating"
    causes: list[str] = []
    if not bool(torch.isfinite(x).all()):
        causes.append("the input batch contains NaN or infinite pixel values; fix the data")
    elif likelihood == "bernoulli" and (float(x.min()) < 0 or float(x.max()) > 1):
        causes.append(
            f"inputs lie in [{float(x.min()):.3g}, {float(x.max()):.3g}] but binary "
            "cross-entropy needs pixels in [0, 1]; rescale the images (e.g. divide by 255)"
        )
    bad_parameters = [n for n, p in model.named_parameters() if not bool(torch.isfinite(p).all())]
    if bad_parameters:
        causes.append(
            f"model parameters became NaN/inf ({', '.join(bad_parameters[:3])}): the learning "
            f"rate lr={lr:g} is probably too high; try lr={lr / 10:g}"
        )
    if terms is not None and terms.log_var is not None:
        log_var = terms.log_var.detach()
        if bool(log_var.isnan().any()) and bool(torch.isfinite(terms.mu.detach()).all()):
            causes.append(
                f"the encoder's log_var contains NaN ({int(log_var.isnan().sum())} of "
                f"{log_var.numel()} values) while mu is finite: log_var is computed from "
                "something invalid, such as the log of a negative or zero sigma; let a linear "
                "layer predict log_var directly"
            )
        elif not bool(torch.isfinite(log_var).all()) or float(log_var.abs().max()) > 30:
            peak = float(log_var.nan_to_num(nan=float("inf")).abs().max())
            fixes = [f"lower the learning rate (lr={lr:g})", "bound log_var in the encoder "
                     "(e.g. log_var.clamp(-10, 10))"]  # fmt: skip
            if lr <= HIGH_LEARNING_RATE:
                fixes.reverse()
            causes.append(
                f"log_var exploded (|log_var| up to {peak:.3g}; exp overflows past ~88): "
                f"{fixes[0]} or {fixes[1]}"
            )
        elif not bool(torch.isfinite(terms.mu.detach()).all()):
            causes.append(f"the encoder mean mu is NaN/inf: lower the learning rate (lr={lr:g})")
    logits_finite = terms is None or bool(torch.isfinite(terms.logits.detach()).all())
    if not logits_finite and not causes:  # otherwise a consequence of the causes above
        if lr > HIGH_LEARNING_RATE:
            causes.append(f"the decoder output is NaN/inf: lower the learning rate (lr={lr:g})")
        else:
            causes.append(
                "the decoder output is NaN/inf although its inputs and parameters are finite: "
                "look in decode() for an operation such as log(0), 0/0 or sqrt of a negative "
                "number"
            )
    if terms is not None and not causes:
        out = terms.logits.detach()
        if float(out.min()) >= 0 and float(out.max()) <= 1:
            causes.append(
                "decode() seems to return probabilities (all outputs in [0, 1]) but fit expects "
                "logits: remove the final sigmoid from the decoder"
            )
    if not causes:
        causes.append(
            f"the loss overflowed: the learning rate lr={lr:g} is probably too high; "
            f"try lr={lr / 10:g}"
        )
    return TrainingDiverged(
        f"training diverged {where}: the loss is {error}. Likely cause: {causes[0]}."
        + ("" if len(causes) == 1 else " Also: " + "; ".join(causes[1:]) + ".")
    )


__all__ = ["HIGH_LEARNING_RATE", "TrainingDiverged", "describe_nonfinite", "diagnose"]
