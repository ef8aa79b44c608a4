"""An IOAI-style contest task and its grader: a small VAE under a budget and a time limit.

The task (:data:`TASK`): train a VAE on the ``mnist-embedded`` training split with at most
``max_parameters`` parameters, in a notebook that runs in at most ``time_limit_s`` seconds
on a CPU, and save it with :func:`save_submission`. The grader re-runs the notebook from a
clean kernel (:func:`run_submission`), loads the saved model and measures its negative
ELBO (nats per image, lower is better) on two held-out halves of the test split: the
*public* half (the leaderboard you may look at) and the *private* half (the final score).

Score: a linear ramp from the ``baseline`` (0 points) to the ``reference`` (100 points),
clipped to [0, 100] (:func:`ramp`). Verdicts: ``OK``; ``runtime error`` (the notebook
raised or the kernel died); ``time limit``; ``over budget`` (too many parameters);
``presentation error`` (no submission file, or a file the grader cannot use). Anything
but ``OK`` scores 0.

A submission file is a ``torch.export`` program (no Python class needed to load it) whose
forward maps ``(x (B, 1, 28, 28), eps (B, d))`` to ``(logits (B, 1, 28, 28), mu (B, d),
log_var (B, d))`` with z = mu + exp(log_var / 2) * eps; :func:`save_submission` builds it
from any model with ``encode(x) -> (mu, log_var)`` and ``decode(z) -> logits``.
"""

from __future__ import annotations

import copy
import json
import logging
import math
import os
import shutil
import subprocess
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from vae_course import losses
from vae_course._checks import positive_number
from vae_course.models import parameter_count as _stored_numbers

OK = "OK"
RUNTIME_ERROR = "runtime error"
TIME_LIMIT = "time limit"
OVER_BUDGET = "over budget"
PRESENTATION_ERROR = "presentation error"
VERDICTS = (OK, RUNTIME_ERROR, TIME_LIMIT, OVER_BUDGET, PRESENTATION_ERROR)
SPLITS = ("public", "private")
SUBMISSION_FORMAT = 1
_EVAL_BATCH = 500


@dataclass(frozen=True)
class ContestTask:
    """The rules of one contest task.

    ``baseline`` and ``reference`` are negative ELBOs in nats per image: the baseline is
    what an independent-pixel model with the training set's mean pixel values scores; the
    reference is a tuned in-budget VAE trained within the time limit.
    Used in 09_olympiad_practice (the contest task).
    """

    name: str
    max_parameters: int
    time_limit_s: float
    baseline: float
    reference: float
    dataset: str = "mnist-embedded"
    submission_file: str = "submission.pt2"
    eval_seed: int = 2024
    split_seed: int = 0

    def with_limits(self, **changes: Any) -> ContestTask:
        """A copy with some fields changed, e.g. ``TASK.with_limits(time_limit_s=5)``."""
        return replace(self, **changes)


TASK = ContestTask(
    name="tiny-vae",
    max_parameters=200_000,
    time_limit_s=180.0,
    baseline=206.0,
    reference=110.0,
)


# ----------------------------------------------------------------------------- scoring


def ramp(value: float, baseline: float, reference: float) -> float:
    """The 0–100 score of ``value`` on the line through (baseline, 0) and (reference, 100).

    score = 100 · (value − baseline) / (reference − baseline), clipped to [0, 100]; it works
    whether lower is better (reference < baseline, as for a negative ELBO) or higher. A
    non-finite value scores 0.
    Used in 09_olympiad_practice (the contest task).
    """
    if baseline == reference:
        raise ValueError("baseline and reference must differ")
    if not math.isfinite(value):
        return 0.0
    return float(min(100.0, max(0.0, 100.0 * (value - baseline) / (reference - baseline))))


def parameter_count(model: nn.Module) -> int:
    """Every number the model stores: parameters plus floating-point buffers.

    For a loaded submission, the exported program's weights and tensor constants.
    Used in 09_olympiad_practice (the contest task).
    """
    if isinstance(model, Submission):
        return model.parameter_count
    return _stored_numbers(model)


