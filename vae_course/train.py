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
  names the likeliest cause found by inspecting the batch, the model and its outputs;
* finished runs are stored in the cache directory, keyed by everything that determines the
  result, so re-running a notebook cell loads the model in about a second.
"""

from __future__ import annotations

import hashlib
import inspect
import math
import sys
import time
import types
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vae_course import __version__, config, losses, schedules, storage

LIKELIHOODS = ("bernoulli", "gaussian")
FAST_MAX_EPOCHS = 2
FAST_MAX_TRAIN = 1024
FAST_MAX_TEST = 512
EVAL_BATCH_SIZE = 2048
CACHE_FORMAT = 1
HIGH_LEARNING_RATE = 1e-2  # Adam above this is the first suspect when training diverges

# Every per-epoch record has these keys (values are None where they do not apply, e.g. the
# KL of an autoencoder or test metrics when no test data was given).
METRIC_COLUMNS = (
    "epoch",
    "beta",
    "train_loss",
    "train_reconstruction",
    "train_kl",
    "train_elbo",
    "test_reconstruction",
    "test_kl",
    "test_elbo",
    "seconds",
)
_COLUMN_TITLES = {
    "epoch": "epoch",
    "beta": "β",
    "train_loss": "train loss",
    "train_reconstruction": "train recon",
    "train_kl": "train KL",
    "train_elbo": "train ELBO",
    "test_reconstruction": "test recon",
    "test_kl": "test KL",
    "test_elbo": "test ELBO",
    "seconds": "s",
}


class TrainingDiverged(FloatingPointError, ValueError):
    """Training produced a NaN or infinite loss; the message names the likeliest cause."""


# --------------------------------------------------------------------------------------
# History
# --------------------------------------------------------------------------------------


class History:
    """Per-epoch metrics of one :func:`fit` run.

    All values are in nats per example (averages over the examples of the split):

    * ``reconstruction`` = -log p(x|z) with z drawn once from q(z|x);
    * ``kl`` = KL(q(z|x) || N(0, I)) summed over latent dimensions;
    * ``elbo`` = -(reconstruction + kl), a lower bound on log p(x); ``-elbo`` is the
      "negative ELBO" usually reported (lower is better);
    * ``loss`` = the objective actually minimised (``beta`` and free bits applied);
    * ``beta`` = the mean KL weight over the epoch's steps.

    ``history.epochs`` is the list of per-epoch dicts (keys :data:`METRIC_COLUMNS`),
    ``history["test_elbo"]`` the list of one column, ``history.last`` the final epoch,
    ``history.kl_per_dim`` a tensor (epochs, d) of the KL of each latent dimension
    (test set when there is one, else the training epoch), ``history.from_cache`` whether
    the run was loaded instead of trained, and ``history.train_seconds`` how long the
    original training took.
    """

    def __init__(
        self,
        epochs: Sequence[dict[str, Any]] = (),
        kl_per_dim: Sequence[Sequence[float]] | None = None,
        *,
        from_cache: bool = False,
        train_seconds: float = 0.0,
        info: dict[str, Any] | None = None,
    ) -> None:
        self.epochs: list[dict[str, Any]] = [dict(row) for row in epochs]
        self._kl_rows: list[list[float]] = [list(map(float, r)) for r in (kl_per_dim or [])]
        self.from_cache = bool(from_cache)
        self.train_seconds = float(train_seconds)
        self.info: dict[str, Any] = dict(info or {})

    # -- access --------------------------------------------------------------------
    @property
    def columns(self) -> list[str]:
        """The metric names every epoch record carries."""
        return list(self.epochs[0]) if self.epochs else list(METRIC_COLUMNS)

    def __getitem__(self, column: str) -> list[Any]:
        """One metric over the epochs, e.g. ``history["test_elbo"]``."""
        if not isinstance(column, str):
            raise TypeError(
                f"index a History with a metric name such as 'test_elbo', not {column!r}"
            )
        if column not in self.columns:
            raise KeyError(f"no metric {column!r}; available: {', '.join(self.columns)}")
        return [row.get(column) for row in self.epochs]

    def __len__(self) -> int:
        return len(self.epochs)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.epochs)

    @property
    def last(self) -> dict[str, Any]:
        """The metrics of the final epoch (an empty dict before any epoch)."""
        return dict(self.epochs[-1]) if self.epochs else {}

    @property
    def kl_per_dim(self) -> Tensor | None:
        """KL of each latent dimension per epoch, shape (epochs, d); None for an autoencoder."""
        if not self._kl_rows:
            return None
        return torch.tensor(self._kl_rows, dtype=torch.float32)

    @property
    def is_variational(self) -> bool:
        """True when the run trained a VAE (KL columns are filled)."""
        return bool(self.epochs) and self.epochs[0].get("train_kl") is not None

    # -- plain dict round trip (used by the cache) ---------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A plain dict of lists, floats and strings (safe for ``torch.load(weights_only=True)``)."""
        return {
            "epochs": [dict(row) for row in self.epochs],
            "kl_per_dim": [list(r) for r in self._kl_rows],
            "train_seconds": self.train_seconds,
            "info": dict(self.info),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, from_cache: bool = False) -> History:
        """Rebuild a History written by :meth:`to_dict`."""
        return cls(
            data.get("epochs", []),
            data.get("kl_per_dim") or None,
            from_cache=from_cache,
            train_seconds=data.get("train_seconds", 0.0),
            info=data.get("info", {}),
        )

    # -- display -------------------------------------------------------------------
    def _shown_columns(self) -> list[str]:
        return [c for c in self.columns if any(row.get(c) is not None for row in self.epochs)]

    def _caption(self) -> str:
        model = self.info.get("model", "model")
        source = "loaded from cache" if self.from_cache else "trained"
        return (
            f"{model}: {len(self)} epochs, {source} "
            f"(training took {_format_seconds(self.train_seconds)}); nats per example"
        )

    def __repr__(self) -> str:
        if not self.epochs:
            return "History(no epochs)"
        columns = self._shown_columns()
        header = [_COLUMN_TITLES.get(c, c) for c in columns]
        rows = [[_format_value(row.get(c), c) for c in columns] for row in self.epochs]
        widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
        lines = [
            self._caption(),
            "  ".join(h.rjust(w) for h, w in zip(header, widths, strict=True)),
        ]
        lines += ["  ".join(v.rjust(w) for v, w in zip(r, widths, strict=True)) for r in rows]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        if not self.epochs:
            return "<p>History (no epochs)</p>"
        columns = self._shown_columns()
        head = "".join(f"<th>{_COLUMN_TITLES.get(c, c)}</th>" for c in columns)
        body = "".join(
            "<tr>" + "".join(f"<td>{_format_value(row.get(c), c)}</td>" for c in columns) + "</tr>"
            for row in self.epochs
        )
        return (
            f"<table><caption>{self._caption()}</caption>"
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        )


