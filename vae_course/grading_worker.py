"""The per-submission work of the classroom grader: read, execute, harvest, check.

:mod:`vae_course.grading` (the batch, the gradebook) calls :func:`grade_submission` for
each notebook. That function never raises and runs three steps, each in its own process:

1. **Read** the notebook here, statically: which answer names it binds, the literal value
   of each ``answer_*``, the source needed to rebuild each answer function, and any code
   that rebinds or patches the checkers (:class:`NotebookCode`).
2. **Execute** it (``python -m vae_course.grading_worker execute SPEC``, :func:`execute_main`):
   a fresh kernel, ``allow_errors``, in a private working folder, under a wall-time budget
   and an address-space limit, with the audit-hook sandbox of
   :mod:`vae_course.sandbox_site`; the learner's outputs are discarded, then an appended
   *harvest* cell serialises the value of every requested answer name as tagged JSON.
3. **Check** the answers (``python -I -m vae_course.grading_worker checker``,
   :func:`checker_main`): a long-lived, isolated process that imports the installed
   ``vae_course`` once, verifies where it came from, and never runs learner code itself.
   For each drill it forks a child that rebuilds the learner's function from source (or
   decodes the harvested value), calls the drill's checker through references captured
   before any learner code ran, and compares the checker modules before and after.

Only plain data crosses process boundaries (JSON), so nothing a notebook does to the
objects in its own kernel reaches the checkers.
"""

from __future__ import annotations
import __future__

import ast
import builtins
import contextlib
import json
import math
import os
import re
import select
import shutil
import signal
import subprocess
import symtable
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

try:
    import resource
except ImportError:  # Windows: no resource limits
    resource = None  # type: ignore[assignment]

KERNEL_STARTUP_S = 60  # a kernel that does not start within this is a crash
HARVEST_S = 30  # the appended harvest cell's own budget (not counted in --timeout)
CHECK_TIMEOUT_S = 60.0  # one drill check (rebuild + checker), hard kill after this
GRACE_S = 30  # slack before the execute process is killed from outside
MAX_FILE_MB = 2048  # no file a notebook writes may grow past this (RLIMIT_FSIZE)
CELL_FILENAME = "<notebook cell {number}>"
KERNEL_NAME = "vae-grader"

# Learner-visible messages for answers the grader cannot hand to a checker.
NOT_FOUND = "not found: define `{name}` as the drill asks (drills.prompt({drill!r}) shows how)."
NOT_OWN_DEFINITION = (
    "not found: `{name}` is bound, but not by your own `def`/`class` (it comes from {how}); "
    "write the definition the drill asks for."
)


class InvalidNotebook(ValueError):
    """The file cannot be read as a Jupyter notebook (message says why, for the learner)."""


# =============================================================== 1. reading the notebook


def read_notebook(data: bytes):
    """Parse ``data`` as a notebook (nbformat 4), or raise :class:`InvalidNotebook`."""
    import nbformat

    if not data.strip():
        raise InvalidNotebook("the file is empty")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidNotebook("the file is not UTF-8 text; is it really a .ipynb?") from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidNotebook(
            f"the file is not valid JSON (line {error.lineno}: {error.msg}); "
            "save it again from JupyterLab"
        ) from None
    if not isinstance(raw, dict) or not isinstance(raw.get("cells", raw.get("worksheets")), list):
        raise InvalidNotebook("the JSON is not a Jupyter notebook (it has no list of cells)")
    try:
        with contextlib.redirect_stderr(open(os.devnull, "w")):  # noqa: SIM115
            notebook = nbformat.reads(text, as_version=4)
    except Exception as error:  # nbformat raises many types for damaged files
        raise InvalidNotebook(
            f"nbformat cannot read it ({type(error).__name__}: {error})"
        ) from None
    for cell in notebook.cells:
        if not isinstance(cell, dict) or not isinstance(cell.get("source", ""), str):
            raise InvalidNotebook("a cell has no readable source")
    return notebook


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


_TRANSPARENT_CELL_MAGICS = {"%%time", "%%capture"}


def python_source(cell_source: str) -> str:
    """The cell's IPython syntax turned into plain Python, line numbers kept.

    ``%magic``, ``!shell`` and ``x?`` lines become ``get_ipython()...`` calls (which the
    rebuild never runs); ``%%time``/``%%capture`` cells keep their body; other cell magics
    (``%%writefile``, ``%%bash``) become a single call.
    """
    lines = cell_source.splitlines(keepends=True)
    if lines and lines[0].split()[:1] and lines[0].split()[0] in _TRANSPARENT_CELL_MAGICS:
        lines[0] = "\n"
        cell_source = "".join(lines)
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        return TransformerManager().transform_cell(cell_source)
    except Exception:  # IPython missing or confused: comment out IPython-only lines
        kept = []
        for line in cell_source.splitlines():
            stripped = line.lstrip()
            is_magic = stripped.startswith(("%", "!")) or stripped.endswith("?")
            kept.append("# " + line if is_magic else line)
        return "\n".join(kept) + "\n"


@dataclass
class Statement:
    """One top-level statement of a code cell."""

    cell: int  # the cell's position in the notebook, 1-based (as a teacher counts them)
    node: ast.stmt
    text: str  # its source, exactly as written (decorators included)
    order: int  # position in notebook order

    @property
    def filename(self) -> str:
        return CELL_FILENAME.format(number=self.cell)

    @property
    def first_line(self) -> int:
        decorators = getattr(self.node, "decorator_list", [])
        return min([self.node.lineno] + [d.lineno for d in decorators])


@dataclass
class Unit:
    """A statement the checker child executes to rebuild an answer (JSON-friendly)."""

    filename: str
    code: str  # padded with blank lines so line numbers match the cell
    cell: int
    order: int

    def to_json(self) -> dict:
        return {"filename": self.filename, "code": self.code, "cell": self.cell}


_SAFE_BUILTIN_CALLS = {
    "range", "len", "int", "float", "str", "bool", "dict", "list", "tuple", "set",
    "frozenset", "abs", "min", "max", "sum", "round", "sorted", "zip", "enumerate", "slice",
}  # fmt: skip
_UNSAFE_CALL_ROOTS = (
    "os", "sys", "subprocess", "shutil", "socket", "ctypes", "importlib", "builtins", "time",
    "threading", "multiprocessing", "signal", "pathlib", "IPython", "vae_course.train",
    "vae_course.data", "vae_course.drills", "vae_course.grading", "vae_course.widgets",
    "vae_course.plots", "vae_course.authoring", "vae_course.practice",
)  # fmt: skip


