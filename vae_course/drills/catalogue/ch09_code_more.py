"""Chapter 09, olympiad pool: short coding items (schedules, capacity, applications).

Declared like :mod:`.ch09_code`: seeded probes, the course's solution as reference, a
catalogue of known mistakes; ``interpolate`` bans Python loops.
"""

from __future__ import annotations

import math

import torch

from ..observation import EDGE, Mistake, Probe
from ..outputs import ListOut, NumberOut, ScalarOut, TensorOut
from .ch05_schedules import invoke_per_step
from .ch09_code import _code, _g

# ------------------------------------------------------------------------- linear_warmup


def _warm_probes(seed: int) -> list[Probe]:
    start = seed % 3
    return [
        Probe("ramp_100", (list(range(start, 200, 7)), 100, 1.0)),
        Probe("ramp_50_half", (list(range(start, 120, 3)), 50, 0.5)),
        Probe("ramp_30_two", (list(range(start, 90, 2)), 30, 2.0)),
        Probe(
            "defaults",
            (list(range(0, 40, 3)), 20),
            group=EDGE,
            label="the default beta_max = 1.0",
        ),
    ]


LINEAR_WARMUP = _code(
    "olympiad_code_linear_warmup",
    "linear_warmup",
    "Code: a linear KL warm-up",
    "Implement `linear_warmup(step, warmup_steps, beta_max=1.0) -> float`: β rises linearly "
    "from 0 at step 0 to `beta_max` at step `warmup_steps`, then stays at `beta_max`.",
    (
        "β = beta_max · step / warmup_steps while step < warmup_steps.",
        "Cap at beta_max: min(1, ·).",
    ),
    "```python\ndef linear_warmup(step, warmup_steps, beta_max=1.0):\n"
    "    return float(beta_max * min(1.0, step / warmup_steps))\n```",
    "linear_warmup",
    mistakes=(
        Mistake(
            "no_cap",
            lambda step, w, beta_max=1.0: beta_max * step / w,
            "β keeps growing after the warm-up: cap it at beta_max.",
        ),
        Mistake(
            "beta_max_ignored",
            lambda step, w, beta_max=1.0: min(1.0, step / w),
            "β ends at 1 whatever beta_max is: scale by beta_max.",
        ),
        Mistake(
            "decreasing",
            lambda step, w, beta_max=1.0: beta_max * max(0.0, 1.0 - step / w),
            "β decreases; a warm-up raises it from 0 to beta_max.",
        ),
    ),
    make_probes=_warm_probes,
    output=ListOut(NumberOut()),
    arg_names=("step", "warmup_steps", "beta_max"),
    invoke=invoke_per_step,
    device_check=False,
    rtol=1e-6,
    atol=1e-6,
)


# ------------------------------------------------------------------------- sigmoid_beta


def _sig_probes(seed: int) -> list[Probe]:
    start = seed % 5
    return [
        Probe("mid_500", (list(range(start, 1000, 37)), 500, 0.01, 1.0)),
        Probe("mid_200_steep", (list(range(start, 400, 11)), 200, 0.05, 0.5)),
        Probe("mid_1000_flat", (list(range(start, 2000, 71)), 1000, 0.003, 2.0)),
        Probe("defaults", (list(range(0, 100, 9)), 50, 0.1), group=EDGE, label="beta_max = 1"),
    ]


def _sigm(step, mid, k, beta_max=1.0, *, sign=-1.0, shift=True, scale=True):
    value = 1.0 / (1.0 + math.exp(sign * k * (step - (mid if shift else 0))))
    return (beta_max if scale else 1.0) * value


