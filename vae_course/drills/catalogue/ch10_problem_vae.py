"""Problem 1 (chapter 10), USAAIO style: the VAE from scratch, 20 parts of 5 points.

Storyline: by hand (KL of given Gaussians, the reparameterised derivatives), then plain
PyTorch (the KL, sampling, the reconstruction term, the loss, encoder, decoder, VAE, a
training step), then training under a CPU time budget, then analysis (test ELBO, active
units, a latent path, the IWAE bound, rate and distortion at two β, a conclusion checked
against the learner's own numbers). The notebook is ``solutions/10_problem_vae_from_scratch``.
"""

from __future__ import annotations

import math

from ..problem import Problem
from .ch03_reparam import REPARAMETERIZE
from .ch04_kl import KL_DIVERGENCE
from .ch04_loss import IWAE_BOUND, VAE_LOSS
from .ch09_code import BERNOULLI_NLL
from .ch09_code_more import INTERPOLATE
from .ch10_problem_models import DECODER, ENCODER, TRAIN_STEP, VAE
from .problem_parts import (
    Claim,
    Field,
    Option,
    close,
    code_part,
    either,
    five_options,
    hand_number,
    measured,
    non_negative,
    positive,
    reader,
)

CHAPTER = "10"
BUDGET_S = 60.0
FIXED_IMPORTS = (
    "import math",
    "import time",
    "import matplotlib.pyplot as plt",
    "import torch",
    "import torch.nn.functional as F",
    "from torch import nn",
    "from vae_course import drills",
    "from vae_course.data import load_dataset",
)
ALLOWED = ("math", "time", "torch")


def _kl(mu: float, var: float) -> float:
    return 0.5 * (mu * mu + var - math.log(var) - 1)


# ----------------------------------------------------------------- A. by hand

KL_SCALAR = hand_number(
    "p1_kl_scalar",
    CHAPTER,
    "Part 1: KL of one Gaussian to the prior",
    "Compute KL(N(1, 0.5²) ‖ N(0, 1)) in nats.",
    _kl(1.0, 0.25),
    "½(μ² + σ² − log σ² − 1) = ½(1 + 0.25 − log 0.25 − 1) = 0.8181.",
    ("KL(N(μ, σ²) ‖ N(0, 1)) = ½(μ² + σ² − log σ² − 1).", "Here σ = 0.5, so σ² = 0.25."),
    (
        ("missing_half", 2 * _kl(1.0, 0.25), "Twice the KL: the ½ is missing."),
        ("sigma_for_variance", _kl(1.0, 0.5), "You used σ = 0.5 where σ² = 0.25 belongs."),
    ),
    answer_name="answer_p1_kl_scalar",
)

_MU, _LOG_VAR = (0.5, -1.0, 0.0), (0.0, -1.0, 1.0)
_KL_VECTOR = sum(_kl(m, math.exp(v)) for m, v in zip(_MU, _LOG_VAR, strict=True))

KL_VECTOR = hand_number(
    "p1_kl_vector",
    CHAPTER,
    "Part 2: KL of a diagonal Gaussian from log-variances",
    "An encoder returns μ = (0.5, −1, 0) and log σ² = (0, −1, 1) for one image. Compute "
    "KL(q(z|x) ‖ N(0, I)) summed over the three dimensions.",
    _KL_VECTOR,
    "Per dimension ½(μ² + e^{log σ²} − log σ² − 1): 0.125, 0.6839, 0.3591; sum 1.1681.",
    ("σ² = exp(log σ²), and the log term is log σ² itself.", "Sum the three dimensions."),
    (
        ("mean_over_dims", _KL_VECTOR / 3, "You averaged over the dimensions; the KL sums them."),
        ("missing_half", 2 * _KL_VECTOR, "Twice the KL: the ½ is missing."),
    ),
    answer_name="answer_p1_kl_vector",
)

DZ_DSIGMA = hand_number(
    "p1_dz_dsigma",
    CHAPTER,
    "Part 3: ∂z/∂σ",
    "With z = μ + σ·ε, μ = 0.3, σ = 0.8 and the drawn noise ε = −1.25 held fixed, compute ∂z/∂σ.",
    -1.25,
    "z is linear in σ with slope ε: ∂z/∂σ = ε = −1.25.",
    ("Hold ε fixed: z is an ordinary function of σ.", "∂(μ + σε)/∂σ = ε."),
    (("dz_dmu", 1.0, "That is ∂z/∂μ; differentiate with respect to σ."),),
    answer_name="answer_p1_dz_dsigma",
)

