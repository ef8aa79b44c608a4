"""Banned constructs, judged from an answer's source: one check in the notebook and the grader.

USAAIO problems fix the imports in a "DO NOT CHANGE" cell and ban constructs part by part
("without Python loops", "without ``torch.distributions``"). A code drill declares its bans
(``bans=("loops", "distributions")``, :class:`~vae_course.drills.code_drill.CodeDrill`);
a violation costs the part its points, with a message naming the construct and the line.

The bans:

* ``"loops"``: ``for`` and ``while`` loops and comprehensions (list, set, dict, generator);
* ``"distributions"``: ``torch.distributions`` in any spelling (an attribute, an import, an
  alias bound in another cell, the name as a string for ``getattr``);
* ``"vae_course"``: the course's package (the name, an import, an object imported from it,
  ``drills`` helpers other than the checkers);
* ``"imports"``: an ``import`` inside the answer, or a name of the answer that refers to a
  module (or an object of a module) the problem's fixed import cell does not import
  (``allowed_modules``).

How the source travels. Observing an answer (in the notebook, or in the grader's sandbox
where it is rebuilt from the notebook's cells) records :func:`answer_source`: the source of
the answer and of every function or class of the learner's it uses, each with its cell and
first line, and the modules its global names refer to. That text is the observation's
``source``; :func:`find` reads it back without running anything, so the judge (the same in
both places) decides on data only. Line numbers are the cell's lines.
"""

from __future__ import annotations

import ast
import inspect
import io
import re
import textwrap
import tokenize
import types
from dataclasses import dataclass
from typing import Any

BANS = ("loops", "distributions", "vae_course", "imports")
SOURCE_MARK = "# vae-course-source: "
GLOBALS_MARK = "# vae-course-globals: "
CELL_FILE = re.compile(r"^<notebook cell (\d+)>$")
COURSE_NAME = re.compile(r"^vae_course(\.|$)")
LEARNER_DRILLS_API = {
    "check", "hint", "prompt", "question", "review", "solution", "progress", "list", "exam",
    "use", "formula_sheet", "current_seeds",
}  # fmt: skip

ADVICE = {
    "loops": "this part bans Python loops (`for`, `while`, comprehensions): use tensor "
    "operations on whole batches",
    "distributions": "this part bans `torch.distributions`: write the formula yourself",
    "vae_course": "answers may not use the course's package: write it in plain PyTorch",
    "imports": "only the imports of the problem's DO-NOT-CHANGE cell are allowed",
}
MAX_SHOWN = 3


@dataclass(frozen=True)
class Violation:
    """One banned construct: which ban, what it is, and where (a cell line)."""

    ban: str
    construct: str
    line: int
    where: str = ""  # "cell 12", or "" when the cell is not known
    owner: str = ""  # the function or class whose source holds it

    def message(self) -> str:
        """``Line 4 of cell 12 (`kl`): a `for` loop; this part bans Python loops (...)``."""
        place = f"Line {self.line}"
        place += f" of {self.where}" if self.where else " of its cell"
        if self.owner:
            place += f" (`{self.owner}`)"
        return f"{place}: {self.construct}; {ADVICE[self.ban]}."


def check_bans(bans: tuple[str, ...]) -> tuple[str, ...]:
    """``bans`` if every name is a known ban (for declarations), else ValueError."""
    unknown = [b for b in bans if b not in BANS]
    if unknown:
        raise ValueError(f"unknown ban(s) {unknown}; the bans are {BANS}")
    return tuple(bans)


# ----------------------------------------------------------------------------- recording


def _where(filename: str) -> str:
    match = CELL_FILE.match(filename or "")
    return f"cell {match.group(1)}" if match else ""


def _code_objects(code: types.CodeType) -> list[types.CodeType]:
    found = [code]
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            found += _code_objects(constant)
    return found


def _functions_of(answer: Any) -> list[Any]:
    """The Python functions behind ``answer``: itself, or a class's methods."""
    if inspect.isclass(answer):
        found = []
        for value in vars(answer).values():
            value = getattr(value, "__func__", value)  # staticmethod / classmethod
            if isinstance(value, property):
                value = value.fget
            if inspect.isfunction(value):
                found.append(value)
        return found
    function = inspect.unwrap(answer) if callable(answer) else None
    return [function] if inspect.isfunction(function) else []


def _snippets(answer: Any, name: str) -> list[tuple[str, str, int, str]]:
    """(owner, where, first line, text) for an answer: a function, or a class's methods."""
    out = []
    for function in _functions_of(answer):
        code = function.__code__
        try:
            lines, first = inspect.getsourcelines(function)
        except (OSError, TypeError):
            continue
        owner = name if inspect.isfunction(answer) else f"{name}.{function.__name__}"
        out.append((owner, _where(code.co_filename), max(first, 1), "".join(lines)))
    return out


