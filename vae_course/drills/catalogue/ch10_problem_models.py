"""Problem 1 (chapter 10), the VAE from scratch: the model parts and the training step.

Three module drills judge the learner's classes by their traits (``Encoder(latent_dim)``:
x -> (mu, log_var); ``Decoder(latent_dim)``: z -> logits; ``VAE(latent_dim)``: x ->
(logits, mu, log_var)) and a harness drill judges ``vae_train_step`` on a tiny VAE. The
problem's bans are added where the parts are declared (:mod:`.ch10_problem_vae`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..function import FunctionDrill
from ..module import MethodCall, ModuleDrill, call_trait
from ..observation import Mistake, Observation, Outcome, Probe, describe_kind, same_values

SOLUTIONS = "vae_course.olympiad_solutions"
LATENT = 3
BATCH = 6
IMAGE = (1, 28, 28)


def _code_inputs(seed: int) -> dict[str, torch.Tensor]:
    """The decoder's input is a batch of codes (named x: the engine feeds forward its x)."""
    g = torch.Generator().manual_seed(1011 + seed)
    return {"x": torch.randn(BATCH, LATENT, generator=g)}


def _inputs(seed: int) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(1010 + seed)
    return {
        "x": torch.rand(BATCH, *IMAGE, generator=g),
        "z": torch.randn(BATCH, LATENT, generator=g),
    }


def _shape(outcome: Outcome) -> str:
    """'(6, 3)', 'tuple[(6, 3), (6, 3)]', 'a float', ..."""
    if outcome.kind == "tensor":
        return str(tuple(outcome.shape))
    if outcome.parts is not None and outcome.kind.startswith(("tuple", "list")):
        return "tuple[" + ", ".join(_shape(p) for p in outcome.parts) + "]"
    return describe_kind(outcome.kind)


def _range(outcome: Outcome | None) -> str:
    values = None if outcome is None else outcome.values
    if values is None or values.size == 0:
        return "unknown"
    if bool((values < 0).any()):
        return "signed"
    if bool((values <= 1).all()):
        return "probabilities"
    return "non-negative"


CODE = f"({BATCH}, {LATENT})"
IMAGES = str((BATCH, *IMAGE))


def _base_traits(observation: Observation) -> dict[str, Any]:
    facts = observation.measurements
    traits: dict[str, Any] = {"is_module": facts.get("is_module", False)}
    if "construct" in facts:
        traits["construct"] = facts["construct"]
    return traits


def _ready(traits: dict) -> bool:
    return traits.get("construct") == "ok" and traits["is_module"]


def _problems(mine: dict, theirs: dict, words: dict[str, dict[str, str]]) -> list[str]:
    out = []
    for trait, messages in words.items():
        if mine.get(trait) != theirs.get(trait):
            got = str(mine.get(trait))
            out.append(messages.get(got, messages["*"].format(got=got)))
    return out


# ---------------------------------------------------------------------------- Encoder


def encoder_traits(observation: Observation) -> dict[str, Any]:
    """What forward(x) returns; whether μ and log σ² differ and log σ² can be negative."""
    traits = _base_traits(observation)
    if not _ready(traits):
        return traits
    forward = observation.outcomes.get("forward")
    traits["forward"] = call_trait(forward, _shape)
    if traits["forward"] == f"tuple[{CODE}, {CODE}]":
        mu, log_var = forward.parts
        traits["two_heads"] = not same_values(mu.values, log_var.values, 1e-6, 1e-7)
        traits["log_var"] = _range(log_var)
        traits["gradients"] = bool(observation.measurements.get("gradients"))
    return traits


ENCODER_WORDS = {
    "forward": {
        "*": f"forward(x) for x of shape {IMAGES} must return (mu, log_var), each {CODE}; "
        "got {got}.",
        CODE: "forward returns one tensor; a VAE's encoder returns two, (mu, log_var).",
        "missing": "There is no forward method.",
    },
    "two_heads": {"*": "mu and log_var are the same tensor: use two output layers (heads)."},
    "log_var": {
        "*": "log_var is never negative (an exp, softplus or ReLU at the end?); log σ² is any "
        "real number: end its head with a plain Linear layer.",
    },
    "gradients": {"*": "No gradient reaches the parameters from mu and log_var."},
}


class _Encoder(nn.Module):
    def __init__(self, latent_dim: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(784, 32), nn.ReLU())
        self.mu = nn.Linear(32, latent_dim)
        self.log_var = nn.Linear(32, latent_dim)


class EncoderOneHead(_Encoder):
    def forward(self, x):
        h = self.body(x)
        return self.mu(h), self.mu(h)


