"""Chapter 01, the plain autoencoder: ``autoencoder`` (a class) and ``ae_train_step``
(implementation)."""

from __future__ import annotations

import copy
import inspect
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .. import references
from ..implementation import (
    ImplementationDrill,
    Mistake,
    Observation,
    Outcome,
    _device_for_check,
    _device_problem,
    _kind,
    _values,
    describe_kind,
    same_values,
    source_of,
)
from ..sandbox import CallOutcome, Sandbox

IMAGE_SHAPE = (1, 28, 28)
LATENT = 3
BATCH = 6


def _error_signature(call: CallOutcome) -> str:
    return f"{type(call.error).__name__}: {call.error}"[:70] if call.error else "timeout"


# ----------------------------------------------------------------------------- autoencoder


def _classify_code(value: Any) -> str:
    if isinstance(value, tuple | list):
        return "tuple"
    if not isinstance(value, torch.Tensor):
        return "not a tensor"
    if tuple(value.shape) == (BATCH, LATENT):
        return "ok"
    if value.dim() == 2 and value.shape[0] == BATCH:
        return "ignores latent_dim"
    return f"shape {tuple(value.shape)}"


def _classify_image(value: Any) -> str:
    if isinstance(value, tuple | list):
        return "tuple"
    if not isinstance(value, torch.Tensor):
        return "not a tensor"
    if tuple(value.shape) == (BATCH, *IMAGE_SHAPE):
        return "image"
    if tuple(value.shape) == (BATCH, 784):
        return "flat"
    if tuple(value.shape) == (BATCH, LATENT):
        return "code"
    return f"shape {tuple(value.shape)}"


def _value_range(value: torch.Tensor) -> str:
    v = value.detach()
    if bool((v < 0).any()):
        return "logits"
    if bool((v <= 1).all()) and float((v == 0).float().mean()) < 0.05:
        return "probabilities"
    return "non-negative"