DZ_DLOGVAR = hand_number(
    "p1_dz_dlogvar",
    CHAPTER,
    "Part 4: ∂z/∂(log σ²)",
    "Same numbers (μ = 0.3, σ = 0.8, ε = −1.25), but the encoder predicts log σ² and "
    "σ = exp(½ log σ²). Compute ∂z/∂(log σ²).",
    0.5 * 0.8 * -1.25,
    "Chain rule: ∂z/∂σ · ∂σ/∂(log σ²) = ε · ½σ = −0.5.",
    ("∂σ/∂(log σ²) = ½σ.", "Multiply by ∂z/∂σ = ε."),
    (
        ("missing_half", 0.8 * -1.25, "The ½ of ∂σ/∂(log σ²) = ½σ is missing."),
        ("no_chain", -1.25, "That is ∂z/∂σ; continue the chain to log σ²."),
    ),
    answer_name="answer_p1_dz_dlogvar",
)

WHY_REPARAM = five_options(
    "p1_why_reparam",
    CHAPTER,
    "Part 5: why z = μ + σ ⊙ ε",
    "Gradients reach μ and σ through z = μ + σ ⊙ ε with ε ~ N(0, I), but not through "
    "`z = torch.normal(mu, sigma)`. Why?",
    (
        Option(
            "torch.normal draws from the wrong distribution",
            False,
            "it draws from N(μ, σ²) too; the difference is the gradient.",
        ),
        Option(
            "the randomness moves into ε, which does not depend on μ and σ, so z is a "
            "differentiable function of them",
            True,
            "∂z/∂μ = 1 and ∂z/∂σ = ε exist for every draw.",
        ),
        Option(
            "ε is drawn once and reused, so the gradient is exact",
            False,
            "ε is drawn afresh every step; the estimator is unbiased, not exact.",
        ),
        Option(
            "the KL term needs z in that form",
            False,
            "the closed-form KL uses μ and log σ², not z.",
        ),
        Option(
            "it makes the gradient estimator biased but of lower variance",
            False,
            "the reparameterised estimator is unbiased.",
        ),
    ),
    "A sample drawn by torch.normal is a new leaf: autograd cannot differentiate through "
    "the sampling. Written as μ + σε, z depends on μ and σ through differentiable operations.",
    ("What does autograd see in each case?", "Which quantity carries the randomness?"),
    answer_name="answer_p1_why_reparam",
)

# ----------------------------------------------------------------- B. from scratch

KL_TO_PRIOR = code_part(
    KL_DIVERGENCE,
    "p1_kl_to_prior",
    CHAPTER,
    "kl_to_prior",
    bans=("loops", "distributions"),
    allowed_modules=ALLOWED,
    title="Part 6: the KL to the prior, without loops",
)
SAMPLE_Z = code_part(
    REPARAMETERIZE,
    "p1_sample_z",
    CHAPTER,
    "sample_z",
    bans=("distributions",),
    allowed_modules=ALLOWED,
    title="Part 7: sampling z, without torch.distributions",
)
RECONSTRUCTION = code_part(
    BERNOULLI_NLL,
    "p1_reconstruction_nll",
    CHAPTER,
    "reconstruction_nll",
    bans=("loops",),
    allowed_modules=ALLOWED,
    title="Part 8: the reconstruction term",
)
ELBO_LOSS = code_part(
    VAE_LOSS,
    "p1_elbo_loss",
    CHAPTER,
    "elbo_loss",
    bans=("loops", "distributions"),
    allowed_modules=ALLOWED,
    title="Part 9: the loss",
)
ENCODER_PART = code_part(
    ENCODER,
    "p1_encoder",
    CHAPTER,
    "Encoder",
    bans=(),
    allowed_modules=ALLOWED,
    title="Part 10: the encoder",
)
DECODER_PART = code_part(
    DECODER,
    "p1_decoder",
    CHAPTER,
    "Decoder",
    bans=(),
    allowed_modules=ALLOWED,
    title="Part 11: the decoder",
)
VAE_PART = code_part(
    VAE,
    "p1_vae",
    CHAPTER,
    "VAE",
    bans=("distributions",),
    allowed_modules=ALLOWED,
    title="Part 12: the VAE",
)
STEP_PART = code_part(
    TRAIN_STEP,
    "p1_train_step",
    CHAPTER,
    "vae_train_step",
    bans=("distributions",),
    allowed_modules=ALLOWED,
    title="Part 13: one training step",
)

