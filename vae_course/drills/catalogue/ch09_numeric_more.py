"""Chapter 09, olympiad pool: seeded numeric items on schedules, collapse, disentanglement
and applications (declared like :mod:`.ch09_numeric`)."""

from __future__ import annotations

import math
import random
from collections.abc import Callable

from ..numeric import NumericMistake
from .ch09_numeric import EXACT, INTEGER, PLAIN_4, P, _item

# ------------------------------------------------------------------ cyclical β


def _cyc_params(rng: random.Random) -> P:
    total = rng.choice((1000, 1200, 2000, 4000))
    return {
        "total": total,
        "cycles": rng.choice((2, 4, 5)),
        "ratio": rng.choice((0.25, 0.5, 0.8)),
        "beta_max": rng.choice((1.0, 0.5, 2.0)),
        "step": rng.randrange(total),
    }


def _cyc(p: P, *, restart: bool = True, ratio: bool = True, scale: bool = True) -> float:
    period = p["total"] / p["cycles"]
    tau = ((p["step"] % period) if restart else p["step"]) / (period if restart else p["total"])
    value = min(1.0, tau / p["ratio"]) if ratio else tau
    return (p["beta_max"] if scale else 1.0) * value


CYCLICAL = _item(
    "olympiad_cyclical_beta",
    "β on a cyclical schedule",
    "Evaluate Fu et al.'s cyclical KL-annealing schedule at one step",
    (
        "The cycle length is T/M; the position in the current cycle is τ = (t mod (T/M)) / (T/M).",
        "β = β_max · min(1, τ/R).",
    ),
    "β(t) = β_max · min(1, τ/R) with τ = (t mod (T/M))/(T/M): M ramps from 0 to β_max, each "
    "over the first fraction R of its cycle.",
    make_params=_cyc_params,
    answer=_cyc,
    describe=lambda p: (
        f"Training lasts T = {p['total']} steps split into M = {p['cycles']} cycles; within "
        f"each cycle β rises linearly from 0 to β_max = {p['beta_max']:g} over the first "
        f"R = {p['ratio']:g} of the cycle, then stays at β_max. What is β at step "
        f"t = {p['step']} (steps count from 0)?"
    ),
    worked=lambda p: (
        f"Cycle length {p['total'] / p['cycles']:g}; τ = ({p['step']} mod "
        f"{p['total'] / p['cycles']:g}) / {p['total'] / p['cycles']:g} = "
        f"{(p['step'] % (p['total'] / p['cycles'])) / (p['total'] / p['cycles']):.6f}; "
        f"β = {p['beta_max']:g} · min(1, τ/{p['ratio']:g}) = {_cyc(p):.6f}."
    ),
    mistakes=(
        NumericMistake(
            "no_restart",
            lambda p: _cyc(p, restart=False),
            "β never restarts in your computation: use the position inside the current cycle.",
        ),
        NumericMistake(
            "ratio_ignored",
            lambda p: _cyc(p, ratio=False),
            "The ramp lasts only the first fraction R of a cycle: divide τ by R (and cap at 1).",
        ),
        NumericMistake(
            "beta_max_ignored", lambda p: _cyc(p, scale=False), "Scale the schedule by β_max."
        ),
    ),
    normal_form=PLAIN_4,
)


# ------------------------------------------------------------------ sigmoid β


def _sig_params(rng: random.Random) -> P:
    midpoint = rng.choice((500, 1000, 2000))
    return {
        "k": rng.choice((0.002, 0.005, 0.01)),
        "midpoint": midpoint,
        "step": midpoint + rng.choice((-1, 1)) * rng.randrange(50, 600, 10),
    }


def _sig(p: P, *, sign: float = -1.0, shift: bool = True) -> float:
    return 1.0 / (1.0 + math.exp(sign * p["k"] * (p["step"] - (p["midpoint"] if shift else 0))))


