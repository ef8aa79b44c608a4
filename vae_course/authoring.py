"""``vae-course build``: generate the student notebooks in ``notebooks/`` from ``solutions/``.

``solutions/NN_topic.ipynb`` is the only place a notebook is written. Code a learner must
write sits between two marker lines::

    def kl_divergence(mu, log_var):
        ### BEGIN SOLUTION Exercise 4.1: return the KL of each example, shape (B,)
        return 0.5 * (mu.pow(2) + log_var.exp() - log_var - 1).sum(dim=1)
        ### END SOLUTION

The build replaces each region by a stub, at the indentation of its ``BEGIN`` line:

* code: ``raise NotImplementedError("Exercise 4.1: return the KL ...")``; the text after
  ``### BEGIN SOLUTION`` becomes the message (prefixed with ``Exercise <chapter>.<k>:`` when it
  does not start with "Exercise"), else ``"Exercise <chapter>.<k>: complete this code"``;
* a top-level region made only of simple assignments (an answer value): one
  ``name = ...`` line per assigned name, under a comment with the exercise label;
* markdown: ``*Your answer here*`` (markers inside fenced code blocks are left alone, so a
  chapter can show the markers in an example).

A code cell with a region gets the ``raises-exception`` tag (nbval then accepts the stub's
exception) and every cell with a region records where its stubs are, in
``cell.metadata["vae_course"]["stubs"]`` (``[first_line, n_lines]`` pairs, 0-based), so tools can
put solutions back (:func:`restore_solutions`). Outputs and execution counts are stripped from
both versions, cell ids are copied from the solution, and the notebook metadata records
``{"vae_course": {"version": ..., "source": "solutions/NN_topic.ipynb"}}``. The files are
written byte-stably (nbformat's sorted keys, indent 1, a trailing newline) so ``--check`` can
compare bytes.

``vae-course build`` also rewrites a solution in place when it carries outputs or execution
counts, so authors can run solutions in Jupyter and then ``make build``.
``vae-course build --check`` writes nothing and fails, naming each notebook, on any drift.
A malformed marker is an error naming the notebook, the cell and the line; nothing is written
for that notebook.
"""

from __future__ import annotations

import argparse
import ast
import copy
import json
import re
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat.corpus.words import generate_corpus_id

from vae_course import __version__
from vae_course.storage import atomic_write_text

BEGIN_MARKER = "### BEGIN SOLUTION"
END_MARKER = "### END SOLUTION"
MARKDOWN_STUB = "*Your answer here*"
RAISES_TAG = "raises-exception"
METADATA_KEY = "vae_course"
FIX = "run `make build`"
LINE_LENGTH = 100  # ruff's line length: a longer stub is wrapped the way `ruff format` wraps it

# A line that looks like a marker but is not exactly one (a typo would leak a solution).
_NEAR_MISS = re.compile(r"^#+\s*(BEGIN|END)[\s_-]*SOLUTIONS?\b", re.IGNORECASE)
_FENCE = re.compile(r"^\s*(```|~~~)")
_CHAPTER = re.compile(r"^(\d+)")
# Cell metadata written by Jupyter front-ends that only records a session's state.
_VOLATILE_CELL_METADATA = ("execution", "ExecuteTime")
_DEFAULT_KERNELSPEC = {
    "display_name": "Python 3 (ipykernel)",
    "language": "python",
    "name": "python3",
}


class MarkerError(ValueError):
    """A malformed ``### BEGIN SOLUTION`` / ``### END SOLUTION`` marker.

    Attributes: ``notebook`` (its name), ``cell_index`` (0-based, counting every cell),
    ``line`` (1-based, inside the cell) and ``problem`` (what is wrong).
    """

    def __init__(self, notebook: str, cell_index: int, cell_type: str, line: int, problem: str):
        self.notebook = notebook
        self.cell_index = cell_index
        self.cell_type = cell_type
        self.line = line
        self.problem = problem
        self.detail = (
            f"cell {cell_index} ({cell_type}), line {line}: {problem}. "
            "Fix the markers in the solution; nothing was built for this notebook."
        )
        super().__init__(f"{notebook}: {self.detail}")