class EncoderPositiveLogVar(_Encoder):
    def forward(self, x):
        h = self.body(x)
        return self.mu(h), F.softplus(self.log_var(h))


class EncoderOneOutput(_Encoder):
    def forward(self, x):
        return self.mu(self.body(x))


class EncoderFixedSize(_Encoder):
    def __init__(self, latent_dim: int) -> None:
        super().__init__(8)

    def forward(self, x):
        h = self.body(x)
        return self.mu(h), self.log_var(h)


ENCODER = ModuleDrill(
    id="p1_encoder",
    chapter="10",
    title="The encoder",
    answer_name="Encoder",
    prompt=(
        "Write `class Encoder(nn.Module)`, built as `Encoder(latent_dim)`, whose "
        "`forward(x)` maps images x (B, 1, 28, 28) to `(mu, log_var)`, each of shape "
        "(B, latent_dim): the mean and the log-variance of q(z|x). Any MLP or CNN will do."
    ),
    hints=(
        "Flatten, one hidden layer with a ReLU, then two separate Linear heads.",
        "The log-variance head ends with a Linear layer: log σ² may be negative.",
    ),
    solution=(
        "```python\nclass Encoder(nn.Module):\n    def __init__(self, latent_dim):\n"
        "        super().__init__()\n"
        "        self.body = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU())\n"
        "        self.mu = nn.Linear(256, latent_dim)\n"
        "        self.log_var = nn.Linear(256, latent_dim)\n\n"
        "    def forward(self, x):\n        h = self.body(x)\n"
        "        return self.mu(h), self.log_var(h)\n```"
    ),
    reference_name=f"{SOLUTIONS}:ProblemEncoder",
    mistakes=(
        Mistake("one_head", EncoderOneHead, ENCODER_WORDS["two_heads"]["*"]),
        Mistake("positive_log_var", EncoderPositiveLogVar, ENCODER_WORDS["log_var"]["*"]),
        Mistake("one_output", EncoderOneOutput, ENCODER_WORDS["forward"][CODE]),
        Mistake(
            "fixed_size",
            EncoderFixedSize,
            "The code does not have latent_dim entries: use the latent_dim argument for both heads.",
        ),
    ),
    construct_args=(LATENT,),
    make_inputs=_inputs,
    calls=(MethodCall("forward", "__call__", lambda seen: (seen["x"],)),),
    classify=encoder_traits,
    trait_problems=lambda mine, theirs: _problems(mine, theirs, ENCODER_WORDS),
    batch_of_one_shape=(1, LATENT),
    construction="Encoder(latent_dim)",
    success="All checks passed: (mu, log_var), each (B, latent_dim), from two heads.",
)


# ---------------------------------------------------------------------------- Decoder


def decoder_traits(observation: Observation) -> dict[str, Any]:
    traits = _base_traits(observation)
    if not _ready(traits):
        return traits
    forward = observation.outcomes.get("forward")
    traits["forward"] = call_trait(forward, _shape)
    if traits["forward"] == IMAGES:
        traits["range"] = _range(forward)
        traits["gradients"] = bool(observation.measurements.get("gradients"))
    return traits


DECODER_WORDS = {
    "forward": {
        "*": f"forward(z) for z of shape {CODE} must return logits of shape {IMAGES}; got {{got}}.",
        str((BATCH, 784)): "forward returns flat vectors (B, 784): reshape to (B, 1, 28, 28).",
    },
    "range": {
        "probabilities": "forward returns probabilities (a sigmoid at the end?): return "
        "logits, the loss applies the sigmoid.",
        "*": "forward never returns negative values: logits must be able to be negative; end "
        "with a Linear layer.",
    },
    "gradients": {"*": "No gradient reaches the parameters from the logits."},
}


class _Decoder(nn.Module):
    def __init__(self, latent_dim: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(latent_dim, 32), nn.ReLU(), nn.Linear(32, 784))


class DecoderSigmoid(_Decoder):
    def forward(self, z):
        return torch.sigmoid(self.net(z)).view(-1, 1, 28, 28)


class DecoderFlat(_Decoder):
    def forward(self, z):
        return self.net(z)


class DecoderRelu(_Decoder):
    def forward(self, z):
        return torch.relu(self.net(z)).view(-1, 1, 28, 28)


