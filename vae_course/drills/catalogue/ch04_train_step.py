"""Chapter 04, the objective: ``vae_train_step``, one optimisation step of a VAE (function).

The learner's ``vae_train_step(model, optimizer, x, beta=1.0) -> dict`` runs on a tiny VAE
inside chapter 01's step harness (:func:`.ch01_train_step.observe_step`): what it returned,
how far the parameters moved, whether x was changed. Three cases: fresh gradients with the
default β, fresh gradients with β = 4 (a β on the wrong term, or no β, shows here), and
gradients left over from an earlier step (only ``zero_grad`` clears them).

The tiny VAE draws its noise ε from its own seeded generator, so the learner's step and the
reference see the same sample and their numbers can be compared exactly.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..function import FunctionDrill
from ..observation import Mistake, Observation, Probe, describe_kind, same_values
from .ch01_train_step import LEARNING_RATE, observe_step, stale_gradients, warm_optimizer

KEYS = ("kl", "loss", "reconstruction")  # sorted, the order of a returned dict's parts
BETA = 4.0
BATCH = 8
LATENT = 3


class TinyVAE(nn.Module):
    """784 → (mu, log_var) (B, 3) → 784; forward returns (logits, mu, log_var, z) like the
    package's VAE, with ε from the model's own seeded generator (the checker's test model)."""

    def __init__(self, noise_seed: int) -> None:
        super().__init__()
        self.enc = nn.Linear(784, 2 * LATENT)
        self.dec = nn.Linear(LATENT, 784)
        self.noise = torch.Generator().manual_seed(noise_seed)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, log_var = self.enc(x.reshape(x.shape[0], -1)).chunk(2, dim=1)
        return mu, log_var

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.dec(z).reshape(-1, 1, 28, 28)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        mu, log_var = self.encode(x)
        eps = torch.randn(mu.shape, generator=self.noise).to(mu)
        z = mu + torch.exp(0.5 * log_var) * eps
        return self.decode(z), mu, log_var, z


def _setup(case: str, seed: int) -> tuple[nn.Module, torch.optim.Optimizer, torch.Tensor]:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(404 + seed)
        model = TinyVAE(noise_seed=4 + seed)
    g = torch.Generator().manual_seed(44 + seed)
    x = torch.rand(BATCH, 1, 28, 28, generator=g)
    optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
    if case == "stale_grads":
        stale_gradients(model)
    return model, optimizer, x


def vae_step_probes(seed: int = 0) -> list[Probe]:
    """Fresh gradients (default β), fresh gradients with β = 4, leftover gradients."""
    warm_optimizer()
    return [Probe(case, (case, seed)) for case in ("fresh", "beta", "stale_grads")]


def run_vae_step(fn: Any, case: str, seed: int) -> dict[str, Any]:
    """One call of ``fn(model, optimizer, x)`` (``beta=BETA`` for the "beta" case)."""
    model, optimizer, x = _setup(case, seed)
    if case == "beta":
        return observe_step(lambda m, o, b: fn(m, o, b, beta=BETA), model, optimizer, x)
    return observe_step(fn, model, optimizer, x)


def _reported(outcome: Any) -> dict[str, float]:
    """The numbers of the returned dict, by key (NaN where not a single number)."""
    returned = outcome.part("returned")
    numbers = {}
    for key in KEYS:
        part = returned.part(key) if returned is not None else None
        values = part.values if part is not None else None
        numbers[key] = float(values[0]) if values is not None and values.size == 1 else np.nan
    return numbers


def _same(a: float, b: float) -> bool:
    return same_values(np.array([a]), np.array([b]), 1e-4, 1e-4)


def _moved_alike(learner: Observation, ref: Observation, case: str) -> bool:
    return same_values(
        learner.outcomes[case].part("parameter_change").values,
        ref.outcomes[case].part("parameter_change").values,
        1e-3,
        1e-7,
    )


def vae_step_problems(learner: Observation, ref: Observation) -> tuple[list[str], list[str]]:
    """The dict returned, its numbers, the update (default β, β = 4, stale gradients)."""
    fresh = learner.outcomes["fresh"]
    returned = fresh.part("returned")
    if returned is None or not returned.kind.startswith("dict("):
        kind = returned.kind if returned is not None else "other"
        return [
            f"It returns {describe_kind(kind)}; return a dict "
            "{'loss': ..., 'reconstruction': ..., 'kl': ...} of Python floats."
        ], []
    if tuple(returned.keys or ()) != KEYS:
        return [
            f"The dict's keys are {sorted(returned.keys or ())}; the contract's keys are "
            "'loss', 'reconstruction' and 'kl'."
        ], []
    essential: list[str] = []
    kinds = {p.kind for p in returned.parts or ()}
    if kinds != {"number"}:
        essential.append(
            "The dict's values are not Python floats (tensors?): use `.item()`; a tensor that "
            "requires grad keeps the whole graph of the step alive when you store it."
        )
    mine, theirs = _reported(fresh), _reported(ref.outcomes["fresh"])
    words = {
        "reconstruction": "The reported reconstruction is not BCE-with-logits summed over "
        "pixels and averaged over the batch (before the update).",
        "kl": "The reported KL is not the closed-form KL summed over latent dimensions and "
        "averaged over the batch (before the update).",
        "loss": "The reported loss is not reconstruction + beta * kl (before the update).",
    }
    essential += [
        words[k] for k in ("reconstruction", "kl", "loss") if not _same(mine[k], theirs[k])
    ]
    beta_mine, beta_theirs = _reported(learner.outcomes["beta"]), _reported(ref.outcomes["beta"])
    if not essential and not _same(beta_mine["loss"], beta_theirs["loss"]):
        essential.append(
            f"With beta={BETA:g} the reported loss is wrong: β weights the KL term only, "
            "loss = reconstruction + beta * kl."
        )
    delta = fresh.part("parameter_change").values
    if np.all(delta == 0):
        essential.append(
            "The parameters did not change: call `loss.backward()` and then "
            "`optimizer.step()` (and do not zero the gradients in between)."
        )
    elif not _moved_alike(learner, ref, "fresh"):
        essential.append(
            "The parameters did not move as one optimizer step on that loss would move them."
        )
    elif not _moved_alike(learner, ref, "beta"):
        essential.append(
            f"With beta={BETA:g} the update is wrong: back-propagate reconstruction + beta * kl."
        )
    elif not _moved_alike(learner, ref, "stale_grads"):
        essential.append(
            "With gradients left over from a previous step the update is wrong: call "
            "`optimizer.zero_grad()` before `loss.backward()`, otherwise gradients "
            "accumulate."
        )
    minor = []
    if any(o.part("x_changed").values[0] == 1.0 for o in learner.outcomes.values()):
        minor.append("It modifies the batch x in place; use out-of-place operations.")
    return essential, minor


# ----------------------------------------------------------------------------- catalogue


def _terms(model, x, *, pixel_mean=False, batch_sum=False):
    logits, mu, log_var = model(x)[:3]
    bce = F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1)
    reconstruction = bce.mean(1) if pixel_mean else bce.sum(1)
    kl = 0.5 * (mu.pow(2) + log_var.exp() - log_var - 1).sum(1)
    if batch_sum:
        return reconstruction.sum(), kl.sum()
    return reconstruction.mean(), kl.mean()


