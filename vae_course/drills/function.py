"""Function drills: a learner's function compared with the package's on seeded probes.

Observing (:meth:`FunctionDrill.record`): the function is called on fresh copies of each
probe's inputs; each call becomes an :class:`~vae_course.drills.observation.Outcome`
(values in float64, shape, dtype, device, gradient flow, gradients with respect to the
inputs that must be differentiable, which inputs it modified in place). A probe of group
"random" that fails stops the observation (essential); "edge" probes are secondary. A
drill may record raw ``measurements`` of its own (e.g. the statistics of a stochastic
function's output) and run the function once on another device (CUDA when there is one,
else PyTorch's data-less ``meta`` device) to catch tensors created on the CPU.

Judging (:meth:`FunctionDrill.compare`, on data only): the output spec's problems and
notes, values (``allclose``), gradients, traits derived from the measurements, dtype,
device, in-place changes and edge cases. See :mod:`~vae_course.drills.code_drill` for the
score and the mistake catalogue.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import torch

from vae_course._source import source_of

from . import warmup
from .code_drill import CodeDrill
from .observation import (
    RANDOM,
    Observation,
    Outcome,
    Probe,
    clone_args,
    describe_kind,
    equal_tensors,
    failed,
    kind_of,
    same_values,
    summarize,
    tensor_leaves,
)
from .outputs import OutputSpec
from .timed import TimedCalls

DEVICE_PROBE = "__device__"


def device_for_check() -> str:
    """The device of the device check ("cuda" when usable, else "meta"), warmed up first."""
    warmup.wait()
    return warmup.check_device()


@dataclass(eq=False, kw_only=True)
class FunctionDrill(CodeDrill):
    """A function compared with the package's reference on seeded probes.

    ``make_probes()`` builds the inputs; ``output`` says what must come back (None for a
    harness drill that judges its outcomes with ``problems``);
    ``arg_names`` name the arguments in messages; ``invoke(fn, *args, **kwargs)`` (optional)
    calls the function (e.g. once per step, or inside a harness that builds a model).

    Stochastic functions (``compare_values=False``): ``measure(fn, calls)`` records raw
    numbers in the learner's process, ``traits(measurements)`` turns them into facts that
    must equal the reference's (in the judge), and ``trait_problems(mine, reference)``
    words the differences. ``problems(learner, reference)`` (optional) replaces the generic
    comparison of outcomes by the drill's own, for harness drills such as a training step.
    """

    kind: ClassVar[str] = "function"

    make_probes: Callable[[int], list[Probe]]
    output: OutputSpec | None
    arg_names: tuple[str, ...]
    invoke: Callable[..., Any] | None = None
    compare_values: bool = True
    rtol: float = 1e-4
    atol: float = 1e-4
    wrong_values: str = "Its values are wrong on random inputs."
    measure: Callable[[Any, TimedCalls, int], dict[str, Any]] | None = None
    traits: Callable[[dict[str, Any], int], dict[str, Any]] | None = None
    trait_problems: Callable[[dict, dict], list[str]] | None = None
    problems: Callable[[Observation, Observation], tuple[list[str], list[str]]] | None = None
    device_check: bool = True
    _probes: dict[int, list[Probe]] = field(default_factory=dict, init=False, repr=False)

    def probes(self, seed: int = 0) -> list[Probe]:
        """The probes of ``seed`` (built once per seed). The notebook's checks use seed 0;
        the classroom grader draws a secret seed, so no answer can be tuned to the probes."""
        if seed not in self._probes:
            self._probes[seed] = self.make_probes(seed)
        return self._probes[seed]

    def answer_problem(self, answer: Any) -> str | None:
        if not callable(answer):
            return (
                f"Expected your function `{self.answer_name}` itself (no parentheses), got "
                f"{describe_kind(kind_of(answer))}."
            )
        return None

    # -- observing ------------------------------------------------------------------

    def _call(self, fn: Any, args: tuple, kwargs: dict) -> Any:
        if self.invoke is not None:
            return self.invoke(fn, *args, **kwargs)
        return fn(*args, **kwargs)

    def run_probe(
        self, fn: Any, probe: Probe, calls: TimedCalls, device: str | None = None
    ) -> Outcome:
        """Call ``fn`` on a fresh copy of the probe's inputs and summarise what happened."""
        differentiable = self.output is not None and self.output.differentiable
        grad_args = probe.grad_args if differentiable and device is None else ()
        args = clone_args(probe.args, grad_args, device)
        originals = clone_args(probe.args, (), device) if device is None else None
        call = calls.call(self._call, fn, args, probe.kwargs)
        if not call.ok:
            outcome = failed(call)
            outcome.on_device = device or ""
            return outcome
        value = call.value
        outcome = summarize(value)
        outcome.call = call
        outcome.on_device = device or ""
        if originals is not None:
            outcome.mutated = tuple(
                self.arg_names[i] if i < len(self.arg_names) else f"argument {i + 1}"
                for i, (now, before) in enumerate(zip(args, originals, strict=True))
                if isinstance(now, torch.Tensor) and not equal_tensors(now, before)
            )
        if grad_args:
            self._gradients(outcome, value, args, grad_args, calls)
        return outcome

    def _gradients(
        self,
        outcome: Outcome,
        value: Any,
        args: tuple,
        grad_args: tuple[int, ...],
        calls: TimedCalls,
    ) -> None:
        leaves = [t for t in tensor_leaves(value) if t.requires_grad and t.is_floating_point()]
        if not leaves:
            outcome.grads = None
            return
        inputs = [args[i] for i in grad_args]
        generator = torch.Generator().manual_seed(1234)
        weights = [
            torch.rand(t.shape, generator=generator, dtype=torch.float64) + 0.5 for t in leaves
        ]

        def backward() -> tuple:
            total = sum(
                (t.double() * w.to(t.device)).sum() for t, w in zip(leaves, weights, strict=True)
            )
            return torch.autograd.grad(total, inputs, allow_unused=True)

        call = calls.call(backward)
        if not call.ok:
            outcome.grad_error = call.describe("Back-propagating through your output")
            outcome.grads = None
            return
        outcome.grads = tuple(
            None if g is None else g.detach().to("cpu", torch.float64).numpy().reshape(-1)
            for g in call.value
        )

    def record(self, fn: Any, calls: TimedCalls, *, full: bool, seed: int) -> Observation:
        obs = Observation(source=source_of(fn))
        for probe in self.probes(seed):
            if not full and probe.group != RANDOM:
                continue
            outcome = self.run_probe(fn, probe, calls)
            obs.outcomes[probe.name] = outcome
            if outcome.failed_call:
                if outcome.call is not None and outcome.call.not_implemented:
                    obs.not_attempted = True
                    return obs
                if probe.group == RANDOM:
                    obs.stopped = outcome
                    return obs
        if self.measure is not None:
            obs.measurements = self.measure(fn, calls, seed)
            if obs.measurements.get("not_attempted"):
                obs.not_attempted = True
                return obs
        if full and self.device_check and self.output is not None and self.output.tensor_output:
            random_probes = [p for p in self.probes(seed) if p.group == RANDOM]
            if random_probes:
                obs.outcomes[DEVICE_PROBE] = self.run_probe(
                    fn, random_probes[0], calls, device=device_for_check()
                )
        return obs

    # -- judging --------------------------------------------------------------------

    def derive(self, observation: Observation, seed: int) -> Observation:
        by_name = {p.name: p for p in self.probes(seed)}
        for name, outcome in observation.outcomes.items():
            probe = by_name.get(name)
            if probe is None or outcome.failed_call or self.output is None:
                continue
            outcome.problems = self.output.problems(outcome, probe)
            outcome.notes = [] if outcome.problems else self.output.notes(outcome, probe)
        if self.traits is not None and observation.measurements:
            observation.traits = self.traits(observation.measurements, seed)
        return observation

    def same_behaviour(self, learner: Observation, other: Observation, seed: int) -> bool:
        """Same outcome kinds, values (if compared), gradient flow and traits on random probes."""
        names = [p.name for p in self.probes(seed) if p.group == RANDOM]
        seen = False
        for name in names:
            a, b = learner.outcomes.get(name), other.outcomes.get(name)
            if a is None and b is None:
                continue
            if a is None or b is None or a.kind != b.kind:
                return False
            seen = True
            if a.failed_call:
                if a.error[:60] != b.error[:60]:
                    return False
                continue
            if self.compare_values and not same_values(a.values, b.values, self.rtol, self.atol):
                return False
            if a.requires_grad != b.requires_grad:
                return False
        if learner.traits or other.traits:
            return learner.traits == other.traits
        return seen

    def compare(
        self, learner: Observation, ref: Observation, seed: int
    ) -> tuple[list[str], list[str]]:
        """(essential problems, minor problems) of the learner's observation."""
        if learner.stopped is not None:
            return [_call_problem(learner.stopped)], []
        if self.problems is not None:
            return self.problems(learner, ref)
        essential: list[str] = []
        minor: list[str] = []
        probes = self.probes(seed)
        by_name = {p.name: p for p in probes}
        edge_failures: dict[str, str] = {}
        for name, outcome in learner.outcomes.items():
            if name == DEVICE_PROBE:
                continue
            probe = by_name[name]
            problems = self._probe_problems(outcome, ref.outcomes.get(name), probe)
            if probe.group == RANDOM:
                essential += problems
                if not problems:
                    minor += outcome.notes
                    if outcome.mutated:
                        minor.append(mutation_message(outcome.mutated))
                    minor += _dtype_problems(outcome)
            elif problems and probe.label not in edge_failures:
                edge_failures[probe.label] = problems[0]
        if learner.traits and ref.traits and learner.traits != ref.traits:
            essential += (
                self.trait_problems(learner.traits, ref.traits)
                if self.trait_problems
                else ["It does not behave like the contract on random inputs."]
            )
        if essential:
            return essential, minor
        for label, problem in edge_failures.items():
            advice = next((p.advice for p in probes if p.label == label and p.advice), "")
            problem = problem[0].lower() + problem[1:]
            minor.append(f"For {label}, {problem}" + (f" {advice}" if advice else ""))
        problem = device_problem(learner.outcomes.get(DEVICE_PROBE))
        if problem:
            minor.append(problem)
        return essential, minor

    def _probe_problems(
        self, outcome: Outcome, expected: Outcome | None, probe: Probe
    ) -> list[str]:
        if outcome.failed_call:
            return [_call_problem(outcome)]
        if outcome.problems:
            return outcome.problems
        if expected is None or expected.failed_call:
            return []
        problems: list[str] = []
        if self.compare_values:
            if outcome.values is None:
                return ["Its output cannot be read as numbers."]
            if not same_values(outcome.values, expected.values, self.rtol, self.atol):
                finite_ref = expected.values is not None and np.all(np.isfinite(expected.values))
                if finite_ref and not np.all(np.isfinite(outcome.values)):
                    return ["It returns inf or NaN."]
                return [self.wrong_values + _pattern(outcome.values, expected.values)]
        elif outcome.values is not None and not np.all(np.isfinite(outcome.values)):
            return ["It returns inf or NaN."]
        if probe.grad_args and self.output is not None and self.output.differentiable:
            problems += self._gradient_problems(outcome, expected, probe)
        return problems

    def _gradient_problems(self, outcome: Outcome, expected: Outcome, probe: Probe) -> list[str]:
        names = [self.arg_names[i] for i in probe.grad_args]
        if outcome.grad_error:
            return [outcome.grad_error]
        if outcome.grads is None:
            return [
                f"No gradient flows from its output back to {' and '.join(names)}: the result "
                "was cut from the autograd graph (`.detach()`, `.item()`, numpy, "
                "`torch.no_grad()`, or a new tensor built from numbers)."
            ]
        if expected.grads is None:
            return []
        for name, mine, theirs in zip(names, outcome.grads, expected.grads, strict=True):
            if theirs is None:
                continue
            if mine is None:
                return [
                    f"Its output does not depend on `{name}` through autograd "
                    "(was part of the computation detached or done in numpy?)."
                ]
            if not same_values(mine, theirs, 1e-3, 1e-4):
                return [
                    f"The values are right but the gradient with respect to `{name}` is not: "
                    "part of the computation is detached (`.detach()`, `.data`) or replaced "
                    "by a constant."
                ]
        return []


