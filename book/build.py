"""Build the course website: ``make book`` runs ``python book/build.py``.

::

    python book/build.py [--out build/book] [--chapters 03,04] [--fast]

1. Lays out the sources in ``OUT/src``: ``book/index.md`` and the chosen solution notebooks as
   ``chapters/NN_topic.ipynb``; a file is rewritten only when its content changed, so Sphinx
   rereads only what changed.
2. Fetches MathJax with ``npm ci`` from ``book/package-lock.json`` into ``OUT/assets`` (only
   when the locked version is not there yet) and copies its browser build into
   ``OUT/static/mathjax``, which the site serves from ``_static/``: math renders offline.
3. Copies the chosen chapters' student notebooks to ``OUT/extra/notebooks`` (the site's
   ``notebooks/``), which every chapter page links to.
4. Runs Sphinx (``book/conf.py``) into ``OUT/html``. MyST-NB executes each notebook that
   changed since the last build (jupyter-cache in ``OUT/jupyter-cache-<mode>``) with the
   course's trained-model cache in ``OUT/course-cache-<mode>``: a rebuild with nothing
   changed executes nothing and takes seconds.

Chapters run in full mode (the course as a learner runs it) and offline (``mnist-embedded``,
``VAE_COURSE_OFFLINE=1``), so the site is the same on every build machine. ``--fast`` sets
``VAE_COURSE_FAST=1`` for the kernels (small data, few epochs; the test suite uses it) and
says so on every page; fast and full builds keep separate caches. Executed outputs live only
in ``OUT``, which is never committed.
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

BOOK_DIR = Path(__file__).resolve().parent
REPO_ROOT = BOOK_DIR.parent
sys.path.insert(0, str(REPO_ROOT))

from vae_course.course_files import CourseFilesError, chapter_notebooks  # noqa: E402

MATHJAX_BUILD = Path("node_modules") / "mathjax" / "es5"


class BookError(RuntimeError):
    """The book cannot be built; the message says why and what to do."""


def _sync_file(source: Path, target: Path) -> bool:
    """Copy ``source`` to ``target`` unless it is already identical; True when copied."""
    if target.is_file() and filecmp.cmp(source, target, shallow=False):
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return True


def _sync_folder(files: list[Path], folder: Path) -> None:
    """Make ``folder`` hold exactly ``files`` (by name), copying only what changed."""
    folder.mkdir(parents=True, exist_ok=True)
    wanted = {path.name for path in files}
    for stale in folder.iterdir():
        if stale.name not in wanted:
            shutil.rmtree(stale) if stale.is_dir() else stale.unlink()
    for path in files:
        _sync_file(path, folder / path.name)


def locked_mathjax_version() -> str:
    lock = json.loads((BOOK_DIR / "package-lock.json").read_text())
    return lock["packages"]["node_modules/mathjax"]["version"]


def fetch_mathjax(assets: Path) -> Path:
    """``npm ci`` the locked MathJax into ``assets`` (once); return its browser build."""
    version = locked_mathjax_version()
    installed = assets / "node_modules" / "mathjax" / "package.json"
    if installed.is_file() and json.loads(installed.read_text()).get("version") == version:
        return assets / MATHJAX_BUILD
    npm = shutil.which("npm")
    if npm is None:
        raise BookError(
            "the book needs npm (Node.js) to fetch MathJax: install Node.js "
            "(e.g. `apt-get install npm`), then run `make book` again"
        )
    assets.mkdir(parents=True, exist_ok=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copyfile(BOOK_DIR / name, assets / name)
    done = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=assets,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0 or not (assets / MATHJAX_BUILD / "tex-chtml.js").is_file():
        raise BookError(
            f"npm ci of MathJax {version} failed:\n{(done.stdout + done.stderr)[-2000:]}"
        )
    return assets / MATHJAX_BUILD


def _copy_mathjax(build: Path, static: Path) -> None:
    target = static / "mathjax"
    stamp = target / ".version"
    version = locked_mathjax_version()
    if stamp.is_file() and stamp.read_text() == version:
        return
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(build, target, ignore=_not_needed_by_tex_chtml)
    stamp.write_text(version)


# tex-chtml.js loads TeX extensions, CHTML fonts and the accessibility menu from these
# folders on demand; the other combined builds (SVG, MathML input) are never loaded.
MATHJAX_KEEP = {"tex-chtml.js", "input", "output", "a11y", "ui", "sre", "adaptors"}


def _not_needed_by_tex_chtml(folder: str, names: list[str]) -> set[str]:
    if Path(folder).name == "es5":
        return {name for name in names if name not in MATHJAX_KEEP}
    if Path(folder).name == "output":
        return {name for name in names if name.startswith("svg")}
    return set()


def kernel_environment(out: Path, mode: str) -> dict[str, str]:
    """The environment Sphinx and the notebooks' kernels run with."""
    env = dict(os.environ)
    env.pop("MPLBACKEND", None)  # `make test` sets Agg; the book needs inline figures
    env.pop("VAE_COURSE_FAST", None)
    if mode == "fast":
        env["VAE_COURSE_FAST"] = "1"
    env.setdefault("VAE_COURSE_OFFLINE", "1")
    env["VAE_COURSE_CACHE"] = str(out / f"course-cache-{mode}")
    env["VAE_COURSE_BOOK_MODE"] = mode
    env["VAE_COURSE_BOOK_CACHE"] = str(out / f"jupyter-cache-{mode}")
    env["VAE_COURSE_BOOK_STATIC"] = str(out / "static")
    env["VAE_COURSE_BOOK_EXTRA"] = str(out / "extra")
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    return env


