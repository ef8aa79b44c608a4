"""``make book``: the course website, opened offline in headless Chromium.

To keep ``make test`` short this builds a part of the book in fast mode:
``make book BOOK_ARGS="--chapters 02,03,04 --fast"`` into a temporary folder
(``make book`` itself executes every chapter in full mode). Chromium opens the built pages
from ``file://`` with every other request refused, and on chapters 02 and 03 checks that a
figure image has loaded (natural size > 0), that the math is typeset (MathJax elements, no
raw ``$$`` and no TeX error left), and that the "next" link reaches the next chapter.
Screenshots go to ``tests/artifacts/book-*.png``. Chromium comes from Debian's package, as
in ``tests/test_browser.py`` (installed when missing and running as root).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from browser_support import (
    ARTIFACTS_DIR,
    CHROMIUM_ARGS,
    REPO_ROOT,
    BrowserUnavailable,
    ensure_chromium,
)

pytestmark = pytest.mark.browser

CHAPTERS = ("02_vae", "03_reparameterisation", "04_elbo")
CHECKED = (("02_vae", "03_reparameterisation"), ("03_reparameterisation", "04_elbo"))
BUILD_TIMEOUT_S = 1500
VIEWPORT = {"width": 1280, "height": 900}


def _make_book(out: Path) -> subprocess.CompletedProcess:
    numbers = ",".join(name[:2] for name in CHAPTERS)
    command = [
        "make",
        "--no-print-directory",
        "-C",
        str(REPO_ROOT),
        "book",
        f"VENV={sys.prefix}",  # this environment, as it is (nothing installed)
        f"BOOK_DIR={out}",
        f"BOOK_ARGS=--chapters {numbers} --fast",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S)
    assert done.returncode == 0, f"make book failed:\n{(done.stdout + done.stderr)[-5000:]}"
    return done


@pytest.fixture(scope="module")
def book():
    if shutil.which("make") is None:
        pytest.skip("make book needs make")
    out = Path(tempfile.mkdtemp(prefix="vae-course-book-"))
    try:
        _make_book(out)
        yield out
    finally:
        shutil.rmtree(out, ignore_errors=True)


@pytest.fixture(scope="module")
def sync_api():
    return pytest.importorskip(
        "playwright.sync_api", reason="book test skipped: pip install -e '.[dev]' (playwright)"
    )


@pytest.fixture(scope="module")
def browser(sync_api):
    try:
        chromium = ensure_chromium(ARTIFACTS_DIR / "chromium-install.log")
    except BrowserUnavailable as reason:
        pytest.skip(f"book browser test skipped: {reason}")
    profile = Path(tempfile.mkdtemp(prefix="vae-course-book-chromium-"))
    playwright = sync_api.sync_playwright().start()
    try:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=chromium,
            headless=True,
            args=list(CHROMIUM_ARGS),
            viewport=VIEWPORT,
        )
        refused: list[str] = []

        def offline(route):
            if route.request.url.startswith(("file:", "data:", "blob:")):
                route.continue_()
            else:
                refused.append(route.request.url)
                route.abort()

        context.route("**/*", offline)
        context.refused_requests = refused
        try:
            yield context
        finally:
            context.close()
    finally:
        playwright.stop()
        shutil.rmtree(profile, ignore_errors=True)


def _open(browser, path: Path):
    page = browser.new_page()
    page.goto(path.as_uri(), wait_until="load")
    return page


def _wait_for_mathjax(page, timeout_s: float = 60.0) -> None:
    """Until MathJax has typeset the page (its startup promise resolved)."""
    page.wait_for_function(
        "() => window.MathJax && MathJax.startup && MathJax.startup.promise"
        " && document.querySelectorAll('mjx-container').length > 0",
        timeout=timeout_s * 1000,
    )
    page.evaluate("() => MathJax.startup.promise")


FIGURES_JS = """
() => [...document.querySelectorAll('.cell_output img')].map((img) => ({
  src: img.getAttribute('src'), complete: img.complete, width: img.naturalWidth,
  height: img.naturalHeight,
}))
"""


@pytest.mark.parametrize(("chapter", "next_chapter"), CHECKED)
def test_a_chapter_shows_figures_typeset_math_and_leads_to_the_next(
    book, browser, chapter, next_chapter
):
    page = _open(browser, book / "html" / "chapters" / f"{chapter}.html")
    try:
        _wait_for_mathjax(page)
        page.wait_for_function(
            "() => [...document.querySelectorAll('.cell_output img')].every((i) => i.complete)",
            timeout=30_000,
        )
        page.screenshot(path=str(ARTIFACTS_DIR / f"book-{chapter}.png"), full_page=True)
        figures = page.evaluate(FIGURES_JS)
        loaded = [f for f in figures if f["complete"] and f["width"] > 0 and f["height"] > 0]
        assert loaded, f"{chapter}: no figure image loaded: {figures}"
        assert len(loaded) == len(figures), f"{chapter}: broken images: {figures}"

        text = page.locator("article").inner_text()
        assert "$$" not in text, f"{chapter}: raw $$ left on the page"
        assert page.locator("mjx-container").count() > 0
        assert page.locator("mjx-merror").count() == 0, f"{chapter}: a TeX error on the page"

        link = page.locator("a.student-notebook")
        href = link.get_attribute("href")
        assert href == f"../notebooks/{chapter}.ipynb"
        downloaded = (book / "html" / "chapters" / href).resolve()
        assert (
            downloaded.read_bytes() == (REPO_ROOT / "notebooks" / f"{chapter}.ipynb").read_bytes()
        )

        with page.expect_navigation(wait_until="load"):
            page.locator("a.right-next").first.click()
        arrived = Path(unquote(urlparse(page.url).path))
        assert arrived == (book / "html" / "chapters" / f"{next_chapter}.html").resolve()
        assert page.locator("h1").first.inner_text().strip()
    finally:
        page.close()
    assert not browser.refused_requests, f"the page asked the network: {browser.refused_requests}"


def test_the_index_lists_every_chapter_and_search_finds_a_chapter(book, browser):
    pages = sorted(p.stem for p in (book / "html" / "chapters").glob("*.html"))
    assert pages == list(CHAPTERS)
    page = _open(browser, book / "html" / "index.html")
    try:
        listed = page.evaluate(
            "() => [...document.querySelectorAll('.bd-sidenav a, .toctree-wrapper a')]"
            ".map((a) => a.getAttribute('href'))"
        )
        for chapter in CHAPTERS:
            assert any(href and href.endswith(f"chapters/{chapter}.html") for href in listed)
        page.goto((book / "html" / "search.html").as_uri() + "?q=reparameterisation")
        page.wait_for_function(
            "() => document.querySelectorAll('#search-results li, ul.search li').length > 0",
            timeout=30_000,
        )
        hits = page.evaluate(
            "() => [...document.querySelectorAll('#search-results li a, ul.search li a')]"
            ".map((a) => a.getAttribute('href'))"
        )
        page.screenshot(path=str(ARTIFACTS_DIR / "book-search.png"), full_page=True)
    finally:
        page.close()
    assert any("03_reparameterisation" in (href or "") for href in hits), hits
    assert not browser.refused_requests, browser.refused_requests


def test_a_rebuild_with_nothing_changed_executes_no_notebook(book):
    from jupyter_cache import get_cache

    cache = get_cache(str(book / "jupyter-cache-fast"))
    before = {record.pk: record.created for record in cache.list_cache_records()}
    assert len(before) == len(CHAPTERS)
    started = time.monotonic()
    _make_book(book)
    print(f"rebuild took {time.monotonic() - started:.1f} s")
    after = {record.pk: record.created for record in cache.list_cache_records()}
    assert after == before  # no notebook was executed again
