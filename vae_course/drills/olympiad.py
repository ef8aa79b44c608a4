"""Olympiad practice items (chapter 09), registered into the drills registry on import.

Three formats, each worth 5 points, as in USAAIO round 2:

* **choice** (:class:`~vae_course.drills.choice.ChoiceDrill`): 5 options, exactly one right,
  all or nothing;
* **numeric** (:class:`OlympiadNumericDrill`): fresh seeded numbers every time (KL of a
  Gaussian, the hidden β of a reduction, a reparameterised derivative, the IWAE bound),
  asked in a normal form ("nats, rounded to 4 decimals") so the answer is unique;
* **derivation** (:class:`DerivationDrill`): the answer is a dict of the derivation's
  intermediate values; each step earns its own points (partial credit). A worked solution
  with the learner's numbers and the step rubric come *after* an attempt:
  :func:`review`.

``TOPICS`` maps each item to its syllabus topic (the exam's per-topic breakdown) and
``POOLS`` lists the items of each format. Only the standard library is imported here.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from vae_course import config

from . import display
from .answers import parse_number
from .choice import ChoiceDrill, Option
from .core import NOT_ATTEMPTED, Drill, NotAttempted, Result, get_drill, register
from .numeric import NumericDrill, NumericMistake, close_enough
from .question import Question, check_seed

CHAPTER = "09"
POINTS = 5.0
TOLERANCE = 1e-4  # absolute below 1, relative above: 4-decimal answers pass, 3-decimal fail
NATS_4 = "in nats, rounded to 4 decimals, e.g. 1.2345"


def _log_mean_exp(values: list[float]) -> float:
    """log((1/K) Σ_k exp(v_k)), computed stably by factoring out the largest value."""
    top = max(values)
    return top + math.log(sum(math.exp(v - top) for v in values) / len(values))


def _fmt(value: float) -> str:
    return f"{value:.4f}"


# ============================================================================ numeric items


@dataclass(eq=False, kw_only=True)
class OlympiadNumericDrill(NumericDrill):
    """A seeded numeric item whose worked solution uses the question's own numbers.

    ``worked(params) -> str`` writes the solution for one set of parameters; it is shown by
    :func:`review` after an attempt and by an exam once it is over.
    """

    worked: Callable[[dict[str, Any]], str]

    def worked_solution(self, seed: int) -> str:
        """The worked solution for the question with ``seed`` (includes the answer)."""
        params = self.params_for(seed)
        value = float(self.answer(params))
        return f"{self.worked(params)}\n\nAnswer ({self.normal_form}): {_fmt(value)}"


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


OLYMPIAD_KL = OlympiadNumericDrill(
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


OLYMPIAD_IMPLICIT_BETA = OlympiadNumericDrill(
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


OLYMPIAD_REPARAM_GRADIENT = OlympiadNumericDrill(
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


OLYMPIAD_IWAE = OlympiadNumericDrill(
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


# ============================================================================ derivations


@dataclass(frozen=True)
class Step:
    """One step of a derivation: the answer key, what to compute, its value and points."""

    key: str
    description: str
    value: Callable[[dict[str, Any]], float]
    points: float
    rubric: str


@dataclass(eq=False, kw_only=True)
class DerivationDrill(Drill):
    """A derivation graded step by step: the answer is ``{step key: number}``.

    Each step's number is compared with the truth (``tolerance`` as for numeric drills) and
    earns that step's points: partial credit. ``max_score`` is the sum of the steps'
    points. The worked solution for the learner's numbers and the rubric come from
    :func:`review`, after an attempt.
    """

    kind: ClassVar[str] = "derivation"
    seeded: ClassVar[bool] = True

    steps: tuple[Step, ...]
    make_params: Callable[[random.Random], dict[str, Any]]
    describe: Callable[[dict[str, Any]], str]
    worked: Callable[[dict[str, Any]], str]
    tolerance: float = TOLERANCE
    normal_form: str = NATS_4

    def __post_init__(self) -> None:
        self.max_score = float(sum(step.points for step in self.steps))

    def params_for(self, seed: int | None) -> dict[str, Any]:
        """The parameters of the question with ``seed``."""
        return self.make_params(random.Random(seed if seed is not None else 0))

    def step_values(self, seed: int | None) -> dict[str, float]:
        """{step key: true value} for ``seed``."""
        params = self.params_for(seed)
        return {step.key: float(step.value(params)) for step in self.steps}

    def steps_text(self) -> str:
        """One line per step: key, points, what to compute."""
        return "\n".join(f"- `{s.key}` ({s.points:g} pt): {s.description}" for s in self.steps)

    def question(self, seed: int) -> Question:
        params = self.params_for(seed)
        text = (
            f"{self.describe(params)}\n\nAnswer with a dict of the steps' values "
            f"({self.normal_form}), bound to `{self.answer_name}`:\n{self.steps_text()}"
        )
        return Question(self.id, seed, params, text)

    def full_prompt(self) -> str:
        return (
            f"{self.prompt}\n\nAnswer: a dict with one number per step ({self.normal_form}); "
            f"each step earns its points when its number is right:\n{self.steps_text()}\n\n"
            f"Your numbers: `q = drills.question({self.id!r})`."
        )

    def _check(self, answer: Any, seed: int | None) -> Result:
        if not isinstance(answer, dict):
            keys = ", ".join(repr(s.key) for s in self.steps)
            return self.result(
                "failed", 0, [f"Answer with a dict with the keys {keys} (one number each)."]
            )
        truth = self.step_values(seed)
        score, feedback, attempted = 0.0, [], False
        for step in self.steps:
            given = answer.get(step.key, Ellipsis)
            if given is Ellipsis:
                feedback.append(f"`{step.key}`: not answered (0/{step.points:g}).")
                continue
            try:
                value, problem = parse_number(given, f"`{step.key}`")
            except NotAttempted:
                feedback.append(f"`{step.key}`: not answered (0/{step.points:g}).")
                continue
            attempted = True
            if problem:
                feedback.append(f"{problem} (0/{step.points:g})")
            elif close_enough(value, truth[step.key], self.tolerance):
                score += step.points
                feedback.append(f"`{step.key}`: right ({step.points:g}/{step.points:g}).")
            else:
                feedback.append(
                    f"`{step.key}`: not right (0/{step.points:g}). Re-derive: {step.description}"
                )
        if not attempted:
            return self.result(NOT_ATTEMPTED, 0, [*feedback, "No step answered yet."])
        feedback.append(
            f"After your attempt, `olympiad.review({self.id!r}, answer)` shows the rubric."
        )
        return self.graded(score, feedback)

    def worked_solution(self, seed: int) -> str:
        """The worked solution for ``seed``, with every step's value."""
        params = self.params_for(seed)
        values = self.step_values(seed)
        answers = ", ".join(f"{k} = {_fmt(v)}" for k, v in values.items())
        return f"{self.worked(params)}\n\nStep values ({self.normal_form}): {answers}"

    def rubric_rows(self, answer: Any, seed: int) -> list[list[object]]:
        """Rows (step, points earned / max, rubric) for ``answer``."""
        truth = self.step_values(seed)
        rows: list[list[object]] = []
        for step in self.steps:
            given = answer.get(step.key, Ellipsis) if isinstance(answer, dict) else Ellipsis
            earned = 0.0
            try:
                value, problem = parse_number(given)
            except NotAttempted:
                value, problem = None, "not answered"
            if (
                value is not None
                and not problem
                and close_enough(value, truth[step.key], self.tolerance)
            ):
                earned = step.points
            rows.append([step.key, f"{earned:g} / {step.points:g}", step.rubric])
        return rows


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


