"""KL-weight (beta) schedules and free bits.

A schedule is a callable ``schedule(step) -> beta`` of the global optimisation step
(an int counted from 0). Every schedule also has

* ``kl_term(kl, step) -> scalar``: the KL part of the loss at that step. For the
  beta schedules it is ``beta(step) * mean_b(kl)``; :class:`CapacityAnnealing` overrides it
  with ``gamma * |mean_b(kl) - C(step)|``. A training loop that always writes
  ``loss = -mean_b(reconstruction) + schedule.kl_term(kl, step)`` handles every schedule;
* ``values(total_steps) -> list[float]``: beta at steps 0..total_steps-1, for plots.

:func:`as_schedule` turns a float into :class:`Constant` (and returns schedules unchanged).
:func:`free_bits_kl` replaces ``mean_b(kl)`` by a KL with a floor per latent dimension.
"""

from __future__ import annotations

import math
from numbers import Real

import torch
from torch import Tensor

from vae_course._checks import finite_number, integer, positive_int

__all__ = [
    "BetaSchedule",
    "CapacityAnnealing",
    "Constant",
    "Cyclical",
    "LinearWarmup",
    "SigmoidAnnealing",
    "as_schedule",
    "cyclical_beta",
    "free_bits_kl",
]


# ----------------------------------------------------------------------------- checks


def _step(step: object) -> int:
    if isinstance(step, Tensor) and step.numel() == 1:
        step = int(step.item())
    return integer(step, "step (the 0-based global step)", minimum=0)


def _batch_mean_kl(kl: object) -> Tensor:
    if isinstance(kl, Real) and not isinstance(kl, bool):
        return torch.tensor(float(kl))
    if not isinstance(kl, Tensor):
        raise TypeError(f"kl must be a tensor (B,) or a scalar, got {type(kl).__name__}")
    if kl.dim() > 1:
        raise ValueError(
            f"kl must be the per-example KL (B,) or its batch mean (a scalar), got shape "
            f"{tuple(kl.shape)}; sum over latent dimensions first"
        )
    return kl.mean()


# ----------------------------------------------------------------------------- schedules


class BetaSchedule:
    """Base class: ``__call__(step) -> beta``, ``kl_term(kl, step)``, ``values(total_steps)``.
    The base of the schedules of 05_kl_annealing.
    """

    def __call__(self, step: int) -> float:
        return self.beta(_step(step))

    def beta(self, step: int) -> float:  # pragma: no cover - abstract
        """beta at an already validated step; each schedule implements its formula here."""
        raise NotImplementedError

    def kl_term(self, kl: Tensor | float, step: int) -> Tensor:
        """The KL part of the loss at ``step``: beta(step) * mean_b(kl), a scalar tensor.

        ``kl`` is the per-example KL (B,) (or its batch mean, or the scalar returned by
        :func:`free_bits_kl`).
        """
        return self(step) * _batch_mean_kl(kl)

    def values(self, total_steps: int) -> list[float]:
        """[beta(0), beta(1), ..., beta(total_steps - 1)] for plotting."""
        return [self(s) for s in range(integer(total_steps, "total_steps", minimum=0))]

    def _fields(self) -> dict[str, object]:
        return {}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._fields().items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self._fields() == other._fields()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self).__name__, tuple(self._fields().items())))


class Constant(BetaSchedule):
    """beta(step) = beta for every step (beta = 1: the plain ELBO; beta > 1: a beta-VAE).
    Used in 05_kl_annealing.
    """

    def __init__(self, beta: float = 1.0) -> None:
        self.beta_value = finite_number(beta, "beta", minimum=0)

    def beta(self, step: int) -> float:
        return self.beta_value

    def _fields(self) -> dict[str, object]:
        return {"beta": self.beta_value}


class LinearWarmup(BetaSchedule):
    """beta(step) = beta_max * min(1, step / warmup_steps): 0 at step 0, beta_max from then on.

    ``warmup_steps = 0`` means no warm-up (beta_max from step 0).
    Used in 05_kl_annealing and 06_posterior_collapse.
    """

    def __init__(self, warmup_steps: int, beta_max: float = 1.0) -> None:
        self.warmup_steps = integer(warmup_steps, "warmup_steps", minimum=0)
        self.beta_max = finite_number(beta_max, "beta_max", minimum=0)

    def beta(self, step: int) -> float:
        if self.warmup_steps == 0:
            return self.beta_max
        return self.beta_max * min(1.0, step / self.warmup_steps)

    def _fields(self) -> dict[str, object]:
        return {"warmup_steps": self.warmup_steps, "beta_max": self.beta_max}


