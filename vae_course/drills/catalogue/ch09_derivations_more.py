"""Chapter 09, olympiad pool: more derivations graded step by step (5 points each).

Each asks for the intermediate values of a derivation (a dict, one number per step), each
step with its own points and rubric, and comes with a worked solution in the learner's
numbers (:func:`vae_course.drills.review.review` after an attempt).
"""

from __future__ import annotations

import math
import random
from typing import Any

from ..derivation import Step, derivation
from .ch09_choice import CHAPTER

P = dict[str, Any]
PLAIN = "as numbers rounded to 4 decimals"


def _softplus(v: float) -> float:
    return max(v, 0.0) + math.log1p(math.exp(-abs(v)))


# ------------------------------------------------------------ a Gaussian decoder's σ


def _gd_params(rng: random.Random) -> P:
    x = [round(rng.uniform(0.0, 1.0), 2) for _ in range(4)]
    return {
        "x": x,
        "x_hat": [round(v + rng.uniform(-0.4, 0.4), 2) for v in x],
        "sigma": rng.choice((0.1, 0.25, 0.5, 1.0)),
    }


def _gd_sse(p: P) -> float:
    return sum((a - b) ** 2 for a, b in zip(p["x"], p["x_hat"], strict=True))


def _gd_nll(p: P, variance: float) -> float:
    return 0.5 * len(p["x"]) * math.log(2 * math.pi * variance) + _gd_sse(p) / (2 * variance)


def _gd_best(p: P) -> float:
    return _gd_sse(p) / len(p["x"])


DERIVE_GAUSSIAN_DECODER = derivation(
    id="olympiad_derive_gaussian_decoder",
    chapter=CHAPTER,
    title="Derivation: a Gaussian decoder and its best σ",
    answer_name="answer_olympiad_derive_gaussian_decoder",
    prompt=(
        "For a Gaussian decoder N(x̂, σ² I), derive −log p(x|z) at a fixed σ, the σ² that "
        "minimises it and the value there (`q = drills.question("
        "'olympiad_derive_gaussian_decoder')`)."
    ),
    hints=(
        "−log p(x|z) = (D/2) log(2πσ²) + S/(2σ²) with S = Σ(x − x̂)².",
        "Differentiate in σ²: D/(2σ²) − S/(2σ⁴) = 0.",
    ),
    solution=(
        "With S = Σ_i (x_i − x̂_i)²: −log p = (D/2) log(2πσ²) + S/(2σ²); setting the "
        "derivative in σ² to 0 gives σ*² = S/D, the MSE, and −log p = (D/2)(log(2πS/D) + 1). "
        "A learned σ therefore re-weights reconstruction against the KL by itself."
    ),
    steps=(
        Step("sse", "S = Σ(x − x̂)²", _gd_sse, 1.0, "sum of squared errors (1 pt)."),
        Step(
            "nll",
            "−log p(x|z) at the given σ, in nats",
            lambda p: _gd_nll(p, p["sigma"] ** 2),
            1.5,
            "constant (D/2)log(2πσ²) plus S/(2σ²) (1.5 pt).",
        ),
        Step("best_variance", "σ*² = argmin −log p", _gd_best, 1.5, "σ*² = S/D (1.5 pt)."),
        Step(
            "best_nll",
            "−log p(x|z) at σ*²",
            lambda p: _gd_nll(p, _gd_best(p)),
            1.0,
            "(D/2)(log(2πS/D) + 1) (1 pt).",
        ),
    ),
    make_params=_gd_params,
    describe=lambda p: (
        f"A decoder outputs x̂ = {p['x_hat']} for the D = 4 values x = {p['x']}, with "
        f"p(x|z) = N(x̂, σ² I). Give S = Σ(x − x̂)², −log p(x|z) at σ = {p['sigma']:g}, the "
        "variance σ*² that minimises −log p(x|z), and −log p(x|z) at σ*²."
    ),
    worked=lambda p: (
        f"S = {_gd_sse(p):.6f}. At σ² = {p['sigma'] ** 2:g}: 2·log(2π·{p['sigma'] ** 2:g}) + "
        f"S/(2σ²) = {_gd_nll(p, p['sigma'] ** 2):.6f}. d/dσ²: D/(2σ²) − S/(2σ⁴) = 0 ⇒ "
        f"σ*² = S/D = {_gd_best(p):.6f}; there −log p = 2(log(2π·{_gd_best(p):.6f}) + 1) = "
        f"{_gd_nll(p, _gd_best(p)):.6f}."
    ),
)