OLYMPIAD_DERIVE_ELBO = DerivationDrill(
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


OLYMPIAD_DERIVE_KL = DerivationDrill(
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


OLYMPIAD_DERIVE_REPARAM = DerivationDrill(
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


# ========================================================================= choice items


def _choice(
    drill_id: str,
    title: str,
    prompt: str,
    options: tuple[Option, ...],
    solution: str,
    hint: str,
) -> ChoiceDrill:
    if len(options) != 5 or sum(o.correct for o in options) != 1:
        raise ValueError(f"{drill_id}: an olympiad choice item has 5 options, one of them right")
    return ChoiceDrill(
        id=drill_id,
        chapter=CHAPTER,
        title=title,
        answer_name=f"answer_{drill_id}",
        prompt=prompt,
        hints=("Eliminate the options you can disprove with one line of math.", hint),
        solution=solution,
        max_score=POINTS,
        options=options,
    )


CHOICE_ITEMS = (
    _choice(
        "olympiad_mc_elbo_gap",
        "What the ELBO misses",
        "For any encoder q(z|x), the difference log p(x) − ELBO(x) equals:",
        (
            Option("KL(q(z|x) ‖ p(z))", False, "that KL is a term *inside* the ELBO, not the gap."),
            Option(
                "KL(q(z|x) ‖ p(z|x))",
                True,
                "log p(x) = ELBO + KL(q(z|x) ‖ p(z|x)); the gap closes when q is the exact "
                "posterior.",
            ),
            Option(
                "KL(p(z|x) ‖ q(z|x))", False, "the direction is reversed: the gap is KL(q ‖ p)."
            ),
            Option(
                "zero whenever q(z|x) is Gaussian",
                False,
                "only when q equals the true posterior, which is rarely Gaussian.",
            ),
            Option("E_q[log p(x|z)]", False, "that is the reconstruction term of the ELBO."),
        ),
        "Write log p(x) = E_q[log p(x, z)/q(z|x)] + E_q[log q(z|x)/p(z|x)]: the first term is "
        "the ELBO, the second KL(q(z|x) ‖ p(z|x)) ≥ 0.",
        "Write log p(x, z) = log p(z|x) + log p(x) inside E_q[log p(x, z)/q(z|x)].",
    ),
    _choice(
        "olympiad_mc_collapse",
        "Reading a training log",
        "A VAE with 32 latent dimensions trains for 20 epochs. The KL of every dimension stays "
        "below 0.01 nats, the reconstruction error plateaus early, and prior samples all look "
        "alike. The most likely diagnosis is:",
        (
            Option(
                "the learning rate is too small",
                False,
                "a small rate slows everything but does not drive every KL to 0 while the "
                "decoder keeps learning.",
            ),
            Option(
                "the encoder overfits the training set",
                False,
                "an overfitting encoder carries *more* information (higher KL), not none.",
            ),
            Option(
                "the reparameterisation trick biases the gradients",
                False,
                "the pathwise estimator is unbiased.",
            ),
            Option(
                "posterior collapse: q(z|x) ≈ p(z) and the decoder ignores z",
                True,
                "KL ≈ 0 in every dimension means the codes carry no information about x.",
            ),
            Option(
                "32 latent dimensions are too few for MNIST",
                False,
                "too few dimensions would show high KL in the dimensions that exist.",
            ),
        ),
        "Every dimension's KL ≈ 0 means q(z|x) equals the prior for all x (posterior collapse); "
        "fixes: KL annealing, free bits, a weaker decoder, a lower β.",
        "What does a KL of 0 between q(z|x) and p(z) say about how much z depends on x?",
    ),
    _choice(
        "olympiad_mc_beta",
        "Turning β up",
        "An MLP VAE on MNIST is retrained with β = 8 instead of β = 1 (loss = reconstruction + "
        "β·KL). Compared with β = 1, we expect:",
        (
            Option(
                "a lower KL, a higher reconstruction error and blurrier reconstructions",
                True,
                "a heavier KL price buys less information through z.",
            ),
            Option(
                "a higher KL and sharper reconstructions",
                False,
                "β penalises the KL more, so the KL goes down.",
            ),
            Option(
                "a better (higher) test ELBO",
                False,
                "the ELBO is the β = 1 objective; optimising another one rarely improves it.",
            ),
            Option(
                "no change, because β only rescales the loss",
                False,
                "β rescales one term only, which moves the optimum.",
            ),
            Option(
                "more active latent units",
                False,
                "a larger β switches units off (their KL is too expensive).",
            ),
        ),
        "β > 1 trades reconstruction for a smaller KL: less information, blurrier outputs, "
        "fewer active units, sometimes more disentangled codes.",
        "β multiplies the price of every nat of information the code carries.",
    ),
    _choice(
        "olympiad_mc_iwae",
        "Importance-weighted bounds",
        "L_k = E[log (1/k) Σ_i p(x, z_i)/q(z_i|x)] with z_i ~ q(z|x) i.i.d. Which statement is "
        "true?",
        (
            Option("L_k decreases as k grows", False, "it increases (in expectation) with k."),
            Option(
                "L_k > log p(x) once k is large",
                False,
                "by Jensen, every L_k is a lower bound on log p(x).",
            ),
            Option(
                "a single-sample estimate of L_k is unbiased for log p(x)",
                False,
                "its expectation is L_k < log p(x): biased low for every finite k.",
            ),
            Option(
                "L_k requires a different encoder than the ELBO",
                False,
                "it uses the same q(z|x), only more samples.",
            ),
            Option(
                "ELBO = L_1 ≤ L_k ≤ L_{k+1} ≤ log p(x)",
                True,
                "Burda et al.: the bounds tighten monotonically and converge to log p(x).",
            ),
        ),
        "Jensen on the average of k weights gives L_k ≤ log p(x); averaging more weights "
        "tightens it: L_1 ≤ L_k ≤ L_{k+1}.",
        "Jensen's inequality applies to the average of k weights just as to one weight.",
    ),
    _choice(
        "olympiad_mc_reparam",
        "The reparameterisation trick",
        "Which statement about z = μ + σ ⊙ ε, ε ~ N(0, I), is correct?",
        (
            Option(
                "its gradient estimate has low variance but is biased",
                False,
                "it is unbiased: E_ε[∇f(μ + σε)] = ∇E[f(z)].",
            ),
            Option("∂z/∂σ = 1", False, "∂z/∂σ = ε; it is ∂z/∂μ that equals 1."),
            Option(
                "for a differentiable f it gives an unbiased estimate of ∇_{μ,σ} E[f(z)]",
                True,
                "the expectation moves to ε, which does not depend on μ, σ.",
            ),
            Option(
                "it applies unchanged to discrete (categorical) latents",
                False,
                "a discrete sample is not a differentiable function of its parameters "
                "(Gumbel-softmax relaxes it).",
            ),
            Option(
                "it needs `torch.distributions.Normal(mu, sigma).sample()`",
                False,
                "`.sample()` detaches; `rsample()` or μ + σ·randn_like is the trick.",
            ),
        ),
        "Drawing ε outside the network makes z a differentiable function of μ and σ with "
        "∂z/∂μ = 1, ∂z/∂σ = ε; the estimate is unbiased.",
        "Once ε is drawn, z = μ + σε is an ordinary function of μ and σ.",
    ),
    _choice(
        "olympiad_mc_blur",
        "Why VAE samples are blurry",
        "VAE samples with a factorised (per-pixel) Bernoulli or Gaussian likelihood are blurry "
        "mainly because:",
        (
            Option(
                "the KL term adds Gaussian noise to the decoded images",
                False,
                "the noise is in z; the decoder output is a deterministic function of z.",
            ),
            Option(
                "VAEs are sharper than GANs; blur is a myth",
                False,
                "GAN samples are sharper; VAEs trade sharpness for likelihood and coverage.",
            ),
            Option(
                "the decoder has too many parameters",
                False,
                "bigger decoders blur less (or collapse), they do not cause blur.",
            ),
            Option(
                "sigmoid outputs cannot reach exactly 0 or 1",
                False,
                "values of 0.999 look black and white; blur is spatial averaging.",
            ),
            Option(
                "a per-pixel likelihood is maximised by the average of the plausible images, "
                "so uncertain details are averaged out",
                True,
                "when z does not pin down an edge's position, the best per-pixel prediction "
                "is the mean of the possibilities: a blur.",
            ),
        ),
        "Pixel-wise likelihoods reward the conditional mean, and the mean of several sharp "
        "images is blurry. Mitigations: lower β, perceptual or adversarial losses, VQ-VAE, "
        "diffusion decoders.",
        "Which single prediction minimises the expected per-pixel loss when two images are "
        "equally likely?",
    ),
    _choice(
        "olympiad_mc_anomaly",
        "When reconstruction error fails as an anomaly score",
        "A VAE trained only on handwritten digits 0–4 scores inputs by reconstruction error "
        "(high = anomalous). Which input is it most likely to *miss* (score as normal)?",
        (
            Option(
                "a blank (all-black) image",
                True,
                "a blank image is simpler than any digit; almost every pixel is the easy "
                "background, so the error is tiny.",
            ),
            Option("an image of uniform random noise", False, "noise reconstructs terribly."),
            Option(
                "a digit 0 with a third of the image occluded by a white block",
                False,
                "a bright block is far from anything seen in training.",
            ),
            Option(
                "a colour-inverted digit (white background)",
                False,
                "hundreds of bright background pixels reconstruct very badly.",
            ),
            Option(
                "a digit 1 drawn with salt-and-pepper noise",
                False,
                "the noise pixels are not reconstructed and add error.",
            ),
        ),
        "Reconstruction error measures how hard an image is to reproduce, not how unusual it "
        "is: simple out-of-distribution images (blank pages) get low scores.",
        "Reconstruction error is low for images that are easy to reproduce, whatever they show.",
    ),
)


# ========================================================================= registry

NUMERIC_ITEMS = (OLYMPIAD_KL, OLYMPIAD_IMPLICIT_BETA, OLYMPIAD_REPARAM_GRADIENT, OLYMPIAD_IWAE)
DERIVATION_ITEMS = (OLYMPIAD_DERIVE_ELBO, OLYMPIAD_DERIVE_KL, OLYMPIAD_DERIVE_REPARAM)
ITEMS: tuple[Drill, ...] = (*NUMERIC_ITEMS, *DERIVATION_ITEMS, *CHOICE_ITEMS)

POOLS: dict[str, tuple[str, ...]] = {
    "choice": tuple(d.id for d in CHOICE_ITEMS),
    "numeric": tuple(d.id for d in NUMERIC_ITEMS),
    "derivation": tuple(d.id for d in DERIVATION_ITEMS),
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
}

for _item in ITEMS:
    register(_item, replace=True)


def format_of(drill: Drill) -> str:
    """ "choice", "numeric" or "derivation" for an olympiad item."""
    for name, ids in POOLS.items():
        if drill.id in ids:
            return name
    return str(drill.kind)


def worked_solution(drill_id: str, seed: int | None = None) -> str:
    """The worked solution of an item (with the numbers of ``seed`` for seeded items)."""
    drill = get_drill(drill_id)
    maker = getattr(drill, "worked_solution", None)
    if maker is not None and seed is not None:
        return maker(check_seed(seed))
    if isinstance(drill, ChoiceDrill):
        right = [
            f"({chr(97 + i)}) {o.text}: {o.explanation}"
            for i, o in enumerate(drill.options)
            if o.correct
        ]
        return f"{drill.solution}\n\nRight option: {'; '.join(right)}"
    return drill.solution


def review(drill_id: str | Question, answer: Any, seed: int | None = None) -> display.Message:
    """After an attempt: your score per step (the rubric) and the worked solution.

    ``drill_id`` is an olympiad item id or the :class:`Question` you answered (its seed is
    used). Refused during an exam (``VAE_COURSE_MODE=exam``) and before an attempt (an
    ``answer`` that is ``...`` or has no step answered). Never raises for a bad answer.
    """
    if isinstance(drill_id, Question):
        seed = drill_id.seed if seed is None else seed
        drill_id = drill_id.drill_id
    drill = get_drill(drill_id)
    if config.exam_mode():
        return display.Message(
            "refused",
            f"Review of {drill_id} withheld: exam in progress",
            "Rubrics and worked solutions come back when the exam is over.",
        )
    if drill.seeded and seed is None:
        from .api import current_seeds

        seed = current_seeds().get(drill_id)
        if seed is None:
            return display.Message(
                "refused",
                f"Which question of {drill_id}?",
                f"Pass the question: `olympiad.review(q, answer)` with "
                f"`q = drills.question({drill_id!r}, seed=...)`.",
            )
    result = drill.check(answer, seed=seed)
    if result.status == NOT_ATTEMPTED:
        return display.Message(
            "refused",
            f"Attempt {drill_id} first",
            "The rubric and worked solution are shown after an attempt: answer, check, then "
            "review.",
        )
    bullets = [f"Your score: {result.score:g} / {result.max_score:g}."]
    if isinstance(drill, DerivationDrill):
        bullets += [
            f"{key}: {earned} — {rubric}" for key, earned, rubric in drill.rubric_rows(answer, seed)
        ]
    text = worked_solution(drill_id, seed)
    return display.Message("info", f"Review: {drill_id} ({drill.title})", text, bullets)


def answer_key(drill_id: str, seed: int) -> float | dict[str, float] | str:
    """The expected answer of an item for ``seed`` (for teachers, tests and answer keys)."""
    drill = get_drill(drill_id)
    if isinstance(drill, DerivationDrill):
        return drill.step_values(seed)
    if isinstance(drill, NumericDrill):
        return float(drill.answer(drill.params_for(seed)))
    if isinstance(drill, ChoiceDrill):
        return "".join(chr(97 + i) for i, o in enumerate(drill.options) if o.correct)
    raise ValueError(f"{drill_id!r} is not an olympiad item")


__all__ = [
    "CHOICE_ITEMS",
    "DERIVATION_ITEMS",
    "ITEMS",
    "NUMERIC_ITEMS",
    "POOLS",
    "TOPICS",
    "DerivationDrill",
    "OlympiadNumericDrill",
    "Step",
    "format_of",
    "answer_key",
    "review",
    "worked_solution",
]