def _report(loss, reconstruction, kl):
    return {"loss": loss.item(), "reconstruction": reconstruction.item(), "kl": kl.item()}


def _vs_no_zero_grad(model, optimizer, x, beta=1.0):
    reconstruction, kl = _terms(model, x)
    loss = reconstruction + beta * kl
    loss.backward()
    optimizer.step()
    return _report(loss, reconstruction, kl)


def _vs_step_before_backward(model, optimizer, x, beta=1.0):
    optimizer.zero_grad()
    reconstruction, kl = _terms(model, x)
    loss = reconstruction + beta * kl
    optimizer.step()
    loss.backward()
    return _report(loss, reconstruction, kl)


def _vs_backward_on_floats(model, optimizer, x, beta=1.0):
    optimizer.zero_grad()
    reconstruction, kl = _terms(model, x)
    loss = torch.tensor(reconstruction.item() + beta * kl.item())
    loss.backward()
    optimizer.step()
    return _report(loss, reconstruction, kl)


def _vs_returns_tensors(model, optimizer, x, beta=1.0):
    optimizer.zero_grad()
    reconstruction, kl = _terms(model, x)
    loss = reconstruction + beta * kl
    loss.backward()
    optimizer.step()
    return {"loss": loss, "reconstruction": reconstruction, "kl": kl}