def _format_value(value: Any, column: str = "") -> str:
    if value is None:
        return "–"
    if column == "seconds":
        return f"{value:.2f}"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 0.01 and value != 0 else f"{value:.2f}"
    return str(value)


def _format_seconds(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)} min {rest:.0f} s"


# --------------------------------------------------------------------------------------
# Data handling
# --------------------------------------------------------------------------------------


@dataclass
class _Split:
    images: Tensor
    labels: Tensor | None
    name: str | None = None
    split: str | None = None


def _as_split(data: Any, role: str) -> _Split:
    """Accept a ``vae_course.data.Dataset``, an image tensor or an (images, labels) pair."""
    labels = None
    name = split = None
    if hasattr(data, "images"):
        images, labels = data.images, getattr(data, "labels", None)
        name, split = getattr(data, "name", None), getattr(data, "split", None)
    elif isinstance(data, (tuple, list)) and len(data) == 2:
        images, labels = data
    else:
        images = data
    try:
        images = torch.as_tensor(images)
    except (TypeError, ValueError, RuntimeError) as error:
        raise TypeError(
            f"{role} must be a vae_course Dataset, an image tensor (N, 1, H, W) or a pair "
            f"(images, labels); got {type(data).__name__}"
        ) from error
    if images.dim() < 2 or images.shape[0] == 0:
        raise ValueError(
            f"{role} images must have shape (N, C, H, W) with N >= 1; got {tuple(images.shape)}"
        )
    if not images.is_floating_point():
        hint = " (uint8 pixels: divide by 255)" if images.dtype == torch.uint8 else ""
        raise TypeError(f"{role} images must be floating point in [0, 1]; got {images.dtype}{hint}")
    if labels is not None:
        labels = torch.as_tensor(labels).long().reshape(-1)
        if labels.shape[0] != images.shape[0]:
            raise ValueError(
                f"{role}: {images.shape[0]} images but {labels.shape[0]} labels; they must match"
            )
    return _Split(images.float().contiguous(), labels, name, split)


