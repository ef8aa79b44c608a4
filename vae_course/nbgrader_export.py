"""``vae-course export nbgrader COURSE_DIR [--chapters 02,04]``: the course for nbgrader.

Teachers who run JupyterHub grade with nbgrader. This writes an nbgrader course directory::

    COURSE_DIR/nbgrader_config.py
    COURSE_DIR/source/<chapter>/<chapter>.ipynb      e.g. source/04_elbo/04_elbo.ipynb

one assignment per chapter, made from the worked solution ``solutions/<chapter>.ipynb``.
The teacher then runs nbgrader as usual, in COURSE_DIR: ``nbgrader generate_assignment
04_elbo``, hands out ``release/``, and ``nbgrader autograde 04_elbo`` on ``submitted/``.
The kernel that nbgrader runs needs ``vae-course`` installed (the test cells import it).

How a solution notebook becomes an nbgrader source notebook (:func:`nbgrader_notebook`):

* A cell with ``### BEGIN SOLUTION`` ... ``### END SOLUTION`` regions (the course's markers,
  which are nbgrader's own) becomes a solution cell: an "autograded answer" for code, a
  "manually graded answer" worth 0 points for markdown (a written reflection; give it points
  in ``source/`` if you grade it). nbgrader replaces each region by its stub
  (``raise NotImplementedError()``); the exercise's label (``Exercise 4.1: ...``) is kept as
  a comment above it. A top-level region that only assigns an answer value also gets
  ``name = ...`` before it, as in the course's student notebooks, so the drills of later
  cells say "not attempted" instead of failing on an undefined name.
* Each drill checked in the chapter (a ``drills.check("id", answer)`` call) gets a locked
  "autograder tests" cell right after the first cell that checks it, worth the drill's
  ``max_score``. It calls ``drills.check`` on the learner's answer, prints the drill's
  feedback, fails (0 points) when the result earns nothing, and otherwise ends with the
  score, which nbgrader takes as partial credit: nbgrader's points for a drill are the
  drill's own score, as in ``vae-course grade``. The cell silences warnings and stderr
  while checking, because nbgrader gives 0 to a test cell that writes to stderr.
* The text "BEGIN SOLUTION" / "END SOLUTION" outside a region (a chapter explaining the
  markers) is written with a no-break space, which renders the same, so that nbgrader, which
  looks for the text anywhere in a line, does not take it for a region.
* The notebook keeps ``metadata.vae_course.source`` (``solutions/04_elbo.ipynb``), by which
  ``vae-course grade`` knows the chapter of a submission.

Existing files are never overwritten (a teacher may have edited ``source/``) unless
``--force``. Only the drills' public API is used: ``all_drills()``, ``.id``,
``.answer_name``, ``.max_score``.
"""

from __future__ import annotations

import argparse
import ast
import copy
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from vae_course import __version__
from vae_course.authoring import BEGIN_MARKER, END_MARKER, MarkerError, Region, find_regions
from vae_course.course_files import CourseFilesError, chapter_notebooks, solutions_dir
from vae_course.storage import atomic_write_text

FORMATS = ("nbgrader",)
SCHEMA_VERSION = 3
NO_BREAK_SPACE = "\u00a0"
# nbgrader finds its delimiters anywhere in a line (ClearSolutions: `delimiter in line`).
NBGRADER_DELIMITERS = ("BEGIN SOLUTION", "END SOLUTION")
_EXERCISE = re.compile(r"^Exercise\s+(\d+(?:\.\d+)*)", re.IGNORECASE)

NBGRADER_CONFIG = '''\
"""nbgrader configuration for the vae-course assignments (written by vae-course export).

Run nbgrader in this folder: nbgrader generate_assignment 04_elbo, then
nbgrader autograde 04_elbo. The kernel needs vae-course installed (pip install vae-course).
"""

c = get_config()  # noqa: F821 - provided by nbgrader

c.CourseDirectory.course_id = "vae-course"
# A chapter trains small models on the CPU: give each cell up to 10 minutes.
c.Execute.timeout = 600
'''

TEST_CELL = """\
# Autograded by nbgrader: drill "{drill_id}", {points:g} points; the drill's score is this cell's.
import contextlib
import io
import warnings

from vae_course import drills

with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
    warnings.simplefilter("ignore")  # nbgrader gives 0 to a test cell that writes to stderr
    _drill_result = drills.check("{drill_id}", {answer_name}, record=False)
print(_drill_result)
assert _drill_result.score > 0, _drill_result.headline()
_drill_result.score"""


class ExportError(ValueError):
    """The export cannot be written as asked; the message says why and what to do."""


@dataclass
class ExportedChapter:
    """One chapter written as an nbgrader assignment."""

    assignment: str
    path: Path
    drills: list[str] = field(default_factory=list)
    points: float = 0.0
    solution_cells: int = 0

    def __str__(self) -> str:
        drills = ", ".join(self.drills) or "no drills"
        return (
            f"{self.path}: {self.solution_cells} solution cell(s), "
            f"{len(self.drills)} autograded drill(s) worth {self.points:g} points ({drills})"
        )