# ----------------------------------------------------------------- C. training on a budget


def _run_check(data: dict) -> list[str]:
    problems = []
    if len(data["epoch_losses"]) != data["epochs"]:
        problems.append("epoch_losses must hold one loss per epoch run.")
    if data["epochs"] > data["planned_epochs"] or data["epochs"] < 1:
        problems.append("epochs must be between 1 and planned_epochs.")
    if data["budget_seconds"] > BUDGET_S:
        problems.append(f"The budget of this problem is {BUDGET_S:g} CPU seconds at most.")
    per_epoch = data["cpu_seconds"] / max(data["epochs"], 1)
    if data["cpu_seconds"] > data["budget_seconds"] + per_epoch + 1e-6:
        problems.append(
            "cpu_seconds exceeds the budget by more than one epoch: check the budget after "
            "every epoch (time.process_time())."
        )
    return problems


TRAINING_RUN = measured(
    "p1_training_run",
    CHAPTER,
    "Part 14: training under a CPU time budget",
    f"Train your VAE with your vae_train_step (Adam, lr 1e-3, batches of 100) for at most "
    f"`planned_epochs` epochs, stopping after the epoch in which `time.process_time()` has "
    f"used up the budget (at most {BUDGET_S:g} CPU seconds). Report `planned_epochs`, "
    "`epochs` (run), `cpu_seconds` (used), `budget_seconds` and `epoch_losses` (the mean "
    "training loss of each epoch).",
    reader(
        (
            Field("planned_epochs", "count"),
            Field("epochs", "count"),
            Field("cpu_seconds", sane=non_negative),
            Field("budget_seconds", sane=positive),
            Field("epoch_losses", "numbers", sane=positive),
        ),
        check=_run_check,
    ),
    (
        Claim(
            "The training loss fell from the first epoch to the last.",
            lambda d: d["epoch_losses"][-1] < d["epoch_losses"][0],
            lambda d: f"first {d['epoch_losses'][0]:.2f}, last {d['epoch_losses'][-1]:.2f}.",
        ),
        Claim(
            "Training stopped because the CPU budget ran out.",
            lambda d: d["epochs"] < d["planned_epochs"],
            lambda d: f"{d['epochs']} of {d['planned_epochs']} epochs ran.",
            group="why training stopped",
        ),
        Claim(
            "Every planned epoch ran within the budget.",
            lambda d: d["epochs"] == d["planned_epochs"],
            lambda d: f"{d['epochs']} of {d['planned_epochs']} epochs ran.",
            group="why training stopped",
        ),
    ),
    "Measure with time.process_time() before and after each epoch; stop when the total "
    "reaches the budget.",
    (
        "`start = time.process_time()` then `time.process_time() - start` after each epoch.",
        "Record the epoch's mean loss from the floats vae_train_step returns.",
    ),
    answer_name="training_run",
)


def _elbo_check(data: dict) -> list[str]:
    total = data["test_reconstruction"] + data["test_kl"]
    if not close(total, data["test_negative_elbo"], 1e-3):
        return ["test_reconstruction + test_kl must equal test_negative_elbo (same samples)."]
    return []


