"""The one-page formula sheet: what an olympiad contestant must know by heart.

``drills.formula_sheet()`` shows it in a notebook (Markdown with the formulas in Unicode);
``vae-course practice --formulas`` prints it in a terminal. The text is the package file
``formula_sheet.md`` next to this module: ELBO and its gap, the KL closed forms,
likelihoods and reductions, reparameterisation gradients, IWAE, β-VAE, annealing
schedules, free bits, capacity, collapse diagnostics, TC and MIG, applications.
"""

from __future__ import annotations

from pathlib import Path

SHEET = Path(__file__).resolve().parent / "formula_sheet.md"


class FormulaSheet:
    """The sheet's Markdown text; renders as Markdown in JupyterLab, as text elsewhere."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __str__(self) -> str:
        return self.text

    __repr__ = __str__

    def _repr_markdown_(self) -> str:
        return self.text


def formula_sheet() -> FormulaSheet:
    """The formula sheet (allowed in an exam: contests hand it out, nothing is solved)."""
    return FormulaSheet(SHEET.read_text(encoding="utf-8"))


__all__ = ["SHEET", "FormulaSheet", "formula_sheet"]