def build(out: Path, chapters: list[str] | None = None, *, fast: bool = False) -> Path:
    """Build the site into ``out/html``; return the path of its ``index.html``."""
    mode = "fast" if fast else "full"
    out = out.resolve()
    try:
        solutions = chapter_notebooks(REPO_ROOT / "solutions", chapters)
    except CourseFilesError as error:
        raise BookError(str(error)) from error
    students = [REPO_ROOT / "notebooks" / path.name for path in solutions]
    missing = [path.name for path in students if not path.is_file()]
    if missing:
        raise BookError(f"no student notebook for {', '.join(missing)}: run `make build`")
    src = out / "src"
    _sync_file(BOOK_DIR / "index.md", src / "index.md")
    _sync_folder(solutions, src / "chapters")
    _sync_folder(students, out / "extra" / "notebooks")
    _copy_mathjax(fetch_mathjax(out / "assets"), out / "static")
    command = [
        sys.executable,
        "-m",
        "sphinx",
        "-b",
        "html",
        "-q",
        "-c",
        str(BOOK_DIR),
        "-d",
        str(out / f"doctrees-{mode}"),
        str(src),
        str(out / "html"),
    ]
    done = subprocess.run(command, cwd=out, env=kernel_environment(out, mode))
    if done.returncode != 0:
        raise BookError(f"Sphinx failed (exit {done.returncode}); its messages are above")
    return out / "html" / "index.html"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the course website (make book).")
    parser.add_argument("--out", default=str(REPO_ROOT / "build" / "book"), metavar="DIR")
    parser.add_argument("--chapters", default=None, metavar="NN,NN", help="default: all")
    parser.add_argument("--fast", action="store_true", help="run the chapters in fast mode (tests)")
    args = parser.parse_args(argv)
    chapters = [c for c in args.chapters.split(",") if c.strip()] if args.chapters else None
    started = time.monotonic()
    try:
        index = build(Path(args.out), chapters, fast=args.fast)
    except BookError as error:
        print(f"make book: {error}", file=sys.stderr)
        return 1
    mode = "fast mode" if args.fast else "full mode"
    print(f"Book built ({mode}) in {time.monotonic() - started:.0f} s: {index}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
