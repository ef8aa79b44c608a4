"""Chapter 01, the plain autoencoder: ``autoencoder``, a module drill on the learner's class.

The training step of the same chapter is in :mod:`.ch01_train_step`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from ..module import MethodCall, ModuleDrill, module_call_traits
from ..observation import Mistake, Observation, Outcome, same_values

IMAGE_SHAPE = (1, 28, 28)
LATENT = 3
BATCH = 6


# ----------------------------------------------------------------------------- autoencoder


def _is_code(value: Any) -> bool:
    return isinstance(value, torch.Tensor) and tuple(value.shape) == (BATCH, LATENT)


def _classify_code(outcome: Outcome) -> str:
    if outcome.kind.startswith(("tuple(", "list[")):
        return "tuple"
    if outcome.kind != "tensor":
        return "not a tensor"
    if tuple(outcome.shape) == (BATCH, LATENT):
        return "ok"
    if len(outcome.shape) == 2 and outcome.shape[0] == BATCH:
        return "ignores latent_dim"
    return f"shape {tuple(outcome.shape)}"


def _classify_image(outcome: Outcome) -> str:
    if outcome.kind.startswith(("tuple(", "list[")):
        return "tuple"
    if outcome.kind != "tensor":
        return "not a tensor"
    if tuple(outcome.shape) == (BATCH, *IMAGE_SHAPE):
        return "image"
    if tuple(outcome.shape) == (BATCH, 784):
        return "flat"
    if tuple(outcome.shape) == (BATCH, LATENT):
        return "code"
    return f"shape {tuple(outcome.shape)}"


def _value_range(values: np.ndarray | None) -> str:
    if values is None or values.size == 0:
        return "unknown"
    if bool((values < 0).any()):
        return "logits"
    if bool((values <= 1).all()) and float((values == 0).mean()) < 0.05:
        return "probabilities"
    return "non-negative"


def _autoencoder_inputs(seed: int) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(101 + seed)
    x = torch.rand(BATCH, *IMAGE_SHAPE, generator=g)
    return {"x": x, "z": torch.randn(BATCH, LATENT, generator=g)}


AUTOENCODER_CALLS = (
    MethodCall("encode", "encode", lambda seen: (seen["x"],)),
    MethodCall("forward", "__call__", lambda seen: (seen["x"],)),
    MethodCall(
        "decode",
        "decode",
        lambda seen: (
            (seen["encode"].detach().clone(),) if _is_code(seen.get("encode")) else (seen["z"],)
        ),
    ),
)


def autoencoder_traits(observation: Observation) -> dict[str, Any]:
    """encode / decode / forward classified; forward vs decode(encode(x)); gradients."""
    facts, outcomes = observation.measurements, observation.outcomes
    traits, built = module_call_traits(
        observation,
        (("encode", _classify_code), ("forward", _classify_image), ("decode", _classify_image)),
    )
    if not built:
        return traits
    decode = outcomes.get("decode")
    if traits.get("decode") in ("image", "flat"):
        traits["decode_range"] = _value_range(decode.values)
    forward = outcomes.get("forward")
    if traits.get("forward") == "image" and traits.get("decode") == "image":
        if traits.get("encode") == "ok":
            traits["forward_is_decode_of_encode"] = same_values(
                forward.values, decode.values, 1e-4, 1e-5
            )
            traits["gradients"] = bool(facts.get("gradients"))
    return traits


def autoencoder_problems(mine: dict, theirs: dict) -> list[str]:
    """The messages for the traits of the learner's class that differ from the reference's."""
    problems = []
    code_words = {
        "tuple": "encode returns a tuple; a plain autoencoder returns one code tensor z "
        "of shape (B, latent_dim).",
        "ignores latent_dim": f"encode returns a code of the wrong width for latent_dim={LATENT}: "
        "use the latent_dim argument for the bottleneck size.",
        "missing": "There is no encode method.",
    }
    if mine.get("encode") != theirs.get("encode"):
        value = str(mine.get("encode"))
        problems.append(
            code_words.get(
                value,
                f"encode(x) for x of shape ({BATCH}, 1, 28, 28) should return "
                f"({BATCH}, latent_dim); got: {value}.",
            )
        )
    if mine.get("decode") != theirs.get("decode"):
        value = str(mine.get("decode"))
        problems.append(
            {
                "flat": "decode returns (B, 784); reshape to images (B, 1, 28, 28).",
                "missing": "There is no decode method.",
            }.get(value, f"decode(z) should return logits shaped (B, 1, 28, 28); got: {value}.")
        )
    elif mine.get("decode_range") != theirs.get("decode_range"):
        problems.append(
            {
                "probabilities": "decode returns probabilities (all values in [0, 1]: a sigmoid at "
                "the end?). Return logits; the loss applies the sigmoid "
                "(BCE with logits).",
                "non-negative": "decode never returns negative values (a ReLU at the end?). Logits "
                "must be able to be negative: end with a Linear layer.",
            }.get(str(mine.get("decode_range")), "decode does not return logits.")
        )
    if mine.get("forward") != theirs.get("forward"):
        value = str(mine.get("forward"))
        problems.append(
            {
                "code": "forward returns the code z; it should return the reconstruction logits.",
                "tuple": "forward returns a tuple; the contract is forward(x) -> logits only.",
                "flat": "forward returns (B, 784); reshape to images (B, 1, 28, 28).",
            }.get(value, f"forward(x) should return logits shaped like x; got: {value}.")
        )
    elif mine.get("forward_is_decode_of_encode") is False:
        problems.append("forward(x) differs from decode(encode(x)) (in eval mode).")
    elif mine.get("gradients") is False:
        problems.append("No gradient reaches the parameters from forward's output (detached?).")
    if not problems and mine != theirs:
        problems.append("The model does not follow the contract (encode, decode, forward).")
    return problems


def _layers(latent_dim: int) -> tuple[nn.Module, nn.Module]:
    encoder = nn.Sequential(nn.Flatten(), nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, latent_dim))
    decoder = nn.Sequential(nn.Linear(latent_dim, 64), nn.ReLU(), nn.Linear(64, 784))
    return encoder, decoder


class _SmallAutoencoder(nn.Module):
    def __init__(self, latent_dim):
        super().__init__()
        self.encoder, self.decoder = _layers(latent_dim)

    def encode(self, x):
        return self.encoder(x)

    def decode(self, z):
        return self.decoder(z).view(-1, 1, 28, 28)

    def forward(self, x):
        return self.decode(self.encode(x))


class SigmoidDecoder(_SmallAutoencoder):
    """Catalogued mistake: decode ends with a sigmoid."""

    def decode(self, z):
        return torch.sigmoid(self.decoder(z)).view(-1, 1, 28, 28)


class FlatDecoder(_SmallAutoencoder):
    """Catalogued mistake: decode returns (B, 784)."""

    def decode(self, z):
        return self.decoder(z)


class EncodeReturnsTuple(_SmallAutoencoder):
    """Catalogued mistake: encode returns (mu, log_var) like a VAE."""

    def __init__(self, latent_dim):
        super().__init__(latent_dim)
        self.log_var_head = nn.Linear(784, latent_dim)

    def encode(self, x):
        return self.encoder(x), self.log_var_head(x.flatten(1))

    def forward(self, x):
        return self.decode(self.encode(x)[0])


class ForwardReturnsCode(_SmallAutoencoder):
    """Catalogued mistake: forward returns z."""

    def forward(self, x):
        return self.encode(x)


class ForwardReturnsTuple(_SmallAutoencoder):
    """Catalogued mistake: forward returns (logits, z)."""

    def forward(self, x):
        z = self.encode(x)
        return self.decode(z), z


class FixedLatentSize(_SmallAutoencoder):
    """Catalogued mistake: the code size is hard-coded."""

    def __init__(self, latent_dim):
        super().__init__(20)


class ReluOutput(_SmallAutoencoder):
    """Catalogued mistake: decode ends with a ReLU."""

    def decode(self, z):
        return torch.relu(self.decoder(z)).view(-1, 1, 28, 28)


class NotAModule:
    """Catalogued mistake: not an nn.Module."""

    def __init__(self, latent_dim):
        self.weight = torch.randn(784, latent_dim) * 0.01

    def encode(self, x):
        return x.flatten(1) @ self.weight

    def decode(self, z):
        return (z @ self.weight.T).view(-1, 1, 28, 28)

    def __call__(self, x):
        return self.decode(self.encode(x))


class NoSuperInit(nn.Module):
    """Catalogued mistake: super().__init__() missing."""

    def __init__(self, latent_dim):
        self.encoder, self.decoder = _layers(latent_dim)


AUTOENCODER_MISTAKES = (
    Mistake(
        "sigmoid_decoder",
        SigmoidDecoder,
        "decode returns probabilities (a sigmoid at the end). Return logits: the loss "
        "(BCE with logits) applies the sigmoid itself, in a numerically safe way.",
    ),
    Mistake(
        "flat_decoder",
        FlatDecoder,
        "decode returns flat vectors (B, 784); reshape them to images (B, 1, 28, 28), "
        "e.g. `.view(-1, 1, 28, 28)`.",
    ),
    Mistake(
        "encode_returns_tuple",
        EncodeReturnsTuple,
        "encode returns a tuple (like a VAE's (μ, log σ²)); a plain autoencoder's encode "
        "returns one code z of shape (B, latent_dim).",
    ),
    Mistake(
        "forward_returns_code",
        ForwardReturnsCode,
        "forward returns the code z; it should return the reconstruction logits, "
        "decode(encode(x)).",
    ),
    Mistake(
        "forward_returns_tuple",
        ForwardReturnsTuple,
        "forward returns a tuple; the contract is forward(x) -> logits only (use encode to get z).",
    ),
    Mistake(
        "fixed_latent_size",
        FixedLatentSize,
        "The code does not have latent_dim entries: the bottleneck size is hard-coded. "
        "Use the latent_dim argument in the last encoder layer and the first decoder layer.",
    ),
    Mistake(
        "relu_output",
        ReluOutput,
        "decode ends with a ReLU, so it can never output a negative logit (a pixel "
        "probability below ½). End the decoder with a Linear layer.",
    ),
    Mistake(
        "not_a_module",
        NotAModule,
        "The class does not inherit from nn.Module, so PyTorch cannot find or train its "
        "parameters: write `class MyAutoencoder(nn.Module):` and call "
        "`super().__init__()`.",
    ),
    Mistake(
        "no_super_init",
        NoSuperInit,
        "`super().__init__()` is missing at the start of `__init__`: nn.Module must be "
        "initialised before layers are assigned.",
    ),
)

AUTOENCODER = ModuleDrill(
    id="autoencoder",
    chapter="01",
    title="An autoencoder for MNIST",
    answer_name="MyAutoencoder",
    prompt=(
        "Write a class `MyAutoencoder(nn.Module)` constructed as `MyAutoencoder(latent_dim)` "
        "with three methods:\n\n"
        "- `encode(x)`: images x of shape (B, 1, 28, 28) → codes z of shape (B, latent_dim);\n"
        "- `decode(z)`: codes (B, latent_dim) → logits of shape (B, 1, 28, 28) (no sigmoid: "
        "the loss applies it);\n"
        "- `forward(x)`: decode(encode(x)), the reconstruction logits.\n\n"
        "Any architecture is fine (an MLP such as 784-400-latent_dim is enough). Pass the class "
        "itself to the checker."
    ),
    hints=(
        "Subclass nn.Module, call `super().__init__()` first, then build an encoder "
        "(`nn.Flatten()`, `nn.Linear(784, 400)`, `nn.ReLU()`, `nn.Linear(400, latent_dim)`) "
        "and a mirrored decoder.",
        "The decoder's last layer is a Linear layer with 784 outputs: those are logits; "
        "reshape them with `.view(-1, 1, 28, 28)`.",
        "forward is just `return self.decode(self.encode(x))`.",
    ),
    solution=(
        "```python\n"
        "from torch import nn\n\n"
        "class MyAutoencoder(nn.Module):\n"
        "    def __init__(self, latent_dim):\n"
        "        super().__init__()\n"
        "        self.latent_dim = latent_dim\n"
        "        self.encoder = nn.Sequential(nn.Flatten(), nn.Linear(784, 400), nn.ReLU(),\n"
        "                                     nn.Linear(400, latent_dim))\n"
        "        self.decoder = nn.Sequential(nn.Linear(latent_dim, 400), nn.ReLU(),\n"
        "                                     nn.Linear(400, 784))\n\n"
        "    def encode(self, x):\n"
        "        return self.encoder(x)\n\n"
        "    def decode(self, z):\n"
        "        return self.decoder(z).view(-1, 1, 28, 28)\n\n"
        "    def forward(self, x):\n"
        "        return self.decode(self.encode(x))\n"
        "```\n\n"
        "The package's version is `vae_course.models.Autoencoder` (its forward returns "
        "`AEOutput(logits, z)`; drills.use hands out a variant whose forward returns the "
        "logits)."
    ),
    reference_name="vae_course.drills.references:LogitsAutoencoder",
    mistakes=AUTOENCODER_MISTAKES,
    construct_args=(LATENT,),
    make_inputs=_autoencoder_inputs,
    calls=AUTOENCODER_CALLS,
    classify=autoencoder_traits,
    trait_problems=autoencoder_problems,
    batch_of_one_shape=(1, *IMAGE_SHAPE),
    construction="MyAutoencoder(latent_dim)",
    success="All checks passed: codes (B, latent_dim), logits (B, 1, 28, 28), forward = "
    "decode(encode(x)), gradients reach the parameters.",
)


DRILLS = (AUTOENCODER,)
