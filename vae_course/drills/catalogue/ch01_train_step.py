"""Chapter 01, the plain autoencoder: ``ae_train_step``, one optimisation step (function).

The learner's ``train_step(model, optimizer, x)`` runs on a tiny autoencoder inside a
harness (:func:`run_train_step`) that records the loss it returns, how far the parameters
moved, and whether the batch was changed; once with fresh gradients and once with
gradients left over from an earlier step (which only ``zero_grad`` clears).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..function import FunctionDrill
from ..observation import Mistake, Observation, Outcome, Probe, describe_kind, same_values

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


def _setup(
    stale_grads: bool, seed: int = 0
) -> tuple[nn.Module, torch.optim.Optimizer, torch.Tensor]:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(5 + seed)
        model = TinyAutoencoder()
    g = torch.Generator().manual_seed(55 + seed)
    x = torch.rand(8, 1, 28, 28, generator=g)
    optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
    if stale_grads:
        stale_gradients(model)
    return model, optimizer, x


def _parameters(model: nn.Module) -> np.ndarray:
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()]).double().numpy()


def warm_optimizer() -> None:
    """Build one throwaway optimizer. The first ``torch.optim`` optimizer of a process imports
    PyTorch's compiler stack (seconds on a busy machine); done here, while the probes are
    made, that cost is not counted against the learner's time limit."""
    torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=LEARNING_RATE)


def train_step_probes(seed: int = 0) -> list[Probe]:
    """A fresh tiny model, and one whose gradients hold leftovers of an earlier step."""
    warm_optimizer()
    return [Probe("fresh", ("fresh", seed)), Probe("stale_grads", ("stale_grads", seed))]


def observe_step(
    fn: Any, model: nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor, *extra: Any
) -> dict[str, Any]:
    """One call of a training step ``fn(model, optimizer, x, *extra)``: what it returned, how
    far the parameters moved (a flat float64 tensor) and whether the batch x was changed
    (1.0) or not (0.0). The harness of every training-step drill (``ae_train_step`` here,
    ``vae_train_step`` in :mod:`.ch04_train_step`)."""
    x_before, before = x.clone(), _parameters(model)
    returned = fn(model, optimizer, x, *extra)
    return {
        "returned": returned,
        "parameter_change": torch.from_numpy(_parameters(model) - before),
        "x_changed": float(not torch.equal(x, x_before)),
    }


def stale_gradients(model: nn.Module, value: float = 0.05) -> None:
    """Fill every parameter's .grad with ``value``: what an earlier step leaves behind
    when nothing calls ``optimizer.zero_grad()``."""
    for p in model.parameters():
        p.grad = torch.full_like(p, value)


def run_train_step(fn: Any, case: str, seed: int) -> dict[str, Any]:
    """One call of ``fn(model, optimizer, x)`` on the tiny model (:func:`observe_step`)."""
    return observe_step(fn, *_setup(stale_grads=case == "stale_grads", seed=seed))


def _loss_value(outcome: Outcome) -> np.ndarray:
    returned = outcome.part("returned")
    values = returned.values if returned is not None else None
    return values if values is not None and values.size == 1 else np.array([np.nan])


def train_step_problems(learner: Observation, ref: Observation) -> tuple[list[str], list[str]]:
    """The loss returned, the update made, the update with stale gradients, in that order."""
    essential: list[str] = []
    fresh, ref_fresh = learner.outcomes["fresh"], ref.outcomes["fresh"]
    returned = fresh.part("returned")
    if returned is None or returned.kind != "number":
        kind = returned.kind if returned is not None else "other"
        essential.append(
            f"It returns {describe_kind(kind)}; return the loss as a Python float (`loss.item()`)."
        )
    if not same_values(_loss_value(fresh), _loss_value(ref_fresh), 1e-4, 1e-4):
        essential.append(
            "The returned loss is not BCE-with-logits summed over pixels and averaged over "
            "the batch (computed before the update)."
        )
    delta = fresh.part("parameter_change").values
    if np.all(delta == 0):
        essential.append(
            "The parameters did not change: call `loss.backward()` and then "
            "`optimizer.step()` (and do not zero the gradients in between)."
        )
    elif not same_values(delta, ref_fresh.part("parameter_change").values, 1e-3, 1e-7):
        essential.append(
            "The parameters did not move as one optimizer step on that loss would move them."
        )
    elif not same_values(
        learner.outcomes["stale_grads"].part("parameter_change").values,
        ref.outcomes["stale_grads"].part("parameter_change").values,
        1e-3,
        1e-7,
    ):
        essential.append(
            "With gradients left over from a previous step the update is wrong: call "
            "`optimizer.zero_grad()` before `loss.backward()`, otherwise gradients "
            "accumulate."
        )
    minor = []
    if any(o.part("x_changed").values[0] == 1.0 for o in learner.outcomes.values()):
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

AE_TRAIN_STEP = FunctionDrill(
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
    reference_name="vae_course.drills.references:ae_train_step",
    mistakes=TRAIN_STEP_MISTAKES,
    make_probes=train_step_probes,
    output=None,
    arg_names=("model", "optimizer", "x"),
    invoke=run_train_step,
    problems=train_step_problems,
    rtol=1e-3,
    atol=1e-7,
    device_check=False,
    success="All checks passed: the right loss, one correct optimizer step, gradients zeroed, "
    "a float returned.",
)

DRILLS = (AE_TRAIN_STEP,)