SIGMOID = _item(
    "olympiad_sigmoid_beta",
    "β on Bowman's sigmoid schedule",
    "Evaluate a sigmoid KL-annealing schedule at one step",
    (
        "β(t) = 1 / (1 + exp(−k (t − t₀))): 0 long before t₀, ½ at t₀, 1 long after.",
        "Check the sign: β must grow with t.",
    ),
    "The logistic curve β(t) = 1/(1 + e^{−k(t − t₀)}) rises smoothly from 0 to 1 around t₀ "
    "(Bowman et al. 2016 anneal the KL weight this way).",
    make_params=_sig_params,
    answer=_sig,
    describe=lambda p: (
        f"The KL weight follows β(t) = 1/(1 + exp(−k(t − t₀))) with k = {p['k']:g} and "
        f"t₀ = {p['midpoint']}. What is β at step t = {p['step']}?"
    ),
    worked=lambda p: (
        f"k(t − t₀) = {p['k']:g}·({p['step']} − {p['midpoint']}) = "
        f"{p['k'] * (p['step'] - p['midpoint']):.6f}; β = {_sig(p):.6f}."
    ),
    mistakes=(
        NumericMistake(
            "sign",
            lambda p: _sig(p, sign=1.0),
            "Your β falls as t grows: the exponent is −k(t − t₀).",
        ),
        NumericMistake(
            "no_midpoint", lambda p: _sig(p, shift=False), "The curve is centred at t₀: use t − t₀."
        ),
    ),
    normal_form=PLAIN_4,
)


# ------------------------------------------------------------------ Monte Carlo KL


def _mc_params(rng: random.Random) -> P:
    return {
        "mu": rng.choice((-1.5, -1.0, -0.5, 0.5, 1.0, 2.0)),
        "sigma": rng.choice((0.3, 0.5, 0.8, 1.5)),
        "eps": round(rng.uniform(-2.0, 2.0), 2),
    }


def _mc_kl(p: P) -> float:
    z = p["mu"] + p["sigma"] * p["eps"]
    return -0.5 * p["eps"] ** 2 - math.log(p["sigma"]) + 0.5 * z**2


def _closed_kl(p: P) -> float:
    s2 = p["sigma"] ** 2
    return 0.5 * (p["mu"] ** 2 + s2 - math.log(s2) - 1)


KL_MONTE_CARLO = _item(
    "olympiad_kl_monte_carlo",
    "A one-sample Monte Carlo estimate of the KL",
    "Estimate KL(q ‖ p) from one reparameterised sample",
    (
        "The single-sample estimate is log q(z) − log p(z) at z = μ + σε.",
        "log N(z; μ, σ²) = −½ log 2π − log σ − (z − μ)²/(2σ²), and (z − μ)/σ = ε.",
    ),
    "log q(z) − log p(z) = −½ε² − log σ + ½z² (the −½ log 2π constants cancel). Its average "
    "over ε is the closed-form KL; one sample can even be negative.",
    make_params=_mc_params,
    answer=_mc_kl,
    describe=lambda p: (
        f"q(z|x) = N(μ, σ²) with μ = {p['mu']:g}, σ = {p['sigma']:g}; the prior is N(0, 1). "
        f"One noise draw ε = {p['eps']:g} gives z = μ + σε. Compute the single-sample estimate "
        "log q(z|x) − log p(z) of KL(q ‖ p)."
    ),
    worked=lambda p: (
        f"z = {p['mu'] + p['sigma'] * p['eps']:.6f}; −½ε² − log σ + ½z² = {_mc_kl(p):.6f} "
        f"(the closed form is {_closed_kl(p):.6f})."
    ),
    mistakes=(
        NumericMistake(
            "closed_form",
            _closed_kl,
            "That is the closed-form KL, the average over ε; the question asks for the "
            "estimate at this one ε.",
        ),
        NumericMistake(
            "sign", lambda p: -_mc_kl(p), "That is log p(z) − log q(z): the sign is reversed."
        ),
    ),
)


# ------------------------------------------------------------------ active units


def _au_params(rng: random.Random) -> P:
    n, dims = 5, rng.choice((8, 9, 10))
    active = rng.randint(1, dims - 2)
    kinds = ["active"] * active + ["quiet"] + ["dead"] * (dims - active - 1)
    rng.shuffle(kinds)
    columns = []
    for kind in kinds:
        if kind == "active":
            values = [round(rng.uniform(-2.0, 2.0), 2) for _ in range(n)]
            while _variance(values) < 0.2:
                values = [round(rng.uniform(-2.0, 2.0), 2) for _ in range(n)]
        elif kind == "quiet":  # variance about 0.0025: above 0.01 in std, not in variance
            base = round(rng.uniform(-0.5, 0.5), 2)
            values = [round(base + s * 0.07, 3) for s in (-1, 0, 1, 0.5, -0.5)]
        else:
            values = [round(rng.uniform(-0.2, 0.2), 2)] * n
        columns.append(values)
    return {"mu": [[columns[j][i] for j in range(dims)] for i in range(n)], "dims": dims}


def _variance(values: list[float]) -> float:
    mean = sum(values) / len(values)
    return sum((v - mean) ** 2 for v in values) / len(values)


def _au(p: P, *, stat: Callable[[list[float]], float] = _variance) -> float:
    columns = list(zip(*p["mu"], strict=True))
    return float(sum(stat(list(col)) > 0.01 for col in columns))


