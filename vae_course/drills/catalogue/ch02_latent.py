"""Chapter 02, from points to regions: ``log_var_rationale`` (choice) and
``latent_dim_tradeoff`` (experiment)."""

from __future__ import annotations

from typing import Any

from ..choice import ChoiceDrill, Option
from ..experiment import Claim, ExperimentDrill, read_number

LOG_VAR_RATIONALE = ChoiceDrill(
    id="log_var_rationale",
    chapter="02",
    title="Why the encoder predicts log σ²",
    answer_name="answer_log_var_rationale",
    prompt=(
        "The encoder of a VAE outputs μ and log σ² rather than σ. Which statements are good "
        "reasons for that choice? Bind the letters (e.g. `{'a', 'c'}` or `'a'`) to "
        "`answer_log_var_rationale`."
    ),
    multiple=True,
    options=(
        Option(
            "A linear layer outputs any real number, and exp(log σ²) is positive for every "
            "real number, so no constraint is needed to get a valid variance.",
            True,
            "σ must be positive; predicting its log removes the constraint.",
        ),
        Option(
            "Variances from 1e-4 to 1e2 become log values of similar size (about −9 to 5), "
            "which keeps the network's outputs and gradients well scaled.",
            True,
            "the log compresses a range of many orders of magnitude into a small interval.",
        ),
        Option(
            "Predicting log σ² removes the KL term from the loss.",
            False,
            "the KL term stays; log σ² only gives it a simple form.",
        ),
        Option(
            "The closed-form KL contains log σ² itself, so it is used directly, with no log of "
            "a possibly tiny number.",
            True,
            "½(μ² + σ² − log σ² − 1) uses log σ² as given and exp(log σ²) for σ²: both stable.",
        ),
        Option(
            "Predicting log σ² is what makes sampling z differentiable.",
            False,
            "differentiability comes from the reparameterisation z = μ + σ·ε, whatever "
            "parameterisation of σ is used.",
        ),
    ),
    hints=(
        "Think about what a linear layer can output, and what a variance must be.",
        "Which parts of the VAE loss contain σ² and log σ²? What happens to a log of a very "
        "small number?",
        "Sampling is made differentiable by a different idea (chapter 03).",
    ),
    solution=(
        "(a), (b) and (d). The log parameterisation makes any real output a valid variance, "
        "keeps outputs of very different scales comparable, and plugs straight into the KL "
        "½(μ² + σ² − log σ² − 1). It does not remove the KL (c), and differentiable sampling "
        "comes from the reparameterisation trick (e).\n\n"
        "```python\nanswer_log_var_rationale = {'a', 'b', 'd'}\n```"
    ),
)

# ----------------------------------------------------------------------------- latent sizes

SIZES = (2, 16, 64)


def read_latent_measurements(measurements: Any) -> tuple[dict[int, dict[str, float]], list[str]]:
    """Parse {2: {...}, 16: {...}, 64: {...}} and check the numbers are sane."""
    if not isinstance(measurements, dict):
        return {}, [
            "'measurements' must be a dict {2: {...}, 16: {...}, 64: {...}} keyed by latent size."
        ]
    data: dict[int, dict[str, float]] = {}
    problems: list[str] = []
    for key, entry in measurements.items():
        try:
            size = int(key)
        except (TypeError, ValueError):
            problems.append(f"{key!r} is not a latent size; use the ints 2, 16 and 64 as keys.")
            continue
        if size not in SIZES:
            problems.append(f"Report exactly the latent sizes 2, 16 and 64 (not {size}).")
            continue
        where = f"measurements[{size}]"
        row: dict[str, float] = {}
        for name, integer in (("reconstruction", False), ("kl", False), ("active_units", True)):
            value, problem = read_number(entry, name, where, integer=integer)
            if problem:
                problems.append(problem)
            else:
                row[name] = value
        if len(row) == 3:
            problems += _sanity(size, row)
            data[size] = row
    missing = [s for s in SIZES if s not in data]
    if missing and not problems:
        problems.append(f"Missing measurements for latent size(s) {missing}.")
    return data, problems


def _sanity(size: int, row: dict[str, float]) -> list[str]:
    problems = []
    where = f"At {size}-D"
    if row["reconstruction"] <= 0:
        problems.append(
            f"{where} the reconstruction error is ≤ 0: BCE summed over pixels is positive."
        )
    if row["kl"] < -1e-6:
        problems.append(f"{where} the KL is negative; a KL divergence is never negative.")
    if not 0 <= row["active_units"] <= size:
        problems.append(
            f"{where} the active units ({row['active_units']:g}) are outside "
            f"[0, {size}]: a model cannot have more active units than latent "
            "dimensions."
        )
    elif row["kl"] < 0.004 * row["active_units"]:
        problems.append(
            f"{where} the KL ({row['kl']:g} nats) is too small for {row['active_units']:g} "
            "active units: each active unit has Var_x(μ_j) > 0.01, which alone costs at least "
            "about 0.005 nats of KL."
        )
    return problems


