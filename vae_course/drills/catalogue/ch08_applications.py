"""Chapter 08, applications: ``anomaly_score`` (function), and the harness of every ch08 drill.

The other two implementation drills of the chapter, ``interpolate`` and
``attribute_vector``, are in :mod:`.ch08_latent_edits` and use this harness.

Each answer takes a trained VAE first. The checker hands it a tiny VAE of its own
(:class:`TinyVAE`, with dropout in its encoder, built fresh for every call and left in
training mode, as a model is after ``fit``), so that three things a real model hides become
visible:

* sampling z instead of using the mean code: two calls with different random states differ
  on a model without dropout (trait ``repeatable``);
* forgetting ``model.eval()``: two calls differ on the model with dropout
  (``repeatable_with_dropout``);
* keeping the autograd graph: the output requires grad (``graph_free``).

The measurements are raw outputs; the judge derives the traits (:func:`mode_traits`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..function import FunctionDrill
from ..observation import EDGE, Mistake, Observation, Probe, clone_args
from ..outputs import TensorOut
from ..timed import TimedCalls

LATENT = 5
DROPOUT = 0.5


class TinyVAE(nn.Module):
    """784 → 24 (tanh, dropout) → μ, log σ² (5 each); 5 → 784 logits: the checkers' test model.

    ``encode(x) -> (mu, log_var)`` (N, 5) each; ``decode(z) -> logits`` (N, 1, 28, 28);
    ``forward(x) -> (logits, mu, log_var)`` with z sampled by the reparameterisation.
    """

    def __init__(self, dropout: float) -> None:
        super().__init__()
        self.hidden = nn.Linear(784, 24)
        self.drop = nn.Dropout(dropout)
        self.mu_head = nn.Linear(24, LATENT)
        self.log_var_head = nn.Linear(24, LATENT)
        self.out = nn.Linear(LATENT, 784)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.drop(torch.tanh(self.hidden(x.reshape(x.shape[0], -1))))
        return 2 * self.mu_head(h), self.log_var_head(h)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return 3 * self.out(z).reshape(-1, 1, 28, 28)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mu, log_var = self.encode(x)
        z = mu + torch.exp(0.5 * log_var) * torch.randn_like(mu)
        return self.decode(z), mu, log_var


def tiny_vae(seed: int, dropout: float = DROPOUT) -> TinyVAE:
    """A fresh TinyVAE (seeded), in training mode."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(808 + seed)
        return TinyVAE(dropout)


def with_model(fn: Any, model_seed: int, *args: Any) -> Any:
    """Call ``fn(model, *args)`` on a fresh tiny VAE (training mode), the random state seeded
    (inside the check's own random state), so that an answer that samples is reproducible."""
    model = tiny_vae(model_seed)
    torch.manual_seed(0)
    return fn(model, *args)


def images(g: torch.Generator, n: int, *, binary: bool = False) -> torch.Tensor:
    """(n, 1, 28, 28) in [0, 1] drawn from ``g``."""
    x = torch.rand(n, 1, 28, 28, generator=g)
    return (x > 0.5).float() if binary else x


def mode_measure(make_args: Callable[[int], tuple]) -> Callable[[Any, TimedCalls, int], dict]:
    """A ``measure``: fn(model, *make_args(seed)) four times, on a model without dropout and on
    one with dropout, each with two random states. Raw outputs only."""

    def measure(fn: Any, calls: TimedCalls, seed: int) -> dict[str, Any]:
        args = make_args(seed)
        measured: dict[str, Any] = {}
        for name, dropout, state in (
            ("plain", 0.0, 1),
            ("plain_again", 0.0, 2),
            ("dropout", DROPOUT, 1),
            ("dropout_again", DROPOUT, 2),
        ):
            model = tiny_vae(seed, dropout)
            torch.manual_seed(state)
            call = calls.call(fn, model, *clone_args(args))
            if call.not_implemented:
                return {"not_attempted": True}
            if not call.ok or not isinstance(call.value, torch.Tensor):
                return {"calls": "failed"}
            measured[name] = call.value.detach().double().cpu().numpy()
            if name == "plain":
                measured["requires_grad"] = bool(call.value.requires_grad)
        return measured

    return measure


def _same(a: Any, b: Any) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=1e-5, atol=1e-6, equal_nan=True))


def mode_traits(measured: dict[str, Any], seed: int) -> dict[str, Any]:
    """Deterministic on a plain model? On a model with dropout? Free of the autograd graph?"""
    if "calls" in measured:
        return {"calls": "failed"}
    return {
        "repeatable": _same(measured["plain"], measured["plain_again"]),
        "repeatable_with_dropout": _same(measured["dropout"], measured["dropout_again"]),
        "graph_free": not measured["requires_grad"],
    }