@dataclass(frozen=True)
class Region:
    """One solution region of a cell: line indices (0-based) of its two markers.

    ``begin`` is the ``### BEGIN SOLUTION`` line, ``end`` the ``### END SOLUTION`` line,
    ``indent`` the BEGIN line's leading whitespace and ``text`` whatever follows the marker.
    """

    begin: int
    end: int
    indent: str
    text: str


@dataclass(frozen=True)
class Finding:
    """One thing ``build`` did or found, about one file.

    ``kind`` is one of ``wrote``, ``stripped``, ``removed`` (changes made by a build) or
    ``error``, ``missing``, ``stale``, ``extra``, ``unstripped`` (problems).
    """

    path: str
    kind: str
    message: str

    @property
    def is_problem(self) -> bool:
        return self.kind not in {"wrote", "stripped", "removed"}

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


# --------------------------------------------------------------------------- markers


def find_regions(
    source: str, cell_type: str, notebook: str = "?", cell_index: int = 0
) -> list[Region]:
    """Return the solution regions of one cell's ``source``, in order.

    Raises :class:`MarkerError` for a BEGIN without END, an END without BEGIN, a BEGIN inside
    a region, a marker in a raw cell, or a line that looks like a marker but is not exactly
    ``### BEGIN SOLUTION [text]`` / ``### END SOLUTION``. In markdown cells, lines inside
    fenced code blocks are not markers.
    """
    regions: list[Region] = []
    open_begin: tuple[int, str, str] | None = None
    in_fence = False

    def error(line_index: int, problem: str) -> MarkerError:
        return MarkerError(notebook, cell_index, cell_type, line_index + 1, problem)

    for index, line in enumerate(source.splitlines()):
        if cell_type == "markdown" and _FENCE.match(line):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        stripped = line.strip()
        kind = _marker_kind(stripped)
        if kind is None:
            continue
        if cell_type == "raw":
            raise error(index, "solution markers are not allowed in a raw cell")
        if kind == "near-miss":
            raise error(
                index,
                f"{stripped!r} looks like a solution marker; write exactly "
                f"'{BEGIN_MARKER} [text]' or '{END_MARKER}'",
            )
        if kind == "begin":
            if open_begin is not None:
                raise error(
                    index,
                    f"nested {BEGIN_MARKER} (the region opened on line {open_begin[0] + 1} "
                    "has no END yet)",
                )
            indent = line[: len(line) - len(line.lstrip())]
            open_begin = (index, indent, stripped[len(BEGIN_MARKER) :].strip())
        else:
            if open_begin is None:
                raise error(index, f"{END_MARKER} without a {BEGIN_MARKER} before it")
            begin, indent, text = open_begin
            regions.append(Region(begin=begin, end=index, indent=indent, text=text))
            open_begin = None
    if open_begin is not None:
        raise error(open_begin[0], f"{BEGIN_MARKER} without a matching {END_MARKER}")
    return regions


def _marker_kind(stripped: str) -> str | None:
    if stripped == END_MARKER:
        return "end"
    if stripped.startswith(BEGIN_MARKER):
        rest = stripped[len(BEGIN_MARKER) :]
        if rest == "" or rest[0].isspace():
            return "begin"
        return "near-miss"
    if _NEAR_MISS.match(stripped):
        return "near-miss"
    return None


# --------------------------------------------------------------------------- stubs


def _exercise_label(text: str, chapter: int | None, ordinal: int, default: str) -> str:
    number = f"{chapter}.{ordinal}" if chapter is not None else f"{ordinal}"
    if not text:
        return f"Exercise {number}: {default}"
    if text.lower().startswith("exercise"):
        return text
    return f"Exercise {number}: {text}"


def _assigned_names(body: str) -> list[str] | None:
    """Names assigned by a region made only of simple assignments, else None."""
    try:
        tree = ast.parse(textwrap.dedent(body))
    except SyntaxError:
        return None
    if not tree.body:
        return None
    names: list[str] = []

    def add_target(target: ast.expr) -> bool:
        if isinstance(target, ast.Name):
            if target.id not in names:
                names.append(target.id)
            return True
        if isinstance(target, (ast.Tuple, ast.List)):
            return all(add_target(element) for element in target.elts)
        return False

    for statement in tree.body:
        if isinstance(statement, ast.Assign):
            if not all(add_target(target) for target in statement.targets):
                return None
        elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
            if not add_target(statement.target):
                return None
        else:
            return None
    return names