class NotebookCode:
    """Static view of a notebook's code: bindings, literal values, rebuild units, tampering.

    Only code cells count, in notebook order, each turned into plain Python by
    :func:`python_source`. A cell with a syntax error is skipped (and reported).
    """

    def __init__(self, notebook) -> None:
        self.cell_sources: dict[str, str] = {}
        self.syntax_errors: list[str] = []
        self.statements: list[Statement] = []
        self.future_flags = 0
        self._modules: list[ast.Module] = []
        for position, cell in enumerate(notebook.cells, start=1):
            if cell.get("cell_type") != "code":
                continue
            source = python_source(str(cell.get("source", "")))
            filename = CELL_FILENAME.format(number=position)
            try:
                tree = ast.parse(source, filename)
            except (SyntaxError, ValueError) as error:
                line = getattr(error, "lineno", None)
                where = f", line {line}" if line else ""
                self.syntax_errors.append(
                    f"cell {position}{where}: {type(error).__name__}: {getattr(error, 'msg', error)}"
                )
                continue
            self.cell_sources[filename] = source
            self._modules.append(tree)
            lines = source.splitlines(keepends=True)
            for node in tree.body:
                statement = Statement(position, node, "", len(self.statements))
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    text = "".join(lines[statement.first_line - 1 : node.end_lineno])
                else:
                    text = ast.get_source_segment(source, node) or ast.unparse(node)
                statement.text = text
                self.statements.append(statement)
                if isinstance(node, ast.ImportFrom) and node.module == "__future__":
                    for alias in node.names:
                        feature = getattr(__future__, alias.name, None)
                        if feature is not None:
                            self.future_flags |= feature.compiler_flag
        self.import_origin = self._import_origins()

    # ----------------------------------------------------------------- what is bound

    def bound_names(self) -> set[str]:
        """Every name bound at module level anywhere (defs, assignments, imports, loops...)."""
        names: set[str] = set()
        for module in self._modules:
            _ModuleBindings(names).visit(module)
        return names

    def _binders(self, name: str) -> list[Statement]:
        return [s for s in self.statements if name in _statement_binds(s.node)]

    def _import_origins(self) -> dict[str, str]:
        origins: dict[str, str] = {}
        for statement in self.statements:
            node = statement.node
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        origins[alias.asname] = alias.name
                    else:
                        root = alias.name.split(".")[0]
                        origins[root] = root
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    if alias.name != "*":
                        origins[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        return origins

    # ----------------------------------------------------------------- values

    def static_value(self, name: str) -> tuple[bool, Any]:
        """``(True, value)`` when the last top-level binding of ``name`` is a literal."""
        binders = self._binders(name)
        if not binders:
            return False, None
        node = binders[-1].node
        value = node.value if isinstance(node, (ast.Assign, ast.AnnAssign)) else None
        if value is None:
            return False, None
        try:
            return True, ast.literal_eval(value)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            return False, None

    # ----------------------------------------------------------------- functions/classes

    def definition_of(self, name: str) -> tuple[Statement | None, str]:
        """The last top-level ``def``/``class``/``name = lambda``/alias defining ``name``.

        Returns ``(statement, "")``, or ``(None, how)`` where ``how`` says what else binds
        the name (e.g. "an import from vae_course.losses"), empty when nothing does.
        """
        candidates = [s for s in self.statements if self._defines(s.node, name)]
        if candidates:
            return candidates[-1], ""
        others = self._binders(name)
        if not others:
            return None, "nothing" if name not in self.bound_names() else "code inside a block"
        node = others[-1].node
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            return None, f"an import (`{ast.unparse(node)[:80]}`)"
        return None, f"`{ast.unparse(node)[:80]}`"

    def where_defined(self, name: str) -> str:
        """Where the graded definition is: ``cell 7``, or ``cell 7 (the last of 3 ...)``."""
        candidates = [s for s in self.statements if self._defines(s.node, name)]
        if not candidates:
            return ""
        where = f"cell {candidates[-1].cell}"
        if len(candidates) > 1:
            where += f" (the last of {len(candidates)} definitions, in notebook order)"
        return where

    def _defines(self, node: ast.stmt, name: str) -> bool:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            return node.name == name
        if isinstance(node, ast.Assign) and [_target_name(t) for t in node.targets] == [name]:
            value = node.value
            if isinstance(value, ast.Lambda):
                return True
            if isinstance(value, ast.Name):  # alias of one of the learner's own definitions
                return any(
                    isinstance(s.node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                    and s.node.name == value.id
                    for s in self.statements
                )
        return False

    def rebuild_units(self, answer_name: str) -> tuple[list[Unit] | None, list[str], str]:
        """The statements that rebuild ``answer_name`` and what it needs, in notebook order.

        Rule: the last definition of the answer, plus — transitively, for every global name
        it refers to — the last top-level ``def``/``class``, import, or assignment of a
        *simple* value (literals, names, arithmetic, containers, calls of imported library
        functions), and a later ``name = drills.use("id", name)`` (evaluated with the clean
        ``drills.use``). Nothing else (loops, training, prints, patches) is ever run.

        Returns ``(units, notes, how)``; ``units`` is None when the answer is not defined
        (``how`` then says what binds it instead).
        """
        target, how = self.definition_of(answer_name)
        if target is None:
            return None, [], how
        by_order = {s.order: s for s in self.statements}
        chosen_names: dict[int, set[str] | None] = {target.order: None}  # None: whole statement
        notes: list[str] = []
        queue = [target]
        resolved = {answer_name}
        while queue:
            statement = queue.pop()
            for name in sorted(_referenced_globals(statement.node)):
                if name in resolved:
                    continue
                resolved.add(name)
                binders = self._binders(name)
                if not binders:
                    continue  # a builtin, or a NameError the checker will report
                chosen, use_assign = self._rebuildable_binding(name, binders)
                if chosen is None:
                    notes.append(
                        f"your code uses `{name}`, which the notebook computes by running code "
                        "(the grader only rebuilds definitions, imports and simple constants); "
                        "compute it inside the function or pass it as an argument"
                    )
                    continue
                for used in (chosen, use_assign):
                    if used is None:
                        continue
                    if used.order not in chosen_names:
                        chosen_names[used.order] = {name}
                        queue.append(used)
                    elif chosen_names[used.order] is not None:
                        chosen_names[used.order].add(name)
        units = [
            self._unit(by_order[order], names, use_name=next(iter(names)) if names else "")
            for order, names in sorted(chosen_names.items())
        ]
        return units, notes, ""

    def _rebuildable_binding(
        self, name: str, binders: list[Statement]
    ) -> tuple[Statement | None, Statement | None]:
        use_assign = None
        for statement in reversed(binders):
            if _use_assignment(statement.node, name) is not None:
                use_assign = use_assign or statement
                continue
            if self._rebuildable(statement.node):
                return statement, use_assign
            return None, None
        return None, None

    def _rebuildable(self, node: ast.stmt) -> bool:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            return True
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            return True
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if all(_target_names(t) for t in targets):
                return _SimpleValue(self.import_origin).check(node.value)
        return False

    def _unit(self, statement: Statement, names: set[str] | None, use_name: str) -> Unit:
        """The code to run for ``statement``: imports cut down to ``names``; ``drills.use``
        calls routed to the clean ``drills.use``."""
        node = statement.node
        text = statement.text
        if isinstance(node, (ast.Import, ast.ImportFrom)) and names is not None:
            kept = [
                alias
                for alias in node.names
                if alias.name == "*" or (alias.asname or alias.name.split(".")[0]) in names
            ]
            if len(kept) != len(node.names):
                fields = {name: getattr(node, name) for name in node._fields}
                text = ast.unparse(type(node)(**{**fields, "names": kept}))
        use = _use_assignment(node, use_name)
        if use is not None:
            drill_id, argument = use
            target = ast.unparse(node.targets[0])
            text = f"{target} = __vae_grader_use__({drill_id!r}, {ast.unparse(argument)})"
        padding = "\n" * (statement.first_line - 1)
        return Unit(statement.filename, padding + text, statement.cell, statement.order)

    # ----------------------------------------------------------------- tampering

    def tamper_notes(self) -> list[str]:
        """Code that rebinds or patches the course's checkers (anywhere in the notebook)."""
        course_names = {
            name
            for name, origin in self.import_origin.items()
            if origin in ("vae_course", "vae_course.drills")
            or origin.startswith("vae_course.drills.")
        } | {"drills", "vae_course"}
        notes: list[str] = []
        for module, filename in zip(self._modules, self.cell_sources, strict=True):
            for node in ast.walk(module):
                for target in _assignment_targets(node):
                    dotted = _dotted(target)
                    root = dotted.split(".")[0] if dotted else ""
                    if isinstance(target, (ast.Attribute, ast.Subscript)) and root in course_names:
                        notes.append(f"{filename}, line {node.lineno}: changes `{dotted}`")
                    elif isinstance(target, ast.Name) and target.id in course_names:
                        if not isinstance(node, (ast.Import, ast.ImportFrom)):
                            notes.append(f"{filename}, line {node.lineno}: rebinds `{target.id}`")
                    elif dotted.startswith("sys.modules") and "vae_course" in ast.unparse(target):
                        notes.append(
                            f"{filename}, line {node.lineno}: replaces a module in sys.modules"
                        )
                if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name in course_names:
                    notes.append(f"{filename}, line {node.lineno}: redefines `{node.name}`")
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Name)
                    and node.func.id in {"setattr", "delattr"}
                    and node.args
                    and _dotted(node.args[0]).split(".")[0] in course_names
                ):
                    notes.append(
                        f"{filename}, line {node.lineno}: {node.func.id} on `{_dotted(node.args[0])}`"
                    )
        return list(dict.fromkeys(notes))


class _ModuleBindings(ast.NodeVisitor):
    """Collect names bound at module scope (not inside functions, classes, lambdas)."""

    def __init__(self, names: set[str]) -> None:
        self.names = names

    def visit_FunctionDef(self, node) -> None:
        self.names.add(node.name)

    visit_AsyncFunctionDef = visit_ClassDef = visit_FunctionDef

    def visit_Lambda(self, node) -> None:
        return

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Store):
            self.names.add(node.id)

    def visit_alias(self, node: ast.alias) -> None:
        if node.name != "*":
            self.names.add(node.asname or node.name.split(".")[0])

    def _skip_scope(self, node) -> None:  # comprehensions have their own scope
        return

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _skip_scope


def _statement_binds(node: ast.stmt) -> set[str]:
    names: set[str] = set()
    _ModuleBindings(names).visit(node)
    return names


def _target_name(target: ast.expr) -> str | None:
    return target.id if isinstance(target, ast.Name) else None


def _target_names(target: ast.expr) -> list[str]:
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, (ast.Tuple, ast.List)):
        names = [n for element in target.elts for n in _target_names(element)]
        return names if len(names) == len(target.elts) else []
    return []