@dataclass(eq=False, kw_only=True)
class AutoencoderDrill(ImplementationDrill):
    """A class ``MyAutoencoder(latent_dim)`` with encode/decode/forward, checked by behaviour."""

    def answer_problem(self, answer: Any) -> str | None:
        if isinstance(answer, nn.Module):
            return (
                "You passed a model instance; pass the class itself: "
                f"`drills.check('autoencoder', {type(answer).__name__})`."
            )
        if not inspect.isclass(answer):
            return (
                f"Expected your class `{self.answer_name}` itself, got "
                f"{describe_kind(_kind(answer))}."
            )
        return None

    def observe(self, cls: Any, sandbox: Sandbox, *, full: bool) -> Observation:
        obs = Observation(source=source_of(cls))
        traits = obs.traits
        traits["is_module"] = inspect.isclass(cls) and issubclass(cls, nn.Module)
        g = torch.Generator().manual_seed(101)
        x = torch.rand(BATCH, *IMAGE_SHAPE, generator=g)
        x_before = x.clone()
        torch.manual_seed(0)
        call = sandbox.call(cls, LATENT)
        if call.not_implemented:
            obs.not_attempted = True
            return obs
        if not call.ok:
            traits["construct"] = _error_signature(call)
            obs.stopped = Outcome(kind="error", call=call)
            return obs
        traits["construct"] = "ok"
        model = call.value
        if not traits["is_module"]:
            return obs
        model.eval()
        outputs: dict[str, Any] = {}
        for name, method, argument in (
            ("encode", "encode", x),
            ("forward", "__call__", x),
        ):
            fn = getattr(model, method, None)
            if fn is None:
                traits[name] = "missing"
                continue
            call = sandbox.call(fn, argument)
            if call.not_implemented:
                obs.not_attempted = True
                return obs
            if not call.ok:
                traits[name] = _error_signature(call)
                obs.stopped = obs.stopped or Outcome(kind="error", call=call)
                continue
            outputs[name] = call.value
        traits["encode"] = traits.get("encode") or _classify_code(outputs.get("encode"))
        code = outputs.get("encode") if traits["encode"] == "ok" else None
        z = code.detach().clone() if code is not None else torch.randn(BATCH, LATENT, generator=g)
        decode = getattr(model, "decode", None)
        if decode is None:
            traits["decode"] = "missing"
        else:
            call = sandbox.call(decode, z)
            if call.not_implemented:
                obs.not_attempted = True
                return obs
            if call.ok:
                outputs["decode"] = call.value
                traits["decode"] = _classify_image(call.value)
                if traits["decode"] in ("image", "flat"):
                    traits["decode_range"] = _value_range(call.value)
            else:
                traits["decode"] = _error_signature(call)
                obs.stopped = obs.stopped or Outcome(kind="error", call=call)
        if "forward" in outputs:
            traits["forward"] = _classify_image(outputs["forward"])
            if traits["forward"] == "image" and "decode" in outputs and code is not None:
                traits["forward_is_decode_of_encode"] = bool(
                    torch.allclose(
                        outputs["forward"].detach(),
                        outputs["decode"].detach(),
                        rtol=1e-4,
                        atol=1e-5,
                    )
                )
                model.zero_grad(set_to_none=True)
                backward = sandbox.call(lambda: outputs["forward"].sum().backward())
                traits["gradients"] = backward.ok and any(
                    p.grad is not None for p in model.parameters()
                )
        if full:
            obs.outcomes["minor"] = self._minor(model, x, x_before, outputs, sandbox)
        return obs

    def _minor(
        self,
        model: nn.Module,
        x: torch.Tensor,
        x_before: torch.Tensor,
        outputs: dict,
        sandbox: Sandbox,
    ) -> Outcome:
        notes: list[str] = []
        forward = outputs.get("forward")
        if isinstance(forward, torch.Tensor) and forward.dtype != torch.float32:
            notes.append(f"forward returns {forward.dtype} for float32 images; keep float32.")
        if not torch.equal(x, x_before):
            notes.append("It modifies the input images in place; use out-of-place operations.")
        one = sandbox.call(lambda: model(x[:1].clone()))
        if not one.ok:
            notes.append(
                "For a batch of one image (B = 1), "
                + one.describe().lower()[0]
                + one.describe()[1:]
            )
        elif not (
            isinstance(one.value, torch.Tensor) and tuple(one.value.shape) == (1, *IMAGE_SHAPE)
        ):
            notes.append(
                "For a batch of one image (B = 1) forward does not return (1, 1, 28, 28) "
                "(avoid `.squeeze()`)."
            )
        device = _device_for_check()
        try:
            moved = copy.deepcopy(model).to(device)
        except Exception:  # noqa: BLE001 - a model that cannot be copied: inconclusive
            moved = None
        if moved is not None:
            call = sandbox.call(moved, x.to(device))
            outcome = (
                Outcome(kind="error", error=_error_signature(call))
                if not call.ok
                else Outcome(
                    kind=_kind(call.value),
                    devices=tuple(
                        str(t.device) for t in [call.value] if isinstance(t, torch.Tensor)
                    ),
                )
            )
            problem = _device_problem(outcome)
            if problem:
                notes.append(problem)
        return Outcome(kind="minor", notes=notes)

    def same_behaviour(self, learner: Observation, other: Observation) -> bool:
        return learner.traits == other.traits

    def compare(self, learner: Observation, ref: Observation) -> tuple[list[str], list[str]]:
        mine, theirs = learner.traits, ref.traits
        essential: list[str] = []
        if not mine.get("is_module", False):
            essential.append(
                "The class is not an nn.Module: write `class MyAutoencoder(nn.Module):` and call "
                "`super().__init__()` first in `__init__`."
            )
        elif mine.get("construct") != "ok":
            call = learner.stopped.call if learner.stopped else None
            essential.append(
                "Creating `MyAutoencoder(latent_dim)` failed: "
                + (call.describe("it") if call else "it raised an error.")
            )
        else:
            essential += _autoencoder_problems(mine, theirs, learner)
        minor = learner.outcomes["minor"].notes if "minor" in learner.outcomes else []
        return essential, minor


def _autoencoder_problems(mine: dict, theirs: dict, learner: Observation) -> list[str]:
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

AUTOENCODER = AutoencoderDrill(
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
    reference_getter=references.autoencoder,
    mistakes=AUTOENCODER_MISTAKES,
    success="All checks passed: codes (B, latent_dim), logits (B, 1, 28, 28), forward = "
    "decode(encode(x)), gradients reach the parameters.",
)


# ----------------------------------------------------------------------------- ae_train_step


class TinyAutoencoder(nn.Module):
    """784 → 6 → 784, forward returns logits shaped like x (the checker's test model)."""

    def __init__(self) -> None:
        super().__init__()
        self.enc = nn.Linear(784, 6)
        self.dec = nn.Linear(6, 784)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.enc(x.reshape(x.shape[0], -1)))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.dec(z).reshape(-1, 1, 28, 28)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x)).reshape(x.shape)


