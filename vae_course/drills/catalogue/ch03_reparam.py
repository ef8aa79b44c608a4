"""Chapter 03, the reparameterisation trick: ``reparameterize`` (implementation, stochastic)
and ``reparam_gradient_flow`` (choice + numeric, seeded)."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch

from ..choice import Option, options_text
from ..function import FunctionDrill
from ..multipart import ChoicePart, MultipartDrill, NumericPart
from ..numeric import NumericMistake
from ..observation import EDGE, Mistake, Observation, Probe
from ..outputs import TensorOut
from ..timed import TimedCalls

# ----------------------------------------------------------------------------- reparameterize

# One log-variance per column, chosen so that sigma, sigma^2, |log sigma^2| and 1 all differ.
_LOG_VAR_COLUMNS = (-3.0, -1.5, -0.5, 0.7, 1.6, 2.5)
_ROWS = 400


def reparam_probes(seed: int = 0) -> list[Probe]:
    """Shape/dtype/device probes; the statistics are checked by :func:`reparam_traits`."""
    g = torch.Generator().manual_seed(303 + seed)

    def pair(b: int, d: int) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.randn(b, d, generator=g), torch.rand(b, d, generator=g) * 4 - 2

    return [
        Probe("random_5x3", pair(5, 3)),
        Probe("random_8x2", pair(8, 2)),
        Probe(
            "tiny_variance",
            (torch.randn(4, 3, generator=g), torch.full((4, 3), -30.0)),
            group=EDGE,
            label="very small variances (log σ² = −30)",
        ),
        Probe(
            "huge_variance",
            (torch.randn(4, 3, generator=g), torch.full((4, 3), 30.0)),
            group=EDGE,
            label="very large variances (log σ² = +30)",
            advice="Compute σ as exp(½ log σ²), not as a square root of a product.",
        ),
        Probe(
            "at_prior",
            (torch.zeros(4, 3), torch.zeros(4, 3)),
            group=EDGE,
            label="μ = 0 with log σ² = 0",
        ),
        Probe("batch_1", pair(1, 4), group=EDGE, label="a batch of one (B = 1)"),
        Probe("latent_1", pair(6, 1), group=EDGE, label="a one-dimensional latent (d = 1)"),
    ]


def _classify_scale(col_std: np.ndarray, log_var: np.ndarray) -> str:
    if bool((col_std < 1e-6).all()):
        return "zero"
    candidates = {
        "sigma": np.exp(0.5 * log_var),
        "variance": np.exp(log_var),
        "log_var": np.abs(log_var),
        "one": np.ones_like(log_var),
    }
    for name, expected in candidates.items():
        if bool(np.abs((col_std / expected) - 1).max() < 0.2):
            return name
    return "other"


def _classify_grad(grad: np.ndarray | None, expected: np.ndarray) -> str:
    if grad is None:
        return "none"
    if np.allclose(grad, expected, rtol=1e-3, atol=1e-5):
        return "expected"
    if np.allclose(grad, np.zeros_like(grad)):
        return "zeros"
    return "other"


def _statistics_batch(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(mu, log_var) of shape (400, 6): one log σ² per column."""
    g = torch.Generator().manual_seed(313 + seed)
    mu = torch.randn(_ROWS, len(_LOG_VAR_COLUMNS), generator=g) * 2
    log_var = torch.tensor(_LOG_VAR_COLUMNS).expand(_ROWS, -1).clone()
    return mu, log_var