def _assignment_targets(node: ast.AST) -> list[ast.expr]:
    if isinstance(node, ast.Assign):
        return list(node.targets)
    if isinstance(node, (ast.AugAssign, ast.AnnAssign)):
        return [node.target]
    if isinstance(node, ast.Delete):
        return list(node.targets)
    return []


def _dotted(node: ast.expr) -> str:
    parts = []
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        if isinstance(node, ast.Attribute):
            parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return ""


def _use_assignment(node: ast.stmt, name: str) -> tuple[str, ast.expr] | None:
    """``(drill_id, argument)`` for ``name = drills.use("drill_id", argument)``."""
    if not (isinstance(node, ast.Assign) and len(node.targets) == 1):
        return None
    if _target_name(node.targets[0]) != name or not isinstance(node.value, ast.Call):
        return None
    call = node.value
    func = _dotted(call.func)
    if not (func == "use" or func.endswith("drills.use")):
        return None
    if len(call.args) != 2 or not isinstance(call.args[0], ast.Constant):
        return None
    if not isinstance(call.args[0].value, str):
        return None
    return call.args[0].value, call.args[1]


def _referenced_globals(node: ast.stmt) -> set[str]:
    """Global names a statement reads when it runs (or, for a def, when it is called)."""
    if isinstance(node, (ast.Assign, ast.AnnAssign)):
        return (
            {n.id for n in ast.walk(node.value) if isinstance(n, ast.Name)} if node.value else set()
        )
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return set()
    try:
        table = symtable.symtable(ast.unparse(node), "<answer>", "exec")
    except (SyntaxError, ValueError):
        return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
    names: set[str] = set()

    def walk(scope: symtable.SymbolTable, top: bool) -> None:
        for symbol in scope.get_symbols():
            if top and symbol.is_referenced():
                names.add(symbol.get_name())
            elif (
                not top and symbol.is_global() and (symbol.is_referenced() or symbol.is_assigned())
            ):
                names.add(symbol.get_name())
        for child in scope.get_children():
            walk(child, False)

    walk(table, True)
    return names


class _SimpleValue:
    """Is an assignment's value cheap and side-effect free enough to run in the grader?"""

    def __init__(self, import_origin: dict[str, str]) -> None:
        self.import_origin = import_origin

    def check(self, node: ast.AST) -> bool:
        if isinstance(node, ast.Lambda):
            return all(self.check(d) for d in node.args.defaults + node.args.kw_defaults if d)
        if isinstance(node, (ast.Await, ast.Yield, ast.YieldFrom, ast.NamedExpr)):
            return False
        if isinstance(node, ast.Call) and not self._library_call(node.func):
            return False
        return all(self.check(child) for child in ast.iter_child_nodes(node))

    def _library_call(self, func: ast.expr) -> bool:
        dotted = _dotted(func)
        if not dotted:
            return False
        root = dotted.split(".")[0]
        if root in _SAFE_BUILTIN_CALLS and root == dotted:
            return True
        origin = self.import_origin.get(root)
        if origin is None:
            return False  # a call of the learner's own code, or of an unknown name
        full = origin + dotted[len(root) :]
        return not any(full == bad or full.startswith(bad + ".") for bad in _UNSAFE_CALL_ROOTS)


# =============================================================== values: tagged JSON

# The encoder runs in the learner's kernel (inside the harvest cell, with fresh globals so a
# notebook that rebinds `list` or `json` cannot confuse it); the decoder runs in the grader.
HARVEST_CODE = r"""
def _describe(value):
    kind = type(value).__module__.split(".")[0] + "." + type(value).__qualname__
    shape = getattr(value, "shape", None)
    if shape is not None:
        try:
            kind += " of shape " + str(tuple(shape))
        except Exception:
            pass
    return kind


class _NotPlain(Exception):
    pass


def _encode(value, depth, budget):
    budget[0] -= 1
    if budget[0] < 0 or depth > 30:
        raise _NotPlain("too large or too deeply nested")
    if value is None or type(value) is bool or type(value) is str:
        if type(value) is str and len(value) > 100000:
            raise _NotPlain("a string longer than 100000 characters")
        return value
    if value is Ellipsis:
        return {"$": "ellipsis"}
    if hasattr(value, "dtype") and getattr(value, "ndim", None) == 0 and hasattr(value, "item"):
        value = value.item()  # numpy scalars, 0-d arrays and 0-d tensors are plain numbers
        if isinstance(value, (bool, int, float)):
            return _encode(value, depth + 1, budget)
    if type(value) is int or (isinstance(value, numbers.Integral) and not isinstance(value, bool)):
        return int(value)
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, numbers.Real):
        number = float(value)
        return number if math.isfinite(number) else {"$": "float", "v": repr(number)}
    if isinstance(value, str):
        return _encode(str(value), depth + 1, budget)
    if isinstance(value, list):
        return [_encode(item, depth + 1, budget) for item in value]
    if isinstance(value, tuple):
        return {"$": "tuple", "v": [_encode(item, depth + 1, budget) for item in value]}
    if isinstance(value, (set, frozenset)):
        return {"$": "set", "v": [_encode(item, depth + 1, budget) for item in value]}
    if isinstance(value, dict):
        return {
            "$": "dict",
            "v": [[_encode(k, depth + 1, budget), _encode(v, depth + 1, budget)] for k, v in value.items()],
        }
    raise _NotPlain(_describe(value))


def _integrity(namespace):
    report = {}
    package = sys.modules.get("vae_course")
    report["vae_course_file"] = getattr(package, "__file__", None)
    drills = sys.modules.get("vae_course.drills")
    report["drills_file"] = getattr(drills, "__file__", None)
    check = getattr(drills, "check", None)
    code = getattr(check, "__code__", None)
    report["check_file"] = getattr(code, "co_filename", None) if check is not None else None
    seen = {}
    for name in ("drills", "check", "vae_course", "use"):
        if name in namespace:
            value = namespace[name]
            file = getattr(value, "__file__", None)
            if file is None:
                file = getattr(getattr(value, "__code__", None), "co_filename", None)
            seen[name] = {"type": _describe(value), "file": file}
    report["names"] = seen
    api = sys.modules.get("vae_course.drills.api")
    current_seeds = getattr(api, "current_seeds", None)
    seeds = current_seeds() if callable(current_seeds) else None
    if isinstance(seeds, dict):
        report["seeds"] = {str(k): int(v) for k, v in seeds.items() if type(v) is int}
    return report


def harvest(namespace, names, path):
    values = {}
    for name in names:
        if name not in namespace:
            continue
        try:
            values[name] = {"value": _encode(namespace[name], 0, [200000])}
        except _NotPlain as reason:
            values[name] = {"not_plain": str(reason)}
        except Exception as error:
            values[name] = {"not_plain": "unreadable (" + type(error).__name__ + ")"}
    try:
        integrity = _integrity(namespace)
    except Exception as error:
        integrity = {"error": type(error).__name__}
    with _io.open(path, "w", encoding="utf-8") as handle:
        handle.write(json.dumps({"values": values, "integrity": integrity}))
"""

_HARVEST_CELL = """\
import builtins as __vae_grader_builtins
__vae_grader_builtins.exec(
    __vae_grader_builtins.compile({code!r}, "<vae-course grader>", "exec"),
    __vae_grader_ns := {{
        "__builtins__": __vae_grader_builtins,
        "__name__": "vae_course_grader_harvest",
        "_io": __vae_grader_builtins.__import__("_io"),
        "json": __vae_grader_builtins.__import__("json"),
        "math": __vae_grader_builtins.__import__("math"),
        "numbers": __vae_grader_builtins.__import__("numbers"),
        "sys": __vae_grader_builtins.__import__("sys"),
    }},
)
__vae_grader_ns["harvest"](__vae_grader_builtins.globals(), {names!r}, {path!r})
del __vae_grader_builtins, __vae_grader_ns
"""


def harvest_cell_source(names: list[str], path: str) -> str:
    """The code of the cell appended to a submission to serialise its answer values."""
    return _HARVEST_CELL.format(code=HARVEST_CODE, names=sorted(names), path=path)


def decode_value(data: Any) -> Any:
    """Inverse of the harvest encoding: tagged JSON -> plain Python data."""
    if isinstance(data, list):
        return [decode_value(item) for item in data]
    if not isinstance(data, dict):
        return data
    tag = data.get("$")
    if tag == "ellipsis":
        return Ellipsis
    if tag == "float":
        return float(data["v"])
    if tag == "tuple":
        return tuple(decode_value(item) for item in data["v"])
    if tag == "set":
        return {_hashable(decode_value(item)) for item in data["v"]}
    if tag == "dict":
        return {_hashable(decode_value(k)): decode_value(v) for k, v in data["v"]}
    raise ValueError(f"unknown tag {tag!r}")


