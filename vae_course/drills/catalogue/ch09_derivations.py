"""Chapter 09, olympiad practice: derivations graded step by step (5 points each).

The answer is a dict of the derivation's intermediate values; each step earns its own
points (partial credit). A worked solution with the learner's numbers and the step rubric
come *after* an attempt (:func:`vae_course.drills.review.review`).
"""

from __future__ import annotations

import math
import random
from typing import Any

from ..derivation import Step, derivation
from .ch09_choice import CHAPTER

# ---------------------------------------------------------------- olympiad_derive_elbo

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def _elbo_params(rng: random.Random) -> dict[str, Any]:
    return {
        "x": rng.choice((-2.0, -1.5, -1.0, -0.5, 0.5, 1.0, 1.5, 2.0, 2.5)),
        "m": rng.choice((-1.0, -0.5, 0.0, 0.25, 0.5, 1.0)),
        "s": rng.choice((0.3, 0.5, 0.7, 1.0, 1.2)),
    }


def _elbo_expected_ll(p: dict[str, Any]) -> float:
    return -_HALF_LOG_2PI - 0.5 * ((p["x"] - p["m"]) ** 2 + p["s"] ** 2)


def _elbo_kl(p: dict[str, Any]) -> float:
    s2 = p["s"] ** 2
    return 0.5 * (p["m"] ** 2 + s2 - math.log(s2) - 1)


def _elbo_value(p: dict[str, Any]) -> float:
    return _elbo_expected_ll(p) - _elbo_kl(p)


def _elbo_log_evidence(p: dict[str, Any]) -> float:
    return -0.5 * math.log(2 * math.pi * 2.0) - p["x"] ** 2 / 4.0


def _elbo_gap(p: dict[str, Any]) -> float:
    return _elbo_log_evidence(p) - _elbo_value(p)


def _describe_elbo(p: dict[str, Any]) -> str:
    return (
        "A one-dimensional latent-variable model: prior p(z) = N(0, 1), likelihood "
        "p(x|z) = N(x; z, 1). For the observation "
        f"x = {p['x']:g} take the approximate posterior q(z|x) = N(m, s²) with m = {p['m']:g}, "
        f"s = {p['s']:g}. Derive log p(x) ≥ ELBO with Jensen's inequality, compute the ELBO's "
        "two terms, the ELBO, the exact log evidence log p(x) (here p(x) = N(x; 0, 2)), and "
        "the gap log p(x) − ELBO."
    )


def _worked_elbo(p: dict[str, Any]) -> str:
    x, m, s = p["x"], p["m"], p["s"]
    return (
        "1. Jensen: log p(x) = log E_q[p(x, z)/q(z|x)] ≥ E_q[log p(x, z) − log q(z|x)] = ELBO, "
        "because log is concave. Splitting log p(x, z) = log p(x|z) + log p(z) gives "
        "ELBO = E_q[log p(x|z)] − KL(q(z|x) ‖ p(z)).\n\n"
        "2. log p(x|z) = −½ log 2π − ½(x − z)², and E_q[(x − z)²] = (x − m)² + s², so "
        f"E_q[log p(x|z)] = −½ log 2π − ½(({x:g} − {m:g})² + {s:g}²) = "
        f"{_elbo_expected_ll(p):.6f}.\n\n"
        f"3. KL(N(m, s²) ‖ N(0, 1)) = ½(m² + s² − log s² − 1) = {_elbo_kl(p):.6f}.\n\n"
        f"4. ELBO = {_elbo_expected_ll(p):.6f} − {_elbo_kl(p):.6f} = {_elbo_value(p):.6f}.\n\n"
        "5. x = z + noise with z and the noise independent N(0, 1), so p(x) = N(x; 0, 2) and "
        f"log p(x) = −½ log(4π) − x²/4 = {_elbo_log_evidence(p):.6f}.\n\n"
        f"6. Gap = {_elbo_gap(p):.6f} ≥ 0. It equals KL(q(z|x) ‖ p(z|x)) with the exact "
        f"posterior p(z|x) = N(x/2, 1/2) = N({x / 2:g}, 0.5): it vanishes only when "
        "m = x/2 and s² = 1/2."
    )


