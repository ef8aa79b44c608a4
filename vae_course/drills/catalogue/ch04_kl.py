"""Chapter 04, the KL term: ``kl_divergence`` (implementation), ``kl_zero_case`` (multipart:
the value of the KL at the prior and the reason for it) and the seeded ``kl_by_hand``
(numeric)."""

from __future__ import annotations

import math
import random
from typing import Any

import numpy as np
import torch

from ..function import FunctionDrill
from ..multipart import ChoicePart, MultipartDrill, NumericPart, choice_lines
from ..numeric import NumericDrill, NumericMistake
from ..observation import EDGE, Mistake, Probe, constant_output
from ..outputs import TensorOut
from .ch04_kl_zero_reasons import KL_ZERO_REASONS

# ----------------------------------------------------------------------------- kl_divergence


def _gaussian_batch(
    generator: torch.Generator, b: int, d: int
) -> tuple[torch.Tensor, torch.Tensor]:
    mu = torch.randn(b, d, generator=generator) * 1.5
    log_var = torch.rand(b, d, generator=generator) * 5.0 - 3.0  # in [-3, 2)
    return mu, log_var


def kl_probes(seed: int = 0) -> list[Probe]:
    """Random (B, d) batches with B != d, then edge cases."""
    g = torch.Generator().manual_seed(404 + seed)
    probes = [
        Probe(f"random_{b}x{d}", _gaussian_batch(g, b, d), grad_args=(0, 1))
        for b, d in ((6, 4), (9, 2), (4, 7))
    ]
    mu = torch.randn(5, 3, generator=g)
    stable = "Use `log_var` itself for log σ² instead of `torch.log(log_var.exp())` or log(σ²)."
    probes += [
        Probe(
            "tiny_variance",
            (mu, torch.full((5, 3), -30.0)),
            group=EDGE,
            label="very small variances (log σ² = −30)",
            advice=stable,
        ),
        Probe(
            "huge_variance",
            (mu, torch.full((5, 3), 30.0)),
            group=EDGE,
            label="very large variances (log σ² = +30)",
            advice=stable,
        ),
        Probe(
            "at_prior",
            (torch.zeros(5, 3), torch.zeros(5, 3)),
            group=EDGE,
            label="μ = 0 with log σ² = 0",
        ),
        Probe(
            "batch_1",
            _gaussian_batch(g, 1, 5),
            group=EDGE,
            label="a batch of one (B = 1)",
            advice="Avoid `.squeeze()`: it also removes the batch dimension.",
        ),
        Probe(
            "latent_1",
            _gaussian_batch(g, 5, 1),
            group=EDGE,
            label="a one-dimensional latent (d = 1)",
            advice="Sum over dim=1 explicitly; avoid `.squeeze()`.",
        ),
    ]
    return probes