def encode_value(value: Any) -> Any:
    """The harvest encoding of a plain value (the grader's copy, for literals)."""
    namespace: dict[str, Any] = {}
    exec(compile(HARVEST_CODE, "<vae-course grader>", "exec"), _harvest_globals(namespace))
    return namespace["_encode"](value, 0, [200000])


def _harvest_globals(namespace: dict) -> dict:
    import _io
    import math
    import numbers

    namespace.update(
        {"__builtins__": builtins, "_io": _io, "json": json, "math": math, "numbers": numbers}
    )
    namespace["sys"] = sys
    return namespace


def _hashable(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, set):
        return frozenset(value)
    if isinstance(value, dict):
        return tuple(sorted(value.items(), key=repr))
    return value


# =============================================================== 2. executing the notebook


def limit_memory(memory_mb: int | None) -> None:
    """Cap this process's address space (RLIMIT_AS) at ``memory_mb`` MiB; children inherit it."""
    if not memory_mb or resource is None or not hasattr(resource, "RLIMIT_AS"):
        return
    limit = int(memory_mb) * 2**20
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def limit_file_size(megabytes: int = MAX_FILE_MB) -> None:
    """Cap the size of any file this process (and its children) writes (RLIMIT_FSIZE).

    ``SIGXFSZ`` is ignored (an ignored signal stays ignored across ``exec``), so a write past
    the limit fails with an ``OSError`` in the notebook instead of killing the kernel.
    """
    if resource is None or not hasattr(resource, "RLIMIT_FSIZE"):
        return
    limit = int(megabytes) * 2**20
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    if hasattr(signal, "SIGXFSZ"):
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


def execute_main(spec_path: str) -> int:
    """Entry point of the execute process: run the notebook, harvest, write a JSON report.

    The report (``spec["report"]``) holds ``started``, ``cells_run``, ``cells_total``,
    ``errors`` (cell, ename, evalue), ``timed_out``, ``kernel_died``, ``harvest`` (values
    and the kernel's integrity report) and ``error`` (a grader problem), and is rewritten
    after every cell so a hard kill still leaves what was done.
    """
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    limit_memory(spec.get("memory_mb"))
    limit_file_size()
    report: dict[str, Any] = {
        "started": False,
        "cells_run": 0,
        "cells_total": 0,
        "errors": [],
        "timed_out": False,
        "kernel_died": False,
        "harvest": None,
        "error": None,
    }
    report_path = Path(spec["report"])

    def save() -> None:
        tmp = report_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(report), encoding="utf-8")
        os.replace(tmp, report_path)

    try:
        _execute(spec, report, save)
    except Exception as error:  # the kernel could not start, nbclient failed, ...
        report["error"] = f"{type(error).__name__}: {str(error)[:500]}"
    save()
    return 0


def _execute(spec: dict, report: dict, save) -> None:
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    class GraderClient(NotebookClient):
        """Keeps no outputs (the grader never reads them), only error names per cell."""

        async def _async_handle_timeout(self, timeout, cell=None):
            report["timed_out"] = True  # the cell ran into the notebook's time limit
            return await super()._async_handle_timeout(timeout, cell)

        def output(self, outs, msg, display_id, cell_index):  # noqa: D401
            if msg.get("msg_type") == "error" and len(report["errors"]) < 500:
                content = msg.get("content", {})
                report["errors"].append(
                    {
                        "cell": cell_index + 1,
                        "ename": str(content.get("ename", ""))[:100],
                        "evalue": str(content.get("evalue", ""))[:300],
                    }
                )
            return None

    notebook = nbformat.read(spec["notebook"], as_version=4)
    code_cells = [i for i, cell in enumerate(notebook.cells) if cell.cell_type == "code"]
    report["cells_total"] = len(code_cells)
    timeout_marker = "vae-course grader: time limit"
    client = GraderClient(
        notebook,
        kernel_name=KERNEL_NAME,
        allow_errors=True,
        interrupt_on_timeout=True,
        error_on_timeout={"ename": "TimeoutError", "evalue": timeout_marker, "traceback": []},
        startup_timeout=KERNEL_STARTUP_S,
        record_timing=False,
        shutdown_kernel="immediate",
        resources={"metadata": {"path": spec["workdir"]}},
    )
    deadline = time.monotonic() + float(spec["timeout"])
    with client.setup_kernel():
        report["started"] = True
        report["timeout_s"] = float(spec["timeout"])
        with contextlib.suppress(Exception):
            report["kernel_pid"] = int(client.km.provisioner.pid)
        save()
        for index in code_cells:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                report["timed_out"] = True
                break
            client.timeout = max(1, math.ceil(remaining))
            try:
                client.execute_cell(notebook.cells[index], index)
            except CellTimeoutError:
                report["timed_out"] = True
                break
            except DeadKernelError:
                report["kernel_died"] = True
                break
            report["cells_run"] += 1
            if report["timed_out"]:  # nbclient interrupted the cell at the limit
                report["errors"].append(
                    {"cell": index + 1, "ename": "TimeoutError", "evalue": timeout_marker}
                )
                break
            save()
        save()
        if report["kernel_died"]:
            return
        harvest_path = spec["harvest_path"]
        cell = nbformat.v4.new_code_cell(harvest_cell_source(spec["names"], harvest_path))
        notebook.cells.append(cell)
        client.timeout = HARVEST_S
        errors_before = len(report["errors"])
        try:
            client.execute_cell(cell, len(notebook.cells) - 1, store_history=False)
        except (CellTimeoutError, DeadKernelError) as error:
            report["harvest_error"] = type(error).__name__
        harvest_errors = report["errors"][errors_before:]
        del report["errors"][errors_before:]
        if harvest_errors:
            report["harvest_error"] = f"{harvest_errors[0]['ename']}: {harvest_errors[0]['evalue']}"
        with contextlib.suppress(OSError, ValueError):
            report["harvest"] = json.loads(Path(harvest_path).read_text(encoding="utf-8"))


# =============================================================== 3. the clean checker


def _is_course(name: str) -> bool:
    return name == "vae_course" or name.startswith("vae_course.")


def _watched_modules() -> list[str]:
    names = sorted(name for name in list(sys.modules) if _is_course(name))
    return names + ["builtins", "torch", "torch.nn.functional", "torch.testing", "math", "json"]


def _identities(mapping: Any) -> dict[str, int]:
    try:
        return {str(key): id(value) for key, value in list(mapping.items())[:5000]}
    except Exception:  # an object with an exotic __dict__
        return {}


def _snapshot() -> dict[str, dict[str, int]]:
    """``{scope: {attribute: id(value)}}`` for the checkers and what they rely on.

    Scopes: the ``vae_course`` entries of ``sys.modules``; every loaded ``vae_course``
    module, the classes and objects it holds and the dicts it holds (e.g. the drill
    registry) one level deep; ``builtins``, ``torch``, ``torch.Tensor``,
    ``torch.nn.functional``, ``torch.testing``, ``math`` and ``json``.
    """
    snapshot: dict[str, dict[str, int]] = {
        "sys.modules": {n: id(m) for n, m in list(sys.modules.items()) if _is_course(n)}
    }
    seen_objects: set[int] = set()

    def add_object(label: str, value: Any) -> None:
        if id(value) in seen_objects:
            return
        seen_objects.add(id(value))
        if isinstance(value, type):
            label = f"{value.__module__}.{value.__qualname__}"
        snapshot[label] = _identities(vars(value))

    for name in _watched_modules():
        module = sys.modules.get(name)
        if module is None:
            continue
        namespace = dict(vars(module))
        snapshot[name] = _identities(namespace)
        if not _is_course(name):
            continue
        for key, value in namespace.items():
            label = f"{name}.{key}"
            if isinstance(value, dict):
                snapshot[label + "{}"] = _identities(value)
                for item_key, item in list(value.items())[:5000]:
                    if _is_course(type(item).__module__) and hasattr(item, "__dict__"):
                        add_object(f"{label}[{item_key!r}]", item)
            elif isinstance(value, type) and _is_course(getattr(value, "__module__", "")):
                add_object(label, value)
            elif _is_course(type(value).__module__) and hasattr(value, "__dict__"):
                add_object(label, value)
    torch = sys.modules.get("torch")
    if torch is not None:
        snapshot["torch.Tensor"] = _identities(vars(torch.Tensor))
    return snapshot


