"""End to end: the course notebooks run in JupyterLab, in headless Chromium, as a learner sees them.

A private JupyterLab server of this environment (fast mode, a temporary cache) opens
``notebooks/00_welcome.ipynb`` and a chapter with a widget, runs Run > Run All Cells and
checks the page: no traceback except the exercise stubs' NotImplementedError in cells
tagged ``raises-exception``; every ``drills.check(...)`` shows its Result as drill HTML,
never as plain text; the chapter's widget renders, and moving its slider changes its image.
Screenshots go to ``tests/artifacts/``.

Run alone: ``python -m pytest tests/test_browser.py -m browser -v``. Chromium comes from
Debian's ``chromium`` package (installed here when missing and running as root); the chapter
is ``VAE_COURSE_BROWSER_CHAPTER`` (default ``notebooks/01_autoencoder.ipynb``).
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from pathlib import Path

import pytest
from browser_support import (
    ARTIFACTS_DIR,
    CHROMIUM_ARGS,
    REPO_ROOT,
    BrowserUnavailable,
    NotebookPage,
    ensure_chromium,
    file_digest,
    problems_in,
    running_lab,
)

pytestmark = pytest.mark.browser

WELCOME_NOTEBOOK = "notebooks/00_welcome.ipynb"
WIDGET_CHAPTER = os.environ.get("VAE_COURSE_BROWSER_CHAPTER", "notebooks/01_autoencoder.ipynb")
RUN_ALL_TIMEOUT_S = 600.0
VIEWPORT = {"width": 1280, "height": 900}


@pytest.fixture(scope="module")
def sync_api():
    """Playwright's sync API (the [dev] extra installs it; it brings no browser of its own)."""
    return pytest.importorskip(
        "playwright.sync_api", reason="browser test skipped: pip install -e '.[dev]' (playwright)"
    )


@pytest.fixture(scope="module")
def chromium_path(sync_api) -> str:
    """Debian's Chromium: found, installed (root + apt-get), or the module is skipped."""
    try:
        return ensure_chromium(ARTIFACTS_DIR / "chromium-install.log")
    except BrowserUnavailable as reason:
        pytest.skip(f"browser test skipped: {reason}")


@pytest.fixture(scope="module")
def lab_server():
    """JupyterLab on 127.0.0.1 with a random token; kernels run in fast mode, offline."""
    cache = Path(tempfile.mkdtemp(prefix="vae-course-browser-cache-"))
    env = {
        "VAE_COURSE_FAST": "1",
        "VAE_COURSE_OFFLINE": "1",
        "VAE_COURSE_CACHE": str(cache),
    }
    try:
        with running_lab(REPO_ROOT, env) as server:
            yield server
    finally:
        shutil.rmtree(cache, ignore_errors=True)


@pytest.fixture(scope="module")
def browser(sync_api, chromium_path):
    """A headless Chromium with a new, empty profile, driven by Playwright."""
    profile = Path(tempfile.mkdtemp(prefix="vae-course-chromium-"))
    playwright = sync_api.sync_playwright().start()
    try:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=chromium_path,
            headless=True,
            args=list(CHROMIUM_ARGS),
            viewport=VIEWPORT,
        )
        try:
            yield context
        finally:
            context.close()
    finally:
        playwright.stop()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def page(browser, lab_server):
    """A fresh tab; afterwards every kernel is shut down so the next notebook starts clean."""
    tab = browser.new_page()
    try:
        yield tab
    finally:
        tab.close()
        lab_server.shutdown_kernels()


def run_notebook(page, server, relative_path: str) -> tuple[NotebookPage, list, float]:
    """Open ``relative_path``, run all cells, screenshot it; return the page, cells, seconds."""
    notebook = NotebookPage(page, server, relative_path)
    digest_before = file_digest(server.root_dir / relative_path)
    stem = Path(relative_path).stem
    try:
        notebook.open()
        seconds = notebook.run_all(timeout_s=RUN_ALL_TIMEOUT_S)
        print(f"{relative_path}: Run All Cells took {seconds:.1f} s")
        cells = notebook.cells()
    finally:
        notebook.screenshot_notebook(ARTIFACTS_DIR / f"{stem}.png")
    assert file_digest(server.root_dir / relative_path) == digest_before, (
        f"{relative_path} was modified on disk by the browser run (autosave must be off)"
    )
    return notebook, cells, seconds


def assert_no_problems(relative_path: str, cells: list, *, expect_drills: bool) -> None:
    problems = problems_in(cells, expect_drills=expect_drills)
    assert not problems, f"{relative_path} in JupyterLab:\n- " + "\n- ".join(problems)