OLYMPIAD_DERIVE_ELBO = derivation(
    id="olympiad_derive_elbo",
    chapter=CHAPTER,
    title="Derivation: the ELBO and its gap in a linear-Gaussian model",
    answer_name="answer_olympiad_derive_elbo",
    prompt=(
        "Derive the ELBO with Jensen's inequality for a one-dimensional linear-Gaussian model "
        "and evaluate every term for your numbers "
        "(`q = drills.question('olympiad_derive_elbo')`)."
    ),
    hints=(
        "log p(x) = log E_q[p(x, z) / q(z|x)]; log is concave, so log E ≥ E log.",
        "E_q[(x − z)²] = (x − m)² + s² for z ~ N(m, s²).",
        "z ~ N(0, 1) plus independent N(0, 1) noise: x ~ N(0, 2).",
    ),
    solution=(
        "Jensen gives log p(x) ≥ E_q[log p(x|z)] − KL(q ‖ p(z)). With p(x|z) = N(z, 1): "
        "E_q[log p(x|z)] = −½ log 2π − ½((x − m)² + s²); KL = ½(m² + s² − log s² − 1); "
        "log p(x) = −½ log 4π − x²/4; the gap is KL(q(z|x) ‖ p(z|x)) with p(z|x) = N(x/2, ½)."
    ),
    steps=(
        Step(
            "expected_log_likelihood",
            "E_q[log p(x|z)] in nats",
            _elbo_expected_ll,
            1.0,
            "E_q[(x − z)²] = (x − m)² + s² and the −½ log 2π constant (1 pt).",
        ),
        Step(
            "kl",
            "KL(q(z|x) ‖ p(z)) in nats",
            _elbo_kl,
            1.0,
            "closed-form Gaussian KL ½(m² + s² − log s² − 1) (1 pt).",
        ),
        Step(
            "elbo",
            "the ELBO = E_q[log p(x|z)] − KL",
            _elbo_value,
            1.0,
            "Jensen's bound split into reconstruction minus KL (1 pt).",
        ),
        Step(
            "log_evidence",
            "log p(x) for the exact marginal p(x) = N(x; 0, 2)",
            _elbo_log_evidence,
            1.0,
            "marginal of a sum of independent Gaussians, variance 1 + 1 = 2 (1 pt).",
        ),
        Step(
            "gap",
            "log p(x) − ELBO (≥ 0)",
            _elbo_gap,
            1.0,
            "the gap is KL(q(z|x) ‖ p(z|x)) ≥ 0 (1 pt).",
        ),
    ),
    make_params=_elbo_params,
    describe=_describe_elbo,
    worked=_worked_elbo,
)


# ------------------------------------------------------------------ olympiad_derive_kl


def _kl2_params(rng: random.Random) -> dict[str, Any]:
    return {
        "mu1": rng.choice((-1.0, -0.5, 0.0, 0.5, 1.0, 1.5)),
        "sigma1": rng.choice((0.5, 0.8, 1.0, 1.5)),
        "mu2": rng.choice((-1.0, 0.0, 0.5, 1.0)),
        "sigma2": rng.choice((0.7, 1.0, 1.5, 2.0)),
    }


def _kl2_log_q(p: dict[str, Any]) -> float:
    return -0.5 * math.log(2 * math.pi * p["sigma1"] ** 2) - 0.5


def _kl2_log_p(p: dict[str, Any]) -> float:
    s1, s2 = p["sigma1"] ** 2, p["sigma2"] ** 2
    return -0.5 * math.log(2 * math.pi * s2) - (s1 + (p["mu1"] - p["mu2"]) ** 2) / (2 * s2)


def _kl2_value(p: dict[str, Any]) -> float:
    return _kl2_log_q(p) - _kl2_log_p(p)


def _describe_kl2(p: dict[str, Any]) -> str:
    return (
        f"Let q = N(μ₁, σ₁²) with μ₁ = {p['mu1']:g}, σ₁ = {p['sigma1']:g}, and p = N(μ₂, σ₂²) "
        f"with μ₂ = {p['mu2']:g}, σ₂ = {p['sigma2']:g}. Derive KL(q ‖ p) = E_q[log q(z)] − "
        "E_q[log p(z)] in closed form, evaluating each expectation."
    )


