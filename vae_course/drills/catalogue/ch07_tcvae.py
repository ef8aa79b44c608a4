"""Chapter 07, β-TCVAE: ``total_correlation`` (implementation), the minibatch-weighted
estimate of KL(q(z) ‖ Π_k q(z_k)) at each sample of a batch (Chen et al. 2018)."""

from __future__ import annotations

import math

import torch

from ..function import FunctionDrill
from ..observation import EDGE, Mistake, Probe, constant_output
from ..outputs import TensorOut

_LOG_2PI = math.log(2 * math.pi)


def _codes(g: torch.Generator, b: int, d: int, low: float, high: float) -> tuple:
    """Posteriors N(mu, e^log_var) (B, d) with log_var in [low, high) and one sample each."""
    mu = torch.randn(b, d, generator=g) * 1.5
    log_var = torch.rand(b, d, generator=g) * (high - low) + low
    z = mu + torch.exp(0.5 * log_var) * torch.randn(b, d, generator=g)
    return z, mu, log_var


def tc_probes(seed: int = 0) -> list[Probe]:
    """Random batches (B != d, several N), sharp posteriors whose densities overflow exp(),
    then edge cases (B = 1, d = 1, N = B)."""
    g = torch.Generator().manual_seed(717 + seed)
    grads = (0, 1, 2)
    return [
        Probe("random_8x3", (*_codes(g, 8, 3, -2.0, 1.0), 1000), grad_args=grads),
        Probe("random_12x5", (*_codes(g, 12, 5, -3.0, 0.5), 60_000), grad_args=grads),
        Probe("random_6x2", (*_codes(g, 6, 2, -1.0, 1.0), 50), grad_args=grads),
        Probe("sharp_7x12", (*_codes(g, 7, 12, -20.0, -16.0), 5000), grad_args=grads),
        Probe(
            "batch_1",
            (*_codes(g, 1, 4, -1.0, 0.0), 100),
            group=EDGE,
            label="a batch of one (B = 1)",
            advice="Avoid `.squeeze()`: it also removes the batch dimension.",
        ),
        Probe(
            "latent_1",
            (*_codes(g, 5, 1, -1.0, 0.0), 100),
            group=EDGE,
            label="a one-dimensional latent (d = 1, where the TC is 0)",
            advice="Keep the latent dimension when you sum or take the logsumexp over it.",
        ),
        Probe(
            "whole_data_set",
            (*_codes(g, 6, 3, -1.0, 0.0), 6),
            group=EDGE,
            label="a batch that is the whole data set (N = B)",
        ),
    ]


# The mistake catalogue: each entry is a wrong implementation and its message.


def _pairwise(z, mu, log_var, half: float = 0.5, variance=torch.exp):
    """L[i, j, k] = log N(z_ik; mu_jk, variance(log_var_jk)), (B, B, d)."""
    var = variance(log_var).unsqueeze(0)
    diff = z.unsqueeze(1) - mu.unsqueeze(0)
    return -0.5 * _LOG_2PI - 0.5 * torch.log(var) - half * diff.pow(2) / var


def _tc(pairwise, n, *, norm=None, reduce=torch.logsumexp, axis=1):
    b = pairwise.shape[0]
    norm = math.log(n * b) if norm is None else norm
    joint = reduce(pairwise.sum(dim=2), dim=axis) - norm
    marginals = reduce(pairwise, dim=axis) - norm
    return joint - marginals.sum(dim=1)


def _tc_no_normaliser(z, mu, log_var, n):
    return _tc(_pairwise(z, mu, log_var), n, norm=0.0)


def _tc_log_batch_only(z, mu, log_var, n):
    return _tc(_pairwise(z, mu, log_var), n, norm=math.log(z.shape[0]))


def _tc_log_dataset_only(z, mu, log_var, n):
    return _tc(_pairwise(z, mu, log_var), n, norm=math.log(n))


def _mean(values, dim):
    return values.mean(dim=dim)


def _tc_mean_of_logs(z, mu, log_var, n):
    return _tc(_pairwise(z, mu, log_var), n, reduce=_mean)