class SigmoidAnnealing(BetaSchedule):
    """Logistic KL annealing (Bowman et al. 2016).

    beta(step) = beta_max / (1 + exp(-steepness * (step - midpoint))): beta_max / 2 at
    ``midpoint``. The default steepness 10 / midpoint makes beta(0) ~ 5e-5 * beta_max and
    beta(2 * midpoint) ~ (1 - 5e-5) * beta_max. (Bowman et al. used steepness 0.0025,
    midpoint 2500.)
    Used in 05_kl_annealing.
    """

    def __init__(
        self, midpoint: float, steepness: float | None = None, beta_max: float = 1.0
    ) -> None:
        self.midpoint = finite_number(midpoint, "midpoint", minimum=0, strict=True)
        if steepness is None:
            steepness = 10.0 / self.midpoint
        self.steepness = finite_number(steepness, "steepness", minimum=0, strict=True)
        self.beta_max = finite_number(beta_max, "beta_max", minimum=0)

    def beta(self, step: int) -> float:
        x = -self.steepness * (step - self.midpoint)
        if x > 700:  # exp would overflow; the value is 0 to double precision
            return 0.0
        return self.beta_max / (1.0 + math.exp(x))

    def _fields(self) -> dict[str, object]:
        return {"midpoint": self.midpoint, "steepness": self.steepness, "beta_max": self.beta_max}


def cyclical_beta(
    step: int, total_steps: int, n_cycles: int = 4, ratio: float = 0.5, beta_max: float = 1.0
) -> float:
    """Cyclical annealing (Fu et al. 2019) as a plain function of the step.

    The ``total_steps`` (T) are cut into ``n_cycles`` (M) cycles of real length P = T / M;
    cycle c starts at step floor(c·P), the index ``int(i + c * period)`` of Fu et al.'s
    reference code (``frange_cycle_linear``). With i = step - floor(c·P) the steps since the
    current cycle began: beta = beta_max * min(1, i / (R·P)), R = ``ratio``, i.e. a linear
    rise from 0 by beta_max / (R·P) per step, then flat at beta_max until the next cycle.
    When P is not an integer the cycles differ in length by one step. Steps past
    ``total_steps`` keep beta_max.
    Taught in 05_kl_annealing, Exercise 5.2.
    """
    step = _step(step)
    total_steps = positive_int(total_steps, "total_steps")
    n_cycles = positive_int(n_cycles, "n_cycles")
    if n_cycles > total_steps:
        raise ValueError(f"n_cycles ({n_cycles}) cannot exceed total_steps ({total_steps})")
    ratio = finite_number(ratio, "ratio", minimum=0, strict=True)
    if ratio > 1:
        raise ValueError(f"ratio must lie in (0, 1], got {ratio:g}")
    beta_max = finite_number(beta_max, "beta_max", minimum=0)
    if step >= total_steps:
        return beta_max
    period = total_steps / n_cycles
    start = max(s for s in (math.floor(c * period) for c in range(n_cycles)) if s <= step)
    return beta_max * min(1.0, (step - start) / (period * ratio))


class Cyclical(BetaSchedule):
    """Cyclical annealing (Fu et al. 2019): ``n_cycles`` ramps 0 -> beta_max over ``total_steps``.

    Cycle c of P = total_steps / n_cycles steps starts at step floor(c·P) (as in Fu et al.'s
    reference code); beta rises linearly from 0 to beta_max over its first ``ratio * P``
    steps, then stays at beta_max. After ``total_steps`` beta stays at beta_max.
    See :func:`cyclical_beta`.
    Used in 05_kl_annealing.
    """

    def __init__(
        self, total_steps: int, n_cycles: int = 4, ratio: float = 0.5, beta_max: float = 1.0
    ) -> None:
        cyclical_beta(0, total_steps, n_cycles, ratio, beta_max)  # validates the arguments
        self.total_steps = int(total_steps)
        self.n_cycles = int(n_cycles)
        self.ratio = float(ratio)
        self.beta_max = float(beta_max)

    def beta(self, step: int) -> float:
        return cyclical_beta(step, self.total_steps, self.n_cycles, self.ratio, self.beta_max)

    def _fields(self) -> dict[str, object]:
        return {
            "total_steps": self.total_steps,
            "n_cycles": self.n_cycles,
            "ratio": self.ratio,
            "beta_max": self.beta_max,
        }