TEST_ELBO = measured(
    "p1_test_elbo",
    CHAPTER,
    "Part 15: the test ELBO",
    "With the trained model in eval mode, compute on the training and test images (one "
    "sample of z per image) the mean negative ELBO in nats per image, and split the test "
    "one into its reconstruction and KL terms. Report `train_negative_elbo`, "
    "`test_negative_elbo`, `test_reconstruction` and `test_kl`.",
    reader(
        (
            Field("train_negative_elbo", sane=positive),
            Field("test_negative_elbo", sane=positive),
            Field("test_reconstruction", sane=positive),
            Field("test_kl", sane=non_negative),
        ),
        check=_elbo_check,
    ),
    (
        *either(
            "The test negative ELBO is higher than the training one.",
            "The test negative ELBO is not higher than the training one.",
            lambda d: d["test_negative_elbo"] > d["train_negative_elbo"],
            lambda d: f"train {d['train_negative_elbo']:.2f}, test {d['test_negative_elbo']:.2f}.",
            "train against test",
        ),
        *either(
            "The reconstruction term is larger than the KL term.",
            "The KL term is at least as large as the reconstruction term.",
            lambda d: d["test_reconstruction"] > d["test_kl"],
            lambda d: f"reconstruction {d['test_reconstruction']:.2f}, KL {d['test_kl']:.2f}.",
            "which term dominates",
        ),
    ),
    "Under torch.no_grad(): logits, mu, log_var = model(x); average reconstruction_nll and "
    "kl_to_prior over the images.",
    ("Use torch.no_grad() and model.eval().", "The two terms add up to the negative ELBO."),
    answer_name="test_elbo_results",
)


def _units_check(data: dict) -> list[str]:
    d = int(data["latent_dim"])
    if len(data["mu_variance"]) != d or len(data["kl_per_dim"]) != d:
        return ["mu_variance and kl_per_dim need one value per latent dimension."]
    if int(data["active_units"]) != sum(v > 0.01 for v in data["mu_variance"]):
        return ["active_units must count the dimensions with mu_variance above 0.01."]
    return []


ACTIVE_UNITS = measured(
    "p1_active_units",
    CHAPTER,
    "Part 16: active units",
    "On the test images, compute for every latent dimension the variance over the images "
    "of its posterior mean μ_j(x) and its mean KL, and count the active units "
    "(variance > 0.01). Report `latent_dim`, `mu_variance`, `kl_per_dim` (lists) and "
    "`active_units`.",
    reader(
        (
            Field("latent_dim", "count", sane=positive),
            Field("mu_variance", "numbers", sane=non_negative),
            Field("kl_per_dim", "numbers", sane=non_negative),
            Field("active_units", "count", sane=non_negative),
        ),
        check=_units_check,
    ),
    (
        *either(
            "Every latent dimension is active.",
            "Some latent dimension is inactive.",
            lambda d: d["active_units"] == d["latent_dim"],
            lambda d: f"{d['active_units']:g} of {d['latent_dim']:g} are active.",
            "all active",
        ),
        Claim(
            "The dimension with the largest KL is active.",
            lambda d: d["mu_variance"][d["kl_per_dim"].index(max(d["kl_per_dim"]))] > 0.01,
            lambda d: (
                "its variance of μ is "
                f"{d['mu_variance'][d['kl_per_dim'].index(max(d['kl_per_dim']))]:.4f}."
            ),
        ),
    ),
    "mu.var(dim=0) over the test set; KL per dimension averaged over the images.",
    ("mu, log_var = model.encoder(images)", "active = (mu.var(dim=0) > 0.01).sum()"),
    answer_name="active_unit_results",
)

# ----------------------------------------------------------------- D. analysis

LATENT_PATH = code_part(
    INTERPOLATE,
    "p1_latent_path",
    CHAPTER,
    "latent_path",
    bans=("loops",),
    allowed_modules=ALLOWED,
    title="Part 17: a path through the latent space, without loops",
)
IMPORTANCE_BOUND = code_part(
    IWAE_BOUND,
    "p1_importance_bound",
    CHAPTER,
    "importance_bound",
    bans=("loops", "distributions"),
    allowed_modules=ALLOWED,
    title="Part 18: the importance-weighted bound",
)

