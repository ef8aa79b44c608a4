"""Chapter 09, olympiad practice: the item pool an exam draws from, by format and topic.

USAAIO round-2 style, 5 points each. This module holds four seeded numeric items (KL of a
Gaussian, the hidden β of a reduction, a reparameterised derivative, the IWAE bound) and
gathers the rest of the pool: more numeric items (:mod:`.ch09_numeric`), derivations
(:mod:`.ch09_derivations`, :mod:`.ch09_derivations_more`), multiple choice
(:mod:`.ch09_choice`, :mod:`.ch09_choice_more`) and short coding items (:mod:`.ch09_code`),
across every chapter's topics.

``POOLS`` lists the items of each format (what :func:`vae_course.drills.exam` draws) and
``TOPICS`` maps each item to its syllabus topic (the exam's per-topic breakdown and the
weakest topics of ``vae-course practice``).
"""

from __future__ import annotations

import math
import random
from typing import Any

from ..core import Drill
from ..derivation import NATS_4, TOLERANCE
from ..numeric import NumericDrill, NumericMistake
from . import (
    ch09_choice_more,
    ch09_code,
    ch09_code_more,
    ch09_derivations_more,
    ch09_numeric,
    ch09_numeric_more,
)
from .ch09_choice import CHAPTER, POINTS
from .ch09_choice import CHOICE_ITEMS as BASE_CHOICE_ITEMS
from .ch09_derivations import DERIVATION_ITEMS as BASE_DERIVATION_ITEMS


def _log_mean_exp(values: list[float]) -> float:
    """log((1/K) Σ_k exp(v_k)), computed stably by factoring out the largest value."""
    top = max(values)
    return top + math.log(sum(math.exp(v - top) for v in values) / len(values))


def _fmt(value: float) -> str:
    return f"{value:.4f}"


# -------------------------------------------------------------------------- olympiad_kl

_MU_VALUES = (-2.0, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0)
_SIGMA_VALUES = (0.2, 0.5, 0.8, 1.5, 2.0, 2.5)
_LOG_VAR_VALUES = (-2.0, -1.0, -0.5, 0.5, 1.0, 1.5)


def _kl_params(rng: random.Random) -> dict[str, Any]:
    d = rng.choice((1, 2, 3))
    given = rng.choice(("sigma", "log_var"))
    spread = _SIGMA_VALUES if given == "sigma" else _LOG_VAR_VALUES
    return {
        "d": d,
        "given": given,
        "mu": [rng.choice(_MU_VALUES) for _ in range(d)],
        given: [rng.choice(spread) for _ in range(d)],
    }


def _variances(p: dict[str, Any]) -> list[float]:
    if p["given"] == "sigma":
        return [s * s for s in p["sigma"]]
    return [math.exp(v) for v in p["log_var"]]


def _kl_terms(p: dict[str, Any]) -> list[float]:
    return [
        0.5 * (m * m + v - math.log(v) - 1) for m, v in zip(p["mu"], _variances(p), strict=True)
    ]


def _kl_answer(p: dict[str, Any]) -> float:
    return sum(_kl_terms(p))


def _kl_missing_half(p: dict[str, Any]) -> float:
    return 2 * _kl_answer(p)


def _kl_mean_over_dims(p: dict[str, Any]) -> float:
    return _kl_answer(p) / p["d"]


def _kl_sigma_as_variance(p: dict[str, Any]) -> float:
    # σ plugged in where σ² belongs (or log σ² treated as log σ).
    if p["given"] == "sigma":
        sig = p["sigma"]
        return sum(0.5 * (m * m + s - math.log(s) - 1) for m, s in zip(p["mu"], sig, strict=True))
    return sum(
        0.5 * (m * m + math.exp(2 * v) - 2 * v - 1)
        for m, v in zip(p["mu"], p["log_var"], strict=True)
    )


def _kl_log_sigma_term(p: dict[str, Any]) -> float:
    # log σ instead of log σ² in the log term.
    return sum(
        0.5 * (m * m + v - 0.5 * math.log(v) - 1)
        for m, v in zip(p["mu"], _variances(p), strict=True)
    )


