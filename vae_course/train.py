"""Train an autoencoder or a VAE in one call: :func:`fit` returns a :class:`History`.

The loop is the textbook one, written for speed on a 2-core laptop:

* the whole data set lives in memory as one tensor; each epoch draws a seeded random
  permutation and slices batches out of it by indexing (no per-item ``DataLoader``);
* each step minimises, per example and averaged over the batch,

  ``loss = reconstruction + beta * KL``  with  ``reconstruction = -log p(x|z)`` (nats)
  and ``KL = KL(q(z|x) || N(0, I))`` summed over latent dimensions;

  an :class:`~vae_course.models.Autoencoder` (``encode`` returns a code, not a
  ``(mu, log_var)`` pair) minimises the reconstruction term alone;
* loss terms are accumulated as tensors and read back once per epoch;
* a non-finite loss stops training at once with :class:`TrainingDiverged`, whose message
  names the likeliest cause (:mod:`vae_course.divergence`);
* finished runs are stored in the cache directory, keyed by everything that determines the
  result (:mod:`vae_course.model_cache`), so re-running a notebook cell loads the model in
  about a second.

What ``fit`` accepts as data is :mod:`vae_course.training_data`; the record it returns is
:class:`vae_course.history.History`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vae_course import __version__, config, loops, losses, model_cache, schedules
from vae_course._checks import finite_number, positive_int
from vae_course.divergence import TrainingDiverged, describe_nonfinite, diagnose
from vae_course.history import METRIC_COLUMNS, History, format_seconds
from vae_course.models import decode_batch, encode_batch
from vae_course.training_data import Split, as_split, auto_test_split, check_values, fast_subset

LIKELIHOODS = ("bernoulli", "gaussian")
FAST_MAX_EPOCHS = 2
FAST_MAX_TRAIN = 1024
FAST_MAX_TEST = 512
EVAL_BATCH_SIZE = 2048


# --------------------------------------------------------------------------------------
# One batch
# --------------------------------------------------------------------------------------


@dataclass
class _Terms:
    """Batch sums of the loss terms (tensors, not yet synchronised)."""

    reconstruction: Tensor  # scalar: sum over the batch of -log p(x|z)
    kl_per_dim: Tensor | None  # (B, d) KL of each example and dimension, None for an AE
    logits: Tensor
    mu: Tensor | None = None
    log_var: Tensor | None = None
    z: Tensor | None = None  # the sampled codes (B, d), for objectives that need them


def _batch_terms(
    model: nn.Module,
    x: Tensor,
    y: Tensor | None,
    likelihood: str,
    generator: torch.Generator | None,
) -> _Terms:
    """Encode, sample z = mu + exp(½ log_var) * eps with seeded eps, decode, score.

    Reconstruction: ``-Σ_b log p(x_b|z_b)`` as in
    :func:`vae_course.losses.reconstruction_log_likelihood` (Bernoulli: BCE with logits;
    Gaussian: mean sigmoid(logits), log σ from the model's ``log_sigma`` attribute, default 0).
    KL per dimension: :func:`vae_course.losses.kl_divergence_per_dim`, (B, d).
    """
    code = encode_batch(model, x, y)
    if isinstance(code, (tuple, list)):
        mu, log_var = code[0], code[1]
        eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        z = mu + torch.exp(0.5 * log_var) * eps
        logits = decode_batch(model, z, y, x)
        kl_per_dim = losses.kl_divergence_per_dim(mu, log_var)
    else:
        mu = log_var = kl_per_dim = z = None
        logits = decode_batch(model, code, y, x)
    if likelihood == "bernoulli":
        # Same value as -losses.bernoulli_log_likelihood(logits, x).sum(), one fused kernel.
        reconstruction = F.binary_cross_entropy_with_logits(
            logits, x.reshape(logits.shape), reduction="sum"
        )
    else:
        log_sigma = getattr(model, "log_sigma", 0.0)
        reconstruction = -losses.reconstruction_log_likelihood(
            logits, x, likelihood, log_sigma
        ).sum()
    return _Terms(reconstruction, kl_per_dim, logits, mu, log_var, z)


# --------------------------------------------------------------------------------------
# β schedules and the objective
# --------------------------------------------------------------------------------------


def _kl_objective(
    kl_per_dim: Tensor, schedule: schedules.BetaSchedule, step: int, free_bits: float | None
) -> Tensor:
    """The KL part of the per-example loss, averaged over the batch.

    ``KL = mean_b Σ_j KL_bj``, or with free bits λ (Kingma et al. 2016)
    ``KL = Σ_j max(λ, mean_b KL_bj)`` (:func:`vae_course.schedules.free_bits_kl`); then
    ``schedule.kl_term(KL, step)``: ``β(step) * KL`` for a β schedule,
    ``γ * |KL - C(step)|`` for :class:`~vae_course.schedules.CapacityAnnealing`.
    """
    if free_bits is not None:
        kl = schedules.free_bits_kl(kl_per_dim, free_bits)
    else:
        kl = kl_per_dim.sum() / kl_per_dim.shape[0]
    return schedule.kl_term(kl, step)


# --------------------------------------------------------------------------------------
# fit
# --------------------------------------------------------------------------------------


def _check_model(model: Any) -> None:
    if not isinstance(model, nn.Module):
        raise TypeError(
            "model must be a torch.nn.Module (or a function that builds one, e.g. "
            f"lambda: models.VAE(latent_dim=16)); got {type(model).__name__}"
        )
    missing = [m for m in ("encode", "decode") if not callable(getattr(model, m, None))]
    if missing:
        raise TypeError(
            f"{type(model).__name__} has no {' / '.join(missing)} method; fit needs "
            "encode(x) -> (mu, log_var) (or a code z for an autoencoder) and decode(z) -> logits"
        )
    if not any(True for _ in model.parameters()):
        raise ValueError(f"{type(model).__name__} has no parameters to train")


def _check_loop_settings(
    loop: Any, schedule: schedules.BetaSchedule, free_bits: Any, likelihood: str, model: Any
) -> None:
    """``fit(loop=...)`` trains the plain objective only: refuse what the loop cannot do."""
    if not callable(loop):
        raise TypeError(f"loop must be a training loop function, got {type(loop).__name__}")
    refused = []
    if free_bits is not None:
        refused.append("free_bits")
    if likelihood != "bernoulli":
        refused.append(f"likelihood={likelihood!r}")
    if getattr(model, "num_classes", None) is not None:
        refused.append("a conditional model")
    if type(schedule).kl_term is not schedules.BetaSchedule.kl_term or getattr(
        schedule, "needs_posterior_samples", False
    ):
        refused.append(f"{schedule!r}, which replaces the KL term")
    if refused:
        raise ValueError(
            "fit(loop=...) trains reconstruction + β_t · KL with the Bernoulli likelihood, as "
            f"train_with_schedule does; it cannot be combined with {', '.join(refused)}"
        )


def _build(factory: Callable[[], nn.Module], seed: int) -> nn.Module:
    """``factory()`` right after ``torch.manual_seed(seed)``: the cache's seeding rule."""
    torch.manual_seed(seed)
    model = factory()
    if not isinstance(model, nn.Module):
        raise TypeError(
            f"the model factory {getattr(factory, '__name__', factory)!r} returned "
            f"{type(model).__name__}, not a torch.nn.Module"
        )
    return model


def fit(
    model: nn.Module | Callable[[], nn.Module],
    data: Any,
    epochs: int,
    batch_size: int = 128,
    beta: float | Callable[[int], float] = 1.0,
    free_bits: float | None = None,
    seed: int = 0,
    lr: float = 1e-3,
    test_data: Any = "auto",
    likelihood: str = "bernoulli",
    cache: bool = True,
    progress: bool = True,
    device: str | torch.device | None = None,
    loop: Callable[..., Any] | None = None,
) -> History:
    """Train ``model`` with Adam and return its per-epoch :class:`History`.

    Objective per example x (averaged over each batch of size B), with z = mu + σ ⊙ ε,
    ε ~ N(0, I) drawn from a generator seeded by ``seed``:

        loss = -log p(x|z) + beta_t * Σ_j KL_j,   KL_j = ½(mu_j² + σ_j² - log σ_j² - 1)

    * ``model``: a VAE (``encode(x) -> (mu, log_var)``, each (B, d); ``decode(z) -> logits``
      shaped like x) or an autoencoder (``encode(x) -> z``: reconstruction loss only).
      A model with a ``num_classes`` attribute is conditional: ``encode(x, y)`` and
      ``decode(z, y)`` receive the labels. With ``likelihood="gaussian"`` a ``log_sigma``
      attribute of the model (float or tensor, e.g. a learned parameter) is the decoder's log σ.
      **Or a factory**: a function (or class) called with no arguments that returns the
      model, e.g. ``lambda: models.VAE(latent_dim=16)``. ``fit`` then builds it right after
      ``torch.manual_seed(seed)``, so the same call always starts from the same initial
      weights and finds the cache; the trained model is ``history.model``
      (:func:`fit_from_seed` returns the pair).
    * ``data``: a ``vae_course.data.Dataset``, an image tensor (N, C, H, W) in [0, 1], or a
      pair (images, labels).
    * ``epochs``, ``batch_size``, ``lr``: passes over the data, examples per step, Adam rate.
    * ``beta``: a float, or a schedule called with the global step (0, 1, ...) returning
      β_t (see :mod:`vae_course.schedules`); the KL term is ``schedule.kl_term(KL, step)``,
      so :class:`~vae_course.schedules.CapacityAnnealing` trains on ``gamma * |KL - C(step)|``
      (its recorded "beta" is gamma); :class:`~vae_course.kl_decomposition.BetaTCVAE`
      (``needs_posterior_samples``) replaces it by ``posterior_kl_term(z, mu, log_var, step)``.
    * ``free_bits``: λ nats per latent dimension; the KL term becomes
      ``Σ_j max(λ, mean_batch KL_j)`` (:func:`vae_course.schedules.free_bits_kl`).
    * ``seed``: seeds the shuffling, the noise ε, the model's own randomness and, in the
      factory form, the initial weights.
    * ``test_data``: evaluated after every epoch (same forms as ``data``). The default
      ``"auto"`` loads the matching test split when ``data`` is a Dataset of split "train"
      (``load_dataset(data.name, "test")``); ``None`` skips test evaluation.
    * ``likelihood``: ``"bernoulli"`` (binary cross-entropy with logits, pixels in [0, 1])
      or ``"gaussian"`` (pixel means sigmoid(logits), σ = exp(model.log_sigma), default 1).
    * ``cache``: store the trained weights and history in the cache directory, keyed by the
      package version and code, the model's class (and its methods' code), repr and
      *initial* weights, the data and every setting (:mod:`vae_course.model_cache`); an
      identical call later loads them instead of training. Build the model right after
      ``torch.manual_seed(...)`` (or pass a factory) so that a re-run starts from the same
      initial weights and finds the cache.
    * ``progress``: show a progress bar over epochs. ``device``: default
      :func:`vae_course.config.default_device`.
    * ``loop``: a training loop with the contract of
      :func:`vae_course.loops.train_with_schedule` (a learner's Exercise 5.3) that takes
      the optimisation steps instead of ``fit``'s own: each epoch it is called once, with the
      epoch's shuffled batches and β shifted to the global step
      (:func:`vae_course.loops.learner_epoch`); ``fit`` keeps the shuffling, the test-set
      evaluation, the :class:`History` and the cache, whose key then includes the loop's
      code and every β_t. The loop draws its own noise ε (e.g. ``torch.randn_like``) from
      the seeded global generator. Only the plain objective: the Bernoulli likelihood, no
      ``free_bits``, no conditional model, no schedule that replaces the KL term. Used in
      05_kl_annealing.

    With ``VAE_COURSE_FAST=1`` training uses at most 2 epochs, 1024 training and 512 test
    examples (stratified by label, :func:`vae_course.data.subset_indices`). Returns with the
    model in eval mode on ``device``. Raises :class:`TrainingDiverged` (a ``ValueError``) if
    the loss becomes NaN/inf. Used from 01_autoencoder on; the factory form from
    05_kl_annealing on.
    """
    epochs = positive_int(epochs, "epochs")
    batch_size = positive_int(batch_size, "batch_size")
    lr = finite_number(lr, "lr", minimum=0.0, strict=True)
    if likelihood not in LIKELIHOODS:
        raise ValueError(f"likelihood must be one of {LIKELIHOODS}; got {likelihood!r}")
    try:
        schedule = schedules.as_schedule(beta)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"beta must be a number >= 0 or a schedule (step -> beta); got {beta!r} ({error})"
        ) from error
    if free_bits is not None:
        free_bits = finite_number(free_bits, "free_bits (nats per latent dimension)", minimum=0)
    if getattr(schedule, "needs_posterior_samples", False) and free_bits is not None:
        raise ValueError(f"free_bits cannot be combined with {schedule!r}, which sets the KL term")
    if callable(model) and not isinstance(model, nn.Module):
        model = _build(model, seed)
    _check_model(model)
    if loop is not None:
        _check_loop_settings(loop, schedule, free_bits, likelihood, model)

    train = as_split(data, "data")
    if isinstance(test_data, str) and test_data == "auto":
        test = auto_test_split(train)
    else:
        test = None if test_data is None else as_split(test_data, "test_data")
    if test is not None and test.images.shape[1:] != train.images.shape[1:]:
        raise ValueError(
            f"test_data images have shape {tuple(test.images.shape[1:])} but data images "
            f"{tuple(train.images.shape[1:])}; they must match"
        )

    fast = config.fast_mode()
    requested_epochs = epochs
    if fast:
        epochs = min(epochs, FAST_MAX_EPOCHS)
        train = fast_subset(train, FAST_MAX_TRAIN, seed)
        test = None if test is None else fast_subset(test, FAST_MAX_TEST, seed)
    check_values(train, "data", likelihood)
    if test is not None:
        check_values(test, "test_data", likelihood)

    conditional = getattr(model, "num_classes", None) is not None
    if conditional and train.labels is None:
        raise ValueError(
            f"{type(model).__name__} is conditional (num_classes={model.num_classes}) "
            "and needs labels: pass a Dataset or (images, labels)"
        )
    target = torch.device(device if device is not None else config.default_device())

    settings = {
        "epochs": epochs,
        "requested_epochs": requested_epochs,
        "batch_size": batch_size,
        "lr": float(lr),
        "optimizer": "Adam",
        "beta": model_cache.stable_description(beta),
        "free_bits": None if free_bits is None else float(free_bits),
        "seed": int(seed),
        "likelihood": likelihood,
        "fast": fast,
        "conditional": conditional,
    }
    if loop is not None:  # the learner's code and the β it gets decide the weights
        settings["loop"] = model_cache.function_digest(loop)
        total = epochs * math.ceil(train.images.shape[0] / batch_size)
        betas = torch.tensor([float(schedule(t)) for t in range(total)], dtype=torch.float64)
        settings["beta_values"] = model_cache.tensor_digest(betas)
    cache_path = None
    if cache:
        test_arrays = None if test is None else (test.images, test.labels)
        key = model_cache.cache_key(model, (train.images, train.labels), test_arrays, settings)
        cache_path = model_cache.cache_path(model, key)
        history = model_cache.load(cache_path, model, target)
        if history is not None:
            print(
                f"Loaded the trained {type(model).__name__} from the cache "
                f"({len(history)} epochs; training took {format_seconds(history.train_seconds)}"
                f"). Pass cache=False to retrain."
            )
            history.model = model
            return history

    history = _train(
        model, train, test, epochs, batch_size, schedule, free_bits, seed, lr, likelihood,
        progress, target, conditional, loop,
    )  # fmt: skip
    history.info.update(
        {
            "model": type(model).__name__,
            "n_train": int(train.images.shape[0]),
            "n_test": 0 if test is None else int(test.images.shape[0]),
            "device": str(target),
            "version": __version__,
            **settings,
        }
    )
    if cache_path is not None:
        model_cache.save(cache_path, model, history)
    history.model = model
    return history