ACTIVE_UNITS = _item(
    "olympiad_active_units",
    "Counting active units",
    "Count the active latent dimensions (Burda et al.) from a table of posterior means",
    (
        "A unit j is active when Var_x(E_q[z_j | x]) > 0.01: the variance of its mean "
        "across inputs.",
        "Compute one variance per column (dimension) over the rows (inputs).",
    ),
    "Active units: dimensions whose posterior mean varies across inputs (variance above "
    "0.01). A dimension whose mean is the same for every x carries no information.",
    make_params=_au_params,
    answer=_au,
    describe=lambda p: (
        f"The encoder's posterior means μ(x) for 5 inputs (rows) in a {p['dims']}-dimensional "
        f"latent (columns) are {p['mu']}. How many units are active, i.e. have "
        "Var_x(μ_j(x)) > 0.01?"
    ),
    worked=lambda p: (
        "Variances per dimension: "
        + ", ".join(f"{_variance(list(c)):.5f}" for c in zip(*p["mu"], strict=True))
        + f"; {_au(p):.0f} above 0.01."
    ),
    mistakes=(
        NumericMistake(
            "std_not_variance",
            lambda p: _au(p, stat=lambda v: math.sqrt(_variance(v))),
            "You compared the standard deviation with 0.01; the criterion is the variance.",
        ),
    ),
    normal_form=INTEGER,
    tolerance=EXACT,
)


# ------------------------------------------------------------------ capacity


def _cap_params(rng: random.Random) -> P:
    total = rng.choice((10000, 20000, 50000))
    return {
        "recon": round(rng.uniform(60, 140), 1),
        "kl": round(rng.uniform(2, 30), 1),
        "gamma": rng.choice((10.0, 100.0, 1000.0)),
        "c_max": rng.choice((5.0, 10.0, 25.0, 50.0)),
        "total": total,
        "step": rng.randrange(0, int(total * 1.3), 100),
    }


def _capacity(p: P) -> float:
    return min(p["c_max"], p["c_max"] * p["step"] / p["total"])


def _cap_loss(p: P, *, absolute: bool = True, anneal: bool = True) -> float:
    c = _capacity(p) if anneal else p["c_max"]
    gap = p["kl"] - c
    return p["recon"] + p["gamma"] * (abs(gap) if absolute else gap)


CAPACITY = _item(
    "olympiad_capacity_loss",
    "The capacity-annealed β-VAE loss",
    "Evaluate Burgess et al.'s capacity objective at one step",
    (
        "C grows linearly from 0 to C_max over the first T steps, then stays: "
        "C(t) = min(C_max, C_max·t/T).",
        "loss = reconstruction + γ·|KL − C(t)|: the absolute value pulls the KL towards C.",
    ),
    "Burgess et al. (2018): loss = R + γ|KL − C(t)| with a capacity C(t) increased "
    "linearly to C_max; the KL is steered to C instead of to 0.",
    make_params=_cap_params,
    answer=_cap_loss,
    describe=lambda p: (
        f"At step t = {p['step']} a batch gives reconstruction R = {p['recon']:g} and "
        f"KL = {p['kl']:g} nats (both per example). The capacity grows linearly from 0 to "
        f"C_max = {p['c_max']:g} nats over T = {p['total']} steps, then stays at C_max; "
        f"γ = {p['gamma']:g}. Compute the loss R + γ·|KL − C(t)|."
    ),
    worked=lambda p: (
        f"C(t) = min({p['c_max']:g}, {p['c_max']:g}·{p['step']}/{p['total']}) = "
        f"{_capacity(p):.6f}; loss = {p['recon']:g} + {p['gamma']:g}·|{p['kl']:g} − "
        f"{_capacity(p):.6f}| = {_cap_loss(p):.6f}."
    ),
    mistakes=(
        NumericMistake(
            "no_absolute",
            lambda p: _cap_loss(p, absolute=False),
            "Without the absolute value the penalty rewards a KL below C; use γ·|KL − C|.",
        ),
        NumericMistake(
            "not_annealed",
            lambda p: _cap_loss(p, anneal=False),
            "C is annealed: at step t it is min(C_max, C_max·t/T), not C_max.",
        ),
    ),
    normal_form=PLAIN_4,
)


# ------------------------------------------------------------------ total correlation


def _tc_params(rng: random.Random) -> P:
    return {"rho": rng.choice((-0.9, -0.6, -0.3, 0.2, 0.5, 0.7, 0.8, 0.95))}


