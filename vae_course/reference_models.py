"""The reference models of chapter 07 (part 2), shipped with the package.

:class:`~vae_course.models.BurgessVAE` networks trained on 64x64 ``shapes`` with the
beta-VAE (beta = 4) and the beta-TCVAE (beta = 6) objectives, two seeds each. Each took
15-18 CPU-minutes (32-53 minutes of wall time on a shared 2-core machine), so the package
ships their weights (float16, about 1 MB each) together with a manifest of how each was
trained and what it measured:

* :data:`RECIPES`: name -> :class:`Recipe`, the training configuration (the single source);
* :func:`training_images` and :func:`test_set`: the seeded data they were trained and
  measured on (:func:`check_set`: its first :data:`N_CHECK` images, for a quick check);
* :func:`load`: a shipped model as a float32 ``BurgessVAE`` with its manifest record, in
  about a second;
* :func:`retrain`: the same recipe through :func:`vae_course.train.fit`, one call, cached
  like every ``fit``;
* :func:`evaluate`: MIG, mutual-information matrix, rate and distortion on the test set.

``benchmarks/train_shapes_models.py`` trains every recipe, writes the weights into
``vae_course/weights/`` and the manifest ``reference_models.json`` next to them.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import Tensor

from vae_course import diagnostics, kl_decomposition, losses, models, shapes, train

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
MANIFEST_PATH = WEIGHTS_DIR / "reference_models.json"
MANIFEST_FORMAT = 1

IMAGE_SIZE = 64
N_TRAIN, TRAIN_SEED = 50_000, 640
N_TEST, TEST_SEED = 5_000, 641
N_CHECK = 1_000  # the first N_CHECK test images: the quick check of the shipped weights
_EVAL_BATCH = 500
_NOISE_SEED = 7  # the one z sample per test image behind the recorded distortion


@dataclass(frozen=True)
class Recipe:
    """How one reference model is trained (all of it is recorded in the manifest).

    ``objective`` is ``"beta-vae"`` (loss = distortion + ``weight`` * KL) or
    ``"beta-tcvae"`` (distortion + MI + ``weight`` * TC + dimension-wise KL, minibatch
    stratified sampling). Adam with ``lr``, ``epochs`` over the :data:`N_TRAIN` training
    images in batches of ``batch_size``; ``seed`` fixes the initial weights, the data order
    and the noise.
    Used in 07_beta_vae (part 2).
    """

    name: str
    objective: str
    weight: float
    seed: int
    epochs: int = 8
    batch_size: int = 128
    lr: float = 1e-3
    latent_dim: int = 10

    def model(self) -> models.BurgessVAE:
        """The untrained model with this recipe's initial weights (``torch.manual_seed(seed)``)."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            return models.BurgessVAE(latent_dim=self.latent_dim)

    def beta(self) -> float | kl_decomposition.BetaTCVAE:
        """What :func:`~vae_course.train.fit` receives as ``beta``."""
        if self.objective == "beta-vae":
            return float(self.weight)
        return kl_decomposition.BetaTCVAE(dataset_size=N_TRAIN, beta=float(self.weight))

    def config(self) -> dict[str, Any]:
        """Every setting, as plain data (what the manifest records)."""
        return {
            **asdict(self),
            "model": "BurgessVAE",
            "image_size": IMAGE_SIZE,
            "n_train": N_TRAIN,
            "train_seed": TRAIN_SEED,
        }

    @property
    def label(self) -> str:
        """A short label for plots, e.g. "β-TCVAE, β = 6"."""
        kind = "β-VAE" if self.objective == "beta-vae" else "β-TCVAE"
        return f"{kind}, β = {self.weight:g}"


def _recipes(objective: str, weight: float, short: str) -> list[Recipe]:
    return [Recipe(f"{short}-{weight:g}-seed{s}", objective, weight, s) for s in (0, 1)]


RECIPES: dict[str, Recipe] = {
    r.name: r
    for r in _recipes("beta-vae", 1.0, "betavae")
    + _recipes("beta-vae", 4.0, "betavae")
    + _recipes("beta-tcvae", 6.0, "tcvae")
}


class ReferenceModel(NamedTuple):
    """A loaded reference model: the float32 ``model`` (eval mode, CPU) and its manifest
    ``record`` (``config``, ``metrics``, ``mi_matrix``, ``history``, ``seconds``).
    Used in 07_beta_vae (part 2).
    """

    model: models.BurgessVAE
    record: dict[str, Any]


def _recipe(name: str) -> Recipe:
    if name not in RECIPES:
        raise ValueError(f"unknown reference model {name!r}; choose one of {', '.join(RECIPES)}")
    return RECIPES[name]


def training_images() -> Tensor:
    """The :data:`N_TRAIN` training images (N, 1, 64, 64) float32 (about 0.8 GB), seeded.
    Used in 07_beta_vae (part 2).
    """
    return shapes.generate_shapes(N_TRAIN, IMAGE_SIZE, seed=TRAIN_SEED)[0]


def test_set() -> tuple[Tensor, Tensor]:
    """The fixed test set: images (5000, 1, 64, 64) and factor classes (5000, 5) int64.

    Drawn with its own seed, so none of it was seen in training; every recorded number of
    the manifest was measured on it.
    Used in 07_beta_vae (part 2).
    """
    images, _, classes = shapes.generate_shapes(N_TEST, IMAGE_SIZE, seed=TEST_SEED)
    return images, classes