# ------------------------------------------------------------ the hidden β, step by step

_SHAPES = ((1, 28, 28), (3, 32, 32), (1, 64, 64))


def _hb_params(rng: random.Random) -> P:
    return {
        "shape": list(rng.choice(_SHAPES)),
        "latent": rng.choice((8, 16, 32)),
        "weight": rng.choice((0.5, 1.0, 2.0, 4.0)),
        "kl_mean": rng.choice((True, False)),
    }


def _hb_pixels(p: P) -> int:
    return math.prod(p["shape"])


def _hb_kl_factor(p: P) -> float:
    return p["weight"] / (p["latent"] if p["kl_mean"] else 1)


DERIVE_HIDDEN_BETA = derivation(
    id="olympiad_derive_hidden_beta",
    chapter=CHAPTER,
    title="Derivation: the β hidden in a loss's reductions",
    answer_name="answer_olympiad_derive_hidden_beta",
    prompt=(
        "Write each term of a PyTorch loss as a multiple of the standard per-example sums and "
        "read off its implicit β (`q = drills.question('olympiad_derive_hidden_beta')`)."
    ),
    hints=(
        "R = per-example reconstruction summed over pixels, averaged over the batch; K = "
        "per-example KL summed over dimensions, averaged over the batch.",
        "`reduction='mean'` divides by B·C·H·W; `.mean()` of a (B, d) tensor by B·d. Then "
        "loss = a·R + b·K = a(R + (b/a)K).",
    ),
    solution=(
        "A per-pixel mean gives recon = R/D; the KL line gives kl = w·K (or w·K/d with a mean "
        "over dimensions); β = (coefficient of K)/(coefficient of R)."
    ),
    steps=(
        Step(
            "recon_factor",
            "a with recon = a·R",
            lambda p: 1.0 / _hb_pixels(p),
            1.5,
            "a per-element mean divides by the D values of an image (1.5 pt).",
        ),
        Step(
            "kl_factor",
            "b with (weight · kl) = b·K",
            _hb_kl_factor,
            1.5,
            "a mean over (B, d) divides by d as well (1.5 pt).",
        ),
        Step(
            "beta",
            "β = b / a",
            lambda p: _hb_kl_factor(p) * _hb_pixels(p),
            2.0,
            "β is the weight of K once R's weight is 1 (2 pt).",
        ),
    ),
    make_params=_hb_params,
    describe=lambda p: (
        f"Images have shape (C, H, W) = ({p['shape'][0]}, {p['shape'][1]}, {p['shape'][2]}), "
        f"the latent has d = {p['latent']} dimensions. The loss is\n\n```python\n"
        'recon = F.binary_cross_entropy_with_logits(logits, x, reduction="mean")\n'
        + (
            "kl = (0.5 * (mu**2 + log_var.exp() - log_var - 1)).mean()\n"
            if p["kl_mean"]
            else "kl = (0.5 * (mu**2 + log_var.exp() - log_var - 1)).sum(dim=1).mean()\n"
        )
        + f"loss = recon + {p['weight']:g} * kl\n```\n\nGive a, b (loss = a·R + b·K in the "
        "standard sums R and K) and β = b/a."
    ),
    worked=lambda p: (
        f"recon = R/{_hb_pixels(p)} so a = {1 / _hb_pixels(p):.6f}; kl = K"
        + (f"/{p['latent']}" if p["kl_mean"] else "")
        + f", so b = {_hb_kl_factor(p):.6f}; β = b/a = {_hb_kl_factor(p) * _hb_pixels(p):.6f}."
    ),
    normal_form=PLAIN,
)


