"""Problem 2 (chapter 11), USAAIO style: posterior collapse and β, 20 parts of 5 points.

Storyline: by hand (active units, free bits, a hidden β, the capacity objective), then plain
PyTorch (KL per dimension, active units, free bits, the β-VAE loss, three schedules, a β
training step), then training (a β sweep, warm-up, free bits), then analysis (the best
ELBO, the total correlation of a Gaussian, a diagnosis, a conclusion checked against the
learner's own numbers). The notebook is ``solutions/11_problem_collapse_and_beta``.
"""

from __future__ import annotations

import math

import torch

from ..function import FunctionDrill
from ..observation import Mistake, Probe
from ..outputs import NumberOut
from ..problem import Problem
from .ch05_schedules import CYCLICAL_BETA
from .ch06_collapse import ACTIVE_UNITS, FREE_BITS_KL
from .ch07_beta import BETA_VAE_LOSS
from .ch09_code import KL_PER_DIMENSION
from .ch09_code_more import CAPACITY_PENALTY, LINEAR_WARMUP
from .ch10_problem_models import BETA_STEP_MISTAKES, beta_step_probes, run_beta_step, step_problems
from .ch10_problem_vae import ALLOWED
from .problem_parts import (
    Claim,
    Field,
    Option,
    code_part,
    either,
    five_options,
    hand_number,
    measured,
    non_negative,
    positive,
    reader,
)

CHAPTER = "11"
FIXED_IMPORTS = (
    "import math",
    "import torch",
    "import torch.nn.functional as F",
    "from torch import nn",
    "from vae_course import drills",
    "from vae_course.data import load_dataset",
)
BETAS = ("beta_0.5", "beta_1", "beta_4")

# ----------------------------------------------------------------- A. by hand

_TABLE = (
    (1.2, 0.1, 0.05, -0.9),
    (-0.8, 0.1, -0.05, 1.1),
    (0.3, 0.1, 0.04, -1.5),
    (-1.1, 0.1, -0.04, 0.6),
)


def _variance(column: list[float]) -> float:
    mean = sum(column) / len(column)
    return sum((v - mean) ** 2 for v in column) / len(column)


_COLUMNS = [list(c) for c in zip(*_TABLE, strict=True)]

ACTIVE_COUNT = hand_number(
    "p2_active_count",
    CHAPTER,
    "Part 1: active units by hand",
    "Four images have the posterior means (rows: images, columns: the 4 latent dimensions) "
    f"{[list(r) for r in _TABLE]}. How many units are active, Var_x(μ_j) > 0.01?",
    float(sum(_variance(c) > 0.01 for c in _COLUMNS)),
    "Variances per column: "
    + ", ".join(f"{_variance(c):.4f}" for c in _COLUMNS)
    + "; two exceed 0.01.",
    ("One variance per column, over the rows.", "The criterion is the variance, not the std."),
    (
        (
            "std",
            float(sum(math.sqrt(_variance(c)) > 0.01 for c in _COLUMNS)),
            "You compared the std with 0.01.",
        ),
    ),
    answer_name="answer_p2_active_count",
)

_KLS, _LAMBDA = (0.02, 0.4, 1.3, 0.005), 0.25
FREE_BITS_VALUE = hand_number(
    "p2_free_bits_value",
    CHAPTER,
    "Part 2: the free-bits term",
    f"The batch-mean KLs of four dimensions are {list(_KLS)} nats and free bits are "
    f"λ = {_LAMBDA} per dimension. Compute the free-bits KL term Σ_j max(λ, KL_j).",
    sum(max(_LAMBDA, k) for k in _KLS),
    "max(0.25, ·) per dimension: 0.25 + 0.4 + 1.3 + 0.25 = 2.2.",
    ("Floor each dimension at λ.", "Then add them."),
    (
        ("no_floor", sum(_KLS), "That is the plain KL; free bits floor each dimension at λ."),
        (
            "hinge",
            sum(max(0.0, k - _LAMBDA) for k in _KLS),
            "That is Σ max(0, KL − λ), not Σ max(λ, KL).",
        ),
    ),
    answer_name="answer_p2_free_bits_value",
)