def _describe_kl(p: dict[str, Any]) -> str:
    given = (
        f"standard deviations σ = {p['sigma']}"
        if p["given"] == "sigma"
        else f"log-variances log σ² = {p['log_var']} (the encoder's raw outputs)"
    )
    return (
        f"An encoder returns, for one image, a {p['d']}-dimensional diagonal Gaussian "
        f"q(z|x) with means μ = {p['mu']} and {given}. Compute KL(q(z|x) ‖ N(0, I)), "
        "summed over the latent dimensions."
    )


def _worked_kl(p: dict[str, Any]) -> str:
    lines = [
        "Per dimension KL(N(μ, σ²) ‖ N(0, 1)) = ½(μ² + σ² − log σ² − 1); a diagonal "
        "Gaussian adds the dimensions."
    ]
    for j, (m, v, term) in enumerate(zip(p["mu"], _variances(p), _kl_terms(p), strict=True)):
        lines.append(
            f"- dimension {j + 1}: μ = {m:g}, σ² = {v:.6f}, log σ² = {math.log(v):.6f} → "
            f"½({m * m:g} + {v:.6f} − ({math.log(v):.6f}) − 1) = {term:.6f}"
        )
    return "\n".join(lines)


OLYMPIAD_KL = NumericDrill(
    id="olympiad_kl",
    chapter=CHAPTER,
    title="KL of a diagonal Gaussian to the prior",
    answer_name="answer_olympiad_kl",
    max_score=POINTS,
    prompt=(
        "Compute KL(q(z|x) ‖ N(0, I)) for the diagonal Gaussian of your question "
        "(`q = drills.question('olympiad_kl')`), summed over latent dimensions."
    ),
    hints=(
        "Per dimension: ½(μ² + σ² − log σ² − 1). Read carefully whether you were given σ "
        "or log σ².",
        "Sum over the dimensions; do not average.",
    ),
    solution=(
        "KL(N(μ, diag σ²) ‖ N(0, I)) = ½ Σ_j (μ_j² + σ_j² − log σ_j² − 1). With σ given, "
        "σ² = σ·σ and log σ² = 2 log σ; with log σ² given, σ² = exp(log σ²). `review` shows "
        "the computation with your numbers after an attempt."
    ),
    answer=_kl_answer,
    make_params=_kl_params,
    describe=_describe_kl,
    tolerance=TOLERANCE,
    normal_form=NATS_4,
    mistakes=(
        NumericMistake(
            "missing_half", _kl_missing_half, "Your value is twice the KL: the ½ is missing."
        ),
        NumericMistake(
            "mean_over_dims",
            _kl_mean_over_dims,
            "You averaged over the latent dimensions; the KL of a diagonal Gaussian is their sum.",
        ),
        NumericMistake(
            "sigma_as_variance",
            _kl_sigma_as_variance,
            "You mixed up σ, σ² and log σ²: check which one the question gives you.",
        ),
        NumericMistake(
            "log_sigma_term",
            _kl_log_sigma_term,
            "The log term should be log σ² (= 2 log σ), not log σ.",
        ),
    ),
    sanity=lambda value, p: "A KL divergence is never negative." if value < 0 else None,
    worked=_worked_kl,
)


# -------------------------------------------------------------- olympiad_implicit_beta

_IMAGE_SHAPES = ((1, 28, 28), (3, 32, 32), (1, 64, 64), (3, 64, 64))
_LATENT_DIMS = (8, 10, 16, 20, 32, 64)
_BATCH_SIZES = (32, 64, 100, 128, 256)

# variant -> (reconstruction line, KL line)
_REDUCTIONS = {
    "mean_recon_sum_kl": (
        'recon = F.binary_cross_entropy_with_logits(logits, x, reduction="mean")',
        "kl = (0.5 * (mu**2 + log_var.exp() - log_var - 1)).sum(dim=1).mean()",
    ),
    "mean_recon_mean_kl": (
        'recon = F.binary_cross_entropy_with_logits(logits, x, reduction="mean")',
        "kl = (0.5 * (mu**2 + log_var.exp() - log_var - 1)).mean()",
    ),
    "sum_recon_mean_kl": (
        'recon = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / x.shape[0]',
        "kl = (0.5 * (mu**2 + log_var.exp() - log_var - 1)).mean()",
    ),
    "batch_sum_recon": (
        'recon = F.binary_cross_entropy_with_logits(logits, x, reduction="sum")',
        "kl = (0.5 * (mu**2 + log_var.exp() - log_var - 1)).sum(dim=1).mean()",
    ),
}