def _vs_beta_on_reconstruction(model, optimizer, x, beta=1.0):
    optimizer.zero_grad()
    reconstruction, kl = _terms(model, x)
    loss = beta * reconstruction + kl
    loss.backward()
    optimizer.step()
    return _report(loss, reconstruction, kl)


def _vs_beta_ignored(model, optimizer, x, beta=1.0):
    optimizer.zero_grad()
    reconstruction, kl = _terms(model, x)
    loss = reconstruction + kl
    loss.backward()
    optimizer.step()
    return _report(reconstruction + beta * kl, reconstruction, kl)


def _vs_sum_over_batch(model, optimizer, x, beta=1.0):
    optimizer.zero_grad()
    reconstruction, kl = _terms(model, x, batch_sum=True)
    loss = reconstruction + beta * kl
    loss.backward()
    optimizer.step()
    return _report(loss, reconstruction, kl)


def _vs_mean_over_pixels(model, optimizer, x, beta=1.0):
    optimizer.zero_grad()
    reconstruction, kl = _terms(model, x, pixel_mean=True)
    loss = reconstruction + beta * kl
    loss.backward()
    optimizer.step()
    return _report(loss, reconstruction, kl)


def _vs_wrong_keys(model, optimizer, x, beta=1.0):
    optimizer.zero_grad()
    reconstruction, kl = _terms(model, x)
    loss = reconstruction + beta * kl
    loss.backward()
    optimizer.step()
    return {"loss": loss.item(), "recon": reconstruction.item(), "kl_term": kl.item()}


def _vs_returns_loss_only(model, optimizer, x, beta=1.0):
    optimizer.zero_grad()
    reconstruction, kl = _terms(model, x)
    loss = reconstruction + beta * kl
    loss.backward()
    optimizer.step()
    return loss.item()


def _vs_unpacks_three(model, optimizer, x, beta=1.0):
    optimizer.zero_grad()
    logits, mu, log_var = model(x)
    reconstruction = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / x.shape[0]
    kl = 0.5 * (mu.pow(2) + log_var.exp() - log_var - 1).sum(1).mean()
    loss = reconstruction + beta * kl
    loss.backward()
    optimizer.step()
    return _report(loss, reconstruction, kl)


def _vs_reports_after_step(model, optimizer, x, beta=1.0):
    optimizer.zero_grad()
    reconstruction, kl = _terms(model, x)
    (reconstruction + beta * kl).backward()
    optimizer.step()
    with torch.no_grad():
        reconstruction, kl = _terms(model, x)
    return _report(reconstruction + beta * kl, reconstruction, kl)


VAE_STEP_MISTAKES = (
    Mistake(
        "no_zero_grad",
        _vs_no_zero_grad,
        "`optimizer.zero_grad()` is missing: PyTorch adds each step's gradients to the ones "
        "already stored, so from the second step on the update uses accumulated gradients.",
    ),
    Mistake(
        "step_before_backward",
        _vs_step_before_backward,
        "The parameters never change: `optimizer.step()` runs before `loss.backward()` (or "
        "not at all), so it finds no gradients, and this batch's gradients are cleared by "
        "the next zero_grad. The order is zero_grad, forward, loss, backward, step.",
    ),
    Mistake(
        "backward_on_floats",
        _vs_backward_on_floats,
        "The loss is rebuilt from Python numbers (`.item()`) before `backward()`, so it has "
        "no graph back to the model. Back-propagate the tensor loss; call `.item()` only for "
        "the numbers you return.",
    ),
    Mistake(
        "returns_tensors",
        _vs_returns_tensors,
        "The dict holds tensors; return Python floats (`loss.item()`...). A tensor that "
        "requires grad keeps the whole graph of the step alive when you store it, and a "
        "training loop that keeps them runs out of memory.",
    ),
    Mistake(
        "beta_on_reconstruction",
        _vs_beta_on_reconstruction,
        "β multiplies the reconstruction term; it weights the KL term: "
        "loss = reconstruction + beta * kl.",
    ),
    Mistake(
        "beta_ignored",
        _vs_beta_ignored,
        "The step back-propagates reconstruction + kl whatever beta is: pass beta to your "
        "loss, loss = reconstruction + beta * kl.",
    ),
    Mistake(
        "sum_over_batch",
        _vs_sum_over_batch,
        "The terms are summed over the batch; the course's vae_loss sums over pixels and "
        "latent dimensions and averages over the batch (so the loss does not grow with B).",
    ),
    Mistake(
        "mean_over_pixels",
        _vs_mean_over_pixels,
        "The reconstruction is averaged over pixels (reduction='mean'): that is the hidden "
        "β ≈ 784 of section 7. Sum over pixels, average over the batch.",
    ),
    Mistake(
        "wrong_keys",
        _vs_wrong_keys,
        "The dict's keys are not the contract's: return "
        "{'loss': ..., 'reconstruction': ..., 'kl': ...}.",
    ),
    Mistake(
        "returns_loss_only",
        _vs_returns_loss_only,
        "It returns the loss only (a float, as chapter 1's train_step did); the VAE step "
        "returns a dict with 'loss', 'reconstruction' and 'kl', so you can watch both terms.",
    ),
    Mistake(
        "unpacks_three",
        _vs_unpacks_three,
        "`logits, mu, log_var = model(x)` fails: the course's VAE returns four items "
        "(logits, mu, log_var, z). Take the first three: `logits, mu, log_var = model(x)[:3]`.",
    ),
    Mistake(
        "reports_after_step",
        _vs_reports_after_step,
        "The numbers returned are computed again after `optimizer.step()`: report the loss "
        "and its terms of the forward pass you back-propagated.",
    ),
)

