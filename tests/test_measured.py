"""The prose agrees with the measurements: every quoted number equals its recorded value.

Chapters quote measured numbers with a marker (``97.3<!--m:test_nelbo:.1f-->``) and record
them with :func:`vae_course.measured.record` during ``make measure`` (full mode); the
records are ``solutions/measured/NN_topic.json``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vae_course import measured

ROOT = Path(__file__).resolve().parents[1]
RECORDS = ROOT / "solutions" / "measured"
NOTEBOOKS = sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb")) + sorted(
    (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")
)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_quoted_number_equals_its_record(path):
    notebook = json.loads(path.read_text(encoding="utf-8"))
    assert measured.mismatches(notebook, path.stem, RECORDS) == []


def test_markers_are_found_with_their_formats():
    text = "keeps **64**<!--m:active_64--> units; −ELBO 97.31<!--m:nelbo:.2f--> and 0.5<!-- m:x -->"
    assert measured.quoted(text) == [
        ("64", "active_64", None),
        ("97.31", "nelbo", ".2f"),
        ("0.5", "x", None),
    ]


def test_a_changed_number_is_caught(tmp_path):
    (tmp_path / "01_x.json").write_text(json.dumps({"flips": 0.42, "count": 7}))
    cell = {"cell_type": "markdown", "source": ["0.42<!--m:flips--> and 8<!--m:count-->"]}
    problems = measured.mismatches({"cells": [cell]}, "01_x", tmp_path)
    assert problems == ["01_x cell 1: the text says 8 for 'count', the record says 7"]
    cell["source"] = ["0.42<!--m:flips--> and 7<!--m:count--> and 1<!--m:missing-->"]
    assert measured.mismatches({"cells": [cell]}, "01_x", tmp_path) == [
        "01_x cell 1: 'missing' has no record"
    ]


def test_recording_happens_only_during_make_measure(tmp_path, monkeypatch):
    monkeypatch.delenv("VAE_COURSE_MEASURE", raising=False)
    monkeypatch.delenv("VAE_COURSE_FAST", raising=False)
    assert measured.record("01_x", "a", 1.5) == 1.5
    assert not list(tmp_path.iterdir())
    monkeypatch.setenv("VAE_COURSE_MEASURE", str(tmp_path))
    monkeypatch.setenv("VAE_COURSE_FAST", "1")
    measured.record("01_x", "a", 1.5)
    assert not list(tmp_path.iterdir())  # fast-mode numbers are never recorded
    monkeypatch.delenv("VAE_COURSE_FAST")
    measured.record("01_x", "a", 1.5)
    measured.record("01_x", "b", 3)
    assert measured.load("01_x", tmp_path) == {"a": 1.5, "b": 3}
    with pytest.raises(TypeError):
        measured.record("01_x", "c", [1, 2])