def mode_problems(what: str) -> Callable[[dict, dict], list[str]]:
    """``trait_problems`` wording the traits of :func:`mode_traits` for an answer of ``what``."""

    def problems(mine: dict[str, Any], reference: dict[str, Any]) -> list[str]:
        if "calls" in mine:
            return [f"It does not return a tensor for every model it is given ({what})."]
        found = []
        if not mine["repeatable"]:
            found.append(
                "Two calls on the same images give different results: it samples z. Use the "
                "mean code μ(x) (the first output of `model.encode`), not a sample."
            )
        elif not mine["repeatable_with_dropout"]:
            found.append(
                "On a model with dropout, two calls give different results: the model is "
                "still in training mode. Call `model.eval()` first."
            )
        if not mine["graph_free"]:
            found.append(
                "The result still carries the autograd graph: compute it under "
                "`torch.no_grad()` (nothing here needs gradients)."
            )
        return found or [f"It does not behave like {what}."]

    return problems


def traits_match(learner: Observation, this: Observation) -> bool:
    """A mistake known by its traits alone (its values are random)."""
    return bool(learner.traits) and learner.traits == this.traits


# ----------------------------------------------------------------------------- anomaly_score


def anomaly_probes(seed: int = 0) -> list[Probe]:
    """(model seed, images (N, 1, 28, 28)): grey and binary images, N = 1 as an edge case."""
    g = torch.Generator().manual_seed(8080 + seed)
    return [
        Probe("grey_6", (seed, images(g, 6))),
        Probe("binary_4", (seed + 1, images(g, 4, binary=True))),
        Probe("grey_9", (seed + 2, images(g, 9))),
        Probe("one_image", (seed + 3, images(g, 1)), group=EDGE, label="a single image (N = 1)"),
    ]


def _anomaly_args(seed: int) -> tuple:
    return (images(torch.Generator().manual_seed(8181 + seed), 5),)