def _beta_params(rng: random.Random) -> dict[str, Any]:
    return {
        "variant": rng.choice(sorted(_REDUCTIONS)),
        "shape": list(rng.choice(_IMAGE_SHAPES)),
        "d": rng.choice(_LATENT_DIMS),
        "batch": rng.choice(_BATCH_SIZES),
    }


def _pixels(p: dict[str, Any]) -> int:
    return math.prod(p["shape"])


def _beta_answer(p: dict[str, Any]) -> float:
    pixels, d, batch = _pixels(p), p["d"], p["batch"]
    return {
        "mean_recon_sum_kl": float(pixels),
        "mean_recon_mean_kl": pixels / d,
        "sum_recon_mean_kl": 1.0 / d,
        "batch_sum_recon": 1.0 / batch,
    }[p["variant"]]


def _describe_beta(p: dict[str, Any]) -> str:
    recon, kl = _REDUCTIONS[p["variant"]]
    c, h, w = p["shape"]
    return (
        f"A VAE is trained on batches of B = {p['batch']} images of shape (C, H, W) = "
        f"({c}, {h}, {w}) with a d = {p['d']}-dimensional latent. `logits` and `x` have shape "
        f"(B, {c}, {h}, {w}); `mu` and `log_var` have shape (B, {p['d']}). The loss is\n\n"
        f"```python\n{recon}\n{kl}\nloss = recon + kl\n```\n\n"
        "The standard objective (the negative ELBO) is, per example, the reconstruction "
        "summed over all pixel values plus the KL summed over latent dimensions, averaged "
        "over the batch. The loss above is a positive constant times "
        "(reconstruction + β·KL) in that standard form. What is β?"
    )


def _worked_beta(p: dict[str, Any]) -> str:
    pixels, d, batch = _pixels(p), p["d"], p["batch"]
    r = "R = mean over the batch of the per-example reconstruction summed over pixels"
    k = "K = mean over the batch of the per-example KL summed over latent dimensions"
    body = {
        "mean_recon_sum_kl": (
            f"`reduction='mean'` divides the summed BCE by B·D with D = {pixels} values per "
            f"image, so recon = R / {pixels}; kl = K. loss = R/{pixels} + K = "
            f"(1/{pixels})·(R + {pixels}·K), so β = {pixels}."
        ),
        "mean_recon_mean_kl": (
            f"recon = R / {pixels}; `.mean()` over (B, d) divides the KL sum by B·d, so "
            f"kl = K / {d}. loss = (1/{pixels})·(R + ({pixels}/{d})·K), so β = "
            f"{pixels}/{d} = {pixels / d:.4f}."
        ),
        "sum_recon_mean_kl": (
            f"The sum divided by B gives recon = R; `.mean()` over (B, d) gives kl = K / {d}. "
            f"loss = R + K/{d}, so β = 1/{d} = {1 / d:.4f}."
        ),
        "batch_sum_recon": (
            f"`reduction='sum'` also sums over the batch: recon = B·R = {batch}·R; kl = K. "
            f"loss = {batch}·(R + K/{batch}), so β = 1/{batch} = {1 / batch:.4f}."
        ),
    }[p["variant"]]
    return f"Write both terms with {r} and {k}.\n\n{body}"


def _beta_inverse(p: dict[str, Any]) -> float:
    value = _beta_answer(p)
    return 1.0 / value


