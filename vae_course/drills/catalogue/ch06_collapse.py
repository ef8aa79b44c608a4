"""Chapter 06, posterior collapse: ``free_bits_kl``, ``active_units`` (implementation) and
``posterior_collapse_diagnosis`` (choice + experiment, seeded)."""

from __future__ import annotations

import math
import random
from typing import Any

import torch

from .. import display
from ..answers import parse_letters, parse_number
from ..choice import Option, options_text
from ..function import FunctionDrill
from ..multipart import ChoicePart, MultipartDrill, NumericPart
from ..observation import EDGE, Mistake, Probe
from ..outputs import NumberOut, ScalarOut

# ----------------------------------------------------------------------------- free_bits_kl


def _kl_matrix(g: torch.Generator, b: int, scales: list[float]) -> torch.Tensor:
    """(b, d) non-negative KLs whose column means are about ``scales``."""
    return torch.rand(b, len(scales), generator=g) * 2 * torch.tensor(scales)


def free_bits_probes(seed: int = 0) -> list[Probe]:
    """KL matrices (B, d) whose column means straddle the floor; all below it; edges."""
    g = torch.Generator().manual_seed(606 + seed)
    return [
        Probe("mixed_8x5", (_kl_matrix(g, 8, [0.05, 0.2, 0.6, 1.5, 3.0]), 0.5), grad_args=(0,)),
        Probe("mixed_12x3", (_kl_matrix(g, 12, [0.1, 0.3, 2.0]), 0.25), grad_args=(0,)),
        Probe("all_small_6x4", (_kl_matrix(g, 6, [0.01, 0.01, 0.01, 0.01]), 0.5), grad_args=(0,)),
        Probe(
            "batch_1",
            (_kl_matrix(g, 1, [0.1, 0.9, 0.3, 2.0]), 0.3),
            group=EDGE,
            label="a batch of one (B = 1)",
        ),
        Probe(
            "latent_1",
            (_kl_matrix(g, 5, [0.8]), 0.2),
            group=EDGE,
            label="a one-dimensional latent (d = 1)",
            advice="Average over dim=0 and sum over dim=1 explicitly; avoid `.squeeze()`.",
        ),
        Probe(
            "no_floor",
            (_kl_matrix(g, 7, [0.1, 1.0, 0.4]), 0.0),
            group=EDGE,
            label="free_bits = 0 (no floor)",
        ),
    ]


def _fb_max_per_example(kl_per_dim, free_bits):
    return kl_per_dim.clamp(min=free_bits).sum(dim=1).mean()


def _fb_min_instead(kl_per_dim, free_bits):
    return kl_per_dim.mean(dim=0).clamp(max=free_bits).sum()


def _fb_clamp_total(kl_per_dim, free_bits):
    return kl_per_dim.mean(dim=0).sum().clamp(min=free_bits)


def _fb_ignored(kl_per_dim, free_bits):
    return kl_per_dim.mean(dim=0).sum()


def _fb_mean_over_dims(kl_per_dim, free_bits):
    return kl_per_dim.mean(dim=0).clamp(min=free_bits).mean()


def _fb_sum_over_batch(kl_per_dim, free_bits):
    return kl_per_dim.sum(dim=0).clamp(min=free_bits).sum()


def _fb_detached(kl_per_dim, free_bits):
    return torch.tensor([max(free_bits, float(m)) for m in kl_per_dim.detach().mean(dim=0)]).sum()


FREE_BITS_MISTAKES = (
    Mistake(
        "max_per_example",
        _fb_max_per_example,
        "The max is applied to each example before averaging. Free bits first average "
        "the KL of each dimension over the batch, then apply max(λ, ·).",
    ),
    Mistake(
        "min_instead",
        _fb_min_instead,
        "It uses min(λ, ·): that caps the KL. Free bits put a floor under each "
        "dimension's KL: max(λ, ·).",
    ),
    Mistake(
        "clamp_total",
        _fb_clamp_total,
        "The floor is applied to the total KL. It applies per latent dimension: "
        "Σ_j max(λ, mean_b KL_bj).",
    ),
    Mistake(
        "free_bits_ignored",
        _fb_ignored,
        "λ has no effect: dimensions whose average KL is below λ must count as λ.",
    ),
    Mistake(
        "mean_over_dims",
        _fb_mean_over_dims,
        "It averages over latent dimensions; the KL of the latent vector is the sum over "
        "dimensions.",
    ),
    Mistake(
        "sum_over_batch",
        _fb_sum_over_batch,
        "It sums over the batch before the max; free bits use the batch *mean* of each "
        "dimension's KL.",
    ),
    Mistake(
        "detached",
        _fb_detached,
        "The values are right but no gradient flows back to the KL (Python floats, "
        "`.item()` or a new tensor built from numbers): use tensor operations such as "
        "`.clamp(min=free_bits)` or `torch.maximum`.",
    ),
)

