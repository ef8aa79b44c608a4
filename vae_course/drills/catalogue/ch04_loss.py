"""Chapter 04, the objective: ``vae_loss`` and ``iwae_bound`` (implementation)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..function import FunctionDrill
from ..observation import EDGE, Mistake, Probe
from ..outputs import ScalarOut, TensorOut, TupleOut

# ----------------------------------------------------------------------------- vae_loss


def loss_batch(
    g: torch.Generator, b: int, d: int, *, binary: bool = False
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(logits (b,1,28,28), x in [0,1], mu (b,d), log_var (b,d)) drawn from ``g``."""
    logits = torch.randn(b, 1, 28, 28, generator=g) * 2
    x = torch.rand(b, 1, 28, 28, generator=g)
    if binary:
        x = (x > 0.5).float()
    mu = torch.randn(b, d, generator=g)
    log_var = torch.rand(b, d, generator=g) * 4 - 2
    return logits, x, mu, log_var


def _confident(g: torch.Generator) -> tuple[torch.Tensor, ...]:
    logits, x, mu, log_var = loss_batch(g, 3, 4)
    return torch.where(logits > 0, 30.0, -30.0), x, mu, log_var


LOGITS_ADVICE = (
    "Use `F.binary_cross_entropy_with_logits` on the logits: sigmoid followed by a log "
    "rounds to 0 or 1 and loses the loss for confident pixels."
)


def vae_loss_probes(seed: int = 0) -> list[Probe]:
    """(logits, x, mu, log_var) batches, grey and binary x, confident logits, B = 1."""
    g = torch.Generator().manual_seed(4040 + seed)
    probes = [
        Probe("random_4x3", loss_batch(g, 4, 3), grad_args=(0, 2, 3)),
        Probe("binary_6x5", loss_batch(g, 6, 5, binary=True), grad_args=(0, 2, 3)),
        Probe("random_3x8", loss_batch(g, 3, 8), grad_args=(0, 2, 3)),
        Probe(
            "confident",
            _confident(g),
            group=EDGE,
            label="very confident logits (|logit| = 30)",
            advice=LOGITS_ADVICE,
        ),
        Probe("batch_1", loss_batch(g, 1, 4), group=EDGE, label="a batch of one (B = 1)"),
    ]
    return probes


