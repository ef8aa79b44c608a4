"""The olympiad problem notebooks (chapters 10 and 11): 100 points in 5-point parts, their
new drills, the fixed import cell and the bans as the classroom grader enforces them.

The untouched solution and student notebooks are graded with every chapter in
tests/test_grading_honest.py (full marks, and no answers); here one notebook that breaks
each rule is graded in the sandbox, and the rules are checked without it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from vae_course import drills, grading
from vae_course.drills.catalogue import PROBLEMS
from vae_course.grading import problem_rules
from vae_course.grading.notebook_code import NotebookCode
from vae_course.grading.submission import DrillInfo

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = {
    "vae-from-scratch": "10_problem_vae_from_scratch",
    "collapse-and-beta": "11_problem_collapse_and_beta",
}


@pytest.mark.parametrize("problem", PROBLEMS, ids=lambda p: p.name)
def test_a_problem_is_100_points_in_twenty_5_point_parts_of_its_chapter(problem):
    parts = [drills.get_drill(p) for p in problem.parts]
    assert len(parts) == 20 and problem.points == 100
    assert all(d.max_score == 5 and d.chapter == problem.chapter for d in parts)
    assert {d.id for d in drills.all_drills() if d.chapter == problem.chapter} == set(problem.parts)
    kinds = {d.kind for d in parts}
    assert {"numeric", "choice", "function", "module", "experiment"} & kinds >= {
        "numeric",
        "function",
        "experiment",
    }
    code = [d for d in parts if d.runs_code]
    assert all({"vae_course", "imports"} <= set(d.bans) for d in code)
    assert any("loops" in d.bans for d in code) and any("distributions" in d.bans for d in code)


@pytest.mark.parametrize("problem", PROBLEMS, ids=lambda p: p.name)
def test_the_handed_out_notebook_asks_for_exactly_the_problems_parts(problem):
    student = ROOT / "notebooks" / f"{NOTEBOOKS[problem.name]}.ipynb"
    asked = grading.handout_drills(grading.drill_catalogue(), [student])
    assert sorted(asked) == sorted(problem.parts)
    notebook = nbformat.read(str(student), as_version=4)
    first_code = next(c for c in notebook.cells if c.cell_type == "code")
    assert first_code.source == problem.fixed_cell()
    assert problem_rules.violations(problem, NotebookCode(notebook)) == []


# ----------------------------------------------------------------------------- new drills


class _ConvEncoder(nn.Module):
    def __init__(self, latent_dim):
        super().__init__()
        self.conv = nn.Sequential(nn.Conv2d(1, 4, 4, 2, 1), nn.ReLU(), nn.Flatten())
        self.out = nn.Linear(4 * 14 * 14, 2 * latent_dim)

    def forward(self, x):
        mu, log_var = self.out(self.conv(x)).chunk(2, dim=1)
        return mu, log_var


class _TanhEncoder(nn.Module):
    def __init__(self, latent_dim):
        super().__init__()
        self.hidden = nn.Linear(784, 64)
        self.mu, self.log_var = nn.Linear(64, latent_dim), nn.Linear(64, latent_dim)

    def forward(self, x):
        h = torch.tanh(self.hidden(x.reshape(len(x), -1)))
        return self.mu(h), self.log_var(h)


class _Decoder(nn.Module):
    def __init__(self, latent_dim):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(latent_dim, 64), nn.Tanh(), nn.Linear(64, 784))

    def forward(self, z):
        return self.net(z).reshape(-1, 1, 28, 28)


class _ConvDecoder(nn.Module):
    def __init__(self, latent_dim):
        super().__init__()
        self.fc = nn.Linear(latent_dim, 4 * 7 * 7)
        self.up = nn.ConvTranspose2d(4, 1, 4, stride=4)

    def forward(self, z):
        return self.up(torch.relu(self.fc(z)).view(-1, 4, 7, 7))


class _Vae(nn.Module):
    def __init__(self, latent_dim):
        super().__init__()
        self.encoder, self.decoder = _TanhEncoder(latent_dim), _Decoder(latent_dim)

    def forward(self, x):
        mu, log_var = self.encoder(x)
        z = mu + (0.5 * log_var).exp() * torch.randn_like(mu)
        return self.decoder(z), mu, log_var


class _DeterministicEvalVae(_Vae):
    def forward(self, x):
        mu, log_var = self.encoder(x)
        z = mu + (0.5 * log_var).exp() * torch.randn_like(mu) if self.training else mu
        return self.decoder(z), mu, log_var


def _step_sum(model, optimizer, x):
    optimizer.zero_grad()
    logits, mu, log_var = model(x)
    rec = F.binary_cross_entropy_with_logits(logits, x, reduction="sum")
    kl = -0.5 * torch.sum(1 + log_var - mu**2 - log_var.exp())
    loss = (rec + kl) / x.shape[0]
    loss.backward()
    optimizer.step()
    return float(loss)


def _step_softplus(model, optimizer, x):
    optimizer.zero_grad(set_to_none=True)
    logits, mu, log_var = model(x)
    rec = (F.softplus(logits) - x * logits).flatten(1).sum(1)
    kl = 0.5 * (mu**2 + log_var.exp() - log_var - 1).sum(1)
    loss = (rec + kl).mean()
    loss.backward()
    optimizer.step()
    return loss.item()


def _beta_step(model, optimizer, x, beta):
    optimizer.zero_grad()
    logits, mu, log_var = model(x)
    rec = F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)
    loss = (rec + beta * 0.5 * (mu**2 + log_var.exp() - log_var - 1).sum(1)).mean()
    loss.backward()
    optimizer.step()
    return loss.item()


def _beta_step_split(model, optimizer, x, beta):
    optimizer.zero_grad()
    logits, mu, log_var = model(x)
    rec = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / len(x)
    kl = (0.5 * (mu**2 + log_var.exp() - log_var - 1)).sum() / len(x)
    (rec + beta * kl).backward()
    optimizer.step()
    return (rec + beta * kl).item()


def _tc_cholesky(cov):
    chol = torch.linalg.cholesky(cov)
    return float(torch.log(torch.diagonal(cov)).sum() / 2 - torch.log(torch.diagonal(chol)).sum())


def _tc_correlation(cov):
    std = torch.diagonal(cov).sqrt()
    return float(-0.5 * torch.logdet(cov / std[:, None] / std[None, :]))


def _tc_slogdet(cov):
    return 0.5 * (torch.diagonal(cov).log().sum() - torch.linalg.slogdet(cov)[1]).item()


CORRECT = {
    "p1_encoder": [_ConvEncoder, _TanhEncoder],
    "p1_decoder": [_Decoder, _ConvDecoder],
    "p1_vae": [_Vae, _DeterministicEvalVae],
    "p1_train_step": [_step_sum, _step_softplus],
    "p2_beta_step": [_beta_step, _beta_step_split],
    "p2_gaussian_tc": [_tc_cholesky, _tc_correlation, _tc_slogdet],
}


@pytest.mark.parametrize(
    ("drill_id", "answer"),
    [(k, f) for k, fs in CORRECT.items() for f in fs],
    ids=lambda v: getattr(v, "__name__", v),
)
def test_correct_answers_to_the_new_parts_pass(drill_id, answer):
    result = drills.check(drill_id, answer, record=False)
    assert result.passed, result.feedback


def test_a_part_made_from_a_drill_keeps_its_checks_under_its_own_name():
    part = drills.get_drill("p1_kl_to_prior")
    assert part.answer_name == "kl_to_prior" and "`kl_to_prior(" in part.prompt
    assert "no Python loops" in part.prompt and part.max_score == 5
    assert {m.id for m in part.mistakes} >= {"missing_half", "sum_over_batch"}
    assert "numpy_result" not in {m.id for m in part.mistakes}  # the import ban reports it


# ----------------------------------------------------------------------------- the rules


def _cells(path: Path) -> list[nbformat.NotebookNode]:
    return nbformat.read(str(path), as_version=4).cells


def _breaking_notebook() -> nbformat.NotebookNode:
    """The problem 1 solution with an import added to the fixed cell, an import in a cell
    of its own before part 8, a loop in part 6 and torch.distributions in part 7."""
    notebook = nbformat.read(str(ROOT / "solutions" / "10_problem_vae_from_scratch.ipynb"), 4)
    cells = notebook.cells
    cells[1].source += "\nimport numpy"
    for cell in cells:
        if cell.source.startswith("def kl_to_prior"):
            cell.source = (
                "def kl_to_prior(mu, log_var):\n"
                "    total = 0\n"
                "    for j in range(mu.shape[1]):\n"
                "        total = total + 0.5 * (mu[:, j] ** 2 + log_var[:, j].exp() - log_var[:, j] - 1)\n"
                "    return total\n"
            )
        elif cell.source.startswith("def sample_z"):
            cell.source = (
                "def sample_z(mu, log_var):\n"
                "    return torch.distributions.Normal(mu, torch.exp(0.5 * log_var)).rsample()\n"
            )
    position = next(i for i, c in enumerate(cells) if c.source.startswith("def reconstruction_nll"))
    cells.insert(position, nbformat.v4.new_code_cell("import numpy as np\nprint(np.pi)"))
    return notebook


def _catalogue() -> list[DrillInfo]:
    return [d for d in grading.drill_catalogue() if d.chapter == "10"]


def test_imports_outside_the_fixed_cell_are_charged_to_the_next_part_without_running_anything():
    notebook = _breaking_notebook()
    code = NotebookCode(notebook)
    problem = PROBLEMS[0]
    found = problem_rules.violations(problem, code)
    import_cell = next(
        i for i, c in enumerate(notebook.cells, 1) if c.source.startswith("import numpy")
    )
    fixed_line = len(notebook.cells[1].source.splitlines())
    assert [(v.where, v.line, v.construct) for v in found] == [
        ("cell 2", fixed_line, "an import added to the fixed cell (`import numpy`)"),
        (f"cell {import_cell}", 1, "an import (`import numpy as np`)"),
    ]
    record = {
        "drills": {
            d.id: {"status": "passed", "score": 5.0, "max_score": 5.0, "feedback": []}
            for d in _catalogue()
        },
        "notes": [],
    }
    problem_rules.apply(record, code, _catalogue())
    zeroed = {k: v for k, v in record["drills"].items() if v["score"] == 0}
    assert set(zeroed) == {"p1_kl_scalar", "p1_reconstruction_nll"}
    assert (
        f"Line {fixed_line} of cell 2: an import added to the fixed cell"
        in zeroed["p1_kl_scalar"]["feedback"][1]
    )
    assert (
        f"Line 1 of cell {import_cell}: an import (`import numpy as np`)"
        in (zeroed["p1_reconstruction_nll"]["feedback"][1])
    )


def test_a_notebook_without_its_fixed_cell_has_every_import_charged():
    notebook = nbformat.read(str(ROOT / "solutions" / "10_problem_vae_from_scratch.ipynb"), 4)
    notebook.cells[1].source = notebook.cells[1].source.replace("# DO NOT CHANGE", "# my imports")
    found = problem_rules.violations(PROBLEMS[0], NotebookCode(notebook))
    assert len(found) == len(PROBLEMS[0].fixed_imports)


def test_the_grader_enforces_every_ban_in_a_graded_problem_notebook(tmp_path):
    """Graded in the sandbox: the parts that break a rule earn 0 with a message naming the
    construct, its cell and its line; every other part keeps its full marks."""
    notebook = _breaking_notebook()
    submissions = tmp_path / "submissions"
    submissions.mkdir()
    nbformat.write(notebook, submissions / "mallory_10.ipynb")
    rows = grading.grade(
        [submissions], tmp_path / "out", chapters=["10"], timeout=600, jobs=1, progress=False
    )
    (row,) = rows
    cell_of = {c.source.split("(")[0]: i for i, c in enumerate(notebook.cells, 1)}
    fixed_line = len(notebook.cells[1].source.splitlines())
    expected_zero = {
        "p1_kl_scalar": f"Line {fixed_line} of cell 2: an import added to the fixed cell",
        "p1_reconstruction_nll": "an import (`import numpy as np`)",
        "p1_kl_to_prior": f"Line 3 of cell {cell_of['def kl_to_prior']} (`kl_to_prior`): a `for` loop",
        "p1_sample_z": f"Line 2 of cell {cell_of['def sample_z']} (`sample_z`): `torch.distributions`",
        # a banned construct in a helper counts for every part that uses the helper
        "p1_elbo_loss": f"Line 3 of cell {cell_of['def kl_to_prior']} (`kl_to_prior`): a `for` loop",
        "p1_vae": f"Line 2 of cell {cell_of['def sample_z']} (`sample_z`): `torch.distributions`",
    }
    for drill_id, message in expected_zero.items():
        verdict = row.drills[drill_id]
        assert verdict["score"] == 0, (drill_id, verdict)
        assert any(message in line for line in verdict["feedback"]), (drill_id, verdict["feedback"])
    others = [d for d in PROBLEMS[0].parts if d not in expected_zero]
    assert all(row.drills[d]["score"] == 5 for d in others), {d: row.drills[d] for d in others}
    assert row.total == 70 and row.max_total == 100
    (page,) = (tmp_path / "out" / "feedback").glob("*.md")
    feedback = page.read_text()
    assert "a `for` loop" in feedback and "torch.distributions" in feedback


def test_problem_notebooks_hold_no_import_outside_their_fixed_cell():
    for problem in PROBLEMS:
        for folder in ("solutions", "notebooks"):
            path = ROOT / folder / f"{NOTEBOOKS[problem.name]}.ipynb"
            code = NotebookCode(nbformat.read(str(path), as_version=4))
            assert problem_rules.violations(problem, code) == [], path


def test_the_problem_notebooks_are_graded_by_chapter_with_a_column_per_part(tmp_path):
    """The gradebook's columns for --chapter 10 are the 20 parts, in problem order."""
    catalogue = grading.drill_catalogue()
    columns = grading.assignment(catalogue, ["10"], None)
    assert [d.id for d in columns] == list(PROBLEMS[0].parts)
    assert sum(d.max_score for d in columns) == 100
    assert json.dumps([d.id for d in columns])  # plain data for the gradebook
    shutil.rmtree(tmp_path, ignore_errors=True)