SIGMOID_BETA = _code(
    "olympiad_code_sigmoid_beta",
    "sigmoid_beta",
    "Code: a sigmoid KL schedule",
    "Implement `sigmoid_beta(step, midpoint, steepness, beta_max=1.0) -> float`: "
    "β = beta_max / (1 + exp(−steepness · (step − midpoint))).",
    ("β is beta_max/2 at the midpoint and grows with the step.", "Use `math.exp`."),
    "```python\ndef sigmoid_beta(step, midpoint, steepness, beta_max=1.0):\n"
    "    return beta_max / (1 + math.exp(-steepness * (step - midpoint)))\n```",
    "sigmoid_beta",
    mistakes=(
        Mistake(
            "sign",
            lambda s, m, k, b=1.0: _sigm(s, m, k, b, sign=1.0),
            "Your β falls as the step grows: the exponent is −steepness·(step − midpoint).",
        ),
        Mistake(
            "no_midpoint",
            lambda s, m, k, b=1.0: _sigm(s, m, k, b, shift=False),
            "The curve must be centred on the midpoint: use step − midpoint.",
        ),
        Mistake(
            "beta_max_ignored",
            lambda s, m, k, b=1.0: _sigm(s, m, k, b, scale=False),
            "β tends to 1 whatever beta_max is: scale by beta_max.",
        ),
    ),
    make_probes=_sig_probes,
    output=ListOut(NumberOut()),
    arg_names=("step", "midpoint", "steepness", "beta_max"),
    invoke=invoke_per_step,
    device_check=False,
    rtol=1e-6,
    atol=1e-6,
)


# ------------------------------------------------------------------------- capacity_penalty


def _cap_probes(seed: int) -> list[Probe]:
    g = _g(seed, 5)
    return [
        Probe(
            f"random_{i}",
            (torch.rand(6, generator=g) * 30, step, 25.0, 1000, gamma),
            grad_args=(0,),
        )
        for i, (step, gamma) in enumerate(((100, 10.0), (500, 100.0), (1500, 1.0), (0, 5.0)))
    ]


def _capacity(step, c_max, total):
    return min(c_max, c_max * step / total)


CAPACITY_PENALTY = _code(
    "olympiad_code_capacity_penalty",
    "capacity_penalty",
    "Code: the capacity penalty",
    "Implement `capacity_penalty(kl, step, c_max, total_steps, gamma) -> Tensor ()`: "
    "γ·|mean_b KL_b − C(step)| with C(step) = min(c_max, c_max·step/total_steps) "
    "(Burgess et al. 2018); `kl` holds the per-example KLs, shape (B,).",
    (
        "The capacity grows linearly to c_max, then stays.",
        "Average the KL over the batch, subtract C, take `.abs()`, multiply by gamma.",
    ),
    "```python\ndef capacity_penalty(kl, step, c_max, total_steps, gamma):\n"
    "    capacity = min(c_max, c_max * step / total_steps)\n"
    "    return gamma * (kl.mean() - capacity).abs()\n```",
    "capacity_penalty",
    mistakes=(
        Mistake(
            "no_absolute",
            lambda kl, s, c, t, g: g * (kl.mean() - _capacity(s, c, t)),
            "Without the absolute value a KL below C is rewarded; use |KL − C|.",
        ),
        Mistake(
            "not_annealed",
            lambda kl, s, c, t, g: g * (kl.mean() - c).abs(),
            "C must grow with the step: min(c_max, c_max·step/total_steps).",
        ),
        Mistake(
            "sum_over_batch",
            lambda kl, s, c, t, g: g * (kl.sum() - _capacity(s, c, t)).abs(),
            "Compare the batch *mean* KL with C, not the sum.",
        ),
    ),
    make_probes=_cap_probes,
    output=ScalarOut("a scalar tensor", differentiable=True),
    arg_names=("kl", "step", "c_max", "total_steps", "gamma"),
)


# ------------------------------------------------------------------------- interpolate


def _interp_probes(seed: int) -> list[Probe]:
    g = _g(seed, 7)
    probes = [
        Probe(f"random_{d}_{n}", (torch.randn(d, generator=g), torch.randn(d, generator=g), n))
        for d, n in ((3, 5), (8, 4), (2, 9))
    ]
    z = torch.randn(4, generator=g)
    probes.append(Probe("two_steps", (z, -z, 2), group=EDGE, label="steps = 2 (the two ends)"))
    return probes


