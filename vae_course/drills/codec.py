"""Observations as JSON, and back, without executing anything.

The grader observes a learner's code in a sandbox (:mod:`.probe_runner`) and judges it in
a process that never ran learner code. What crosses between the two is this encoding: JSON
with tagged numbers and arrays (float64, little-endian, base64), no pickle, nothing that
names a Python type to build. :func:`decode_observation` checks every field's type, size
and nesting, and raises :class:`CodecError` for anything else, so a damaged or forged
message can cost the answer its points but never run code or crash the judge.
"""

from __future__ import annotations

import base64
import math
from dataclasses import fields
from typing import Any

import numpy as np

from .observation import Observation, Outcome
from .timed import CallOutcome

MAX_TEXT = 20_000  # characters in one string field (the source of an answer: 200 000)
MAX_SOURCE = 200_000
MAX_ITEMS = 10_000  # entries of one list or dict
MAX_DEPTH = 12
MAX_ARRAY = 5_000_000  # float64 values in one array

_CALL_FIELDS = tuple(f.name for f in fields(CallOutcome) if f.name != "value")


class CodecError(ValueError):
    """The data is not an observation this codec wrote."""


# ----------------------------------------------------------------------------- values


def encode_value(value: Any, depth: int = 0) -> Any:
    """JSON for None, bool, int, float, str, numpy arrays and scalars, lists/tuples, dicts."""
    if depth > MAX_DEPTH:
        raise CodecError("too deeply nested")
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"$": "float", "v": repr(value)}
    if isinstance(value, np.ndarray):
        array = np.ascontiguousarray(value, dtype="<f8")
        return {
            "$": "array",
            "shape": list(array.shape),
            "data": base64.b64encode(array.tobytes()).decode("ascii"),
        }
    if isinstance(value, list | tuple):
        return [encode_value(v, depth + 1) for v in value]
    if isinstance(value, dict):
        return {"$": "dict", "v": [[str(k), encode_value(v, depth + 1)] for k, v in value.items()]}
    raise CodecError(f"cannot encode {type(value).__name__}")


def decode_value(data: Any, depth: int = 0) -> Any:
    """Inverse of :func:`encode_value` (lists come back as lists)."""
    if depth > MAX_DEPTH:
        raise CodecError("too deeply nested")
    if data is None or isinstance(data, bool | int):
        return data
    if isinstance(data, float):
        return data
    if isinstance(data, str):
        return _text(data, MAX_TEXT)
    if isinstance(data, list):
        if len(data) > MAX_ITEMS:
            raise CodecError("a list is too long")
        return [decode_value(v, depth + 1) for v in data]
    if not isinstance(data, dict):
        raise CodecError(f"unexpected {type(data).__name__}")
    tag = data.get("$")
    if tag == "float":
        text = data.get("v")
        if text not in ("nan", "inf", "-inf"):
            raise CodecError("a tagged float must be nan, inf or -inf")
        return float(text)
    if tag == "array":
        return _array(data)
    if tag == "dict":
        entries = data.get("v")
        if not isinstance(entries, list) or len(entries) > MAX_ITEMS:
            raise CodecError("a dict must be a list of pairs")
        out = {}
        for entry in entries:
            if not (isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], str)):
                raise CodecError("a dict entry must be a [str, value] pair")
            out[_text(entry[0], MAX_TEXT)] = decode_value(entry[1], depth + 1)
        return out
    raise CodecError(f"unknown tag {tag!r}")