def check_set() -> tuple[Tensor, Tensor]:
    """The first :data:`N_CHECK` images and factor classes of :func:`test_set`.

    Each manifest record holds, under ``"check"``, the numbers of :func:`evaluate` on this
    subset: a test can confirm in seconds that the shipped weights still give them.
    Used in 07_beta_vae (part 2).
    """
    images, classes = test_set()
    return images[:N_CHECK], classes[:N_CHECK]


def manifest() -> dict[str, Any]:
    """The shipped manifest (``{"format", "data", "machine", "models": {name: record}}``).
    Used in 07_beta_vae (part 2).
    """
    if not MANIFEST_PATH.exists():
        raise FileNotFoundError(
            f"{MANIFEST_PATH} is missing: the package was installed without its reference "
            "weights; reinstall it, or train them with benchmarks/train_shapes_models.py"
        )
    return json.loads(MANIFEST_PATH.read_text(encoding="utf-8"))


def load(name: str) -> ReferenceModel:
    """The shipped model ``name`` (a key of :data:`RECIPES`) with its manifest record.

    The float16 weights are converted to float32; the model is in eval mode on the CPU.
    Used in 07_beta_vae.
    """
    recipe = _recipe(name)
    record = manifest()["models"].get(name)
    if record is None:
        raise FileNotFoundError(f"the manifest has no record of {name!r}: train it first")
    state = torch.load(WEIGHTS_DIR / record["file"], map_location="cpu", weights_only=True)
    model = recipe.model()
    model.load_state_dict({k: v.float() for k, v in state.items()})
    return ReferenceModel(model.eval(), record)


def load_all() -> dict[str, ReferenceModel]:
    """Every shipped model, by name, in :data:`RECIPES` order.
    Used in 07_beta_vae (part 2).
    """
    shipped = manifest()["models"]
    return {name: load(name) for name in RECIPES if name in shipped}


def retrain(
    name: str, *, cache: bool = True, progress: bool = True
) -> tuple[models.BurgessVAE, train.History]:
    """Train reference model ``name`` again from its recipe: one :func:`~vae_course.train.fit`
    call on :func:`training_images`, tested on :func:`test_set` after every epoch.

    Cached like every ``fit`` call (an identical second call loads in seconds). On a 2-core
    CPU one model takes 30-55 minutes (see ``benchmarks/README.md``). Used in 07_beta_vae.
    """
    recipe = _recipe(name)
    model = recipe.model()
    history = train.fit(
        model,
        training_images(),
        epochs=recipe.epochs,
        batch_size=recipe.batch_size,
        beta=recipe.beta(),
        seed=recipe.seed,
        lr=recipe.lr,
        test_data=test_set()[0],
        cache=cache,
        progress=progress,
        device="cpu",
    )
    return model, history


def _posterior_means(model: torch.nn.Module, images: Tensor) -> tuple[Tensor, Tensor]:
    mus, log_vars = [], []
    with torch.no_grad():
        for start in range(0, images.shape[0], _EVAL_BATCH):
            mu, log_var = model.encode(images[start : start + _EVAL_BATCH])
            mus.append(mu)
            log_vars.append(log_var)
    return torch.cat(mus), torch.cat(log_vars)


@torch.no_grad()
def evaluate(
    model: torch.nn.Module,
    images: Tensor | None = None,
    classes: Tensor | None = None,
    *,
    distortion: bool = True,
) -> dict[str, Any]:
    """Test-set numbers of a model, as plain data (default data: :func:`test_set`).

    ``mig`` (:func:`vae_course.diagnostics.mig_from_codes` of the posterior means, 20 bins),
    ``mi_matrix`` (d x 5 list, nats, :func:`~vae_course.diagnostics.mutual_information_matrix`),
    ``rate`` = mean KL(q(z|x) || N(0, I)) and ``distortion`` = mean -log p(x|z) for one seeded
    z ~ q(z|x) per image (nats per image) and ``active_units`` (Burda et al.).
    ``distortion=False`` skips the decoder (half the time; no ``"distortion"`` key). Used in 07_beta_vae and by the shipped-weights test.
    """
    if images is None or classes is None:
        images, classes = test_set()
    was_training = model.training
    model.eval()
    mu, log_var = _posterior_means(model, images)
    numbers = {
        "mig": diagnostics.mig_from_codes(mu, classes),
        "mi_matrix": np.round(diagnostics.mutual_information_matrix(mu, classes), 5).tolist(),
        "rate": float(losses.kl_divergence(mu, log_var).mean()),
        "active_units": diagnostics.active_units_from_means(mu),
    }
    if distortion:
        generator = torch.Generator().manual_seed(_NOISE_SEED)
        total = 0.0
        for start in range(0, images.shape[0], _EVAL_BATCH):
            m, lv = mu[start : start + _EVAL_BATCH], log_var[start : start + _EVAL_BATCH]
            z = m + torch.exp(0.5 * lv) * torch.randn(m.shape, generator=generator)
            x = images[start : start + _EVAL_BATCH]
            total -= float(losses.bernoulli_log_likelihood(model.decode(z), x).sum())
        numbers["distortion"] = total / images.shape[0]
    model.train(was_training)
    return numbers


__all__ = [
    "IMAGE_SIZE",
    "MANIFEST_PATH",
    "N_TEST",
    "N_TRAIN",
    "N_CHECK",
    "RECIPES",
    "WEIGHTS_DIR",
    "Recipe",
    "ReferenceModel",
    "check_set",
    "evaluate",
    "load",
    "load_all",
    "manifest",
    "retrain",
    "test_set",
    "training_images",
]