HIDDEN_BETA = hand_number(
    "p2_hidden_beta",
    CHAPTER,
    "Part 3: the β hidden in a reduction",
    "For MNIST images (1, 28, 28), the loss is "
    "`F.binary_cross_entropy_with_logits(logits, x) + kl.sum(dim=1).mean()` (the default "
    "reduction is the mean over every element). Written as c·(R + β·K) with R and K the "
    "per-example sums averaged over the batch, what is β?",
    784.0,
    "The mean divides R by 784: loss = R/784 + K = (1/784)(R + 784·K), so β = 784.",
    ("reduction='mean' divides by B·784.", "Factor out the coefficient of R."),
    (("inverse", 1 / 784, "That is 1/β: β is K's weight once R's weight is 1."),),
    answer_name="answer_p2_hidden_beta",
)

CAPACITY_VALUE = hand_number(
    "p2_capacity_value",
    CHAPTER,
    "Part 4: the capacity objective",
    "Reconstruction R = 95 and KL = 3 nats at step t = 2000; the capacity grows linearly "
    "from 0 to C_max = 25 over T = 10 000 steps; γ = 100. Compute R + γ·|KL − C(t)|.",
    95 + 100 * abs(3 - 25 * 2000 / 10000),
    "C(2000) = 25·0.2 = 5; 95 + 100·|3 − 5| = 295.",
    ("C(t) = min(C_max, C_max·t/T).", "Mind the absolute value."),
    (
        (
            "no_absolute",
            95 + 100 * (3 - 5),
            "Without the absolute value the penalty turns negative.",
        ),
        ("not_annealed", 95 + 100 * abs(3 - 25), "C is annealed: at t = 2000 it is 5, not 25."),
    ),
    answer_name="answer_p2_capacity_value",
)

COLLAPSE_CAUSE = five_options(
    "p2_collapse_cause",
    CHAPTER,
    "Part 5: what causes collapse",
    "Which change to a VAE on MNIST makes posterior collapse most likely? "
    "(`drills.prompt('p2_collapse_cause')` lists the options.)",
    (
        Option("halving the learning rate", False, "slower training, not an uninformative z."),
        Option("adding free bits", False, "free bits fight collapse."),
        Option(
            "an autoregressive decoder that models each pixel from the previous ones",
            True,
            "a decoder that needs no z makes the KL cost of using z not worth paying.",
        ),
        Option("annealing β from 0 to 1", False, "annealing fights collapse."),
        Option("a larger batch", False, "the batch size does not change what the ELBO pays for z."),
    ),
    "Collapse happens when the decoder can model x without z, or when the KL weight is too "
    "high early on; free bits and annealing are remedies.",
    ("What does the ELBO charge for information in z?", "Which option removes the need for z?"),
    answer_name="answer_p2_collapse_cause",
)

# ----------------------------------------------------------------- B. from scratch

KL_BY_DIMENSION = code_part(
    KL_PER_DIMENSION, "p2_kl_by_dimension", CHAPTER, "kl_by_dimension",
    bans=("loops", "distributions"), allowed_modules=ALLOWED, title="Part 6: KL per dimension",
)  # fmt: skip
COUNT_ACTIVE = code_part(
    ACTIVE_UNITS, "p2_count_active", CHAPTER, "count_active_units",
    bans=("loops",), allowed_modules=ALLOWED, title="Part 7: counting active units, no loops",
)  # fmt: skip
FREE_BITS = code_part(
    FREE_BITS_KL, "p2_free_bits", CHAPTER, "free_bits_objective",
    bans=("loops",), allowed_modules=ALLOWED, title="Part 8: free bits, no loops",
)  # fmt: skip
BETA_LOSS = code_part(
    BETA_VAE_LOSS, "p2_beta_loss", CHAPTER, "beta_objective",
    bans=("loops", "distributions"), allowed_modules=ALLOWED, title="Part 9: the β-VAE loss",
)  # fmt: skip
WARMUP = code_part(
    LINEAR_WARMUP, "p2_warmup_beta", CHAPTER, "warmup_beta",
    bans=(), allowed_modules=ALLOWED, title="Part 10: a linear warm-up",
)  # fmt: skip
CYCLICAL = code_part(
    CYCLICAL_BETA, "p2_cyclical", CHAPTER, "cyclical_weight",
    bans=(), allowed_modules=ALLOWED, title="Part 11: a cyclical schedule",
)  # fmt: skip
CAPACITY = code_part(
    CAPACITY_PENALTY, "p2_capacity", CHAPTER, "capacity_objective",
    bans=("loops",), allowed_modules=ALLOWED, title="Part 12: the capacity penalty",
)  # fmt: skip