OLYMPIAD_IMPLICIT_BETA = NumericDrill(
    id="olympiad_implicit_beta",
    chapter=CHAPTER,
    title="The hidden β of a reduction",
    answer_name="answer_olympiad_implicit_beta",
    max_score=POINTS,
    prompt=(
        "A loss written with PyTorch reductions weighs reconstruction and KL differently from "
        "the negative ELBO. Find the implicit β for your question "
        "(`q = drills.question('olympiad_implicit_beta')`)."
    ),
    hints=(
        "Write each term as a multiple of R (per-example reconstruction summed over pixels, "
        "batch-averaged) and K (per-example KL summed over dimensions, batch-averaged).",
        "`reduction='mean'` divides by every element: batch × channels × height × width. "
        "`.mean()` on a (B, d) tensor divides by B·d. Then factor the loss as c·(R + β·K).",
    ),
    solution=(
        "Express both terms through R and K, factor out the coefficient of R, and read off the "
        "coefficient of K. A per-pixel mean with a summed KL gives β = C·H·W (784 for MNIST)."
    ),
    answer=_beta_answer,
    make_params=_beta_params,
    describe=_describe_beta,
    tolerance=TOLERANCE,
    normal_form="as a plain number, rounded to 4 decimals (e.g. 784 or 0.0625)",
    mistakes=(
        NumericMistake(
            "inverse",
            _beta_inverse,
            "That is 1/β: β is the weight of the KL once the reconstruction's weight is 1.",
        ),
        NumericMistake(
            "one",
            lambda p: 1.0,
            "The two reductions are not the same: a mean divides by the number of elements "
            "it averages over.",
        ),
    ),
    sanity=lambda value, p: "β is positive here." if value <= 0 else None,
    worked=_worked_beta,
)


# ------------------------------------------------------------ olympiad_reparam_gradient

_ASKS = {
    "dz_dsigma": "∂z/∂σ",
    "dz_dlog_var": "∂z/∂(log σ²)",
    "dL_dmu": "∂L/∂μ",
    "dL_dlog_var": "∂L/∂(log σ²)",
}


def _grad_params(rng: random.Random) -> dict[str, Any]:
    eps = 0.0
    while abs(eps) < 0.1:
        eps = round(rng.uniform(-2.0, 2.0), 2)
    return {
        "ask": rng.choice(sorted(_ASKS)),
        "mu": rng.choice((-1.5, -1.0, -0.5, 0.5, 1.0, 1.5)),
        "log_var": rng.choice((-2.0, -1.0, -0.5, 0.5, 1.0)),
        "eps": eps,
        "target": rng.choice((-1.0, 0.0, 0.5, 1.0, 2.0)),
    }


def _grad_parts(p: dict[str, Any]) -> tuple[float, float]:
    sigma = math.exp(0.5 * p["log_var"])
    return sigma, p["mu"] + sigma * p["eps"]


def _grad_answer(p: dict[str, Any], *, half: float = 0.5, chain: bool = True) -> float:
    sigma, z = _grad_parts(p)
    dz_dlog_var = (half * sigma if chain else 1.0) * p["eps"]
    return {
        "dz_dsigma": p["eps"],
        "dz_dlog_var": dz_dlog_var,
        "dL_dmu": 2 * (z - p["target"]),
        "dL_dlog_var": 2 * (z - p["target"]) * dz_dlog_var,
    }[p["ask"]]


def _describe_grad(p: dict[str, Any]) -> str:
    return (
        f"A one-dimensional encoder outputs μ = {p['mu']:g} and log σ² = {p['log_var']:g}. "
        f"The sample is z = μ + σ·ε with σ = exp(½ log σ²) and the drawn noise ε = "
        f"{p['eps']:g}; the loss is L = (z − t)² with t = {p['target']:g}. Holding ε fixed, "
        f"compute {_ASKS[p['ask']]}."
    )


def _worked_grad(p: dict[str, Any]) -> str:
    sigma, z = _grad_parts(p)
    return (
        f"σ = exp(½·{p['log_var']:g}) = {sigma:.6f}; z = {p['mu']:g} + {sigma:.6f}·{p['eps']:g} = "
        f"{z:.6f}.\n\n"
        "∂z/∂μ = 1, ∂z/∂σ = ε, and by the chain rule ∂z/∂(log σ²) = ∂z/∂σ · ∂σ/∂(log σ²) = "
        "ε · ½σ. For L = (z − t)²: ∂L/∂z = 2(z − t), so ∂L/∂μ = 2(z − t) and "
        "∂L/∂(log σ²) = 2(z − t) · ½σε = (z − t)σε."
    )


