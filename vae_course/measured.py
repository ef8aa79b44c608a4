"""The numbers the course's prose quotes: recorded by a full run, checked against the text.

A chapter that measures something records it where it computes it::

    measured.record("02_vae", "active_units_64", active)   # returns the value unchanged

and its Markdown quotes it with a marker right after the number, invisible when rendered::

    the 64-D model keeps **64**<!--m:active_units_64--> units active,
    a test −ELBO of 97.3<!--m:test_nelbo_16:.1f--> nats

(``:.1f`` is a Python format spec; without one, ints print as they are and floats with
``:g``). The records are ``solutions/measured/NN_topic.json``, committed with the course.
They are written only by ``make measure``, which runs every solution notebook in full mode
with ``VAE_COURSE_MEASURE`` naming that folder: running a notebook anywhere else records
nothing, and fast mode never records. ``tests/test_measured.py`` fails when a quoted number
differs from its record, so the prose cannot drift from the measurement.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from vae_course import config, storage

MARKER = re.compile(
    r"(?P<number>[-−+]?\d[\d,]*(?:\.\d+)?)(?P<emphasis>\*{1,2})?"
    r"<!--\s*m:(?P<key>[\w.-]+)(?::(?P<fmt>[^\s>]+?))?\s*-->"
)


def record(chapter: str, key: str, value: Any) -> Any:
    """Record ``value`` as ``key`` of ``chapter`` (during ``make measure`` only); returns it.

    ``value`` is a number or a string (numpy and 0-d torch numbers are converted).
    """
    folder = config.measure_dir()
    if folder is None or config.fast_mode():
        return value
    plain = value.item() if hasattr(value, "item") else value
    if isinstance(plain, bool) or not isinstance(plain, int | float | str):
        raise TypeError(f"measured.record takes a number or a string, got {type(value).__name__}")
    path = Path(folder) / f"{chapter}.json"
    records = load(chapter, Path(folder))
    records[key] = plain
    storage.atomic_write_text(path, json.dumps(records, indent=1, sort_keys=True) + "\n")
    return value


def load(chapter: str, folder: Path) -> dict[str, Any]:
    """The records of ``chapter`` in ``folder`` ({} when there are none)."""
    path = Path(folder) / f"{chapter}.json"
    try:
        records = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return records if isinstance(records, dict) else {}


def formatted(value: Any, fmt: str | None) -> str:
    """How a recorded value reads in the prose (``fmt`` as in the marker)."""
    if fmt:
        return format(value, fmt)
    if isinstance(value, float):
        return format(value, "g")
    return str(value)


def quoted(markdown: str) -> list[tuple[str, str, str | None]]:
    """``(number as written, key, format)`` for every marker in ``markdown``."""
    return [(m.group("number"), m.group("key"), m.group("fmt")) for m in MARKER.finditer(markdown)]


def mismatches(notebook: dict, chapter: str, folder: Path) -> list[str]:
    """Every quoted number of a notebook (its Markdown cells) that differs from its record."""
    records = load(chapter, folder)
    problems = []
    for index, cell in enumerate(notebook.get("cells", []), start=1):
        if cell.get("cell_type") != "markdown":
            continue
        text = "".join(cell.get("source", ""))
        for number, key, fmt in quoted(text):
            if key not in records:
                problems.append(f"{chapter} cell {index}: {key!r} has no record")
                continue
            expected = formatted(records[key], fmt)
            if number.replace(",", "").replace("−", "-") != expected:
                problems.append(
                    f"{chapter} cell {index}: the text says {number} for {key!r}, the record "
                    f"says {expected}"
                )
    return problems


def run(notebooks: list[str], folder: Path, timeout: float = 3600.0) -> int:
    """Execute ``notebooks`` in full mode, each with fresh records in ``folder`` (make measure)."""
    import os
    import time

    import nbformat
    from nbclient import NotebookClient

    folder.mkdir(parents=True, exist_ok=True)
    for name in notebooks:
        path = Path(name)
        (folder / f"{path.stem}.json").unlink(missing_ok=True)  # stale keys must go
        notebook = nbformat.read(path, as_version=4)
        started = time.perf_counter()
        client = NotebookClient(
            notebook,
            timeout=timeout,
            kernel_name="python3",
            resources={"metadata": {"path": str(path.parent)}},
        )
        client.execute(env={**os.environ, "VAE_COURSE_MEASURE": str(folder.resolve())})
        seconds = time.perf_counter() - started
        print(f"{path.name}: {len(load(path.stem, folder))} numbers recorded in {seconds:.0f} s")
    return 0


if __name__ == "__main__":  # make measure
    import sys

    sys.exit(run(sys.argv[1:], Path("solutions") / "measured"))


__all__ = ["formatted", "load", "mismatches", "quoted", "record", "run"]
