"""What a code drill records about a learner's code: plain data, comparable and judgeable.

The observing half of a code drill (:mod:`~vae_course.drills.function`,
:mod:`~vae_course.drills.module`) calls the code on *probes* and reduces every call to an
:class:`Outcome`: the kind of value returned, its numbers (float64), shapes, dtypes,
devices, whether it carries a gradient, the gradients with respect to the inputs, and, for
a call that failed, the facts about the error. An :class:`Observation` gathers the outcomes
of one answer plus *measurements* (raw numbers a drill records for its own judge) and
*traits* (facts the judge derives from them).

No field holds a live object of the learner's: an observation made in a sandbox can be sent
to a judge that never runs learner code (:mod:`vae_course.grading`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from .timed import CallOutcome

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
    """What one call produced, reduced to comparable facts.

    ``kind`` is "tensor", "number", "tuple(tensor,tensor)", ... or "error"/"timeout" for a
    failed call (then ``call`` says why). ``parts`` holds the outcome of each item of a
    returned tuple or list. ``problems`` and ``notes`` are filled in by the judge.
    """

    kind: str
    values: np.ndarray | None = None
    shape: Any = None
    dtypes: tuple[str, ...] = ()
    devices: tuple[str, ...] = ()
    requires_grad: tuple[bool, ...] = ()
    parts: tuple[Outcome, ...] | None = None
    keys: tuple[str, ...] | None = None  # for a returned dict: its keys, in ``parts`` order
    integral: bool = False  # a Python/numpy number whose value is a whole number
    grads: tuple[np.ndarray | None, ...] | None = None
    grad_error: str = ""
    error: str = ""
    call: CallOutcome | None = None
    mutated: tuple[str, ...] = ()
    on_device: str = ""  # the device the inputs were moved to (the device check), else ""
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def failed_call(self) -> bool:
        return self.kind in ("error", "timeout")

    def part(self, key: str) -> Outcome | None:
        """The outcome of item ``key`` of a returned dict (None when it has no such key)."""
        if self.keys is None or self.parts is None or key not in self.keys:
            return None
        return self.parts[self.keys.index(key)]

    @property
    def numel(self) -> int:
        """The number of elements of a returned tensor or array (1 for a number)."""
        if isinstance(self.shape, tuple) and all(isinstance(s, int) for s in self.shape):
            return int(np.prod(self.shape)) if self.shape else 1
        return 1


@dataclass
class Observation:
    """Everything observed about one answer: outcomes by probe name, measurements, traits."""

    outcomes: dict[str, Outcome] = field(default_factory=dict)
    measurements: dict[str, Any] = field(default_factory=dict)
    traits: dict[str, Any] = field(default_factory=dict)
    not_attempted: bool = False
    unusable: str = ""  # why the answer could not even be called (not a function, ...)
    source: str = ""
    stopped: Outcome | None = None


# ----------------------------------------------------------------------------- recording


@contextlib.contextmanager
def isolated() -> Iterator[None]:
    """Run checks with gradients on, and leave the learner's RNG state and dtype untouched."""
    default_dtype = torch.get_default_dtype()
    with torch.random.fork_rng(devices=[]), torch.enable_grad():
        try:
            yield
        finally:
            torch.set_default_dtype(default_dtype)


def tensor_leaves(value: Any) -> list[torch.Tensor]:
    """The tensors in a value (itself, or the items of a tuple/list)."""
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, dict):
        value = [value[k] for k in _dict_keys(value)]
    if isinstance(value, tuple | list):
        return [leaf for item in value for leaf in tensor_leaves(item)]
    return []


def kind_of(value: Any) -> str:
    """ "tensor", "ndarray", "none", "bool", "int", "number", "tuple(...)", "list[...]", "other"."""
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
        return "tuple(" + ",".join(kind_of(v) for v in value) + ")"
    if isinstance(value, dict):
        return "dict(" + ",".join(f"{k}:{kind_of(value[k])}" for k in _dict_keys(value)) + ")"
    if isinstance(value, list):
        return "list[" + ",".join(sorted({kind_of(v) for v in value})) + "]"
    return "other"


def values_of(value: Any) -> np.ndarray | None:
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
        if isinstance(value, dict) and value:
            value = [value[k] for k in _dict_keys(value)]
        if isinstance(value, tuple | list) and value:
            # a part that is not numeric (None, a string...) counts as one NaN, so that two
            # outputs with the same non-numeric part still compare equal
            parts = [values_of(v) for v in value]
            return np.concatenate([np.array([np.nan]) if p is None else p for p in parts])
    except (TypeError, ValueError, RuntimeError):
        return None
    return None


def _dict_keys(value: dict) -> list[Any]:
    return sorted(value, key=str)


def shape_of(value: Any) -> Any:
    if isinstance(value, torch.Tensor | np.ndarray):
        return tuple(value.shape)
    if isinstance(value, dict):
        return tuple(shape_of(value[k]) for k in _dict_keys(value))
    if isinstance(value, tuple | list):
        return tuple(shape_of(v) for v in value)
    return ()


def summarize(value: Any) -> Outcome:
    """An :class:`Outcome` for a returned value (its parts too, for a tuple or list)."""
    leaves = tensor_leaves(value)
    keys = None
    parts = tuple(summarize(v) for v in value) if isinstance(value, tuple | list) else None
    if isinstance(value, dict):
        ordered = _dict_keys(value)
        keys = tuple(str(k) for k in ordered)
        parts = tuple(summarize(value[k]) for k in ordered)
    integral = False
    if isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool | np.bool_
    ):
        integral = bool(np.isfinite(float(value)) and float(value).is_integer())
    return Outcome(
        kind=kind_of(value),
        values=values_of(value),
        shape=shape_of(value),
        dtypes=tuple(str(t.dtype).replace("torch.", "") for t in leaves),
        devices=tuple(str(t.device) for t in leaves),
        requires_grad=tuple(bool(t.requires_grad) for t in leaves),
        parts=parts,
        keys=keys,
        integral=integral,
    )


def failed(call: CallOutcome) -> Outcome:
    """The outcome of a call that raised or ran out of time."""
    if call.timed_out:
        return Outcome(kind="timeout", call=call)
    return Outcome(kind="error", error=f"{call.error_type}: {call.error_message}"[:80], call=call)


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


def equal_tensors(a: torch.Tensor, b: torch.Tensor) -> bool:
    if a.device.type == "meta":
        return True
    try:
        return a.shape == b.shape and bool(torch.equal(a.detach(), b.detach()))
    except RuntimeError:
        return False


# ----------------------------------------------------------------------------- comparing


def same_values(a: np.ndarray | None, b: np.ndarray | None, rtol: float, atol: float) -> bool:
    """Same size and allclose (NaN equals NaN, inf equals inf)."""
    if a is None or b is None or a.shape != b.shape:
        return False
    with np.errstate(invalid="ignore", over="ignore"):
        return bool(np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True))


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


def constant_output(learner: Observation, _: Observation) -> bool:
    """Matcher: finite values that are the same number on every random probe."""
    values = [o.values for o in learner.outcomes.values() if o.values is not None]
    if len(values) < 2:
        return False
    joined = np.concatenate(values)
    return bool(np.all(np.isfinite(joined)) and np.ptp(joined) == 0)


__all__ = [
    "EDGE",
    "RANDOM",
    "Mistake",
    "Observation",
    "Outcome",
    "Probe",
    "clone_args",
    "constant_output",
    "describe_kind",
    "equal_tensors",
    "failed",
    "isolated",
    "kind_of",
    "same_values",
    "summarize",
    "tensor_leaves",
    "values_of",
]