OLYMPIAD_REPARAM_GRADIENT = NumericDrill(
    id="olympiad_reparam_gradient",
    chapter=CHAPTER,
    title="A reparameterised derivative for given ε",
    answer_name="answer_olympiad_reparam_gradient",
    max_score=POINTS,
    prompt=(
        "With the noise ε fixed, z = μ + σε is an ordinary function of the encoder's outputs. "
        "Compute the derivative your question asks for "
        "(`q = drills.question('olympiad_reparam_gradient')`)."
    ),
    hints=(
        "∂z/∂μ = 1 and ∂z/∂σ = ε. The encoder predicts log σ², and σ = exp(½ log σ²).",
        "∂σ/∂(log σ²) = ½σ. For L = (z − t)², ∂L/∂z = 2(z − t); multiply along the chain.",
    ),
    solution=(
        "z = μ + σε with σ = exp(½ log σ²): ∂z/∂μ = 1, ∂z/∂σ = ε, ∂z/∂(log σ²) = ½σε; for "
        "L = (z − t)², multiply by ∂L/∂z = 2(z − t)."
    ),
    answer=_grad_answer,
    make_params=_grad_params,
    describe=_describe_grad,
    tolerance=TOLERANCE,
    normal_form="as a number rounded to 4 decimals",
    mistakes=(
        NumericMistake(
            "missing_half",
            lambda p: _grad_answer(p, half=1.0),
            "The factor ½ of ∂σ/∂(log σ²) = ½σ is missing.",
        ),
        NumericMistake(
            "no_chain_through_sigma",
            lambda p: _grad_answer(p, chain=False),
            "You stopped at ∂z/∂σ = ε: the question differentiates with respect to log σ², "
            "so multiply by ∂σ/∂(log σ²) = ½σ.",
        ),
        NumericMistake(
            "sign",
            lambda p: -_grad_answer(p),
            "The sign is wrong: check ∂L/∂z = 2(z − t) (not 2(t − z)).",
        ),
    ),
    worked=_worked_grad,
)


# ----------------------------------------------------------------------- olympiad_iwae


def _iwae_params(rng: random.Random) -> dict[str, Any]:
    k = rng.choice((3, 4, 5, 6))
    return {"k": k, "log_w": [round(rng.uniform(-104.0, -96.0), 2) for _ in range(k)]}


def _iwae_answer(p: dict[str, Any]) -> float:
    return _log_mean_exp(p["log_w"])


def _describe_iwae(p: dict[str, Any]) -> str:
    return (
        f"For one image x, K = {p['k']} samples z_k ~ q(z|x) give the log importance weights "
        f"log w_k = log p(x, z_k) − log q(z_k|x) = {p['log_w']} (nats). Compute the "
        f"importance-weighted bound L_K = log((1/K) Σ_k w_k) for this x."
    )


def _worked_iwae(p: dict[str, Any]) -> str:
    top = max(p["log_w"])
    shifted = [v - top for v in p["log_w"]]
    total = sum(math.exp(s) for s in shifted)
    return (
        "exp(−104) ≈ 7e−46 is below the smallest positive float32, and the sum is dominated by "
        "the largest weight, so factor it out (log-sum-exp): "
        f"L_K = m + log((1/K) Σ_k exp(log w_k − m)) with m = max_k log w_k = {top:g}.\n\n"
        f"Σ_k exp(log w_k − m) = {total:.6f}; L_K = {top:g} + log({total:.6f} / {p['k']}) = "
        f"{_iwae_answer(p):.6f}. For comparison the single-sample average (the ELBO estimate) "
        f"is mean_k log w_k = {sum(p['log_w']) / p['k']:.4f}, lower, as L_1 ≤ L_K promises."
    )


