"""Chapter 02, the VAE module: ``my_vae``, a module drill on the learner's ``MyVAE`` class.

Contract: ``MyVAE(latent_dim)`` with ``encode(x) -> (mu, log_var)``, each (B, d);
``reparameterize(mu, log_var) -> z = mu + exp(½ log_var) ⊙ eps``, eps ~ N(0, I);
``decode(z) -> logits`` (B, 1, 28, 28); ``forward(x) -> (logits, mu, log_var)`` with the
logits of a *sampled* z. The traits the judge compares:

* the shapes of encode / decode / forward, and whether decode returns logits;
* the range of the log σ² head on large inputs (a ReLU, sigmoid or softplus on it cannot
  output a negative log σ², i.e. σ < 1);
* whether μ and log σ² come from one head (equal values);
* whether forward returns encode's (μ, log σ²) in that order, decodes a random sample (two
  calls differ, and differ from decode(μ)) or the mean;
* the statistics of 16384 draws of ``reparameterize`` at μ = 1, log σ² = log 4: mean 1,
  standard deviation 2, the normal's 68% within one σ, and a gradient back to μ and log σ².
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..module import MethodCall, ModuleDrill, call_trait, module_call_traits
from ..observation import Mistake, Observation, Outcome, same_values
from .ch01_autoencoder import _value_range

IMAGE_SHAPE = (1, 28, 28)
LATENT = 4
BATCH = 8
DRAWS = 4096  # rows of the reparameterize probe, each LATENT wide
PROBE_MU = 1.0
PROBE_STD = 2.0  # log σ² = log 4
INPUT_SCALE = 40.0  # large inputs drive the log σ² head far from 0


def _inputs(seed: int) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(202 + seed)
    x = torch.rand(BATCH, *IMAGE_SHAPE, generator=g)
    return {
        "x": x,
        "x_big": x * INPUT_SCALE,
        "z": torch.randn(BATCH, LATENT, generator=g),
        "mu_probe": torch.full((DRAWS, LATENT), PROBE_MU),
        "log_var_probe": torch.full((DRAWS, LATENT), 2 * math.log(PROBE_STD)),
    }


def _first(seen: dict[str, Any], name: str) -> torch.Tensor:
    return seen[name][0].detach().clone()


def _with_grad(seen: dict[str, Any]) -> tuple:
    return (
        seen["mu_probe"].clone().requires_grad_(True),
        seen["log_var_probe"].clone().requires_grad_(True),
    )


MY_VAE_CALLS = (
    MethodCall("encode", "encode", lambda seen: (seen["x"],)),
    MethodCall("encode_big", "encode", lambda seen: (seen["x_big"],)),
    MethodCall("decode", "decode", lambda seen: (seen["z"],)),
    MethodCall("decode_mean", "decode", lambda seen: (_first(seen, "encode"),)),
    MethodCall("forward", "__call__", lambda seen: (seen["x"],)),
    MethodCall("forward_again", "__call__", lambda seen: (seen["x"],)),
    MethodCall("reparameterize", "reparameterize", _with_grad),
)


def _classify_pair(outcome: Outcome) -> str:
    if outcome.kind == "tensor":
        return "one tensor"
    if not outcome.kind.startswith("tuple(") or not outcome.parts:
        return "not a pair"
    shapes = [tuple(p.shape) if p.kind == "tensor" else None for p in outcome.parts]
    if len(shapes) != 2 or None in shapes:
        return f"tuple of {len(shapes)}"
    if shapes == [(BATCH, LATENT)] * 2:
        return "ok"
    if shapes[0] == shapes[1] and len(shapes[0]) == 2 and shapes[0][0] == BATCH:
        return "ignores latent_dim"
    return f"shapes {shapes}"


def _classify_image(outcome: Outcome) -> str:
    if outcome.kind != "tensor":
        return "not a tensor"
    shape = tuple(outcome.shape)
    if shape == (BATCH, *IMAGE_SHAPE):
        return "image"
    if shape == (BATCH, 784):
        return "flat"
    return f"shape {shape}"


def _classify_forward(outcome: Outcome) -> str:
    if outcome.kind == "tensor":
        return "one tensor"
    if not outcome.kind.startswith(("tuple(", "list[")) or not outcome.parts:
        return "not a tuple"
    if len(outcome.parts) != 3:
        return f"{len(outcome.parts)} values"
    if _classify_image(outcome.parts[0]) != "image":
        return "first item not logits"
    return "triple"


def _log_var_range(values: np.ndarray | None) -> str:
    """The range of log σ² on large inputs: "real", "clipped at 0", "(0, 1)", "positive"."""
    if values is None or values.size == 0 or not np.all(np.isfinite(values)):
        return "unknown"
    if bool((values < 0).any()):
        return "real"
    if bool((values == 0).any()):
        return "clipped at 0"
    if bool((values < 1).all()):
        return "(0, 1)"
    return "positive"


def _sample_traits(outcome: Outcome) -> dict[str, Any]:
    """Mean, standard deviation, share within one σ and gradient of the probe's draws."""
    if outcome.kind != "tensor" or tuple(outcome.shape) != (DRAWS, LATENT):
        return {"sample": "not (B, d)" if outcome.kind == "tensor" else outcome.kind}
    values = outcome.values
    if values is None or not np.all(np.isfinite(values)):
        return {"sample": "not finite"}
    std = float(values.std())
    traits: dict[str, Any] = {"sample": "ok"}
    if std < 1e-6:
        traits["sample_std"] = "no noise"
    else:
        ratio = std / PROBE_STD
        closest = min(((abs(ratio - r), name) for r, name in _STD_RATIOS.items()))
        traits["sample_std"] = closest[1] if closest[0] < 0.1 * ratio else "other"
    traits["sample_mean"] = "mu" if abs(float(values.mean()) - PROBE_MU) < 0.1 else "shifted"
    if traits["sample_std"] == "right" and traits["sample_mean"] == "mu":
        within = float((np.abs(values - PROBE_MU) < std).mean())
        traits["sample_normal"] = abs(within - 0.6827) < 0.03
    traits["sample_grad"] = bool(outcome.requires_grad and all(outcome.requires_grad))
    return traits