def _best(data: dict[int, dict[str, float]]) -> list[int]:
    lowest = min(row["reconstruction"] for row in data.values())
    return [s for s in SIZES if data[s]["reconstruction"] <= lowest + 1e-9]


def _best_claim(size: int) -> Claim:
    return Claim(
        f"The {size}-D model reconstructs best (lowest reconstruction error).",
        lambda data: size in _best(data),
        lambda data: (
            "your lowest reconstruction error is at "
            + " and ".join(f"{s}-D" for s in _best(data))
            + "."
        ),
        group="which latent size reconstructs best",
    )


LATENT_CLAIMS = (
    _best_claim(2),
    _best_claim(16),
    _best_claim(64),
    Claim(
        "The 64-D model leaves some latent dimensions unused (active units < 64).",
        lambda data: data[64]["active_units"] < 64,
        lambda data: f"your 64-D model has {data[64]['active_units']:g} active units.",
    ),
    Claim(
        "The KL (the rate) grows with the latent size: KL(2-D) < KL(16-D) < KL(64-D).",
        lambda data: data[2]["kl"] < data[16]["kl"] < data[64]["kl"],
        lambda data: (
            "your KLs are " + ", ".join(f"{data[s]['kl']:g} nats at {s}-D" for s in SIZES) + "."
        ),
    ),
)

LATENT_DIM_TRADEOFF = ExperimentDrill(
    id="latent_dim_tradeoff",
    chapter="02",
    title="Latent size: measure the trade-off",
    answer_name="latent_dim_results",
    prompt=(
        "Train the VAE with latent sizes 2, 16 and 64 (same data and epochs) and measure on "
        "the test set, for each size: the reconstruction error (BCE summed over pixels, "
        "averaged over images, in nats), the KL (averaged over images, in nats), and the "
        "number of active units (Var_x(μ_j) > 0.01). Then state what your numbers show. "
        "Give a dict:\n\n"
        "```python\n"
        "latent_dim_results = {\n"
        "    'measurements': {2: {'reconstruction': ..., 'kl': ..., 'active_units': ...},\n"
        "                     16: {...}, 64: {...}},\n"
        "    'conclusion': {'c', 'd'},  # letters of every option your numbers support\n"
        "}\n"
        "```\n\n"
        "The checker does not know your numbers in advance: it checks that they are sane "
        "(KL ≥ 0, active units ≤ latent size, ...) and that your conclusion follows from them. "
        "Choose exactly one of (a)/(b)/(c). Scoring: sane numbers 1 point, the rest 4 points "
        "shared by (a)/(b)/(c), (d) and (e)."
    ),
    hints=(
        "`vae_course.train.fit` returns a History with test reconstruction and KL per epoch; "
        "`vae_course.diagnostics.active_units(model, images)` counts active units.",
        "Read your table: which size has the lowest reconstruction error? How many of the 64 "
        "dimensions are active? Do the KLs increase with the size?",
        "Every option you choose must agree with your own numbers, and every option your "
        "numbers support must be chosen.",
    ),
    solution=(
        "What chapter 02's own 30-epoch run measured: 2-D reconstructs worst, 16-D and 64-D "
        "are close, and the 64-D model still counts about 64 active units, although its KL "
        "per dimension is very uneven (a few dimensions carry most of it, a long tail only a "
        "few hundredths of a nat each: the KL switches unused dimensions off gradually). "
        "So option (d) is supported only if your "
        "count is below 64. Your conclusion must follow your own measurements, e.g.:\n\n"
        "```python\n"
        "from vae_course import diagnostics, train\n"
        "from vae_course.data import load_dataset\n"
        "from vae_course.models import VAE\n"
        "data = load_dataset('mnist')\n"
        "measurements = {}\n"
        "for d in (2, 16, 64):\n"
        "    model = VAE(latent_dim=d)\n"
        "    history = train.fit(model, data, epochs=10)\n"
        "    last = history.last  # the final epoch's metrics\n"
        "    measurements[d] = {'reconstruction': last['test_reconstruction'],\n"
        "                       'kl': last['test_kl'],\n"
        "                       'active_units': diagnostics.active_units(model, data.images[:2000])}\n"
        "best = min(measurements, key=lambda d: measurements[d]['reconstruction'])\n"
        "conclusion = {{2: 'a', 16: 'b', 64: 'c'}[best]}\n"
        "if measurements[64]['active_units'] < 64: conclusion.add('d')\n"
        "kls = [measurements[d]['kl'] for d in (2, 16, 64)]\n"
        "if kls[0] < kls[1] < kls[2]: conclusion.add('e')\n"
        "latent_dim_results = {'measurements': measurements, 'conclusion': conclusion}\n"
        "```"
    ),
    claims=LATENT_CLAIMS,
    read=read_latent_measurements,
)

DRILLS = (LOG_VAR_RATIONALE, LATENT_DIM_TRADEOFF)