LEARNING_RATE = 0.1


def _setup(stale_grads: bool) -> tuple[nn.Module, torch.optim.Optimizer, torch.Tensor]:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(5)
        model = TinyAutoencoder()
    g = torch.Generator().manual_seed(55)
    x = torch.rand(8, 1, 28, 28, generator=g)
    optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
    if stale_grads:
        for p in model.parameters():
            p.grad = torch.full_like(p, 0.05)
    return model, optimizer, x


def _parameters(model: nn.Module) -> np.ndarray:
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()]).double().numpy()


@dataclass(eq=False, kw_only=True)
class TrainStepDrill(ImplementationDrill):
    """``train_step(model, optimizer, x) -> float``: checked on a tiny model with SGD."""

    def observe(self, fn: Any, sandbox: Sandbox, *, full: bool) -> Observation:
        obs = Observation(source=source_of(fn))
        for name, stale in (("fresh", False), ("stale_grads", True)):
            model, optimizer, x = _setup(stale)
            x_before, before = x.clone(), _parameters(model)
            call = sandbox.call(fn, model, optimizer, x)
            if call.not_implemented:
                obs.not_attempted = True
                return obs
            if not call.ok:
                outcome = Outcome(
                    kind="timeout" if call.timed_out else "error",
                    error=_error_signature(call),
                    call=call,
                )
                obs.outcomes[name] = outcome
                obs.stopped = outcome
                return obs
            returned = _values(call.value)
            value = returned[0] if returned is not None and returned.size == 1 else np.nan
            outcome = Outcome(
                kind=_kind(call.value),
                values=np.concatenate([[value], _parameters(model) - before]),
                call=call,
            )
            if not torch.equal(x, x_before):
                outcome.mutated = ("x",)
            obs.outcomes[name] = outcome
        return obs

    def same_behaviour(self, learner: Observation, other: Observation) -> bool:
        if set(learner.outcomes) != set(other.outcomes):
            return False
        for name, a in learner.outcomes.items():
            b = other.outcomes[name]
            if a.kind != b.kind or (a.failed_call and a.error[:60] != b.error[:60]):
                return False
            if not a.failed_call and not same_values(a.values, b.values, 1e-3, 1e-7):
                return False
        return True

    def compare(self, learner: Observation, ref: Observation) -> tuple[list[str], list[str]]:
        if learner.stopped is not None:
            return [learner.stopped.call.describe()], []
        essential: list[str] = []
        fresh, ref_fresh = learner.outcomes["fresh"], ref.outcomes["fresh"]
        if fresh.kind not in ("number",):
            essential.append(
                f"It returns {describe_kind(fresh.kind)}; return the loss as a Python float "
                "(`loss.item()`)."
            )
        if not same_values(fresh.values[:1], ref_fresh.values[:1], 1e-4, 1e-4):
            essential.append(
                "The returned loss is not BCE-with-logits summed over pixels and averaged over "
                "the batch (computed before the update)."
            )
        delta = fresh.values[1:]
        if np.all(delta == 0):
            essential.append(
                "The parameters did not change: call `loss.backward()` and then "
                "`optimizer.step()` (and do not zero the gradients in between)."
            )
        elif not same_values(delta, ref_fresh.values[1:], 1e-3, 1e-7):
            essential.append(
                "The parameters did not move as one optimizer step on that loss would move them."
            )
        elif not same_values(
            learner.outcomes["stale_grads"].values[1:],
            ref.outcomes["stale_grads"].values[1:],
            1e-3,
            1e-7,
        ):
            essential.append(
                "With gradients left over from a previous step the update is wrong: call "
                "`optimizer.zero_grad()` before `loss.backward()`, otherwise gradients "
                "accumulate."
            )
        minor = []
        if any(o.mutated for o in learner.outcomes.values()):
            minor.append("It modifies the batch x in place; use out-of-place operations.")
        return essential, minor


def _ts_no_zero_grad(model, optimizer, x):
    loss = F.binary_cross_entropy_with_logits(model(x), x, reduction="sum") / x.shape[0]
    loss.backward()
    optimizer.step()
    return loss.item()


def _ts_returns_tensor(model, optimizer, x):
    optimizer.zero_grad()
    loss = F.binary_cross_entropy_with_logits(model(x), x, reduction="sum") / x.shape[0]
    loss.backward()
    optimizer.step()
    return loss