_STD_RATIOS = {1.0: "right", PROBE_STD: "variance", 1 / PROBE_STD: "unit"}


def my_vae_traits(observation: Observation) -> dict[str, Any]:
    """The facts about the learner's MyVAE (see the module docstring)."""
    facts, outcomes = observation.measurements, observation.outcomes
    traits, built = module_call_traits(
        observation,
        (("encode", _classify_pair), ("decode", _classify_image), ("forward", _classify_forward)),
    )
    if not built:
        return traits
    encode, big = outcomes.get("encode"), outcomes.get("encode_big")
    if traits.get("encode") == "ok":
        mu, log_var = encode.parts
        traits["one_head"] = same_values(mu.values, log_var.values, 1e-6, 1e-7)
        if big is not None and _classify_pair(big) == "ok":
            traits["log_var_range"] = _log_var_range(big.parts[1].values)
    if traits.get("decode") in ("image", "flat"):
        traits["decode_range"] = _value_range(outcomes["decode"].values)
    forward, again = outcomes.get("forward"), outcomes.get("forward_again")
    if traits.get("forward") == "triple" and traits.get("encode") == "ok":
        logits, f_mu, f_log_var = forward.parts
        mu, log_var = encode.parts
        if same_values(f_mu.values, mu.values, 1e-4, 1e-5) and same_values(
            f_log_var.values, log_var.values, 1e-4, 1e-5
        ):
            traits["forward_heads"] = "encode's"
        elif same_values(f_mu.values, log_var.values, 1e-4, 1e-5):
            traits["forward_heads"] = "swapped"
        else:
            traits["forward_heads"] = "other"
        if again is not None and again.parts and len(again.parts) == 3:
            traits["forward_random"] = not same_values(
                logits.values, again.parts[0].values, 1e-6, 1e-7
            )
        mean = outcomes.get("decode_mean")
        if mean is not None and mean.kind == "tensor":
            traits["forward_decodes_mean"] = same_values(logits.values, mean.values, 1e-4, 1e-5)
        traits["gradients"] = bool(facts.get("gradients"))
    sample = outcomes.get("reparameterize")
    if sample is not None:
        if sample.kind == "missing" or sample.failed_call:
            traits["sample"] = call_trait(sample, lambda o: o.kind)
        else:
            traits.update(_sample_traits(sample))
    return traits