def _terms(mu: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    return mu.pow(2) + log_var.exp() - log_var - 1


# The mistake catalogue: each entry is a wrong implementation and its message.


def _kl_missing_half(mu, log_var):
    return _terms(mu, log_var).sum(dim=1)


def _kl_wrong_sign(mu, log_var):
    return -0.5 * _terms(mu, log_var).sum(dim=1)


def _kl_missing_minus_one(mu, log_var):
    return 0.5 * (mu.pow(2) + log_var.exp() - log_var).sum(dim=1)


def _kl_log_var_as_log_sigma(mu, log_var):
    return 0.5 * (mu.pow(2) + torch.exp(2 * log_var) - 2 * log_var - 1).sum(dim=1)


def _kl_log_var_as_sigma(mu, log_var):
    return 0.5 * (mu.pow(2) + log_var.pow(2) - torch.log(log_var.pow(2)) - 1).sum(dim=1)


def _kl_variance_squared(mu, log_var):
    return 0.5 * (mu.pow(2) + log_var.exp().pow(2) - log_var - 1).sum(dim=1)


def _kl_log_term_sign(mu, log_var):
    return 0.5 * (mu.pow(2) + log_var.exp() + log_var - 1).sum(dim=1)


def _kl_missing_mu_squared(mu, log_var):
    return 0.5 * (log_var.exp() - log_var - 1).sum(dim=1)


def _kl_sum_over_batch(mu, log_var):
    return 0.5 * _terms(mu, log_var).sum()


def _kl_mean_over_latent(mu, log_var):
    return 0.5 * _terms(mu, log_var).mean(dim=1)


def _kl_wrong_dim(mu, log_var):
    return 0.5 * _terms(mu, log_var).sum(dim=0)


def _kl_detached(mu, log_var):
    return (0.5 * _terms(mu, log_var).sum(dim=1)).detach()


def _kl_numpy(mu, log_var):
    m, lv = mu.detach().numpy(), log_var.detach().numpy()
    return 0.5 * (m**2 + np.exp(lv) - lv - 1).sum(axis=1)


def _kl_constant(mu, log_var):
    return torch.zeros(mu.shape[0])


KL_MISTAKES = (
    Mistake(
        "missing_half",
        _kl_missing_half,
        "Your KL is twice too large: the closed form has a factor ½ in front of the sum.",
    ),
    Mistake(
        "wrong_sign",
        _kl_wrong_sign,
        "Your KL comes out negative, but KL(q‖p) ≥ 0 always: check the overall sign.",
    ),
    Mistake(
        "missing_minus_one",
        _kl_missing_minus_one,
        "The −1 inside the sum is missing: each latent dimension contributes ½ too much.",
    ),
    Mistake(
        "log_var_as_log_sigma",
        _kl_log_var_as_log_sigma,
        "You treated `log_var` as log σ. It is log σ²: σ² = exp(log_var) and the log term "
        "is log_var itself (no factor 2).",
    ),
    Mistake(
        "log_var_as_sigma",
        _kl_log_var_as_sigma,
        "You used `log_var` as if it were σ (or σ²). The encoder predicts log σ², so "
        "σ² = exp(log_var).",
    ),
    Mistake(
        "variance_squared",
        _kl_variance_squared,
        "The variance term is squared: the formula needs σ² = exp(log_var), not "
        "exp(log_var)² = σ⁴.",
    ),
    Mistake(
        "log_term_sign",
        _kl_log_term_sign,
        "The log σ² term has the wrong sign: in ½(μ² + σ² − log σ² − 1) it is subtracted.",
    ),
    Mistake(
        "missing_mu_squared",
        _kl_missing_mu_squared,
        "The μ² term is missing: moving the mean away from 0 must cost KL.",
    ),
    Mistake(
        "sum_over_batch",
        _kl_sum_over_batch,
        "It sums over the batch too and returns a single number. Return one KL per "
        "example, shape (B,): sum over the latent dimension only (dim=1).",
    ),
    Mistake(
        "mean_over_latent",
        _kl_mean_over_latent,
        "It averages over the latent dimensions. The KL of a diagonal Gaussian is the "
        "sum of the per-dimension KLs: use `.sum(dim=1)`.",
    ),
    Mistake(
        "wrong_dim",
        _kl_wrong_dim,
        "It sums over dim 0, the batch, and returns one value per latent dimension. "
        "Sum over dim=1 (the latent dimensions).",
    ),
    Mistake(
        "detached",
        _kl_detached,
        "The values are right, but the result carries no gradient (`.detach()`, "
        "`.item()` or `torch.no_grad()`): training would get no gradient from the KL.",
    ),
    Mistake(
        "numpy_result",
        _kl_numpy,
        "It returns a numpy array: numpy cuts the gradient. Use torch operations "
        "(`torch.exp`, `.pow(2)`, `.sum(dim=1)`) and return a tensor.",
    ),
    Mistake(
        "constant",
        _kl_constant,
        "It returns the same value whatever μ and log σ² are: compute the KL from the inputs.",
        matches=constant_output,
    ),
)

KL_DIVERGENCE = FunctionDrill(
    id="kl_divergence",
    chapter="04",
    title="The closed-form KL to the prior",
    answer_name="kl_divergence",
    prompt=(
        "Implement `kl_divergence(mu, log_var) -> Tensor (B,)`: the KL divergence "
        "KL(N(μ, diag σ²) ‖ N(0, I)) of each example, summed over the latent dimensions, "
        "where `mu` and `log_var` = log σ² are tensors of shape (B, d).\n\n"
        "Contract: returns shape (B,) (one KL per example, not summed over the batch), "
        "float32 in, float32 out, on the input's device, differentiable in both inputs, "
        "finite for very small or large variances, and the inputs are not modified."
    ),
    hints=(
        "For one dimension, KL(N(μ, σ²) ‖ N(0, 1)) = ½ (μ² + σ² − log σ² − 1). Sum it over "
        "the d latent dimensions.",
        "You are given log σ², not σ: σ² is `log_var.exp()` and log σ² is `log_var` itself.",
        "Reduce with `.sum(dim=1)` so the batch dimension stays: the result is (B,).",
    ),
    solution=(
        "Per dimension the KL between N(μ, σ²) and N(0, 1) is ½(μ² + σ² − log σ² − 1); "
        "a diagonal Gaussian's KL is the sum over dimensions. With log σ² given, no log "
        "or square root is needed, which keeps it finite for extreme variances.\n\n"
        "```python\n"
        "def kl_divergence(mu, log_var):\n"
        "    return 0.5 * (mu.pow(2) + log_var.exp() - log_var - 1).sum(dim=1)\n"
        "```\n\n"
        "The package's version is `vae_course.losses.kl_divergence`."
    ),
    reference_name="vae_course.losses:kl_divergence",
    mistakes=KL_MISTAKES,
    make_probes=kl_probes,
    output=TensorOut(lambda p: (p.args[0].shape[0],), "one KL per example", differentiable=True),
    arg_names=("mu", "log_var"),
    wrong_values="Its values differ from the closed-form KL on random inputs.",
)


# ----------------------------------------------------------------------------- kl_zero_case

KL_ZERO_CASE = MultipartDrill(
    id="kl_zero_case",
    chapter="04",
    title="The KL when the posterior is the prior: the number and the reason",
    answer_name="answer_kl_zero",
    prompt=(
        "An encoder outputs μ = 0 and log σ² = 0 in each of the d = 20 latent dimensions "
        "of one example. What is KL(q(z|x) ‖ p(z)) with p(z) = N(0, I), and why? Give the "
        "number and the reason it has that value (which terms of "
        "½ Σ_j (μ_j² + σ_j² − log σ_j² − 1) vanish, and for which reason), as the dict "
        "`answer_kl_zero = {'kl': ..., 'reason': ...}`. A number alone earns the first part "
        "only."
    ),
    parts=(
        NumericPart(
            "kl",
            1,
            lambda p: 0.0,
            "KL(q(z|x) ‖ N(0, I)) in nats, a float",
            tolerance=1e-4,
            mistakes=(
                NumericMistake(
                    "missing_minus_one",
                    lambda p: 0.5 * p["d"],
                    "It looks like the −1 term is missing: check each term of "
                    "½(μ² + σ² − log σ² − 1).",
                ),
                NumericMistake(
                    "missing_half_and_minus_one",
                    lambda p: float(p["d"]),
                    "It looks like both the ½ and the −1 are missing from your formula.",
                ),
                NumericMistake(
                    "wrong_sign",
                    lambda p: -0.5 * p["d"],
                    "A KL divergence is never negative; check the signs in your formula.",
                ),
            ),
            rubric="0 nats: each of the 20 terms is ½(0 + 1 − 0 − 1) = 0.",
        ),
        ChoicePart(
            "reason",
            1,
            KL_ZERO_REASONS,
            description="one letter: the statement that gives the right reason",
            rubric="(c): q(z|x) is the prior itself and every term vanishes on its own.",
        ),
    ),
    bare_part="kl",
    prompt_extra=choice_lines("Options for `reason`", KL_ZERO_REASONS),
    fixed_params=(("d", 20),),
    hints=(
        "log σ² = 0 means σ² = e⁰. What distribution is q(z|x) then?",
        "Plug μ = 0, σ² = 1 and log σ² = 0 into ½ Σ (μ² + σ² − log σ² − 1). Can a term ever "
        "be negative, so that terms could cancel?",
    ),
    solution=(
        "With μ = 0 and log σ² = 0, σ² = 1, so q(z|x) = N(0, I) is exactly the prior, and "
        "the KL of a distribution to itself is 0: each term is ½(0 + 1 − 0 − 1) = 0, "
        "whatever d is. No cancellation is involved: σ² − log σ² − 1 ≥ 0 with equality only "
        "at σ² = 1, and μ² ≥ 0 with equality only at μ = 0 (reason (c)). Such a code costs "
        "nothing and carries nothing about x; this is why the KL term pulls encodings "
        "towards μ = 0, σ = 1.\n\n"
        "```python\nanswer_kl_zero = {'kl': 0.0, 'reason': 'c'}\n```"
    ),
)


# ----------------------------------------------------------------------------- kl_by_hand


def _kl_sanity(value: float, params: dict[str, Any]) -> str | None:
    if value < 0:
        return "A KL divergence is never negative."
    return None


_MUS = (-2.0, -1.5, -1.0, -0.5, 0.5, 1.0, 1.5, 2.0)
_SIGMAS = (0.25, 0.5, 1.5, 2.0, 3.0)


def _kl_by_hand_params(rng: random.Random) -> dict[str, Any]:
    form = rng.choice(("scalar", "vector", "batch"))
    if form == "scalar":
        return {"form": form, "mu": rng.choice(_MUS), "sigma": rng.choice(_SIGMAS)}
    if form == "vector":
        d = rng.choice((2, 3))
        return {
            "form": form,
            "mu": [rng.choice(_MUS) for _ in range(d)],
            "sigma": [rng.choice(_SIGMAS) for _ in range(d)],
        }
    return {
        "form": form,
        "mu": [[rng.choice(_MUS) for _ in range(2)] for _ in range(3)],
        "sigma": [[rng.choice(_SIGMAS) for _ in range(2)] for _ in range(3)],
    }


def _rows(params: dict[str, Any]) -> list[list[tuple[float, float]]]:
    mu, sigma = params["mu"], params["sigma"]
    if params["form"] == "scalar":
        return [[(mu, sigma)]]
    if params["form"] == "vector":
        return [list(zip(mu, sigma, strict=True))]
    return [list(zip(m, s, strict=True)) for m, s in zip(mu, sigma, strict=True)]


def _kl_value(
    params: dict[str, Any],
    *,
    half: float = 0.5,
    variance=lambda s: s * s,
    log_variance=lambda s: 2 * math.log(s),
    minus: float = 1.0,
    mu_squared: bool = True,
    batch: str = "mean",
) -> float:
    per_example = [
        half
        * sum(
            (m * m if mu_squared else 0.0) + variance(s) - log_variance(s) - minus for m, s in row
        )
        for row in _rows(params)
    ]
    return sum(per_example) / (len(per_example) if batch == "mean" else 1)


def _describe_kl_by_hand(params: dict[str, Any]) -> str:
    mu, sigma = params["mu"], params["sigma"]
    if params["form"] == "scalar":
        return (
            f"A one-dimensional posterior q(z|x) = N(μ, σ²) with μ = {mu:g} and σ = "
            f"{sigma:g} (σ, not σ²). Compute KL(q ‖ N(0, 1))."
        )
    if params["form"] == "vector":
        return (
            f"A {len(mu)}-dimensional diagonal posterior with μ = {mu} and σ = {sigma} "
            "(standard deviations). Compute KL(q ‖ N(0, I)), summed over the dimensions."
        )
    return (
        "A batch of 3 examples, each with a 2-dimensional diagonal posterior: rows of "
        f"μ = {mu}, rows of σ = {sigma} (standard deviations). Compute the KL term of the "
        "loss: the KL of each example (summed over dimensions), then the mean over the "
        "batch."
    )


KL_BY_HAND = NumericDrill(
    id="kl_by_hand",
    chapter="04",
    title="KL by hand for your own numbers",
    answer_name="answer_kl_by_hand",
    max_score=3,
    prompt=(
        "Get your own numbers with `q = drills.question('kl_by_hand')`: μ and σ of a "
        "diagonal Gaussian posterior (a scalar, a vector, or a batch of vectors). Compute "
        "KL(q ‖ N(0, I)) as the question asks, by hand or with a few lines of Python, and "
        "bind the number to `answer_kl_by_hand`."
    ),
    hints=(
        "Per dimension: ½ (μ² + σ² − log σ² − 1). The question gives σ, so square it, and "
        "use the natural log.",
        "Sum over the dimensions of one example; for a batch, take the mean of the "
        "per-example KLs.",
        "Check your arithmetic with torch: `vae_course.losses.kl_divergence(mu, "
        "torch.log(sigma**2))` takes (B, d) tensors.",
    ),
    solution=(
        "For each example, KL = ½ Σ_j (μ_j² + σ_j² − log σ_j² − 1) in nats (natural log); "
        "for a batch, average the per-example values.\n\n"
        "```python\n"
        "import torch\n"
        "from vae_course.losses import kl_divergence\n"
        "mu = torch.atleast_2d(torch.tensor(q.mu, dtype=torch.float64))  # (B, d)\n"
        "sigma = torch.atleast_2d(torch.tensor(q.sigma, dtype=torch.float64))\n"
        "answer_kl_by_hand = round(kl_divergence(mu, torch.log(sigma**2)).mean().item(), 4)\n"
        "```"
    ),
    answer=_kl_value,
    make_params=_kl_by_hand_params,
    describe=_describe_kl_by_hand,
    tolerance=1e-3,
    normal_form="in nats (natural log), rounded to 4 decimals",
    mistakes=(
        NumericMistake(
            "missing_half",
            lambda p: _kl_value(p, half=1.0),
            "Your value is twice too large: the formula has a factor ½.",
        ),
        NumericMistake(
            "sigma_for_variance",
            lambda p: _kl_value(p, variance=lambda s: s, log_variance=lambda s: math.log(s)),
            "You used σ where the formula needs σ² (the question gives standard "
            "deviations): square them first.",
        ),
        NumericMistake(
            "log_sigma",
            lambda p: _kl_value(p, log_variance=lambda s: math.log(s)),
            "The log term must be log σ² = 2 log σ, not log σ.",
        ),
        NumericMistake(
            "missing_minus_one",
            lambda p: _kl_value(p, minus=0.0),
            "The −1 term is missing from each dimension.",
        ),
        NumericMistake(
            "missing_mu_squared",
            lambda p: _kl_value(p, mu_squared=False),
            "The μ² term is missing.",
        ),
        NumericMistake(
            "wrong_sign",
            lambda p: -_kl_value(p),
            "A KL divergence is never negative: check the signs.",
        ),
        NumericMistake(
            "bits",
            lambda p: _kl_value(p) / math.log(2),
            "That is the value in bits (log base 2); the question asks for nats (natural log).",
        ),
        NumericMistake(
            "batch_sum",
            lambda p: _kl_value(p, batch="sum"),
            "For a batch, the KL term of the loss is the mean over the examples, not the sum.",
        ),
    ),
    sanity=_kl_sanity,
)

DRILLS = (KL_DIVERGENCE, KL_ZERO_CASE, KL_BY_HAND)