class _ElboProgram(nn.Module):
    """forward(x, eps) -> (logits, mu, log_var) for a model with encode/decode."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: Tensor, eps: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        mu, log_var = self.model.encode(x)
        z = mu + torch.exp(0.5 * log_var) * eps
        return self.model.decode(z), mu, log_var


class Submission(nn.Module):
    """A loaded submission: ``forward(x, eps) -> (logits, mu, log_var)``, ``latent_dim``.
    Used in 09_olympiad_practice (the contest task).
    """

    def __init__(self, program: nn.Module, latent_dim: int, parameter_count: int) -> None:
        super().__init__()
        self.program = program
        self.latent_dim = int(latent_dim)
        self.parameter_count = int(parameter_count)

    def forward(self, x: Tensor, eps: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        return self.program(x, eps)

    def train(self, mode: bool = True) -> Submission:
        # Exported programs are frozen in eval mode and refuse train()/eval().
        self.training = bool(mode)
        return self


def _latent_dim_of(model: nn.Module, x: Tensor) -> int:
    with torch.no_grad():
        encoded = model.encode(x)
    if not (isinstance(encoded, tuple | list) and len(encoded) == 2):
        raise ValueError(
            "the model's encode(x) must return (mu, log_var); an autoencoder cannot be scored "
            "by the ELBO"
        )
    mu = encoded[0]
    if not isinstance(mu, Tensor) or mu.dim() != 2 or mu.shape[0] != x.shape[0]:
        raise ValueError(
            f"encode(x) must return mu shaped (B, d); got {getattr(mu, 'shape', mu)!r}"
        )
    return int(mu.shape[1])


def _check_scorable(model: Any) -> None:
    if not isinstance(model, nn.Module):
        raise TypeError(f"expected a torch.nn.Module, got {type(model).__name__}")
    if isinstance(model, Submission):
        return
    if not (callable(getattr(model, "encode", None)) and callable(getattr(model, "decode", None))):
        raise TypeError(
            f"{type(model).__name__} needs encode(x) -> (mu, log_var) and decode(z) -> logits"
        )


def _as_program(model: nn.Module) -> tuple[nn.Module, int]:
    """(module with forward(x, eps), latent dim) for a course model or a submission."""
    _check_scorable(model)
    if isinstance(model, Submission):
        return model, model.latent_dim
    device = next(model.parameters()).device
    probe = torch.zeros(2, 1, 28, 28, device=device)
    return _ElboProgram(model), _latent_dim_of(model, probe)


def negative_elbo(model: nn.Module, images: Tensor, seed: int = 0) -> float:
    """Average negative ELBO (nats per image) of ``images`` (N, 1, 28, 28) in [0, 1].

    −ELBO(x) = Σ_pixels BCE(logits, x) + KL(N(mu, diag exp(log_var)) ‖ N(0, I)), with one
    z = mu + exp(log_var / 2)·ε per image and ε drawn from a generator seeded by ``seed``
    (the same noise for every submission); the terms are those of
    :func:`vae_course.losses.elbo`. ValueError if the outputs have the wrong shapes or are
    not finite. Used in 09_olympiad_practice (the contest's grader).
    """
    program, latent_dim = _as_program(model)
    images = torch.as_tensor(images, dtype=torch.float32)
    generator = torch.Generator().manual_seed(int(seed))
    eps_all = torch.randn(images.shape[0], latent_dim, generator=generator)
    was_training = model.training
    model.eval()
    device = next(iter(program.parameters()), torch.zeros(0)).device
    total = 0.0
    try:
        with torch.no_grad():
            for start in range(0, images.shape[0], _EVAL_BATCH):
                x = images[start : start + _EVAL_BATCH].to(device)
                eps = eps_all[start : start + _EVAL_BATCH].to(device)
                out = program(x, eps)
                if not (isinstance(out, tuple | list) and len(out) == 3):
                    raise ValueError("the model must give (logits, mu, log_var)")
                logits, mu, log_var = (t.float() for t in out)
                if logits.shape != x.shape or mu.shape != eps.shape or log_var.shape != eps.shape:
                    raise ValueError(
                        f"output shapes {tuple(logits.shape)}, {tuple(mu.shape)}, "
                        f"{tuple(log_var.shape)} do not match images {tuple(x.shape)} and a "
                        f"latent of size {latent_dim}"
                    )
                total -= float(losses.elbo(x, logits, mu, log_var).elbo.sum())
    finally:
        model.train(was_training)
    value = total / images.shape[0]
    if not math.isfinite(value):
        raise ValueError("the negative ELBO is not finite (NaN or inf in the model's outputs)")
    return value


def held_out(split: str = "public", task: ContestTask = TASK) -> Tensor:
    """The images of one held-out half of the test split: "public" or "private".

    The test split of ``task.dataset`` is shuffled with ``task.split_seed``; the first half
    is public, the rest private. (In fast mode the test split itself is smaller.)
    Used in 09_olympiad_practice (the contest task).
    """
    if split not in SPLITS:
        raise ValueError(f"split must be 'public' or 'private', got {split!r}")
    from vae_course.data import load_dataset

    images = load_dataset(task.dataset, "test").images
    order = torch.randperm(
        images.shape[0], generator=torch.Generator().manual_seed(task.split_seed)
    )
    half = images.shape[0] // 2
    return images[order[:half] if split == "public" else order[half:]]


@dataclass
class ContestResult:
    """A verdict, the 0–100 score and the measurements behind it.

    ``metrics`` and ``scores`` map each evaluated split to its negative ELBO and score;
    ``score`` is the final one (private when evaluated, else public; 0 unless ``OK``).
    Used in 09_olympiad_practice (the contest task).
    """

    verdict: str
    metrics: dict[str, float] = field(default_factory=dict)
    scores: dict[str, float] = field(default_factory=dict)
    parameters: int | None = None
    seconds: float | None = None
    message: str = ""
    task: ContestTask = TASK

    @property
    def ok(self) -> bool:
        return self.verdict == OK

    @property
    def score(self) -> float:
        """The final score: private if evaluated, else public; 0 for any other verdict."""
        if not self.ok:
            return 0.0
        for split in ("private", "public"):
            if split in self.scores:
                return self.scores[split]
        return 0.0

    def _lines(self) -> list[str]:
        lines = []
        if self.parameters is not None:
            lines.append(f"parameters: {self.parameters:,} (budget {self.task.max_parameters:,})")
        if self.seconds is not None:
            lines.append(f"time: {self.seconds:.1f} s (limit {self.task.time_limit_s:g} s)")
        for split, value in self.metrics.items():
            lines.append(
                f"{split}: negative ELBO {value:.2f} nats/image → score "
                f"{self.scores.get(split, 0.0):.1f}"
            )
        if self.message:
            lines.append(self.message)
        return lines

    def headline(self) -> str:
        return f"{self.task.name}: {self.verdict}, score {self.score:.1f} / 100"

    def __str__(self) -> str:
        return "\n".join([self.headline(), *(f"  {line}" for line in self._lines())])

    __repr__ = __str__

    def _repr_html_(self) -> str:
        from vae_course.drills.display import box_html

        style = "passed" if self.ok else "failed"
        return box_html(style, self.headline(), bullets=self._lines())


def score(
    model: nn.Module,
    split: str | tuple[str, ...] = "public",
    *,
    seconds: float | None = None,
    task: ContestTask = TASK,
) -> ContestResult:
    """Judge ``model`` (a VAE with encode/decode, or a loaded :class:`Submission`).

    ``split``: "public", "private" or both as a tuple. ``seconds``: the training time, if
    known (over ``task.time_limit_s`` gives "time limit"). Over the parameter budget gives
    "over budget"; outputs of the wrong shape, or not finite, "presentation error". Every
    verdict but OK scores 0. Never raises for a bad model.
    Used in 09_olympiad_practice (the contest task).
    """
    splits = (split,) if isinstance(split, str) else tuple(split)
    for name in splits:
        if name not in SPLITS:
            raise ValueError(f"split must be 'public' or 'private', got {name!r}")
    try:
        _check_scorable(model)
        count = parameter_count(model)
    except TypeError as error:
        return ContestResult(PRESENTATION_ERROR, message=str(error), task=task)
    if seconds is not None and seconds > task.time_limit_s:
        return ContestResult(
            TIME_LIMIT,
            parameters=count,
            seconds=seconds,
            message=f"training took {seconds:.1f} s, over the {task.time_limit_s:g} s limit",
            task=task,
        )
    if count > task.max_parameters:
        return ContestResult(
            OVER_BUDGET,
            parameters=count,
            seconds=seconds,
            message=f"{count:,} parameters, over the budget of {task.max_parameters:,}",
            task=task,
        )
    metrics: dict[str, float] = {}
    try:
        for name in splits:
            metrics[name] = negative_elbo(model, held_out(name, task), seed=task.eval_seed)
    except Exception as error:  # noqa: BLE001 - a model that fails here is the learner's
        return ContestResult(
            PRESENTATION_ERROR,
            parameters=count,
            seconds=seconds,
            message=f"the grader could not evaluate the model: {str(error)[:300]}",
            task=task,
        )
    scores = {name: ramp(value, task.baseline, task.reference) for name, value in metrics.items()}
    return ContestResult(OK, metrics, scores, count, seconds, task=task)


def timed_training(
    train: Callable[[], nn.Module],
    *,
    task: ContestTask = TASK,
    clock: Callable[[], float] = time.monotonic,
    split: str | tuple[str, ...] = "public",
) -> ContestResult:
    """Run ``train()`` (which returns the trained model), time it with ``clock``, and score.

    An exception from ``train`` gives "runtime error"; taking longer than
    ``task.time_limit_s`` gives "time limit" (0 points). The limit is checked when ``train``
    returns (use :func:`run_submission` for a hard stop).
    Used in 09_olympiad_practice (the contest task).
    """
    start = float(clock())
    try:
        model = train()
    except Exception as error:  # noqa: BLE001 - any failure of the learner's code is a verdict
        return ContestResult(
            RUNTIME_ERROR,
            seconds=float(clock()) - start,
            message=f"{type(error).__name__}: {str(error)[:300]}",
            task=task,
        )
    return score(model, split, seconds=float(clock()) - start, task=task)


# ----------------------------------------------------------------------------- submissions


def save_submission(
    model: nn.Module, path: str | os.PathLike | None = None, task: ContestTask = TASK
) -> Path:
    """Save ``model`` (encode(x) -> (mu, log_var), decode(z) -> logits) for the grader.

    The model is exported with ``torch.export`` (batch size free) so the grader can load it
    without your code; the file is ``task.submission_file`` in the current directory unless
    ``path`` is given. ValueError with the reason if the model cannot be exported.
    Used in 09_olympiad_practice (the contest task).
    """
    _check_scorable(model)
    if isinstance(model, Submission):
        raise TypeError("this is already a loaded submission; save the original model")
    target = Path(path if path is not None else task.submission_file)
    model = copy.deepcopy(model).cpu().eval()
    x = torch.rand(4, 1, 28, 28)
    latent_dim = _latent_dim_of(model, x)
    eps = torch.randn(4, latent_dim)
    batch = torch.export.Dim("batch", min=1)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            exported = torch.export.export(
                _ElboProgram(model),
                (x, eps),
                dynamic_shapes={"x": {0: batch}, "eps": {0: batch}},
            )
    except Exception as error:  # noqa: BLE001 - explain, whatever export objects to
        raise ValueError(
            "torch.export could not export the model (keep encode/decode free of Python "
            f"branches on tensor values): {type(error).__name__}: {str(error)[:300]}"
        ) from error
    meta = {"format": SUBMISSION_FORMAT, "task": task.name, "latent_dim": latent_dim}
    from vae_course.storage import atomic_write_bytes

    with tempfile.TemporaryDirectory() as tmp:
        staged = Path(tmp) / "submission.pt2"
        torch.export.save(exported, staged, extra_files={"meta.json": json.dumps(meta)})
        atomic_write_bytes(target, staged.read_bytes())
    return target


def load_submission(path: str | os.PathLike) -> Submission:
    """Load a file written by :func:`save_submission`; ValueError if it is not one.
    Used in 09_olympiad_practice (the contest task).
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"no submission file at {path}")
    extra = {"meta.json": ""}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            exported = torch.export.load(path, extra_files=extra)
        meta = json.loads(extra["meta.json"] or "{}")
        latent_dim = int(meta["latent_dim"])
    except Exception as error:  # noqa: BLE001 - a damaged or foreign file
        raise ValueError(
            f"{path.name} is not a submission saved with contest.save_submission "
            f"({type(error).__name__}: {str(error)[:200]})"
        ) from error
    count = sum(t.numel() for t in exported.state_dict.values() if t.is_floating_point())
    count += sum(
        t.numel()
        for t in exported.constants.values()
        if isinstance(t, Tensor) and t.is_floating_point()
    )
    return Submission(exported.module(), latent_dim, count)