BETA_STEP = FunctionDrill(
    id="p2_beta_step",
    chapter=CHAPTER,
    title="Part 13: a training step with β",
    answer_name="beta_train_step",
    max_score=5,
    prompt=(
        "Write `beta_train_step(model, optimizer, x, beta) -> float`: one optimisation step of "
        "a VAE whose `model(x)` returns (logits, mu, log_var) on the loss mean_b(rec + β·KL) "
        "(BCE with logits summed over pixels, KL to N(0, I) summed over dimensions). Call "
        "model(x) once; return the loss as a float.\n\nRules of this part: only the fixed "
        "imports, no `vae_course`, no `torch.distributions`."
    ),
    hints=("Reuse your beta_objective.", "zero_grad, forward, loss, backward, step, loss.item()."),
    solution=(
        "```python\ndef beta_train_step(model, optimizer, x, beta):\n    optimizer.zero_grad()\n"
        "    logits, mu, log_var = model(x)\n    loss = beta_objective(logits, x, mu, log_var, beta)\n"
        "    loss.backward()\n    optimizer.step()\n    return loss.item()\n```"
    ),
    reference_name="vae_course.olympiad_solutions:beta_train_step",
    mistakes=BETA_STEP_MISTAKES,
    make_probes=beta_step_probes,
    output=None,
    arg_names=("model", "optimizer", "x", "beta"),
    invoke=run_beta_step,
    problems=step_problems,
    rtol=1e-3,
    atol=1e-7,
    device_check=False,
    bans=("vae_course", "imports", "distributions"),
    allowed_modules=ALLOWED,
    success="All checks passed: rec + β·KL, one correct step, a float returned.",
)

# ----------------------------------------------------------------- C. training


def _sweep_claims() -> tuple[Claim, ...]:
    def rates(d):
        return [d[b]["rate"] for b in BETAS]

    def dists(d):
        return [d[b]["distortion"] for b in BETAS]

    return (
        Claim(
            "The rate falls as β grows (β = 0.5, 1, 4).",
            lambda d: rates(d)[0] > rates(d)[1] > rates(d)[2],
            lambda d: "rates " + ", ".join(f"{r:.2f}" for r in rates(d)) + ".",
        ),
        Claim(
            "The distortion rises as β grows.",
            lambda d: dists(d)[0] < dists(d)[1] < dists(d)[2],
            lambda d: "distortions " + ", ".join(f"{r:.2f}" for r in dists(d)) + ".",
        ),
        *either(
            "The β = 4 model has fewer active units than the β = 0.5 model.",
            "The β = 4 model has at least as many active units as the β = 0.5 model.",
            lambda d: d["beta_4"]["active_units"] < d["beta_0.5"]["active_units"],
            lambda d: (
                f"{d['beta_0.5']['active_units']:g} at β = 0.5, {d['beta_4']['active_units']:g} at β = 4."
            ),
            "active units",
        ),
    )


