"""Answer values as tagged JSON: the harvest cell run in the kernel, and its decoder.

Only plain data crosses from a learner's kernel to the grader: numbers, strings, ``...``,
lists, tuples, sets and dicts of those (numpy scalars and 0-d tensors count as numbers);
anything else is reported as "not plain". The encoder runs in the learner's kernel with
fresh globals (a notebook that rebinds ``list`` or ``json`` cannot confuse it); the
decoder (:func:`decode_value`) runs in the grader and executes nothing.
"""

from __future__ import annotations

import builtins
import json
import sys
from typing import Any

# The encoder runs in the learner's kernel (inside the harvest cell, with fresh globals so a
# notebook that rebinds `list` or `json` cannot confuse it); the decoder runs in the grader.
HARVEST_CODE = r"""
def _describe(value):
    kind = type(value).__module__.split(".")[0] + "." + type(value).__qualname__
    shape = getattr(value, "shape", None)
    if shape is not None:
        try:
            kind += " of shape " + str(tuple(shape))
        except Exception:
            pass
    return kind


class _NotPlain(Exception):
    pass


def _encode(value, depth, budget):
    budget[0] -= 1
    if budget[0] < 0 or depth > 30:
        raise _NotPlain("too large or too deeply nested")
    if value is None or type(value) is bool or type(value) is str:
        if type(value) is str and len(value) > 100000:
            raise _NotPlain("a string longer than 100000 characters")
        return value
    if value is Ellipsis:
        return {"$": "ellipsis"}
    if hasattr(value, "dtype") and getattr(value, "ndim", None) == 0 and hasattr(value, "item"):
        value = value.item()  # numpy scalars, 0-d arrays and 0-d tensors are plain numbers
        if isinstance(value, (bool, int, float)):
            return _encode(value, depth + 1, budget)
    if type(value) is int or (isinstance(value, numbers.Integral) and not isinstance(value, bool)):
        return int(value)
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, numbers.Real):
        number = float(value)
        return number if math.isfinite(number) else {"$": "float", "v": repr(number)}
    if isinstance(value, str):
        return _encode(str(value), depth + 1, budget)
    if isinstance(value, list):
        return [_encode(item, depth + 1, budget) for item in value]
    if isinstance(value, tuple):
        return {"$": "tuple", "v": [_encode(item, depth + 1, budget) for item in value]}
    if isinstance(value, (set, frozenset)):
        return {"$": "set", "v": [_encode(item, depth + 1, budget) for item in value]}
    if isinstance(value, dict):
        return {
            "$": "dict",
            "v": [[_encode(k, depth + 1, budget), _encode(v, depth + 1, budget)] for k, v in value.items()],
        }
    raise _NotPlain(_describe(value))


def _integrity(namespace):
    report = {}
    package = sys.modules.get("vae_course")
    report["vae_course_file"] = getattr(package, "__file__", None)
    drills = sys.modules.get("vae_course.drills")
    report["drills_file"] = getattr(drills, "__file__", None)
    check = getattr(drills, "check", None)
    code = getattr(check, "__code__", None)
    report["check_file"] = getattr(code, "co_filename", None) if check is not None else None
    seen = {}
    for name in ("drills", "check", "vae_course", "use"):
        if name in namespace:
            value = namespace[name]
            file = getattr(value, "__file__", None)
            if file is None:
                file = getattr(getattr(value, "__code__", None), "co_filename", None)
            seen[name] = {"type": _describe(value), "file": file}
    report["names"] = seen
    api = sys.modules.get("vae_course.drills.api")
    current_seeds = getattr(api, "current_seeds", None)
    seeds = current_seeds() if callable(current_seeds) else None
    if isinstance(seeds, dict):
        report["seeds"] = {str(k): int(v) for k, v in seeds.items() if type(v) is int}
    return report


def harvest(namespace, names, path):
    values = {}
    for name in names:
        if name not in namespace:
            continue
        try:
            values[name] = {"value": _encode(namespace[name], 0, [200000])}
        except _NotPlain as reason:
            values[name] = {"not_plain": str(reason)}
        except Exception as error:
            values[name] = {"not_plain": "unreadable (" + type(error).__name__ + ")"}
    try:
        integrity = _integrity(namespace)
    except Exception as error:
        integrity = {"error": type(error).__name__}
    with _io.open(path, "w", encoding="utf-8") as handle:
        handle.write(json.dumps({"values": values, "integrity": integrity}))
"""


_HARVEST_CELL = """\
import builtins as __vae_grader_builtins
__vae_grader_builtins.exec(
    __vae_grader_builtins.compile({code!r}, "<vae-course grader>", "exec"),
    __vae_grader_ns := {{
        "__builtins__": __vae_grader_builtins,
        "__name__": "vae_course_grader_harvest",
        "_io": __vae_grader_builtins.__import__("_io"),
        "json": __vae_grader_builtins.__import__("json"),
        "math": __vae_grader_builtins.__import__("math"),
        "numbers": __vae_grader_builtins.__import__("numbers"),
        "sys": __vae_grader_builtins.__import__("sys"),
    }},
)
__vae_grader_ns["harvest"](__vae_grader_builtins.globals(), {names!r}, {path!r})
del __vae_grader_builtins, __vae_grader_ns
"""


def harvest_cell_source(names: list[str], path: str) -> str:
    """The code of the cell appended to a submission to serialise its answer values."""
    return _HARVEST_CELL.format(code=HARVEST_CODE, names=sorted(names), path=path)


def decode_value(data: Any) -> Any:
    """Inverse of the harvest encoding: tagged JSON -> plain Python data."""
    if isinstance(data, list):
        return [decode_value(item) for item in data]
    if not isinstance(data, dict):
        return data
    tag = data.get("$")
    if tag == "ellipsis":
        return Ellipsis
    if tag == "float":
        return float(data["v"])
    if tag == "tuple":
        return tuple(decode_value(item) for item in data["v"])
    if tag == "set":
        return {_hashable(decode_value(item)) for item in data["v"]}
    if tag == "dict":
        return {_hashable(decode_value(k)): decode_value(v) for k, v in data["v"]}
    raise ValueError(f"unknown tag {tag!r}")


def encode_value(value: Any) -> Any:
    """The harvest encoding of a plain value (the grader's copy, for literals)."""
    namespace: dict[str, Any] = {}
    exec(compile(HARVEST_CODE, "<vae-course grader>", "exec"), _harvest_globals(namespace))
    return namespace["_encode"](value, 0, [200000])


def _harvest_globals(namespace: dict) -> dict:
    import _io
    import math
    import numbers

    namespace.update(
        {"__builtins__": builtins, "_io": _io, "json": json, "math": math, "numbers": numbers}
    )
    namespace["sys"] = sys
    return namespace


def _hashable(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, set):
        return frozenset(value)
    if isinstance(value, dict):
        return tuple(sorted(value.items(), key=repr))
    return value
