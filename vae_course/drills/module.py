"""Module drills: a learner's ``nn.Module`` class checked by its traits.

An architecture cannot be compared number for number with the package's (any layer sizes
are fine), so the judge compares *traits*: facts such as "encode returns (B, latent_dim)",
"decode returns logits, not probabilities", "forward equals decode(encode(x)) in eval
mode", "gradients reach the parameters". The drill declares:

* ``construct_args``: how the class is built, e.g. ``(3,)`` for ``MyAutoencoder(3)``;
* ``make_inputs(seed)``: seeded input tensors by name (``{"x": images, "z": codes}``);
* ``calls``: the methods to call, in order, each with its inputs built from the inputs and
  the values earlier calls returned (:class:`MethodCall`);
* ``classify(observation) -> traits``: the facts, derived by the judge from the recorded
  outcomes (plain data);
* ``trait_problems(mine, reference) -> messages``: what to say where the learner's traits
  differ from the reference class's.

The engine adds the checks every model shares: the class is an ``nn.Module`` and can be
built, gradients reach its parameters from ``backward_from``'s output, and (secondary, a
point each) float32 kept, inputs not modified in place, a batch of one, another device.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn

from vae_course._source import source_of

from .code_drill import CodeDrill
from .function import DEVICE_PROBE, device_for_check, device_problem
from .observation import Observation, Outcome, describe_kind, failed, kind_of, summarize
from .timed import TimedCalls

BATCH_OF_ONE = "__batch_of_one__"


@dataclass(frozen=True)
class MethodCall:
    """One call of the learner's model.

    ``name`` keys its outcome; ``method`` is the attribute to call (``"__call__"`` for the
    module itself, i.e. ``forward``); ``inputs(seen)`` builds the arguments from ``seen``,
    the drill's inputs and the values earlier calls returned, by name.
    """

    name: str
    method: str
    inputs: Callable[[dict[str, Any]], tuple]


@dataclass(eq=False, kw_only=True)
class ModuleDrill(CodeDrill):
    """An ``nn.Module`` class built with ``construct_args`` and checked by its traits."""

    kind: ClassVar[str] = "module"

    construct_args: tuple
    make_inputs: Callable[[int], dict[str, torch.Tensor]]
    calls: tuple[MethodCall, ...]
    classify: Callable[[Observation], dict[str, Any]]
    trait_problems: Callable[[dict[str, Any], dict[str, Any]], list[str]]
    backward_from: str = "forward"
    batch_of_one_shape: tuple[int, ...] = ()
    batch_of_one_label: str = "a batch of one image (B = 1)"
    construction: str = ""  # e.g. "MyAutoencoder(latent_dim)", for messages

    def answer_problem(self, answer: Any) -> str | None:
        if isinstance(answer, nn.Module):
            return (
                "You passed a model instance; pass the class itself: "
                f"`drills.check({self.id!r}, {type(answer).__name__})`."
            )
        if not inspect.isclass(answer):
            return (
                f"Expected your class `{self.answer_name}` itself, got "
                f"{describe_kind(kind_of(answer))}."
            )
        return None

    # -- observing ------------------------------------------------------------------

    def record(self, cls: Any, calls: TimedCalls, *, full: bool, seed: int) -> Observation:
        obs = Observation(source=source_of(cls))
        facts = obs.measurements
        facts["is_module"] = inspect.isclass(cls) and issubclass(cls, nn.Module)
        inputs = self.make_inputs(seed)
        originals = {name: t.clone() for name, t in inputs.items()}
        torch.manual_seed(0)
        call = calls.call(cls, *self.construct_args)
        if call.not_implemented:
            obs.not_attempted = True
            return obs
        if not call.ok:
            facts["construct"] = call.signature
            obs.stopped = failed(call)
            return obs
        facts["construct"] = "ok"
        model = call.value
        if not facts["is_module"]:
            return obs
        model.eval()
        seen: dict[str, Any] = dict(inputs)
        for method_call in self.calls:
            if method_call.method == "__call__":
                fn = model
            else:
                fn = getattr(model, method_call.method, None)
            if fn is None:
                obs.outcomes[method_call.name] = Outcome(kind="missing")
                continue
            try:
                args = method_call.inputs(seen)
            except Exception:  # noqa: BLE001 - an earlier output unusable as this input
                args = None
            if args is None:
                continue
            call = calls.call(fn, *args)
            if call.not_implemented:
                obs.not_attempted = True
                return obs
            if not call.ok:
                obs.outcomes[method_call.name] = failed(call)
                obs.stopped = obs.stopped or obs.outcomes[method_call.name]
                continue
            seen[method_call.name] = call.value
            obs.outcomes[method_call.name] = summarize(call.value)
        if self.backward_from in seen:
            facts["gradients"] = self._gradients_reach(model, seen[self.backward_from], calls)
        if full:
            self._secondary(model, inputs, originals, obs, calls)
        return obs

    def _gradients_reach(self, model: nn.Module, value: Any, calls: TimedCalls) -> bool:
        leaves = [t for t in _leaves(value) if t.requires_grad and t.is_floating_point()]
        if not leaves:
            return False
        model.zero_grad(set_to_none=True)
        backward = calls.call(lambda: sum(t.sum() for t in leaves).backward())
        return backward.ok and any(p.grad is not None for p in model.parameters())

    def _secondary(
        self,
        model: nn.Module,
        inputs: dict[str, torch.Tensor],
        originals: dict[str, torch.Tensor],
        obs: Observation,
        calls: TimedCalls,
    ) -> None:
        x = inputs["x"]
        obs.measurements["input_modified"] = not torch.equal(x, originals["x"])
        one = calls.call(lambda: model(x[:1].clone()))
        obs.outcomes[BATCH_OF_ONE] = summarize(one.value) if one.ok else failed(one)
        device = device_for_check()
        try:
            moved = copy.deepcopy(model).to(device)
        except Exception:  # noqa: BLE001 - a model that cannot be copied: inconclusive
            return
        call = calls.call(moved, x.to(device))
        outcome = summarize(call.value) if call.ok else failed(call)
        outcome.on_device = device
        obs.outcomes[DEVICE_PROBE] = outcome

    # -- judging --------------------------------------------------------------------

    def derive(self, observation: Observation, seed: int) -> Observation:
        observation.traits = self.classify(observation)
        return observation

    def same_behaviour(self, learner: Observation, other: Observation, seed: int) -> bool:
        return learner.traits == other.traits

    def compare(
        self, learner: Observation, ref: Observation, seed: int
    ) -> tuple[list[str], list[str]]:
        facts = learner.measurements
        essential: list[str] = []
        if not facts.get("is_module", False):
            essential.append(
                f"The class is not an nn.Module: write `class {self.answer_name}(nn.Module):` "
                "and call `super().__init__()` first in `__init__`."
            )
        elif facts.get("construct") != "ok":
            call = learner.stopped.call if learner.stopped else None
            essential.append(
                f"Creating `{self.construction or self.answer_name}` failed: "
                + (call.describe("it") if call else "it raised an error.")
            )
        else:
            essential += self.trait_problems(learner.traits, ref.traits)
        return essential, self._minor(learner)

    def _minor(self, learner: Observation) -> list[str]:
        notes: list[str] = []
        forward = learner.outcomes.get(self.backward_from)
        if forward is not None and not forward.failed_call:
            other = [d for d in forward.dtypes if d != "float32"]
            if other:
                notes.append(f"forward returns {other[0]} for float32 images; keep float32.")
        if learner.measurements.get("input_modified"):
            notes.append("It modifies the input images in place; use out-of-place operations.")
        one = learner.outcomes.get(BATCH_OF_ONE)
        if one is not None:
            label = self.batch_of_one_label
            if one.failed_call:
                described = one.call.describe() if one.call else "it failed."
                notes.append(f"For {label}, " + described[0].lower() + described[1:])
            elif _first_shape(one) != tuple(self.batch_of_one_shape):
                notes.append(
                    f"For {label} forward does not return {tuple(self.batch_of_one_shape)} "
                    "(avoid `.squeeze()`)."
                )
        problem = device_problem(learner.outcomes.get(DEVICE_PROBE))
        if problem:
            notes.append(problem)
        return notes


def _leaves(value: Any) -> list[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, tuple | list):
        return [leaf for item in value for leaf in _leaves(item)]
    return []


def _first_shape(outcome: Outcome) -> Any:
    if outcome.kind == "tensor":
        return tuple(outcome.shape)
    if outcome.parts:
        return _first_shape(outcome.parts[0])
    return None


def call_trait(outcome: Outcome | None, classify: Callable[[Outcome], str]) -> str | None:
    """A call's trait: "missing", the error's signature, or ``classify(outcome)``; None when the
    call was never made."""
    if outcome is None:
        return None
    if outcome.kind == "missing":
        return "missing"
    if outcome.failed_call:
        return outcome.call.signature if outcome.call else outcome.kind
    return classify(outcome)


def module_call_traits(
    observation: Observation, classifiers: Sequence[tuple[str, Callable[[Outcome], str]]]
) -> tuple[dict[str, Any], bool]:
    """The traits every module drill starts from: ``is_module``, ``construct`` (how building
    it went) and, once it was built, one trait per ``(call name, classify)`` in
    ``classifiers`` (:func:`call_trait`). Returns ``(traits, built)``; ``built`` is False when
    the learner's class is no module or could not be constructed (the calls were not made)."""
    facts, outcomes = observation.measurements, observation.outcomes
    traits: dict[str, Any] = {"is_module": facts.get("is_module", False)}
    if "construct" in facts:
        traits["construct"] = facts["construct"]
    if facts.get("construct") != "ok" or not traits["is_module"]:
        return traits, False
    for name, classify in classifiers:
        trait = call_trait(outcomes.get(name), classify)
        if trait is not None:
            traits[name] = trait
    return traits, True


__all__ = ["BATCH_OF_ONE", "MethodCall", "ModuleDrill", "call_trait", "module_call_traits"]
