"""IOAI-style contest tasks: the ramp, the data and its private split, the metrics, and
classes graded end to end in the sandbox (anchors, verdicts, a submission hunting for the
private split, the leaderboard)."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch

from vae_course import contest
from vae_course.contest import data, metrics
from vae_course.contest.grader import course_references
from vae_course.grading.notebook_code import NotebookCode

# Grades batches of notebooks in sandboxes with two jobs: make test runs this file in its
# second phase, alone on the cores (see the Makefile).
pytestmark = [
    pytest.mark.grading_batch,
    pytest.mark.filterwarnings("ignore::UserWarning", "ignore::FutureWarning"),
]
SECRET = 987_654_321


# ----------------------------------------------------------------------------- rules


def test_ramp_endpoints_midpoint_clipping_and_direction():
    assert contest.ramp(200.0, baseline=200.0, reference=100.0) == 0.0
    assert contest.ramp(100.0, baseline=200.0, reference=100.0) == 100.0
    assert contest.ramp(150.0, baseline=200.0, reference=100.0) == pytest.approx(50.0)
    assert contest.ramp(80.0, baseline=200.0, reference=100.0) == 100.0
    assert contest.ramp(300.0, baseline=200.0, reference=100.0) == 0.0
    assert contest.ramp(0.75, baseline=0.5, reference=1.0) == pytest.approx(50.0)
    assert contest.ramp(math.nan, baseline=200.0, reference=100.0) == 0.0
    with pytest.raises(ValueError):
        contest.ramp(1.0, baseline=2.0, reference=2.0)


def test_three_kinds_each_with_an_at_home_round_and_an_on_site_continuation():
    kinds = {}
    for task in contest.TASKS.values():
        kinds.setdefault(task.kind, {})[task.round] = task
        assert task.higher_is_better == (task.reference > task.baseline)
        assert contest.notebook_path(task.kind, "baseline").is_file()
        assert contest.notebook_path(task.kind, "reference").is_file()
    assert set(kinds) == set(contest.KINDS) and len(kinds) >= 3
    for rounds in kinds.values():
        home, onsite = rounds["at-home"], rounds["on-site"]
        assert onsite.continues == home.name
        assert onsite.settings != home.settings  # other data or another target


def test_no_shipped_notebook_uses_the_course_package():
    for kind in contest.KINDS:
        for role in contest.ROLES:
            notebook = nbformat.read(str(contest.notebook_path(kind, role)), as_version=4)
            assert course_references(NotebookCode(notebook)) == []


def test_any_mention_of_the_course_package_is_found_with_its_line():
    notebook = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell("import torch\nfrom vae_course.models import VAE"),
            nbformat.v4.new_code_cell("x = 1\nname = 'vae_course.train'"),
        ]
    )
    found = course_references(NotebookCode(notebook))
    assert found[0].startswith("Line 2 of cell 1: `from vae_course.models import VAE`")
    assert found[-1].startswith("Line 2 of cell 2: the string 'vae_course.train'")


# ----------------------------------------------------------------------------- data


def test_pools_are_disjoint_and_the_data_does_not_depend_on_fast_mode(monkeypatch):
    pools = data.pools()
    sets = [set(p.tolist()) for p in pools.values()]
    assert sum(len(s) for s in sets) == 5000 and len(set().union(*sets)) == 5000
    task = contest.get_task("compressor-home")
    monkeypatch.setenv("VAE_COURSE_FAST", "1")
    fast = data.training_data(task)["images"]
    monkeypatch.setenv("VAE_COURSE_FAST", "0")
    assert torch.equal(fast, data.training_data(task)["images"])


@pytest.mark.parametrize("name", sorted(contest.TASKS))
def test_the_private_split_comes_from_its_seed_alone(name):
    task = contest.get_task(name)
    first, again = data.private_split(task, 5), data.private_split(task, 5)
    other = data.private_split(task, 6)
    for key in first.inputs:
        assert torch.equal(first.inputs[key], again.inputs[key])
    differs = any(not torch.equal(first.inputs[k], other.inputs[k]) for k in first.inputs)
    assert differs
    public = data.public_split(task)
    if "images" in public.inputs:  # no private image is a public one
        flat_public = {tuple(row) for row in public.inputs["images"].flatten(1)[:, ::7].tolist()}
        flat_private = {tuple(row) for row in first.inputs["images"].flatten(1)[:, ::7].tolist()}
        assert not flat_public & flat_private


def test_the_anomaly_splits_hold_30_percent_anomalies_and_their_labels_stay_out_of_the_inputs():
    for name in ("anomaly-home", "anomaly-onsite"):
        split = data.private_split(contest.get_task(name), 11)
        assert set(split.inputs) == {"images"}
        assert split.truth["is_anomaly"].float().mean() == pytest.approx(0.3, abs=0.01)
    home = contest.get_task("anomaly-onsite")
    assert set(data.digits()[1][data.pools()["train"]].tolist()) == set(range(10))
    train = data.training_data(home)["images"]
    assert len(train) < 0.6 * 3000  # digits 0-4 only


def test_public_files_are_exactly_what_the_learner_may_see(tmp_path):
    task = contest.get_task("anomaly-home")
    written = contest.write_task(task, tmp_path)
    assert sorted(p.name for p in written) == sorted(
        ["train.pt", "public.pt", "task.json", "submission.ipynb"]
    )
    info = json.loads((tmp_path / "data" / "task.json").read_text())
    assert info["name"] == "anomaly-home" and "seed" not in json.dumps(info).lower()
    public = torch.load(tmp_path / "data" / "public.pt")
    assert set(public) == {"images", "is_anomaly"}
    assert torch.equal(public["images"], data.public_split(task).inputs["images"])


# ----------------------------------------------------------------------------- metrics


def test_roc_auc_counts_pairs_and_ties():
    scores = torch.tensor([0.9, 0.5, 0.5, 0.1])
    assert metrics.roc_auc(scores, torch.tensor([1, 1, 0, 0])) == pytest.approx(0.875)
    assert metrics.roc_auc(-scores, torch.tensor([1, 1, 0, 0])) == pytest.approx(0.125)


def test_the_compressor_metric_is_the_negative_elbo_from_outputs():
    g = torch.Generator().manual_seed(0)
    images = torch.rand(4, 1, 28, 28, generator=g)
    mu, log_var = torch.randn(4, 3, generator=g), torch.randn(4, 3, generator=g) * 0.1
    logits = torch.randn(4, 1, 28, 28, generator=g)
    result = metrics.compressor_metric(
        {"logits": logits.double().numpy()}, images, mu.double(), log_var.double(), kl_budget=1.0
    )
    bce = torch.nn.functional.binary_cross_entropy_with_logits(logits, images, reduction="sum") / 4
    kl = (0.5 * (mu**2 + log_var.exp() - log_var - 1)).sum() / 4
    assert result["metric"] == pytest.approx(float(bce + kl), rel=1e-5)
    assert result["over_budget"] == (float(kl) > 1.0)
    with pytest.raises(metrics.PresentationError, match="shape"):
        metrics.compressor_metric({"logits": np.zeros((4, 784))}, images, mu, log_var, 1.0)


def test_copies_of_one_image_per_class_are_a_presentation_error():
    labels = torch.arange(10).repeat_interleave(5)
    copies = torch.rand(10, 1, 28, 28)[labels]
    with pytest.raises(metrics.PresentationError, match="barely vary"):
        metrics.conditional_metric({"images": copies.double().numpy()}, labels, real_spread=0.3)


# ----------------------------------------------------------------------------- graded


def _copy(folder: Path, kind: str, role: str, name: str) -> Path:
    target = folder / f"{name}.ipynb"
    shutil.copyfile(contest.notebook_path(kind, role), target)
    return target


def _notebook(folder: Path, name: str, *cells: str) -> Path:
    path = folder / f"{name}.ipynb"
    nbformat.write(
        nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells]), path
    )
    return path


HUNTER = r'''
import importlib
import os

import torch
from torch import nn

SEARCH_ROOTS = ["/", "/tmp", "~", ".."]
SKIP = ("/usr", "/lib", "/lib64", "/bin", "/sbin", "/proc", "/sys", "/dev", "/etc")


def hunt(length):
    """Anything that could be the private split's answers: a 0/1 tensor of this length."""
    found = [v for k, v in os.environ.items() if "SEED" in k.upper() or "PRIVATE" in k.upper()]
    for name in ("vae" + "_course.contest.data", "vae" + "_course"):
        try:
            importlib.import_module(name)
            found.append(name)
        except Exception:
            pass
    seen = 0
    for root in SEARCH_ROOTS:
        for folder, dirs, files in os.walk(os.path.expanduser(root)):
            dirs[:] = [d for d in dirs if not os.path.join(folder, d).startswith(SKIP)]
            for file in files:
                seen += 1
                if seen > 20000:
                    return None, found
                if not file.endswith((".pt", ".pth")):
                    continue
                try:
                    loaded = torch.load(os.path.join(folder, file), weights_only=True)
                except Exception:
                    continue
                values = loaded.values() if isinstance(loaded, dict) else [loaded]
                for value in values:
                    if isinstance(value, torch.Tensor) and value.shape == (length,) and (
                        set(value.unique().tolist()) <= {0, 1}
                    ):
                        return value.float(), found
    return None, found