def _array(data: dict) -> np.ndarray:
    shape = data.get("shape")
    payload = data.get("data")
    if not (isinstance(shape, list) and all(isinstance(s, int) and s >= 0 for s in shape)):
        raise CodecError("an array needs a shape of non-negative ints")
    if not isinstance(payload, str) or len(shape) > 8:
        raise CodecError("an array needs its data as base64 text")
    size = int(np.prod(shape)) if shape else 1
    if size > MAX_ARRAY or len(payload) > 4 * (8 * size // 3 + 4):
        raise CodecError("an array is too large")
    try:
        raw = base64.b64decode(payload.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError) as error:
        raise CodecError("an array's data is not base64") from error
    if len(raw) != 8 * size:
        raise CodecError("an array's data does not match its shape")
    return np.frombuffer(raw, dtype="<f8").astype(np.float64).reshape(shape)


def _text(value: Any, limit: int) -> str:
    if not isinstance(value, str):
        raise CodecError("expected text")
    return value[:limit]


# ----------------------------------------------------------------------------- outcomes


def encode_outcome(outcome: Outcome, depth: int = 0) -> dict:
    """JSON for an :class:`Outcome` (its judge-side ``problems``/``notes`` are not sent)."""
    call = outcome.call
    return {
        "kind": outcome.kind,
        "values": encode_value(outcome.values),
        "shape": encode_value(outcome.shape),
        "dtypes": list(outcome.dtypes),
        "devices": list(outcome.devices),
        "requires_grad": list(outcome.requires_grad),
        "parts": None
        if outcome.parts is None
        else [encode_outcome(p, depth + 1) for p in outcome.parts],
        "keys": None if outcome.keys is None else list(outcome.keys),
        "integral": outcome.integral,
        "grads": None if outcome.grads is None else [encode_value(g) for g in outcome.grads],
        "grad_error": outcome.grad_error,
        "error": outcome.error,
        "call": None if call is None else {name: getattr(call, name) for name in _CALL_FIELDS},
        "mutated": list(outcome.mutated),
        "on_device": outcome.on_device,
    }


def _strings(data: Any, name: str) -> tuple[str, ...]:
    if not isinstance(data, list) or len(data) > MAX_ITEMS:
        raise CodecError(f"{name} must be a list")
    return tuple(_text(item, MAX_TEXT) for item in data)


def _shape(data: Any, depth: int = 0) -> Any:
    if depth > MAX_DEPTH:
        raise CodecError("a shape is too deeply nested")
    if data is None or (isinstance(data, int) and not isinstance(data, bool)):
        return data
    if isinstance(data, list) and len(data) <= MAX_ITEMS:
        return tuple(_shape(item, depth + 1) for item in data)
    raise CodecError("a shape must be nested lists of ints")


def _optional_array(data: Any) -> np.ndarray | None:
    value = decode_value(data)
    if value is not None and not isinstance(value, np.ndarray):
        raise CodecError("expected an array or null")
    return value


def _call(data: Any) -> CallOutcome | None:
    if data is None:
        return None
    if not isinstance(data, dict):
        raise CodecError("a call must be an object")
    values: dict[str, Any] = {}
    for name in _CALL_FIELDS:
        value = data.get(name, getattr(CallOutcome(), name))
        expected = type(getattr(CallOutcome(), name))
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            raise CodecError(f"call field {name} has the wrong type")
        values[name] = value[:MAX_TEXT] if isinstance(value, str) else value
    return CallOutcome(**values)


def decode_outcome(data: Any, depth: int = 0) -> Outcome:
    """Inverse of :func:`encode_outcome`, with every field checked."""
    if depth > MAX_DEPTH or not isinstance(data, dict):
        raise CodecError("an outcome must be an object")
    parts = data.get("parts")
    grads = data.get("grads")
    keys = data.get("keys")
    if parts is not None and (not isinstance(parts, list) or len(parts) > MAX_ITEMS):
        raise CodecError("parts must be a list")
    if grads is not None and (not isinstance(grads, list) or len(grads) > 64):
        raise CodecError("grads must be a list")
    requires_grad = data.get("requires_grad", [])
    if not isinstance(requires_grad, list) or not all(isinstance(b, bool) for b in requires_grad):
        raise CodecError("requires_grad must be a list of booleans")
    integral = data.get("integral", False)
    if not isinstance(integral, bool):
        raise CodecError("integral must be a boolean")
    return Outcome(
        kind=_text(data.get("kind"), 200),
        values=_optional_array(data.get("values")),
        shape=_shape(data.get("shape")),
        dtypes=_strings(data.get("dtypes", []), "dtypes"),
        devices=_strings(data.get("devices", []), "devices"),
        requires_grad=tuple(requires_grad),
        parts=None if parts is None else tuple(decode_outcome(p, depth + 1) for p in parts),
        keys=None if keys is None else _strings(keys, "keys"),
        integral=integral,
        grads=None if grads is None else tuple(_optional_array(g) for g in grads),
        grad_error=_text(data.get("grad_error", ""), MAX_TEXT),
        error=_text(data.get("error", ""), MAX_TEXT),
        call=_call(data.get("call")),
        mutated=_strings(data.get("mutated", []), "mutated"),
        on_device=_text(data.get("on_device", ""), 100),
    )


# ----------------------------------------------------------------------------- observations


def encode_observation(observation: Observation) -> dict:
    """JSON for an :class:`Observation` (its judge-side ``traits`` are not sent)."""
    return {
        "outcomes": {name: encode_outcome(o) for name, o in observation.outcomes.items()},
        "measurements": encode_value(observation.measurements),
        "not_attempted": observation.not_attempted,
        "unusable": observation.unusable,
        "source": observation.source[:MAX_SOURCE],
        "stopped": None if observation.stopped is None else encode_outcome(observation.stopped),
    }


def decode_observation(data: Any) -> Observation:
    """Inverse of :func:`encode_observation`; :class:`CodecError` for anything else."""
    if not isinstance(data, dict):
        raise CodecError("an observation must be an object")
    outcomes = data.get("outcomes", {})
    if not isinstance(outcomes, dict) or len(outcomes) > 1000:
        raise CodecError("outcomes must be an object")
    measurements = decode_value(data.get("measurements", {"$": "dict", "v": []}))
    if not isinstance(measurements, dict):
        raise CodecError("measurements must be a dict")
    not_attempted = data.get("not_attempted", False)
    if not isinstance(not_attempted, bool):
        raise CodecError("not_attempted must be a boolean")
    stopped = data.get("stopped")
    return Observation(
        outcomes={_text(k, 200): decode_outcome(v) for k, v in outcomes.items()},
        measurements=measurements,
        not_attempted=not_attempted,
        unusable=_text(data.get("unusable", ""), MAX_TEXT),
        source=_text(data.get("source", ""), MAX_SOURCE),
        stopped=None if stopped is None else decode_outcome(stopped),
    )


__all__ = [
    "CodecError",
    "decode_observation",
    "decode_value",
    "encode_observation",
    "encode_value",
]