def _changes(before: dict, after: dict, package_dir: Path | None = None) -> list[str]:
    """Watched attributes that were replaced or deleted, or added where additions matter.

    Additions count in ``vae_course`` modules (unless the new value is a submodule) and
    classes; a new ``vae_course.*`` entry in ``sys.modules`` counts when it does not come
    from the installed package.
    """
    changed = []
    for scope, attributes in before.items():
        now = after.get(scope, {})
        changed += [
            f"{scope}.{key}" for key, identity in attributes.items() if now.get(key) != identity
        ]
        added = now.keys() - attributes.keys()
        if not added or scope.endswith("{}") or not _is_course(scope.split("[")[0]):
            if scope != "sys.modules":
                continue
        for key in sorted(added):
            if scope == "sys.modules":
                module_file = getattr(sys.modules.get(key), "__file__", None) or ""
                inside = (
                    package_dir is not None and package_dir in Path(module_file).resolve().parents
                )
                if not inside:
                    changed.append(f"sys.modules[{key!r}]")
                continue
            module = sys.modules.get(scope)
            value = getattr(module, key, None) if module is not None else None
            if type(value).__name__ != "module":
                changed.append(f"{scope}.{key}")
    return sorted(set(changed))


class _Pristine:
    """References to the clean checkers, captured before any learner code runs."""

    def __init__(self, package_dir: Path, scratch: Path) -> None:
        from vae_course import drills

        self.package_dir = package_dir
        self.scratch = scratch
        self.drills = drills
        self.check = drills.check
        self.use = getattr(drills, "use", None)
        self._warm: set[str] = set()

    def warm_up(self, drill_id: str) -> None:
        """Check the package's own answer once, here, before any fork.

        Checkers fill caches and import modules lazily (and importing some torch modules
        replaces functions such as ``torch.manual_seed``); doing it first keeps those
        changes out of the before/after comparison made around the learner's code, and
        makes every child's check faster.
        """
        if drill_id in self._warm:
            return
        self._warm.add(drill_id)
        with contextlib.suppress(Exception):
            drill = self.drills.get_drill(drill_id)
            reference = drill.reference()
            answer = reference if reference is not None else Ellipsis
            self.check(drill_id, answer, record=False)


def checker_main(package_dir: str, memory_mb: int | None) -> int:
    """Entry point of the isolated checker: one JSON request per stdin line, one reply each.

    Started as ``python -I -m vae_course.grading_worker checker`` (isolated mode: no
    ``PYTHONPATH``, no user site, no current folder on ``sys.path``) from an empty folder.
    It refuses to run unless ``vae_course`` was imported from ``package_dir``.
    """
    protocol_out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # stray prints can never corrupt the protocol
    hello: dict[str, Any] = {"ready": False}
    try:
        import vae_course
        from vae_course import drills  # noqa: F401  (imported once, pristine, before any request)

        try:
            import torch

            torch.set_num_threads(1)  # fork-safe, and the checks are tiny
        except ImportError:
            pass
        expected = Path(package_dir).resolve()
        problems = [
            f"{name} comes from {module.__file__}"
            for name, module in list(sys.modules.items())
            if (name == "vae_course" or name.startswith("vae_course."))
            and getattr(module, "__file__", None)
            and expected not in Path(module.__file__).resolve().parents
        ]
        hello = {
            "ready": not problems,
            "problems": problems,
            "vae_course_file": vae_course.__file__,
            "version": getattr(vae_course, "__version__", "?"),
            "pid": os.getpid(),
        }
    except Exception as error:
        hello = {"ready": False, "problems": [f"{type(error).__name__}: {error}"]}
    protocol_out.write(json.dumps(hello) + "\n")
    protocol_out.flush()
    if not hello["ready"]:
        return 1
    pristine = _Pristine(expected, Path(tempfile.mkdtemp(prefix="children-")))
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        replies = {}
        for job in request["jobs"]:
            pristine.warm_up(job["drill"])
            replies[job["drill"]] = _check_in_child(
                job, pristine, request, memory_mb, protocol_out.fileno()
            )
        protocol_out.write(json.dumps({"id": request["id"], "results": replies}) + "\n")
        protocol_out.flush()
    return 0


def _check_in_child(job: dict, pristine: _Pristine, request: dict, memory_mb, protocol_fd) -> dict:
    """Fork a child that grades ``job`` under the sandbox; wait for its verdict (or kill it)."""
    timeout = float(request.get("timeout", CHECK_TIMEOUT_S))
    area = Path(tempfile.mkdtemp(prefix="check-", dir=pristine.scratch))
    work = area / "work"
    work.mkdir()
    violations_log = area / "sandbox.jsonl"
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # ---- child: learner code runs only here
        data = b""
        try:
            os.close(read_end)
            os.close(protocol_fd)
            os.setpgid(0, 0)
            devnull = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(devnull, fd)
            limit_memory(memory_mb)
            limit_file_size()
            _enter_sandbox(work, violations_log, pristine.package_dir, request.get("protected", []))
            reply = _grade_job(job, pristine, request)
            data = json.dumps(reply).encode("utf-8")
        except BaseException as error:  # noqa: BLE001 - the child must always answer
            data = json.dumps(_grader_error(f"{type(error).__name__}: {error}")).encode()
        finally:
            try:
                view = memoryview(data)
                while view:
                    written = os.write(write_end, view)
                    view = view[written:]
            finally:
                os._exit(0)
    # ---- parent (the pristine checker)
    os.close(write_end)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    timed_out = False
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            timed_out = True
            break
        ready, _, _ = select.select([read_end], [], [], min(remaining, 1.0))
        if ready:
            chunk = os.read(read_end, 65536)
            if not chunk:
                break
            chunks.append(chunk)
            if sum(map(len, chunks)) > 4_000_000:
                break
    os.close(read_end)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)
    violations = _read_violations(violations_log)
    remove_tree(area)
    reply = _child_reply(chunks, timed_out, timeout)
    if violations:
        reply["violations"] = violations
    return reply


def _child_reply(chunks: list[bytes], timed_out: bool, timeout: float) -> dict:
    if timed_out:
        return {
            "status": "timeout",
            "score": 0.0,
            "feedback": [
                f"Checking this answer took longer than {timeout:g} s and was stopped "
                "(an endless loop, or very slow code?)."
            ],
        }
    try:
        reply = json.loads(b"".join(chunks).decode("utf-8"))
        if not isinstance(reply, dict) or "status" not in reply:
            raise ValueError("not a reply")
        return reply
    except (ValueError, UnicodeDecodeError):
        return {
            "status": "error",
            "score": 0.0,
            "feedback": [
                "The grader could not read the verdict on this answer (the code stopped the "
                "checking process, e.g. with os._exit or a crash, or ran out of memory)."
            ],
        }


def _enter_sandbox(work: Path, log: Path, package_dir: Path, protected: list[str]) -> None:
    """Install the kernel's audit-hook sandbox in this (child) process, working in ``work``.

    The learner's functions run here when the checker calls them, so they get the same
    policy as in the kernel: no reads of other submissions, no writes outside ``work``,
    no shells. The hook cannot be removed; the child exits after one drill.
    """
    import runpy

    os.chdir(work)
    os.environ.update(
        VAE_GRADER_WORKDIR=str(work),
        VAE_GRADER_LOG=str(log),
        VAE_GRADER_READ_ROOTS=os.pathsep.join([str(package_dir), str(sandbox_dir())]),
        VAE_GRADER_DENY_ROOTS=os.pathsep.join(protected),
        HOME=str(work),
        TMPDIR=str(work),
        VAE_COURSE_CACHE=str(work / "cache"),
        TORCHINDUCTOR_CACHE_DIR=str(work / "torchinductor"),
    )
    tempfile.tempdir = None  # forget the zygote's temporary folder
    runpy.run_path(str(sandbox_dir() / "sitecustomize.py"), run_name="vae_course_grader_sandbox")


def _grader_error(message: str) -> dict:
    return {"status": "error", "score": 0.0, "feedback": [f"Grader error: {message[:300]}"]}


def _grade_job(job: dict, pristine: _Pristine, request: dict) -> dict:
    """Inside the child: build the answer, check it with the pristine checker, detect tampering."""
    import linecache
    import types

    drill_id = job["drill"]
    before = _snapshot()
    notes: list[str] = []
    if job["mode"] == "value":
        answer = decode_value(job["value"])
    else:
        module = types.ModuleType("submission")
        module.__file__ = "<submission>"
        sys.modules["submission"] = module
        namespace = module.__dict__

        def clean_use(use_id: str, function: Any) -> Any:
            if pristine.use is None:
                return function
            try:
                return pristine.use(use_id, function)
            except Exception:
                return function

        namespace["__vae_grader_use__"] = clean_use
        for filename, source in job.get("cells", {}).items():
            lines = source.splitlines(keepends=True)
            linecache.cache[filename] = (len(source), None, lines, filename)
        notes += _run_units(job["units"], namespace, job.get("future_flags", 0))
        name = job["answer_name"]
        answer = namespace.get(name)
        if not _defined_by_learner(answer):
            changed = _changes(before, _snapshot(), pristine.package_dir)
            if changed:
                return _tampered(changed)
            return {
                "status": "not found",
                "score": 0.0,
                "feedback": [
                    f"not found: `{name}` could not be rebuilt from your notebook's code "
                    f"({'; '.join(notes) or 'its definition did not run'})."
                ],
            }
    changed = _changes(before, _snapshot(), pristine.package_dir)
    if changed:
        return _tampered(changed)
    try:
        result = pristine.check(drill_id, answer, seed=job.get("seed"), record=False)
    except Exception as error:
        return _grader_error(f"the checker raised {type(error).__name__}: {error}")
    changed = _changes(before, _snapshot(), pristine.package_dir)
    if changed:
        return _tampered(changed)
    reply = _result_dict(result)
    reply["notes"] = notes
    return reply


