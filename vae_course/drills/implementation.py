"""Implementation drills: property checks on random and edge-case inputs + a mistake catalogue.

How a learner's function is judged (:class:`FunctionDrill`):

1. It is called on a few seeded random *probes* (inputs built with a fixed
   ``torch.Generator``, so the checker is deterministic) inside a time-limited sandbox, and
   its output is compared with the package's reference implementation: type and shape,
   values (``allclose`` in float64), and gradients with respect to the inputs that must be
   differentiable. A failure here is *essential*: score 0.
2. On an essential failure the *mistake catalogue* is consulted: each entry is a wrong
   implementation (data) and a message. The learner's function matches an entry when it
   behaves like it on the same random probes (same kind of output, same values, same
   gradient flow, or an entry-specific matcher). The first match's message is shown.
3. Otherwise *secondary* properties are checked, each costing one point: float32 kept,
   device kept, inputs not modified in place, finite and right on edge cases (extreme
   values, batch size 1, one latent dimension).

Feedback describes what is wrong and never prints the expected tensor.
"""

from __future__ import annotations

import contextlib
import inspect
import math
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import torch

from . import warmup
from .core import FAILED, PASSED, Drill, NotAttempted, Result
from .sandbox import CallOutcome, Sandbox

RANDOM = "random"
EDGE = "edge"


@dataclass(frozen=True)
class Mistake:
    """A known wrong implementation and the message shown when a learner's code acts like it.

    ``matches(learner, this)`` (optional) replaces the default comparison of the two
    :class:`Observation` objects (e.g. "the output is constant").
    """

    id: str
    implementation: Any
    message: str
    matches: Callable[[Observation, Observation], bool] | None = None


@dataclass
class Probe:
    """One set of inputs. ``group`` is "random" (essential) or "edge" (secondary)."""

    name: str
    args: tuple
    kwargs: dict = field(default_factory=dict)
    group: str = RANDOM
    label: str = ""
    grad_args: tuple[int, ...] = ()
    advice: str = ""


@dataclass
class Outcome:
    """What one call of a function produced, reduced to comparable facts."""

    kind: str
    values: np.ndarray | None = None
    shape: Any = None
    dtypes: tuple[str, ...] = ()
    devices: tuple[str, ...] = ()
    requires_grad: tuple[bool, ...] = ()
    grads: tuple[np.ndarray | None, ...] | None = None
    grad_error: str = ""
    error: str = ""
    call: CallOutcome | None = None
    mutated: tuple[str, ...] = ()
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def failed_call(self) -> bool:
        return self.kind in ("error", "timeout")


@dataclass
class Observation:
    """Everything observed about one function: outcomes by probe name, and traits."""

    outcomes: dict[str, Outcome] = field(default_factory=dict)
    traits: dict[str, Any] = field(default_factory=dict)
    not_attempted: bool = False
    source: str = ""
    stopped: Outcome | None = None


# ----------------------------------------------------------------------------- helpers


@contextlib.contextmanager
def isolated() -> Iterator[None]:
    """Run checks with gradients on, and leave the learner's RNG state and dtype untouched."""
    default_dtype = torch.get_default_dtype()
    with torch.random.fork_rng(devices=[]), torch.enable_grad():
        try:
            yield
        finally:
            torch.set_default_dtype(default_dtype)


def source_of(obj: Any) -> str:
    """The source code of a function or class, or '' when it is not available."""
    try:
        return inspect.getsource(obj)
    except (OSError, TypeError):
        return ""


def tensor_leaves(value: Any) -> list[torch.Tensor]:
    """The tensors in a value (itself, or the items of a tuple/list)."""
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, tuple | list):
        return [leaf for item in value for leaf in tensor_leaves(item)]
    return []


