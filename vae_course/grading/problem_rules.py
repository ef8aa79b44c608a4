"""The notebook-wide rule of an olympiad problem: no import outside its fixed cell.

A problem notebook (:class:`vae_course.drills.problem.Problem`) starts with a
DO-NOT-CHANGE cell holding exactly the problem's imports. Each part's own bans are judged
with the part (:mod:`vae_course.drills.bans`); this stage, run by the grader after the
parts are judged, has what a single answer does not: every cell. It reads them without
running anything (:class:`.notebook_code.NotebookCode`) and finds

* any import in any other cell (top level or inside a function), and
* any import added to the fixed cell, or a fixed cell that is missing or renamed (then
  every import counts as outside it);

and charges each to a part: the first part, in notebook order, whose answer is bound in
that cell or a later one (the part the learner was working on), else the last part. That
part scores 0, and its feedback names the import and its cell and line.
"""

from __future__ import annotations

import ast

from vae_course.drills import bans
from vae_course.drills.catalogue import PROBLEMS
from vae_course.drills.problem import FIXED_CELL_MARKER, Problem

from .notebook_code import NotebookCode


def _fixed_cell(code: NotebookCode) -> str | None:
    """The file name (``<notebook cell N>``) of the first code cell starting with the marker."""
    for filename, source in code.cell_sources.items():
        if source.lstrip().startswith(FIXED_CELL_MARKER):
            return filename
    return None


def _cell_number(filename: str) -> int:
    return int(filename.rsplit(" ", 1)[-1].rstrip(">"))


def violations(problem: Problem, code: NotebookCode) -> list[bans.Violation]:
    """The imports that break ``problem``'s rule, in notebook order."""
    fixed = _fixed_cell(code)
    found: list[bans.Violation] = []
    for filename, source in code.cell_sources.items():
        where = f"cell {_cell_number(filename)}"
        if filename != fixed:
            found += bans.cell_violations(source, where, ("imports",))
            continue
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                text = ast.get_source_segment(source, node) or ast.unparse(node)
                if not problem.import_is_fixed(text):
                    construct = f"an import added to the fixed cell (`{text[:80]}`)"
                    found.append(bans.Violation("imports", construct, node.lineno, where))
    return found


def _binding_cell(code: NotebookCode, name: str) -> int | None:
    cells = [s.cell for s in code.statements if name in _binds(s.node)]
    return cells[-1] if cells else None


def _binds(node: ast.stmt) -> set[str]:
    names: set[str] = set()
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        names.add(node.name)
    for sub in ast.walk(node) if isinstance(node, ast.Assign | ast.AnnAssign) else ():
        if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
            names.add(sub.id)
    return names


def apply(record: dict, code: NotebookCode, catalogue: list) -> None:
    """Zero the parts of ``record`` that a banned import belongs to (see the module
    docstring); ``catalogue`` is the assignment's drills (:class:`.submission.DrillInfo`)."""
    assigned = {d.id: d for d in catalogue}
    for problem in PROBLEMS:
        parts = [assigned[p] for p in problem.parts if p in assigned]
        if not parts:
            continue
        found = violations(problem, code)
        if not found:
            continue
        if _fixed_cell(code) is None:
            record.setdefault("notes", []).append(
                f"{problem.title}: the notebook has no cell starting with "
                f"'{FIXED_CELL_MARKER}', so every import counts as one outside the fixed cell."
            )
        bound = [(cell, part) for part in parts if (cell := _binding_cell(code, part.answer_name))]
        bound.sort(key=lambda item: item[0])
        if not bound:
            continue
        charged: dict[str, list[bans.Violation]] = {}
        for violation in found:
            cell = int(violation.where.split()[-1])
            part = next((p for c, p in bound if c >= cell), bound[-1][1])
            charged.setdefault(part.id, []).append(violation)
        for drill_id, lines in charged.items():
            verdict = record["drills"].get(drill_id)
            if verdict is None:
                continue
            before = f"{verdict.get('score', 0):g}/{verdict.get('max_score', 0):g}"
            verdict.update(status="failed", score=0.0)
            verdict["feedback"] = [
                f"{problem.title} allows only the imports of its DO-NOT-CHANGE cell; these "
                f"imports count against this part (the next graded part after them), which "
                f"earns 0 instead of {before}:",
                *(v.message() for v in lines[:5]),
            ]


__all__ = ["apply", "violations"]