FREE_BITS_KL = FunctionDrill(
    id="free_bits_kl",
    chapter="06",
    title="Free bits",
    answer_name="free_bits_kl",
    prompt=(
        "Implement `free_bits_kl(kl_per_dim, free_bits) -> scalar tensor` (Kingma et al. "
        "2016): given the KL of every example and latent dimension, `kl_per_dim` of shape "
        "(B, d), and a floor λ = `free_bits` in nats, return Σ_j max(λ, mean_b KL_bj): average "
        "each dimension's KL over the batch, put a floor of λ under it, sum over dimensions.\n\n"
        "Contract: a scalar tensor, differentiable (dimensions below the floor get zero "
        "gradient), the input not modified."
    ),
    hints=(
        "Order matters: first `kl_per_dim.mean(dim=0)` (shape (d,)), then the floor, then the sum.",
        "`tensor.clamp(min=free_bits)` computes max(λ, ·) element-wise and keeps the gradient "
        "where the value is above λ.",
    ),
    solution=(
        "A dimension whose batch-average KL is below λ contributes the constant λ, so the "
        "optimiser gains nothing by pushing it further to the prior, which fights collapse.\n\n"
        "```python\n"
        "def free_bits_kl(kl_per_dim, free_bits):\n"
        "    return kl_per_dim.mean(dim=0).clamp(min=free_bits).sum()\n"
        "```\n\n"
        "The package's version is `vae_course.schedules.free_bits_kl`."
    ),
    reference_name="vae_course.schedules:free_bits_kl",
    mistakes=FREE_BITS_MISTAKES,
    make_probes=free_bits_probes,
    output=ScalarOut("a scalar (the sum over dimensions)", differentiable=True),
    arg_names=("kl_per_dim", "free_bits"),
    wrong_values="Its values are wrong on random KL matrices.",
)


# ----------------------------------------------------------------------------- active_units


def _means(
    g: torch.Generator, n: int, variances: list[float], offsets: list[float]
) -> torch.Tensor:
    """(n, d) posterior means whose columns have exactly these (unbiased) variances."""
    columns = []
    for variance, offset in zip(variances, offsets, strict=True):
        c = torch.randn(n, generator=g, dtype=torch.float64)
        c = (c - c.mean()) / c.std()
        columns.append(offset + c * math.sqrt(variance))
    return torch.stack(columns, dim=1).float()


_VARIANCES = [1e-6, 5e-5, 4e-4, 0.003, 0.006, 0.02, 0.08, 0.5, 2.0, 0.3]
_OFFSETS = [3.0, -2.0, 0.5, 1.5, -0.3, 0.0, 0.2, -1.0, 0.05, 2.0]


def active_units_probes(seed: int = 0) -> list[Probe]:
    """Posterior means with exact per-dimension variances, well away from the thresholds."""
    g = torch.Generator().manual_seed(616 + seed)
    mixed = _means(g, 300, _VARIANCES, _OFFSETS)
    return [
        Probe("mixed_default", (mixed,)),
        Probe("mixed_threshold_0.1", (_means(g, 250, _VARIANCES, _OFFSETS), 0.1)),
        Probe(
            "six_dims",
            (
                _means(
                    g, 200, [0.04, 1e-4, 1.2, 0.002, 0.7, 0.015], [0.5, 1.0, -0.2, 0.3, 0.0, -1.5]
                ),
                0.01,
            ),
        ),
        Probe(
            "none_active",
            (_means(g, 100, [1e-5] * 5, [0.4, -0.4, 1.0, 0.0, 2.0]),),
            group=EDGE,
            label="a latent space with no active dimension",
        ),
        Probe(
            "latent_1",
            (_means(g, 100, [0.5], [0.1]),),
            group=EDGE,
            label="a one-dimensional latent (d = 1)",
        ),
    ]


def _au_std(mu, threshold=0.01):
    return int((mu.std(dim=0) > threshold).sum())


def _au_below(mu, threshold=0.01):
    return int((mu.var(dim=0) < threshold).sum())


def _au_mean(mu, threshold=0.01):
    return int((mu.mean(dim=0) > threshold).sum())