# ----------------------------------------------------------------------------- cells


def _nbgrader_metadata(grade_id: str, *, solution: bool, grade: bool, points: float = 0.0):
    meta = {
        "grade": grade,
        "grade_id": grade_id,
        "locked": grade and not solution,
        "schema_version": SCHEMA_VERSION,
        "solution": solution,
        "task": False,
    }
    if grade:
        meta["points"] = points
    return meta


def _python_source(source: str) -> str:
    """Cell source as plain Python (IPython magics and ``!shell`` lines transformed)."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:  # IPython comes with ipykernel; without it, parse as it is
        return source
    return TransformerManager().transform_cell(source)


def _parse(source: str) -> ast.Module | None:
    try:
        return ast.parse(_python_source(source))
    except SyntaxError:
        return None


def _checked_drills(tree: ast.Module) -> list[tuple[str, str | None]]:
    """``(drill id, answer name or None)`` of each ``drills.check("id", answer, ...)``."""
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if not (isinstance(node.func.value, ast.Name) and node.func.value.id == "drills"):
            continue
        if node.func.attr != "check" or not node.args:
            continue
        first = node.args[0]
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            second = node.args[1] if len(node.args) > 1 else None
            found.append((first.value, second.id if isinstance(second, ast.Name) else None))
    return found


def _value_names(body: str) -> list[str]:
    """Names assigned by a region made only of ``name = value`` statements, else []."""
    tree = _parse(body)
    if tree is None or not tree.body:
        return []
    names: list[str] = []
    for statement in tree.body:
        if not isinstance(statement, ast.Assign):
            return []
        for target in statement.targets:
            if not isinstance(target, ast.Name):
                return []
            if target.id not in names:
                names.append(target.id)
    return names


def _escape_delimiters(line: str) -> str:
    for delimiter in NBGRADER_DELIMITERS:
        line = line.replace(delimiter, delimiter.replace(" ", NO_BREAK_SPACE))
    return line


def _solution_source(source: str, cell_type: str, regions: list[Region]) -> str:
    """The cell with plain nbgrader markers, exercise labels and value stubs before them."""
    lines = source.splitlines(keepends=True)
    starts = {region.begin: region for region in regions}
    ends = {region.end for region in regions}
    out: list[str] = []
    for index, line in enumerate(lines):
        newline = "\n" if line.endswith("\n") else ""
        region = starts.get(index)
        if region is not None:
            if cell_type == "code":
                if region.text:
                    out.append(f"{region.indent}# {region.text}\n")
                if region.indent == "":
                    body = "".join(lines[region.begin + 1 : region.end])
                    out.extend(f"{name} = ...\n" for name in _value_names(body))
            out.append(f"{region.indent}{BEGIN_MARKER}\n")
        elif index in ends:
            out.append(f"{line[: len(line) - len(line.lstrip())]}{END_MARKER}{newline}")
        else:
            out.append(_escape_delimiters(line))
    return "".join(out)


def _grade_id(regions: list[Region], cell_index: int, used: set[str]) -> str:
    match = _EXERCISE.match(regions[0].text) if regions else None
    base = f"exercise_{match.group(1).replace('.', '_')}" if match else f"cell_{cell_index}"
    grade_id, number = base, 2
    while grade_id in used:
        grade_id, number = f"{base}_{number}", number + 1
    used.add(grade_id)
    return grade_id


def _test_cell(drill, cell_id_base: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(
        TEST_CELL.format(
            drill_id=drill.id, answer_name=drill.answer_name, points=float(drill.max_score)
        )
    )
    cell.id = f"{cell_id_base}-test"[:64]
    cell.metadata["nbgrader"] = _nbgrader_metadata(
        f"drill_{drill.id}", solution=False, grade=True, points=float(drill.max_score)
    )
    cell.metadata["deletable"] = False
    cell.metadata["editable"] = False
    return cell


def nbgrader_notebook(
    solution: nbformat.NotebookNode, source: str, drills: list
) -> tuple[nbformat.NotebookNode, list[str], int]:
    """An nbgrader source notebook made from one solution notebook.

    ``source`` is the solution's path as the course records it (``solutions/04_elbo.ipynb``),
    ``drills`` the drill objects to look for. Returns the notebook, the ids of the drills
    that got a test cell (in notebook order) and the number of solution cells. Raises
    :class:`MarkerError` on a malformed solution marker.
    """
    by_id = {drill.id: drill for drill in drills}
    notebook = copy.deepcopy(solution)
    cells: list[nbformat.NotebookNode] = []
    tested: list[str] = []
    used_ids: set[str] = set()
    solution_cells = 0
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        regions = find_regions(cell.source, cell.cell_type, source, index)
        if regions:
            solution_cells += 1
            cell.source = _solution_source(cell.source, cell.cell_type, regions)
            markdown = cell.cell_type == "markdown"
            cell.metadata["nbgrader"] = _nbgrader_metadata(
                _grade_id(regions, index, used_ids), solution=True, grade=markdown
            )
        elif cell.cell_type != "raw":
            cell.source = "".join(
                _escape_delimiters(line) for line in cell.source.splitlines(keepends=True)
            )
        cells.append(cell)
        if cell.cell_type != "code":
            continue
        tree = _parse(cell.source)
        if tree is None:
            continue
        for drill_id, answer in _checked_drills(tree):
            drill = by_id.get(drill_id)
            if drill is None or drill_id in tested:
                continue
            if answer is not None and answer != drill.answer_name:
                continue  # e.g. drills.check("id", a_deliberate_mistake) in a demo
            tested.append(drill_id)
            cells.append(_test_cell(drill, str(cell.get("id") or f"cell-{index}")))
    notebook.cells = cells
    notebook.metadata["vae_course"] = {
        "version": __version__,
        "source": source,
        "export": "nbgrader",
    }
    notebook.metadata.setdefault(
        "kernelspec",
        {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
    )
    return notebook, tested, solution_cells


# ----------------------------------------------------------------------------- the export


def export_nbgrader(
    course_dir: str | Path,
    *,
    chapters: list[str] | None = None,
    solutions: str | Path | None = None,
    force: bool = False,
) -> list[ExportedChapter]:
    """Write the nbgrader course directory; one :class:`ExportedChapter` per chapter.

    Raises :class:`ExportError` when a file it would write exists (unless ``force``), a
    chapter is unknown, or a solution notebook is unreadable or has a malformed marker;
    nothing is written then.
    """
    from vae_course import drills as drill_registry

    try:
        solutions = Path(solutions) if solutions else solutions_dir()
    except CourseFilesError as error:
        raise ExportError(str(error)) from error
    if not solutions.is_dir():
        raise ExportError(f"{solutions} is not a folder of solution notebooks")
    course_dir = Path(course_dir).expanduser()
    if course_dir.exists() and not course_dir.is_dir():
        raise ExportError(f"{course_dir} exists and is not a folder")
    try:
        chosen = chapter_notebooks(solutions, chapters)
    except CourseFilesError as error:
        raise ExportError(str(error)) from error
    catalogue = drill_registry.all_drills()
    planned: list[tuple[ExportedChapter, str]] = []
    for path in chosen:
        try:
            solution = nbformat.read(path, as_version=4)
            notebook, tested, solution_cells = nbgrader_notebook(
                solution, f"solutions/{path.name}", catalogue
            )
        except MarkerError as error:
            raise ExportError(f"{path}: {error}") from error
        except (OSError, ValueError) as error:
            raise ExportError(f"{path} is not a readable notebook ({error})") from error
        points = sum(float(d.max_score) for d in catalogue if d.id in tested)
        target = course_dir / "source" / path.stem / path.name
        chapter = ExportedChapter(path.stem, target, tested, points, solution_cells)
        planned.append((chapter, nbformat.writes(notebook) + "\n"))
    config_path = course_dir / "nbgrader_config.py"
    existing = [c.path for c, _ in planned if c.path.exists()]
    if existing and not force:
        listed = ", ".join(str(p) for p in existing)
        raise ExportError(
            f"{listed} already exist(s) and may hold your edits: pass --force to replace, "
            "or export into another folder"
        )
    try:
        if force or not config_path.exists():
            atomic_write_text(config_path, NBGRADER_CONFIG)
        for chapter, text in planned:
            atomic_write_text(chapter.path, text)
    except OSError as error:
        raise ExportError(f"cannot write into {course_dir}: {error}") from error
    return [chapter for chapter, _ in planned]


# ----------------------------------------------------------------------------- command line


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``vae-course export``."""
    parser.add_argument("format", choices=FORMATS, help="what to export for (nbgrader)")
    parser.add_argument("course_dir", metavar="COURSE_DIR", help="the nbgrader course folder")
    parser.add_argument(
        "--chapters",
        default=None,
        metavar="NN,NN",
        help="chapters to export, e.g. 02,04 or 04_elbo (default: all)",
    )
    parser.add_argument(
        "--solutions",
        default=None,
        metavar="DIR",
        help="the solution notebooks (default: solutions/ of this clone)",
    )
    parser.add_argument(
        "--force", action="store_true", help="replace source notebooks that already exist"
    )


def run(args: argparse.Namespace) -> int:
    """Export, print one line per assignment and the nbgrader commands to run next."""
    chapters = [c for c in args.chapters.split(",") if c.strip()] if args.chapters else None
    try:
        exported = export_nbgrader(
            args.course_dir, chapters=chapters, solutions=args.solutions, force=args.force
        )
    except ExportError as error:
        print(f"vae-course export: {error}", file=sys.stderr)
        return 2
    for chapter in exported:
        print(chapter)
    first = exported[0].assignment
    print(f"Wrote {len(exported)} assignment(s) and nbgrader_config.py in {args.course_dir}.")
    print(
        f"Next, in {args.course_dir}: nbgrader generate_assignment {first}, hand out "
        f"release/{first}, then nbgrader autograde {first}."
    )
    return 0