SWEEP = measured(
    "p2_beta_sweep",
    CHAPTER,
    "Part 14: a β sweep",
    "Train three models with your beta_train_step at β = 0.5, 1 and 4 (same seed, data and "
    "budget) and report for each, on the test images, the rate (mean KL), the distortion "
    "(mean reconstruction term) and the active units: "
    "`{'beta_0.5': {'rate': ..., 'distortion': ..., 'active_units': ...}, 'beta_1': {...}, "
    "'beta_4': {...}}`.",
    reader(
        (
            Field("rate", sane=non_negative),
            Field("distortion", sane=positive),
            Field("active_units", "count", sane=non_negative),
        ),
        groups=BETAS,
    ),
    _sweep_claims(),
    "Everything but β stays the same; read the three rows against each statement.",
    (
        "Use one training function with β as an argument.",
        "Rate = mean KL, distortion = mean reconstruction.",
    ),
    answer_name="beta_sweep_results",
)


WARMUP_RUN = measured(
    "p2_warmup_run",
    CHAPTER,
    "Part 15: warm-up against a constant β = 4",
    "Train at β = 4 twice: with β constant, and with your warmup_beta rising from 0 to 4 over "
    "the first half of the steps. Report the test rate and active units of each: "
    "`{'constant': {'rate': ..., 'active_units': ...}, 'warmup': {...}}`.",
    reader(
        (Field("rate", sane=non_negative), Field("active_units", "count", sane=non_negative)),
        groups=("constant", "warmup"),
    ),
    (
        *either(
            "Warm-up kept at least as many units active as the constant β.",
            "Warm-up kept fewer units active than the constant β.",
            lambda d: d["warmup"]["active_units"] >= d["constant"]["active_units"],
            lambda d: (
                f"{d['constant']['active_units']:g} constant, {d['warmup']['active_units']:g} warm-up."
            ),
            "active units",
        ),
        Claim(
            "Warm-up ended with the higher rate.",
            lambda d: d["warmup"]["rate"] > d["constant"]["rate"],
            lambda d: (
                f"rates {d['constant']['rate']:.2f} constant, {d['warmup']['rate']:.2f} warm-up."
            ),
        ),
    ),
    "Warm-up lets the decoder learn to use z before the KL weight is high.",
    ("Compute β per step with warmup_beta(step, total // 2, 4.0).", "Compare the two rows."),
    answer_name="warmup_results",
)


def _fb_check(data: dict) -> list[str]:
    if len(data["plain"]["kl_per_dim"]) != len(data["free_bits"]["kl_per_dim"]):
        return ["Both kl_per_dim lists need one value per latent dimension."]
    return []


FREE_BITS_RUN = measured(
    "p2_free_bits_run",
    CHAPTER,
    "Part 16: free bits against plain β = 4",
    "Train at β = 4 with the plain KL and with your free_bits_objective (λ = 0.5 nats per "
    "dimension) in its place; report each model's test rate, active units and per-dimension "
    "KLs: `{'plain': {'rate': ..., 'active_units': ..., 'kl_per_dim': [...]}, "
    "'free_bits': {...}}`.",
    reader(
        (
            Field("rate", sane=non_negative),
            Field("active_units", "count", sane=non_negative),
            Field("kl_per_dim", "numbers", sane=non_negative),
        ),
        groups=("plain", "free_bits"),
        check=_fb_check,
    ),
    (
        *either(
            "Free bits kept more units active than the plain KL.",
            "Free bits kept no more units active than the plain KL.",
            lambda d: d["free_bits"]["active_units"] > d["plain"]["active_units"],
            lambda d: (
                f"{d['plain']['active_units']:g} plain, {d['free_bits']['active_units']:g} free bits."
            ),
            "active units",
        ),
        Claim(
            "With free bits, the smallest per-dimension KL is larger than without.",
            lambda d: min(d["free_bits"]["kl_per_dim"]) > min(d["plain"]["kl_per_dim"]),
            lambda d: (
                f"smallest KLs {min(d['plain']['kl_per_dim']):.3f} plain, "
                f"{min(d['free_bits']['kl_per_dim']):.3f} free bits."
            ),
        ),
    ),
    "Below λ a dimension's KL gets no gradient: the optimiser stops switching it off.",
    ("Replace the KL term by free_bits_objective(kl_matrix, 0.5).", "kl_matrix has shape (B, d)."),
    answer_name="free_bits_results",
)

# ----------------------------------------------------------------- D. analysis