def _naive_logsumexp(values, dim):
    return torch.log(torch.exp(values).sum(dim=dim))


def _tc_naive_logsumexp(z, mu, log_var, n):
    return _tc(_pairwise(z, mu, log_var), n, reduce=_naive_logsumexp)


def _tc_wrong_axis(z, mu, log_var, n):
    return _tc(_pairwise(z, mu, log_var), n, axis=0)


def _tc_wrong_sign(z, mu, log_var, n):
    return -_tc(_pairwise(z, mu, log_var), n)


def _tc_log_var_as_log_sigma(z, mu, log_var, n):
    return _tc(_pairwise(z, mu, log_var, variance=lambda lv: torch.exp(2 * lv)), n)


def _tc_missing_half(z, mu, log_var, n):
    return _tc(_pairwise(z, mu, log_var, half=1.0), n)


def _tc_at_the_means(z, mu, log_var, n):
    return _tc(_pairwise(mu, mu, log_var), n)


def _tc_own_posterior_joint(z, mu, log_var, n):
    pairwise = _pairwise(z, mu, log_var)
    own = torch.diagonal(pairwise, dim1=0, dim2=1).sum(dim=0)  # log q(z_i | x_i), (B,)
    marginals = torch.logsumexp(pairwise, dim=1) - math.log(n * z.shape[0])
    return own - marginals.sum(dim=1)


def _tc_batch_mean(z, mu, log_var, n):
    return _tc(_pairwise(z, mu, log_var), n).mean()


def _tc_zeros(z, mu, log_var, n):
    return torch.zeros(z.shape[0])


TC_MISTAKES = (
    Mistake(
        "no_normaliser",
        _tc_no_normaliser,
        "The −log(N·B) normaliser is missing: each estimate log q(z) = logsumexp(...) − "
        "log(N·B) needs it, in the joint and in every marginal, so your TC is off by "
        "(d − 1)·log(N·B).",
    ),
    Mistake(
        "log_batch_only",
        _tc_log_batch_only,
        "It normalises by log B (the batch) only; minibatch weighted sampling divides by "
        "N·B, with N = `dataset_size`, the number of training images.",
    ),
    Mistake(
        "log_dataset_only",
        _tc_log_dataset_only,
        "It normalises by log N only; minibatch weighted sampling divides by N·B (N = "
        "`dataset_size` times the batch size B).",
    ),
    Mistake(
        "mean_of_logs",
        _tc_mean_of_logs,
        "It averages the log densities over the batch instead of taking the log of the "
        "averaged densities: q(z) is a mixture, so use `torch.logsumexp` over the "
        "posteriors j (your version makes the joint and the marginals cancel).",
    ),
    Mistake(
        "naive_logsumexp",
        _tc_naive_logsumexp,
        "It computes log(Σ exp(·)) directly, which overflows (inf or NaN) for sharp "
        "posteriors, whose log densities exceed 88: use `torch.logsumexp`.",
    ),
    Mistake(
        "wrong_axis",
        _tc_wrong_axis,
        "The logsumexp runs over the samples instead of over the posteriors: with "
        "L[i, j, k] = log q(z_ik | x_j), q(z_i) mixes the posteriors j, so reduce over dim=1.",
    ),
    Mistake(
        "wrong_sign",
        _tc_wrong_sign,
        "It has the wrong sign: TC = log q(z) − Σ_k log q(z_k), the joint minus the "
        "product of the marginals.",
    ),
    Mistake(
        "log_var_as_log_sigma",
        _tc_log_var_as_log_sigma,
        "You treated `log_var` as log σ. It is log σ²: the variance is exp(log_var).",
    ),
    Mistake(
        "missing_half",
        _tc_missing_half,
        "The Gaussian's exponent lacks its ½: log N(z; μ, σ²) = −½ log(2π σ²) − (z − μ)² / (2σ²).",
    ),
    Mistake(
        "density_at_the_means",
        _tc_at_the_means,
        "It evaluates the densities at the means `mu`; the TC is estimated at the sampled "
        "codes `z` (z_i ~ q(z|x_i)).",
    ),
    Mistake(
        "own_posterior_joint",
        _tc_own_posterior_joint,
        "Its joint uses only each example's own posterior, log q(z_i | x_i); the aggregate "
        "posterior q(z) mixes all the posteriors of the batch (logsumexp over j).",
    ),
    Mistake(
        "batch_mean",
        _tc_batch_mean,
        "It returns one number for the whole batch; the contract is one TC estimate per "
        "sample, shape (B,) (average it yourself when you need the batch's TC).",
    ),
    Mistake(
        "constant",
        _tc_zeros,
        "It returns the same value whatever the codes are: estimate the TC from z, mu and log_var.",
        matches=constant_output,
    ),
)