def _execute(
    notebook: Any, workdir: Path, env: dict[str, str], limit: float
) -> tuple[str, str, float]:
    """Run every cell in a fresh kernel; (verdict, message, seconds from the first cell)."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    started: list[float] = []

    def remaining(cell: Any) -> int:
        if not started:
            started.append(time.monotonic())
        return max(1, math.ceil(limit - (time.monotonic() - started[0])))

    quiet = logging.getLogger("vae_course.contest.grader")
    quiet.addHandler(logging.NullHandler())
    quiet.propagate = False  # the verdict reports timeouts; no log lines in the caller's console
    client = NotebookClient(
        notebook,
        timeout_func=remaining,
        kernel_name="python3",
        resources={"metadata": {"path": str(workdir)}},
        allow_errors=False,
        log=quiet,
    )
    verdict, message = OK, ""
    try:
        # The kernel's own log lines (and its complaints when stopped) stay out of the
        # caller's output.
        client.execute(
            env=env, cwd=str(workdir), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
    except CellTimeoutError:
        verdict, message = TIME_LIMIT, f"the notebook did not finish within {limit:g} s"
    except CellExecutionError as error:
        name = getattr(error, "ename", "") or "error"
        value = str(getattr(error, "evalue", "") or "").strip()
        verdict, message = RUNTIME_ERROR, f"a cell raised {name}: {value[:300]}"
    except DeadKernelError as error:
        verdict, message = RUNTIME_ERROR, f"the kernel died ({str(error)[:200]})"
    except Exception as error:  # noqa: BLE001 - e.g. a kernel that cannot start
        verdict, message = RUNTIME_ERROR, f"{type(error).__name__}: {str(error)[:300]}"
    seconds = time.monotonic() - started[0] if started else 0.0
    if verdict == OK and seconds > limit:
        verdict, message = TIME_LIMIT, f"the notebook took {seconds:.1f} s, over {limit:g} s"
    return verdict, message, seconds


def run_submission(
    notebook_path: str | os.PathLike,
    timeout: float | None = None,
    *,
    task: ContestTask = TASK,
    fresh_cache: bool = True,
) -> ContestResult:
    """Grade a notebook as a contest grader would, and return its :class:`ContestResult`.

    The notebook is copied to an empty temporary folder and executed there, top to bottom,
    in a fresh kernel (nbclient) with a time limit of ``timeout`` seconds (default
    ``task.time_limit_s``) counted from the first cell; with ``fresh_cache`` it also gets
    an empty ``VAE_COURSE_CACHE``, so no trained model is loaded from an earlier run. Then
    the file the notebook saved (``task.submission_file``) is loaded and scored on the
    public and private splits.
    Used in 09_olympiad_practice (the contest task).
    """
    import nbformat

    path = Path(notebook_path)
    if not path.is_file():
        raise ValueError(f"no notebook at {path}")
    try:
        notebook = nbformat.read(path, as_version=4)
    except Exception as error:  # noqa: BLE001 - not JSON, not a notebook
        raise ValueError(f"{path} is not a readable notebook: {error}") from error
    limit = positive_number(
        task.time_limit_s if timeout is None else timeout, "timeout (in seconds)"
    )
    task = task.with_limits(time_limit_s=limit)
    workdir = Path(tempfile.mkdtemp(prefix="vae-contest-"))
    try:
        env = dict(os.environ)
        env["MPLBACKEND"] = "Agg"
        if fresh_cache:
            env["VAE_COURSE_CACHE"] = str(workdir / ".cache")
        verdict, message, seconds = _execute(notebook, workdir, env, limit)
        if verdict != OK:
            return ContestResult(verdict, seconds=seconds, message=message, task=task)
        target = workdir / task.submission_file
        if not target.is_file():
            return ContestResult(
                PRESENTATION_ERROR,
                seconds=seconds,
                message=f"the notebook ran but saved no {task.submission_file} "
                "(end it with contest.save_submission(model))",
                task=task,
            )
        try:
            submission = load_submission(target)
        except ValueError as error:
            return ContestResult(PRESENTATION_ERROR, seconds=seconds, message=str(error), task=task)
        return score(submission, SPLITS, seconds=seconds, task=task)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


__all__ = [
    "OK",
    "OVER_BUDGET",
    "PRESENTATION_ERROR",
    "RUNTIME_ERROR",
    "SPLITS",
    "TASK",
    "TIME_LIMIT",
    "VERDICTS",
    "ContestResult",
    "ContestTask",
    "Submission",
    "held_out",
    "load_submission",
    "negative_elbo",
    "parameter_count",
    "ramp",
    "run_submission",
    "save_submission",
    "score",
    "timed_training",
]