def _au_threshold_ignored(mu, threshold=0.01):
    return int((mu.var(dim=0) > 0.01).sum())


def _au_wrong_axis(mu, threshold=0.01):
    return int((mu.var(dim=1) > threshold).sum())


ACTIVE_UNITS_MISTAKES = (
    Mistake(
        "std_instead_of_variance",
        _au_std,
        "It compares the standard deviation with the threshold; the criterion uses the "
        "variance Var_x(μ_j) > threshold.",
    ),
    Mistake(
        "counts_inactive",
        _au_below,
        "It counts the dimensions whose variance is *below* the threshold: those are the "
        "inactive ones.",
    ),
    Mistake(
        "mean_instead_of_variance",
        _au_mean,
        "It looks at the mean of μ_j; a dimension is active when μ_j *varies* across "
        "examples (its variance over the data exceeds the threshold).",
    ),
    Mistake(
        "threshold_ignored",
        _au_threshold_ignored,
        "The `threshold` argument is ignored (a fixed 0.01 is used): compare with `threshold`.",
    ),
    Mistake(
        "wrong_axis",
        _au_wrong_axis,
        "The variance is taken over dim 1 (the latent dimensions) for each example; take "
        "it over dim 0, across examples, for each latent dimension.",
    ),
)

ACTIVE_UNITS = FunctionDrill(
    id="active_units",
    chapter="06",
    title="Counting active units",
    answer_name="active_units",
    prompt=(
        "Implement `active_units(mu, threshold=0.01) -> int` (Burda et al. 2016): `mu` of "
        "shape (N, d) holds the posterior means of N examples; a latent dimension j is "
        "active when the variance of μ_j across the examples exceeds `threshold`. Return the "
        "number of active dimensions as a Python int; do not modify `mu`."
    ),
    hints=(
        "Take the variance across examples: `mu.var(dim=0)` has shape (d,).",
        "Compare with the threshold, count the True values, and convert with `int(...)`.",
    ),
    solution=(
        "A dimension whose mean does not move with x carries no information about x: the "
        "decoder cannot use it.\n\n"
        "```python\n"
        "def active_units(mu, threshold=0.01):\n"
        "    return int((mu.var(dim=0) > threshold).sum())\n"
        "```\n\n"
        "The package's version is `vae_course.diagnostics.active_units_from_means` (and "
        "`active_units(model, images)` encodes a dataset first)."
    ),
    reference_name="vae_course.diagnostics:active_units_from_means",
    mistakes=ACTIVE_UNITS_MISTAKES,
    make_probes=active_units_probes,
    output=NumberOut(integer=True),
    arg_names=("mu", "threshold"),
    device_check=False,
    wrong_values="It gives the wrong count on random posterior means.",
    success="All checks passed: the right count for several thresholds and latent sizes.",
)


# ----------------------------------------------------------------------------- diagnosis

LATENT_DIM = 16
EPOCHS = 10

DIAGNOSES = (
    (
        "healthy",
        "Healthy: the KL is spread over many latent dimensions and most of them are active.",
    ),
    (
        "collapse",
        "Posterior collapse: the KL is close to 0 nats, no latent dimension is "
        "active, and the decoder ignores z.",
    ),
    (
        "partial",
        "Partial collapse: only a few latent dimensions carry information; the "
        "others sit at the prior.",
    ),
    ("diverged", "The training diverged (the losses became NaN or infinite)."),
    ("overfitting", "Over-fitting: the model memorises the training images."),
)

# The fixes as chapter 6 measured them (Table 3): free bits, a weaker decoder and a smaller β
# change the objective and cured the collapse of its strong decoder at β = 6; KL annealing
# to the same final β did not (the KL drained as β climbed), so it is not graded as a fix.
FIXES = (
    (
        "Free bits: a floor of λ nats of KL per latent dimension.",
        True,
        "dimensions below λ get no gradient towards the prior, so they are not squeezed out "
        "(chapter 6, Table 3: the collapsed model kept its KL and its active units).",
    ),
    (
        "A weaker decoder (fewer layers, no autoregressive connections), so it must use z.",
        True,
        "a decoder that can model x alone has no reason to read z; the weaker decoders of "
        "Table 3 stayed healthy at the same β.",
    ),
    (
        "A smaller KL weight β (e.g. β = 1, the ELBO itself).",
        True,
        "each nat of information in z then costs less; in Table 3 the same model trained at "
        "β = 1 kept z in use.",
    ),
    (
        "KL annealing: warm β up from 0 to the same final value.",
        False,
        "annealing changes the first epochs, not the objective training ends on: in chapter "
        "6's run (Table 3) the annealed model's KL drained as β climbed back to its final "
        "value and the model ended collapsed.",
    ),
    (
        "Increase β to make the KL term stronger.",
        False,
        "a stronger KL weight pushes the posteriors further towards the prior: it makes collapse "
        "worse.",
    ),
)