TOTAL_CORRELATION = FunctionDrill(
    id="total_correlation",
    chapter="07",
    title="The total correlation, estimated on a minibatch",
    answer_name="total_correlation",
    prompt=(
        "Implement `total_correlation(z, mu, log_var, dataset_size) -> Tensor (B,)`: the "
        "minibatch weighted sampling estimate (Chen et al., 2018) of the total correlation "
        "TC_i = log q(z_i) − Σ_k log q(z_ik) at each sample, with\n\n"
        "log q(z_i) = logsumexp_j Σ_k L[i, j, k] − log(N·B),  "
        "log q(z_ik) = logsumexp_j L[i, j, k] − log(N·B),\n\n"
        "where L[i, j, k] = log N(z_ik; mu_jk, exp(log_var_jk)) is sample i under the "
        "posterior of example j. `z`, `mu`, `log_var` are float32 tensors (B, d) (z_i ~ "
        "q(z|x_i)); `dataset_size` = N is an int, the number of training images.\n\n"
        "Contract: shape (B,), differentiable in z, mu and log_var, finite for sharp "
        "posteriors (very negative log_var), and the inputs are not modified."
    ),
    hints=(
        "Build L with broadcasting: z.unsqueeze(1) (B, 1, d) against mu.unsqueeze(0) and "
        "log_var.unsqueeze(0) (1, B, d) gives (B, B, d).",
        "The joint sums L over k first and then takes torch.logsumexp over j (dim=1); each "
        "marginal takes the logsumexp over j of L[:, :, k] alone, then the marginals are "
        "summed over k.",
        "Subtract math.log(N * B) from the joint and from every marginal; the ½ log(2π) "
        "constants cancel between the two, so you may leave them out.",
    ),
    solution=(
        "q(z) is a mixture over the data, which the batch's B posteriors estimate; a sum of "
        "densities is a logsumexp of log densities, which stays finite where exp() would "
        "overflow.\n\n"
        "```python\n"
        "import math\n"
        "import torch\n\n"
        "def total_correlation(z, mu, log_var, dataset_size):\n"
        "    diff = z.unsqueeze(1) - mu.unsqueeze(0)                  # (B, B, d)\n"
        "    lv = log_var.unsqueeze(0)\n"
        "    pairwise = -0.5 * (math.log(2 * math.pi) + lv + diff.pow(2) * torch.exp(-lv))\n"
        "    norm = math.log(dataset_size * z.shape[0])\n"
        "    log_qz = torch.logsumexp(pairwise.sum(dim=2), dim=1) - norm\n"
        "    log_marginals = torch.logsumexp(pairwise, dim=1) - norm  # (B, d)\n"
        "    return log_qz - log_marginals.sum(dim=1)\n"
        "```\n\n"
        "The package's version is `vae_course.kl_decomposition.total_correlation` (its "
        '`estimator="mss"` is the less biased stratified estimate).'
    ),
    reference_name="vae_course.kl_decomposition:total_correlation",
    mistakes=TC_MISTAKES,
    make_probes=tc_probes,
    output=TensorOut(
        lambda p: (p.args[0].shape[0],), "one TC estimate per sample", differentiable=True
    ),
    arg_names=("z", "mu", "log_var", "dataset_size"),
    wrong_values="Its values differ from the minibatch weighted estimate on random inputs.",
)

DRILLS = (TOTAL_CORRELATION,)
