"""What a function drill's answer must return, judged from an :class:`Outcome` (plain data).

Each spec's :meth:`~OutputSpec.problems` lists essential problems (wrong type or shape:
score 0) and :meth:`~OutputSpec.notes` minor ones (a point each, e.g. a one-element tensor
where a Python float is asked for).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .observation import Outcome, Probe, describe_kind

_TYPE_NAMES = {"tensor": "Tensor", "ndarray": "ndarray"}


class OutputSpec:
    """What a function must return; :meth:`problems` (essential) and :meth:`notes` (minor)."""

    differentiable = False
    tensor_output = True

    def problems(self, outcome: Outcome, probe: Probe) -> list[str]:  # pragma: no cover
        raise NotImplementedError

    def notes(self, outcome: Outcome, probe: Probe) -> list[str]:
        return []


def input_shapes(probe: Probe) -> str:
    """The shapes of a probe's tensor arguments, for messages."""
    shapes = [tuple(a.shape) for a in probe.args if hasattr(a, "shape")]
    return ", ".join(str(s) for s in shapes) if shapes else "the probe"


@dataclass
class TensorOut(OutputSpec):
    """A tensor whose shape is ``shape(probe)``; ``what`` names it in messages."""

    shape: Callable[[Probe], tuple[int, ...]]
    what: str = "one value per example"
    differentiable: bool = False

    def problems(self, outcome: Outcome, probe: Probe) -> list[str]:
        if outcome.kind != "tensor":
            return [f"It returns {describe_kind(outcome.kind)}; return a torch tensor."]
        expected = tuple(self.shape(probe))
        if tuple(outcome.shape) != expected:
            return [
                f"It returns shape {tuple(outcome.shape)} for inputs of shape "
                f"{input_shapes(probe)}; the contract is shape {expected} ({self.what})."
            ]
        return []


@dataclass
class ScalarOut(OutputSpec):
    """A one-element tensor (usually 0-dimensional), e.g. a loss."""

    what: str = "a scalar (the mean over the batch)"
    differentiable: bool = False

    def problems(self, outcome: Outcome, probe: Probe) -> list[str]:
        if outcome.kind != "tensor":
            return [f"It returns {describe_kind(outcome.kind)}; return a scalar tensor."]
        if outcome.numel != 1:
            return [
                f"It returns a tensor of shape {tuple(outcome.shape)}; the contract is {self.what}."
            ]
        return []


@dataclass
class TupleOut(OutputSpec):
    """A tuple of named parts, each with its own spec."""

    parts: tuple[tuple[str, OutputSpec], ...]
    differentiable: bool = False

    def problems(self, outcome: Outcome, probe: Probe) -> list[str]:
        names = ", ".join(name for name, _ in self.parts)
        if outcome.parts is None or len(outcome.parts) != len(self.parts):
            return [
                f"It returns {describe_kind(outcome.kind)}; return the {len(self.parts)} "
                f"values ({names}) as a tuple."
            ]
        problems = []
        for (name, spec), item in zip(self.parts, outcome.parts, strict=True):
            problems += [f"`{name}`: {p}" for p in spec.problems(item, probe)]
        return problems


@dataclass
class NumberOut(OutputSpec):
    """A Python number (``integer=True``: an int). One-element tensors cost a point."""

    integer: bool = False
    tensor_output = False

    def problems(self, outcome: Outcome, probe: Probe) -> list[str]:
        if outcome.kind in _TYPE_NAMES:
            if outcome.numel == 1:
                return []
            return [f"It returns an array of shape {tuple(outcome.shape)}; return one number."]
        if outcome.kind not in ("int", "number"):
            kind = "an int" if self.integer else "a float"
            return [f"It returns {describe_kind(outcome.kind)}; return {kind}."]
        if self.integer and not outcome.integral:
            return ["It returns a fractional number; the answer is a count (an int)."]
        return []

    def notes(self, outcome: Outcome, probe: Probe) -> list[str]:
        kind = "int" if self.integer else "float"
        if outcome.kind in _TYPE_NAMES:
            return [
                f"It returns a one-element {_TYPE_NAMES[outcome.kind]}; return a Python {kind} "
                f"(use {kind}(...))."
            ]
        if self.integer and outcome.kind == "number":
            return ["It returns a float; return a Python int (use int(...))."]
        return []


@dataclass
class ListOut(OutputSpec):
    """A list produced by calling the learner's function once per step (see ``invoke``)."""

    item: NumberOut
    tensor_output = False

    def problems(self, outcome: Outcome, probe: Probe) -> list[str]:
        return next(
            (p for item in outcome.parts or () if (p := self.item.problems(item, probe))), []
        )

    def notes(self, outcome: Outcome, probe: Probe) -> list[str]:
        return next((n for item in outcome.parts or () if (n := self.item.notes(item, probe))), [])


__all__ = ["ListOut", "NumberOut", "OutputSpec", "ScalarOut", "TensorOut", "TupleOut"]
