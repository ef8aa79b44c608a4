"""Chapter 07, β-VAE: ``beta_vae_loss`` (implementation)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..function import FunctionDrill
from ..observation import EDGE, Mistake, Probe
from ..outputs import ScalarOut
from .ch04_loss import loss_batch


def beta_probes(seed: int = 0) -> list[Probe]:
    """vae_loss batches with beta = 4, 0.5, 10 (and 0, B = 1 as edge cases)."""
    g = torch.Generator().manual_seed(707 + seed)
    return [
        Probe("beta_4", (*loss_batch(g, 4, 3), 4.0), grad_args=(0, 2, 3)),
        Probe("beta_half", (*loss_batch(g, 6, 5, binary=True), 0.5), grad_args=(0, 2, 3)),
        Probe("beta_10", (*loss_batch(g, 3, 8), 10.0), grad_args=(0, 2, 3)),
        Probe(
            "beta_0", (*loss_batch(g, 3, 4), 0.0), group=EDGE, label="β = 0 (reconstruction only)"
        ),
        Probe("batch_1", (*loss_batch(g, 1, 4), 4.0), group=EDGE, label="a batch of one (B = 1)"),
    ]


def _rec(logits, x):
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)


def _kl(mu, log_var):
    return 0.5 * (mu.pow(2) + log_var.exp() - log_var - 1).sum(1)


def _bv_beta_on_reconstruction(logits, x, mu, log_var, beta):
    return (beta * _rec(logits, x) + _kl(mu, log_var)).mean()


def _bv_beta_ignored(logits, x, mu, log_var, beta):
    return (_rec(logits, x) + _kl(mu, log_var)).mean()


def _bv_beta_divides(logits, x, mu, log_var, beta):
    return (_rec(logits, x) + _kl(mu, log_var) / beta).mean()


def _bv_beta_on_both(logits, x, mu, log_var, beta):
    return (beta * (_rec(logits, x) + _kl(mu, log_var))).mean()


def _bv_mean_over_pixels(logits, x, mu, log_var, beta):
    return F.binary_cross_entropy_with_logits(logits, x) + beta * _kl(mu, log_var).mean()


def _bv_sum_over_batch(logits, x, mu, log_var, beta):
    return (_rec(logits, x) + beta * _kl(mu, log_var)).sum()


def _bv_returns_tuple(logits, x, mu, log_var, beta):
    rec, kl = _rec(logits, x).mean(), _kl(mu, log_var).mean()
    return rec + beta * kl, rec, kl


BETA_MISTAKES = (
    Mistake(
        "beta_on_reconstruction",
        _bv_beta_on_reconstruction,
        "β multiplies the reconstruction term; in a β-VAE it weights the KL: "
        "reconstruction + β · KL.",
    ),
    Mistake(
        "beta_ignored",
        _bv_beta_ignored,
        "β has no effect on your loss (it equals the β = 1 loss): multiply the KL by beta.",
    ),
    Mistake(
        "beta_divides",
        _bv_beta_divides,
        "The KL is divided by β; a β-VAE multiplies it: reconstruction + β · KL.",
    ),
    Mistake(
        "beta_on_both",
        _bv_beta_on_both,
        "β multiplies the whole loss (which only rescales the gradients); it should "
        "weight the KL term alone.",
    ),
    Mistake(
        "mean_over_pixels",
        _bv_mean_over_pixels,
        "The reconstruction is averaged over pixels while the KL is summed over latent "
        "dimensions: a hidden extra β of about 784. Sum the BCE over pixels per example.",
    ),
    Mistake(
        "sum_over_batch",
        _bv_sum_over_batch,
        "It sums over the batch; the contract is the mean over the batch.",
    ),
    Mistake(
        "returns_tuple",
        _bv_returns_tuple,
        "It returns a tuple; this drill asks for the scalar loss only.",
    ),
)

BETA_VAE_LOSS = FunctionDrill(
    id="beta_vae_loss",
    chapter="07",
    title="The β-VAE loss",
    answer_name="beta_vae_loss",
    prompt=(
        "Implement `beta_vae_loss(logits, x, mu, log_var, beta) -> scalar tensor`: the mean "
        "over the batch of (BCE-with-logits summed over pixels + beta · KL), where the KL to "
        "N(0, I) is summed over latent dimensions. Shapes: logits and x (B, 1, 28, 28), mu "
        "and log_var (B, d); beta is a float ≥ 0. Differentiable; inputs not modified."
    ),
    hints=(
        "Start from your vae_loss: the reconstruction term stays as it is.",
        "β weights the KL only: loss = reconstruction + β · KL, each averaged over the batch.",
    ),
    solution=(
        "β trades reconstruction against the KL: β > 1 pushes posteriors towards the prior "
        "(more regular, blurrier), β < 1 relaxes it.\n\n"
        "```python\n"
        "import torch.nn.functional as F\n\n"
        "def beta_vae_loss(logits, x, mu, log_var, beta):\n"
        "    batch = x.shape[0]\n"
        "    reconstruction = F.binary_cross_entropy_with_logits(logits, x, reduction='sum') / batch\n"
        "    kl = 0.5 * (mu.pow(2) + log_var.exp() - log_var - 1).sum() / batch\n"
        "    return reconstruction + beta * kl\n"
        "```\n\n"
        "The package computes it as `vae_course.losses.vae_loss(logits, x, mu, log_var, beta)[0]`."
    ),
    reference_name="vae_course.drills.references:beta_vae_loss",
    mistakes=BETA_MISTAKES,
    make_probes=beta_probes,
    output=ScalarOut(differentiable=True),
    arg_names=("logits", "x", "mu", "log_var", "beta"),
    wrong_values="Its values are wrong on random inputs (checked for β = 4, 0.5 and 10).",
)

DRILLS = (BETA_VAE_LOSS,)