def _bce(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none")


def _as_mean_sample(model, x):
    model.eval()
    with torch.no_grad():
        mu, log_var = model.encode(x)
        z = mu + torch.exp(0.5 * log_var) * torch.randn_like(mu)
        return _bce(model.decode(z), x).flatten(1).sum(dim=1)


def _as_mean_over_pixels(model, x):
    model.eval()
    with torch.no_grad():
        return _bce(model.decode(model.encode(x)[0]), x).flatten(1).mean(dim=1)


def _as_sigmoid_twice(model, x):
    model.eval()
    with torch.no_grad():
        logits = torch.sigmoid(model.decode(model.encode(x)[0]))
        return _bce(logits, x).flatten(1).sum(dim=1)


def _as_bce_on_logits(model, x):
    model.eval()
    with torch.no_grad():
        logits = model.decode(model.encode(x)[0])
        return F.binary_cross_entropy(logits, x, reduction="none").flatten(1).sum(dim=1)


def _as_scalar(model, x):
    model.eval()
    with torch.no_grad():
        return _bce(model.decode(model.encode(x)[0]), x).sum() / x.shape[0]


def _as_batch_mixing(model, x):
    model.eval()
    with torch.no_grad():
        return _bce(model.decode(model.encode(x)[0]), x).reshape(-1, x.shape[0]).sum(dim=0)


def _as_train_mode(model, x):
    with torch.no_grad():
        return _bce(model.decode(model.encode(x)[0]), x).flatten(1).sum(dim=1)


def _as_keeps_graph(model, x):
    model.eval()
    return _bce(model.decode(model.encode(x)[0]), x).flatten(1).sum(dim=1)


def _as_wrong_sign(model, x):
    model.eval()
    with torch.no_grad():
        return -_bce(model.decode(model.encode(x)[0]), x).flatten(1).sum(dim=1)


def _as_plus_kl(model, x):
    model.eval()
    with torch.no_grad():
        mu, log_var = model.encode(x)
        kl = 0.5 * (mu.pow(2) + log_var.exp() - log_var - 1).sum(dim=1)
        return _bce(model.decode(mu), x).flatten(1).sum(dim=1) + kl


def _as_squared_error(model, x):
    model.eval()
    with torch.no_grad():
        p = torch.sigmoid(model.decode(model.encode(x)[0]))
        return (p - x).pow(2).flatten(1).sum(dim=1)


def _as_swapped(model, x):
    model.eval()
    with torch.no_grad():
        logits = model.decode(model.encode(x)[0])
        return F.binary_cross_entropy_with_logits(x, torch.sigmoid(logits), reduction="none").flatten(1).sum(dim=1)  # fmt: skip


ANOMALY_MISTAKES = (
    Mistake(
        "sample_not_mean",
        _as_mean_sample,
        "It decodes a sample z ~ q(z|x) (or calls `model(x)`, which samples): the score "
        "then changes from call to call. Decode the mean code μ(x), the first output of "
        "`model.encode(x)`.",
        matches=traits_match,
    ),
    Mistake(
        "mean_over_pixels",
        _as_mean_over_pixels,
        "It averages the BCE over the pixels; the score is −log p(x | z = μ(x)), the BCE "
        "summed over the pixels of each image (784 times larger for MNIST).",
    ),
    Mistake(
        "sigmoid_twice",
        _as_sigmoid_twice,
        "`binary_cross_entropy_with_logits` applies the sigmoid itself; giving it "
        "`torch.sigmoid(decode(μ))` applies it twice. Pass the decoder's logits.",
    ),
    Mistake(
        "bce_on_logits",
        _as_bce_on_logits,
        "`F.binary_cross_entropy` expects probabilities, but `decode` returns logits: use "
        "`F.binary_cross_entropy_with_logits` (numerically safe).",
    ),
    Mistake(
        "scalar",
        _as_scalar,
        "It returns one number for the whole batch; the contract is one score per image, "
        "shape (N,): sum over each image's pixels only (`.flatten(1).sum(dim=1)`).",
    ),
    Mistake(
        "batch_mixing",
        _as_batch_mixing,
        "Its shape is right but each score mixes pixels of different images: "
        "`reshape(-1, N)` cuts the batch the wrong way. Keep the batch first: "
        "`.flatten(1).sum(dim=1)` or `.sum(dim=(1, 2, 3))`.",
    ),
    Mistake(
        "train_mode",
        _as_train_mode,
        "The model is still in training mode (dropout is active), so the same image gets "
        "different scores. Call `model.eval()` before scoring.",
        matches=traits_match,
    ),
    Mistake(
        "keeps_graph",
        _as_keeps_graph,
        "The scores are right but carry the autograd graph: wrap the computation in "
        "`with torch.no_grad():` (scoring needs no gradients, and the graph costs memory).",
    ),
    Mistake(
        "wrong_sign",
        _as_wrong_sign,
        "It returns the log-likelihood log p(x | z = μ(x)); the anomaly score is its "
        "negative (high = unusual): the BCE itself.",
    ),
    Mistake(
        "plus_kl",
        _as_plus_kl,
        "It adds the KL term: that is (a deterministic version of) the negative ELBO, the "
        "chapter's second score. This exercise asks for the reconstruction error alone.",
    ),
    Mistake(
        "squared_error",
        _as_squared_error,
        "It uses a squared error between probabilities and pixels; the score is the "
        "Bernoulli reconstruction error, BCE with logits summed over pixels.",
    ),
    Mistake(
        "swapped_arguments",
        _as_swapped,
        "The BCE's arguments are swapped: `F.binary_cross_entropy_with_logits(logits, x)` "
        "takes the decoder's logits first and the image (the target) second.",
    ),
)

ANOMALY_SCORE = FunctionDrill(
    id="anomaly_score",
    chapter="08",
    title="An anomaly score: the reconstruction error of the mean code",
    answer_name="anomaly_score",
    prompt=(
        "Write `anomaly_score(model, x) -> Tensor (N,)` for a trained VAE `model` with "
        "`model.encode(x) -> (mu, log_var)` and `model.decode(z) -> logits` (N, 1, 28, 28), "
        "and images x of shape (N, 1, 28, 28) with values in [0, 1].\n\n"
        "The score of an image is its reconstruction error s(x) = −log p(x | z = μ(x)): "
        "encode, decode the **mean** code (no sampling), and sum the binary cross-entropy "
        "(with logits) over the pixels of each image: one number per image, shape (N,).\n\n"
        "Contract: the same image always gets the same score (put the model in evaluation "
        "mode with `model.eval()`: the model you are given may use dropout); no autograd "
        "graph (`torch.no_grad()`); x is not modified."
    ),
    hints=(
        "`mu, log_var = model.encode(x)`, then `logits = model.decode(mu)`.",
        "`F.binary_cross_entropy_with_logits(logits, x, reduction='none')` keeps one loss "
        "per pixel; `.flatten(1).sum(dim=1)` sums each image's pixels.",
        "Start with `model.eval()` and put the rest inside `with torch.no_grad():`.",
    ),
    solution=(
        "Decode the mean code, so that the score is a deterministic function of x, and sum "
        "(not average) the BCE over pixels: that is −log p(x | z = μ(x)) in nats.\n\n"
        "```python\n"
        "import torch\n"
        "import torch.nn.functional as F\n\n"
        "def anomaly_score(model, x):\n"
        "    model.eval()\n"
        "    with torch.no_grad():\n"
        "        mu, _ = model.encode(x)\n"
        "        logits = model.decode(mu)\n"
        "        bce = F.binary_cross_entropy_with_logits(logits, x, reduction='none')\n"
        "        return bce.flatten(1).sum(dim=1)\n"
        "```\n\n"
        "The package's version is `vae_course.applications.anomaly_score`."
    ),
    reference_name="vae_course.applications:anomaly_score",
    mistakes=ANOMALY_MISTAKES,
    make_probes=anomaly_probes,
    output=TensorOut(lambda p: (p.args[1].shape[0],), "one score per image"),
    arg_names=("model", "x"),
    invoke=with_model,
    measure=mode_measure(_anomaly_args),
    traits=mode_traits,
    trait_problems=mode_problems("one deterministic score per image"),
    wrong_values="Its scores are not the BCE of decode(μ(x)) summed over each image's pixels.",
    device_check=False,
    success="All checks passed: one deterministic score per image, −log p(x | z = μ(x)) in "
    "nats, without gradients.",
)

DRILLS = (ANOMALY_SCORE,)
