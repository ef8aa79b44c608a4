"""Seeded questions: each learner gets fresh numbers, the checker knows which.

``drills.question(drill_id, seed=None)`` returns a :class:`Question`; its parameters are
readable as attributes (``q.mu``) or items (``q["mu"]``). The same seed always gives the
same parameters. Without a seed, a seed derived from the user and machine names is used,
so a learner sees the same numbers every time they re-run the notebook while two learners
usually see different ones.
"""

from __future__ import annotations

import getpass
import socket
import zlib
from dataclasses import dataclass, field
from typing import Any

from . import display


def learner_seed(drill_id: str) -> int:
    """A stable seed for this user on this machine (0..999999)."""
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name available
        user = "learner"
    try:
        host = socket.gethostname()
    except Exception:  # noqa: BLE001
        host = "machine"
    return zlib.crc32(f"{user}@{host}:{drill_id}".encode()) % 1_000_000


def check_seed(seed: Any) -> int:
    """``seed`` as a non-negative int; ValueError otherwise."""
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


@dataclass
class Question:
    """The random parameters of one seeded drill, with instructions."""

    drill_id: str
    seed: int
    params: dict[str, Any]
    text: str = ""
    tables: list[display.Table] = field(default_factory=list)

    def __getattr__(self, name: str) -> Any:
        params = self.__dict__.get("params", {})
        if name in params:
            return params[name]
        raise AttributeError(
            f"this question has no parameter {name!r}; it has: {', '.join(params)}"
        )

    def __getitem__(self, name: str) -> Any:
        return self.params[name]

    def __str__(self) -> str:
        lines = [f"Question for drill {self.drill_id!r} (seed {self.seed})"]
        lines += [f"  {k} = {_short(v)}" for k, v in self.params.items() if not _is_long(v)]
        if self.text:
            lines += ["", self.text]
        lines += ["", *[str(t) for t in self.tables]] if self.tables else []
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        rows = [
            f"<tr><td><code>q.{k}</code></td><td>{display.inline_html(_short(v))}</td></tr>"
            for k, v in self.params.items()
            if not _is_long(v)
        ]
        table = f'<table style="border-collapse:collapse;">{"".join(rows)}</table>' if rows else ""
        extra = "".join(t._repr_html_() for t in self.tables)
        return display.box_html(
            "info",
            f"Question for drill {self.drill_id} (seed {self.seed})",
            body_html=table + display.text_to_html(self.text) + extra,
        )


def _is_long(value: Any) -> bool:
    return isinstance(value, list | tuple) and len(value) > 8


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_short(v) for v in value) + "]"
    return str(value)