# ------------------------------------------------------------ the ELBO's terms


def _et_params(rng: random.Random) -> P:
    return {
        "logits": [round(rng.uniform(-3, 3), 1) for _ in range(3)],
        "x": [rng.choice((0, 1)) for _ in range(3)],
        "mu": [rng.choice((-1.0, -0.5, 0.0, 0.5, 1.0)) for _ in range(2)],
        "log_var": [rng.choice((-1.0, -0.5, 0.0, 0.5)) for _ in range(2)],
    }


def _et_recon(p: P) -> float:
    return sum(_softplus(v) - x * v for v, x in zip(p["logits"], p["x"], strict=True))


def _et_kl(p: P) -> float:
    return sum(
        0.5 * (m * m + math.exp(lv) - lv - 1) for m, lv in zip(p["mu"], p["log_var"], strict=True)
    )


def _et_nelbo(p: P) -> float:
    return _et_recon(p) + _et_kl(p)


DERIVE_ELBO_TERMS = derivation(
    id="olympiad_derive_elbo_terms",
    chapter=CHAPTER,
    title="Derivation: the negative ELBO of one image, term by term",
    answer_name="answer_olympiad_derive_elbo_terms",
    prompt=(
        "Evaluate the reconstruction term, the KL term, the negative ELBO and its value in "
        "bits per dimension for one tiny image (`q = drills.question("
        "'olympiad_derive_elbo_terms')`)."
    ),
    hints=(
        "Reconstruction: Σ_i log(1 + e^ℓᵢ) − xᵢℓᵢ. KL: ½Σ_j(μⱼ² + e^{log σⱼ²} − log σⱼ² − 1).",
        "−ELBO = reconstruction + KL (one sample of z); bits/dim divides by D·ln 2.",
    ),
    solution=(
        "−ELBO(x) = −E_q[log p(x|z)] + KL(q(z|x) ‖ p(z)); with the decoder's logits for one "
        "sample z, the first term is BCE-with-logits summed over pixels."
    ),
    steps=(
        Step("recon", "−log p(x|z) in nats", _et_recon, 1.5, "BCE with logits, summed (1.5 pt)."),
        Step("kl", "KL(q(z|x) ‖ N(0, I))", _et_kl, 1.5, "closed-form KL, summed (1.5 pt)."),
        Step("negative_elbo", "−ELBO = recon + KL", _et_nelbo, 1.0, "the sum (1 pt)."),
        Step(
            "bits_per_dim",
            "−ELBO in bits per dimension (D = 3)",
            lambda p: _et_nelbo(p) / (3 * math.log(2)),
            1.0,
            "divide by D·ln 2 (1 pt).",
        ),
    ),
    make_params=_et_params,
    describe=lambda p: (
        f"An image has D = 3 binary pixels x = {p['x']}; the encoder gives μ = {p['mu']}, "
        f"log σ² = {p['log_var']}, and for one sample z the decoder gives logits "
        f"ℓ = {p['logits']}. Give −log p(x|z), the KL to N(0, I), −ELBO, and −ELBO in bits "
        "per dimension."
    ),
    worked=lambda p: (
        f"recon = {_et_recon(p):.6f}; KL = {_et_kl(p):.6f}; −ELBO = {_et_nelbo(p):.6f} nats "
        f"= {_et_nelbo(p) / (3 * math.log(2)):.6f} bits/dim."
    ),
)


# ------------------------------------------------------------ free bits


def _fb_params(rng: random.Random) -> P:
    kl = [[round(rng.uniform(0.0, 1.2), 2) for _ in range(3)] for _ in range(2)]
    kl[0][2] = kl[1][2] = round(rng.uniform(0.0, 0.05), 2)  # a nearly collapsed dimension
    return {"kl": kl, "lam": rng.choice((0.1, 0.25, 0.5))}


def _fb_dim(p: P, j: int) -> float:
    return (p["kl"][0][j] + p["kl"][1][j]) / 2


def _fb_total(p: P) -> float:
    return sum(max(p["lam"], _fb_dim(p, j)) for j in range(3))