def reparam_measure(fn: Any, calls: TimedCalls, seed: int) -> dict[str, Any]:
    """z = fn(mu, log_var) twice on a (400, 6) batch, and dz/dmu, dz/dlog σ² of the first.

    Raw numbers only; :func:`reparam_traits` (the judge) reads the statistics off them.
    """
    mu0, lv0 = _statistics_batch(seed)
    outputs = []
    for seed in (11, 12):
        mu, lv = mu0.clone().requires_grad_(True), lv0.clone().requires_grad_(True)
        torch.manual_seed(seed)
        call = calls.call(fn, mu, lv)
        if call.not_implemented:
            return {"not_attempted": True}
        if not call.ok:
            return {"calls": "failed"}
        outputs.append((mu, lv, call.value))
    mu, lv, z = outputs[0]
    z2 = outputs[1][2]
    if not all(isinstance(t, torch.Tensor) and t.shape == mu0.shape for t in (z, z2)):
        return {"output": "not a tensor shaped like mu"}
    measured: dict[str, Any] = {
        "z": z.detach().double().numpy(),
        "z_again": z2.detach().double().numpy(),
        "requires_grad": bool(z.requires_grad),
        "grad_mu": None,
        "grad_log_var": None,
        "grad_failed": False,
    }
    if z.requires_grad:
        call = calls.call(torch.autograd.grad, z.sum(), [mu, lv], allow_unused=True)
        if call.ok:
            for key, grad in zip(("grad_mu", "grad_log_var"), call.value, strict=True):
                measured[key] = None if grad is None else grad.detach().double().numpy()
        else:
            measured["grad_failed"] = True
    return measured


def reparam_traits(measured: dict[str, Any], seed: int) -> dict[str, Any]:
    """Statistical and gradient facts about the measured z = fn(mu, log_var).

    The noise is recovered as z - mu: its spread per column (one log σ² per column) must be
    σ; ε = (z - mu)/σ must be centred; two calls must differ; each row must get its own ε;
    dz/dmu = 1 and dz/dlog σ² = ½ σ ε = ½ (z - mu).
    """
    if "calls" in measured or "output" in measured:
        return {key: measured[key] for key in ("calls", "output") if key in measured}
    mu0, lv0 = (t.double().numpy() for t in _statistics_batch(seed))
    z, z_again = np.asarray(measured["z"]), np.asarray(measured["z_again"])
    noise = z - mu0
    sigma = np.exp(0.5 * lv0)
    equals_mu = bool(np.allclose(noise, np.zeros_like(noise), atol=1e-6))
    scale = _classify_scale(noise.std(axis=0, ddof=1), lv0[0])
    shared = not equals_mu and scale == "zero"
    traits: dict[str, Any] = {
        "equals_mu": equals_mu,
        "fresh": not np.allclose(z, z_again),
        "noise_scale": scale,
        "shared_rows": shared,
        "centered": None if equals_mu or shared else bool(abs((noise / sigma).mean()) < 0.15),
        "requires_grad": bool(measured["requires_grad"]),
        "grad_mu": "none",
        "grad_log_var": "none",
    }
    if measured["requires_grad"]:
        if measured["grad_failed"]:
            traits["grad_mu"] = traits["grad_log_var"] = "error"
        else:
            grad_mu, grad_lv = measured["grad_mu"], measured["grad_log_var"]
            traits["grad_mu"] = _classify_grad(grad_mu, np.ones_like(noise))
            traits["grad_log_var"] = _classify_grad(grad_lv, 0.5 * noise)
    return traits


def reparam_trait_problems(mine: dict[str, Any], reference: dict[str, Any]) -> list[str]:
    """Messages for the facts that differ from the reference's."""
    if "calls" in mine or "output" in mine:
        return ["It does not return z shaped like mu on a larger batch."]
    problems = []
    scale_words = {
        "zero": "z does not spread around μ at all",
        "variance": "the noise is scaled by σ² = exp(log σ²) instead of σ",
        "log_var": "the noise is scaled by log σ² itself instead of σ",
        "one": "the noise ignores σ (it has spread 1 in every dimension)",
        "other": "the spread of z around μ is not σ = exp(½ log σ²)",
    }
    if mine["equals_mu"]:
        problems.append("z equals μ: no noise is added.")
    elif mine["noise_scale"] != reference["noise_scale"]:
        problems.append(
            scale_words.get(mine["noise_scale"], scale_words["other"]).capitalize() + "."
        )
    if not mine["fresh"] and not mine["equals_mu"]:
        problems.append("Two calls give the same z: draw a fresh ε inside the function each call.")
    if mine["shared_rows"]:
        problems.append("Every example (row) gets the same ε: draw ε with the shape of mu.")
    if mine["centered"] is False:
        problems.append("ε is not centred at 0: draw it from a standard normal, not a uniform.")
    if not mine["requires_grad"]:
        problems.append("z carries no gradient: the result was detached from μ and log σ².")
    elif (
        mine["grad_mu"] != reference["grad_mu"] or mine["grad_log_var"] != reference["grad_log_var"]
    ):
        problems.append(
            "The gradients of z with respect to μ and log σ² are not those of z = μ + σ·ε."
        )
    return problems or ["It does not behave like z = μ + σ·ε with ε ~ N(0, I)."]