def _run_units(units: list[dict], namespace: dict, future_flags: int) -> list[str]:
    """Execute the rebuild statements in order; retry failures until nothing more succeeds."""
    pending = list(units)
    errors: dict[int, str] = {}
    while pending:
        failed = []
        for unit in pending:
            try:
                code = compile(
                    unit["code"], unit["filename"], "exec", flags=future_flags, dont_inherit=True
                )
                exec(code, namespace)
                errors.pop(id(unit), None)
            except BaseException as error:  # noqa: BLE001 - learner code may raise anything
                errors[id(unit)] = (
                    f"cell {unit['cell']}: {type(error).__name__}: {str(error)[:200]}"
                )
                failed.append(unit)
        if len(failed) == len(pending):
            break
        pending = failed
    return [f"while rebuilding your code, {message}" for message in errors.values()]


def _defined_by_learner(value: Any) -> bool:
    import inspect

    if value is None:
        return False
    if isinstance(value, type):
        return getattr(value, "__module__", "") == "submission"
    try:
        function = inspect.unwrap(value)
    except Exception:
        return False
    code = getattr(function, "__code__", None)
    return code is not None and code.co_filename.startswith("<notebook cell ")


def _tampered(changed: list[str]) -> dict:
    shown = ", ".join(f"`{name}`" for name in changed[:5])
    return {
        "status": "tampered",
        "score": 0.0,
        "feedback": [
            f"Your code changed the course's checkers or what they rely on ({shown}) while "
            "being graded, so this answer cannot be trusted and earns no points."
        ],
        "changed": changed[:20],
    }


def _result_dict(result: Any) -> dict:
    feedback = getattr(result, "feedback", [])
    if isinstance(feedback, str):
        feedback = [feedback]
    return {
        "status": str(
            getattr(result, "status", "passed" if getattr(result, "passed", False) else "failed")
        ),
        "score": float(getattr(result, "score", 0.0) or 0.0),
        "max_score": float(getattr(result, "max_score", 0.0) or 0.0),
        "passed": bool(getattr(result, "passed", False)),
        "feedback": [str(line)[:2000] for line in list(feedback)[:50]],
    }


# =============================================================== the grader's side


@dataclass(frozen=True)
class DrillInfo:
    """What the grader needs to know about one drill (copied from the registry)."""

    id: str
    chapter: str
    answer_name: str
    kind: str
    max_score: float
    seeded: bool = False

    @property
    def from_source(self) -> bool:
        """Implementation drills are rebuilt from source; the others are harvested values."""
        return self.kind == "implementation"


@dataclass(frozen=True)
class Options:
    """Limits for one submission (see :func:`vae_course.grading.grade`)."""

    timeout: float = 600.0
    memory_mb: int = 8192
    check_timeout: float = CHECK_TIMEOUT_S
    package_dir: str = ""
    protected: tuple[str, ...] = ()  # never readable by a notebook (the batch's folders, --out)


class CheckerUnavailable(RuntimeError):
    """The isolated checker process could not start or stopped answering."""