def _check_values(split: _Split, role: str, likelihood: str) -> None:
    """Refuse data that would make the loss NaN or meaningless, before any training."""
    images = split.images
    low, high = (float(v) for v in torch.aminmax(images))  # NaN and inf propagate here
    if not (math.isfinite(low) and math.isfinite(high)):
        bad = int((~torch.isfinite(images)).flatten(1).any(1).nonzero()[0])
        raise ValueError(
            f"{role} contains NaN or infinite pixel values (first at example {bad}); "
            "fix the preprocessing before training: every pixel must be a finite number in [0, 1]"
        )
    if likelihood == "bernoulli" and (low < 0.0 or high > 1.0):
        hint = " (it looks like 0-255 pixels: divide by 255)" if high > 1.5 else ""
        raise ValueError(
            f"{role} has pixel values in [{low:.3g}, {high:.3g}], but the Bernoulli likelihood "
            f"(binary cross-entropy) needs inputs in [0, 1]{hint}; rescale the images or pass "
            "likelihood='gaussian'"
        )


def _subset(split: _Split, limit: int, seed: int) -> _Split:
    """At most ``limit`` examples: stratified by label when labels exist, else seeded random."""
    count = split.images.shape[0]
    if count <= limit:
        return split
    generator = torch.Generator().manual_seed(seed)
    if split.labels is None:
        keep = torch.randperm(count, generator=generator)[:limit]
    else:
        classes, counts = torch.unique(split.labels, return_counts=True)
        # Largest-remainder allocation of `limit` slots proportionally to class sizes.
        quota = counts.double() * limit / count
        take = quota.floor().long()
        remainder = limit - int(take.sum())
        if remainder > 0:
            order = torch.argsort(quota - take.double(), descending=True)
            take[order[:remainder]] += 1
        keep_parts = []
        for label, n in zip(classes.tolist(), take.tolist(), strict=True):
            members = (split.labels == label).nonzero().flatten()
            chosen = members[torch.randperm(members.numel(), generator=generator)[:n]]
            keep_parts.append(chosen)
        keep = torch.cat(keep_parts)
    keep = keep.sort().values
    labels = None if split.labels is None else split.labels[keep]
    return _Split(split.images[keep], labels, split.name, split.split)


def _auto_test_split(train: _Split) -> _Split | None:
    """The test split matching a ``Dataset`` loaded with split "train", else None."""
    if train.name is None or train.split != "train":
        return None
    try:
        from vae_course.data import load_dataset

        if train.name == "shapes":  # same image size as the training images
            test = load_dataset(train.name, "test", image_size=int(train.images.shape[-1]))
        else:
            test = load_dataset(train.name, "test")
    except Exception as error:  # a missing test split must not stop training
        print(f"fit: no test split for {train.name!r} ({error}); reporting training metrics only")
        return None
    split = _as_split(test, "test_data")
    if split.images.shape[1:] != train.images.shape[1:]:
        return None
    return split


# --------------------------------------------------------------------------------------
# Model interface
# --------------------------------------------------------------------------------------


def _check_model(model: Any) -> None:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}")
    missing = [m for m in ("encode", "decode") if not callable(getattr(model, m, None))]
    if missing:
        raise TypeError(
            f"{type(model).__name__} has no {' / '.join(missing)} method; fit needs "
            "encode(x) -> (mu, log_var) (or a code z for an autoencoder) and decode(z) -> logits"
        )
    if not any(True for _ in model.parameters()):
        raise ValueError(f"{type(model).__name__} has no parameters to train")