def _std(log_var: torch.Tensor) -> torch.Tensor:
    return torch.exp(0.5 * log_var)


def _rp_variance_as_sigma(mu, log_var):
    return mu + torch.exp(log_var) * torch.randn_like(mu)


def _rp_log_var_as_sigma(mu, log_var):
    return mu + log_var * torch.randn_like(mu)


def _rp_returning_mu(mu, log_var):
    return mu


def _rp_torch_normal(mu, log_var):
    return torch.normal(mu, _std(log_var))


def _rp_detached(mu, log_var):
    return (mu + _std(log_var) * torch.randn_like(mu)).detach()


def _rp_no_grad(mu, log_var):
    with torch.no_grad():
        return mu + _std(log_var) * torch.randn_like(mu)


def _rp_fixed_eps(mu, log_var):
    eps = torch.randn(mu.shape, generator=torch.Generator().manual_seed(0))
    return mu + _std(log_var) * eps


def _rp_uniform(mu, log_var):
    return mu + _std(log_var) * torch.rand_like(mu)


def _rp_shared_eps(mu, log_var):
    return mu + _std(log_var) * torch.randn(mu.shape[-1])


def _uses_no_grad(source: str) -> bool:
    return any(word in source for word in ("no_grad", "inference_mode", "set_grad_enabled"))


def _detached_matcher(learner: Observation, other: Observation) -> bool:
    return learner.traits == other.traits and not _uses_no_grad(learner.source)


def _no_grad_matcher(learner: Observation, other: Observation) -> bool:
    return learner.traits == other.traits and _uses_no_grad(learner.source)


REPARAM_MISTAKES = (
    Mistake(
        "variance_as_sigma",
        _rp_variance_as_sigma,
        "The noise is multiplied by the variance exp(log σ²) = σ². The standard deviation "
        "is σ = exp(½ log σ²).",
    ),
    Mistake(
        "log_var_as_sigma",
        _rp_log_var_as_sigma,
        "The noise is multiplied by log σ² itself. The network predicts log σ², so "
        "σ = exp(½ · log_var).",
    ),
    Mistake(
        "returning_mu",
        _rp_returning_mu,
        "It returns μ: that is the deterministic code used at inference, not a sample. "
        "Add σ·ε with ε ~ N(0, I).",
    ),
    Mistake(
        "torch_normal",
        _rp_torch_normal,
        "`torch.normal(mu, std)` samples without a gradient path to μ and σ (its gradient "
        "is zero): that is exactly what the trick avoids. Write z = μ + σ·ε with "
        "ε = torch.randn_like(mu).",
    ),
    Mistake(
        "detached",
        _rp_detached,
        "z is detached from μ and log σ² (`.detach()`, `.data`, numpy): no gradient "
        "reaches the encoder.",
        matches=_detached_matcher,
    ),
    Mistake(
        "no_grad",
        _rp_no_grad,
        "z is computed under `torch.no_grad()`: no gradient reaches the encoder. Compute it "
        "normally.",
        matches=_no_grad_matcher,
    ),
    Mistake(
        "fixed_eps",
        _rp_fixed_eps,
        "ε is the same on every call (a fixed seed or a stored tensor): the model would "
        "see one fixed z per input. Draw a fresh ε inside the function each time.",
    ),
    Mistake(
        "uniform_eps",
        _rp_uniform,
        "ε comes from a uniform distribution (`rand_like`); it must be standard normal "
        "(`randn_like`).",
    ),
    Mistake(
        "shared_eps",
        _rp_shared_eps,
        "One ε is shared by every example in the batch: draw ε with the full shape of mu "
        "(`torch.randn_like(mu)`).",
    ),
)