class Model(nn.Module):
    """Scores images with whatever it finds; at random when it finds nothing."""

    def __init__(self):
        super().__init__()
        self.register_buffer("unused", torch.zeros(1))

    def score(self, x):
        leaked, _ = hunt(len(x))
        if leaked is not None:
            return leaked
        return torch.rand(len(x), generator=torch.Generator().manual_seed(len(x)))
'''


def test_the_hunter_would_exploit_a_leak_if_there_were_one(tmp_path):
    """Positive control: put the answers where it looks and the hunter scores AUC 1."""
    split = data.private_split(contest.get_task("anomaly-home"), SECRET)
    torch.save({"answers": split.truth["is_anomaly"]}, tmp_path / "leak.pt")
    scope: dict = {"__name__": "hunter"}
    exec(compile(HUNTER, "<hunter>", "exec"), scope)  # the test's own code, in this process
    scope["SEARCH_ROOTS"][:] = [str(tmp_path)]
    scores = scope["Model"]().score(split.inputs["images"])
    assert metrics.roc_auc(scores, split.truth["is_anomaly"]) == 1.0


@pytest.fixture(scope="module")
def anomaly_class(tmp_path_factory):
    folder = tmp_path_factory.mktemp("anomaly-class")
    subs = folder / "submissions"
    subs.mkdir()
    _copy(subs, "anomaly", "baseline", "baseline_anomaly")
    _copy(subs, "anomaly", "reference", "reference_anomaly")
    hunter = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(HUNTER),
            nbformat.v4.new_code_cell(
                "leaked, found = hunt(500)\nprint(found, leaked is not None)\n"
                "torch.save(Model().state_dict(), 'submission.pt')"
            ),
        ]
    )
    nbformat.write(hunter, subs / "hunter_anomaly.ipynb")
    rows = contest.grade_class([subs], "anomaly-home", folder / "out", secret_seed=SECRET, jobs=2)
    return {row["student"]: row for row in rows}, folder / "out"


def test_baseline_and_reference_score_0_and_100_on_the_public_split(anomaly_class):
    rows, _ = anomaly_class
    assert rows["baseline"]["verdict"] == rows["reference"]["verdict"] == contest.OK
    assert rows["baseline"]["scores"]["public"] == pytest.approx(0.0, abs=1.0)
    assert rows["reference"]["scores"]["public"] == pytest.approx(100.0, abs=1.0)


def test_a_submission_hunting_for_the_private_split_scores_no_better_than_chance(anomaly_class):
    rows, _ = anomaly_class
    hunter = rows["hunter"]
    assert hunter["verdict"] == contest.OK, hunter
    assert 0.35 < hunter["metrics"]["private"] < 0.65  # chance, not the AUC 1 of a leak
    assert hunter["scores"]["private"] == 0.0


def test_the_leaderboard_ranks_by_private_score_and_never_writes_the_secret(anomaly_class):
    rows, out = anomaly_class
    lines = (out / "leaderboard.csv").read_text().splitlines()
    assert lines[0].startswith("rank,student,verdict,public_metric,public_score,private_metric")
    assert lines[1].split(",")[1] == "reference"
    for path in out.rglob("*"):
        if path.is_file():
            assert str(SECRET) not in path.read_text(errors="replace"), path
    assert "Private split" in (out / "leaderboard.md").read_text()


@pytest.mark.parametrize("name", ["compressor-home", "conditional-home", "anomaly-onsite"])
def test_the_anchors_of_other_tasks_hold(name, tmp_path):
    task = contest.get_task(name)
    subs = tmp_path / "submissions"
    subs.mkdir()
    _copy(subs, task.kind, "baseline", f"baseline_{task.kind}")
    _copy(subs, task.kind, "reference", f"reference_{task.kind}")
    rows = {r["student"]: r for r in contest.grade_class([subs], task, tmp_path / "out", jobs=2)}
    assert rows["baseline"]["scores"]["public"] == pytest.approx(0.0, abs=1.0), rows["baseline"]
    assert rows["reference"]["scores"]["public"] == pytest.approx(100.0, abs=1.0), rows["reference"]


VERDICT_CELLS = {
    "loops": ("while True:\n    pass",),
    "raises": ("import torch\nx = 1 / 0",),
    "nosave": ("import torch\nx = 1",),
    "course": ("from vae_course import models",),
    "bigmodel": (
        "import torch\nfrom torch import nn\n\n\nclass Model(nn.Module):\n"
        "    def __init__(self):\n        super().__init__()\n"
        "        self.register_buffer('w', torch.zeros(300_000))\n\n"
        "    def score(self, x):\n        return x.flatten(1).sum(1)\n",
        "torch.save(Model().state_dict(), 'submission.pt')",
    ),
    "noclass": ("import torch\ntorch.save({'w': torch.zeros(3)}, 'submission.pt')",),
    "badshape": (
        "import torch\nfrom torch import nn\n\n\nclass Model(nn.Module):\n"
        "    def score(self, x):\n        return x.flatten(1)\n",
        "torch.save(Model().state_dict(), 'submission.pt')",
    ),
}
EXPECTED = {
    "loops": contest.TIME_LIMIT,
    "raises": contest.RUNTIME_ERROR,
    "nosave": contest.PRESENTATION_ERROR,
    "course": contest.RULE_VIOLATION,
    "bigmodel": contest.OVER_BUDGET,
    "noclass": contest.PRESENTATION_ERROR,
    "badshape": contest.PRESENTATION_ERROR,
}


def test_every_verdict_with_its_message(tmp_path):
    """The endless loop runs under a 3-second limit; the others under a limit that a loaded
    machine's kernel start cannot reach (they finish in seconds), so only the loop times out."""
    rows = []
    for name, limit in (("slow", 3), ("fast", 150)):
        subs = tmp_path / name
        subs.mkdir()
        for student, cells in VERDICT_CELLS.items():
            if (student == "loops") == (name == "slow"):
                _notebook(subs, f"{student}_x", *cells)
        rows += contest.grade_class([subs], "anomaly-home", tmp_path / f"out-{name}", timeout=limit)
    verdicts = {row["student"]: (row["verdict"], row["message"]) for row in rows}
    assert {k: v[0] for k, v in verdicts.items()} == EXPECTED, verdicts
    assert "within 3 s" in verdicts["loops"][1]
    assert "ZeroDivisionError" in verdicts["raises"][1]
    assert "submission.pt" in verdicts["nosave"][1]
    assert "Line 1 of cell 1" in verdicts["course"][1]
    assert "300,000 parameters" in verdicts["bigmodel"][1]
    assert "Model" in verdicts["noclass"][1]
    assert "shape" in verdicts["badshape"][1]
    assert all(row["scores"] == {"public": 0.0, "private": 0.0} for row in rows)


def test_the_command_line_lists_tasks_writes_data_and_refuses_bad_seeds(tmp_path):
    from vae_course import cli

    def run(*args):
        return subprocess.run(
            [sys.executable, "-m", "vae_course.cli", "contest", *args],
            capture_output=True,
            text=True,
            timeout=300,
        )

    listed = run("tasks")
    assert listed.returncode == 0 and "compressor-onsite" in listed.stdout
    written = run("data", "--task", "anomaly-onsite", "--dir", str(tmp_path / "task"))
    assert written.returncode == 0, written.stderr
    assert (tmp_path / "task" / "submission.ipynb").is_file()
    assert sorted(p.name for p in (tmp_path / "task" / "data").iterdir()) == [
        "public.pt",
        "task.json",
        "train.pt",
    ]
    labels = data.training_data(contest.get_task("conditional-onsite"))["labels"]
    assert (labels >= 0).float().mean() == pytest.approx(0.1, abs=0.01)
    assert (
        cli.main(
            [
                "contest",
                "grade",
                str(tmp_path),
                "--task",
                "anomaly-home",
                "--out",
                "x",
                "--secret-seed",
                "-1",
            ]
        )
        == 2
    )