def _kind(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        return "tensor"
    if isinstance(value, np.ndarray):
        return "ndarray"
    if value is None:
        return "none"
    if isinstance(value, bool | np.bool_):
        return "bool"
    if isinstance(value, int | np.integer):
        return "int"
    if isinstance(value, float | np.floating):
        return "number"
    if isinstance(value, tuple):
        return "tuple(" + ",".join(_kind(v) for v in value) + ")"
    if isinstance(value, list):
        return "list[" + ",".join(sorted({_kind(v) for v in value})) + "]"
    return "other"


def _values(value: Any) -> np.ndarray | None:
    """float64 flattened values, or None (not numeric, meta tensor...)."""
    try:
        if isinstance(value, torch.Tensor):
            if value.device.type == "meta" or value.is_complex():
                return None
            return value.detach().to("cpu", torch.float64).numpy().reshape(-1)
        if isinstance(value, np.ndarray):
            return value.astype(np.float64).reshape(-1)
        if isinstance(value, bool | np.bool_):
            return None
        if isinstance(value, int | float | np.integer | np.floating):
            return np.array([float(value)])
        if isinstance(value, tuple | list) and value:
            parts = [_values(v) for v in value]
            if any(p is None for p in parts):
                return None
            return np.concatenate(parts)
    except (TypeError, ValueError, RuntimeError):
        return None
    return None


def _shape(value: Any) -> Any:
    if isinstance(value, torch.Tensor | np.ndarray):
        return tuple(value.shape)
    if isinstance(value, tuple | list):
        return tuple(_shape(v) for v in value)
    return ()


def summarize(value: Any) -> Outcome:
    """An :class:`Outcome` for a returned value."""
    leaves = tensor_leaves(value)
    return Outcome(
        kind=_kind(value),
        values=_values(value),
        shape=_shape(value),
        dtypes=tuple(str(t.dtype).replace("torch.", "") for t in leaves),
        devices=tuple(str(t.device) for t in leaves),
        requires_grad=tuple(bool(t.requires_grad) for t in leaves),
    )


def same_values(a: np.ndarray | None, b: np.ndarray | None, rtol: float, atol: float) -> bool:
    """Same size and allclose (NaN equals NaN, inf equals inf)."""
    if a is None or b is None or a.shape != b.shape:
        return False
    with np.errstate(invalid="ignore", over="ignore"):
        return bool(np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True))


def clone_args(args: tuple, grad_args: tuple[int, ...] = (), device: str | None = None) -> tuple:
    """Fresh copies of the tensor arguments (leaves requiring grad for ``grad_args``)."""
    out = []
    for i, arg in enumerate(args):
        if isinstance(arg, torch.Tensor):
            copy = arg.detach().clone()
            if device is not None:
                copy = copy.to(device)
            if i in grad_args and copy.is_floating_point():
                copy.requires_grad_(True)
            out.append(copy)
        else:
            out.append(arg)
    return tuple(out)


def describe_kind(kind: str) -> str:
    """Readable words for an outcome kind."""
    words = {
        "tensor": "a tensor",
        "ndarray": "a numpy array (numpy cuts the gradient: stay in torch)",
        "none": "None (did you forget `return`?)",
        "int": "a Python int",
        "number": "a Python float",
        "bool": "a boolean",
        "other": "an object of another type",
    }
    if kind in words:
        return words[kind]
    if kind.startswith("tuple("):
        return f"a tuple of {kind.count(',') + 1} values"
    if kind.startswith("list["):
        return "a list"
    return kind


# ----------------------------------------------------------------------------- output specs


class OutputSpec:
    """What a function must return; :meth:`problems` (essential) and :meth:`notes` (minor)."""

    differentiable = False
    tensor_output = True

    def problems(self, value: Any, probe: Probe) -> list[str]:  # pragma: no cover - abstract
        raise NotImplementedError

    def notes(self, value: Any, probe: Probe) -> list[str]:
        return []


@dataclass
class TensorOut(OutputSpec):
    """A tensor whose shape is ``shape(probe)``; ``what`` names it in messages."""

    shape: Callable[[Probe], tuple[int, ...]]
    what: str = "one value per example"
    differentiable: bool = False

    def problems(self, value: Any, probe: Probe) -> list[str]:
        if not isinstance(value, torch.Tensor):
            return [f"It returns {describe_kind(_kind(value))}; return a torch tensor."]
        expected = tuple(self.shape(probe))
        if tuple(value.shape) != expected:
            return [
                f"It returns shape {tuple(value.shape)} for inputs of shape "
                f"{_input_shapes(probe)}; the contract is shape {expected} ({self.what})."
            ]
        return []


@dataclass
class ScalarOut(OutputSpec):
    """A one-element tensor (usually 0-dimensional), e.g. a loss."""

    what: str = "a scalar (the mean over the batch)"
    differentiable: bool = False

    def problems(self, value: Any, probe: Probe) -> list[str]:
        if not isinstance(value, torch.Tensor):
            return [f"It returns {describe_kind(_kind(value))}; return a scalar tensor."]
        if value.numel() != 1:
            return [
                f"It returns a tensor of shape {tuple(value.shape)}; the contract is {self.what}."
            ]
        return []