def _call_problem(outcome: Outcome) -> str:
    assert outcome.call is not None
    return outcome.call.describe()


def mutation_message(names: tuple[str, ...]) -> str:
    """The minor problem of a function that changes its inputs in place."""
    listed = " and ".join(f"`{n}`" for n in names)
    return (
        f"It modifies its input {listed} in place (e.g. `+=`, `.add_()`, `.pow_()`, "
        "`x[...] = ...`): the caller's tensor changes. Use out-of-place operations."
    )


def _dtype_problems(outcome: Outcome) -> list[str]:
    other = [d for d in outcome.dtypes if d != "float32"]
    if other:
        return [
            f"It returns {other[0]} for float32 inputs; keep float32 (avoid `.double()`, numpy "
            "and float64 constants)."
        ]
    return []


def device_problem(outcome: Outcome | None) -> str:
    """The minor problem of code that does not keep its inputs' device ('' when none)."""
    if outcome is None or not outcome.on_device:
        return ""
    device = outcome.on_device
    if outcome.failed_call:
        text = outcome.error.lower()
        if "device" in text and ("expected" in text or "same device" in text):
            return (
                f"It fails when the inputs live on another device ({device}): it creates a "
                "tensor on the CPU (e.g. `torch.randn(shape)` or `torch.zeros(n)`). Use "
                "`torch.randn_like(x)`, `torch.zeros_like(x)` or `device=x.device`."
            )
        return ""  # an operation the test device does not support: inconclusive
    wrong = [d for d in outcome.devices if not d.startswith(device)]
    if wrong:
        return (
            f"For inputs on {device} it returns a tensor on {wrong[0]}: keep the input's "
            "device (no `.cpu()`, use `torch.*_like` or `device=x.device`)."
        )
    return ""


def _pattern(mine: np.ndarray, ref: np.ndarray) -> str:
    """' (they differ by a constant factor)' and similar hints, without the values."""
    if mine.shape != ref.shape or mine.size < 2:
        return ""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = mine / ref
    usable = np.isfinite(ratio) & (np.abs(ref) > 1e-6)
    if usable.sum() >= 2:
        r = ratio[usable]
        if np.allclose(r, r[0], rtol=1e-3) and not math.isclose(r[0], 1.0, rel_tol=1e-3):
            if math.isclose(r[0], -1.0, rel_tol=1e-3):
                return " (they have the wrong sign)"
            return " (they are off by a constant factor)"
    return ""


__all__ = ["DEVICE_PROBE", "FunctionDrill", "device_for_check", "device_problem"]