def my_vae_problems(mine: dict, theirs: dict) -> list[str]:
    """The messages for the traits of the learner's class that differ from the reference's."""
    problems: list[str] = [
        f"{name} is still running after the time limit (an endless loop, or a very slow step?)."
        for name, key in (("forward(x)", "forward"), ("reparameterize", "sample"))
        if mine.get(key) == "timeout"
    ]
    if problems:
        return problems

    def differs(key: str) -> bool:
        return key in theirs and mine.get(key) != theirs.get(key)

    if differs("encode"):
        value = str(mine.get("encode"))
        problems.append(
            {
                "one tensor": "encode returns one tensor; a VAE's encode returns the pair "
                "(mu, log_var), each (B, latent_dim).",
                "ignores latent_dim": "encode returns (mu, log_var) of the wrong width for "
                f"latent_dim={LATENT}: use the latent_dim argument for both heads.",
                "missing": "There is no encode method.",
            }.get(
                value, f"encode(x) should return (mu, log_var), each (B, latent_dim); got: {value}."
            )
        )
    elif mine.get("one_head"):
        problems.append("encode returns the same tensor for mu and log_var: use two heads.")
    elif differs("log_var_range"):
        problems.append(
            "The log σ² head cannot output negative values (range: "
            f"{mine.get('log_var_range')}), so σ < 1 is impossible: end it with a Linear layer."
        )
    if differs("decode"):
        value = str(mine.get("decode"))
        problems.append(
            {
                "flat": "decode returns (B, 784); reshape to images (B, 1, 28, 28).",
                "missing": "There is no decode method.",
            }.get(value, f"decode(z) should return logits shaped (B, 1, 28, 28); got: {value}.")
        )
    elif differs("decode_range"):
        problems.append("decode does not return logits (its outputs are never negative).")
    if differs("forward"):
        value = str(mine.get("forward"))
        problems.append(f"forward(x) should return (logits, mu, log_var); got: {value}.")
    else:
        for key, words in (
            ("forward_heads", "forward does not return encode's (mu, log_var) in that order."),
            ("forward_decodes_mean", "forward decodes the mean mu instead of a sample z."),
            ("forward_random", "forward gives the same logits on every call: z is not random."),
            ("gradients", "No gradient reaches the parameters from forward's outputs."),
        ):
            if differs(key):
                problems.append(words)
    for key, words in (
        ("sample", "reparameterize(mu, log_var) should return z shaped like mu"),
        ("sample_mean", "The draws of reparameterize are not centred on mu"),
        ("sample_std", "The draws of reparameterize do not have standard deviation exp(½ log σ²)"),
        ("sample_normal", "The draws of reparameterize are not normally distributed"),
        ("sample_grad", "No gradient flows from reparameterize's z back to mu and log_var"),
    ):
        if differs(key):
            problems.append(f"{words} (got: {mine.get(key)}).")
            break
    if not problems and mine != theirs:
        problems.append(
            "The model does not follow the contract (encode, reparameterize, decode, forward)."
        )
    return problems


# ----------------------------------------------------------------------------- catalogue


