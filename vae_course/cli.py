"""The ``vae-course`` command line: ``build | grade | practice | contest | doctor | notebooks |
lab | export``.

Each sub-command lives in its own module, which provides two functions:
``configure_parser(parser: argparse.ArgumentParser) -> None`` and
``run(args: argparse.Namespace) -> int`` (the exit code). Modules are imported only
when their command runs, so ``vae-course doctor`` works even when, say, torch is broken.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from vae_course import __version__

# command -> (module implementing it, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "doctor": ("vae_course.doctor", "check the installation, data and cache; print fixes"),
    "build": ("vae_course.authoring", "generate student notebooks/ from solutions/"),
    "grade": ("vae_course.grading", "re-execute submitted notebooks and write a gradebook"),
    "practice": ("vae_course.practice", "olympiad practice: timed exam in the terminal"),
    "contest": ("vae_course.contest.cli", "IOAI-style contest tasks: data, grading, leaderboard"),
    "notebooks": ("vae_course.course_files", "copy the student notebooks into a folder"),
    "lab": ("vae_course.lab", "open a folder of the course in JupyterLab (as root too)"),
    "export": ("vae_course.nbgrader_export", "export the course for nbgrader (JupyterHub)"),
}


def _configure(module_name: str, parser: argparse.ArgumentParser) -> None:
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        parser.set_defaults(_import_error=str(error))
        return
    module.configure_parser(parser)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = _parser_for(argv)
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    if getattr(args, "_import_error", None):
        print(f"vae-course {args.command}: cannot load ({args._import_error}).", file=sys.stderr)
        print("Fix: run `make test` (or `pip install -e .[dev]`) to repair the install.")
        return 1
    module = importlib.import_module(args._module)
    try:
        return int(module.run(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _parser_for(argv: list[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vae-course", description="Variational Autoencoder course tools."
    )
    parser.add_argument("--version", action="version", version=f"vae-course {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    wanted = argv[0] if argv else None
    for name, (module_name, help_text) in COMMANDS.items():
        command_parser = sub.add_parser(name, help=help_text, description=help_text)
        command_parser.set_defaults(_module=module_name)
        if name == wanted:
            _configure(module_name, command_parser)
    return parser


if __name__ == "__main__":
    sys.exit(main())