DECODER = ModuleDrill(
    id="p1_decoder",
    chapter="10",
    title="The decoder",
    answer_name="Decoder",
    prompt=(
        "Write `class Decoder(nn.Module)`, built as `Decoder(latent_dim)`, whose `forward(z)` "
        "maps codes z (B, latent_dim) to the logits of p(x|z), shape (B, 1, 28, 28) "
        "(no sigmoid: the loss applies it)."
    ),
    hints=(
        "Linear(latent_dim, 256), ReLU, Linear(256, 784), then `.view(-1, 1, 28, 28)`.",
        "Logits may be negative: no sigmoid or ReLU after the last layer.",
    ),
    solution=(
        "```python\nclass Decoder(nn.Module):\n    def __init__(self, latent_dim):\n"
        "        super().__init__()\n"
        "        self.net = nn.Sequential(nn.Linear(latent_dim, 256), nn.ReLU(), "
        "nn.Linear(256, 784))\n\n"
        "    def forward(self, z):\n        return self.net(z).view(-1, 1, 28, 28)\n```"
    ),
    reference_name=f"{SOLUTIONS}:ProblemDecoder",
    mistakes=(
        Mistake("sigmoid", DecoderSigmoid, DECODER_WORDS["range"]["probabilities"]),
        Mistake("flat", DecoderFlat, DECODER_WORDS["forward"][str((BATCH, 784))]),
        Mistake("relu", DecoderRelu, DECODER_WORDS["range"]["*"]),
    ),
    construct_args=(LATENT,),
    make_inputs=_code_inputs,
    calls=(MethodCall("forward", "__call__", lambda seen: (seen["x"],)),),
    classify=decoder_traits,
    trait_problems=lambda mine, theirs: _problems(mine, theirs, DECODER_WORDS),
    batch_of_one_shape=(1, *IMAGE),
    batch_of_one_label="a batch of one code (B = 1)",
    construction="Decoder(latent_dim)",
    success="All checks passed: logits (B, 1, 28, 28) that can be negative.",
)


# ---------------------------------------------------------------------------- VAE


def vae_traits(observation: Observation) -> dict[str, Any]:
    traits = _base_traits(observation)
    if not _ready(traits):
        return traits
    forward = observation.outcomes.get("forward")
    traits["forward"] = call_trait(forward, _shape)
    if traits["forward"] == f"tuple[{IMAGES}, {CODE}, {CODE}]":
        traits["range"] = _range(forward.parts[0])
        traits["log_var"] = _range(forward.parts[2])
        traits["gradients"] = bool(observation.measurements.get("gradients"))
    return traits


VAE_WORDS = {
    "forward": {
        "*": f"forward(x) must return (logits {IMAGES}, mu {CODE}, log_var {CODE}); got {{got}}.",
        IMAGES: "forward returns only the logits; return (logits, mu, log_var), the loss needs all three.",
        f"tuple[{IMAGES}, {CODE}]": "forward returns two tensors; return (logits, mu, log_var).",
    },
    "range": {
        "probabilities": "The logits are probabilities (a sigmoid in the decoder?): return logits.",
        "*": "The logits are never negative: end the decoder with a Linear layer.",
    },
    "log_var": {"*": "log_var is never negative: its head must end with a Linear layer."},
    "gradients": {"*": "No gradient reaches the parameters from forward's outputs."},
}


class _Vae(nn.Module):
    def __init__(self, latent_dim: int) -> None:
        super().__init__()
        self.enc = nn.Sequential(
            nn.Flatten(), nn.Linear(784, 32), nn.ReLU(), nn.Linear(32, 2 * latent_dim)
        )
        self.dec = nn.Sequential(nn.Linear(latent_dim, 32), nn.ReLU(), nn.Linear(32, 784))

    def parts(self, x):
        mu, log_var = self.enc(x).chunk(2, dim=1)
        z = mu + torch.exp(0.5 * log_var) * torch.randn_like(mu)
        return self.dec(z).view(-1, 1, 28, 28), mu, log_var, z


class VaeLogitsOnly(_Vae):
    def forward(self, x):
        return self.parts(x)[0]


class VaeReturnsCode(_Vae):
    def forward(self, x):
        logits, _, _, z = self.parts(x)
        return logits, z


class VaeSigmoid(_Vae):
    def forward(self, x):
        logits, mu, log_var, _ = self.parts(x)
        return torch.sigmoid(logits), mu, log_var