def _worked_kl2(p: dict[str, Any]) -> str:
    return (
        "log N(z; μ, σ²) = −½ log(2πσ²) − (z − μ)²/(2σ²). Under q, E[(z − μ₁)²] = σ₁² and "
        "E[(z − μ₂)²] = σ₁² + (μ₁ − μ₂)².\n\n"
        f"1. E_q[log q] = −½ log(2πσ₁²) − ½ = {_kl2_log_q(p):.6f} (minus the entropy of q).\n\n"
        "2. E_q[log p] = −½ log(2πσ₂²) − (σ₁² + (μ₁ − μ₂)²)/(2σ₂²) = "
        f"{_kl2_log_p(p):.6f}.\n\n"
        "3. KL = (1) − (2) = log(σ₂/σ₁) + (σ₁² + (μ₁ − μ₂)²)/(2σ₂²) − ½ = "
        f"{_kl2_value(p):.6f}. With μ₂ = 0 and σ₂ = 1 this is the VAE's "
        "½(μ² + σ² − log σ² − 1)."
    )


OLYMPIAD_DERIVE_KL = derivation(
    id="olympiad_derive_kl",
    chapter=CHAPTER,
    title="Derivation: KL between two univariate Gaussians",
    answer_name="answer_olympiad_derive_kl",
    prompt=(
        "Derive the closed-form KL between two univariate Gaussians and evaluate each step for "
        "your numbers (`q = drills.question('olympiad_derive_kl')`)."
    ),
    hints=(
        "Write log N(z; μ, σ²) = −½ log(2πσ²) − (z − μ)²/(2σ²) and take expectations under q.",
        "E_q[(z − μ₂)²] = Var_q(z) + (E_q z − μ₂)² = σ₁² + (μ₁ − μ₂)².",
    ),
    solution=("KL(q ‖ p) = E_q[log q] − E_q[log p] = log(σ₂/σ₁) + (σ₁² + (μ₁ − μ₂)²)/(2σ₂²) − ½."),
    steps=(
        Step(
            "expected_log_q",
            "E_q[log q(z)] in nats",
            _kl2_log_q,
            1.5,
            "E_q[(z − μ₁)²] = σ₁² gives −½ log(2πσ₁²) − ½ (1.5 pt).",
        ),
        Step(
            "expected_log_p",
            "E_q[log p(z)] in nats",
            _kl2_log_p,
            2.0,
            "E_q[(z − μ₂)²] = σ₁² + (μ₁ − μ₂)², divided by 2σ₂² (2 pt).",
        ),
        Step(
            "kl",
            "KL(q ‖ p) in nats",
            _kl2_value,
            1.5,
            "the difference, simplified to log(σ₂/σ₁) + (σ₁² + Δμ²)/(2σ₂²) − ½ (1.5 pt).",
        ),
    ),
    make_params=_kl2_params,
    describe=_describe_kl2,
    worked=_worked_kl2,
)


# ------------------------------------------------------------- olympiad_derive_reparam


def _rg_params(rng: random.Random) -> dict[str, Any]:
    eps = 0.0
    while abs(eps) < 0.1:
        eps = round(rng.uniform(-2.0, 2.0), 2)
    return {
        "mu": rng.choice((-1.0, -0.5, 0.5, 1.0, 1.5)),
        "sigma": rng.choice((0.5, 0.8, 1.0, 1.5)),
        "a": rng.choice((-1.0, 0.0, 1.0, 2.0)),
        "eps": eps,
    }


def _rg_objective(p: dict[str, Any]) -> float:
    return (p["mu"] - p["a"]) ** 2 + p["sigma"] ** 2


def _rg_sample(p: dict[str, Any]) -> float:
    return p["mu"] + p["sigma"] * p["eps"]