class _SmallVAE(nn.Module):
    """784-64-(mu, log_var) / latent-64-784: the base of the catalogued mistakes."""

    def __init__(self, latent_dim):
        super().__init__()
        self.latent_dim = latent_dim
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(784, 64), nn.ReLU())
        self.mu_head = nn.Linear(64, latent_dim)
        self.log_var_head = nn.Linear(64, latent_dim)
        self.decoder = nn.Sequential(nn.Linear(latent_dim, 64), nn.ReLU(), nn.Linear(64, 784))

    def encode(self, x):
        h = self.body(x)
        return self.mu_head(h), self.log_var_head(h)

    def reparameterize(self, mu, log_var):
        return mu + torch.exp(0.5 * log_var) * torch.randn_like(mu)

    def decode(self, z):
        return self.decoder(z).view(-1, 1, 28, 28)

    def forward(self, x):
        mu, log_var = self.encode(x)
        return self.decode(self.reparameterize(mu, log_var)), mu, log_var


class ReluLogVar(_SmallVAE):
    """Catalogued mistake: a ReLU on the log σ² head."""

    def encode(self, x):
        h = self.body(x)
        return self.mu_head(h), torch.relu(self.log_var_head(h))


class SigmoidLogVar(_SmallVAE):
    """Catalogued mistake: a sigmoid on the log σ² head."""

    def encode(self, x):
        h = self.body(x)
        return self.mu_head(h), torch.sigmoid(self.log_var_head(h))


class SoftplusLogVar(_SmallVAE):
    """Catalogued mistake: a softplus on the log σ² head."""

    def encode(self, x):
        h = self.body(x)
        return self.mu_head(h), F.softplus(self.log_var_head(h))


class SigmoidDecoder(_SmallVAE):
    """Catalogued mistake: decode ends with a sigmoid (the loss applies it again)."""

    def decode(self, z):
        return torch.sigmoid(self.decoder(z)).view(-1, 1, 28, 28)


class SharedHead(_SmallVAE):
    """Catalogued mistake: one head for mu and log σ²."""

    def encode(self, x):
        out = self.mu_head(self.body(x))
        return out, out


class ForwardDecodesMean(_SmallVAE):
    """Catalogued mistake: forward decodes mu (no sample)."""

    def forward(self, x):
        mu, log_var = self.encode(x)
        return self.decode(mu), mu, log_var


class FixedLatentSize(_SmallVAE):
    """Catalogued mistake: the latent size is hard-coded."""

    def __init__(self, latent_dim):
        super().__init__(20)


class FlatDecoder(_SmallVAE):
    """Catalogued mistake: decode returns (B, 784)."""

    def decode(self, z):
        return self.decoder(z)


class StdIsExpLogVar(_SmallVAE):
    """Catalogued mistake: σ = exp(log σ²) (the ½ is missing)."""

    def reparameterize(self, mu, log_var):
        return mu + torch.exp(log_var) * torch.randn_like(mu)


class UniformNoise(_SmallVAE):
    """Catalogued mistake: eps ~ U(0, 1) (rand_like) instead of N(0, I)."""

    def reparameterize(self, mu, log_var):
        return mu + torch.exp(0.5 * log_var) * torch.rand_like(mu)


class FixedNoise(_SmallVAE):
    """Catalogued mistake: the same eps on every call (a generator re-seeded each time)."""

    def reparameterize(self, mu, log_var):
        g = torch.Generator(device=mu.device).manual_seed(0)
        eps = torch.randn(mu.shape, generator=g, device=mu.device, dtype=mu.dtype)
        return mu + torch.exp(0.5 * log_var) * eps


class DetachedSample(_SmallVAE):
    """Catalogued mistake: z is detached from mu and log σ²."""

    def reparameterize(self, mu, log_var):
        return (mu + torch.exp(0.5 * log_var) * torch.randn_like(mu)).detach()


class NoiseIgnoresLogVar(_SmallVAE):
    """Catalogued mistake: z = mu + eps (σ = 1 whatever log σ² says)."""

    def reparameterize(self, mu, log_var):
        return mu + torch.randn_like(mu)


class ForwardSwapsHeads(_SmallVAE):
    """Catalogued mistake: forward returns (logits, log_var, mu)."""

    def forward(self, x):
        mu, log_var = self.encode(x)
        return self.decode(self.reparameterize(mu, log_var)), log_var, mu