RATE_DISTORTION = measured(
    "p1_rate_distortion",
    CHAPTER,
    "Part 19: rate and distortion at two β",
    "Train two models with the same budget, one on the loss rec + KL (β = 1) and one on "
    "rec + 4·KL (β = 4), and report for each the test rate (mean KL) and distortion (mean "
    "reconstruction term): `{'beta_1': {'rate': ..., 'distortion': ...}, 'beta_4': {...}}`.",
    reader(
        (Field("rate", sane=non_negative), Field("distortion", sane=positive)),
        groups=("beta_1", "beta_4"),
    ),
    (
        *either(
            "The β = 4 model has the lower rate.",
            "The β = 4 model does not have the lower rate.",
            lambda d: d["beta_4"]["rate"] < d["beta_1"]["rate"],
            lambda d: (
                f"rates {d['beta_1']['rate']:.2f} (β = 1), {d['beta_4']['rate']:.2f} (β = 4)."
            ),
            "rate",
        ),
        Claim(
            "The β = 4 model has the higher distortion.",
            lambda d: d["beta_4"]["distortion"] > d["beta_1"]["distortion"],
            lambda d: (
                f"distortions {d['beta_1']['distortion']:.2f} (β = 1), "
                f"{d['beta_4']['distortion']:.2f} (β = 4)."
            ),
        ),
    ),
    "A heavier KL price buys a lower rate and pays with distortion, usually.",
    (
        "Train twice with the same settings; only β changes.",
        "Rate = KL, distortion = reconstruction.",
    ),
    answer_name="rate_distortion_results",
)


def _conclusion_check(data: dict) -> list[str]:
    if data["active_units"] > data["latent_dim"]:
        return ["active_units cannot exceed latent_dim."]
    return []


CONCLUSION = measured(
    "p1_conclusion",
    CHAPTER,
    "Part 20: the conclusion, checked against your numbers",
    "Gather your numbers: `latent_dim`, `active_units`, `test_reconstruction`, `test_kl`, "
    "`elbo` (the test ELBO per image, = −negative ELBO) and `iwae_50` (the importance-"
    "weighted bound with K = 50 per image, from your importance_bound), and state what they "
    "show.",
    reader(
        (
            Field("latent_dim", "count", sane=positive),
            Field("active_units", "count", sane=non_negative),
            Field("test_reconstruction", sane=positive),
            Field("test_kl", sane=non_negative),
            Field("elbo"),
            Field("iwae_50"),
        ),
        check=_conclusion_check,
    ),
    (
        *either(
            "At least half of the latent dimensions are active.",
            "Fewer than half of the latent dimensions are active.",
            lambda d: 2 * d["active_units"] >= d["latent_dim"],
            lambda d: f"{d['active_units']:g} of {d['latent_dim']:g} are active.",
            "how many are active",
        ),
        Claim(
            "The KL is less than a quarter of the negative ELBO.",
            lambda d: 4 * d["test_kl"] < d["test_reconstruction"] + d["test_kl"],
            lambda d: f"KL {d['test_kl']:.2f} of {d['test_reconstruction'] + d['test_kl']:.2f}.",
        ),
        Claim(
            "The IWAE bound (K = 50) is higher than the ELBO.",
            lambda d: d["iwae_50"] > d["elbo"],
            lambda d: f"ELBO {d['elbo']:.2f}, L_50 {d['iwae_50']:.2f}.",
        ),
        Claim(
            "The IWAE bound (K = 50) is more than 1 nat above the ELBO.",
            lambda d: d["iwae_50"] - d["elbo"] > 1.0,
            lambda d: f"the gap is {d['iwae_50'] - d['elbo']:.2f} nats.",
        ),
    ),
    "Each statement is checked against your numbers; choose every one they support.",
    ("Compare the numbers one statement at a time.", "L_K ≥ ELBO in expectation; by how much?"),
    answer_name="conclusion_results",
)

PARTS = (
    KL_SCALAR,
    KL_VECTOR,
    DZ_DSIGMA,
    DZ_DLOGVAR,
    WHY_REPARAM,
    KL_TO_PRIOR,
    SAMPLE_Z,
    RECONSTRUCTION,
    ELBO_LOSS,
    ENCODER_PART,
    DECODER_PART,
    VAE_PART,
    STEP_PART,
    TRAINING_RUN,
    TEST_ELBO,
    ACTIVE_UNITS,
    LATENT_PATH,
    IMPORTANCE_BOUND,
    RATE_DISTORTION,
    CONCLUSION,
)

PROBLEM = Problem(
    name="vae-from-scratch",
    chapter=CHAPTER,
    title="Problem 1: the VAE from scratch",
    parts=tuple(p.id for p in PARTS),
    fixed_imports=FIXED_IMPORTS,
    allowed_modules=ALLOWED,
)

DRILLS = PARTS

__all__ = ["ALLOWED", "BUDGET_S", "DRILLS", "FIXED_IMPORTS", "PARTS", "PROBLEM"]