@dataclass
class TupleOut(OutputSpec):
    """A tuple of named parts, each with its own spec."""

    parts: tuple[tuple[str, OutputSpec], ...]
    differentiable: bool = False

    def problems(self, value: Any, probe: Probe) -> list[str]:
        names = ", ".join(name for name, _ in self.parts)
        if not isinstance(value, tuple | list) or len(value) != len(self.parts):
            return [
                f"It returns {describe_kind(_kind(value))}; return the {len(self.parts)} "
                f"values ({names}) as a tuple."
            ]
        problems = []
        for (name, spec), item in zip(self.parts, value, strict=True):
            problems += [f"`{name}`: {p}" for p in spec.problems(item, probe)]
        return problems


@dataclass
class NumberOut(OutputSpec):
    """A Python number (``integer=True``: an int). One-element tensors cost a point."""

    integer: bool = False
    tensor_output = False

    def problems(self, value: Any, probe: Probe) -> list[str]:
        if isinstance(value, torch.Tensor | np.ndarray):
            size = value.size if isinstance(value, np.ndarray) else value.numel()
            if size == 1:
                return []
            return [f"It returns an array of shape {tuple(value.shape)}; return one number."]
        if isinstance(value, bool | np.bool_) or not isinstance(
            value, int | float | np.integer | np.floating
        ):
            kind = "an int" if self.integer else "a float"
            return [f"It returns {describe_kind(_kind(value))}; return {kind}."]
        if self.integer and not float(value).is_integer():
            return ["It returns a fractional number; the answer is a count (an int)."]
        return []

    def notes(self, value: Any, probe: Probe) -> list[str]:
        kind = "int" if self.integer else "float"
        if isinstance(value, torch.Tensor | np.ndarray):
            return [
                f"It returns a one-element {type(value).__name__}; return a Python {kind} "
                f"(use {kind}(...))."
            ]
        if self.integer and isinstance(value, float | np.floating):
            return ["It returns a float; return a Python int (use int(...))."]
        return []


@dataclass
class ListOut(OutputSpec):
    """A list produced by calling the learner's function once per step (see ``invoke``)."""

    item: NumberOut
    tensor_output = False

    def problems(self, value: Any, probe: Probe) -> list[str]:
        for item in value:
            problems = self.item.problems(item, probe)
            if problems:
                return problems
        return []

    def notes(self, value: Any, probe: Probe) -> list[str]:
        for item in value:
            notes = self.item.notes(item, probe)
            if notes:
                return notes
        return []


def _input_shapes(probe: Probe) -> str:
    shapes = [tuple(a.shape) for a in probe.args if isinstance(a, torch.Tensor)]
    return ", ".join(str(s) for s in shapes) if shapes else "the probe"


# ----------------------------------------------------------------------------- base class


@dataclass(eq=False, kw_only=True)
class ImplementationDrill(Drill):
    """Base class: observe the learner's code, compare with the reference, find the mistake.

    Subclasses implement :meth:`observe`, :meth:`compare` and :meth:`same_behaviour`.
    """

    kind: ClassVar[str] = "implementation"

    reference_getter: Callable[[], Any]
    mistakes: tuple[Mistake, ...] = ()
    min_score: float = 1.0
    success: str = (
        "All checks passed: right values, shapes and gradients on random and edge-case inputs."
    )
    _reference_cache: Observation | None = field(default=None, init=False, repr=False)
    _mistake_cache: dict[str, Observation] = field(default_factory=dict, init=False, repr=False)

    def reference(self) -> Any:
        return self.reference_getter()

    def answer_problem(self, answer: Any) -> str | None:
        """A message when ``answer`` is not even the right kind of object (e.g. not callable)."""
        if not callable(answer):
            return (
                f"Expected your function `{self.answer_name}` itself (no parentheses), got "
                f"{describe_kind(_kind(answer))}."
            )
        return None

    def observe(self, fn: Any, sandbox: Sandbox, *, full: bool) -> Observation:  # pragma: no cover
        """Run ``fn`` (the learner's or a catalogued answer) and record what it does.

        ``full=False`` (catalogue entries) may skip the secondary checks.
        """
        raise NotImplementedError

    def compare(
        self, learner: Observation, ref: Observation
    ) -> tuple[list[str], list[str]]:  # pragma: no cover
        """(essential problems, minor problems) of the learner's observation."""
        raise NotImplementedError

    def same_behaviour(self, learner: Observation, other: Observation) -> bool:  # pragma: no cover
        """True when two observations show the same behaviour (used to match mistakes)."""
        raise NotImplementedError

    def reference_observation(self) -> Observation:
        """The reference's observation (computed once per process)."""
        if self._reference_cache is None:
            with isolated(), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self._reference_cache = self.observe(
                    self.reference(), Sandbox(call_limit=60, total_limit=600), full=True
                )
        return self._reference_cache

    def mistake_observation(self, mistake: Mistake) -> Observation:
        """A catalogue entry's observation (computed once per process)."""
        if mistake.id not in self._mistake_cache:
            with isolated(), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self._mistake_cache[mistake.id] = self.observe(
                    mistake.implementation, Sandbox(call_limit=60, total_limit=600), full=False
                )
        return self._mistake_cache[mistake.id]

    def find_mistake(self, learner: Observation) -> Mistake | None:
        """The first catalogue entry the learner's observation matches."""
        for mistake in self.mistakes:
            other = self.mistake_observation(mistake)
            matcher = mistake.matches or self.same_behaviour
            try:
                if matcher(learner, other):
                    return mistake
            except Exception:  # noqa: BLE001 - a matcher must not break the check
                continue
        return None

    def _check(self, answer: Any, seed: int | None) -> Result:
        problem = self.answer_problem(answer)
        if problem:
            return self.result(FAILED, 0, [problem])
        with isolated():
            learner = self.observe(answer, Sandbox(), full=True)
        if learner.not_attempted:
            raise NotAttempted()
        essential, minor = self.compare(learner, self.reference_observation())
        if essential:
            mistake = self.find_mistake(learner)
            feedback = ([mistake.message] if mistake else []) + _dedupe(essential)[:3]
            return self.result(FAILED, 0, feedback)
        minor = _dedupe(minor)
        if not minor:
            return self.result(PASSED, self.max_score, [self.success_message()])
        score = max(self.max_score - len(minor), self.min_score)
        return self.graded(score, ["The main checks pass, but:", *minor])

    def success_message(self) -> str:
        return self.success


