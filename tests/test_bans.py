"""Banned constructs: every ban is enforced with a message naming the construct and the
cell's line, in the notebook (``drills.check``) and in the grader's rebuild alike."""

from __future__ import annotations

import dataclasses
import linecache

import numpy as np
import pytest
import torch

from vae_course import drills
from vae_course.drills import bans, probe_runner
from vae_course.grading import judge
from vae_course.grading.notebook_code import NotebookCode

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

ALL = ("loops", "distributions", "vae_course", "imports")
FIXED = ("math", "time", "torch")


def _drill(**changes):
    """The pool's kl_per_dimension item with the bans of a problem part."""
    base = drills.get_drill("olympiad_code_kl_per_dimension")
    return dataclasses.replace(base, **{"bans": ALL, "allowed_modules": FIXED, **changes})


def _from_cell(source: str, cell: int, name: str, namespace: dict | None = None):
    """Define ``name`` as a notebook cell would (its source findable, its file the cell)."""
    filename = f"<notebook cell {cell}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    scope = {"__name__": "__main__", "torch": torch, **(namespace or {})}
    exec(compile(source, filename, "exec"), scope)
    return scope[name]


GOOD = """
import_note = "loops and distributions are fine in strings and comments"


def kl_per_dimension(mu, log_var):
    '''The KL between two distributions, per dimension (no for loop here).'''
    # for each dimension: ½(μ² + σ² − log σ² − 1), averaged over the batch
    return (0.5 * (mu**2 + log_var.exp() - log_var - 1)).mean(dim=0)
"""


def test_a_correct_answer_with_banned_words_in_strings_and_comments_passes():
    answer = _from_cell(GOOD, 4, "kl_per_dimension")
    result = _drill().check(answer)
    assert result.passed, result.feedback


@pytest.mark.parametrize(
    ("body", "ban", "construct", "line"),
    [
        (
            "    total = 0\n    for j in range(mu.shape[0]):\n        total = total + mu[j]\n"
            "    return total",
            "loops",
            "a `for` loop",
            5,
        ),
        ("    while False:\n        pass\n    return mu.mean(0)", "loops", "a `while` loop", 4),
        ("    return torch.stack([m for m in mu]).mean(0)", "loops", "a list comprehension", 4),
        ("    return sum(m for m in mu) / len(mu)", "loops", "a generator expression", 4),
        (
            "    q = torch.distributions.Normal(mu, (0.5 * log_var).exp())\n"
            "    return torch.distributions.kl_divergence(q, torch.distributions.Normal(0.0, 1.0)).mean(0)",
            "distributions",
            "`torch.distributions`",
            4,
        ),
        (
            "    D = getattr(torch, 'distributions')\n    return mu.mean(0)",
            "distributions",
            "the string 'distributions'",
            4,
        ),
        (
            "    import numpy\n    return mu.mean(0)",
            "imports",
            "an import (`import numpy`)",
            4,
        ),
        (
            "    from vae_course.losses import kl_divergence_per_dim\n"
            "    return kl_divergence_per_dim(mu, log_var).mean(0)",
            "vae_course",
            "`from vae_course.losses import kl_divergence_per_dim`",
            4,
        ),
        (
            "    return drills.get_drill('x').reference()(mu, log_var)",
            "vae_course",
            "`drills.get_drill`",
            4,
        ),
    ],
    ids=[
        "for",
        "while",
        "list_comprehension",
        "generator",
        "distributions",
        "getattr",
        "import",
        "vae_course_import",
        "drills_internals",
    ],
)
def test_each_ban_is_enforced_with_its_construct_and_line(body, ban, construct, line):
    source = "\n\ndef kl_per_dimension(mu, log_var):\n" + body + "\n"
    answer = _from_cell(source, 9, "kl_per_dimension", {"drills": drills})
    result = _drill().check(answer)
    assert result.status == "failed" and result.score == 0
    assert any(m.startswith("This part bans some constructs") for m in result.feedback)
    message = next(m for m in result.feedback if construct in m and m.startswith("Line"))
    assert message.startswith(f"Line {line} of cell 9 (`kl_per_dimension`)"), message
    assert bans.ADVICE[ban] in message