def _read_best(measurements: object) -> tuple[dict, list[str]]:
    """{'beta_0.5': x, 'beta_1': y, 'beta_4': z}: one positive number per β."""
    ok = isinstance(measurements, dict) and all(
        isinstance(measurements.get(b), int | float)
        and not isinstance(measurements.get(b), bool)
        and measurements[b] > 0
        for b in BETAS
    )
    if not ok:
        return {}, [
            "Give one positive negative ELBO per β: {'beta_0.5': ..., 'beta_1': ..., 'beta_4': ...}."
        ]
    return {b: {"value": float(measurements[b])} for b in BETAS}, []


BEST_ELBO = measured(
    "p2_best_elbo",
    CHAPTER,
    "Part 17: which β gives the best ELBO",
    "From your sweep, the test negative ELBO (rate + distortion, the β = 1 objective) of each "
    "model: `{'beta_0.5': ..., 'beta_1': ..., 'beta_4': ...}`; then choose the β with the "
    "lowest one.",
    _read_best,
    tuple(
        Claim(
            f"β = {b[5:]} has the lowest negative ELBO.",
            lambda d, b=b: min(d, key=lambda k: d[k]["value"]) == b,
            lambda d: "negative ELBOs " + ", ".join(f"{d[k]['value']:.2f}" for k in BETAS) + ".",
            group="best β",
        )
        for b in BETAS
    ),
    "The ELBO weighs rate and distortion equally (β = 1); the β = 1 model optimises exactly it.",
    ("negative ELBO = rate + distortion.", "Pick the smallest."),
    answer_name="best_elbo_results",
)


def _tc_probes(seed: int) -> list[Probe]:
    g = torch.Generator().manual_seed(1111 + seed)
    probes = []
    for d in (2, 3, 5):
        a = torch.randn(d, d, generator=g, dtype=torch.float64)
        probes.append(
            Probe(f"random_{d}", ((a @ a.T + 0.5 * torch.eye(d, dtype=torch.float64)).float(),))
        )
    return probes


def _tc(cov, *, half=0.5, diag=True):
    log_diag = torch.log(torch.diagonal(cov)).sum() if diag else 0.0
    return float(half * (log_diag - torch.logdet(cov)))


GAUSSIAN_TC = FunctionDrill(
    id="p2_gaussian_tc",
    chapter=CHAPTER,
    title="Part 18: the total correlation of a Gaussian code, no loops",
    answer_name="gaussian_tc",
    max_score=5,
    prompt=(
        "Write `gaussian_tc(cov) -> float`: the total correlation KL(N(0, Σ) ‖ Π_j N(0, Σ_jj)) "
        "of a Gaussian code with covariance `cov` (d, d), in nats: "
        "½(Σ_j log Σ_jj − log det Σ).\n\nRules of this part: only the fixed imports, no "
        "`vae_course`, no Python loops or comprehensions."
    ),
    hints=("`torch.diagonal(cov)` and `torch.logdet(cov)`.", "Return a Python float."),
    solution=(
        "```python\ndef gaussian_tc(cov):\n"
        "    return float(0.5 * (torch.log(torch.diagonal(cov)).sum() - torch.logdet(cov)))\n```"
    ),
    reference_name="vae_course.olympiad_solutions:gaussian_total_correlation",
    mistakes=(
        Mistake("missing_half", lambda cov: _tc(cov, half=1.0), "The ½ is missing."),
        Mistake(
            "no_marginals",
            lambda cov: _tc(cov, diag=False),
            "The marginals' term Σ_j log Σ_jj is missing: TC compares the joint with the "
            "product of its marginals.",
        ),
        Mistake("sign", lambda cov: -_tc(cov), "The sign is reversed: a total correlation is ≥ 0."),
    ),
    make_probes=_tc_probes,
    output=NumberOut(),
    arg_names=("cov",),
    rtol=1e-3,
    atol=1e-4,
    device_check=False,
    bans=("vae_course", "imports", "loops"),
    allowed_modules=ALLOWED,
)