def _module_of(value: Any) -> str:
    """The module a global name's value comes from: for modules, classes and functions
    (what an import binds); '' for plain values (numbers, tensors, models)."""
    if isinstance(value, types.ModuleType):
        return value.__name__
    if inspect.isclass(value) or inspect.isroutine(value):
        module = str(getattr(value, "__module__", "") or "")
        return "" if module == "builtins" else module
    return ""


def answer_source(answer: Any, name: str = "") -> str:
    """The source of ``answer`` and of the learner's functions and classes it uses, with
    their cells and lines, and the modules its global names refer to (see the module
    docstring). '' when there is no source to read."""
    name = name or getattr(answer, "__name__", "answer")
    home = getattr(answer, "__module__", None)
    pending: list[tuple[str, Any]] = [(name, answer)]
    seen: set[int] = set()
    parts: list[str] = []
    modules: dict[str, str] = {}
    while pending and len(seen) < 50:
        label, obj = pending.pop(0)
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        for owner, where, first, text in _snippets(obj, label):
            parts.append(f"{SOURCE_MARK}{owner} | {where} | {first}\n{text.rstrip()}\n")
        for function in _functions_of(obj):
            namespace = function.__globals__
            names = {n for code in _code_objects(function.__code__) for n in code.co_names}
            for used in sorted(names):
                if used not in namespace:
                    continue
                value = namespace[used]
                module = _module_of(value)
                if module and module != home:
                    modules[used] = module
                elif (inspect.isfunction(value) or inspect.isclass(value)) and module == home:
                    pending.append((used, value))
    if not parts:
        return ""
    listed = " ".join(f"{k}={v}" for k, v in sorted(modules.items()))
    return "".join(parts) + (f"{GLOBALS_MARK}{listed}\n" if listed else "")


# ----------------------------------------------------------------------------- judging


@dataclass
class _Snippet:
    owner: str
    where: str
    first: int
    text: str


def _parse_source(source: str) -> tuple[list[_Snippet], dict[str, str]]:
    snippets: list[_Snippet] = []
    modules: dict[str, str] = {}
    current: _Snippet | None = None
    for line in source.splitlines(keepends=True):
        if line.startswith(SOURCE_MARK):
            owner, where, first = (line[len(SOURCE_MARK) :].rstrip("\n").split(" | ") + ["", ""])[
                :3
            ]
            current = _Snippet(owner, where, int(first) if first.isdigit() else 1, "")
            snippets.append(current)
        elif line.startswith(GLOBALS_MARK):
            for pair in line[len(GLOBALS_MARK) :].split():
                key, _, value = pair.partition("=")
                modules[key] = value
        elif current is None:
            current = _Snippet("", "", 1, line)
            snippets.append(current)
        else:
            current.text += line
    return snippets, modules


def _allowed(module: str, allowed_modules: tuple[str, ...]) -> bool:
    return any(module == m or module.startswith(m + ".") for m in allowed_modules)


def _is_course(module: str) -> bool:
    return module == "vae_course" or module.startswith("vae_course.")


def _dotted(node: ast.AST) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return ""


_LOOPS = {
    ast.For: "a `for` loop",
    ast.AsyncFor: "an `async for` loop",
    ast.While: "a `while` loop",
    ast.ListComp: "a list comprehension",
    ast.SetComp: "a set comprehension",
    ast.DictComp: "a dict comprehension",
    ast.GeneratorExp: "a generator expression",
}


def _tree_violations(
    tree: ast.AST,
    bans: tuple[str, ...],
    modules: dict[str, str],
    allowed_modules: tuple[str, ...],
) -> list[tuple[str, str, int]]:
    """(ban, construct, line within the snippet) for every banned node of ``tree``."""
    found: list[tuple[str, str, int]] = []

    def add(ban: str, construct: str, node: ast.AST) -> None:
        if ban in bans:
            found.append((ban, construct, getattr(node, "lineno", 1)))

    for node in ast.walk(tree):
        if type(node) in _LOOPS:
            add("loops", _LOOPS[type(node)], node)
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or "."]
            )
            text = ast.unparse(node)[:80]
            for module in names:
                if "distributions" in module.split("."):
                    add("distributions", f"`{text}`", node)
                if _is_course(module):
                    add("vae_course", f"`{text}`", node)
            add("imports", f"an import (`{text}`)", node)
        elif isinstance(node, ast.Attribute):
            dotted = _dotted(node)
            if node.attr == "distributions":
                add("distributions", f"`{dotted or 'distributions'}`", node)
            root = dotted.split(".")[0] if dotted else ""
            if (
                root in ("drills",)
                and node.attr not in LEARNER_DRILLS_API
                and dotted.count(".") == 1
            ):
                add("vae_course", f"`{dotted}` (the course's drills, not a checker)", node)
        elif isinstance(node, ast.Name):
            module = modules.get(node.id, "")
            if node.id == "vae_course" or (_is_course(module) and node.id != "drills"):
                add("vae_course", f"`{node.id}` (from the course's package)", node)
            elif module and "distributions" in module.split("."):
                add("distributions", f"`{node.id}` (from `{module}`)", node)
            elif (
                module
                and not _is_course(module)
                and allowed_modules
                and not _allowed(module, allowed_modules)
            ):
                add("imports", f"`{node.id}` (from `{module}`, not a fixed import)", node)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value.strip()
            if text == "distributions" or text.startswith("torch.distributions"):
                add("distributions", f"the string {text[:40]!r}", node)
            if COURSE_NAME.match(text):
                add("vae_course", f"the string {text[:40]!r}", node)
    return found


