"""The source code of a function, class or module, for messages and cache keys."""

from __future__ import annotations

import inspect
from typing import Any


def source_of(obj: Any) -> str:
    """``inspect.getsource(obj)``, or ``''`` when there is none (built-ins, the REPL, C code)."""
    try:
        return inspect.getsource(obj)
    except (OSError, TypeError):
        return ""


__all__ = ["source_of"]