def _is_conditional(model: nn.Module) -> bool:
    return getattr(model, "num_classes", None) is not None


def _encode(model: nn.Module, x: Tensor, y: Tensor | None) -> Any:
    return model.encode(x, y) if y is not None else model.encode(x)


def _decode(model: nn.Module, z: Tensor, y: Tensor | None, x: Tensor) -> Tensor:
    """Logits of x given z; labels for conditional models, and x itself for decoders that
    score each pixel from the previous ones (``decoder_needs_input = True``, teacher forcing)."""
    if getattr(model, "decoder_needs_input", False):
        return model.decode(z, x)
    return model.decode(z, y) if y is not None else model.decode(z)


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
    code = _encode(model, x, y)
    if isinstance(code, (tuple, list)):
        mu, log_var = code[0], code[1]
        eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        z = mu + torch.exp(0.5 * log_var) * eps
        logits = _decode(model, z, y, x)
        kl_per_dim = losses.kl_divergence_per_dim(mu, log_var)
    else:
        mu = log_var = kl_per_dim = z = None
        logits = _decode(model, code, y, x)
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
# Divergence diagnosis
# --------------------------------------------------------------------------------------


def _diagnose(
    model: nn.Module,
    x: Tensor,
    terms: _Terms | None,
    lr: float,
    likelihood: str,
    step: int,
    error: str,
) -> TrainingDiverged:
    """Inspect the batch, the parameters and the outputs; name the likeliest cause."""
    where = f"at step {step}" if step >= 0 else "while evaluating"
    causes: list[str] = []
    if not bool(torch.isfinite(x).all()):
        causes.append("the input batch contains NaN or infinite pixel values; fix the data")
    elif likelihood == "bernoulli" and (float(x.min()) < 0 or float(x.max()) > 1):
        causes.append(
            f"inputs lie in [{float(x.min()):.3g}, {float(x.max()):.3g}] but binary "
            "cross-entropy needs pixels in [0, 1]; rescale the images (e.g. divide by 255)"
        )
    bad_parameters = [n for n, p in model.named_parameters() if not bool(torch.isfinite(p).all())]
    if bad_parameters:
        causes.append(
            f"model parameters became NaN/inf ({', '.join(bad_parameters[:3])}): the learning "
            f"rate lr={lr:g} is probably too high; try lr={lr / 10:g}"
        )
    if terms is not None and terms.log_var is not None:
        log_var = terms.log_var.detach()
        if bool(log_var.isnan().any()) and bool(torch.isfinite(terms.mu.detach()).all()):
            causes.append(
                f"the encoder's log_var contains NaN ({int(log_var.isnan().sum())} of "
                f"{log_var.numel()} values) while mu is finite: log_var is computed from "
                "something invalid, such as the log of a negative or zero sigma; let a linear "
                "layer predict log_var directly"
            )
        elif not bool(torch.isfinite(log_var).all()) or float(log_var.abs().max()) > 30:
            peak = float(log_var.nan_to_num(nan=float("inf")).abs().max())
            fixes = [f"lower the learning rate (lr={lr:g})", "bound log_var in the encoder "
                     "(e.g. log_var.clamp(-10, 10))"]  # fmt: skip
            if lr <= HIGH_LEARNING_RATE:
                fixes.reverse()
            causes.append(
                f"log_var exploded (|log_var| up to {peak:.3g}; exp overflows past ~88): "
                f"{fixes[0]} or {fixes[1]}"
            )
        elif not bool(torch.isfinite(terms.mu.detach()).all()):
            causes.append(f"the encoder mean mu is NaN/inf: lower the learning rate (lr={lr:g})")
    logits_finite = terms is None or bool(torch.isfinite(terms.logits.detach()).all())
    if not logits_finite and not causes:  # otherwise a consequence of the causes above
        if lr > HIGH_LEARNING_RATE:
            causes.append(f"the decoder output is NaN/inf: lower the learning rate (lr={lr:g})")
        else:
            causes.append(
                "the decoder output is NaN/inf although its inputs and parameters are finite: "
                "look in decode() for an operation such as log(0), 0/0 or sqrt of a negative "
                "number"
            )
    if terms is not None and not causes:
        out = terms.logits.detach()
        if float(out.min()) >= 0 and float(out.max()) <= 1:
            causes.append(
                "decode() seems to return probabilities (all outputs in [0, 1]) but fit expects "
                "logits: remove the final sigmoid from the decoder"
            )
    if not causes:
        causes.append(
            f"the loss overflowed: the learning rate lr={lr:g} is probably too high; "
            f"try lr={lr / 10:g}"
        )
    return TrainingDiverged(
        f"training diverged {where}: the loss is {error}. Likely cause: {causes[0]}."
        + ("" if len(causes) == 1 else " Also: " + "; ".join(causes[1:]) + ".")
    )


