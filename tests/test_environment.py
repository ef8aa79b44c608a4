"""pyproject.toml and environment.yml list the same dependencies; torchvision imports."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]
CONDA_TO_PIP = {"pytorch": "torch"}


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~;\[ ]", requirement.strip(), maxsplit=1)[0].lower()


def pyproject_names() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {_name(r) for r in project["dependencies"]}


def environment_names() -> set[str]:
    names, in_pip_block, section = set(), False, None
    for line in (ROOT / "environment.yml").read_text().splitlines():
        stripped = line.split("#", 1)[0].rstrip()
        if stripped and not stripped[0].isspace() and stripped.endswith(":"):
            section = stripped[:-1]
            continue
        if section != "dependencies" or not stripped.strip().startswith("- "):
            continue
        indent = len(stripped) - len(stripped.lstrip())
        item = stripped.strip()[2:].strip()
        if indent <= 2:
            in_pip_block = item.startswith("pip:")
            if in_pip_block:
                continue
        if in_pip_block and indent > 2:
            continue
        name = _name(item)
        if name not in {"python", "pip"}:
            names.add(CONDA_TO_PIP.get(name, name))
    return names


def test_environment_yml_lists_the_same_dependencies_as_pyproject():
    assert pyproject_names() == environment_names()


def test_the_parser_sees_the_core_set():
    core = {"torch", "torchvision", "jupyterlab", "matplotlib", "ipywidgets", "nbval", "numpy"}
    assert core <= pyproject_names()
    assert {"mlxtend", "scikit-learn", "tqdm", "platformdirs"} <= pyproject_names()


def test_torchvision_imports_in_this_environment():
    done = subprocess.run(
        [sys.executable, "-c", "import torchvision, torchvision.transforms; print('ok')"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
