"""Chapter 07, latent traversals: ``latent_traversal(model, x, dim, values)`` (implementation).

The learner's function runs on a tiny VAE built here (:class:`TinyVAE`: 1x8x8 images, four
latent dimensions, a log-variance head far from 0 so that a sample is not the mean) by the
harness :func:`run_traversal`, under a fixed torch seed, so that a function that samples
gives the same numbers as the catalogued "sample instead of the mean" mistake.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import nn

from ..function import FunctionDrill
from ..observation import EDGE, Mistake, Observation, Probe, constant_output, same_values
from ..outputs import TensorOut

IMAGE_SHAPE = (1, 8, 8)
LATENT = 4


class TinyOutput(NamedTuple):
    """What ``TinyVAE.forward`` returns, like the course's models."""

    logits: torch.Tensor
    mu: torch.Tensor
    log_var: torch.Tensor
    z: torch.Tensor


class TinyVAE(nn.Module):
    """64 -> (mu, log_var) of 4 dimensions -> 64 logits, the checker's test model.

    ``encode(x)`` takes (B, 1, 8, 8) or (B, 64); ``decode(z)`` returns logits (B, 1, 8, 8);
    ``forward(x)`` returns (logits, mu, log_var, z) with z a sample; ``reparameterize``.
    """

    latent_dim = LATENT
    input_shape = IMAGE_SHAPE

    def __init__(self) -> None:
        super().__init__()
        self.fc_mu = nn.Linear(64, LATENT)
        self.fc_log_var = nn.Linear(64, LATENT)
        self.dec = nn.Linear(LATENT, 64)
        with torch.no_grad():
            self.fc_log_var.bias.fill_(-1.0)
            self.fc_mu.weight.mul_(3.0)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        flat = x.reshape(x.shape[0], -1)
        return self.fc_mu(flat), self.fc_log_var(flat)

    def reparameterize(self, mu: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
        return mu + torch.exp(0.5 * log_var) * torch.randn_like(mu)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.dec(z).reshape(-1, *IMAGE_SHAPE)

    def forward(self, x: torch.Tensor) -> TinyOutput:
        mu, log_var = self.encode(x)
        z = self.reparameterize(mu, log_var)
        return TinyOutput(self.decode(z), mu, log_var, z)


def _setup(seed: int) -> tuple[TinyVAE, torch.Tensor]:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(70 + seed)
        model = TinyVAE()
    g = torch.Generator().manual_seed(77 + seed)
    return model.eval(), torch.rand(IMAGE_SHAPE, generator=g)


def run_traversal(fn: Any, seed: int, dim: int, values: torch.Tensor) -> Any:
    """``fn(model, x, dim, values)`` on the tiny VAE and a random image x (1, 8, 8), under a
    fixed torch seed; a returned tensor comes back detached (a traversal needs no graph)."""
    model, x = _setup(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(700 + seed)
        out = fn(model, x, dim, values)
    return out.detach() if isinstance(out, torch.Tensor) else out


def traversal_probes(seed: int = 0) -> list[Probe]:
    """Three random traversals (values neither sorted nor evenly spaced, dim != 0), then a
    single value and the last dimension."""
    g = torch.Generator().manual_seed(707 + seed)

    def values(n: int) -> torch.Tensor:
        return (torch.rand(n, generator=g) * 6 - 3).sort().values[torch.randperm(n, generator=g)]

    return [
        Probe("dim_1", (seed, 1, values(5))),
        Probe("dim_2", (seed + 1, 2, values(7))),
        Probe("dim_3", (seed + 2, 3, values(4))),
        Probe(
            "one_value",
            (seed + 3, 1, values(1)),
            group=EDGE,
            label="a single value (S = 1)",
            advice="Avoid `.squeeze()`: it also removes the S dimension.",
        ),
        Probe("first_dim", (seed + 4, 0, values(3)), group=EDGE, label="dim = 0"),
    ]


# The mistake catalogue: each entry is a wrong implementation and its message.


def _mean(model, x):
    return model.encode(x.unsqueeze(0))[0]


def _decode(model, codes, x):
    return torch.sigmoid(model.decode(codes)).reshape(codes.shape[0], *x.shape)


def _lt_adds(model, x, dim, values):
    codes = _mean(model, x).repeat(len(values), 1)
    codes[:, dim] = codes[:, dim] + values
    return _decode(model, codes, x)


def _lt_multiplies(model, x, dim, values):
    codes = _mean(model, x).repeat(len(values), 1)
    codes[:, dim] = codes[:, dim] * values
    return _decode(model, codes, x)


def _lt_sample(model, x, dim, values):
    mu, log_var = model.encode(x.unsqueeze(0))
    z = mu + torch.exp(0.5 * log_var) * torch.randn_like(mu)
    codes = z.repeat(len(values), 1)
    codes[:, dim] = values
    return _decode(model, codes, x)


def _lt_log_var_as_code(model, x, dim, values):
    codes = model.encode(x.unsqueeze(0))[1].repeat(len(values), 1)
    codes[:, dim] = values
    return _decode(model, codes, x)


def _lt_all_dims(model, x, dim, values):
    codes = values.unsqueeze(1).repeat(1, LATENT)
    return _decode(model, codes, x)


def _lt_prior_base(model, x, dim, values):
    codes = torch.zeros(len(values), LATENT)
    codes[:, dim] = values
    return _decode(model, codes, x)


def _lt_dim_0(model, x, dim, values):
    return _lt_set(model, x, 0, values)


def _lt_set(model, x, dim, values):
    codes = _mean(model, x).repeat(len(values), 1)
    codes[:, dim] = values
    return _decode(model, codes, x)


def _lt_logits(model, x, dim, values):
    codes = _mean(model, x).repeat(len(values), 1)
    codes[:, dim] = values
    return model.decode(codes).reshape(len(values), *x.shape)


def _lt_even_range(model, x, dim, values):
    even = torch.linspace(float(values.min()), float(values.max()), len(values))
    return _lt_set(model, x, dim, even)


def _lt_flat(model, x, dim, values):
    return _lt_set(model, x, dim, values).reshape(len(values), -1)


def _lt_stacked_batches(model, x, dim, values):
    return _lt_set(model, x, dim, values).unsqueeze(1)


def _lt_reconstruction(model, x, dim, values):
    codes = _mean(model, x).repeat(len(values), 1)
    return _decode(model, codes, x)


def _lt_constant(model, x, dim, values):
    return torch.full((len(values), *x.shape), 0.5)


def same_shapes_and_values(learner: Observation, mistake: Observation) -> bool:
    """Matcher: on every probe the mistake answered, the same output shape and values (the
    default comparison looks at the values only, which a reshape does not change)."""
    pairs = [(learner.outcomes.get(n), o) for n, o in mistake.outcomes.items() if not o.failed_call]
    return bool(pairs) and all(
        mine is not None
        and not mine.failed_call
        and tuple(mine.shape or ()) == tuple(theirs.shape or ())
        and same_values(mine.values, theirs.values, 1e-5, 1e-6)
        for mine, theirs in pairs
    )


TRAVERSAL_MISTAKES = (
    Mistake(
        "adds_values",
        _lt_adds,
        "It adds each value to μ_dim; a traversal *sets* z_dim to the value "
        "(`codes[:, dim] = values`), so that the columns show the same values for every image.",
    ),
    Mistake(
        "multiplies_values",
        _lt_multiplies,
        "It multiplies μ_dim by each value; a traversal sets z_dim to the value itself.",
    ),
    Mistake(
        "sample_not_mean",
        _lt_sample,
        "It starts from a sample z ~ q(z|x); a traversal starts from the posterior mean "
        "μ(x) (the first output of `model.encode`), so that it is the same every time.",
    ),
    Mistake(
        "log_var_as_code",
        _lt_log_var_as_code,
        "It starts from log σ², the second output of `model.encode`; the code to traverse "
        "is μ, the first.",
    ),
    Mistake(
        "all_dims",
        _lt_all_dims,
        "It sets every latent dimension to the value; only dimension `dim` changes, the "
        "others keep their values from μ(x).",
    ),
    Mistake(
        "prior_base",
        _lt_prior_base,
        "It traverses around 0 (the prior mean), ignoring x: the other dimensions must "
        "keep their values from μ(x).",
    ),
    Mistake(
        "ignores_dim",
        _lt_dim_0,
        "It always changes dimension 0, whatever `dim` is: set column `dim` of the codes.",
    ),
    Mistake(
        "returns_logits",
        _lt_logits,
        "It returns the decoder's logits; return pixel probabilities, "
        "`torch.sigmoid(model.decode(codes))`.",
    ),
    Mistake(
        "even_range",
        _lt_even_range,
        "It uses an evenly spaced range between the smallest and largest value; use the "
        "given `values`, in their order (image s for values[s]).",
    ),
    Mistake(
        "flat_images",
        _lt_flat,
        "It returns flat vectors (S, C·H·W); return images shaped (S, C, H, W), like x "
        "with the S values in front.",
        matches=same_shapes_and_values,
    ),
    Mistake(
        "stacked_batches",
        _lt_stacked_batches,
        "It returns (S, 1, C, H, W), a stack of batches of one; return (S, C, H, W), e.g. "
        "by decoding all S codes as one batch.",
        matches=same_shapes_and_values,
    ),
    Mistake(
        "reconstruction_only",
        _lt_reconstruction,
        "Every image is the reconstruction of x: the values never reach the code. Set "
        "`codes[:, dim] = values` before decoding.",
    ),
    Mistake(
        "constant",
        _lt_constant,
        "It returns the same images whatever the model, x and values are.",
        matches=constant_output,
    ),
)

LATENT_TRAVERSAL = FunctionDrill(
    id="latent_traversal",
    chapter="07",
    title="A latent traversal",
    answer_name="latent_traversal",
    prompt=(
        "Implement `latent_traversal(model, x, dim, values) -> Tensor (S, C, H, W)`: the "
        "images of a latent traversal. `x` is one image (C, H, W); `model` is a course VAE "
        "(`model.encode(batch) -> (mu, log_var)`, each (B, d); `model.decode(z)` returns "
        "logits); `dim` is an int in 0..d-1; `values` is a float tensor (S,).\n\n"
        "Encode x (as a batch of one) to its posterior mean μ(x), not a sample; make S "
        "copies of it and *set* dimension `dim` of copy s to values[s], leaving the other "
        "dimensions as they are; decode all S codes and return pixel probabilities (the "
        "sigmoid of the logits) shaped (S, C, H, W), image s for values[s].\n\n"
        "Contract: deterministic (no sampling), the inputs are not modified."
    ),
    hints=(
        "`mu, _ = model.encode(x.unsqueeze(0))` gives the mean code (1, d); "
        "`mu.repeat(len(values), 1)` makes S copies.",
        "`codes[:, dim] = values` sets one column; do it on the copies, not on μ itself.",
        "`torch.sigmoid(model.decode(codes))` gives probabilities; `.reshape(len(values), "
        "*x.shape)` gives the shape.",
    ),
    solution=(
        "A traversal asks what one latent dimension does: hold everything else at the "
        "image's own (mean) code and move that one dimension through chosen values.\n\n"
        "```python\n"
        "import torch\n\n"
        "@torch.no_grad()\n"
        "def latent_traversal(model, x, dim, values):\n"
        "    mu, _ = model.encode(x.unsqueeze(0))      # (1, d): the mean, not a sample\n"
        "    codes = mu.repeat(len(values), 1)         # (S, d)\n"
        "    codes[:, dim] = values                    # set, not add\n"
        "    probabilities = torch.sigmoid(model.decode(codes))\n"
        "    return probabilities.reshape(len(values), *x.shape)\n"
        "```\n\n"
        "The package's version is `vae_course.disentanglement.latent_traversal`; "
        "`plots.traversal_grid` draws several at once."
    ),
    reference_name="vae_course.disentanglement:latent_traversal",
    mistakes=TRAVERSAL_MISTAKES,
    make_probes=traversal_probes,
    output=TensorOut(
        lambda p: (p.args[2].shape[0], *IMAGE_SHAPE), "S images shaped like x (C, H, W)"
    ),
    arg_names=("seed", "dim", "values"),
    invoke=run_traversal,
    device_check=False,
    wrong_values="Its images differ from the traversal's on random inputs.",
)

DRILLS = (LATENT_TRAVERSAL,)
