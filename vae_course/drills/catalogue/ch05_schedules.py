"""Chapter 05, KL annealing: ``cyclical_beta`` (implementation)."""

from __future__ import annotations

from typing import Any

from ..function import FunctionDrill
from ..observation import EDGE, Mistake, Probe
from ..outputs import ListOut, NumberOut

# (total_steps, n_cycles, ratio, beta_max); None = use the function's defaults
# T / M is not a whole number in the last three: there the cycles start at floor(c·T/M)
_CONFIGS = (
    ("four_cycles", (100, 4, 0.5, 1.0)),
    ("two_cycles_fast_ramp", (200, 2, 0.25, 1.0)),
    ("three_cycles_beta_half", (120, 3, 0.8, 0.5)),
    ("three_uneven_cycles", (70, 3, 0.5, 1.0)),
    ("four_uneven_cycles", (130, 4, 0.3, 2.0)),
    ("seven_uneven_full_ramps", (97, 7, 1.0, 1.0)),
)


def cyclical_probes(seed: int = 0) -> list[Probe]:
    """(steps, total_steps, n_cycles, ratio, beta_max) schedules; the defaults; edge cases.

    The seed shifts which steps are sampled, so the probes cannot be answered from a table.
    """
    start = seed % 2
    probes = [
        Probe(name, (list(range(start, total, 2)), total, n, ratio, beta_max))
        for name, (total, n, ratio, beta_max) in _CONFIGS
    ]
    probes += [
        Probe(
            "defaults",
            (list(range(0, 80, 2)), 80),
            group=EDGE,
            label="the default arguments (n_cycles=4, ratio=0.5, beta_max=1.0)",
            advice="Give the parameters the defaults of the contract.",
        ),
        Probe(
            "one_cycle",
            (list(range(0, 50)), 50, 1, 0.5, 1.0),
            group=EDGE,
            label="one cycle (n_cycles = 1)",
        ),
        Probe(
            "full_ramp",
            (list(range(0, 60, 2)), 60, 2, 1.0, 2.0),
            group=EDGE,
            label="ratio = 1 (a ramp over the whole cycle)",
        ),
    ]
    return probes


def invoke_per_step(fn: Any, steps: list[int], *args: Any) -> list[Any]:
    """Call ``fn(step, *args)`` for every step: the learner's function maps one step to β."""
    return [fn(step, *args) for step in steps]


def _cb_not_restarting(step, total_steps, n_cycles=4, ratio=0.5, beta_max=1.0):
    return beta_max * min(1.0, step / (total_steps * ratio))


def _cb_ratio_ignored(step, total_steps, n_cycles=4, ratio=0.5, beta_max=1.0):
    period = total_steps / n_cycles
    return beta_max * (step % period) / period


def _cb_decreasing(step, total_steps, n_cycles=4, ratio=0.5, beta_max=1.0):
    period = total_steps / n_cycles
    tau = (step % period) / period
    return beta_max * (1.0 - min(1.0, tau / ratio))


def _cb_beta_max_ignored(step, total_steps, n_cycles=4, ratio=0.5, beta_max=1.0):
    period = total_steps / n_cycles
    return min(1.0, ((step % period) / period) / ratio)


def _cb_ramp_at_end(step, total_steps, n_cycles=4, ratio=0.5, beta_max=1.0):
    period = total_steps / n_cycles
    tau = (step % period) / period
    return beta_max * max(0.0, (tau - (1 - ratio)) / ratio)


def _cb_cycle_count_as_length(step, total_steps, n_cycles=4, ratio=0.5, beta_max=1.0):
    period = n_cycles
    return beta_max * min(1.0, ((step % period) / period) / ratio)


def _cb_real_valued_restart(step, total_steps, n_cycles=4, ratio=0.5, beta_max=1.0):
    period = total_steps / n_cycles
    tau = (step % period) / period
    return beta_max * min(1.0, tau / ratio)


def _cb_period_rounded(step, total_steps, n_cycles=4, ratio=0.5, beta_max=1.0):
    period = total_steps // n_cycles
    return beta_max * min(1.0, (step % period) / (ratio * period))