def _ts_no_step(model, optimizer, x):
    optimizer.zero_grad()
    loss = F.binary_cross_entropy_with_logits(model(x), x, reduction="sum") / x.shape[0]
    loss.backward()
    return loss.item()


def _ts_mean_over_pixels(model, optimizer, x):
    optimizer.zero_grad()
    loss = F.binary_cross_entropy_with_logits(model(x), x)
    loss.backward()
    optimizer.step()
    return loss.item()


def _ts_sum_over_batch(model, optimizer, x):
    optimizer.zero_grad()
    loss = F.binary_cross_entropy_with_logits(model(x), x, reduction="sum")
    loss.backward()
    optimizer.step()
    return loss.item()


def _ts_bce_without_logits(model, optimizer, x):
    optimizer.zero_grad()
    loss = F.binary_cross_entropy(model(x), x, reduction="sum") / x.shape[0]
    loss.backward()
    optimizer.step()
    return loss.item()


def _ts_no_return(model, optimizer, x):
    optimizer.zero_grad()
    loss = F.binary_cross_entropy_with_logits(model(x), x, reduction="sum") / x.shape[0]
    loss.backward()
    optimizer.step()


TRAIN_STEP_MISTAKES = (
    Mistake(
        "no_zero_grad",
        _ts_no_zero_grad,
        "`optimizer.zero_grad()` is missing: PyTorch adds new gradients to the old ones, so "
        "from the second step on the update uses accumulated gradients.",
    ),
    Mistake(
        "returns_tensor",
        _ts_returns_tensor,
        "It returns the loss tensor; return a Python float with `loss.item()` (a tensor "
        "keeps the whole graph alive when you store it).",
    ),
    Mistake(
        "no_step",
        _ts_no_step,
        "The parameters never change: `optimizer.step()` or `loss.backward()` is missing, "
        "or the gradients are zeroed between them. The order is zero_grad, loss, "
        "backward, step.",
    ),
    Mistake(
        "mean_over_pixels",
        _ts_mean_over_pixels,
        "The loss averages over pixels (the default reduction='mean'); the contract sums "
        "the BCE over pixels and averages over the batch: reduction='sum', then divide by "
        "the batch size.",
    ),
    Mistake(
        "sum_over_batch",
        _ts_sum_over_batch,
        "The loss is summed over the batch as well; divide by the batch size to average "
        "over examples.",
    ),
    Mistake(
        "bce_without_logits",
        _ts_bce_without_logits,
        "`F.binary_cross_entropy` expects probabilities, but the model outputs logits: use "
        "`F.binary_cross_entropy_with_logits`.",
    ),
    Mistake("no_return", _ts_no_return, "It returns None: end with `return loss.item()`."),
)

AE_TRAIN_STEP = TrainStepDrill(
    id="ae_train_step",
    chapter="01",
    title="One training step",
    answer_name="train_step",
    prompt=(
        "Write `train_step(model, optimizer, x) -> float`: one optimisation step of an "
        "autoencoder whose `model(x)` returns logits shaped like x (B, 1, 28, 28). The loss is "
        "BCE-with-logits summed over pixels and averaged over the batch. Zero the gradients, "
        "compute the loss, back-propagate, step the optimizer, and return the loss as a "
        "Python float."
    ),
    hints=(
        "The four lines of every PyTorch step: `optimizer.zero_grad()`, compute the loss, "
        "`loss.backward()`, `optimizer.step()`.",
        "`F.binary_cross_entropy_with_logits(logits, x, reduction='sum') / x.shape[0]` is the "
        "BCE summed over pixels, averaged over the batch.",
        "Return `loss.item()`, a Python float.",
    ),
    solution=(
        "```python\n"
        "import torch.nn.functional as F\n\n"
        "def train_step(model, optimizer, x):\n"
        "    optimizer.zero_grad()\n"
        "    logits = model(x)\n"
        "    loss = F.binary_cross_entropy_with_logits(logits, x, reduction='sum') / x.shape[0]\n"
        "    loss.backward()\n"
        "    optimizer.step()\n"
        "    return loss.item()\n"
        "```\n\n"
        "Without zero_grad, gradients accumulate across steps; returning `loss` instead of "
        "`loss.item()` keeps every step's graph in memory if you store the values."
    ),
    reference_getter=lambda: references.ae_train_step,
    mistakes=TRAIN_STEP_MISTAKES,
    success="All checks passed: the right loss, one correct optimizer step, gradients zeroed, "
    "a float returned.",
)

DRILLS = (AUTOENCODER, AE_TRAIN_STEP)
