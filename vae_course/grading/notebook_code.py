"""Reading a submission's code without running it: bindings, values, what rebuilds an answer.

(:mod:`.notebook_file` parses the file first.) :class:`NotebookCode` turns its code cells
into plain Python and answers the grader's static questions: which names
the notebook binds, the literal value of an ``answer_*``, the statements that rebuild an
answer function from its last definition (:meth:`NotebookCode.rebuild_units`), and code
that rebinds or patches the checkers (:meth:`NotebookCode.tamper_notes`).
"""

from __future__ import annotations
import __future__

import ast
import symtable
from dataclasses import dataclass
from typing import Any

CELL_FILENAME = "<notebook cell {number}>"


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

    def imported_from_course(self, name: str) -> str:
        """The course module (not the drills) whose code ``name``'s last binding imports, or
        "": an answer imported from there is the course's own code, not the learner's."""
        binders = self._binders(name)
        node = binders[-1].node if binders else None
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            full = next(
                (f"{node.module}.{a.name}" for a in node.names if (a.asname or a.name) == name), ""
            )
        elif isinstance(node, ast.Import):
            full = next((a.name for a in node.names if (a.asname or a.name) == name), "")
        else:
            return ""
        parts = full.split(".")
        if parts[0] != "vae_course" or parts[1:2] == ["drills"] or len(parts) < 2:
            return ""
        return ".".join(parts[:-1]) if isinstance(node, ast.ImportFrom) else full

    @staticmethod
    def course_imports(units: list[Unit]) -> list[str]:
        """The course modules (other than the drills) the rebuilt answer imports.

        An answer that needs ``vae_course.losses`` (or the models, the schedules...) would be
        graded on the course's code: it is refused, as :mod:`vae_course.drills.guard` refuses
        it in the notebook. ``vae_course.drills`` itself (for ``drills.use``) is fine.
        """
        found: list[str] = []
        for unit in units:
            try:
                tree = ast.parse(unit.code)
            except SyntaxError:
                continue
            for node in ast.walk(tree):
                names: list[str] = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [f"{node.module}.{alias.name}" for alias in node.names]
                for name in names:
                    parts = name.split(".")
                    if parts[0] == "vae_course" and parts[1:2] != ["drills"] and name not in found:
                        found.append(name)
        return found

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