def test_a_module_imported_in_another_cell_is_not_a_fixed_import():
    answer = _from_cell(
        "def kl_per_dimension(mu, log_var):\n    return mu.mean(0) + 0 * np.pi\n",
        12,
        "kl_per_dimension",
        {"np": np},
    )
    result = _drill().check(answer)
    assert result.status == "failed"
    assert any(
        "Line 2 of cell 12" in m and "`np` (from `numpy`, not a fixed import)" in m
        for m in result.feedback
    ), result.feedback


def test_an_alias_of_torch_distributions_bound_elsewhere_is_seen():
    answer = _from_cell(
        "def kl_per_dimension(mu, log_var):\n    return D.Normal(mu, 1.0).mean.mean(0)\n",
        3,
        "kl_per_dimension",
        {"D": torch.distributions},
    )
    result = _drill().check(answer)
    assert any("`D` (from `torch.distributions`)" in m for m in result.feedback), result.feedback


def test_a_loop_hidden_in_a_helper_of_the_learners_is_found_with_the_helpers_line():
    source = (
        "def helper(mu):\n"
        "    return torch.stack([row for row in mu])\n"
        "\n"
        "\n"
        "def kl_per_dimension(mu, log_var):\n"
        "    return (0.5 * (helper(mu) ** 2 + log_var.exp() - log_var - 1)).mean(dim=0)\n"
    )
    answer = _from_cell(source, 5, "kl_per_dimension")
    result = _drill().check(answer)
    assert result.status == "failed"
    assert any(
        m.startswith("Line 2 of cell 5 (`helper`): a list comprehension") for m in result.feedback
    )


def test_a_class_answer_is_checked_method_by_method():
    source = (
        "class Model:\n"
        "    def forward(self, x):\n"
        "        return x\n"
        "\n"
        "    def helper(self, x):\n"
        "        while x.sum() > 0:\n"
        "            x = x - 1\n"
        "        return x\n"
    )
    model = _from_cell(source, 2, "Model")
    found = bans.find(bans.answer_source(model, "Model"), ("loops",))
    assert [(v.line, v.owner, v.construct) for v in found] == [
        (6, "Model.helper", "a `while` loop")
    ]


def test_the_grader_rebuild_reports_the_same_violations_as_the_notebook():
    """The same answer, rebuilt from the notebook's cells as the grader's sandbox does
    (probe runner) and judged as the grader's process does: the same messages."""
    import nbformat

    cells = [
        "import torch\nimport numpy as np",
        "SCALE = 0.5\n\n\ndef parity_kl(mu, log_var):\n"
        "    out = []\n    for row in mu:\n        out.append(row)\n"
        "    return SCALE * torch.stack(out).mean(0) + 0 * np.pi",
    ]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    code = NotebookCode(notebook)
    units, notes, _ = code.rebuild_units("parity_kl")
    drill = _drill(id="test_bans_parity", answer_name="parity_kl")
    drills.register(drill)
    item = {
        "drill": drill.id,
        "answer_name": "parity_kl",
        "units": [u.to_json() for u in units],
        "cells": {u.filename: code.cell_sources[u.filename] for u in units},
    }
    reply = probe_runner.observe_job(item, seed=5)
    verdict = judge.judge_observation(drill.id, reply, 5)
    assert verdict["score"] == 0
    messages = verdict["feedback"]
    assert any(m.startswith("Line 6 of cell 2 (`parity_kl`): a `for` loop") for m in messages)
    assert any("Line 8 of cell 2" in m and "`np` (from `numpy`" in m for m in messages)
    # the same answer checked in the notebook gives the same lines
    scope_answer = _from_cell(cells[1], 2, "parity_kl", {"np": np})
    notebook_result = drill.check(scope_answer, seed=5)
    assert notebook_result.feedback == messages


def test_unknown_bans_are_refused_at_declaration():
    with pytest.raises(ValueError, match="unknown ban"):
        _drill(bans=("goto",))


def test_cell_violations_find_imports_outside_the_fixed_cell():
    found = bans.cell_violations(
        "x = 1\nimport numpy as np\nfrom torch import nn\n", "cell 7", ("imports",)
    )
    assert [(v.line, v.construct) for v in found] == [
        (2, "an import (`import numpy as np`)"),
        (3, "an import (`from torch import nn`)"),
    ]
    assert found[0].message().startswith("Line 2 of cell 7: an import")