def _fb_step(j: int) -> Step:
    return Step(
        f"kl_dim{j + 1}",
        f"batch-mean KL of dimension {j + 1}",
        lambda p: _fb_dim(p, j),
        0.75,
        "average over the batch first (0.75 pt).",
    )


DERIVE_FREE_BITS = derivation(
    id="olympiad_derive_free_bits",
    chapter=CHAPTER,
    title="Derivation: the free-bits KL term",
    answer_name="answer_olympiad_derive_free_bits",
    prompt=(
        "Apply free bits (Kingma et al. 2016) to a batch's KL table: batch means per "
        "dimension, the free-bits term and which dimensions still get a KL gradient "
        "(`q = drills.question('olympiad_derive_free_bits')`)."
    ),
    hints=(
        "Average each dimension's KL over the batch *before* comparing with λ.",
        "Σ_j max(λ, K̄_j); a dimension with K̄_j < λ gets no gradient from the KL term.",
    ),
    solution=(
        "Free bits: Σ_j max(λ, mean_b KL_bj). Below λ a dimension's KL costs nothing extra, "
        "so the optimiser has no reason to push it to 0: it keeps λ nats of information."
    ),
    steps=(
        _fb_step(0),
        _fb_step(1),
        _fb_step(2),
        Step("objective", "Σ_j max(λ, K̄_j)", _fb_total, 1.25, "the clamp per dimension (1.25 pt)."),
        Step(
            "gradient_dims",
            "how many dimensions get a KL gradient (K̄_j > λ)",
            lambda p: float(sum(_fb_dim(p, j) > p["lam"] for j in range(3))),
            1.5,
            "max(λ, K̄) is flat where K̄ < λ (1.5 pt).",
            tolerance=1e-9,
        ),
    ),
    make_params=_fb_params,
    describe=lambda p: (
        f"A batch of B = 2 examples has per-dimension KLs (rows: examples, columns: 3 "
        f"dimensions) {p['kl']} nats; free bits λ = {p['lam']:g} per dimension. Give each "
        "dimension's batch-mean KL, the free-bits term Σ_j max(λ, K̄_j), and the number of "
        "dimensions whose KL still receives a gradient."
    ),
    worked=lambda p: (
        "Batch means: "
        + ", ".join(f"{_fb_dim(p, j):.4f}" for j in range(3))
        + f"; Σ max({p['lam']:g}, ·) = {_fb_total(p):.6f}; dimensions above λ: "
        f"{sum(_fb_dim(p, j) > p['lam'] for j in range(3))}."
    ),
    normal_form=PLAIN,
)


# ------------------------------------------------------------ the exact posterior


def _lp_params(rng: random.Random) -> P:
    return {
        "w": rng.choice((0.5, 1.0, 2.0, 3.0)),
        "s": rng.choice((0.5, 1.0, 1.5)),
        "x": rng.choice((-2.0, -1.0, 0.5, 1.0, 2.5)),
    }


def _lp_var(p: P) -> float:
    return 1.0 / (1.0 + p["w"] ** 2 / p["s"] ** 2)


def _lp_mean(p: P) -> float:
    return _lp_var(p) * p["w"] * p["x"] / p["s"] ** 2


def _lp_evidence(p: P) -> float:
    v = p["w"] ** 2 + p["s"] ** 2
    return -0.5 * math.log(2 * math.pi * v) - p["x"] ** 2 / (2 * v)


