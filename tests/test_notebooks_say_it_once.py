"""Say it once: no notebook code cell defines a function whose body is a package function's.

Every ``def`` in the solution notebooks is compared, as a syntax tree with docstrings and
names of arguments stripped, with every function and method of ``vae_course``. Exercises
(the learner writes what the package also has: ``kl_divergence``...) are the point of the
course: a definition inside a ``### BEGIN SOLUTION`` region is allowed, as is a function
named in the drills' catalogue.
"""

from __future__ import annotations

import ast
import functools
import json
from pathlib import Path

import pytest

import vae_course
from vae_course import drills

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = Path(vae_course.__file__).resolve().parent
SOLUTIONS = sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))


class _Normalise(ast.NodeTransformer):
    """Argument and local names become positions; docstrings go."""

    def visit_FunctionDef(self, node):  # noqa: N802 - the ast visitor's protocol
        node.name = "f"
        node.decorator_list = []
        node.returns = None
        body = node.body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            body = body[1:] or [ast.Pass()]
        node.body = body
        names = [a.arg for a in node.args.posonlyargs + node.args.args + node.args.kwonlyargs]
        mapping = {name: f"a{i}" for i, name in enumerate(names)}
        for arg in node.args.posonlyargs + node.args.args + node.args.kwonlyargs:
            arg.arg = mapping[arg.arg]
            arg.annotation = None
        for child in ast.walk(node):
            if isinstance(child, ast.Name) and child.id in mapping:
                child.id = mapping[child.id]
        self.generic_visit(node)
        return node


def _shape(node: ast.FunctionDef) -> str:
    copy = ast.parse(ast.unparse(node)).body[0]
    return ast.dump(_Normalise().visit(copy), annotate_fields=False)


@functools.cache
def _package_shapes() -> dict[str, str]:
    shapes = {}
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and len(node.body) > 1:
                shapes.setdefault(_shape(node), f"{path.relative_to(PACKAGE)}:{node.name}")
    return shapes


def _notebook_functions(path: Path):
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    for number, cell in enumerate(cells, start=1):
        source = "".join(cell["source"])
        if cell["cell_type"] != "code" or "### BEGIN SOLUTION" in source:
            continue
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef):
                yield number, node


EXERCISE_NAMES = {d.answer_name for d in drills.all_drills()}


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_no_notebook_function_copies_a_package_function(path):
    package = _package_shapes()
    copies = [
        f"cell {number}: {node.name} = {package[_shape(node)]}"
        for number, node in _notebook_functions(path)
        if node.name not in EXERCISE_NAMES and _shape(node) in package
    ]
    assert copies == []


def test_the_comparison_sees_a_renamed_copy():
    source = "def mine(u, v):\n    '''doc'''\n    w = u + v\n    return w * 2\n"
    other = "def theirs(a, b):\n    w = a + b\n    return w * 2\n"
    assert _shape(ast.parse(source).body[0]) == _shape(ast.parse(other).body[0])