TOTAL_CORRELATION = _item(
    "olympiad_total_correlation",
    "The total correlation of a correlated Gaussian",
    "Compute the total correlation of a two-dimensional Gaussian code",
    (
        "TC(z) = KL(q(z) ‖ Π_j q(z_j)): here the mutual information between z₁ and z₂.",
        "For a bivariate Gaussian with correlation ρ, I(z₁; z₂) = −½ log(1 − ρ²).",
    ),
    "TC = KL(q(z) ‖ q(z₁)q(z₂)) = ½ log(det diag Σ / det Σ) = −½ log(1 − ρ²) for unit "
    "variances: β-TCVAE penalises exactly this dependence between code dimensions.",
    make_params=_tc_params,
    answer=lambda p: -0.5 * math.log(1 - p["rho"] ** 2),
    describe=lambda p: (
        "The aggregate posterior of a 2-dimensional code is q(z) = N(0, Σ) with unit "
        f"variances and correlation ρ = {p['rho']:g}. Compute its total correlation "
        "KL(q(z) ‖ q(z₁) q(z₂)) in nats."
    ),
    worked=lambda p: (
        f"det Σ = 1 − ρ² = {1 - p['rho'] ** 2:.6f}; TC = −½ log(1 − ρ²) = "
        f"{-0.5 * math.log(1 - p['rho'] ** 2):.6f}."
    ),
    mistakes=(
        NumericMistake(
            "missing_half",
            lambda p: -math.log(1 - p["rho"] ** 2),
            "The factor ½ is missing: TC = −½ log(1 − ρ²).",
        ),
        NumericMistake(
            "rho_not_squared",
            lambda p: -0.5 * math.log(1 - abs(p["rho"])),
            "Use ρ², not |ρ|: det Σ = 1 − ρ².",
        ),
    ),
    sanity=lambda v, p: "A total correlation is never negative." if v < 0 else None,
)


# ------------------------------------------------------------------ ROC AUC


def _auc_params(rng: random.Random) -> P:
    values = rng.sample(range(5, 100), 7)
    return {
        "anomaly_scores": sorted(v / 10 for v in values[:3]),
        "normal_scores": sorted(v / 10 for v in values[3:]),
    }


def _auc(p: P) -> float:
    pairs = [(a, b) for a in p["anomaly_scores"] for b in p["normal_scores"]]
    return sum(a > b for a, b in pairs) / len(pairs)


ROC_AUC = _item(
    "olympiad_roc_auc",
    "ROC AUC of an anomaly score",
    "Compute the ROC AUC of reconstruction-error anomaly scores",
    (
        "The AUC is the probability that a random anomaly scores higher than a random "
        "normal example.",
        "Count the (anomaly, normal) pairs ranked correctly and divide by all pairs.",
    ),
    "AUC = (number of (anomaly, normal) pairs with the anomaly scored higher) / "
    "(n_anomalies · n_normals); 0.5 is chance, 1 a perfect ranking.",
    make_params=_auc_params,
    answer=_auc,
    describe=lambda p: (
        f"A VAE's reconstruction error scores three anomalies {p['anomaly_scores']} and four "
        f"normal images {p['normal_scores']} (higher = more anomalous). Compute the ROC AUC."
    ),
    worked=lambda p: (
        f"{len(p['anomaly_scores']) * len(p['normal_scores'])} pairs; "
        f"{round(_auc(p) * 12)} ranked correctly; AUC = {_auc(p):.6f}."
    ),
    mistakes=(
        NumericMistake(
            "reversed",
            lambda p: 1.0 - _auc(p),
            "That is 1 − AUC: count the pairs where the *anomaly* has the higher score.",
        ),
        NumericMistake(
            "count_not_fraction",
            lambda p: _auc(p) * 12,
            "That is the number of correctly ranked pairs; divide by the 12 pairs.",
        ),
    ),
    normal_form=PLAIN_4,
)


NUMERIC_POOL = (
    CYCLICAL,
    SIGMOID,
    KL_MONTE_CARLO,
    ACTIVE_UNITS,
    CAPACITY,
    TOTAL_CORRELATION,
    ROC_AUC,
)

TOPICS = {
    "olympiad_cyclical_beta": "KL annealing",
    "olympiad_sigmoid_beta": "KL annealing",
    "olympiad_kl_monte_carlo": "KL divergence",
    "olympiad_active_units": "posterior collapse",
    "olympiad_capacity_loss": "β-VAE and disentanglement",
    "olympiad_total_correlation": "β-VAE and disentanglement",
    "olympiad_roc_auc": "applications",
}

__all__ = ["NUMERIC_POOL", "TOPICS"]