def fit_from_seed(
    make_model: Callable[[], nn.Module], data: Any, epochs: int, **options: Any
) -> tuple[nn.Module, History]:
    """``(model, history)``: :func:`fit` with a model factory, for code that keeps both.

    ``make_model()`` is called right after ``torch.manual_seed(seed)`` (``seed`` is one of
    ``options``, default 0), so every call with the same arguments trains from the same
    initial weights, or loads that run from the cache. ``options`` are those of
    :func:`fit`. Used in 05_kl_annealing, 06_posterior_collapse and 07_beta_vae, e.g.
    ``collapsed, history = train.fit_from_seed(models.strong_decoder_vae, train_set, 10,
    beta=6.0)``.
    """
    if isinstance(make_model, nn.Module) or not callable(make_model):
        raise TypeError(
            "fit_from_seed needs a function that builds the model (e.g. "
            f"lambda: models.VAE(latent_dim=16)), got {type(make_model).__name__}; "
            "to train an existing model call fit(model, ...)"
        )
    history = fit(make_model, data, epochs, **options)
    return history.model, history


def _train(
    model: nn.Module,
    train: Split,
    test: Split | None,
    epochs: int,
    batch_size: int,
    schedule: schedules.BetaSchedule,
    free_bits: float | None,
    seed: int,
    lr: float,
    likelihood: str,
    progress: bool,
    device: torch.device,
    conditional: bool,
    loop: Callable[..., Any] | None = None,
) -> History:
    from tqdm.auto import tqdm

    model.to(device)
    images = train.images.to(device)
    labels = train.labels.to(device) if (conditional and train.labels is not None) else None
    count = images.shape[0]
    steps_per_epoch = math.ceil(count / batch_size)

    if test is not None:  # moved once, not at every evaluation
        test = test.to(device)
    shuffle_generator = torch.Generator().manual_seed(seed)
    noise_generator = torch.Generator(device=device).manual_seed(seed + 1)
    optimizer = _adam(model, lr, device)

    history = History()
    step = 0
    started = time.perf_counter()
    bar = tqdm(range(1, epochs + 1), desc=f"fit {type(model).__name__}", unit="epoch",
               disable=not progress, leave=True)  # fmt: skip
    forked = []  # the CPU generator is always forked; add the CUDA device we train on
    if device.type == "cuda":
        forked = [device.index if device.index is not None else torch.cuda.current_device()]
    with torch.random.fork_rng(devices=forked, device_type="cuda"):
        torch.manual_seed(seed)  # model-internal randomness (dropout, ...) is seeded too
        for epoch in bar:
            epoch_start = time.perf_counter()
            model.train()
            order = torch.randperm(count, generator=shuffle_generator).to(device)
            reconstruction_sum = torch.zeros((), device=device)
            loss_sum = torch.zeros((), device=device)
            kl_dim_sum: Tensor | None = None
            beta_sum = 0.0
            learner_means = None
            if loop is not None:  # the learner's loop takes this epoch's steps (loops.py)
                batches = [images.index_select(0, order[s : s + batch_size])
                           for s in range(0, count, batch_size)]  # fmt: skip
                learner_means = loops.learner_epoch(loop, model, optimizer, batches, schedule, step)
                step += len(batches)
                beta_sum = learner_means["beta"] * steps_per_epoch
                loss_sum = torch.tensor(learner_means["loss"] * count)
                reconstruction_sum = torch.tensor(learner_means["reconstruction"] * count)
            package_steps = range(0, count, batch_size) if loop is None else ()
            for start in package_steps:  # fit's own steps (none when a loop took them)
                index = order[start : start + batch_size]
                x = images.index_select(0, index)
                y = None if labels is None else labels.index_select(0, index)
                beta_sum += schedule(step)
                terms = _batch_terms(model, x, y, likelihood, noise_generator)
                size = x.shape[0]
                loss = terms.reconstruction / size
                if getattr(schedule, "needs_posterior_samples", False):  # e.g. beta-TCVAE
                    loss = loss + schedule.posterior_kl_term(terms.z, terms.mu, terms.log_var, step)
                elif terms.kl_per_dim is not None:
                    loss = loss + _kl_objective(terms.kl_per_dim, schedule, step, free_bits)
                if not bool(torch.isfinite(loss)):
                    error = describe_nonfinite(loss)
                    raise diagnose(model, x, terms, lr, likelihood, step, error)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                with torch.no_grad():
                    reconstruction_sum += terms.reconstruction.detach()
                    loss_sum += loss.detach() * size
                    if terms.kl_per_dim is not None:
                        batch_kl = terms.kl_per_dim.detach().sum(0)
                        kl_dim_sum = batch_kl if kl_dim_sum is None else kl_dim_sum + batch_kl
                step += 1

            row: dict[str, Any] = dict.fromkeys(METRIC_COLUMNS)
            row["epoch"] = epoch
            has_kl = kl_dim_sum is not None or learner_means is not None
            row["beta"] = beta_sum / steps_per_epoch if has_kl else None
            row["train_loss"] = float(loss_sum) / count
            row["train_reconstruction"] = float(reconstruction_sum) / count
            epoch_kl_per_dim = None
            if kl_dim_sum is not None:
                epoch_kl_per_dim = (kl_dim_sum / count).tolist()
                row["train_kl"] = sum(epoch_kl_per_dim)
                row["train_elbo"] = -(row["train_reconstruction"] + row["train_kl"])
            elif learner_means is not None:  # the loop reports the KL summed over dimensions
                row["train_kl"] = learner_means["kl"]
                row["train_elbo"] = -(row["train_reconstruction"] + row["train_kl"])
            if test is not None:
                test_reconstruction, test_kl_per_dim = _evaluate(
                    model, test, likelihood, device, conditional, seed, lr
                )
                row["test_reconstruction"] = test_reconstruction
                if test_kl_per_dim is not None:
                    epoch_kl_per_dim = test_kl_per_dim
                    row["test_kl"] = sum(test_kl_per_dim)
                    row["test_elbo"] = -(test_reconstruction + row["test_kl"])
            row["seconds"] = time.perf_counter() - epoch_start
            history.add_epoch(row, epoch_kl_per_dim)
            bar.set_postfix(_postfix(row), refresh=False)
    bar.close()
    model.eval()
    history.train_seconds = time.perf_counter() - started
    return history