DIAGNOSIS = measured(
    "p2_diagnosis",
    CHAPTER,
    "Part 19: a collapse diagnosis",
    "For your plain β = 4 model, report the per-dimension test KLs "
    "(`{'kl_per_dim': [...]}`) and diagnose it against the 0.01-nat threshold.",
    reader((Field("kl_per_dim", "numbers", sane=non_negative),)),
    tuple(
        Claim(
            text,
            holds,
            lambda d: f"KLs from {min(d['kl_per_dim']):.4f} to {max(d['kl_per_dim']):.4f} nats.",
            group="how many collapsed",
        )
        for text, holds in (
            (
                "No dimension has collapsed (every KL is 0.01 nats or more).",
                lambda d: min(d["kl_per_dim"]) >= 0.01,
            ),
            (
                "Some dimensions have collapsed (KL below 0.01 nats), not all.",
                lambda d: min(d["kl_per_dim"]) < 0.01 <= max(d["kl_per_dim"]),
            ),
            ("Every dimension has collapsed.", lambda d: max(d["kl_per_dim"]) < 0.01),
        )
    ),
    "A collapsed dimension has q(z_j|x) ≈ p(z_j): its KL is ≈ 0.",
    ("Compare each KL with 0.01.", "Look at the smallest and the largest."),
    answer_name="diagnosis_results",
)

CONCLUSION = measured(
    "p2_conclusion",
    CHAPTER,
    "Part 20: the conclusion, checked against your numbers",
    "Gather the active units of your models, `latent_dim`, `beta_0.5`, `beta_4` (plain), "
    "`free_bits` and `warmup`, and choose every statement they support.",
    reader(
        tuple(
            Field(k, "count", sane=non_negative)
            for k in ("latent_dim", "beta_0.5", "beta_4", "free_bits", "warmup")
        )
    ),
    (
        *either(
            "Raising β from 0.5 to 4 switched off dimensions.",
            "Raising β from 0.5 to 4 switched off no dimension.",
            lambda d: d["beta_4"] < d["beta_0.5"],
            lambda d: f"{d['beta_0.5']:g} active at β = 0.5, {d['beta_4']:g} at β = 4.",
            "the effect of β",
        ),
        Claim(
            "Free bits kept more dimensions active than plain β = 4.",
            lambda d: d["free_bits"] > d["beta_4"],
            lambda d: f"{d['free_bits']:g} with free bits, {d['beta_4']:g} plain.",
        ),
        Claim(
            "Warm-up kept more dimensions active than a constant β = 4.",
            lambda d: d["warmup"] > d["beta_4"],
            lambda d: f"{d['warmup']:g} with warm-up, {d['beta_4']:g} constant.",
        ),
        Claim(
            "Some dimensions are unused even at β = 0.5.",
            lambda d: d["beta_0.5"] < d["latent_dim"],
            lambda d: f"{d['beta_0.5']:g} of {d['latent_dim']:g} active at β = 0.5.",
        ),
    ),
    "Each statement is checked against your numbers.",
    ("One statement at a time.", "Use the active units you measured."),
    answer_name="collapse_conclusion",
)

PARTS = (
    ACTIVE_COUNT,
    FREE_BITS_VALUE,
    HIDDEN_BETA,
    CAPACITY_VALUE,
    COLLAPSE_CAUSE,
    KL_BY_DIMENSION,
    COUNT_ACTIVE,
    FREE_BITS,
    BETA_LOSS,
    WARMUP,
    CYCLICAL,
    CAPACITY,
    BETA_STEP,
    SWEEP,
    WARMUP_RUN,
    FREE_BITS_RUN,
    BEST_ELBO,
    GAUSSIAN_TC,
    DIAGNOSIS,
    CONCLUSION,
)

PROBLEM = Problem(
    name="collapse-and-beta",
    chapter=CHAPTER,
    title="Problem 2: posterior collapse and β",
    parts=tuple(p.id for p in PARTS),
    fixed_imports=FIXED_IMPORTS,
    allowed_modules=ALLOWED,
)

DRILLS = PARTS

__all__ = ["DRILLS", "PARTS", "PROBLEM"]