VAE = ModuleDrill(
    id="p1_vae",
    chapter="10",
    title="The VAE",
    answer_name="VAE",
    prompt=(
        "Write `class VAE(nn.Module)`, built as `VAE(latent_dim)`, from your Encoder, your "
        "sampling function and your Decoder: `forward(x)` returns `(logits, mu, log_var)` "
        "with logits (B, 1, 28, 28) decoded from z = μ + σ ⊙ ε, and mu, log_var (B, latent_dim)."
    ),
    hints=(
        "Keep an `Encoder(latent_dim)` and a `Decoder(latent_dim)` as attributes.",
        "forward: mu, log_var = encoder(x); z = your sampling; return decoder(z), mu, log_var.",
    ),
    solution=(
        "```python\nclass VAE(nn.Module):\n    def __init__(self, latent_dim):\n"
        "        super().__init__()\n        self.encoder = Encoder(latent_dim)\n"
        "        self.decoder = Decoder(latent_dim)\n\n    def forward(self, x):\n"
        "        mu, log_var = self.encoder(x)\n        z = sample_z(mu, log_var)\n"
        "        return self.decoder(z), mu, log_var\n```"
    ),
    reference_name=f"{SOLUTIONS}:ProblemVAE",
    mistakes=(
        Mistake("logits_only", VaeLogitsOnly, VAE_WORDS["forward"][IMAGES]),
        Mistake("returns_code", VaeReturnsCode, VAE_WORDS["forward"][f"tuple[{IMAGES}, {CODE}]"]),
        Mistake("sigmoid", VaeSigmoid, VAE_WORDS["range"]["probabilities"]),
    ),
    construct_args=(LATENT,),
    make_inputs=_inputs,
    calls=(MethodCall("forward", "__call__", lambda seen: (seen["x"],)),),
    classify=vae_traits,
    trait_problems=lambda mine, theirs: _problems(mine, theirs, VAE_WORDS),
    batch_of_one_shape=(1, *IMAGE),
    construction="VAE(latent_dim)",
    success="All checks passed: (logits, mu, log_var) of the right shapes; gradients flow.",
)


# ---------------------------------------------------------------------------- train step


class TinyVAE(nn.Module):
    """784 -> 2·3 -> 784: forward(x) -> (logits, mu, log_var) (the checker's test model)."""

    def __init__(self) -> None:
        super().__init__()
        self.enc = nn.Linear(784, 2 * LATENT)
        self.dec = nn.Linear(LATENT, 784)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mu, log_var = self.enc(x.reshape(x.shape[0], -1)).chunk(2, dim=1)
        z = mu + torch.exp(0.5 * log_var) * torch.randn_like(mu)
        return self.dec(z).reshape(x.shape), mu, log_var


def _parameters(model: nn.Module) -> np.ndarray:
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()]).double().numpy()


def step_probes(seed: int = 0) -> list[Probe]:
    """A fresh tiny VAE, and one whose gradients hold leftovers of an earlier step."""
    return [Probe("fresh", ("fresh", seed, 1.0)), Probe("stale_grads", ("stale_grads", seed, 1.0))]


def beta_step_probes(seed: int = 0) -> list[Probe]:
    """As :func:`step_probes`, with β = 4 and β = 0.5."""
    return [Probe("fresh", ("fresh", seed, 4.0)), Probe("stale_grads", ("stale_grads", seed, 0.5))]