def _lin(z0, z1, n, *, end=True):
    t = torch.linspace(0.0, 1.0, n) if end else torch.arange(n) / n
    return (1 - t).unsqueeze(1) * z0 + t.unsqueeze(1) * z1


INTERPOLATE = _code(
    "olympiad_code_interpolate",
    "interpolate",
    "Code: a latent interpolation, without loops",
    "Implement `interpolate(z0, z1, steps) -> Tensor (steps, d)`: `steps` evenly spaced "
    "points on the segment from `z0` to `z1` (both of shape (d,)), both ends included, row 0 "
    "being z0. **No Python loops or comprehensions**: this item bans them.",
    (
        "t = torch.linspace(0, 1, steps, device=z0.device) gives the fractions, ends included.",
        "Broadcast: (1 − t)[:, None] · z0 + t[:, None] · z1.",
    ),
    "```python\ndef interpolate(z0, z1, steps):\n"
    "    t = torch.linspace(0.0, 1.0, steps, device=z0.device).unsqueeze(1)\n"
    "    return (1 - t) * z0 + t * z1\n```",
    "interpolate",
    mistakes=(
        Mistake(
            "end_excluded",
            lambda z0, z1, n: _lin(z0, z1, n, end=False),
            "The last row is not z1: the fractions must run from 0 to 1 inclusive "
            "(`torch.linspace(0, 1, steps)`).",
        ),
        Mistake(
            "reversed",
            lambda z0, z1, n: _lin(z1, z0, n),
            "The path runs from z1 to z0; row 0 must be z0.",
        ),
        Mistake(
            "transposed",
            lambda z0, z1, n: _lin(z0, z1, n).T,
            "It returns (d, steps); return one point per row, shape (steps, d).",
        ),
    ),
    make_probes=_interp_probes,
    output=TensorOut(lambda p: (p.args[2], p.args[0].shape[0]), "one point per row"),
    arg_names=("z0", "z1", "steps"),
    bans=("loops",),
)


# ------------------------------------------------------------------------- roc_auc


def _auc_probes(seed: int) -> list[Probe]:
    g = _g(seed, 8)
    probes = []
    for i, n in enumerate((12, 20, 9)):
        labels = (torch.rand(n, generator=g) > 0.6).long()
        labels[0], labels[1] = 1, 0
        scores = torch.rand(n, generator=g) + 0.4 * labels
        probes.append(Probe(f"random_{i}", (scores, labels)))
    ties = torch.tensor([0.5, 0.5, 0.2, 0.9, 0.5, 0.1])
    probes.append(Probe("ties", (ties, torch.tensor([1, 0, 0, 1, 1, 0]))))
    return probes


def _auc_ties_as_wins(scores, labels, *, tie=0.5, reverse=False):
    pos, neg = scores[labels.bool()], scores[~labels.bool()]
    if reverse:
        pos, neg = neg, pos
    return float(
        ((pos[:, None] > neg[None, :]).double() + tie * (pos[:, None] == neg[None, :]).double())
        .mean()
        .item()
    )


