"""The package's shape: no import cycle, every module importable alone, small modules,
and no module but config writing os.environ."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import vae_course

PACKAGE = Path(vae_course.__file__).resolve().parent
MAX_LINES = 600


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _resolve(module: str, node: ast.ImportFrom | ast.Import) -> list[str]:
    """The vae_course modules an import statement loads (a package counts as its __init__)."""
    found: list[str] = []
    if isinstance(node, ast.Import):
        candidates = [alias.name for alias in node.names]
    else:
        if node.level:
            is_package = MODULES[module].name == "__init__.py"
            base = module.split(".")
            base = base if is_package else base[:-1]
            base = base[: len(base) - (node.level - 1)]
            prefix = ".".join(base + ([node.module] if node.module else []))
        else:
            prefix = node.module or ""
        candidates = [prefix] + [f"{prefix}.{alias.name}" for alias in node.names]
    for name in candidates:
        if name in MODULES:
            found.append(name)
    return found


def import_graph() -> dict[str, set[str]]:
    """{module: vae_course modules it imports}, every import statement counted (lazy ones
    inside functions too: a cycle hidden in a function is still a cycle)."""
    graph: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        edges: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import | ast.ImportFrom):
                edges.update(_resolve(name, node))
        # a module's own parent packages are always imported before it: not an edge
        graph[name] = {e for e in edges if e != name and not name.startswith(e + ".")}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_graph_sees_relative_and_absolute_imports():
    graph = import_graph()
    assert "vae_course.drills.registry" in graph["vae_course.drills.api"]
    assert "vae_course.drills.catalogue" in graph["vae_course.drills.registry"]
    assert "vae_course.grading.env" in graph["vae_course.grading.execute"]


def test_no_import_cycle_in_the_package():
    assert cycles(import_graph()) == []


def test_every_module_imports_alone_in_a_fresh_interpreter():
    """One fresh interpreter, third-party libraries preloaded, then one forked child per
    module that imports only that module: an import that works only after another module
    has been imported fails here."""
    script = r"""
import importlib, json, os, sys, traceback
import matplotlib
matplotlib.use("Agg")
import numpy, torch, torchvision  # preloaded: only vae_course's own order is under test
failures = {}
for name in json.loads(sys.argv[1]):
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            importlib.import_module(name)
            message = b""
        except BaseException:
            message = traceback.format_exc(limit=3).encode()
        os.write(write, message[:4000])
        os._exit(0)
    os.close(write)
    chunks = []
    while chunk := os.read(read, 4096):
        chunks.append(chunk)
    os.close(read)
    os.waitpid(pid, 0)
    if chunks:
        failures[name] = b"".join(chunks).decode(errors="replace")
print(json.dumps(failures))
"""
    names = [n for n in MODULES if "sandbox_site.sitecustomize" not in n]
    done = subprocess.run(
        [sys.executable, "-c", script, json.dumps(names)],
        capture_output=True,
        text=True,
        timeout=600,
        env={"MPLBACKEND": "Agg", "PATH": "/usr/bin:/bin", "HOME": str(Path.home())},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    failures = json.loads(done.stdout.strip().splitlines()[-1])
    assert failures == {}, failures


def test_no_module_is_longer_than_a_reader_can_hold():
    long = {n: len(p.read_text().splitlines()) for n, p in MODULES.items()}
    assert {n: lines for n, lines in long.items() if lines > MAX_LINES} == {}


def _environ_writes(tree: ast.AST) -> list[int]:
    """Lines that assign to, delete from, or call a mutating method of ``os.environ``."""
    lines = []
    mutators = {"update", "pop", "setdefault", "clear", "popitem", "__setitem__"}

    def is_environ(node: ast.AST) -> bool:
        return ast.unparse(node) in ("os.environ", "environ")

    for node in ast.walk(tree):
        targets = []
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign | ast.Delete):
            targets = node.targets if isinstance(node, ast.Assign | ast.Delete) else [node.target]
        for target in targets:
            if isinstance(target, ast.Subscript) and is_environ(target.value):
                lines.append(node.lineno)
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in mutators
            and is_environ(node.func.value)
        ):
            lines.append(node.lineno)
        if isinstance(node, ast.Call) and ast.unparse(node.func) in ("os.putenv", "os.unsetenv"):
            lines.append(node.lineno)
    return sorted(lines)


def test_the_environ_check_sees_every_kind_of_write():
    code = "import os\nos.environ['A'] = '1'\nos.environ.update(B='2')\ndel os.environ['A']\n"
    code += "os.environ.pop('B', None)\nos.putenv('C', '3')\nx = os.environ.get('D')\n"
    assert _environ_writes(ast.parse(code)) == [2, 3, 4, 5, 6]


def test_only_config_writes_os_environ():
    writers = {
        name: lines
        for name, path in MODULES.items()
        if name != "vae_course.config"
        and (lines := _environ_writes(ast.parse(path.read_text(encoding="utf-8"))))
    }
    assert writers == {}, writers