class CheckerProcess:
    """The grader's handle on one isolated checker (``python -I -m ... checker``)."""

    def __init__(self, package_dir: str, memory_mb: int | None, protected=()) -> None:
        self.protected = tuple(protected)
        self.scratch = Path(tempfile.mkdtemp(prefix="vae-grade-checker-"))
        empty = self.scratch / "cwd"
        empty.mkdir()
        env = _clean_environment()
        env.update(
            TMPDIR=str(empty),
            CUDA_VISIBLE_DEVICES="",  # checks run on the CPU: CUDA does not survive fork
            VAE_COURSE_DEVICE="cpu",
            VAE_COURSE_CACHE=str(self.scratch / "cache"),
            TORCHINDUCTOR_CACHE_DIR=str(self.scratch / "cache" / "torchinductor"),
            TRITON_CACHE_DIR=str(self.scratch / "cache" / "triton"),
            VAE_COURSE_FAST="1",
            VAE_COURSE_OFFLINE="1",
            MPLBACKEND="Agg",
            OMP_NUM_THREADS="1",
            MKL_NUM_THREADS="1",
            TQDM_DISABLE="1",
            OBJC_DISABLE_INITIALIZE_FORK_SAFETY="YES",
        )
        self.log_path = self.scratch / "checker.log"
        command = [sys.executable, "-I", "-m", "vae_course.grading_worker", "checker"]
        command += [package_dir, str(int(memory_mb or 0))]
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                cwd=empty,
                env=env,
                start_new_session=True,
            )
        self._buffer = b""
        self._requests = 0
        hello = self._read_reply(timeout=180)
        if not hello.get("ready"):
            self.close()
            problems = "; ".join(hello.get("problems") or ["it did not answer"])
            raise CheckerUnavailable(f"the isolated checker refused to start: {problems}")
        self.vae_course_file = hello.get("vae_course_file")

    def alive(self) -> bool:
        return self.process.poll() is None

    def check(self, jobs: list[dict], per_drill_timeout: float) -> dict[str, dict]:
        """Send one submission's jobs; returns ``{drill_id: reply}``."""
        if not jobs:
            return {}
        self._requests += 1
        request = {
            "id": self._requests,
            "jobs": jobs,
            "timeout": per_drill_timeout,
            "protected": list(self.protected),
        }
        try:
            self.process.stdin.write((json.dumps(request) + "\n").encode("utf-8"))
            self.process.stdin.flush()
        except (BrokenPipeError, OSError) as error:
            self.close()
            raise CheckerUnavailable(f"the checker stopped ({error})") from None
        reply = self._read_reply(timeout=len(jobs) * (per_drill_timeout + 10) + 30)
        if reply.get("id") != self._requests:
            self.close()
            raise CheckerUnavailable("the checker answered out of turn")
        return reply["results"]

    def _read_reply(self, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        stream = self.process.stdout
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.close()
                raise CheckerUnavailable(f"the checker did not answer within {timeout:g} s")
            ready, _, _ = select.select([stream], [], [], min(remaining, 1.0))
            if ready:
                chunk = os.read(stream.fileno(), 1 << 20)
                if not chunk:
                    self.close()
                    raise CheckerUnavailable(f"the checker stopped; see {self.log_path}")
                self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return json.loads(line.decode("utf-8"))

    def close(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                _kill_group(self.process.pid)
                self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            with contextlib.suppress(OSError, ValueError):
                stream.close()
        remove_tree(self.scratch)


class CheckerPool:
    """Up to ``size`` checker processes shared by the grading threads (restarted if one dies)."""

    def __init__(self, size: int, package_dir: str, memory_mb: int | None, protected=()) -> None:
        import queue
        import threading

        self.package_dir = package_dir
        self.memory_mb = memory_mb
        self.protected = tuple(protected)
        self._idle: queue.SimpleQueue[CheckerProcess] = queue.SimpleQueue()
        self._all: list[CheckerProcess] = []
        self._lock = threading.Lock()
        self._size = max(1, size)

    def start_one(self) -> None:
        """Start a checker now (fails fast, before any notebook runs, if it cannot start)."""
        self._idle.put(self._new())

    def _new(self) -> CheckerProcess:
        checker = CheckerProcess(self.package_dir, self.memory_mb, self.protected)
        with self._lock:
            self._all.append(checker)
        return checker

    def check(self, jobs: list[dict], per_drill_timeout: float) -> dict[str, dict]:
        import queue

        try:
            checker = self._idle.get_nowait()
        except queue.Empty:
            checker = self._new()
        if not checker.alive():
            checker = self._new()
        try:
            return checker.check(jobs, per_drill_timeout)
        finally:
            if checker.alive():
                self._idle.put(checker)

    def close(self) -> None:
        with self._lock:
            checkers, self._all = self._all, []
        for checker in checkers:
            checker.close()


def _clean_environment() -> dict[str, str]:
    """``os.environ`` without the variables that change what Python imports."""
    dropped = {"PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONUSERBASE", "PYTHONSAFEPATH"}
    # Folders the grader's own process may have chosen (torch sets TORCHINDUCTOR_CACHE_DIR
    # in os.environ the first time it needs it) must not leak into a submission's run.
    dropped |= {"TORCHINDUCTOR_CACHE_DIR", "TRITON_CACHE_DIR", "VAE_COURSE_CACHE"}
    dropped |= {"VAE_GRADER_WORKDIR", "VAE_GRADER_LOG", "VAE_GRADER_READ_ROOTS"}
    dropped |= {"VAE_GRADER_DENY_ROOTS"}
    return {k: v for k, v in os.environ.items() if k not in dropped}


def _kill_group(pid: int) -> None:
    for kill in (os.killpg, os.kill):
        with contextlib.suppress(ProcessLookupError, PermissionError, OSError):
            kill(pid, signal.SIGKILL)


def remove_tree(path: Path) -> None:
    """Delete a scratch folder even when the notebook made parts of it read-only."""

    def make_writable(function, failed_path, _error) -> None:
        with contextlib.suppress(OSError):
            os.chmod(os.path.dirname(failed_path), 0o700)
            os.chmod(failed_path, 0o700)
            function(failed_path)

    if Path(path).exists():
        shutil.rmtree(path, onerror=make_writable)
        shutil.rmtree(path, ignore_errors=True)


def sandbox_dir() -> Path:
    """The folder holding the kernel's ``sitecustomize.py`` (see :mod:`vae_course.sandbox_site`)."""
    return Path(__file__).resolve().parent / "sandbox_site"


def run_notebook(path: Path, names: list[str], options: Options) -> dict:
    """Execute a copy of ``path`` in a sandboxed kernel; returns the execute report.

    Adds ``violations`` (what the sandbox refused), ``hard_killed`` (the execute process
    itself had to be killed) and ``seconds``.
    """
    started = time.monotonic()
    scratch = Path(tempfile.mkdtemp(prefix="vae-grade-"))
    try:
        return _run_in(scratch, path, names, options) | {"seconds": time.monotonic() - started}
    finally:
        remove_tree(scratch)


def _run_in(scratch: Path, path: Path, names: list[str], options: Options) -> dict:
    import secrets

    work = scratch / "work"
    private = {
        "HOME": work,
        "TMPDIR": work / ".tmp",
        "IPYTHONDIR": work / ".ipython",
        "MPLCONFIGDIR": work / ".matplotlib",
        "XDG_CACHE_HOME": work / ".cache",
        "XDG_CONFIG_HOME": work / ".config",
        "JUPYTER_RUNTIME_DIR": work / ".jupyter" / "runtime",
        "VAE_COURSE_CACHE": work / ".vae-course-cache",
    }
    for folder in private.values():
        folder.mkdir(parents=True, exist_ok=True)
    notebook_copy = work / (path.stem[:100] + ".ipynb")
    shutil.copyfile(path, notebook_copy)
    violations_log = scratch / "sandbox.jsonl"
    kernel_env = {key: str(value) for key, value in private.items()}
    kernel_env.update(
        TORCHINDUCTOR_CACHE_DIR=str(private["XDG_CACHE_HOME"] / "torchinductor"),
        TRITON_CACHE_DIR=str(private["XDG_CACHE_HOME"] / "triton"),
        VAE_COURSE_FAST="1",
        VAE_COURSE_OFFLINE="1",
        # CPU only: fast mode is small, and CUDA cannot start under an address-space limit
        VAE_COURSE_DEVICE="cpu",
        CUDA_VISIBLE_DEVICES="",
        MPLBACKEND="Agg",
        PYTHONPATH=str(sandbox_dir()),
        PYTHONNOUSERSITE="1",
        OMP_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
        OPENBLAS_NUM_THREADS="1",
        TQDM_DISABLE="1",
        PYDEVD_DISABLE_FILE_VALIDATION="1",
        VAE_GRADER_WORKDIR=str(work),
        VAE_GRADER_READ_ROOTS=os.pathsep.join([options.package_dir, str(sandbox_dir())]),
        VAE_GRADER_LOG=str(violations_log),
        VAE_GRADER_DENY_ROOTS=os.pathsep.join([str(path.parent), *options.protected]),
    )
    spec_dir = scratch / "jupyter" / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True)
    kernel_spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "vae-course grader",
        "language": "python",
        "env": kernel_env,
    }
    (spec_dir / "kernel.json").write_text(json.dumps(kernel_spec), encoding="utf-8")
    report_path = scratch / "execution.json"
    spec = {
        "notebook": str(notebook_copy),
        "workdir": str(work),
        "timeout": options.timeout,
        "memory_mb": options.memory_mb,
        "names": sorted(set(names)),
        "harvest_path": str(work / f".vae-grader-{secrets.token_hex(8)}.json"),
        "report": str(report_path),
    }
    spec_path = scratch / "spec.json"
    spec_path.write_text(json.dumps(spec), encoding="utf-8")
    env = _clean_environment()
    env.update(
        TMPDIR=str(private["TMPDIR"]),  # the kernel's connection file is written there
        JUPYTER_PATH=str(scratch / "jupyter"),
        JUPYTER_DATA_DIR=str(scratch / "jupyter"),
        JUPYTER_CONFIG_DIR=str(scratch / "jupyter-config"),
        JUPYTER_RUNTIME_DIR=str(private["JUPYTER_RUNTIME_DIR"]),
        JUPYTER_PLATFORM_DIRS="1",
        IPYTHONDIR=str(scratch / "ipython"),
    )
    hard_limit = options.timeout + KERNEL_STARTUP_S + HARVEST_S + GRACE_S
    command = [sys.executable, "-m", "vae_course.grading_worker", "execute", str(spec_path)]
    hard_killed = False
    with open(scratch / "execute.log", "wb") as log:
        process = subprocess.Popen(
            command, cwd=scratch, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        try:
            process.wait(timeout=hard_limit)
        except subprocess.TimeoutExpired:
            hard_killed = True
            _kill_group(process.pid)
            process.wait()
    try:
        report = json.loads(report_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        report = {"started": False, "errors": [], "harvest": None}
        tail = (scratch / "execute.log").read_text(encoding="utf-8", errors="replace")[-800:]
        report["error"] = f"the execute process left no report (exit {process.returncode}): {tail}"
    if report.get("kernel_pid"):
        _kill_group(int(report["kernel_pid"]))
    report["leftover_processes"] = _kill_leftovers(work)
    report["hard_killed"] = hard_killed
    if hard_killed:
        report["timed_out"] = True
    report["violations"] = _read_violations(violations_log)
    return report


def _kill_leftovers(work: Path) -> int:
    """Kill every process still carrying this run's ``VAE_GRADER_WORKDIR`` (Linux ``/proc``).

    A notebook's background processes (a forked child that called ``setsid``, say) leave
    the kernel's process group; their inherited environment still identifies them.
    """
    marker = f"VAE_GRADER_WORKDIR={work}".encode()
    killed = 0
    proc = Path("/proc")
    if not proc.is_dir():
        return 0
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if marker in environ.split(b"\0"):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(int(entry.name), signal.SIGKILL)
                killed += 1
    return killed


def _read_violations(path: Path) -> list[dict]:
    found: list[dict] = []
    seen = set()
    with contextlib.suppress(OSError):
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines()[:1000]:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            key = (record.get("what"), record.get("detail"))
            if isinstance(record, dict) and key not in seen:
                seen.add(key)
                found.append({k: str(record.get(k, ""))[:300] for k in ("event", "what", "detail")})
    return found[:50]


def grade_submission(
    path: Path, catalogue: list[DrillInfo], options: Options, checkers: CheckerPool
) -> dict:
    """Grade one submission: read, execute, check. Never raises; returns the result record.

    The record (stored as ``results/*.json`` by :mod:`vae_course.grading`) holds ``flags``
    (statuses that apply), ``drills`` (``{drill_id: {status, score, max_score, feedback,
    notes}}`` for every drill whose answer the notebook binds), ``metadata`` (student id
    fields), ``notes`` (for the learner), ``log`` (for the teacher) and ``seconds``.
    """
    started = time.monotonic()
    record: dict[str, Any] = {"flags": [], "drills": {}, "notes": [], "log": [], "metadata": {}}
    try:
        _grade_into(record, Path(path), catalogue, options, checkers)
    except Exception as error:  # a grader bug must not stop the class
        record["flags"].append("error")
        record["log"].append(f"grader error: {type(error).__name__}: {error}")
        record["log"].append(traceback.format_exc(limit=5))
    record["seconds"] = round(time.monotonic() - started, 2)
    return record


def _grade_into(
    record: dict, path: Path, catalogue: list[DrillInfo], options: Options, checkers
) -> None:
    try:
        data = path.read_bytes()
    except OSError as error:
        record["flags"].append("invalid-notebook")
        record["notes"].append(f"This file could not be read ({error.strerror or error}).")
        return
    try:
        notebook = read_notebook(data)
    except InvalidNotebook as error:
        record["flags"].append("invalid-notebook")
        record["notes"].append(f"This file could not be graded: {error}.")
        return
    metadata = notebook_metadata(notebook)
    record["metadata"] = {
        key: str(metadata[key])[:200]
        for key in ("student_id", "student")
        if isinstance(metadata.get(key), (str, int)) and not isinstance(metadata.get(key), bool)
    }
    record["chapter"] = chapter_of(metadata)
    code = NotebookCode(notebook)
    for message in code.syntax_errors:
        record["notes"].append(f"Syntax error, cell skipped when rebuilding your code: {message}")
    bound = code.bound_names()
    value_names = [drill.answer_name for drill in catalogue if not drill.from_source]
    execution = run_notebook(path, value_names, options)
    _record_execution(record, execution)
    harvest = execution.get("harvest") or {}
    values = harvest.get("values") or {}
    seeds = (harvest.get("integrity") or {}).get("seeds") or {}
    for note in code.tamper_notes():
        _flag(record, "tampered", f"the notebook {note.split(': ', 1)[-1]} ({note.split(': ')[0]})")
    _check_kernel_integrity(record, harvest.get("integrity") or {}, options.package_dir)
    jobs: list[dict] = []
    for drill in catalogue:
        name = drill.answer_name
        if drill.from_source:
            if name not in bound:
                continue
            units, notes, how = code.rebuild_units(name)
            if units is None:
                record["drills"][drill.id] = _verdict(
                    drill, "not found", [NOT_OWN_DEFINITION.format(name=name, how=how)]
                )
                continue
            notes = [f"Graded your `{name}` from {code.where_defined(name)}.", *notes]
            jobs.append(
                {
                    "drill": drill.id,
                    "mode": "source",
                    "answer_name": name,
                    "units": [unit.to_json() for unit in units],
                    "cells": {u.filename: code.cell_sources[u.filename] for u in units},
                    "future_flags": code.future_flags,
                    "notes": notes,
                }
            )
            continue
        harvested = values.get(name)
        if harvested is not None and "value" in harvested and not _decodable(harvested["value"]):
            harvested = {"not_plain": "a value that could not be read back"}
        if harvested is not None and "value" in harvested:
            job = {"drill": drill.id, "mode": "value", "value": harvested["value"], "notes": []}
        elif harvested is not None:
            reason = harvested.get("not_plain", "not plain data")
            record["drills"][drill.id] = _verdict(
                drill,
                "not gradable",
                [
                    f"`{name}` holds {reason}; the grader accepts only plain data (numbers, "
                    "strings, lists, tuples, sets and dicts of those). Convert tensors with "
                    "`.item()` or `.tolist()`."
                ],
            )
            continue
        elif name in bound:
            found, literal = code.static_value(name)
            if not found:
                why = (
                    "the cell that computes it raised an error before the assignment (see the "
                    "cell errors above)"
                    if execution.get("harvest") is not None
                    else "the notebook stopped (time limit or crash) before computing it"
                )
                record["drills"][drill.id] = _verdict(
                    drill,
                    "not gradable",
                    [
                        f"`{name}` is assigned in your notebook but its value could not be read: {why}."
                    ],
                )
                continue
            note = f"The value of `{name}` was read from your notebook's source (the run did not reach it)."
            job = {
                "drill": drill.id,
                "mode": "value",
                "value": encode_value(literal),
                "notes": [note],
            }
        else:
            continue
        if drill.seeded and isinstance(seeds.get(drill.id), int):
            job["seed"] = seeds[drill.id]
        jobs.append(job)
    replies = checkers.check(jobs, options.check_timeout) if jobs else {}
    by_id = {drill.id: drill for drill in catalogue}
    for job in jobs:
        drill = by_id[job["drill"]]
        reply = replies.get(drill.id) or {
            "status": "error",
            "score": 0.0,
            "feedback": ["no verdict"],
        }
        verdict = _verdict(drill, reply.get("status", "error"), reply.get("feedback") or [])
        verdict["score"] = min(max(float(reply.get("score") or 0.0), 0.0), drill.max_score)
        verdict["notes"] = list(job.get("notes") or []) + list(reply.get("notes") or [])
        record["drills"][drill.id] = verdict
        for violation in reply.get("violations") or []:
            _flag(
                record,
                "sandbox-violation",
                f"while checking {drill.id}: {violation['what']}: {violation['detail']}",
            )
            verdict["notes"].append(
                f"While being checked, your code tried something the grader does not allow "
                f"({violation['what']}: {violation['detail']}); it was refused."
            )
        if verdict["status"] == "tampered":
            _flag(record, "tampered", f"{drill.id}: changed {', '.join(reply.get('changed', []))}")
        elif verdict["status"] == "error":
            record["log"].append(f"{drill.id}: checker problem: {' '.join(verdict['feedback'])}")


def _decodable(data: Any) -> bool:
    try:
        decode_value(data)
    except Exception:  # a kernel that tampered with its own json module, say
        return False
    return True


def _verdict(drill: DrillInfo, status: str, feedback: list[str]) -> dict:
    return {
        "status": status,
        "score": 0.0,
        "max_score": float(drill.max_score),
        "feedback": [str(line) for line in feedback],
        "notes": [],
    }


def _flag(record: dict, flag: str, detail: str) -> None:
    if flag not in record["flags"]:
        record["flags"].append(flag)
    record["log"].append(f"{flag}: {detail}")


def _record_execution(record: dict, execution: dict) -> None:
    record["execution"] = {
        key: execution.get(key)
        for key in (
            "started",
            "cells_run",
            "cells_total",
            "timed_out",
            "kernel_died",
            "hard_killed",
            "seconds",
        )
    }
    record["cell_errors"] = execution.get("errors") or []
    record["violations"] = execution.get("violations") or []
    if execution.get("error") and not execution.get("started"):
        _flag(record, "crashed", f"the kernel did not start: {execution['error']}")
        record["notes"].append("Your notebook could not be run (the kernel did not start).")
    if execution.get("timed_out"):
        _flag(record, "timeout", f"stopped at the {execution.get('timeout_s', '?')} s time limit")
        record["notes"].append(
            "Your notebook did not finish within the time limit and was stopped; everything that "
            "can be graded without the rest of the run was graded. Look for an endless loop or "
            "a very long training run."
        )
    elif execution.get("kernel_died"):
        _flag(record, "crashed", "the kernel died (memory limit, or a crash in native code)")
        record["notes"].append(
            "The kernel running your notebook died (it ran out of memory or crashed); answers "
            "were graded from what could be recovered."
        )
    for violation in record["violations"]:
        _flag(record, "sandbox-violation", f"{violation['what']}: {violation['detail']}")
    if record["violations"]:
        shown = "; ".join(f"{v['what']} ({v['detail']})" for v in record["violations"][:5])
        record["notes"].append(
            f"Your notebook tried operations the grader does not allow, and they were refused: {shown}."
        )
    memory_errors = [e["cell"] for e in record["cell_errors"] if e.get("ename") == "MemoryError"]
    if memory_errors:
        record["log"].append(f"MemoryError (address-space limit) in cell(s) {memory_errors}")
        record["notes"].append(
            f"Cell(s) {', '.join(map(str, memory_errors))} ran out of memory: the grader allows "
            "each notebook a limited amount; use smaller tensors or batches."
        )
    if execution.get("leftover_processes"):
        record["log"].append(f"killed {execution['leftover_processes']} process(es) left running")
    if execution.get("harvest_error"):
        record["log"].append(f"harvest: {execution['harvest_error']}")


def _check_kernel_integrity(record: dict, integrity: dict, package_dir: str) -> None:
    """Flag a kernel whose course package or checkers did not come from the installed package."""
    if not package_dir:
        return
    root = Path(package_dir).resolve()

    def foreign(file: Any) -> bool:
        if not isinstance(file, str) or not file:
            return False
        try:
            return root not in Path(file).resolve().parents
        except (OSError, ValueError):
            return True

    for key in ("vae_course_file", "drills_file", "check_file"):
        if foreign(integrity.get(key)):
            _flag(record, "tampered", f"in the notebook's kernel, {key} = {integrity[key]}")
    for name, info in (integrity.get("names") or {}).items():
        if name not in ("drills", "vae_course"):  # a learner's own `check` is not tampering
            continue
        if (
            isinstance(info, dict)
            and foreign(info.get("file"))
            and not str(info.get("file")).startswith("<")
        ):
            _flag(
                record,
                "tampered",
                f"in the notebook's kernel, `{name}` comes from {info.get('file')}",
            )


if __name__ == "__main__":  # pragma: no cover - exercised through subprocesses
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "execute":
        sys.exit(execute_main(sys.argv[2]))
    if command == "checker":
        sys.exit(checker_main(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else None))
    print("usage: python -m vae_course.grading_worker execute SPEC | checker PACKAGE_DIR [MB]")
    sys.exit(2)