def _adam(model: nn.Module, lr: float, device: torch.device) -> torch.optim.Adam:
    """Adam; the fused kernel when the device supports it (same maths, fewer passes)."""
    parameters = [p for p in model.parameters() if p.requires_grad]
    if device.type in ("cpu", "cuda"):
        try:
            return torch.optim.Adam(parameters, lr=lr, fused=True)
        except (RuntimeError, TypeError, ValueError):
            pass
    return torch.optim.Adam(parameters, lr=lr)


def _postfix(row: dict[str, Any]) -> dict[str, str]:
    postfix = {"loss": f"{row['train_loss']:.2f}"}
    if row["train_kl"] is not None:
        postfix["KL"] = f"{row['train_kl']:.2f}"
    if row["test_elbo"] is not None:
        postfix["test ELBO"] = f"{row['test_elbo']:.2f}"
    elif row["test_reconstruction"] is not None:
        postfix["test recon"] = f"{row['test_reconstruction']:.2f}"
    return postfix


@torch.no_grad()
def _evaluate(
    model: nn.Module,
    split: Split,
    likelihood: str,
    device: torch.device,
    conditional: bool,
    seed: int,
    lr: float,
) -> tuple[float, list[float] | None]:
    """Reconstruction (nats/example) and KL per dimension on a split, one z sample each.

    The noise generator is re-seeded on every call, so epochs are compared on the same ε.
    """
    was_training = model.training
    model.eval()
    generator = torch.Generator(device=device).manual_seed(seed + 2)
    reconstruction = torch.zeros((), device=device)
    kl_dim_sum: Tensor | None = None
    count = split.images.shape[0]
    for start in range(0, count, EVAL_BATCH_SIZE):
        x = split.images[start : start + EVAL_BATCH_SIZE].to(device)
        y = None
        if conditional and split.labels is not None:
            y = split.labels[start : start + EVAL_BATCH_SIZE].to(device)
        terms = _batch_terms(model, x, y, likelihood, generator)
        reconstruction += terms.reconstruction
        if terms.kl_per_dim is not None:
            batch_kl = terms.kl_per_dim.sum(0)
            kl_dim_sum = batch_kl if kl_dim_sum is None else kl_dim_sum + batch_kl
    total = float(reconstruction)
    if not math.isfinite(total):
        raise diagnose(model, x, terms, lr, likelihood, -1, "not finite on the test data")
    model.train(was_training)
    return total / count, None if kl_dim_sum is None else (kl_dim_sum / count).tolist()


def steps_per_epoch(data: Any, batch_size: int = 128) -> int:
    """Optimizer steps in one epoch of :func:`fit`: ``ceil(N / batch_size)``.

    Use it to size a β schedule in steps, e.g. a warm-up over the first 10 epochs:
    ``10 * steps_per_epoch(train, 128)``. (Fast mode uses fewer examples, so fewer steps.)
    Used in 05_kl_annealing, 06_posterior_collapse and 07_beta_vae (schedules sized in steps).
    """
    batch_size = positive_int(batch_size, "batch_size")
    count = as_split(data, "data").images.shape[0]
    if config.fast_mode():
        count = min(count, FAST_MAX_TRAIN)
    return math.ceil(count / batch_size)


__all__ = [
    "History",
    "METRIC_COLUMNS",
    "TrainingDiverged",
    "fit",
    "fit_from_seed",
    "steps_per_epoch",
]