class ForwardReturnsLogits(_SmallVAE):
    """Catalogued mistake: forward returns the logits only."""

    def forward(self, x):
        mu, log_var = self.encode(x)
        return self.decode(self.reparameterize(mu, log_var))


MY_VAE_MISTAKES = (
    Mistake(
        "relu_log_var",
        ReluLogVar,
        "The log σ² head ends with a ReLU, so log σ² ≥ 0 and σ ≥ 1: the encoder can never "
        "say it is sure (σ < 1). log σ² is any real number: no activation on that head.",
    ),
    Mistake(
        "sigmoid_log_var",
        SigmoidLogVar,
        "The log σ² head ends with a sigmoid, so log σ² lies in (0, 1) and σ in (1, 1.65): "
        "the regions can neither shrink nor grow. No activation on the log σ² head.",
    ),
    Mistake(
        "softplus_log_var",
        SoftplusLogVar,
        "The log σ² head ends with a softplus: that makes log σ² positive (σ > 1), but log σ² "
        "needs no positivity. Softplus is for a head that predicts σ itself; a log σ² head is "
        "a plain Linear layer.",
    ),
    Mistake(
        "sigmoid_decoder",
        SigmoidDecoder,
        "decode returns probabilities (a sigmoid at the end); the loss (BCE with logits) "
        "applies the sigmoid again. Return the logits.",
    ),
    Mistake(
        "shared_head",
        SharedHead,
        "mu and log_var are the same tensor: one head serves both. A VAE needs two heads "
        "(two Linear layers on the hidden features), one for μ and one for log σ².",
    ),
    Mistake(
        "forward_decodes_mean",
        ForwardDecodesMean,
        "forward decodes μ itself instead of a sample z = μ + σ ⊙ ε: the decoder never sees "
        "the region, only its centre, and the model is an autoencoder with a KL term. "
        "Decode self.reparameterize(mu, log_var).",
    ),
    Mistake(
        "fixed_latent_size",
        FixedLatentSize,
        "The latent size is hard-coded: (mu, log_var) do not have latent_dim columns. Use the "
        "latent_dim argument for both heads and the decoder's first layer.",
    ),
    Mistake(
        "flat_decoder",
        FlatDecoder,
        "decode returns flat vectors (B, 784); reshape the logits to images (B, 1, 28, 28), "
        "e.g. `.view(-1, 1, 28, 28)`.",
    ),
    Mistake(
        "std_is_exp_log_var",
        StdIsExpLogVar,
        "reparameterize scales ε by exp(log σ²) = σ², the variance: the standard deviation is "
        "exp(½ log σ²).",
    ),
    Mistake(
        "uniform_noise",
        UniformNoise,
        "reparameterize draws ε uniformly in [0, 1) (`torch.rand_like`): ε must be standard "
        "normal, `torch.randn_like(mu)`.",
    ),
    Mistake(
        "fixed_noise",
        FixedNoise,
        "forward returns the same logits every time: the noise ε is the same on every call "
        "(a generator seeded inside reparameterize?). Draw fresh noise, `torch.randn_like(mu)`.",
    ),
    Mistake(
        "detached_sample",
        DetachedSample,
        "z is cut from the graph (`.detach()`, `torch.no_grad()` or `.sample()`): no gradient "
        "reaches μ and log σ² through the sample, so the encoder learns nothing from the "
        "reconstruction.",
    ),
    Mistake(
        "noise_ignores_log_var",
        NoiseIgnoresLogVar,
        "reparameterize returns μ + ε: σ is always 1, whatever log σ² says. Scale the noise "
        "by exp(½ log_var).",
    ),
    Mistake(
        "forward_swaps_heads",
        ForwardSwapsHeads,
        "forward returns (logits, log_var, mu): the order is (logits, mu, log_var).",
    ),
    Mistake(
        "forward_returns_logits",
        ForwardReturnsLogits,
        "forward returns the logits only; it must return (logits, mu, log_var), the three "
        "things the loss needs.",
    ),
)

