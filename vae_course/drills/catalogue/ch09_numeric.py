"""Chapter 09, olympiad pool: seeded numeric items across the course (5 points each).

Each item draws its numbers from a seed (``make_params``), asks for one number in a normal
form, names the slips it recognises (``NumericMistake``) and writes a worked solution with
the learner's numbers. Here: parameter counts and likelihoods; schedules, collapse,
disentanglement and applications are in :mod:`.ch09_numeric_more`; the KL, hidden-β,
reparameterisation and IWAE items in :mod:`.ch09_olympiad`.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Any

from ..derivation import NATS_4, TOLERANCE
from ..numeric import NumericDrill, NumericMistake
from .ch09_choice import CHAPTER, POINTS

P = dict[str, Any]
EXACT = 1e-9  # counts are exact
INTEGER = "as an exact integer"
PLAIN_4 = "as a number rounded to 4 decimals"
_IMAGE_SHAPES = ((1, 28, 28), (3, 32, 32), (1, 64, 64), (3, 64, 64))


def _item(
    drill_id: str,
    title: str,
    prompt: str,
    hints: tuple[str, ...],
    solution: str,
    *,
    make_params: Callable[[random.Random], P],
    answer: Callable[[P], float],
    describe: Callable[[P], str],
    worked: Callable[[P], str],
    mistakes: tuple[NumericMistake, ...],
    normal_form: str = NATS_4,
    tolerance: float = TOLERANCE,
    sanity: Callable[[float, P], str | None] | None = None,
) -> NumericDrill:
    return NumericDrill(
        id=drill_id,
        chapter=CHAPTER,
        title=title,
        answer_name=f"answer_{drill_id}",
        max_score=POINTS,
        prompt=f"{prompt} (`q = drills.question({drill_id!r})`).",
        hints=hints,
        solution=solution,
        answer=answer,
        make_params=make_params,
        describe=describe,
        worked=worked,
        mistakes=mistakes,
        normal_form=normal_form,
        tolerance=tolerance,
        sanity=sanity,
    )


def _pixels(p: P) -> int:
    return math.prod(p["shape"])


def _shape_text(p: P) -> str:
    c, h, w = p["shape"]
    return f"({c}, {h}, {w})"


# ------------------------------------------------------------------ autoencoder parameters


def _ae_params(rng: random.Random) -> P:
    return {
        "shape": list(rng.choice(_IMAGE_SHAPES)),
        "hidden": rng.choice((64, 128, 256, 512)),
        "latent": rng.choice((2, 8, 16, 32)),
    }


def _ae_count(p: P, *, bias: bool = True, decoder: bool = True) -> float:
    d, h, k = _pixels(p), p["hidden"], p["latent"]
    b = 1 if bias else 0
    encoder = d * h + b * h + h * k + b * k
    return float(encoder + ((k * h + b * h + h * d + b * d) if decoder else 0))


AE_PARAMETERS = _item(
    "olympiad_ae_parameters",
    "Counting an autoencoder's parameters",
    "Count the parameters of a fully connected autoencoder with biases",
    (
        "A linear layer from n to m values has n·m weights and m biases.",
        "Encoder D → h → k and decoder k → h → D: four linear layers in all.",
    ),
    "Sum n·m + m over the four layers D→h, h→k, k→h, h→D; the two big layers (D·h each) "
    "dominate, which is why a parameter budget is spent on the first and last layers.",
    make_params=_ae_params,
    answer=_ae_count,
    describe=lambda p: (
        f"An autoencoder flattens images of shape (C, H, W) = {_shape_text(p)} into D values "
        f"and uses linear layers with biases (ReLU between them): D → {p['hidden']} → "
        f"{p['latent']} (the code) → {p['hidden']} → D. How many trainable parameters does it "
        "have?"
    ),
    worked=lambda p: (
        f"D = {_pixels(p)}. Layers: D·h + h = {_pixels(p) * p['hidden'] + p['hidden']}; "
        f"h·k + k = {p['hidden'] * p['latent'] + p['latent']}; k·h + h = "
        f"{p['latent'] * p['hidden'] + p['hidden']}; h·D + D = "
        f"{p['hidden'] * _pixels(p) + _pixels(p)}. Total {_ae_count(p):.0f}."
    ),
    mistakes=(
        NumericMistake(
            "no_biases",
            lambda p: _ae_count(p, bias=False),
            "You counted the weights only: every layer also has one bias per output.",
        ),
        NumericMistake(
            "encoder_only",
            lambda p: _ae_count(p, decoder=False),
            "That is the encoder alone; the decoder's two layers count too.",
        ),
    ),
    normal_form=INTEGER,
    tolerance=EXACT,
)


# ------------------------------------------------------------------ VAE versus autoencoder


def _heads_params(rng: random.Random) -> P:
    return {
        "hidden": rng.choice((100, 128, 200, 256, 400, 512)),
        "latent": rng.choice(range(2, 65)),
    }


VAE_HEADS = _item(
    "olympiad_vae_heads",
    "What the second encoder head costs",
    "A VAE's encoder has one more output head than an autoencoder's: count what it adds",
    (
        "The autoencoder's last encoder layer maps h values to the k-dimensional code.",
        "The VAE needs μ *and* log σ²: one more linear layer h → k, weights and biases.",
    ),
    "Everything is shared except the extra head: h·k weights plus k biases.",
    make_params=_heads_params,
    answer=lambda p: float(p["hidden"] * p["latent"] + p["latent"]),
    describe=lambda p: (
        f"An MLP autoencoder and an MLP VAE have the same layers, with a hidden layer of "
        f"h = {p['hidden']} units before the code and a code of k = {p['latent']} dimensions; "
        "the VAE's encoder ends in two linear heads (μ and log σ², each with biases) where "
        "the autoencoder has one. How many more parameters does the VAE have?"
    ),
    worked=lambda p: (
        f"One extra linear layer h → k: {p['hidden']}·{p['latent']} + {p['latent']} = "
        f"{p['hidden'] * p['latent'] + p['latent']}."
    ),
    mistakes=(
        NumericMistake(
            "both_heads",
            lambda p: 2.0 * (p["hidden"] * p["latent"] + p["latent"]),
            "That counts both heads; the autoencoder already has one of them (its code layer).",
        ),
        NumericMistake(
            "no_bias",
            lambda p: float(p["hidden"] * p["latent"]),
            "The extra head also has k biases.",
        ),
    ),
    normal_form=INTEGER,
    tolerance=EXACT,
)


# ------------------------------------------------------------------------ bits per dimension


def _bpd_params(rng: random.Random) -> P:
    return {"nelbo": round(rng.uniform(60.0, 900.0), 1), "shape": list(rng.choice(_IMAGE_SHAPES))}


def _bpd(p: P) -> float:
    return p["nelbo"] / (_pixels(p) * math.log(2))


BITS_PER_DIM = _item(
    "olympiad_bits_per_dim",
    "From nats per image to bits per dimension",
    "Convert a negative ELBO in nats per image into bits per dimension",
    (
        "1 nat = 1/ln 2 bits.",
        "Per dimension: divide by the number of values in one image, C·H·W.",
    ),
    "bits/dim = (−ELBO in nats) / (C·H·W · ln 2): the unit of likelihood papers, comparable "
    "across image sizes.",
    make_params=_bpd_params,
    answer=_bpd,
    describe=lambda p: (
        f"A VAE reaches a negative ELBO of {p['nelbo']:g} nats per image on images of shape "
        f"(C, H, W) = {_shape_text(p)}. Express it in bits per dimension."
    ),
    worked=lambda p: (
        f"D = {_pixels(p)}; {p['nelbo']:g} / ({_pixels(p)} · ln 2) = {_bpd(p):.6f} bits/dim."
    ),
    mistakes=(
        NumericMistake(
            "nats_per_dim",
            lambda p: p["nelbo"] / _pixels(p),
            "That is nats per dimension: divide by ln 2 as well to get bits.",
        ),
        NumericMistake(
            "bits_per_image",
            lambda p: p["nelbo"] / math.log(2),
            "That is bits per image: divide by the C·H·W values of an image.",
        ),
        NumericMistake(
            "times_ln2",
            lambda p: p["nelbo"] * math.log(2) / _pixels(p),
            "You multiplied by ln 2; nats become bits by *dividing* by ln 2.",
        ),
    ),
    normal_form=PLAIN_4,
)


# ------------------------------------------------------------------ Gaussian likelihood


def _gauss_params(rng: random.Random) -> P:
    x = [round(rng.uniform(0.0, 1.0), 2) for _ in range(4)]
    x_hat = [round(v + rng.uniform(-0.3, 0.3), 2) for v in x]
    return {"x": x, "x_hat": x_hat, "sigma": rng.choice((0.1, 0.2, 0.5, 1.0))}


def _sse(p: P) -> float:
    return sum((a - b) ** 2 for a, b in zip(p["x"], p["x_hat"], strict=True))


def _gauss_nll(
    p: P, *, constant: bool = True, half: float = 0.5, var: float | None = None
) -> float:
    d = len(p["x"])
    s2 = p["sigma"] ** 2 if var is None else var
    return (0.5 * d * math.log(2 * math.pi * s2) if constant else 0.0) + half * _sse(p) / s2


GAUSSIAN_NLL = _item(
    "olympiad_gaussian_nll",
    "A Gaussian decoder's negative log-likelihood",
    "Compute −log p(x|z) for a Gaussian decoder with a fixed standard deviation",
    (
        "log N(x; m, σ²) = −½ log(2πσ²) − (x − m)²/(2σ²) per value; add the values.",
        "Keep the constant: −log p includes D/2 · log(2πσ²).",
    ),
    "−log p(x|z) = (D/2) log(2πσ²) + Σ_i (x_i − x̂_i)²/(2σ²): MSE up to a scale and a "
    "constant, which is why MSE is 'a Gaussian likelihood'.",
    make_params=_gauss_params,
    answer=_gauss_nll,
    describe=lambda p: (
        f"A decoder outputs the mean x̂ = {p['x_hat']} of p(x|z) = N(x̂, σ² I) with "
        f"σ = {p['sigma']:g} for an image of D = 4 values x = {p['x']}. Compute −log p(x|z)."
    ),
    worked=lambda p: (
        f"Σ(x − x̂)² = {_sse(p):.6f}; (D/2) log(2πσ²) = "
        f"{0.5 * 4 * math.log(2 * math.pi * p['sigma'] ** 2):.6f}; Σ(x − x̂)²/(2σ²) = "
        f"{_sse(p) / (2 * p['sigma'] ** 2):.6f}; total {_gauss_nll(p):.6f} nats."
    ),
    mistakes=(
        NumericMistake(
            "no_constant",
            lambda p: _gauss_nll(p, constant=False),
            "The normalising constant (D/2)·log(2πσ²) is missing.",
        ),
        NumericMistake(
            "sigma_as_variance",
            lambda p: _gauss_nll(p, var=p["sigma"]),
            "You used σ where the formula needs σ².",
        ),
        NumericMistake(
            "missing_half",
            lambda p: _gauss_nll(p, half=1.0),
            "The squared error is divided by 2σ², not σ².",
        ),
    ),
)


# ------------------------------------------------------------------ Bernoulli likelihood


def _bern_params(rng: random.Random) -> P:
    return {
        "logits": [round(rng.uniform(-3.0, 3.0), 1) for _ in range(4)],
        "x": [rng.choice((0, 1)) for _ in range(4)],
    }


def _softplus(v: float) -> float:
    return max(v, 0.0) + math.log1p(math.exp(-abs(v)))


def _bern_nll(p: P) -> float:
    return sum(_softplus(v) - x * v for v, x in zip(p["logits"], p["x"], strict=True))


BERNOULLI_NLL = _item(
    "olympiad_bernoulli_nll",
    "A Bernoulli decoder's negative log-likelihood from logits",
    "Compute −log p(x|z) of binary pixels from the decoder's logits",
    (
        "p = sigmoid(logit); −log p(x) = −x log p − (1 − x) log(1 − p) per pixel.",
        "With logits: −log p(x) = log(1 + e^ℓ) − x·ℓ. Sum over the pixels.",
    ),
    "BCE with logits summed over pixels: Σ_i softplus(ℓ_i) − x_i ℓ_i (the stable form "
    "`F.binary_cross_entropy_with_logits(..., reduction='sum')`).",
    make_params=_bern_params,
    answer=_bern_nll,
    describe=lambda p: (
        f"A decoder outputs the logits ℓ = {p['logits']} for the 4 binary pixels "
        f"x = {p['x']} (p(x_i = 1 | z) = sigmoid(ℓ_i)). Compute −log p(x|z), summed over "
        "the pixels."
    ),
    worked=lambda p: (
        "Per pixel log(1 + e^ℓ) − xℓ: "
        + ", ".join(f"{_softplus(v) - x * v:.6f}" for v, x in zip(p["logits"], p["x"], strict=True))
        + f"; sum {_bern_nll(p):.6f}."
    ),
    mistakes=(
        NumericMistake(
            "log_likelihood",
            lambda p: -_bern_nll(p),
            "That is log p(x|z); the question asks for −log p.",
        ),
        NumericMistake(
            "mean_over_pixels",
            lambda p: _bern_nll(p) / 4,
            "You averaged over the pixels; the log-likelihood of an image sums them.",
        ),
    ),
    sanity=lambda v, p: (
        "A negative log-likelihood of binary pixels is never negative." if v < 0 else None
    ),
)


NUMERIC_POOL = (AE_PARAMETERS, VAE_HEADS, BITS_PER_DIM, GAUSSIAN_NLL, BERNOULLI_NLL)

TOPICS = {
    "olympiad_ae_parameters": "autoencoders",
    "olympiad_vae_heads": "VAE and latent space",
    "olympiad_bits_per_dim": "ELBO and IWAE",
    "olympiad_gaussian_nll": "ELBO and IWAE",
    "olympiad_bernoulli_nll": "ELBO and IWAE",
}

__all__ = ["NUMERIC_POOL", "TOPICS"]