REPARAMETERIZE = FunctionDrill(
    id="reparameterize",
    chapter="03",
    title="The reparameterisation trick",
    answer_name="reparameterize",
    prompt=(
        "Implement `reparameterize(mu, log_var) -> z`: draw z ~ N(μ, diag σ²) so that "
        "gradients flow back to `mu` and `log_var` (= log σ²), both tensors of shape (B, d).\n\n"
        "Contract: z has the shape, dtype and device of `mu`; it is differentiable in both "
        "inputs; each call draws fresh standard-normal noise for every element; the inputs "
        "are not modified."
    ),
    hints=(
        "A sample from N(μ, σ²) can be written μ + σ·ε with ε ~ N(0, 1): all randomness "
        "moves into ε, which does not depend on the parameters.",
        "σ = exp(½ · log σ²). `torch.randn_like(mu)` gives ε with mu's shape, dtype and device.",
        "Do not use `torch.normal`, `.detach()` or `torch.no_grad()`: they cut the gradient.",
    ),
    solution=(
        "Move the randomness into ε ~ N(0, I), drawn independently of the parameters; then "
        "z = μ + σ ⊙ ε is a differentiable function of μ and σ with ∂z/∂μ = 1 and "
        "∂z/∂σ = ε, and it has the right distribution N(μ, σ²).\n\n"
        "```python\n"
        "def reparameterize(mu, log_var):\n"
        "    std = torch.exp(0.5 * log_var)\n"
        "    eps = torch.randn_like(std)\n"
        "    return mu + std * eps\n"
        "```\n\n"
        "The package's version is `vae_course.models.reparameterize`."
    ),
    reference_name="vae_course.models:reparameterize",
    mistakes=REPARAM_MISTAKES,
    make_probes=reparam_probes,
    output=TensorOut(lambda p: tuple(p.args[0].shape), "the shape of mu"),
    arg_names=("mu", "log_var"),
    compare_values=False,
    measure=reparam_measure,
    traits=reparam_traits,
    trait_problems=reparam_trait_problems,
    success=(
        "All checks passed: z has mu's shape, spreads by σ around μ with fresh standard-normal "
        "noise per element and call, and gradients reach μ and log σ²."
    ),
)


# ----------------------------------------------------------------------------- gradient flow

WHY_OPTIONS = (
    Option(
        "Sampling z ~ N(μ, σ²) directly is already differentiable; the trick only makes "
        "training faster.",
        False,
        "a sample drawn by a sampler (e.g. torch.normal) has no gradient path back to μ and "
        "σ; speed is not the point.",
    ),
    Option(
        "It writes z = μ + σ·ε with ε ~ N(0, 1) drawn independently of μ and σ, so z is a "
        "differentiable function of the parameters and the randomness sits in ε.",
        True,
        "the sample keeps its distribution N(μ, σ²) and becomes a deterministic, "
        "differentiable function of μ and σ given ε.",
    ),
    Option(
        "It reduces the variance of z.",
        False,
        "z has the same distribution N(μ, σ²) either way; what changes is how gradients flow.",
    ),
    Option(
        "It gives a biased but lower-variance gradient estimate.",
        False,
        "the reparameterised gradient is unbiased: E_ε[∇ f(μ + σε)] = ∇ E_z[f(z)].",
    ),
    Option(
        "It is needed because random numbers cannot be drawn on a GPU.",
        False,
        "torch.randn runs on every device; the issue is differentiability, not hardware.",
    ),
)


def _gradient_flow_params(rng: random.Random) -> dict[str, Any]:
    eps = 0.0
    while abs(eps) < 0.2 or abs(abs(eps) - 1) < 0.05:
        eps = round(rng.uniform(-2.0, 2.0), 2)
    return {
        "mu": round(rng.uniform(-2.0, 2.0), 1),
        "sigma": rng.choice((0.5, 0.8, 1.2, 1.5, 2.0, 2.5)),
        "eps": eps,
    }