def _dedupe(lines: list[str]) -> list[str]:
    seen: list[str] = []
    for line in lines:
        if line not in seen:
            seen.append(line)
    return seen


# ----------------------------------------------------------------------------- functions


def _device_for_check() -> str:
    warmup.wait()
    return warmup.check_device()


@dataclass(eq=False, kw_only=True)
class FunctionDrill(ImplementationDrill):
    """A function compared with the package's reference on seeded probes.

    ``make_probes()`` builds the inputs; ``output`` says what must come back;
    ``arg_names`` name the arguments in messages; ``invoke(fn, args, kwargs)`` (optional)
    calls the function (e.g. once per step). ``traits(fn, sandbox)`` (optional) adds facts
    that must equal the reference's (used for stochastic functions, with
    ``compare_values=False``); ``trait_problems(learner, reference)`` words the differences.
    """

    make_probes: Callable[[], list[Probe]]
    output: OutputSpec
    arg_names: tuple[str, ...]
    invoke: Callable[..., Any] | None = None
    compare_values: bool = True
    rtol: float = 1e-4
    atol: float = 1e-4
    wrong_values: str = "Its values are wrong on random inputs."
    traits: Callable[[Any, Sandbox], dict[str, Any]] | None = None
    trait_problems: Callable[[dict, dict], list[str]] | None = None
    device_check: bool = True
    _probes: list[Probe] | None = field(default=None, init=False, repr=False)

    def probes(self) -> list[Probe]:
        """The probes (built once)."""
        if self._probes is None:
            self._probes = self.make_probes()
        return self._probes

    # -- observing ------------------------------------------------------------------

    def _call(self, fn: Any, args: tuple, kwargs: dict) -> Any:
        if self.invoke is not None:
            return self.invoke(fn, *args, **kwargs)
        return fn(*args, **kwargs)

    def run_probe(
        self, fn: Any, probe: Probe, sandbox: Sandbox, device: str | None = None
    ) -> Outcome:
        """Call ``fn`` on a fresh copy of the probe's inputs and summarise what happened."""
        grad_args = probe.grad_args if self.output.differentiable and device is None else ()
        args = clone_args(probe.args, grad_args, device)
        originals = clone_args(probe.args, (), device) if device is None else None
        call = sandbox.call(self._call, fn, args, probe.kwargs)
        if not call.ok:
            kind = "timeout" if call.timed_out else "error"
            error = "" if call.timed_out else f"{type(call.error).__name__}: {call.error}"[:80]
            return Outcome(kind=kind, error=error, call=call)
        value = call.value
        outcome = summarize(value)
        outcome.call = call
        outcome.problems = self.output.problems(value, probe)
        if not outcome.problems:
            outcome.notes = self.output.notes(value, probe)
        if originals is not None:
            outcome.mutated = tuple(
                self.arg_names[i] if i < len(self.arg_names) else f"argument {i + 1}"
                for i, (now, before) in enumerate(zip(args, originals, strict=True))
                if isinstance(now, torch.Tensor) and not _equal_tensors(now, before)
            )
        if grad_args and not outcome.problems:
            self._gradients(outcome, value, args, grad_args, sandbox)
        return outcome

    def _gradients(
        self,
        outcome: Outcome,
        value: Any,
        args: tuple,
        grad_args: tuple[int, ...],
        sandbox: Sandbox,
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

        call = sandbox.call(backward)
        if not call.ok:
            outcome.grad_error = call.describe("Back-propagating through your output")
            outcome.grads = None
            return
        outcome.grads = tuple(
            None if g is None else g.detach().to("cpu", torch.float64).numpy().reshape(-1)
            for g in call.value
        )

    def observe(self, fn: Any, sandbox: Sandbox, *, full: bool) -> Observation:
        obs = Observation(source=source_of(fn))
        for probe in self.probes():
            if not full and probe.group != RANDOM:
                continue
            outcome = self.run_probe(fn, probe, sandbox)
            obs.outcomes[probe.name] = outcome
            if outcome.failed_call:
                if outcome.call is not None and outcome.call.not_implemented:
                    obs.not_attempted = True
                    return obs
                if probe.group == RANDOM:
                    obs.stopped = outcome
                    return obs
        if self.traits is not None:
            try:
                obs.traits = self.traits(fn, sandbox)
            except NotAttempted:
                obs.not_attempted = True
                return obs
        if full and self.device_check and self.output.tensor_output:
            random_probes = [p for p in self.probes() if p.group == RANDOM]
            if random_probes:
                obs.outcomes["__device__"] = self.run_probe(
                    fn, random_probes[0], sandbox, device=_device_for_check()
                )
        return obs

    # -- comparing ------------------------------------------------------------------

    def same_behaviour(self, learner: Observation, other: Observation) -> bool:
        """Same outcome kinds, values (if compared), gradient flow and traits on random probes."""
        names = [p.name for p in self.probes() if p.group == RANDOM]
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

    def compare(self, learner: Observation, ref: Observation) -> tuple[list[str], list[str]]:
        """(essential problems, minor problems) of the learner's observation."""
        essential: list[str] = []
        minor: list[str] = []
        if learner.stopped is not None:
            essential.append(self._call_problem(learner.stopped))
            return essential, minor
        by_name = {p.name: p for p in self.probes()}
        edge_failures: dict[str, str] = {}
        for name, outcome in learner.outcomes.items():
            if name == "__device__":
                continue
            probe = by_name[name]
            expected = ref.outcomes.get(name)
            problems = self._probe_problems(outcome, expected, probe)
            if probe.group == RANDOM:
                essential += problems
                if not problems:
                    minor += outcome.notes
                    if outcome.mutated:
                        minor.append(_mutation_message(outcome.mutated))
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
            advice = next((p.advice for p in self.probes() if p.label == label and p.advice), "")
            problem = problem[0].lower() + problem[1:]
            minor.append(f"For {label}, {problem}" + (f" {advice}" if advice else ""))
        device_problem = _device_problem(learner.outcomes.get("__device__"))
        if device_problem:
            minor.append(device_problem)
        return essential, minor

    def _call_problem(self, outcome: Outcome) -> str:
        assert outcome.call is not None
        return outcome.call.describe()

    def _probe_problems(
        self, outcome: Outcome, expected: Outcome | None, probe: Probe
    ) -> list[str]:
        if outcome.failed_call:
            return [self._call_problem(outcome)]
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
        if probe.grad_args and self.output.differentiable:
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


def _equal_tensors(a: torch.Tensor, b: torch.Tensor) -> bool:
    if a.device.type == "meta":
        return True
    try:
        return a.shape == b.shape and bool(torch.equal(a.detach(), b.detach()))
    except RuntimeError:
        return False


def _mutation_message(names: tuple[str, ...]) -> str:
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


def _device_problem(outcome: Outcome | None) -> str:
    if outcome is None:
        return ""
    device = _device_for_check()
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


def constant_output(learner: Observation, _: Observation) -> bool:
    """Matcher: finite values that are the same number on every random probe."""
    values = [o.values for o in learner.outcomes.values() if o.values is not None]
    if len(values) < 2:
        return False
    joined = np.concatenate(values)
    return bool(np.all(np.isfinite(joined)) and np.ptp(joined) == 0)