def _collapse_params(rng: random.Random) -> dict[str, Any]:
    scenario = rng.choice(("healthy", "collapse", "partial"))
    d = LATENT_DIM
    if scenario == "collapse":
        active: list[int] = []
    else:
        n_active = rng.randint(11, 15) if scenario == "healthy" else rng.randint(2, 4)
        active = sorted(rng.sample(range(d), n_active))
    kl_per_dim, mu_variance = [], []
    for j in range(d):
        if j in active:
            high = 4.0 if scenario == "healthy" else 8.0
            kl_per_dim.append(round(rng.uniform(1.0, high), 3))
            mu_variance.append(round(rng.uniform(0.2, 1.5), 4))
        else:
            kl_per_dim.append(round(rng.uniform(0.0005, 0.02), 4))
            mu_variance.append(round(rng.uniform(0.00001, 0.003), 5))
    final_kl = sum(kl_per_dim)
    start_rec = rng.uniform(190, 210)
    end_rec = {
        "healthy": rng.uniform(90, 100),
        "partial": rng.uniform(115, 130),
        "collapse": rng.uniform(150, 165),
    }[scenario]
    reconstruction, kl = [], []
    for epoch in range(EPOCHS):
        t = 1 - math.exp(-0.6 * (epoch + 1))
        reconstruction.append(round(start_rec + (end_rec - start_rec) * t, 2))
        if scenario == "collapse":
            kl.append(round(max(final_kl, 9.0 * math.exp(-1.2 * epoch)), 3))
        else:
            kl.append(round(final_kl * (0.4 + 0.6 * t), 3))
    return {
        "latent_dim": d,
        "epochs": list(range(1, EPOCHS + 1)),
        "reconstruction": reconstruction,
        "kl": kl,
        "kl_per_dim": kl_per_dim,
        "mu_variance": mu_variance,
        "_scenario": scenario,
    }


def _collapse_tables(p: dict[str, Any]) -> list[display.Table]:
    epochs = display.Table(
        ["epoch", "reconstruction (nats)", "KL (nats)"],
        [[e, r, k] for e, r, k in zip(p["epochs"], p["reconstruction"], p["kl"], strict=True)],
        "Training history (per-example averages on the test set)",
    )
    dims = display.Table(
        ["dimension j", "KL_j (nats)", "Var_x(μ_j)"],
        [[j, k, v] for j, (k, v) in enumerate(zip(p["kl_per_dim"], p["mu_variance"], strict=True))],
        "After the last epoch, per latent dimension",
    )
    return [epochs, dims]


def _describe_collapse(p: dict[str, Any]) -> str:
    return (
        "A VAE with a 16-dimensional latent space was trained for 10 epochs on MNIST with a "
        "constant KL weight β. "
        "Count the active units (Var_x(μ_j) > 0.01; the list is `q.mu_variance`), choose "
        "the diagnosis, and choose every fix that would help (none if none is needed)."
    )


def _active_count(p: dict[str, Any]) -> float:
    return float(sum(v > 0.01 for v in p["mu_variance"]))


def _collapse_notes(answer: dict, p: dict[str, Any]) -> list[str]:
    """Where the learner's own count contradicts the learner's own diagnosis."""
    if answer.get("active_units", ...) is ... or answer.get("diagnosis", ...) is ...:
        return []
    count, problem = parse_number(answer.get("active_units"), "active_units")
    chosen, bad_letters = parse_letters(answer.get("diagnosis"), len(DIAGNOSES))
    if problem or count is None or bad_letters or len(chosen) != 1:
        return []
    return _consistency(next(iter(chosen)), count)


def _diagnosis_options(scenario: str) -> tuple[Option, ...]:
    evidence = (
        "compare the KL per dimension and Var_x(μ_j) with the thresholds: how many dimensions "
        "carry information?"
    )
    return tuple(
        Option(
            text,
            key == scenario,
            "it matches the KL per dimension and the active units."
            if key == scenario
            else f"it does not fit this history; {evidence}",
        )
        for key, text in DIAGNOSES
    )