def run_step(fn: Any, case: str, seed: int, beta: float, *, with_beta: bool = False) -> dict:
    """One call of the learner's step on the tiny VAE (noise seeded the same for everyone):
    the value returned and how far the parameters moved."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(7 + seed)
        model = TinyVAE()
    g = torch.Generator().manual_seed(77 + seed)
    x = torch.rand(8, 1, 28, 28, generator=g)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    if case == "stale_grads":
        for p in model.parameters():
            p.grad = torch.full_like(p, 0.05)
    before = _parameters(model)
    torch.manual_seed(777 + seed)  # the ε drawn inside model(x)
    returned = fn(model, optimizer, x, beta) if with_beta else fn(model, optimizer, x)
    return {"returned": returned, "parameter_change": torch.from_numpy(_parameters(model) - before)}


def run_beta_step(fn: Any, case: str, seed: int, beta: float) -> dict:
    return run_step(fn, case, seed, beta, with_beta=True)


def _loss(outcome: Outcome) -> np.ndarray:
    part = outcome.part("returned")
    values = None if part is None else part.values
    return values if values is not None and values.size == 1 else np.array([np.nan])


def step_problems(learner: Observation, ref: Observation) -> tuple[list[str], list[str]]:
    """The loss returned, the update, the update with stale gradients, in that order."""
    fresh, ref_fresh = learner.outcomes["fresh"], ref.outcomes["fresh"]
    returned = fresh.part("returned")
    if returned is None or returned.kind != "number":
        kind = returned.kind if returned is not None else "other"
        return [f"It returns {describe_kind(kind)}; return the loss as a Python float."], []
    if not same_values(_loss(fresh), _loss(ref_fresh), 1e-4, 1e-4):
        return [
            "The returned loss is not the negative ELBO (BCE summed over pixels plus KL summed "
            "over dimensions, averaged over the batch, before the update; call model(x) once)."
        ], []
    delta = fresh.part("parameter_change").values
    if np.all(delta == 0):
        return ["The parameters did not change: call loss.backward() and optimizer.step()."], []
    if not same_values(delta, ref_fresh.part("parameter_change").values, 1e-3, 1e-7):
        return ["The parameters did not move as one optimizer step on that loss would."], []
    stale = learner.outcomes["stale_grads"].part("parameter_change").values
    if not same_values(
        stale, ref.outcomes["stale_grads"].part("parameter_change").values, 1e-3, 1e-7
    ):
        return [
            "With gradients left from an earlier step the update is wrong: zero them first."
        ], []
    return [], []


def _elbo(model, x, beta=1.0, *, kl=True, mean_pixels=False, sum_batch=False, beta_on_rec=False):
    logits, mu, log_var = model(x)
    bce = F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1)
    rec = bce.mean(1) if mean_pixels else bce.sum(1)
    kl_term = 0.5 * (mu.pow(2) + log_var.exp() - log_var - 1).sum(1) if kl else 0.0
    per = beta * rec + kl_term if beta_on_rec else rec + beta * kl_term
    return per.sum() if sum_batch else per.mean()


def _stepper(**options):
    def step(model, optimizer, x, beta=1.0):
        if not options.get("keep_grads"):
            optimizer.zero_grad()
        loss = _elbo(model, x, beta, **{k: v for k, v in options.items() if k != "keep_grads"})
        loss.backward()
        optimizer.step()
        return loss.item()

    return step


STEP_MISTAKES = (
    Mistake(
        "no_kl",
        _stepper(kl=False),
        "The loss has no KL term: the negative ELBO is reconstruction + KL.",
    ),
    Mistake(
        "mean_over_pixels",
        _stepper(mean_pixels=True),
        "The reconstruction averages over pixels; it sums them (then the batch mean).",
    ),
    Mistake(
        "sum_over_batch", _stepper(sum_batch=True), "The loss sums over the batch; average over it."
    ),
    Mistake(
        "no_zero_grad",
        _stepper(keep_grads=True),
        "`optimizer.zero_grad()` is missing: gradients accumulate across steps.",
    ),
)


TRAIN_STEP = FunctionDrill(
    id="p1_train_step",
    chapter="10",
    title="One training step on the negative ELBO",
    answer_name="vae_train_step",
    prompt=(
        "Write `vae_train_step(model, optimizer, x) -> float`: one optimisation step of a VAE "
        "whose `model(x)` returns (logits, mu, log_var). The loss is the negative ELBO: BCE "
        "with logits summed over pixels plus the KL to N(0, I) summed over dimensions, "
        "averaged over the batch. Zero the gradients, call model(x) once, back-propagate, "
        "step, and return the loss as a float."
    ),
    hints=(
        "Reuse your reconstruction_nll and kl_to_prior: (rec + kl).mean().",
        "zero_grad, forward, loss, backward, step, return loss.item().",
    ),
    solution=(
        "```python\ndef vae_train_step(model, optimizer, x):\n    optimizer.zero_grad()\n"
        "    logits, mu, log_var = model(x)\n"
        "    loss = (reconstruction_nll(logits, x) + kl_to_prior(mu, log_var)).mean()\n"
        "    loss.backward()\n    optimizer.step()\n    return loss.item()\n```"
    ),
    reference_name=f"{SOLUTIONS}:vae_train_step",
    mistakes=STEP_MISTAKES,
    make_probes=step_probes,
    output=None,
    arg_names=("model", "optimizer", "x"),
    invoke=run_step,
    problems=step_problems,
    rtol=1e-3,
    atol=1e-7,
    device_check=False,
    success="All checks passed: the negative ELBO, one correct step, a float returned.",
)

BETA_STEP_MISTAKES = (
    Mistake(
        "beta_ignored",
        lambda m, o, x, beta: _stepper()(m, o, x, 1.0),
        "β is ignored: weight the KL by β.",
    ),
    Mistake(
        "beta_on_reconstruction",
        _stepper(beta_on_rec=True),
        "β multiplies the reconstruction; it weights the KL: rec + β·KL.",
    ),
    Mistake(
        "no_zero_grad",
        _stepper(keep_grads=True),
        "`optimizer.zero_grad()` is missing: gradients accumulate across steps.",
    ),
)

__all__ = [
    "BETA_STEP_MISTAKES",
    "DECODER",
    "ENCODER",
    "TRAIN_STEP",
    "VAE",
    "beta_step_probes",
    "run_beta_step",
    "step_problems",
]