def _describe_rg(p: dict[str, Any]) -> str:
    return (
        f"z ~ N(μ, σ²) with μ = {p['mu']:g}, σ = {p['sigma']:g}, and f(z) = (z − a)² with "
        f"a = {p['a']:g}. Compute the objective E[f(z)], its exact gradients with respect to μ "
        "and σ, and the single-sample reparameterised estimates of those gradients at the "
        f"draw ε = {p['eps']:g} (z = μ + σε)."
    )


def _worked_rg(p: dict[str, Any]) -> str:
    z = _rg_sample(p)
    return (
        "1. E[(z − a)²] = Var z + (E z − a)² = σ² + (μ − a)² = "
        f"{_rg_objective(p):.6f}.\n\n"
        f"2. Exact gradients: ∂/∂μ = 2(μ − a) = {2 * (p['mu'] - p['a']):.6f}; ∂/∂σ = 2σ = "
        f"{2 * p['sigma']:.6f}.\n\n"
        f"3. Reparameterise z = μ + σε (here z = {z:.6f}). Then ∇E[f(z)] = E_ε[f'(z) ∂z/∂θ] "
        "with f'(z) = 2(z − a), ∂z/∂μ = 1, ∂z/∂σ = ε. One draw gives "
        f"2(z − a) = {2 * (z - p['a']):.6f} for μ and 2(z − a)ε = "
        f"{2 * (z - p['a']) * p['eps']:.6f} for σ.\n\n"
        "4. Unbiased: E_ε[2(μ + σε − a)] = 2(μ − a) and E_ε[2(μ + σε − a)ε] = 2σ (E ε = 0, "
        "E ε² = 1), the exact gradients of step 2."
    )


OLYMPIAD_DERIVE_REPARAM = derivation(
    id="olympiad_derive_reparam",
    chapter=CHAPTER,
    title="Derivation: the reparameterisation gradient is unbiased",
    answer_name="answer_olympiad_derive_reparam",
    prompt=(
        "Derive the pathwise (reparameterisation) gradient of E[(z − a)²] for z ~ N(μ, σ²), "
        "show it is unbiased, and evaluate the steps for your numbers "
        "(`q = drills.question('olympiad_derive_reparam')`)."
    ),
    hints=(
        "E[(z − a)²] = Var z + (E z − a)².",
        "With z = μ + σε: ∂z/∂μ = 1 and ∂z/∂σ = ε; the single-sample estimate is "
        "f'(z)·∂z/∂θ at the given ε.",
    ),
    solution=(
        "E[(z − a)²] = σ² + (μ − a)², so the gradients are 2(μ − a) and 2σ. The pathwise "
        "estimates 2(z − a) and 2(z − a)ε have exactly those expectations."
    ),
    steps=(
        Step(
            "objective", "E[f(z)]", _rg_objective, 1.0, "bias–variance split of E[(z − a)²] (1 pt)."
        ),
        Step(
            "grad_mu",
            "the exact ∂E[f]/∂μ",
            lambda p: 2 * (p["mu"] - p["a"]),
            1.0,
            "differentiate the closed form in μ (1 pt).",
        ),
        Step(
            "grad_sigma",
            "the exact ∂E[f]/∂σ",
            lambda p: 2 * p["sigma"],
            1.0,
            "differentiate the closed form in σ (1 pt).",
        ),
        Step(
            "sample_grad_mu",
            "the single-sample estimate of ∂E[f]/∂μ at the given ε",
            lambda p: 2 * (_rg_sample(p) - p["a"]),
            1.0,
            "f'(z)·∂z/∂μ with ∂z/∂μ = 1 (1 pt).",
        ),
        Step(
            "sample_grad_sigma",
            "the single-sample estimate of ∂E[f]/∂σ at the given ε",
            lambda p: 2 * (_rg_sample(p) - p["a"]) * p["eps"],
            1.0,
            "f'(z)·∂z/∂σ with ∂z/∂σ = ε (1 pt).",
        ),
    ),
    make_params=_rg_params,
    describe=_describe_rg,
    worked=_worked_rg,
    normal_form="as numbers rounded to 4 decimals",
)


DERIVATION_ITEMS = (OLYMPIAD_DERIVE_ELBO, OLYMPIAD_DERIVE_KL, OLYMPIAD_DERIVE_REPARAM)
