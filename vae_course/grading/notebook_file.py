"""A submission's file as a notebook: parsed with limits, or refused with a reason.

:func:`read_notebook` never trusts the file: it refuses what is too large, not UTF-8, not
JSON, nested deeper than any notebook, or not a notebook, with a message for the learner
(:class:`InvalidNotebook`); the grader then files the submission as ``invalid-notebook``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from pathlib import Path

MAX_NOTEBOOK_BYTES = 50 * 2**20  # a course notebook without outputs is well under 1 MB
MAX_JSON_DEPTH = 64  # nbformat's own nesting is under 10 levels


class InvalidNotebook(ValueError):
    """The file cannot be read as a Jupyter notebook (message says why, for the learner)."""


def read_notebook(data: bytes):
    """Parse ``data`` as a notebook (nbformat 4), or raise :class:`InvalidNotebook`."""
    import nbformat

    if len(data) > MAX_NOTEBOOK_BYTES:
        raise InvalidNotebook(
            f"the file is larger than {MAX_NOTEBOOK_BYTES // 2**20} MB; clear its outputs "
            "(Edit → Clear Outputs of All Cells) and save it again"
        )
    if not data.strip():
        raise InvalidNotebook("the file is empty")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidNotebook("the file is not UTF-8 text; is it really a .ipynb?") from None
    if _nesting(text) > MAX_JSON_DEPTH:
        raise InvalidNotebook(
            f"the JSON is nested more than {MAX_JSON_DEPTH} levels deep, which no notebook is"
        )
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidNotebook(
            f"the file is not valid JSON (line {error.lineno}: {error.msg}); "
            "save it again from JupyterLab"
        ) from None
    except RecursionError:
        raise InvalidNotebook("the JSON is nested too deeply to be a notebook") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("cells", raw.get("worksheets")), list):
        raise InvalidNotebook("the JSON is not a Jupyter notebook (it has no list of cells)")
    try:
        with contextlib.redirect_stderr(open(os.devnull, "w")):  # noqa: SIM115
            notebook = nbformat.reads(text, as_version=4)
    except (Exception, RecursionError) as error:  # nbformat raises many types for damaged files
        raise InvalidNotebook(
            f"nbformat cannot read it ({type(error).__name__}: {str(error)[:200]})"
        ) from None
    for cell in notebook.cells:
        if not isinstance(cell, dict) or not isinstance(cell.get("source", ""), str):
            raise InvalidNotebook("a cell has no readable source")
    return notebook


def _nesting(text: str) -> int:
    """The deepest nesting of brackets outside JSON strings (without parsing)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def notebook_metadata(notebook) -> dict:
    """The notebook's top-level metadata (a plain dict, possibly empty)."""
    metadata = notebook.get("metadata") or {}
    return dict(metadata) if isinstance(metadata, dict) else {}


def chapter_of(metadata: dict) -> str | None:
    """The chapter a student notebook was built for, e.g. "04".

    Read from ``metadata.vae_course.source`` (``"solutions/04_elbo.ipynb"``), which
    ``vae-course build`` records; None for notebooks without it.
    """
    course = metadata.get("vae_course") if isinstance(metadata, dict) else None
    source = course.get("source") if isinstance(course, dict) else None
    if not isinstance(source, str):
        return None
    match = re.match(r"(\d+)_", Path(source).name)
    return f"{int(match.group(1)):02d}" if match else None