# --------------------------------------------------------------------------------------
# The cache key
# --------------------------------------------------------------------------------------


def _tensor_digest(tensor: Tensor | None) -> str:
    if tensor is None:
        return "none"
    flat = tensor.detach().cpu().contiguous().reshape(-1)
    digest = hashlib.sha1(str((tuple(tensor.shape), str(tensor.dtype))).encode())
    if flat.numel():
        digest.update(flat.view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def _source_of(obj: Any) -> str:
    try:
        return inspect.getsource(obj)
    except (OSError, TypeError):
        return ""


def _stable_description(value: Any) -> str:
    """A description that is identical across Python sessions (no memory addresses)."""
    text = repr(value)
    if " at 0x" not in text:
        return text
    parts = [getattr(value, "__qualname__", type(value).__qualname__), _source_of(value)]
    closure = getattr(value, "__closure__", None) or ()
    parts += [repr(cell.cell_contents) for cell in closure]
    return "|".join(parts)


def _code_digest(code: types.CodeType, digest: Any) -> None:
    """Feed a function's bytecode, names and constants (recursively) into ``digest``."""
    digest.update(code.co_code)
    digest.update(repr((code.co_names, code.co_varnames, code.co_freevars)).encode())
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            _code_digest(constant, digest)
        else:
            digest.update(repr(constant).encode())


def _model_code_digest(model: nn.Module) -> str:
    """Digest of the methods of every non-torch class in the model and its submodules.

    Bytecode rather than source, so it also covers classes defined in a notebook cell:
    editing ``forward`` or ``decode`` there changes the key even when the layers do not.
    """
    digest = hashlib.sha1()
    classes = {cls for module in model.modules() for cls in type(module).__mro__}
    for cls in sorted(classes, key=lambda c: (c.__module__, c.__qualname__)):
        if cls.__module__.split(".")[0] in ("torch", "builtins", "typing"):
            continue
        digest.update(f"{cls.__module__}.{cls.__qualname__}".encode())
        for name, member in sorted(vars(cls).items()):
            member = getattr(member, "__func__", member)  # classmethod / staticmethod
            if isinstance(member, property):
                member = member.fget
            code = getattr(member, "__code__", None)
            if isinstance(code, types.CodeType):
                digest.update(name.encode())
                _code_digest(code, digest)
    return digest.hexdigest()


def _module_sources(model: nn.Module) -> str:
    """Digest of the code that determines the trained weights (so edits miss the cache):
    this package's training code, the model's module source (when it is a file) and the
    bytecode of the model's own classes."""
    import vae_course

    package_dir = Path(vae_course.__file__).parent
    texts = []
    names = ["train.py", "losses.py", "schedules.py", "kl_decomposition.py"]
    names += sorted(f"models/{p.name}" for p in (package_dir / "models").glob("*.py"))
    for name in names:  # the models package's helpers (networks, checks) are code too
        path = package_dir / name
        texts.append(path.read_text() if path.exists() else "")
    module = sys.modules.get(type(model).__module__)
    texts.append(_source_of(module) if module is not None else "")
    texts.append(_model_code_digest(model))
    return hashlib.sha1("\n".join(texts).encode()).hexdigest()


def _cache_key(model: nn.Module, train: _Split, test: _Split | None, settings: dict) -> str:
    parts = {
        "format": CACHE_FORMAT,
        "version": __version__,
        "code": _module_sources(model),
        "model_class": f"{type(model).__module__}.{type(model).__qualname__}",
        "model_repr": repr(model),
        "initial_state": {k: _tensor_digest(v) for k, v in model.state_dict().items()},
        "train_images": _tensor_digest(train.images),
        "train_labels": _tensor_digest(train.labels),
        "test_images": _tensor_digest(None if test is None else test.images),
        "test_labels": _tensor_digest(None if test is None else test.labels),
        "settings": settings,
    }
    return hashlib.sha1(repr(sorted(parts.items())).encode()).hexdigest()[:20]


def _load_cached(path: Path, model: nn.Module, device: torch.device) -> History | None:
    """Load weights into ``model`` and return the cached History, or None if unusable."""
    if not path.exists():
        return None
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
        if payload.get("format") != CACHE_FORMAT:
            raise ValueError(f"unknown cache format {payload.get('format')!r}")
        model.load_state_dict(payload["state_dict"])
        history = History.from_dict(payload["history"], from_cache=True)
    except Exception as error:  # any damage means: set aside and retrain
        moved = storage.set_aside(path)
        warnings.warn(
            f"the cached model {path.name} could not be read ({type(error).__name__}: {error}); "
            f"moved it to {moved.name} and retraining",
            RuntimeWarning,
            stacklevel=3,
        )
        return None
    model.to(device)
    model.eval()
    return history


# --------------------------------------------------------------------------------------
# fit
# --------------------------------------------------------------------------------------


def fit(
    model: nn.Module,
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
    * ``test_data``: evaluated after every epoch (same forms as ``data``). The default
      ``"auto"`` loads the matching test split when ``data`` is a Dataset of split "train"
      (``load_dataset(data.name, "test")``); ``None`` skips test evaluation.
    * ``likelihood``: ``"bernoulli"`` (binary cross-entropy with logits, pixels in [0, 1])
      or ``"gaussian"`` (pixel means sigmoid(logits), σ = exp(model.log_sigma), default 1).
    * ``cache``: store the trained weights and history in the cache directory, keyed by the
      package version and code, the model's class (and its methods' code), repr and
      *initial* weights, the data and every setting; an identical call later loads them
      instead of training. Build the model right after ``torch.manual_seed(...)`` so that a
      re-run starts from the same initial weights and finds the cache.
    * ``progress``: show a progress bar over epochs. ``device``: default
      :func:`vae_course.config.default_device`.

    With ``VAE_COURSE_FAST=1`` training uses at most 2 epochs, 1024 training and 512 test
    examples (stratified by label). Returns with the model in eval mode on ``device``.
    Raises :class:`TrainingDiverged` (a ``ValueError``) if the loss becomes NaN/inf.
    """
    _check_model(model)
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be a positive integer; got {epochs!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer; got {batch_size!r}")
    if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a positive number; got {lr!r}")
    if likelihood not in LIKELIHOODS:
        raise ValueError(f"likelihood must be one of {LIKELIHOODS}; got {likelihood!r}")
    try:
        schedule = schedules.as_schedule(beta)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"beta must be a number >= 0 or a schedule (step -> beta); got {beta!r} ({error})"
        ) from error
    if free_bits is not None and not (isinstance(free_bits, (int, float)) and free_bits >= 0):
        raise ValueError(f"free_bits must be None or a number of nats >= 0; got {free_bits!r}")
    if getattr(schedule, "needs_posterior_samples", False) and free_bits is not None:
        raise ValueError(f"free_bits cannot be combined with {schedule!r}, which sets the KL term")

    train = _as_split(data, "data")
    if isinstance(test_data, str) and test_data == "auto":
        test = _auto_test_split(train)
    else:
        test = None if test_data is None else _as_split(test_data, "test_data")
    if test is not None and test.images.shape[1:] != train.images.shape[1:]:
        raise ValueError(
            f"test_data images have shape {tuple(test.images.shape[1:])} but data images "
            f"{tuple(train.images.shape[1:])}; they must match"
        )

    fast = config.fast_mode()
    requested_epochs = epochs
    if fast:
        epochs = min(epochs, FAST_MAX_EPOCHS)
        train = _subset(train, FAST_MAX_TRAIN, seed)
        test = None if test is None else _subset(test, FAST_MAX_TEST, seed)
    _check_values(train, "data", likelihood)
    if test is not None:
        _check_values(test, "test_data", likelihood)

    conditional = _is_conditional(model)
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
        "beta": _stable_description(beta),
        "free_bits": None if free_bits is None else float(free_bits),
        "seed": int(seed),
        "likelihood": likelihood,
        "fast": fast,
        "conditional": conditional,
    }
    cache_path = None
    if cache:
        key = _cache_key(model, train, test, settings)
        cache_path = storage.cache_dir("models") / f"{type(model).__name__}-{key}.pt"
        history = _load_cached(cache_path, model, target)
        if history is not None:
            print(
                f"Loaded the trained {type(model).__name__} from the cache "
                f"({len(history)} epochs; training took {_format_seconds(history.train_seconds)}"
                f"). Pass cache=False to retrain."
            )
            return history

    history = _train(
        model, train, test, epochs, batch_size, schedule, free_bits, seed, lr, likelihood,
        progress, target, conditional,
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
        state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
        payload = {"format": CACHE_FORMAT, "state_dict": state, "history": history.to_dict()}
        storage.atomic_torch_save(payload, cache_path)
    return history


def _train(
    model: nn.Module,
    train: _Split,
    test: _Split | None,
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
) -> History:
    from tqdm.auto import tqdm

    model.to(device)
    images = train.images.to(device)
    labels = train.labels.to(device) if (conditional and train.labels is not None) else None
    count = images.shape[0]
    steps_per_epoch = math.ceil(count / batch_size)

    if test is not None:  # moved once, not at every evaluation
        test_labels = test.labels.to(device) if test.labels is not None else None
        test = _Split(test.images.to(device), test_labels, test.name, test.split)
    shuffle_generator = torch.Generator().manual_seed(seed)
    noise_generator = torch.Generator(device=device).manual_seed(seed + 1)
    optimizer = _adam(model, lr, device)

    history = History()
    kl_rows: list[list[float]] = []
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
            for start in range(0, count, batch_size):
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
                    error = _describe_nonfinite(loss)
                    raise _diagnose(model, x, terms, lr, likelihood, step, error)
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
            row["beta"] = beta_sum / steps_per_epoch if kl_dim_sum is not None else None
            row["train_loss"] = float(loss_sum) / count
            row["train_reconstruction"] = float(reconstruction_sum) / count
            epoch_kl_per_dim = None
            if kl_dim_sum is not None:
                epoch_kl_per_dim = (kl_dim_sum / count).tolist()
                row["train_kl"] = sum(epoch_kl_per_dim)
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
            if epoch_kl_per_dim is not None:
                kl_rows.append(epoch_kl_per_dim)
            row["seconds"] = time.perf_counter() - epoch_start
            history.epochs.append(row)
            bar.set_postfix(_postfix(row), refresh=False)
    bar.close()
    model.eval()
    history._kl_rows = kl_rows
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


def _describe_nonfinite(loss: Tensor) -> str:
    value = float(loss.detach())
    return "NaN" if math.isnan(value) else f"{value} (infinite)"


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
    split: _Split,
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
        raise _diagnose(model, x, terms, lr, likelihood, -1, "not finite on the test data")
    model.train(was_training)
    return total / count, None if kl_dim_sum is None else (kl_dim_sum / count).tolist()


def steps_per_epoch(data: Any, batch_size: int = 128) -> int:
    """Optimizer steps in one epoch of :func:`fit`: ``ceil(N / batch_size)``.

    Use it to size a β schedule in steps, e.g. a warm-up over the first 10 epochs:
    ``10 * steps_per_epoch(train, 128)``. (Fast mode uses fewer examples, so fewer steps.)
    """
    count = _as_split(data, "data").images.shape[0]
    if config.fast_mode():
        count = min(count, FAST_MAX_TRAIN)
    return math.ceil(count / batch_size)


__all__ = ["History", "METRIC_COLUMNS", "TrainingDiverged", "fit", "steps_per_epoch"]