def _raise_lines(indent: str, message: str) -> list[str]:
    literal = json.dumps(message, ensure_ascii=False)  # a valid Python string literal
    one_line = f"{indent}raise NotImplementedError({literal})"
    if len(one_line) <= LINE_LENGTH:
        return [one_line]
    return [f"{indent}raise NotImplementedError(", f"{indent}    {literal}", f"{indent})"]


def stub_for(
    region: Region, body: str, cell_type: str, chapter: int | None, ordinal: int
) -> list[str]:
    """The stub lines (without newlines) that replace one region in the student notebook."""
    if cell_type == "markdown":
        return [MARKDOWN_STUB]
    names = _assigned_names(body) if region.indent == "" else None
    if names:
        label = _exercise_label(region.text, chapter, ordinal, "set your answer")
        return [f"# {label}"] + [f"{name} = ..." for name in names]
    label = _exercise_label(region.text, chapter, ordinal, "complete this code")
    return _raise_lines(region.indent, label)


def _chapter_number(name: str) -> int | None:
    match = _CHAPTER.match(name)
    return int(match.group(1)) if match else None


def student_notebook(solution: nbformat.NotebookNode, source: str) -> nbformat.NotebookNode:
    """Return the student version of a (normalised) solution notebook.

    ``source`` is the solution's path as recorded in the metadata, e.g.
    ``"solutions/04_elbo.ipynb"``; its leading digits give the chapter number used in
    generated exercise labels. Raises :class:`MarkerError` on a malformed marker.
    """
    notebook_name = Path(source).name
    chapter = _chapter_number(notebook_name)
    student = copy.deepcopy(solution)
    ordinal = 0
    for index, cell in enumerate(student.cells):
        regions = find_regions(cell.source, cell.cell_type, source, index)
        if not regions:
            continue
        lines = cell.source.splitlines(keepends=True)
        new_lines: list[str] = []
        spans: list[list[int]] = []
        position = 0
        for region in regions:
            ordinal += 1
            new_lines.extend(lines[position : region.begin])
            body = "".join(lines[region.begin + 1 : region.end])
            stub = stub_for(region, body, cell.cell_type, chapter, ordinal)
            end_has_newline = lines[region.end].endswith(("\n", "\r"))
            spans.append([len(new_lines), len(stub)])
            new_lines.extend(
                line + ("\n" if i < len(stub) - 1 or end_has_newline else "")
                for i, line in enumerate(stub)
            )
            position = region.end + 1
        new_lines.extend(lines[position:])
        cell.source = "".join(new_lines)
        cell.metadata[METADATA_KEY] = {"stubs": spans}
        if cell.cell_type == "code":
            tags = list(cell.metadata.get("tags", []))
            if RAISES_TAG not in tags:
                tags.append(RAISES_TAG)
            cell.metadata["tags"] = tags
    student.metadata[METADATA_KEY] = {"version": __version__, "source": source}
    return student


def restore_solutions(student: nbformat.NotebookNode, solution: nbformat.NotebookNode) -> list[str]:
    """Put the solution regions back into a generated student notebook; return cell sources.

    Each stub span recorded in a student cell's metadata is replaced by the matching region
    of ``solution`` (its BEGIN line, body and END line). For a notebook built by
    :func:`student_notebook` the result equals ``[cell.source for cell in solution.cells]``;
    that round trip is how the tests show the build changes nothing outside the regions.
    """
    if len(student.cells) != len(solution.cells):
        raise ValueError(
            f"the student notebook has {len(student.cells)} cells and the solution "
            f"{len(solution.cells)}: they do not come from the same build"
        )
    sources = []
    for index, (student_cell, solution_cell) in enumerate(
        zip(student.cells, solution.cells, strict=True)
    ):
        spans = student_cell.metadata.get(METADATA_KEY, {}).get("stubs", [])
        regions = find_regions(solution_cell.source, solution_cell.cell_type, "solution", index)
        if len(spans) != len(regions):
            raise ValueError(
                f"cell {index}: {len(spans)} stubs but {len(regions)} solution regions"
            )
        student_lines = student_cell.source.splitlines(keepends=True)
        solution_lines = solution_cell.source.splitlines(keepends=True)
        restored: list[str] = []
        position = 0
        for (first, count), region in zip(spans, regions, strict=True):
            restored.extend(student_lines[position:first])
            restored.extend(solution_lines[region.begin : region.end + 1])
            position = first + count
        restored.extend(student_lines[position:])
        sources.append("".join(restored))
    return sources