def assert_slider_moves_image(notebook: NotebookPage, cells: list, stem: str) -> None:
    with_sliders = [cell for cell in cells if cell.slider_count > 0]
    assert with_sliders, (
        f"{notebook.relative_path}: no slider widget rendered (ipywidgets view missing); "
        f"see {ARTIFACTS_DIR / (stem + '.png')}"
    )
    widget_cell = with_sliders[-1]
    notebook.screenshot_cell(widget_cell.index, ARTIFACTS_DIR / f"{stem}-widget-before.png")
    before, after = notebook.move_first_slider(widget_cell.index)
    notebook.screenshot_cell(widget_cell.index, ARTIFACTS_DIR / f"{stem}-widget-after.png")
    assert before, f"cell {widget_cell.index}: the widget shows no image next to its slider"
    assert after != before, (
        f"cell {widget_cell.index}: moving the slider did not change the widget's image"
    )


def test_welcome_notebook_runs_in_lab(page, lab_server):
    """00_welcome: every cell runs, drill results are HTML, no unexpected traceback."""
    _, cells, _ = run_notebook(page, lab_server, WELCOME_NOTEBOOK)
    assert_no_problems(WELCOME_NOTEBOOK, cells, expect_drills=True)


def test_widget_chapter_runs_and_its_slider_redraws(page, lab_server):
    """The chapter runs cleanly and its latent explorer redraws when the slider moves."""
    if not (REPO_ROOT / WIDGET_CHAPTER).is_file():
        pytest.skip(f"{WIDGET_CHAPTER} does not exist (set VAE_COURSE_BROWSER_CHAPTER)")
    notebook, cells, _ = run_notebook(page, lab_server, WIDGET_CHAPTER)
    assert_no_problems(WIDGET_CHAPTER, cells, expect_drills=True)
    assert_slider_moves_image(notebook, cells, Path(WIDGET_CHAPTER).stem)


BROKEN_NOTEBOOK_CELLS = [
    "from vae_course import drills\nprint('the widget would be here')",
    "class Result:\n    def __repr__(self):\n        return 'Result(passed=False)'\n\n\n"
    "drills = type('Drills', (), {'check': staticmethod(lambda *args: Result())})\n"
    "drills.check('pixel_mean', None)",
]


def test_the_checks_fail_on_plain_text_results_and_missing_widgets(page, lab_server, tmp_path):
    """Self-check: a Result without _repr_html_ and a print instead of a widget are caught."""
    import nbformat

    notebook_json = nbformat.v4.new_notebook()
    notebook_json.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    notebook_json.cells = [nbformat.v4.new_code_cell(src) for src in BROKEN_NOTEBOOK_CELLS]
    scratch = ARTIFACTS_DIR / f"scratch-{secrets.token_hex(4)}"
    scratch.mkdir(parents=True)
    try:
        nbformat.write(notebook_json, scratch / "broken.ipynb")
        relative = str((scratch / "broken.ipynb").relative_to(REPO_ROOT))
        notebook, cells, _ = run_notebook(page, lab_server, relative)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    problems = problems_in(cells, expect_drills=True)
    assert any("plain text" in problem for problem in problems), problems
    assert any("shows no drill HTML" in problem for problem in problems), problems
    with pytest.raises(AssertionError, match="no slider widget rendered"):
        assert_slider_moves_image(notebook, cells, "broken")


@pytest.mark.parametrize(
    ("source", "shows_result"),
    [
        ('drills.check("kl_divergence", kl_divergence)', True),
        ('# check it\ndrills.check(\n    "kl_divergence",\n    kl_divergence,\n)', True),
        ('drills.check("kl_divergence", kl_divergence);', False),
        ('result = drills.check("kl_divergence", kl_divergence)', False),
        ('for f in fs:\n    drills.check("kl_divergence", f)', False),
        ('drills.check("kl_divergence", kl_divergence)\nx = 1', False),
    ],
)
def test_cells_that_display_a_drill_result_are_recognised(source, shows_result):
    import browser_support

    assert browser_support.last_statement_is_drill_check(source) is shows_result


def test_chromium_install_is_refused_with_a_reason_when_not_root(monkeypatch, tmp_path):
    import browser_support

    monkeypatch.setattr(browser_support, "find_chromium", lambda: None)
    monkeypatch.setattr(browser_support.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(browser_support.os, "geteuid", lambda: 1000)
    with pytest.raises(BrowserUnavailable, match="needs root"):
        ensure_chromium(tmp_path / "install.log")