CYCLICAL_MISTAKES = (
    Mistake(
        "not_restarting",
        _cb_not_restarting,
        "β rises once and never restarts: within each of the n_cycles cycles, β must go "
        "back to 0 (use the position inside the current cycle, step mod cycle length).",
    ),
    Mistake(
        "ratio_ignored",
        _cb_ratio_ignored,
        "β rises over the whole cycle: the ramp should last only the first `ratio` of "
        "each cycle, then β stays at beta_max.",
    ),
    Mistake(
        "decreasing",
        _cb_decreasing,
        "β decreases within each cycle; it should rise from 0 to beta_max.",
    ),
    Mistake(
        "beta_max_ignored",
        _cb_beta_max_ignored,
        "β reaches 1 whatever beta_max is: scale the schedule by beta_max.",
    ),
    Mistake(
        "ramp_at_end",
        _cb_ramp_at_end,
        "The ramp sits at the end of each cycle; in Fu et al.'s schedule β rises at the "
        "start of each cycle and then stays flat.",
    ),
    Mistake(
        "cycle_count_as_length",
        _cb_cycle_count_as_length,
        "n_cycles is used as the length of a cycle; the cycle length is total_steps / n_cycles.",
    ),
    Mistake(
        "real_valued_restart",
        _cb_real_valued_restart,
        "Your cycles restart at the real number c·T/M (step mod T/M), one step late whenever "
        "T/M is not a whole number. Fu et al.'s reference code starts cycle c at step "
        "floor(c·T/M) and counts the steps i since then: β = beta_max · min(1, i / (ratio·T/M)).",
    ),
    Mistake(
        "period_rounded",
        _cb_period_rounded,
        "The cycle length is rounded to a whole number (T // M): when T/M is not whole the "
        "cycles drift and an extra cycle starts at the end. Keep the real length P = T/M, "
        "start cycle c at floor(c·P) and ramp over ratio·P steps.",
    ),
)

CYCLICAL_BETA = FunctionDrill(
    id="cyclical_beta",
    chapter="05",
    title="Cyclical KL annealing",
    answer_name="cyclical_beta",
    prompt=(
        "Implement `cyclical_beta(step, total_steps, n_cycles=4, ratio=0.5, beta_max=1.0) "
        "-> float` (Fu et al. 2019): cut the T = `total_steps` training steps into "
        "M = `n_cycles` cycles of real length P = T / M. Cycle c (c = 0, …, M − 1) starts at "
        "step floor(c·P), as in Fu et al.'s reference code, so when P is not a whole number "
        "the cycles differ in length by one step. With i = step − floor(c·P) the steps since "
        "the current cycle began, β = beta_max · min(1, i / (ratio·P)): a linear rise over the "
        "first `ratio` of the cycle, then flat at `beta_max`. `step` counts from 0 and is "
        "below total_steps. Return a Python float."
    ),
    hints=(
        "The cycle length is P = total_steps / n_cycles (a float). The cycles start at the "
        "steps `math.floor(c * P)` for c in range(n_cycles); the current one is the last "
        "start that is ≤ step.",
        "With i = step − start, β = beta_max · min(1, i / (ratio · P)).",
        "Check a case where P is not whole: T = 10, M = 3, ratio 0.5 gives starts 0, 3, 6 and "
        "β = 0, 0.6, 1, 0, 0.6, 1, 0, 0.6, 1, 1.",
    ),
    solution=(
        "Restarting β lets the model re-learn to use z each time the KL weight is low, which "
        "fights posterior collapse.\n\n"
        "```python\n"
        "import math\n\n"
        "def cyclical_beta(step, total_steps, n_cycles=4, ratio=0.5, beta_max=1.0):\n"
        "    period = total_steps / n_cycles\n"
        "    starts = [math.floor(c * period) for c in range(n_cycles)]\n"
        "    start = max(s for s in starts if s <= step)\n"
        "    return float(beta_max * min(1.0, (step - start) / (ratio * period)))\n"
        "```\n\n"
        "The step-mod-P formula τ = (step mod P) / P agrees with this only when P is a whole "
        "number; otherwise it restarts one step late.\n\n"
        "The package's version is `vae_course.schedules.cyclical_beta` (and the schedule "
        "object `vae_course.schedules.Cyclical`)."
    ),
    reference_name="vae_course.schedules:cyclical_beta",
    mistakes=CYCLICAL_MISTAKES,
    make_probes=cyclical_probes,
    output=ListOut(NumberOut()),
    arg_names=("step", "total_steps", "n_cycles", "ratio", "beta_max"),
    invoke=invoke_per_step,
    rtol=1e-6,
    atol=1e-6,
    device_check=False,
    wrong_values="Its β values are wrong over the steps of a schedule.",
    success="All checks passed: the right β at every step, for several schedules and the defaults.",
)

DRILLS = (CYCLICAL_BETA,)