class CapacityAnnealing(BetaSchedule):
    """Controlled capacity increase (Burgess et al. 2018, "Understanding disentangling in beta-VAE").

    loss = mean_b(-log p(x_b|z_b)) + gamma * |mean_b(KL_b) - C(step)|, with the target
    capacity C(step) = c_max * min(1, step / total_steps) rising linearly from 0 to ``c_max``
    nats. The KL is pulled towards C, not towards 0. (Burgess et al.: c_max = 25 nats,
    gamma = 1000 on dSprites.)

    Use :meth:`kl_term` for the loss (``__call__`` returns gamma, the weight on the KL
    deviation, so a curve of "beta" shows gamma); :meth:`capacity` gives C(step).
    Used in 07_beta_vae.
    """

    def __init__(self, c_max: float, gamma: float, total_steps: int) -> None:
        self.c_max = finite_number(c_max, "c_max", minimum=0)
        self.gamma = finite_number(gamma, "gamma", minimum=0)
        self.total_steps = positive_int(total_steps, "total_steps")

    def beta(self, step: int) -> float:
        return self.gamma

    def capacity(self, step: int) -> float:
        """C(step) = c_max * min(1, step / total_steps), in nats."""
        return self.c_max * min(1.0, _step(step) / self.total_steps)

    def kl_term(self, kl: Tensor | float, step: int) -> Tensor:
        """gamma * |mean_b(kl) - C(step)|, a scalar tensor (the batch mean is taken first).

        ``kl`` is the per-example KL (B,), summed over latent dims, or its batch mean.
        """
        return self.gamma * (_batch_mean_kl(kl) - self.capacity(step)).abs()

    def values(self, total_steps: int) -> list[float]:
        """[C(0), ..., C(total_steps - 1)]: the capacity curve (the interesting one to plot)."""
        return [self.capacity(s) for s in range(integer(total_steps, "total_steps", minimum=0))]

    def _fields(self) -> dict[str, object]:
        return {"c_max": self.c_max, "gamma": self.gamma, "total_steps": self.total_steps}


def as_schedule(beta: float | BetaSchedule | object) -> BetaSchedule:
    """A float becomes :class:`Constant` (beta); a :class:`BetaSchedule` is returned as is.

    Any other callable ``step -> beta`` is wrapped so it gains ``kl_term`` and ``values``.
    Used by fit (every chapter that passes beta); no chapter calls it.
    """
    if isinstance(beta, BetaSchedule):
        return beta
    if isinstance(beta, Real) and not isinstance(beta, bool):
        return Constant(float(beta))
    if callable(beta):
        return _FunctionSchedule(beta)
    raise TypeError(
        f"beta must be a number or a schedule (a callable step -> beta), got {type(beta).__name__}"
    )


class _FunctionSchedule(BetaSchedule):
    def __init__(self, fn) -> None:
        self.fn = fn

    def beta(self, step: int) -> float:
        value = self.fn(step)
        return finite_number(
            float(value) if isinstance(value, Tensor) else value, "beta(step)", minimum=0
        )

    def _fields(self) -> dict[str, object]:
        return {"fn": getattr(self.fn, "__name__", self.fn)}


# ----------------------------------------------------------------------------- free bits


def free_bits_kl(kl_per_dim: Tensor, free_bits: float) -> Tensor:
    """KL with free bits (Kingma et al. 2016): sum_j max(lambda, mean_b KL_bj), a scalar.

    ``kl_per_dim`` (B, d) is the KL of each example and latent dimension
    (:func:`vae_course.losses.kl_divergence_per_dim`); it is averaged over the batch
    **before** the max. A dimension whose average KL is below ``free_bits`` (lambda, nats)
    contributes the constant lambda and so receives no gradient: the optimiser gains nothing
    by pushing it further towards the prior. Use it in place of mean_b(KL_b) in the loss.
    Taught in 06_posterior_collapse, Exercise 6.2.
    """
    if not isinstance(kl_per_dim, Tensor):
        raise TypeError(f"kl_per_dim must be a tensor (B, d), got {type(kl_per_dim).__name__}")
    if kl_per_dim.dim() != 2:
        raise ValueError(
            f"kl_per_dim must be shaped (B, d) (one KL per example and latent dimension), "
            f"got {tuple(kl_per_dim.shape)}"
        )
    free_bits = finite_number(free_bits, "free_bits", minimum=0)
    return kl_per_dim.mean(dim=0).clamp(min=free_bits).sum()