def _parse_snippet(text: str) -> tuple[ast.AST, int] | None:
    """(tree, lines added in front) for a snippet, indented (a method) or not; None if it
    does not parse."""
    # a method whose body holds a string less indented than its def cannot be dedented
    for candidate, shift in ((textwrap.dedent(text), 0), ("if 1:\n" + text, 1)):
        try:
            return ast.parse(candidate), shift
        except (SyntaxError, ValueError):
            continue
    return _lambda_tree(text)


def _lambda_tree(text: str) -> tuple[ast.AST, int] | None:
    """A lambda's source is the lines around it (``f(key=lambda v: v,``): parse the longest
    expression that starts at ``lambda``."""
    start = text.find("lambda")
    if start < 0:
        return None
    lines_before = text.count("\n", 0, start)
    tail = text[start:]
    for end in range(len(tail), 6, -1):
        try:
            tree = ast.parse(tail[:end].strip(), mode="eval")
        except (SyntaxError, ValueError):
            continue
        return tree, -lines_before
    return None


_TOKEN_BANS = {
    "for": ("loops", "a `for` loop or comprehension"),
    "while": ("loops", "a `while` loop"),
    "import": ("imports", "an import"),
    "distributions": ("distributions", "`distributions`"),
    "vae_course": ("vae_course", "`vae_course`"),
}


def _token_violations(text: str, bans: tuple[str, ...]) -> list[tuple[str, str, int]]:
    """The banned words among a snippet's names, for source that does not parse."""
    found: list[tuple[str, str, int]] = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.NAME and token.string in _TOKEN_BANS:
                ban, construct = _TOKEN_BANS[token.string]
                if ban in bans:
                    found.append((ban, construct, token.start[0]))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    return found


def find(
    source: str, bans: tuple[str, ...], allowed_modules: tuple[str, ...] = ()
) -> list[Violation]:
    """The violations of ``bans`` in an observation's ``source`` (see :func:`answer_source`).

    A snippet that does not parse (a lambda cut out of a longer line) is parsed from its
    ``lambda`` on, or else scanned word by word for the banned keywords and names.
    """
    if not bans or not source:
        return []
    snippets, modules = _parse_source(source)
    found: list[Violation] = []
    for snippet in snippets:
        parsed = _parse_snippet(snippet.text)
        if parsed is None:
            hits, shift = _token_violations(snippet.text, bans), 0
        else:
            tree, shift = parsed
            hits = _tree_violations(tree, bans, modules, allowed_modules)
        for ban, construct, line in hits:
            where_line = snippet.first + line - 1 - shift
            found.append(Violation(ban, construct, where_line, snippet.where, snippet.owner))
    unique = list(dict.fromkeys(found))
    return sorted(unique, key=lambda v: (v.where, v.line))


def feedback(violations: list[Violation]) -> list[str]:
    """The learner-facing lines for a part that earns 0 because of ``violations``."""
    shown = [v.message() for v in violations[:MAX_SHOWN]]
    more = len(violations) - len(shown)
    head = "This part bans some constructs and your answer uses them, so it earns 0:"
    return [head, *shown] + ([f"... and {more} more."] if more > 0 else [])


def cell_violations(
    source: str, where: str, bans: tuple[str, ...], allowed_modules: tuple[str, ...] = ()
) -> list[Violation]:
    """The violations in a whole cell's source (the grader's notebook-wide import rule);
    ``where`` names the cell. A cell that does not parse has none (it never ran)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    return [
        Violation(ban, construct, line, where)
        for ban, construct, line in _tree_violations(tree, bans, {}, allowed_modules)
    ]


__all__ = [
    "BANS",
    "Violation",
    "answer_source",
    "cell_violations",
    "check_bans",
    "feedback",
    "find",
]
