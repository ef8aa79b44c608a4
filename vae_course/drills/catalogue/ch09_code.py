"""Chapter 09, olympiad pool: short coding items (losses, KL, reparameterisation).

Each item is a :class:`~vae_course.drills.function.FunctionDrill`: seeded probes, the
course's solution as reference (:mod:`vae_course.olympiad_solutions`), and a catalogue of
known mistakes with their messages. In an exam the item's seed chooses the probes. Some
items ban constructs, as USAAIO tasks do (``bans``: no loops, no ``torch.distributions``).
Schedules and applications are in :mod:`.ch09_code_more`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

from ..function import FunctionDrill
from ..observation import EDGE, Mistake, Probe
from ..outputs import TensorOut, TupleOut
from .ch09_choice import CHAPTER, POINTS

SOLUTIONS = "vae_course.olympiad_solutions"
Make = Callable[[int], list[Probe]]


def _code(
    drill_id: str,
    answer_name: str,
    title: str,
    prompt: str,
    hints: tuple[str, ...],
    solution: str,
    reference: str,
    **fields,
) -> FunctionDrill:
    return FunctionDrill(
        id=drill_id,
        chapter=CHAPTER,
        title=title,
        answer_name=answer_name,
        max_score=POINTS,
        prompt=prompt,
        hints=hints,
        solution=solution,
        reference_name=reference if ":" in reference else f"{SOLUTIONS}:{reference}",
        **fields,
    )


def _g(seed: int, salt: int) -> torch.Generator:
    return torch.Generator().manual_seed(7000 + 97 * salt + seed)


def _gaussians(g: torch.Generator, b: int, d: int) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.randn(b, d, generator=g) * 1.2, torch.rand(b, d, generator=g) * 3.0 - 2.0


def _one_per_example(p: Probe) -> tuple[int, ...]:
    return (p.args[0].shape[0],)


# ------------------------------------------------------------------------- kl_between


def _klb_probes(seed: int) -> list[Probe]:
    g = _g(seed, 1)
    probes = [
        Probe(f"random_{b}x{d}", (*_gaussians(g, b, d), *_gaussians(g, b, d)), grad_args=(0, 1))
        for b, d in ((5, 3), (8, 2), (3, 6))
    ]
    mu, lv = _gaussians(g, 4, 3)
    probes.append(Probe("same", (mu, lv, mu.clone(), lv.clone()), group=EDGE, label="q = p"))
    return probes


def _klb_terms(mq, lq, mp, lp):
    return lp - lq + (lq - lp).exp() + (mq - mp).pow(2) * (-lp).exp() - 1


KL_BETWEEN = _code(
    "olympiad_code_kl_between",
    "kl_between",
    "Code: the KL between two diagonal Gaussians",
    "Implement `kl_between(mu_q, log_var_q, mu_p, log_var_p) -> Tensor (B,)`: "
    "KL(N(μ_q, diag σ_q²) ‖ N(μ_p, diag σ_p²)) of each example, summed over the latent "
    "dimensions; all four inputs are (B, d), the variances given as log σ².",
    (
        "Per dimension: ½[log σ_p² − log σ_q² + (σ_q² + (μ_q − μ_p)²)/σ_p² − 1].",
        "Use exp of differences of log-variances, and sum over dim=1.",
    ),
    "```python\ndef kl_between(mu_q, log_var_q, mu_p, log_var_p):\n"
    "    return 0.5 * (log_var_p - log_var_q + (log_var_q - log_var_p).exp()\n"
    "                  + (mu_q - mu_p).pow(2) * (-log_var_p).exp() - 1).sum(dim=1)\n```\n\n"
    "With μ_p = 0, log σ_p² = 0 it is the VAE's KL; the package's version is "
    "`vae_course.losses.kl_between`.",
    "vae_course.losses:kl_between",
    mistakes=(
        Mistake(
            "reversed",
            lambda mq, lq, mp, lp: 0.5 * _klb_terms(mp, lp, mq, lq).sum(dim=1),
            "You computed KL(p ‖ q): the KL is not symmetric; the first distribution is q.",
        ),
        Mistake(
            "missing_half",
            lambda mq, lq, mp, lp: _klb_terms(mq, lq, mp, lp).sum(dim=1),
            "Your KL is twice the right one: the ½ is missing.",
        ),
        Mistake(
            "mean_over_latent",
            lambda mq, lq, mp, lp: 0.5 * _klb_terms(mq, lq, mp, lp).mean(dim=1),
            "It averages over the latent dimensions; a diagonal Gaussian's KL sums them.",
        ),
        Mistake(
            "variance_ratio_inverted",
            lambda mq, lq, mp, lp: (
                0.5 * (lp - lq + (lp - lq).exp() + (mq - mp).pow(2) * (-lp).exp() - 1).sum(dim=1)
            ),
            "The variance ratio is upside down: the term is σ_q²/σ_p² = exp(log σ_q² − log σ_p²).",
        ),
    ),
    make_probes=_klb_probes,
    output=TensorOut(_one_per_example, "one KL per example", differentiable=True),
    arg_names=("mu_q", "log_var_q", "mu_p", "log_var_p"),
)


# ------------------------------------------------------------------------- bernoulli_nll


def _bern_probes(seed: int) -> list[Probe]:
    g = _g(seed, 2)
    shapes = ((4, 1, 5, 5), (6, 1, 3, 7), (3, 2, 4, 4))
    probes = [
        Probe(
            f"random_{i}",
            (torch.randn(*s, generator=g) * 2, (torch.rand(*s, generator=g) > 0.5).float()),
            grad_args=(0,),
        )
        for i, s in enumerate(shapes)
    ]
    probes.append(
        Probe(
            "large_logits",
            (torch.full((2, 1, 3, 3), 80.0), torch.zeros(2, 1, 3, 3)),
            group=EDGE,
            label="large logits (±80)",
            advice="Use `F.binary_cross_entropy_with_logits`, not log(sigmoid(...)).",
        )
    )
    return probes


def _bce(logits, x):
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1)


BERNOULLI_NLL = _code(
    "olympiad_code_bernoulli_nll",
    "bernoulli_nll",
    "Code: a Bernoulli decoder's negative log-likelihood",
    "Implement `bernoulli_nll(logits, x) -> Tensor (B,)`: −log p(x|z) of each example for "
    "independent Bernoulli pixels with the decoder's `logits`, summed over every pixel; "
    "`logits` and `x` have shape (B, C, H, W).",
    (
        "−log p = BCE with logits, per pixel, then summed over everything but dim 0.",
        "`F.binary_cross_entropy_with_logits(logits, x, reduction='none')` then "
        "`.flatten(1).sum(dim=1)`.",
    ),
    "```python\ndef bernoulli_nll(logits, x):\n"
    "    bce = F.binary_cross_entropy_with_logits(logits, x, reduction='none')\n"
    "    return bce.flatten(1).sum(dim=1)\n```",
    "bernoulli_nll",
    mistakes=(
        Mistake(
            "mean_over_pixels",
            lambda logits, x: _bce(logits, x).mean(dim=1),
            "It averages over the pixels; an image's log-likelihood sums them.",
        ),
        Mistake(
            "sigmoid_twice",
            lambda logits, x: _bce(torch.sigmoid(logits), x).sum(dim=1),
            "The logits went through a sigmoid before a loss that applies one itself.",
        ),
        Mistake(
            "log_likelihood",
            lambda logits, x: -_bce(logits, x).sum(dim=1),
            "That is log p(x|z); return −log p(x|z), which is ≥ 0.",
        ),
        Mistake(
            "sum_over_batch",
            lambda logits, x: _bce(logits, x).sum(),
            "It returns one number for the batch; return one value per example, shape (B,).",
        ),
    ),
    make_probes=_bern_probes,
    output=TensorOut(_one_per_example, "one value per example", differentiable=True),
    arg_names=("logits", "x"),
)


# ------------------------------------------------------------------------- gaussian_nll


def _gauss_probes(seed: int) -> list[Probe]:
    g = _g(seed, 3)
    probes = []
    for i, (shape, log_sigma) in enumerate((((4, 1, 3, 3), -1.0), ((5, 6), 0.5), ((3, 2, 2), 0.0))):
        x = torch.rand(*shape, generator=g)
        x_hat = x + 0.3 * torch.randn(*shape, generator=g)
        probes.append(Probe(f"random_{i}", (x_hat, x, torch.tensor(log_sigma)), grad_args=(0, 2)))
    return probes


def _sq(x_hat, x):
    return (x - x_hat).pow(2).flatten(1)


def _gn(x_hat, x, log_sigma, *, const=True, half=0.5, var_from=None):
    var = torch.exp(2 * log_sigma) if var_from is None else var_from(log_sigma)
    d = _sq(x_hat, x).shape[1]
    constant = d * (0.5 * torch.log(var) + 0.5 * math.log(2 * math.pi)) if const else 0.0
    return constant + half * _sq(x_hat, x).sum(dim=1) / var


GAUSSIAN_NLL = _code(
    "olympiad_code_gaussian_nll",
    "gaussian_nll",
    "Code: a Gaussian decoder with a learned σ",
    "Implement `gaussian_nll(x_hat, x, log_sigma) -> Tensor (B,)`: −log N(x; x̂, σ² I) of "
    "each example, summed over its values, with one shared scalar `log_sigma` = log σ "
    "(a 0-d tensor, learned); `x_hat` and `x` have shape (B, ...).",
    (
        "Per value: log σ + ½ log 2π + (x − x̂)²/(2σ²).",
        "σ² = exp(2·log σ); sum over everything but dim 0 (`.flatten(1).sum(dim=1)`).",
    ),
    "```python\ndef gaussian_nll(x_hat, x, log_sigma):\n"
    "    sq = (x - x_hat).pow(2).flatten(1)\n"
    "    per_value = log_sigma + 0.5 * math.log(2 * math.pi) + sq * torch.exp(-2 * log_sigma) / 2\n"
    "    return per_value.sum(dim=1)\n```",
    "gaussian_nll",
    mistakes=(
        Mistake(
            "no_constant",
            lambda x_hat, x, ls: _gn(x_hat, x, ls, const=False),
            "The normalising terms log σ + ½ log 2π per value are missing: without them a "
            "learned σ runs off to infinity.",
        ),
        Mistake(
            "log_sigma_as_log_variance",
            lambda x_hat, x, ls: _gn(x_hat, x, ls, var_from=torch.exp),
            "`log_sigma` is log σ, so σ² = exp(2·log_sigma), not exp(log_sigma).",
        ),
        Mistake(
            "missing_half",
            lambda x_hat, x, ls: _gn(x_hat, x, ls, half=1.0),
            "The squared error is divided by 2σ², not σ².",
        ),
    ),
    make_probes=_gauss_probes,
    output=TensorOut(lambda p: (p.args[0].shape[0],), "one value per example", True),
    arg_names=("x_hat", "x", "log_sigma"),
)


# ------------------------------------------------------------------------- bits_per_dim


def _bpd_probes(seed: int) -> list[Probe]:
    g = _g(seed, 4)
    return [
        Probe(f"random_{n}", (torch.rand(b, generator=g) * 300 + 50, n))
        for b, n in ((5, 784), (3, 3072), (7, 12))
    ]


BITS_PER_DIM = _code(
    "olympiad_code_bits_per_dim",
    "bits_per_dim",
    "Code: bits per dimension",
    "Implement `bits_per_dim(nll, num_dims) -> Tensor (B,)`: convert negative "
    "log-likelihoods in nats per example, `nll` of shape (B,), into bits per dimension for "
    "examples of `num_dims` values each.",
    ("1 nat = 1/ln 2 bits.", "Divide by num_dims · ln 2 (`math.log(2)`)."),
    "```python\ndef bits_per_dim(nll, num_dims):\n    return nll / (num_dims * math.log(2))\n```",
    "bits_per_dim",
    mistakes=(
        Mistake(
            "nats_per_dim",
            lambda nll, n: nll / n,
            "That is nats per dimension: divide by ln 2 too.",
        ),
        Mistake(
            "bits_per_example",
            lambda nll, n: nll / math.log(2),
            "That is bits per example: divide by the number of dimensions too.",
        ),
        Mistake(
            "times_ln2",
            lambda nll, n: nll * math.log(2) / n,
            "Nats become bits by dividing by ln 2, not multiplying.",
        ),
    ),
    make_probes=_bpd_probes,
    output=TensorOut(_one_per_example, "one value per example"),
    arg_names=("nll", "num_dims"),
)


# ------------------------------------------------------------------------- kl_per_dimension


def _kpd_probes(seed: int) -> list[Probe]:
    g = _g(seed, 6)
    return [
        Probe(f"random_{b}x{d}", _gaussians(g, b, d), grad_args=(0, 1))
        for b, d in ((6, 3), (4, 5), (9, 2))
    ]


def _kl_terms(mu, log_var):
    return 0.5 * (mu.pow(2) + log_var.exp() - log_var - 1)


KL_PER_DIMENSION = _code(
    "olympiad_code_kl_per_dimension",
    "kl_per_dimension",
    "Code: the KL of each latent dimension",
    "Implement `kl_per_dimension(mu, log_var) -> Tensor (d,)`: the KL to N(0, 1) of each "
    "latent dimension, averaged over the batch; `mu`, `log_var` are (B, d). Dimensions with "
    "a KL near 0 are collapsed.",
    (
        "Per element: ½(μ² + σ² − log σ² − 1) with σ² = exp(log_var).",
        "Average over dim 0, the batch: `.mean(dim=0)`.",
    ),
    "```python\ndef kl_per_dimension(mu, log_var):\n"
    "    return (0.5 * (mu.pow(2) + log_var.exp() - log_var - 1)).mean(dim=0)\n```",
    "kl_per_dimension",
    mistakes=(
        Mistake(
            "sum_over_batch",
            lambda mu, lv: _kl_terms(mu, lv).sum(dim=0),
            "It sums over the batch; average over it so the value does not depend on B.",
        ),
        Mistake(
            "per_example",
            lambda mu, lv: _kl_terms(mu, lv).sum(dim=1),
            "It returns one KL per example (summed over dimensions); return one per "
            "dimension, averaged over the batch (dim=0).",
        ),
        Mistake(
            "missing_half",
            lambda mu, lv: (2 * _kl_terms(mu, lv)).mean(dim=0),
            "Your KLs are twice the right ones: the ½ is missing.",
        ),
    ),
    make_probes=_kpd_probes,
    output=TensorOut(lambda p: (p.args[0].shape[1],), "one KL per latent dimension", True),
    arg_names=("mu", "log_var"),
)


# ------------------------------------------------------------------------- reparameterize_with


def _rw_probes(seed: int) -> list[Probe]:
    g = _g(seed, 9)
    return [
        Probe(
            f"random_{b}x{d}",
            (*_gaussians(g, b, d), torch.randn(b, d, generator=g)),
            grad_args=(0, 1),
        )
        for b, d in ((5, 3), (2, 7), (8, 2))
    ]


REPARAMETERIZE_WITH = _code(
    "olympiad_code_reparameterize_with",
    "reparameterize_with",
    "Code: the reparameterisation with given noise",
    "Implement `reparameterize_with(mu, log_var, eps) -> Tensor (B, d)`: "
    "z = μ + σ ⊙ ε with σ = exp(½ log σ²), for the given noise `eps`; all inputs are (B, d). "
    "**No `torch.distributions`**: this item bans it.",
    ("σ = exp(0.5 · log_var).", "z = mu + torch.exp(0.5 * log_var) * eps."),
    "```python\ndef reparameterize_with(mu, log_var, eps):\n"
    "    return mu + torch.exp(0.5 * log_var) * eps\n```",
    "reparameterize_with",
    mistakes=(
        Mistake(
            "variance_as_sigma",
            lambda mu, lv, eps: mu + lv.exp() * eps,
            "You scaled ε by σ² = exp(log_var); the standard deviation is exp(½ log_var).",
        ),
        Mistake(
            "log_var_as_sigma",
            lambda mu, lv, eps: mu + lv * eps,
            "You used log σ² itself as σ; σ = exp(½ log σ²).",
        ),
        Mistake(
            "noise_ignored",
            lambda mu, lv, eps: mu + 0 * lv,
            "z ignores ε: it must be μ + σ·ε.",
        ),
    ),
    make_probes=_rw_probes,
    output=TensorOut(lambda p: tuple(p.args[0].shape), "the shape of mu", differentiable=True),
    arg_names=("mu", "log_var", "eps"),
    bans=("distributions",),
)


# ------------------------------------------------------------------------- elbo_terms


def _et_probes(seed: int) -> list[Probe]:
    g = _g(seed, 10)
    probes = []
    for i, (b, d) in enumerate(((4, 3), (6, 2), (3, 5))):
        logits = torch.randn(b, 1, 4, 4, generator=g) * 2
        x = (torch.rand(b, 1, 4, 4, generator=g) > 0.5).float()
        probes.append(Probe(f"random_{i}", (logits, x, *_gaussians(g, b, d)), grad_args=(0, 2, 3)))
    return probes


def _et(logits, x, mu, lv, *, swap=False, mean_pixels=False, mean_dims=False):
    bce = _bce(logits, x)
    recon = bce.mean(dim=1) if mean_pixels else bce.sum(dim=1)
    kl = _kl_terms(mu, lv).mean(dim=1) if mean_dims else _kl_terms(mu, lv).sum(dim=1)
    return (kl, recon) if swap else (recon, kl)


_PER_EXAMPLE = TensorOut(_one_per_example, "one value per example", differentiable=True)

ELBO_TERMS = _code(
    "olympiad_code_elbo_terms",
    "elbo_terms",
    "Code: the two terms of the negative ELBO",
    "Implement `elbo_terms(logits, x, mu, log_var) -> (recon, kl)`: the reconstruction term "
    "−log p(x|z) (Bernoulli, from `logits` of shape (B, C, H, W), summed over pixels) and the "
    "KL to N(0, I) (summed over latent dimensions), each of shape (B,), returned as a tuple "
    "in that order.",
    (
        "recon: BCE with logits, `reduction='none'`, then `.flatten(1).sum(dim=1)`.",
        "kl: ½(μ² + σ² − log σ² − 1) summed over dim=1.",
    ),
    "```python\ndef elbo_terms(logits, x, mu, log_var):\n"
    "    recon = F.binary_cross_entropy_with_logits(logits, x, reduction='none').flatten(1).sum(1)\n"
    "    kl = 0.5 * (mu.pow(2) + log_var.exp() - log_var - 1).sum(dim=1)\n"
    "    return recon, kl\n```",
    "elbo_terms",
    mistakes=(
        Mistake(
            "swapped",
            lambda *a: _et(*a, swap=True),
            "The two terms come back in the wrong order: return (recon, kl).",
        ),
        Mistake(
            "recon_mean_over_pixels",
            lambda *a: _et(*a, mean_pixels=True),
            "The reconstruction term averages over the pixels; it sums them.",
        ),
        Mistake(
            "kl_mean_over_dims",
            lambda *a: _et(*a, mean_dims=True),
            "The KL averages over the latent dimensions; it sums them.",
        ),
    ),
    make_probes=_et_probes,
    output=TupleOut((("recon", _PER_EXAMPLE), ("kl", _PER_EXAMPLE)), differentiable=True),
    arg_names=("logits", "x", "mu", "log_var"),
)


# ------------------------------------------------------------------------- kl_monte_carlo


def _mc(mu, lv, eps, *, sign=1.0, log_term=True):
    z = mu + torch.exp(0.5 * lv) * eps
    per = -0.5 * eps.pow(2) - (0.5 * lv if log_term else 0.0) + 0.5 * z.pow(2)
    return sign * per.sum(dim=1)


KL_MONTE_CARLO = _code(
    "olympiad_code_kl_monte_carlo",
    "kl_monte_carlo",
    "Code: a one-sample Monte Carlo KL",
    "Implement `kl_monte_carlo(mu, log_var, eps) -> Tensor (B,)`: the single-sample estimate "
    "log q(z|x) − log p(z) of KL(q(z|x) ‖ N(0, I)) at z = μ + σ ⊙ ε, summed over the latent "
    "dimensions; all inputs are (B, d).",
    (
        "log N(z; μ, σ²) = −½ log 2π − ½ log σ² − (z − μ)²/(2σ²), and (z − μ)/σ = ε.",
        "log q − log p = Σ_j [−½ε² − ½ log σ² + ½z²]: the constants cancel.",
    ),
    "```python\ndef kl_monte_carlo(mu, log_var, eps):\n"
    "    z = mu + torch.exp(0.5 * log_var) * eps\n"
    "    return (-0.5 * eps**2 - 0.5 * log_var + 0.5 * z**2).sum(dim=1)\n```\n\n"
    "Averaged over ε it is the closed-form KL; one sample may be negative.",
    "kl_monte_carlo",
    mistakes=(
        Mistake(
            "closed_form",
            lambda mu, lv, eps: _kl_terms(mu, lv).sum(dim=1),
            "That is the closed-form KL (the average over ε); the estimate uses the given ε.",
        ),
        Mistake(
            "sign",
            lambda mu, lv, eps: _mc(mu, lv, eps, sign=-1.0),
            "That is log p(z) − log q(z|x): the sign is reversed.",
        ),
        Mistake(
            "log_sigma_missing",
            lambda mu, lv, eps: _mc(mu, lv, eps, log_term=False),
            "The −log σ of log q(z|x) is missing (−½ log σ² per dimension).",
        ),
    ),
    make_probes=_rw_probes,
    output=TensorOut(_one_per_example, "one estimate per example", differentiable=True),
    arg_names=("mu", "log_var", "eps"),
)


CODE_POOL = (
    KL_BETWEEN,
    BERNOULLI_NLL,
    GAUSSIAN_NLL,
    BITS_PER_DIM,
    KL_PER_DIMENSION,
    REPARAMETERIZE_WITH,
    ELBO_TERMS,
    KL_MONTE_CARLO,
)

TOPICS = {
    "olympiad_code_kl_between": "KL divergence",
    "olympiad_code_bernoulli_nll": "ELBO and IWAE",
    "olympiad_code_gaussian_nll": "ELBO and IWAE",
    "olympiad_code_bits_per_dim": "ELBO and IWAE",
    "olympiad_code_kl_per_dimension": "posterior collapse",
    "olympiad_code_reparameterize_with": "reparameterisation",
    "olympiad_code_elbo_terms": "ELBO and IWAE",
    "olympiad_code_kl_monte_carlo": "KL divergence",
}

__all__ = ["CODE_POOL", "TOPICS"]