DERIVE_POSTERIOR = derivation(
    id="olympiad_derive_linear_posterior",
    chapter=CHAPTER,
    title="Derivation: the exact posterior of a linear-Gaussian model",
    answer_name="answer_olympiad_derive_linear_posterior",
    prompt=(
        "Find the exact posterior and the evidence of a one-dimensional linear-Gaussian "
        "latent-variable model: what a perfect encoder would output "
        "(`q = drills.question('olympiad_derive_linear_posterior')`)."
    ),
    hints=(
        "p(z|x) ∝ p(z)p(x|z): add the precisions, 1 + w²/s².",
        "x = wz + noise with z ~ N(0, 1) and noise ~ N(0, s²): x ~ N(0, w² + s²).",
    ),
    solution=(
        "Completing the square: p(z|x) = N(m, v) with v = 1/(1 + w²/s²) and m = v·w·x/s²; "
        "p(x) = N(0, w² + s²). With q = p(z|x) the ELBO equals log p(x): the gap is 0."
    ),
    steps=(
        Step("posterior_variance", "v = Var(z|x)", _lp_var, 1.5, "precisions add (1.5 pt)."),
        Step("posterior_mean", "m = E[z|x]", _lp_mean, 1.5, "m = v·w·x/s² (1.5 pt)."),
        Step("log_evidence", "log p(x) in nats", _lp_evidence, 2.0, "x ~ N(0, w² + s²) (2 pt)."),
    ),
    make_params=_lp_params,
    describe=lambda p: (
        f"p(z) = N(0, 1) and p(x|z) = N(wz, s²) with w = {p['w']:g}, s = {p['s']:g}. For "
        f"the observation x = {p['x']:g} give the posterior variance and mean of p(z|x) and "
        "log p(x)."
    ),
    worked=lambda p: (
        f"v = 1/(1 + {p['w']:g}²/{p['s']:g}²) = {_lp_var(p):.6f}; m = v·w·x/s² = "
        f"{_lp_mean(p):.6f}; log p(x) = −½ log(2π({p['w'] ** 2 + p['s'] ** 2:g})) − "
        f"x²/(2·{p['w'] ** 2 + p['s'] ** 2:g}) = {_lp_evidence(p):.6f}."
    ),
)


# ------------------------------------------------------------ MIG


def _mig_params(rng: random.Random) -> P:
    mi = [[round(rng.uniform(0.0, 1.5), 2) for _ in range(2)] for _ in range(3)]
    return {"mi": mi, "entropy": [rng.choice((1.6, 2.0, 2.5, 3.0)) for _ in range(2)]}


def _mig_gap(p: P, k: int) -> float:
    column = sorted((row[k] for row in p["mi"]), reverse=True)
    return (column[0] - column[1]) / p["entropy"][k]


DERIVE_MIG = derivation(
    id="olympiad_derive_mig",
    chapter=CHAPTER,
    title="Derivation: the mutual information gap",
    answer_name="answer_olympiad_derive_mig",
    prompt=(
        "Compute Chen et al.'s MIG from a table of mutual informations between latents and "
        "factors (`q = drills.question('olympiad_derive_mig')`)."
    ),
    hints=(
        "For each factor k, take the largest and second-largest I(z_j; v_k) over the latents j.",
        "Normalise each gap by H(v_k), then average over the factors.",
    ),
    solution=(
        "MIG = (1/K) Σ_k (I(z_(1); v_k) − I(z_(2); v_k)) / H(v_k): a factor captured by one "
        "latent alone gives a gap near 1, one spread over two latents a gap near 0."
    ),
    steps=(
        Step("gap_factor1", "normalised gap of factor 1", lambda p: _mig_gap(p, 0), 2.0, "(2 pt)."),
        Step("gap_factor2", "normalised gap of factor 2", lambda p: _mig_gap(p, 1), 2.0, "(2 pt)."),
        Step(
            "mig",
            "MIG, the mean of the gaps",
            lambda p: (_mig_gap(p, 0) + _mig_gap(p, 1)) / 2,
            1.0,
            "average over the factors (1 pt).",
        ),
    ),
    make_params=_mig_params,
    describe=lambda p: (
        f"Mutual informations I(z_j; v_k) in nats (rows: latents z₁..z₃, columns: factors "
        f"v₁, v₂): {p['mi']}; factor entropies H(v₁), H(v₂) = {p['entropy']}. Give each "
        "factor's normalised gap and the MIG."
    ),
    worked=lambda p: (
        f"Gap 1 = {_mig_gap(p, 0):.6f}; gap 2 = {_mig_gap(p, 1):.6f}; MIG = "
        f"{(_mig_gap(p, 0) + _mig_gap(p, 1)) / 2:.6f}."
    ),
    normal_form=PLAIN,
)


