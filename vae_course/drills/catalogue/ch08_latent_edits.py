"""Chapter 08, moving in latent space: ``interpolate`` and ``attribute_vector`` (function).

Both run on the tiny VAE of :mod:`.ch08_applications` (fresh for every call, in training
mode, dropout in its encoder) and are judged with its traits: deterministic on a plain
model, deterministic with dropout (``model.eval()``), free of the autograd graph.
"""

from __future__ import annotations

import torch

from ..function import FunctionDrill
from ..observation import EDGE, Mistake, Probe
from ..outputs import TensorOut
from .ch08_applications import (
    LATENT,
    images,
    mode_measure,
    mode_problems,
    mode_traits,
    traits_match,
    with_model,
)

# ----------------------------------------------------------------------------- interpolate


def interpolate_probes(seed: int = 0) -> list[Probe]:
    """(model seed, x_a (1, 28, 28), x_b (1, 28, 28), steps); steps = 2 as an edge case."""
    g = torch.Generator().manual_seed(8282 + seed)

    def pair(binary: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        both = images(g, 2, binary=binary)
        return both[0], both[1]

    return [
        Probe("steps_5", (seed, *pair(), 5)),
        Probe("steps_7", (seed + 1, *pair(binary=True), 7)),
        Probe("steps_4", (seed + 2, *pair(), 4)),
        Probe(
            "steps_2",
            (seed + 3, *pair(), 2),
            group=EDGE,
            label="steps = 2 (only the two end points)",
        ),
    ]


def _interpolate_args(seed: int) -> tuple:
    both = images(torch.Generator().manual_seed(8383 + seed), 2)
    return both[0], both[1], 6


def _ends(model, x_a, x_b):
    return model.encode(x_a[None])[0][0], model.encode(x_b[None])[0][0]


def _lerp_decode(model, z_a, z_b, t):
    return torch.sigmoid(model.decode((1 - t[:, None]) * z_a + t[:, None] * z_b))


def _ip_pixels(model, x_a, x_b, steps):
    t = torch.linspace(0, 1, steps)[:, None, None, None]
    return (1 - t) * x_a + t * x_b


def _ip_samples(model, x_a, x_b, steps):
    model.eval()
    with torch.no_grad():
        mu, log_var = model.encode(torch.stack([x_a, x_b]))
        z = mu + torch.exp(0.5 * log_var) * torch.randn_like(mu)
        return _lerp_decode(model, z[0], z[1], torch.linspace(0, 1, steps))


def _ip_misses_end(model, x_a, x_b, steps):
    model.eval()
    with torch.no_grad():
        return _lerp_decode(model, *_ends(model, x_a, x_b), torch.arange(steps) / steps)


def _ip_one_too_many(model, x_a, x_b, steps):
    model.eval()
    with torch.no_grad():
        return _lerp_decode(model, *_ends(model, x_a, x_b), torch.linspace(0, 1, steps + 1))


def _ip_no_endpoints(model, x_a, x_b, steps):
    model.eval()
    with torch.no_grad():
        t = torch.linspace(0, 1, steps + 2)[1:-1]
        return _lerp_decode(model, *_ends(model, x_a, x_b), t)


def _ip_logits(model, x_a, x_b, steps):
    model.eval()
    with torch.no_grad():
        z_a, z_b = _ends(model, x_a, x_b)
        t = torch.linspace(0, 1, steps)[:, None]
        return model.decode((1 - t) * z_a + t * z_b)


def _ip_reversed(model, x_a, x_b, steps):
    model.eval()
    with torch.no_grad():
        return _lerp_decode(model, *_ends(model, x_a, x_b), torch.linspace(1, 0, steps))


def _ip_flat(model, x_a, x_b, steps):
    return _ip_reference_like(model, x_a, x_b, steps).flatten(1)


def _ip_reference_like(model, x_a, x_b, steps):
    model.eval()
    with torch.no_grad():
        return _lerp_decode(model, *_ends(model, x_a, x_b), torch.linspace(0, 1, steps))


def _ip_fixed_steps(model, x_a, x_b, steps):
    return _ip_reference_like(model, x_a, x_b, 10)


def _ip_missing_one_minus_t(model, x_a, x_b, steps):
    model.eval()
    with torch.no_grad():
        z_a, z_b = _ends(model, x_a, x_b)
        t = torch.linspace(0, 1, steps)[:, None]
        return torch.sigmoid(model.decode(z_a + t * z_b))


def _ip_decoded_blend(model, x_a, x_b, steps):
    model.eval()
    with torch.no_grad():
        z_a, z_b = _ends(model, x_a, x_b)
        p_a, p_b = torch.sigmoid(model.decode(torch.stack([z_a, z_b])))
        t = torch.linspace(0, 1, steps)[:, None, None, None]
        return (1 - t) * p_a + t * p_b


def _ip_train_mode(model, x_a, x_b, steps):
    with torch.no_grad():
        return _lerp_decode(model, *_ends(model, x_a, x_b), torch.linspace(0, 1, steps))


def _ip_keeps_graph(model, x_a, x_b, steps):
    model.eval()
    return _lerp_decode(model, *_ends(model, x_a, x_b), torch.linspace(0, 1, steps))


INTERPOLATE_MISTAKES = (
    Mistake(
        "pixel_space",
        _ip_pixels,
        "It blends the two images pixel by pixel (a cross-fade). Interpolate the mean codes "
        "z_t = (1 − t) μ(x_a) + t μ(x_b) and decode each z_t.",
    ),
    Mistake(
        "decoded_blend",
        _ip_decoded_blend,
        "It blends the two *decoded* end images pixel by pixel; the point of a latent "
        "interpolation is to decode every intermediate code z_t = (1 − t) z_a + t z_b.",
    ),
    Mistake(
        "samples",
        _ip_samples,
        "It interpolates between samples of q(z|x), so the path changes from call to call; "
        "use the mean codes μ(x_a), μ(x_b).",
        matches=traits_match,
    ),
    Mistake(
        "misses_end",
        _ip_misses_end,
        "The last image is not at t = 1: `torch.arange(steps) / steps` stops one step short "
        "of x_b. Use `torch.linspace(0, 1, steps)`, which includes both ends.",
    ),
    Mistake(
        "one_too_many",
        _ip_one_too_many,
        "It returns steps + 1 images: `torch.linspace(0, 1, steps)` already has `steps` "
        "values, both ends included.",
    ),
    Mistake(
        "no_endpoints",
        _ip_no_endpoints,
        "It leaves out the end points: the first image must decode μ(x_a) (t = 0) and the "
        "last μ(x_b) (t = 1).",
    ),
    Mistake(
        "logits",
        _ip_logits,
        "It returns the decoder's logits; the contract is pixel probabilities in [0, 1]: "
        "apply `torch.sigmoid`.",
    ),
    Mistake(
        "reversed",
        _ip_reversed,
        "The path runs backwards, from x_b to x_a: at t = 0 decode μ(x_a), at t = 1 μ(x_b).",
    ),
    Mistake(
        "flattened",
        _ip_flat,
        "It returns flattened images (steps, 784); the contract is (steps, C, H, W), the "
        "shape of the decoder's output: do not flatten.",
    ),
    Mistake(
        "fixed_steps",
        _ip_fixed_steps,
        "It ignores `steps` (always 10 images): use `torch.linspace(0, 1, steps)`.",
    ),
    Mistake(
        "missing_one_minus_t",
        _ip_missing_one_minus_t,
        "z_a + t z_b is not on the segment between the codes: the point at t is "
        "(1 − t) z_a + t z_b (or z_a + t (z_b − z_a)).",
    ),
    Mistake(
        "train_mode",
        _ip_train_mode,
        "The model is still in training mode (dropout is active), so the path changes from "
        "call to call. Call `model.eval()` first.",
        matches=traits_match,
    ),
    Mistake(
        "keeps_graph",
        _ip_keeps_graph,
        "The images are right but carry the autograd graph: decode under `with torch.no_grad():`.",
    ),
)

INTERPOLATE = FunctionDrill(
    id="interpolate",
    chapter="08",
    title="Latent interpolation between two images",
    answer_name="interpolate_images",
    prompt=(
        "Write `interpolate_images(model, x_a, x_b, steps) -> Tensor (steps, 1, 28, 28)` for a trained "
        "VAE `model` (`model.encode(x) -> (mu, log_var)` for a batch x (N, 1, 28, 28), "
        "`model.decode(z) -> logits` (N, 1, 28, 28)) and two images x_a, x_b of shape "
        "(1, 28, 28) each.\n\n"
        "Encode both to their mean codes z_a = μ(x_a), z_b = μ(x_b); for `steps` values of t "
        "evenly spaced from 0 to 1 (both ends included, steps ≥ 2) decode "
        "z_t = (1 − t) z_a + t z_b, and return the pixel probabilities sigmoid(decode(z_t)) "
        "in the order of t: the first image decodes z_a, the last z_b.\n\n"
        "Contract: deterministic (`model.eval()`: the model may use dropout; mean codes, no "
        "sampling); no autograd graph (`torch.no_grad()`); the inputs are not modified."
    ),
    hints=(
        "`model.encode` takes a batch: `torch.stack([x_a, x_b])` (2, 1, 28, 28) or "
        "`x_a[None]` (1, 1, 28, 28).",
        "`t = torch.linspace(0, 1, steps)[:, None]` (steps, 1) broadcasts against a code "
        "(d,): `(1 - t) * z_a + t * z_b` is (steps, d).",
        "Decode all the codes in one call and apply `torch.sigmoid`; start with "
        "`model.eval()` inside `with torch.no_grad():`.",
    ),
    solution=(
        "Interpolate the mean codes, not the pixels, and decode each point of the segment; "
        "`linspace` includes both ends.\n\n"
        "```python\n"
        "import torch\n\n"
        "def interpolate_images(model, x_a, x_b, steps):\n"
        "    model.eval()\n"
        "    with torch.no_grad():\n"
        "        mu, _ = model.encode(torch.stack([x_a, x_b]))\n"
        "        t = torch.linspace(0, 1, steps)[:, None]\n"
        "        z = (1 - t) * mu[0] + t * mu[1]\n"
        "        return torch.sigmoid(model.decode(z))\n"
        "```\n\n"
        "The package's version is `vae_course.applications.interpolate`."
    ),
    reference_name="vae_course.applications:interpolate",
    mistakes=INTERPOLATE_MISTAKES,
    make_probes=interpolate_probes,
    output=TensorOut(lambda p: (p.args[3], *p.args[1].shape), "steps images shaped like x_a"),
    arg_names=("model", "x_a", "x_b", "steps"),
    invoke=with_model,
    measure=mode_measure(_interpolate_args),
    traits=mode_traits,
    trait_problems=mode_problems("a deterministic path of decoded images"),
    wrong_values="Its images are not sigmoid(decode((1 − t) μ(x_a) + t μ(x_b))) for t from 0 to 1.",
    device_check=False,
    success="All checks passed: decoded mean codes on the segment from μ(x_a) to μ(x_b), "
    "both ends included, as probabilities, deterministic and without gradients.",
)


# ----------------------------------------------------------------------------- attribute_vector


def attribute_probes(seed: int = 0) -> list[Probe]:
    """(model seed, x_with (N1, ...), x_without (N2, ...)) with N1 != N2; one image each as
    an edge case."""
    g = torch.Generator().manual_seed(8484 + seed)
    return [
        Probe("groups_7_4", (seed, images(g, 7), images(g, 4))),
        Probe("groups_3_8", (seed + 1, images(g, 3, binary=True), images(g, 8, binary=True))),
        Probe("groups_6_5", (seed + 2, images(g, 6), images(g, 5))),
        Probe(
            "groups_1_1",
            (seed + 3, images(g, 1), images(g, 1)),
            group=EDGE,
            label="one image in each group",
        ),
    ]


def _attribute_args(seed: int) -> tuple:
    g = torch.Generator().manual_seed(8585 + seed)
    return images(g, 6), images(g, 3)


def _codes(model, x):
    return model.encode(x)[0]


def _av_pixels(model, x_with, x_without):
    return x_with.mean(dim=0) - x_without.mean(dim=0)


def _av_samples(model, x_with, x_without):
    model.eval()
    with torch.no_grad():
        groups = []
        for x in (x_with, x_without):
            mu, log_var = model.encode(x)
            groups.append((mu + torch.exp(0.5 * log_var) * torch.randn_like(mu)).mean(dim=0))
        return groups[0] - groups[1]


def _av_reversed(model, x_with, x_without):
    model.eval()
    with torch.no_grad():
        return _codes(model, x_without).mean(dim=0) - _codes(model, x_with).mean(dim=0)


def _av_sums(model, x_with, x_without):
    model.eval()
    with torch.no_grad():
        return _codes(model, x_with).sum(dim=0) - _codes(model, x_without).sum(dim=0)


def _av_pairwise(model, x_with, x_without):
    model.eval()
    with torch.no_grad():
        return (_codes(model, x_with) - _codes(model, x_without)).mean(dim=0)


def _av_unit_length(model, x_with, x_without):
    model.eval()
    with torch.no_grad():
        v = _codes(model, x_with).mean(dim=0) - _codes(model, x_without).mean(dim=0)
        return v / v.norm()


def _av_log_var(model, x_with, x_without):
    model.eval()
    with torch.no_grad():
        return model.encode(x_with)[1].mean(dim=0) - model.encode(x_without)[1].mean(dim=0)


def _av_mean_image(model, x_with, x_without):
    model.eval()
    with torch.no_grad():
        means = torch.stack([x_with.mean(dim=0), x_without.mean(dim=0)])
        codes = _codes(model, means)
        return codes[0] - codes[1]


def _av_keepdim(model, x_with, x_without):
    model.eval()
    with torch.no_grad():
        with_mean = _codes(model, x_with).mean(dim=0, keepdim=True)
        return with_mean - _codes(model, x_without).mean(dim=0, keepdim=True)


def _av_train_mode(model, x_with, x_without):
    with torch.no_grad():
        return _codes(model, x_with).mean(dim=0) - _codes(model, x_without).mean(dim=0)


def _av_keeps_graph(model, x_with, x_without):
    model.eval()
    return _codes(model, x_with).mean(dim=0) - _codes(model, x_without).mean(dim=0)


ATTRIBUTE_MISTAKES = (
    Mistake(
        "pixel_space",
        _av_pixels,
        "It subtracts the groups' mean *images*; the attribute vector lives in latent "
        "space: the difference of the groups' mean codes μ(x), shape (d,).",
    ),
    Mistake(
        "mean_image",
        _av_mean_image,
        "It encodes the groups' average images; average the codes instead: the mean of "
        "μ(x) over each group (the encoder is not linear, so the two differ).",
    ),
    Mistake(
        "samples",
        _av_samples,
        "It averages samples of q(z|x), so the vector changes from call to call: use the "
        "mean codes μ(x).",
        matches=traits_match,
    ),
    Mistake(
        "reversed",
        _av_reversed,
        "The sign is reversed: v = mean μ(with) − mean μ(without), so that adding v adds "
        "the attribute.",
    ),
    Mistake(
        "sums",
        _av_sums,
        "It sums the codes of each group instead of averaging them: with groups of "
        "different sizes the difference of sums is not a direction of the attribute.",
    ),
    Mistake(
        "pairwise",
        _av_pairwise,
        "It subtracts the two groups' codes row by row, which needs groups of the same size "
        "(and pairs images arbitrarily). Average each group first, then subtract.",
    ),
    Mistake(
        "unit_length",
        _av_unit_length,
        "It normalises the vector to length 1; the contract is the plain difference of the "
        "mean codes (its length says how far apart the groups are).",
    ),
    Mistake(
        "log_var",
        _av_log_var,
        "It uses log σ² (the second output of `model.encode`); the codes are μ, the first.",
    ),
    Mistake(
        "keepdim",
        _av_keepdim,
        "It returns shape (1, d); the contract is one vector (d,): average with "
        "`.mean(dim=0)` (no `keepdim`).",
    ),
    Mistake(
        "train_mode",
        _av_train_mode,
        "The model is still in training mode (dropout is active), so the vector changes "
        "from call to call. Call `model.eval()` first.",
        matches=traits_match,
    ),
    Mistake(
        "keeps_graph",
        _av_keeps_graph,
        "The vector is right but carries the autograd graph: encode under `with torch.no_grad():`.",
    ),
)

ATTRIBUTE_VECTOR = FunctionDrill(
    id="attribute_vector",
    chapter="08",
    title="A latent attribute vector",
    answer_name="latent_attribute_vector",
    prompt=(
        "Write `latent_attribute_vector(model, x_with, x_without) -> Tensor (d,)` for a trained VAE "
        "`model` (`model.encode(x) -> (mu, log_var)`, each (N, d)) and two groups of images "
        "(N1, 1, 28, 28) that show an attribute and (N2, 1, 28, 28) that do not (N1 and N2 "
        "may differ).\n\n"
        "Return v = mean of μ(x) over x_with − mean of μ(x) over x_without: the direction "
        "in latent space that adds the attribute.\n\n"
        "Contract: shape (d,); deterministic (`model.eval()`: the model may use dropout; "
        "mean codes, no sampling); no autograd graph (`torch.no_grad()`); the inputs are "
        "not modified."
    ),
    hints=(
        "`model.encode(x_with)[0]` is the (N1, d) matrix of mean codes of the first group.",
        "Average each group over its examples (`.mean(dim=0)`) before subtracting: the "
        "groups need not have the same size.",
        "Start with `model.eval()` inside `with torch.no_grad():`.",
    ),
    solution=(
        "Average the mean codes of each group, then subtract: the vector points from the "
        "centre of the codes without the attribute to the centre of those with it.\n\n"
        "```python\n"
        "import torch\n\n"
        "def latent_attribute_vector(model, x_with, x_without):\n"
        "    model.eval()\n"
        "    with torch.no_grad():\n"
        "        mu_with, _ = model.encode(x_with)\n"
        "        mu_without, _ = model.encode(x_without)\n"
        "        return mu_with.mean(dim=0) - mu_without.mean(dim=0)\n"
        "```\n\n"
        "The package's version is `vae_course.applications.attribute_vector`."
    ),
    reference_name="vae_course.applications:attribute_vector",
    mistakes=ATTRIBUTE_MISTAKES,
    make_probes=attribute_probes,
    output=TensorOut(lambda p: (LATENT,), "one vector of the latent size d"),
    arg_names=("model", "x_with", "x_without"),
    invoke=with_model,
    measure=mode_measure(_attribute_args),
    traits=mode_traits,
    trait_problems=mode_problems("one deterministic vector (d,)"),
    wrong_values="Its vector is not the difference of the groups' mean codes μ(x).",
    device_check=False,
    success="All checks passed: the difference of the groups' mean codes, deterministic and "
    "without gradients.",
)

DRILLS = (INTERPOLATE, ATTRIBUTE_VECTOR)