VAE_TRAIN_STEP = FunctionDrill(
    id="vae_train_step",
    chapter="04",
    title="One VAE training step",
    answer_name="vae_train_step",
    prompt=(
        "Write `vae_train_step(model, optimizer, x, beta=1.0) -> dict`: one optimisation step "
        "of a VAE. `model(x)` returns a tuple whose first three items are "
        "`(logits, mu, log_var)` (the course's VAE adds a fourth, z: take "
        "`model(x)[:3]`); x is a batch (B, 1, 28, 28) in [0, 1]. Zero the gradients, run the "
        "model, compute the two terms with your `vae_loss` (reconstruction = BCE-with-logits "
        "summed over pixels, kl = closed-form KL summed over latent dimensions, both averaged "
        "over the batch) and the loss reconstruction + beta * kl, back-propagate, step the "
        "optimizer, and return `{'loss': ..., 'reconstruction': ..., 'kl': ...}` as Python "
        "floats, the values of this forward pass. (If your `vae_loss` has not passed its "
        "drill yet, compute the two terms inside the step: an answer that runs the course's "
        "own code is refused.)"
    ),
    hints=(
        "The order of every PyTorch step: `optimizer.zero_grad()`, forward, loss, "
        "`loss.backward()`, `optimizer.step()`.",
        "`logits, mu, log_var = model(x)[:3]`, then "
        "`_, reconstruction, kl = vae_loss(logits, x, mu, log_var)`, then "
        "`loss = reconstruction + beta * kl`.",
        "Return `{'loss': loss.item(), 'reconstruction': reconstruction.item(), 'kl': kl.item()}`.",
    ),
    solution=(
        "```python\n"
        "def vae_train_step(model, optimizer, x, beta=1.0):\n"
        "    optimizer.zero_grad()\n"
        "    logits, mu, log_var = model(x)[:3]\n"
        "    _, reconstruction, kl = vae_loss(logits, x, mu, log_var)\n"
        "    loss = reconstruction + beta * kl\n"
        "    loss.backward()\n"
        "    optimizer.step()\n"
        "    return {'loss': loss.item(), 'reconstruction': reconstruction.item(),\n"
        "            'kl': kl.item()}\n"
        "```\n\n"
        "Without zero_grad, gradients accumulate across steps; returning tensors instead of "
        "floats keeps every step's graph in memory if you store the values; β weights the KL "
        "term only."
    ),
    reference_name="vae_course.drills.references:vae_train_step",
    mistakes=VAE_STEP_MISTAKES,
    make_probes=vae_step_probes,
    output=None,
    arg_names=("model", "optimizer", "x"),
    invoke=run_vae_step,
    problems=vae_step_problems,
    rtol=1e-3,
    atol=1e-7,
    device_check=False,
    success="All checks passed: the right loss and terms, one correct optimizer step, β on "
    "the KL term, gradients zeroed, floats returned.",
)

DRILLS = (VAE_TRAIN_STEP,)