OLYMPIAD_IWAE = NumericDrill(
    id="olympiad_iwae",
    chapter=CHAPTER,
    title="The IWAE bound from importance weights",
    answer_name="answer_olympiad_iwae",
    max_score=POINTS,
    prompt=(
        "Given K log importance weights for one image, compute the importance-weighted bound "
        "L_K (`q = drills.question('olympiad_iwae')`)."
    ),
    hints=(
        "L_K = log of the *average* of the weights w_k = exp(log w_k), not the average of the "
        "logs.",
        "exp(−100) is tiny: subtract the largest log weight m first, "
        "L_K = m + log(mean_k exp(log w_k − m)).",
    ),
    solution=(
        "L_K = log((1/K) Σ_k w_k) = logsumexp(log w) − log K, computed with the max trick. "
        "The average of log w_k is the ELBO estimate L_1, which is lower."
    ),
    answer=_iwae_answer,
    make_params=_iwae_params,
    describe=_describe_iwae,
    tolerance=TOLERANCE,
    normal_form=NATS_4,
    mistakes=(
        NumericMistake(
            "mean_of_logs",
            lambda p: sum(p["log_w"]) / p["k"],
            "That is the average of the log weights, the ELBO estimate L_1. L_K takes the log "
            "of the average weight.",
        ),
        NumericMistake(
            "missing_log_k",
            lambda p: _iwae_answer(p) + math.log(p["k"]),
            "You took the log of the sum: divide by K (subtract log K) to average.",
        ),
        NumericMistake(
            "max_only",
            lambda p: max(p["log_w"]),
            "That is the largest log weight alone: the other weights still add to the average.",
        ),
    ),
    worked=_worked_iwae,
)


# ========================================================================= pools and topics

NUMERIC_ITEMS = (
    OLYMPIAD_KL,
    OLYMPIAD_IMPLICIT_BETA,
    OLYMPIAD_REPARAM_GRADIENT,
    OLYMPIAD_IWAE,
    *ch09_numeric.NUMERIC_POOL,
    *ch09_numeric_more.NUMERIC_POOL,
)
CHOICE_ITEMS = (*BASE_CHOICE_ITEMS, *ch09_choice_more.MORE_CHOICE_ITEMS)
DERIVATION_ITEMS = (*BASE_DERIVATION_ITEMS, *ch09_derivations_more.DERIVATION_POOL)
CODE_ITEMS = (*ch09_code.CODE_POOL, *ch09_code_more.CODE_POOL)
ITEMS: tuple[Drill, ...] = (*NUMERIC_ITEMS, *DERIVATION_ITEMS, *CHOICE_ITEMS, *CODE_ITEMS)

POOLS: dict[str, tuple[str, ...]] = {
    "choice": tuple(d.id for d in CHOICE_ITEMS),
    "numeric": tuple(d.id for d in NUMERIC_ITEMS),
    "derivation": tuple(d.id for d in DERIVATION_ITEMS),
    "code": tuple(d.id for d in CODE_ITEMS),
}

TOPICS: dict[str, str] = {
    "olympiad_kl": "KL divergence",
    "olympiad_derive_kl": "KL divergence",
    "olympiad_implicit_beta": "reductions and β",
    "olympiad_mc_beta": "reductions and β",
    "olympiad_reparam_gradient": "reparameterisation",
    "olympiad_derive_reparam": "reparameterisation",
    "olympiad_mc_reparam": "reparameterisation",
    "olympiad_iwae": "ELBO and IWAE",
    "olympiad_mc_iwae": "ELBO and IWAE",
    "olympiad_derive_elbo": "ELBO and IWAE",
    "olympiad_mc_elbo_gap": "ELBO and IWAE",
    "olympiad_mc_collapse": "posterior collapse",
    "olympiad_mc_blur": "applications",
    "olympiad_mc_anomaly": "applications",
    **ch09_numeric.TOPICS,
    **ch09_numeric_more.TOPICS,
    **ch09_derivations_more.TOPICS,
    **ch09_choice_more.TOPICS,
    **ch09_code.TOPICS,
    **ch09_code_more.TOPICS,
}


def format_of(drill: Drill) -> str:
    """ "choice", "numeric", "derivation" or "code" for an olympiad item (else its kind)."""
    for name, ids in POOLS.items():
        if drill.id in ids:
            return name
    return str(drill.kind)


DRILLS = ITEMS
