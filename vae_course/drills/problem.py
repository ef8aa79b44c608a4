"""USAAIO-style problems: one storyline of 5-point parts under one fixed import cell.

A :class:`Problem` is a declaration (in a catalogue file, like the drills it orders): its
parts are ordinary drills of any kind, in the order the notebook asks them (hand
computation, implementation from scratch, training under a budget, analysis); together
they are worth 100 points. The notebook opens with a cell that starts with
:data:`FIXED_CELL_MARKER` and holds exactly the ``fixed_imports``: nothing else may be
imported anywhere.

Where the rules are enforced:

* a code part's own bans (loops, ``torch.distributions``, ``vae_course``, imports outside
  ``allowed_modules``) are judged from its source by the drill itself, in the notebook and
  in the grader alike (:mod:`vae_course.drills.bans`);
* the notebook-wide rule (no import outside the fixed cell, the fixed cell unchanged) is
  the classroom grader's, which has every cell (:mod:`vae_course.grading.problem_rules`):
  a violation costs the part it belongs to.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass

FIXED_CELL_MARKER = "# DO NOT CHANGE"
PART_POINTS = 5.0


@dataclass(frozen=True)
class Problem:
    """A problem notebook's declaration.

    ``parts``: the drill ids in notebook order; ``fixed_imports``: the import statements of
    the DO-NOT-CHANGE cell, as source; ``allowed_modules``: what answers may refer to
    (the fixed imports without the course's package, which answers may not use).
    """

    name: str
    chapter: str
    title: str
    parts: tuple[str, ...]
    fixed_imports: tuple[str, ...]
    allowed_modules: tuple[str, ...]

    def __post_init__(self) -> None:
        if len(set(self.parts)) != len(self.parts):
            raise ValueError(f"problem {self.name!r} lists a part twice")
        for line in self.fixed_imports:
            tree = ast.parse(line)
            if not all(isinstance(n, ast.Import | ast.ImportFrom) for n in tree.body):
                raise ValueError(f"problem {self.name!r}: {line!r} is not an import")

    @property
    def points(self) -> float:
        """The problem's total (5 points a part)."""
        return PART_POINTS * len(self.parts)

    def fixed_cell(self) -> str:
        """The source of the DO-NOT-CHANGE cell the notebook starts with."""
        header = (
            f"{FIXED_CELL_MARKER}: the imports of this problem. Any other import, in any cell, "
            "costs the\n# part it belongs to its points; answers may not use `vae_course` "
            "(the checkers are fine)."
        )
        groups: dict[int, list[str]] = {0: [], 1: [], 2: []}
        for line in self.fixed_imports:
            groups[_section(line)].append(line)
        blocks = ["\n".join(lines) for _, lines in sorted(groups.items()) if lines]
        return header + "\n" + "\n\n".join(blocks)

    def import_is_fixed(self, statement: str) -> bool:
        """True when an import statement (source) is one of the fixed imports."""
        normal = _normal(statement)
        return any(normal == _normal(line) for line in self.fixed_imports)


def _section(statement: str) -> int:
    """isort's sections: 0 the standard library, 1 third-party, 2 the course."""
    node = ast.parse(statement).body[0]
    module = node.names[0].name if isinstance(node, ast.Import) else (node.module or "")
    root = module.split(".")[0]
    if root == "vae_course":
        return 2
    return 0 if root in sys.stdlib_module_names else 1


def _normal(statement: str) -> str:
    try:
        return ast.unparse(ast.parse(statement.strip()))
    except SyntaxError:
        return statement.strip()


__all__ = ["FIXED_CELL_MARKER", "PART_POINTS", "Problem"]