MY_VAE = ModuleDrill(
    id="my_vae",
    chapter="02",
    title="A VAE module for MNIST",
    answer_name="MyVAE",
    prompt=(
        "Write a class `MyVAE(nn.Module)` constructed as `MyVAE(latent_dim)` with four "
        "methods:\n\n"
        "- `encode(x)`: images x (B, 1, 28, 28) → `(mu, log_var)`, each (B, latent_dim), from "
        "two heads on shared hidden features;\n"
        "- `reparameterize(mu, log_var)`: a sample z = mu + exp(½ log_var) ⊙ ε with "
        "ε ~ N(0, I) drawn fresh on every call, z shaped like mu and differentiable in mu and "
        "log_var;\n"
        "- `decode(z)`: codes (B, latent_dim) → logits (B, 1, 28, 28) (no sigmoid: the loss "
        "applies it);\n"
        "- `forward(x)`: `(logits, mu, log_var)`, the logits of the decoded *sample* z.\n\n"
        "Any architecture is fine (784-400-latent_dim is the classic one). Set "
        "`self.latent_dim = latent_dim` (the course's plots read it). Pass the class itself "
        "to the checker."
    ),
    hints=(
        "Build a body (`nn.Flatten()`, `nn.Linear(784, 400)`, `nn.ReLU()`) and two heads "
        "`nn.Linear(400, latent_dim)`, one for mu and one for log_var, with no activation "
        "after either (log σ² may be any real number).",
        "reparameterize is one line: `mu + torch.exp(0.5 * log_var) * torch.randn_like(mu)`; "
        "randn_like gives standard normal noise with mu's shape, dtype and device.",
        "forward: `mu, log_var = self.encode(x)`, `z = self.reparameterize(mu, log_var)`, "
        "`return self.decode(z), mu, log_var`.",
    ),
    solution=(
        "```python\n"
        "import torch\n"
        "from torch import nn\n\n"
        "class MyVAE(nn.Module):\n"
        "    def __init__(self, latent_dim, hidden=400):\n"
        "        super().__init__()\n"
        "        self.latent_dim = latent_dim\n"
        "        self.body = nn.Sequential(nn.Flatten(), nn.Linear(784, hidden), nn.ReLU())\n"
        "        self.fc_mu = nn.Linear(hidden, latent_dim)\n"
        "        self.fc_log_var = nn.Linear(hidden, latent_dim)\n"
        "        self.decoder = nn.Sequential(nn.Linear(latent_dim, hidden), nn.ReLU(),\n"
        "                                     nn.Linear(hidden, 784), nn.Unflatten(1, (1, 28, 28)))\n\n"
        "    def encode(self, x):\n"
        "        h = self.body(x)\n"
        "        return self.fc_mu(h), self.fc_log_var(h)\n\n"
        "    def reparameterize(self, mu, log_var):\n"
        "        return mu + torch.exp(0.5 * log_var) * torch.randn_like(mu)\n\n"
        "    def decode(self, z):\n"
        "        return self.decoder(z)\n\n"
        "    def forward(self, x):\n"
        "        mu, log_var = self.encode(x)\n"
        "        return self.decode(self.reparameterize(mu, log_var)), mu, log_var\n"
        "```\n\n"
        "The package's version is `vae_course.models.VAE` (its forward returns a fourth item, "
        "z; drills.use hands out a variant that returns the three)."
    ),
    reference_name="vae_course.drills.references:TripleVAE",
    mistakes=MY_VAE_MISTAKES,
    construct_args=(LATENT,),
    make_inputs=_inputs,
    calls=MY_VAE_CALLS,
    classify=my_vae_traits,
    trait_problems=my_vae_problems,
    batch_of_one_shape=(1, *IMAGE_SHAPE),
    construction="MyVAE(latent_dim)",
    success="All checks passed: two heads (mu, log_var) of width latent_dim, log σ² free to "
    "be negative, logits (B, 1, 28, 28), forward decodes a fresh differentiable sample "
    "z = mu + σ ⊙ ε with ε ~ N(0, I).",
)


DRILLS = (MY_VAE,)