ROC_AUC = _code(
    "olympiad_code_roc_auc",
    "roc_auc",
    "Code: the ROC AUC of an anomaly score",
    "Implement `roc_auc(scores, labels) -> float`: the probability that a random positive "
    "(label 1, an anomaly) scores higher than a random negative (label 0), ties counting ½; "
    "`scores` is a float tensor (N,), `labels` an integer tensor (N,) of 0s and 1s.",
    (
        "Compare every positive with every negative: broadcast a (P, 1) against a (1, N) tensor.",
        "Count wins as 1 and ties as ½, then average over the P·N pairs.",
    ),
    "```python\ndef roc_auc(scores, labels):\n"
    "    pos, neg = scores[labels == 1], scores[labels == 0]\n"
    "    wins = (pos[:, None] > neg[None, :]).float() + 0.5 * (pos[:, None] == neg[None, :]).float()\n"
    "    return wins.mean().item()\n```",
    "roc_auc",
    mistakes=(
        Mistake(
            "reversed",
            lambda s, y: _auc_ties_as_wins(s, y, reverse=True),
            "That is 1 − AUC: count the pairs where the *positive* scores higher.",
        ),
        Mistake(
            "ties_ignored",
            lambda s, y: _auc_ties_as_wins(s, y, tie=0.0),
            "Ties must count ½ (a tie is a coin toss between the two examples).",
        ),
        Mistake(
            "accuracy",
            lambda s, y: float(((s > 0.5).long() == y).double().mean()),
            "That is the accuracy of thresholding at 0.5; the AUC compares pairs and needs "
            "no threshold.",
        ),
    ),
    make_probes=_auc_probes,
    output=NumberOut(),
    arg_names=("scores", "labels"),
    device_check=False,
)


# ------------------------------------------------------------------------- attribute_vector


def _av_probes(seed: int) -> list[Probe]:
    g = _g(seed, 11)
    probes = []
    for i, (b, d) in enumerate(((8, 3), (10, 5), (6, 2))):
        has = torch.rand(b, generator=g) > 0.5
        has[0], has[1] = True, False
        probes.append(Probe(f"random_{i}", (torch.randn(b, d, generator=g), has), grad_args=(0,)))
    return probes


ATTRIBUTE_VECTOR = _code(
    "olympiad_code_attribute_vector",
    "attribute_vector",
    "Code: an attribute vector",
    "Implement `attribute_vector(mu, has_attribute) -> Tensor (d,)`: the mean code of the "
    "examples with the attribute minus the mean code of those without; `mu` is (B, d), "
    "`has_attribute` a boolean tensor (B,). Adding it to a code adds the attribute.",
    (
        "Select rows with a boolean mask: mu[has_attribute] and mu[~has_attribute].",
        "Average each selection over dim 0, then subtract.",
    ),
    "```python\ndef attribute_vector(mu, has_attribute):\n"
    "    return mu[has_attribute].mean(dim=0) - mu[~has_attribute].mean(dim=0)\n```",
    "attribute_vector",
    mistakes=(
        Mistake(
            "reversed",
            lambda mu, h: mu[~h].mean(dim=0) - mu[h].mean(dim=0),
            "The vector points away from the attribute: with minus without, not the reverse.",
        ),
        Mistake(
            "against_everyone",
            lambda mu, h: mu[h].mean(dim=0) - mu.mean(dim=0),
            "Subtract the mean of the examples *without* the attribute, not of all examples.",
        ),
        Mistake(
            "sums",
            lambda mu, h: mu[h].sum(dim=0) - mu[~h].sum(dim=0),
            "Use means, not sums: the two groups have different sizes.",
        ),
    ),
    make_probes=_av_probes,
    output=TensorOut(lambda p: (p.args[0].shape[1],), "one value per latent dimension", True),
    arg_names=("mu", "has_attribute"),
)


CODE_POOL = (
    LINEAR_WARMUP,
    SIGMOID_BETA,
    CAPACITY_PENALTY,
    INTERPOLATE,
    ROC_AUC,
    ATTRIBUTE_VECTOR,
)

TOPICS = {
    "olympiad_code_linear_warmup": "KL annealing",
    "olympiad_code_sigmoid_beta": "KL annealing",
    "olympiad_code_capacity_penalty": "β-VAE and disentanglement",
    "olympiad_code_interpolate": "applications",
    "olympiad_code_roc_auc": "applications",
    "olympiad_code_attribute_vector": "applications",
}

__all__ = ["CODE_POOL", "TOPICS"]