def _bce(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """BCE-with-logits summed over pixels, mean over the batch."""
    return F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / x.shape[0]


def _kl(mu: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """Closed-form KL summed over latent dims, mean over the batch."""
    return 0.5 * (mu.pow(2) + log_var.exp() - log_var - 1).sum() / mu.shape[0]


def _vl_mean_over_pixels(logits, x, mu, log_var):
    rec, kl = F.binary_cross_entropy_with_logits(logits, x), _kl(mu, log_var)
    return rec + kl, rec, kl


def _vl_sigmoid_twice(logits, x, mu, log_var):
    rec, kl = _bce(torch.sigmoid(logits), x), _kl(mu, log_var)
    return rec + kl, rec, kl


def _vl_bce_on_logits(logits, x, mu, log_var):
    rec = F.binary_cross_entropy(logits, x, reduction="sum") / x.shape[0]
    kl = _kl(mu, log_var)
    return rec + kl, rec, kl


def _vl_kl_sign(logits, x, mu, log_var):
    rec, kl = _bce(logits, x), _kl(mu, log_var)
    return rec - kl, rec, kl


def _vl_sum_over_batch(logits, x, mu, log_var):
    rec = F.binary_cross_entropy_with_logits(logits, x, reduction="sum")
    kl = 0.5 * (mu.pow(2) + log_var.exp() - log_var - 1).sum()
    return rec + kl, rec, kl


def _vl_forgot_kl(logits, x, mu, log_var):
    rec, kl = _bce(logits, x), _kl(mu, log_var)
    return rec, rec, kl


def _vl_reconstruction_sign(logits, x, mu, log_var):
    rec, kl = -_bce(logits, x), _kl(mu, log_var)
    return rec + kl, rec, kl


def _vl_mse(logits, x, mu, log_var):
    rec = (torch.sigmoid(logits) - x).pow(2).sum() / x.shape[0]
    kl = _kl(mu, log_var)
    return rec + kl, rec, kl


def _vl_loss_only(logits, x, mu, log_var):
    return _bce(logits, x) + _kl(mu, log_var)


VAE_LOSS_MISTAKES = (
    Mistake(
        "mean_over_pixels",
        _vl_mean_over_pixels,
        "The reconstruction is averaged over pixels (the default reduction='mean'), while "
        "the KL is summed over latent dimensions: that hides a β of about 784 on the KL. "
        "Sum the BCE over pixels, then average over the batch.",
    ),
    Mistake(
        "sigmoid_twice",
        _vl_sigmoid_twice,
        "`binary_cross_entropy_with_logits` already applies the sigmoid; passing it "
        "`torch.sigmoid(logits)` applies it twice. Pass the logits.",
    ),
    Mistake(
        "bce_on_logits",
        _vl_bce_on_logits,
        "`F.binary_cross_entropy` expects probabilities in [0, 1], but the decoder outputs "
        "logits. Use `F.binary_cross_entropy_with_logits` (the numerically safe form).",
    ),
    Mistake(
        "kl_sign",
        _vl_kl_sign,
        "The loss subtracts the KL. The negative ELBO is reconstruction + KL: the KL is a penalty.",
    ),
    Mistake(
        "sum_over_batch",
        _vl_sum_over_batch,
        "Both terms are summed over the batch too; the contract averages over the batch "
        "(sum over pixels and latent dims per example, then mean over examples).",
    ),
    Mistake(
        "forgot_kl",
        _vl_forgot_kl,
        "The loss is only the reconstruction: without the KL term there is no generative "
        "model (nothing ties q(z|x) to the prior).",
    ),
    Mistake(
        "reconstruction_sign",
        _vl_reconstruction_sign,
        "The reconstruction term is negative: it should be the BCE (a loss, ≥ 0), i.e. "
        "minus the log-likelihood.",
    ),
    Mistake(
        "mse",
        _vl_mse,
        "The reconstruction uses a squared error; the contract is the Bernoulli "
        "likelihood, i.e. BCE with logits summed over pixels.",
    ),
    Mistake(
        "loss_only",
        _vl_loss_only,
        "It returns only the loss; return three values: (loss, reconstruction, kl).",
    ),
)

VAE_LOSS = FunctionDrill(
    id="vae_loss",
    chapter="04",
    title="The VAE loss: reconstruction + KL",
    answer_name="vae_loss",
    prompt=(
        "Implement `vae_loss(logits, x, mu, log_var) -> (loss, reconstruction, kl)`, three "
        "scalar tensors, for decoder logits and images x of shape (B, 1, 28, 28) (x in [0, 1]) "
        "and posterior parameters mu, log_var of shape (B, d):\n\n"
        "- reconstruction = BCE-with-logits summed over pixels, then the mean over the batch;\n"
        "- kl = the closed-form KL to N(0, I) summed over latent dimensions, then the mean over "
        "the batch;\n"
        "- loss = reconstruction + kl (the negative ELBO per example, averaged).\n\n"
        "All three must be differentiable; the inputs must not be modified."
    ),
    hints=(
        "`F.binary_cross_entropy_with_logits(logits, x, reduction='sum')` sums over every "
        "pixel of every example; divide by the batch size for the mean over the batch.",
        "The KL of one example is ½ Σ_j (μ² + σ² − log σ² − 1) with σ² = exp(log_var); you "
        "may reuse your kl_divergence and take `.mean()`.",
        "Do not average over pixels: a per-pixel mean with a summed KL is a hidden β.",
    ),
    solution=(
        "Sum over what describes one example (pixels, latent dimensions), average over "
        "examples, so that loss = −ELBO per example on average.\n\n"
        "```python\n"
        "import torch.nn.functional as F\n\n"
        "def vae_loss(logits, x, mu, log_var):\n"
        "    batch = x.shape[0]\n"
        "    reconstruction = F.binary_cross_entropy_with_logits(logits, x, reduction='sum') / batch\n"
        "    kl = 0.5 * (mu.pow(2) + log_var.exp() - log_var - 1).sum() / batch\n"
        "    return reconstruction + kl, reconstruction, kl\n"
        "```\n\n"
        "The package's version is `vae_course.losses.vae_loss`."
    ),
    reference_name="vae_course.losses:vae_loss",
    mistakes=VAE_LOSS_MISTAKES,
    make_probes=vae_loss_probes,
    output=TupleOut(
        (("loss", ScalarOut()), ("reconstruction", ScalarOut()), ("kl", ScalarOut())),
        differentiable=True,
    ),
    arg_names=("logits", "x", "mu", "log_var"),
    wrong_values="Its (loss, reconstruction, kl) values are wrong on random inputs.",
)


# ----------------------------------------------------------------------------- iwae_bound


def iwae_probes(seed: int = 0) -> list[Probe]:
    """Log weights (K, B) around -95 nats with K != B; K = 1, B = 1, widely spread."""
    g = torch.Generator().manual_seed(4141 + seed)

    def log_weights(k: int, b: int) -> torch.Tensor:
        return -95.0 + 3.0 * torch.randn(k, b, generator=g)  # realistic: log p(x) ~ -95 nats

    return [
        Probe("random_5x3", (log_weights(5, 3),), grad_args=(0,)),
        Probe("random_10x4", (log_weights(10, 4),), grad_args=(0,)),
        Probe("random_2x7", (log_weights(2, 7),), grad_args=(0,)),
        Probe(
            "one_sample",
            (log_weights(1, 4),),
            group=EDGE,
            label="K = 1 (one sample, where the bound is the ELBO estimate)",
        ),
        Probe("batch_1", (log_weights(6, 1),), group=EDGE, label="a batch of one (B = 1)"),
        Probe(
            "spread",
            (-500.0 + 50.0 * torch.randn(8, 3, generator=g),),
            group=EDGE,
            label="log weights far apart (around −500 ± 50)",
            advice="Use `torch.logsumexp`, which subtracts the maximum before exponentiating.",
        ),
    ]


def _iw_mean_of_logs(log_w):
    return log_w.mean(dim=0)


def _iw_missing_log_k(log_w):
    return torch.logsumexp(log_w, dim=0)


def _iw_wrong_dim(log_w):
    return torch.logsumexp(log_w, dim=1) - math.log(log_w.shape[1])


def _iw_unstable(log_w):
    return torch.log(torch.exp(log_w).mean(dim=0))


def _iw_divide_by_k(log_w):
    return torch.logsumexp(log_w, dim=0) / log_w.shape[0]


def _iw_max(log_w):
    return log_w.max(dim=0).values - math.log(log_w.shape[0])


IWAE_MISTAKES = (
    Mistake(
        "mean_of_logs",
        _iw_mean_of_logs,
        "That is the mean of the log weights, i.e. the ordinary ELBO estimate. L_K is the "
        "log of the mean weight: log (1/K) Σ_k exp(log w_k).",
    ),
    Mistake(
        "missing_log_k",
        _iw_missing_log_k,
        "The −log K is missing: logsumexp gives the log of the *sum* of the weights; "
        "the bound uses their mean.",
    ),
    Mistake(
        "wrong_dim",
        _iw_wrong_dim,
        "It reduces over dim 1 (the batch). The K samples are along dim 0: reduce over "
        "dim=0 to get one bound per example, shape (B,).",
    ),
    Mistake(
        "unstable",
        _iw_unstable,
        "exp(log w) underflows to 0 for realistic log weights (around −100 nats), so the "
        "log gives −inf. Use `torch.logsumexp(log_w, dim=0)`, which is stable.",
    ),
    Mistake(
        "divide_by_k",
        _iw_divide_by_k,
        "Dividing logsumexp by K is not the log of the mean weight: log((1/K) Σ w) = "
        "logsumexp − log K (subtract, do not divide).",
    ),
    Mistake(
        "max_instead",
        _iw_max,
        "The maximum log weight is only an approximation of logsumexp; use "
        "`torch.logsumexp` so every sample counts.",
    ),
)

IWAE_BOUND = FunctionDrill(
    id="iwae_bound",
    chapter="04",
    title="The importance-weighted bound from log weights",
    answer_name="iwae_from_log_weights",
    prompt=(
        "Implement `iwae_from_log_weights(log_w) -> Tensor (B,)`: given log importance "
        "weights log w_kb = log p(x_b, z_kb) − log q(z_kb | x_b) of shape (K, B) (K samples "
        "for each of B examples), return L_K = log (1/K) Σ_k w_kb for each example.\n\n"
        "Contract: shape (B,), differentiable, numerically stable for realistic log weights "
        "(around −100 nats), K = 1 gives back the single log weight."
    ),
    hints=(
        "log of a mean of exponentials = log Σ exp(·) − log K.",
        "`torch.logsumexp(log_w, dim=0)` reduces over the K samples without overflow or underflow.",
    ),
    solution=(
        "L_K = log (1/K) Σ_k w_k = logsumexp_k(log w_k) − log K. Computing exp(log w) "
        "directly underflows (log w ≈ −100), so use logsumexp, which factors out the "
        "maximum.\n\n"
        "```python\n"
        "import math, torch\n\n"
        "def iwae_from_log_weights(log_w):\n"
        "    return torch.logsumexp(log_w, dim=0) - math.log(log_w.shape[0])\n"
        "```\n\n"
        "The package's version is `vae_course.losses.iwae_from_log_weights`."
    ),
    reference_name="vae_course.losses:iwae_from_log_weights",
    mistakes=IWAE_MISTAKES,
    make_probes=iwae_probes,
    output=TensorOut(lambda p: (p.args[0].shape[1],), "one bound per example", differentiable=True),
    arg_names=("log_w",),
    wrong_values="Its values differ from log (1/K) Σ_k w_k on random log weights.",
)

DRILLS = (VAE_LOSS, IWAE_BOUND)