# --------------------------------------------------------------------------- files


def normalise(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Return a copy without outputs, execution counts or session-only metadata.

    Code cells get ``outputs = []`` and ``execution_count = None``; cells without an id get
    one (nbformat 4.5); ``metadata.widgets`` (saved widget state) and
    ``metadata.language_info.version`` (the author's Python) are dropped; a kernelspec is
    added when missing.
    """
    notebook = copy.deepcopy(notebook)
    notebook.nbformat = 4
    notebook.nbformat_minor = max(5, int(notebook.get("nbformat_minor", 0)))
    for cell in notebook.cells:
        if not cell.get("id"):
            cell["id"] = generate_corpus_id()
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        for key in _VOLATILE_CELL_METADATA:
            cell.metadata.pop(key, None)
    notebook.metadata.pop("widgets", None)
    if isinstance(notebook.metadata.get("language_info"), dict):
        notebook.metadata.language_info.pop("version", None)
    notebook.metadata.setdefault("kernelspec", nbformat.from_dict(_DEFAULT_KERNELSPEC))
    return notebook


def dumps(notebook: nbformat.NotebookNode) -> str:
    """The notebook as nbformat writes it (sorted keys, indent 1) plus a trailing newline."""
    return nbformat.writes(notebook, version=4) + "\n"


def has_outputs(notebook: nbformat.NotebookNode) -> bool:
    """True when any code cell carries outputs or an execution count."""
    return any(
        cell.cell_type == "code"
        and (cell.get("outputs") or cell.get("execution_count") is not None)
        for cell in notebook.cells
    )


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _read(path: Path) -> nbformat.NotebookNode:
    notebook = nbformat.read(str(path), as_version=4)
    nbformat.validate(notebook)
    return notebook


def _first_difference(expected: str, actual: str) -> str:
    try:
        old = nbformat.reads(actual, as_version=4)
        new = nbformat.reads(expected, as_version=4)
    except Exception:  # unreadable: the whole file differs
        return "it is not a readable notebook"
    if len(old.cells) != len(new.cells):
        return f"it has {len(old.cells)} cells, the solution gives {len(new.cells)}"
    for index, (a, b) in enumerate(zip(old.cells, new.cells, strict=True)):
        if a != b:
            return f"cell {index} differs"
    if old.metadata != new.metadata:
        return "its metadata differs (built by another vae_course version?)"
    return "its formatting differs"


def _build_one(solution_path: Path, student_path: Path, source: str, check: bool) -> list[Finding]:
    shown_solution, shown_student = _display(solution_path), _display(student_path)
    try:
        original = solution_path.read_text(encoding="utf-8")
        solution = normalise(_read(solution_path))
        student = student_notebook(solution, source)
    except MarkerError as error:
        return [Finding(shown_solution, "error", error.detail)]
    except Exception as error:  # unreadable JSON, invalid nbformat
        return [Finding(shown_solution, "error", f"cannot read this notebook ({error})")]

    findings = []
    solution_text, student_text = dumps(solution), dumps(student)
    if original != solution_text:
        if check:
            if has_outputs(nbformat.reads(original, as_version=4)):
                reason = "has outputs or execution counts committed; strip outputs: " + FIX
            else:
                reason = "is not normalised (cell ids, session metadata or formatting); " + FIX
            findings.append(Finding(shown_solution, "unstripped", reason))
        else:
            atomic_write_text(solution_path, solution_text)
            findings.append(
                Finding(shown_solution, "stripped", "stripped outputs and session metadata")
            )
    current = student_path.read_text(encoding="utf-8") if student_path.exists() else None
    if current == student_text:
        return findings
    if check:
        if current is None:
            findings.append(
                Finding(
                    shown_student, "missing", f"missing (generated from {shown_solution}); {FIX}"
                )
            )
        else:
            why = _first_difference(student_text, current)
            findings.append(
                Finding(shown_student, "stale", f"out of date with {shown_solution} ({why}); {FIX}")
            )
    else:
        atomic_write_text(student_path, student_text)
        findings.append(Finding(shown_student, "wrote", f"generated from {shown_solution}"))
    return findings


def _extra_student(path: Path, solutions_dir: Path, check: bool) -> Finding:
    shown = _display(path)
    try:
        generated = METADATA_KEY in _read(path).metadata
    except Exception:
        generated = False
    if check:
        return Finding(
            shown,
            "extra",
            f"has no solution {solutions_dir.name}/{path.name}; notebooks are written in "
            f"{solutions_dir.name}/ only: move it there or delete it, then {FIX}",
        )
    if generated:
        path.unlink()
        return Finding(shown, "removed", "removed (its solution is gone)")
    return Finding(
        shown,
        "extra",
        f"was not generated by the build and has no solution {solutions_dir.name}/{path.name}: "
        f"move it into {solutions_dir.name}/ (notebooks are written there) or delete it",
    )


def build(
    solutions_dir: str | Path, notebooks_dir: str | Path, check: bool = False
) -> list[Finding]:
    """Generate ``notebooks_dir/X.ipynb`` from every ``solutions_dir/X.ipynb``.

    With ``check=False`` it writes every student notebook that changed (atomically), rewrites
    solutions that carry outputs, and removes student notebooks it generated earlier whose
    solution is gone. With ``check=True`` it writes nothing and reports each drift: a missing
    or stale student notebook, an extra one without a solution, a solution with outputs.
    Malformed markers are reported in both modes and nothing is written for that notebook.
    Returns the findings in file order; ``[f for f in findings if f.is_problem]`` is empty
    when all is well.
    """
    solutions_dir, notebooks_dir = Path(solutions_dir), Path(notebooks_dir)
    if not solutions_dir.is_dir():
        return [Finding(str(solutions_dir), "error", "no such folder of solution notebooks")]
    if not check:
        notebooks_dir.mkdir(parents=True, exist_ok=True)
    findings: list[Finding] = []
    solution_paths = sorted(solutions_dir.glob("*.ipynb"))
    for solution_path in solution_paths:
        source = f"{solutions_dir.name}/{solution_path.name}"
        findings += _build_one(solution_path, notebooks_dir / solution_path.name, source, check)
    names = {path.name for path in solution_paths}
    if notebooks_dir.is_dir():
        for path in sorted(notebooks_dir.glob("*.ipynb")):
            if path.name not in names:
                findings.append(_extra_student(path, solutions_dir, check))
    return findings


# --------------------------------------------------------------------------- command line


def _default_dir(name: str) -> Path:
    here = Path.cwd() / name
    if here.is_dir():
        return here
    return Path(__file__).resolve().parents[1] / name


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the ``build`` options: ``--check``, ``--solutions DIR``, ``--notebooks DIR``."""
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; fail if notebooks/ is not exactly what a build would write",
    )
    parser.add_argument(
        "--solutions", type=Path, default=None, help="solution notebooks (default: solutions/)"
    )
    parser.add_argument(
        "--notebooks", type=Path, default=None, help="student notebooks (default: notebooks/)"
    )


def run(args: argparse.Namespace) -> int:
    """Run ``vae-course build [--check]``; return 0 when nothing is wrong, else 1."""
    solutions_dir = args.solutions or _default_dir("solutions")
    notebooks_dir = args.notebooks or _default_dir("notebooks")
    check = bool(getattr(args, "check", False))
    findings = build(solutions_dir, notebooks_dir, check=check)
    problems = [finding for finding in findings if finding.is_problem]
    for finding in findings:
        print(finding, file=sys.stderr if finding.is_problem else sys.stdout)
    count = len(sorted(Path(solutions_dir).glob("*.ipynb"))) if Path(solutions_dir).is_dir() else 0
    if problems:
        what = "out of sync" if check else "not built"
        print(
            f"vae-course build{' --check' if check else ''}: {len(problems)} problem(s), "
            f"{what}. Fix each line above, then {FIX}.",
            file=sys.stderr,
        )
        return 1
    shown = f"{Path(notebooks_dir).name}/"
    if check:
        print(f"{shown} matches {Path(solutions_dir).name}/ ({count} notebook(s)).")
    elif not findings:
        print(f"{shown} is up to date ({count} notebook(s)).")
    return 0