# ------------------------------------------------------------ a linear autoencoder = PCA


def _pca_params(rng: random.Random) -> P:
    return {
        "a": rng.choice((2.0, 3.0, 4.0, 5.0)),
        "b": rng.choice((-1.5, -1.0, -0.5, 0.5, 1.0, 1.5)),
        "c": rng.choice((1.0, 2.0, 3.0)),
    }


def _pca_eigs(p: P) -> tuple[float, float]:
    half_trace = (p["a"] + p["c"]) / 2
    radius = math.sqrt(((p["a"] - p["c"]) / 2) ** 2 + p["b"] ** 2)
    return half_trace + radius, half_trace - radius


DERIVE_PCA = derivation(
    id="olympiad_derive_pca",
    chapter=CHAPTER,
    title="Derivation: what a one-unit linear autoencoder keeps",
    answer_name="answer_olympiad_derive_pca",
    prompt=(
        "A linear autoencoder with a 1-dimensional code, trained with squared error on "
        "centred data, learns the top principal direction: compute what it keeps and loses "
        "(`q = drills.question('olympiad_derive_pca')`)."
    ),
    hints=(
        "The eigenvalues of [[a, b], [b, c]] are (a + c)/2 ± √(((a − c)/2)² + b²).",
        "The code keeps the top eigenvalue's variance; the mean squared error per point is the "
        "variance it drops.",
    ),
    solution=(
        "Eckart–Young: the best rank-1 linear reconstruction projects on the top eigenvector; "
        "it keeps λ₁ of the total variance λ₁ + λ₂ and its mean squared error is λ₂."
    ),
    steps=(
        Step("lambda1", "the top eigenvalue λ₁", lambda p: _pca_eigs(p)[0], 2.0, "(2 pt)."),
        Step(
            "kept_fraction",
            "the fraction of the variance kept, λ₁/(λ₁ + λ₂)",
            lambda p: _pca_eigs(p)[0] / (p["a"] + p["c"]),
            1.5,
            "the trace is λ₁ + λ₂ (1.5 pt).",
        ),
        Step(
            "mse",
            "the mean squared reconstruction error per point",
            lambda p: _pca_eigs(p)[1],
            1.5,
            "the dropped eigenvalue λ₂ (1.5 pt).",
        ),
    ),
    make_params=_pca_params,
    describe=lambda p: (
        f"Centred 2-dimensional data has covariance [[{p['a']:g}, {p['b']:g}], "
        f"[{p['b']:g}, {p['c']:g}]]. A linear autoencoder 2 → 1 → 2 is trained to minimise "
        "the mean squared error. Give the top eigenvalue, the fraction of variance its code "
        "keeps and its mean squared reconstruction error per point (summed over the 2 "
        "coordinates)."
    ),
    worked=lambda p: (
        f"λ₁, λ₂ = {_pca_eigs(p)[0]:.6f}, {_pca_eigs(p)[1]:.6f}; kept "
        f"{_pca_eigs(p)[0] / (p['a'] + p['c']):.6f}; error λ₂ = {_pca_eigs(p)[1]:.6f}."
    ),
    normal_form=PLAIN,
)


DERIVATION_POOL = (
    DERIVE_GAUSSIAN_DECODER,
    DERIVE_HIDDEN_BETA,
    DERIVE_ELBO_TERMS,
    DERIVE_FREE_BITS,
    DERIVE_POSTERIOR,
    DERIVE_MIG,
    DERIVE_PCA,
)

TOPICS = {
    "olympiad_derive_gaussian_decoder": "ELBO and IWAE",
    "olympiad_derive_hidden_beta": "reductions and β",
    "olympiad_derive_elbo_terms": "ELBO and IWAE",
    "olympiad_derive_free_bits": "posterior collapse",
    "olympiad_derive_linear_posterior": "VAE and latent space",
    "olympiad_derive_mig": "β-VAE and disentanglement",
    "olympiad_derive_pca": "autoencoders",
}

__all__ = ["DERIVATION_POOL", "TOPICS"]