def _fix_options(scenario: str) -> tuple[Option, ...]:
    needed = scenario in ("collapse", "partial")
    return tuple(
        Option(text, helps and needed, why if needed else "this run is healthy: no fix is needed.")
        for text, helps, why in FIXES
    )


def _consistency(letter: str, count: float) -> list[str]:
    key = DIAGNOSES["abcde".index(letter)][0]
    if key == "collapse" and count > 0:
        return [f"Your own count ({count:g} active units) contradicts a full collapse."]
    if key == "healthy" and count <= LATENT_DIM / 4:
        return [f"Your own count ({count:g} active units) hardly fits a healthy run."]
    if key == "partial" and (count == 0 or count > LATENT_DIM / 2):
        return [f"Your own count ({count:g} active units) does not fit a partial collapse."]
    return []


POSTERIOR_COLLAPSE_DIAGNOSIS = MultipartDrill(
    id="posterior_collapse_diagnosis",
    chapter="06",
    title="Diagnose a training run",
    answer_name="answer_collapse_diagnosis",
    prompt=(
        "Get a training history with `q = drills.question('posterior_collapse_diagnosis')` "
        "of a VAE trained with a constant KL weight β (per-epoch reconstruction and KL, and the KL and Var_x(μ_j) of each of the 16 latent "
        "dimensions after training). Give a dict:\n\n"
        "- 'active_units': the number of dimensions with Var_x(μ_j) > 0.01 (an int; your "
        "active_units function applies if you build a tensor, or just count);\n"
        "- 'diagnosis': the letter of the diagnosis;\n"
        "- 'fixes': the letters of every fix that would help, or set() when none is needed.\n\n"
        "Scoring: active units 1 point, diagnosis 2, fixes 2 (partial credit)."
    ),
    hints=(
        "Count the dimensions whose Var_x(μ_j) exceeds 0.01: these are the only ones that "
        "carry information about x.",
        "KL ≈ 0 in every dimension means q(z|x) is the prior for every x: the decoder gets no "
        "information from z. A few dimensions with all the KL is a partial collapse.",
        "Fixes for collapse change the objective: less pressure towards the prior on each "
        "dimension or overall, or a decoder that needs z. Chapter 6's Table 3 measured which "
        "treatments still worked at the end of training.",
    ),
    solution=(
        "Active units = #{j : Var_x(μ_j) > 0.01}. No active unit and KL ≈ 0: posterior "
        "collapse; 2–4 active units carrying all the KL: partial collapse; most dimensions "
        "active: healthy. For (partial) collapse, free bits, a weaker decoder and a smaller β "
        "help (chapter 6, Table 3); KL annealing to the same final β did not last in chapter "
        "6's measurement, and increasing β makes collapse worse.\n\n"
        "```python\n"
        "q = drills.question('posterior_collapse_diagnosis')\n"
        "au = sum(v > 0.01 for v in q.mu_variance)\n"
        "diagnosis = 'b' if au == 0 else ('c' if au <= 4 else 'a')\n"
        "fixes = set() if diagnosis == 'a' else {'a', 'b', 'c'}\n"
        "answer_collapse_diagnosis = {'active_units': au, 'diagnosis': diagnosis, "
        "'fixes': fixes}\n"
        "```"
    ),
    parts=(
        NumericPart(
            "active_units",
            1.0,
            _active_count,
            "the number of dimensions with Var_x(μ_j) > 0.01 (an int)",
            integer=True,
            wrong="`{key}`: not the right count; count the dimensions with Var_x(μ_j) > 0.01 "
            "in q.mu_variance.",
        ),
        ChoicePart(
            "diagnosis",
            2.0,
            options_for=lambda p: _diagnosis_options(p["_scenario"]),
            description="the letter of the diagnosis",
        ),
        ChoicePart(
            "fixes",
            2.0,
            options_for=lambda p: _fix_options(p["_scenario"]),
            multiple=True,
            none_allowed=True,
            description="the letters of every fix that would help, or set() when none is needed",
            none_needed="`{key}`: this run needs a fix; choose the ones that would help.",
            none_right="`{key}`: right, a healthy run needs no fix.",
        ),
    ),
    make_params=_collapse_params,
    describe=_describe_collapse,
    tables=_collapse_tables,
    notes=_collapse_notes,
    prompt_extra=(
        f"Diagnoses:\n{options_text(_diagnosis_options('healthy'))}\n\n"
        f"Fixes:\n{options_text(_fix_options('collapse'))}"
    ),
)


DRILLS = (FREE_BITS_KL, ACTIVE_UNITS, POSTERIOR_COLLAPSE_DIAGNOSIS)