_MU_MISTAKES = (
    NumericMistake(
        "eps",
        lambda p: p["eps"],
        "For ∂z/∂μ you gave ε; differentiate z = μ + σ·ε with respect to μ, holding σ and ε fixed.",
    ),
    NumericMistake(
        "sigma", lambda p: p["sigma"], "For ∂z/∂μ you gave σ; μ appears in z without any factor."
    ),
    NumericMistake(
        "zero", lambda p: 0.0, "∂z/∂μ is not 0: with the trick, z depends on μ directly."
    ),
)
_SIGMA_MISTAKES = (
    NumericMistake(
        "sigma",
        lambda p: p["sigma"],
        "For ∂z/∂σ you gave σ itself; differentiate σ·ε with respect to σ (ε is a "
        "constant once drawn).",
    ),
    NumericMistake(
        "z",
        lambda p: p["mu"] + p["sigma"] * p["eps"],
        "For ∂z/∂σ you gave the value of z, not its derivative.",
    ),
    NumericMistake("mu", lambda p: p["mu"], "For ∂z/∂σ you gave μ; μ does not multiply σ."),
    NumericMistake(
        "one", lambda p: 1.0, "∂z/∂σ is not 1: σ is multiplied by something in z = μ + σ·ε."
    ),
    NumericMistake(
        "zero", lambda p: 0.0, "∂z/∂σ is not 0: the trick exists precisely so that z depends on σ."
    ),
)


_WRONG_DERIVATIVE = (
    "`{key}`: not right for your question (seed {seed}); differentiate z = μ + σ·ε term by term."
)


def _describe_gradient_flow(p: dict[str, Any]) -> str:
    return (
        f"z = μ + σ·ε with μ = {p['mu']:g}, σ = {p['sigma']:g} and the drawn noise "
        f"ε = {p['eps']:g}. Give ∂z/∂μ and ∂z/∂σ at this sample (4 decimals), and the "
        "letter of the statement explaining why the trick is needed."
    )


REPARAM_GRADIENT_FLOW = MultipartDrill(
    id="reparam_gradient_flow",
    chapter="03",
    title="Why the trick works, and where the gradients go",
    answer_name="answer_reparam_gradient_flow",
    prompt=(
        "Give a dict `{'why': letter, 'dz_dmu': float, 'dz_dsigma': float}`: the statement "
        "that explains why sampling needs the reparameterisation trick, and the partial "
        "derivatives ∂z/∂μ and ∂z/∂σ of z = μ + σ·ε at the sample given by "
        "`drills.question('reparam_gradient_flow')` (4 decimals). Scoring: why 1 point, "
        "each derivative 2 points."
    ),
    hints=(
        "Once ε is drawn it is a constant: z = μ + σ·ε is then an ordinary function of μ and σ.",
        "Differentiate term by term: μ appears alone; σ is multiplied by ε.",
        "The trick is about gradients, not about speed, variance of z, or hardware.",
    ),
    solution=(
        "A sampler's output has no gradient path to its parameters. Writing z = μ + σ·ε "
        "with ε ~ N(0, 1) drawn independently moves the randomness into ε; then ∂z/∂μ = 1 "
        "and ∂z/∂σ = ε (the drawn noise), and the gradient estimate is unbiased.\n\n"
        "```python\n"
        "q = drills.question('reparam_gradient_flow')\n"
        "answer_reparam_gradient_flow = {'why': 'b', 'dz_dmu': 1.0, 'dz_dsigma': q.eps}\n"
        "```"
    ),
    parts=(
        ChoicePart(
            "why",
            1.0,
            WHY_OPTIONS,
            description="the letter of the statement explaining why the trick is needed",
        ),
        NumericPart(
            "dz_dmu",
            2.0,
            lambda p: 1.0,
            "∂z/∂μ at the sample (4 decimals)",
            mistakes=_MU_MISTAKES,
            wrong=_WRONG_DERIVATIVE,
        ),
        NumericPart(
            "dz_dsigma",
            2.0,
            lambda p: p["eps"],
            "∂z/∂σ at the sample (4 decimals)",
            mistakes=_SIGMA_MISTAKES,
            wrong=_WRONG_DERIVATIVE,
        ),
    ),
    make_params=_gradient_flow_params,
    describe=_describe_gradient_flow,
    prompt_extra="Options for 'why':\n" + options_text(WHY_OPTIONS),
)


DRILLS = (REPARAMETERIZE, REPARAM_GRADIENT_FLOW)
