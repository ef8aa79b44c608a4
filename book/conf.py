"""Sphinx configuration of the course website (``make book``; ``book/build.py`` runs Sphinx).

Sphinx + MyST-NB + sphinx-book-theme, all from PyPI, because they build offline: Jupyter
Book 2 (mystmd) fetches its site template from an online service at build time, which a
closed network refuses. ``book/build.py`` lays out the sources (``index.md`` and the
solution notebooks as ``chapters/``), fetches MathJax with npm from ``book/package-lock.json``
and passes these paths in the environment:

``VAE_COURSE_BOOK_STATIC``  folder copied to ``_static/`` (it holds ``mathjax/``)
``VAE_COURSE_BOOK_EXTRA``   folder copied to the site's root (``notebooks/``: the student
                            notebooks that each chapter links to)
``VAE_COURSE_BOOK_CACHE``   jupyter-cache folder: an unchanged notebook is not executed again
``VAE_COURSE_BOOK_MODE``    "full" or "fast" (shown on every page when fast)
"""

from __future__ import annotations

import os
import re

from docutils import nodes

project = "vae-course"
author = "the vae-course authors"
html_title = "Variational Autoencoders, from a plain autoencoder to β-VAE"
MODE = os.environ.get("VAE_COURSE_BOOK_MODE", "full")

extensions = ["myst_nb", "sphinx.ext.mathjax"]
exclude_patterns = ["_build", "**.ipynb_checkpoints", "jupyter_execute"]
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3

# Execution: every chapter runs top to bottom when it changed (jupyter-cache keeps the rest).
nb_execution_mode = "cache"
nb_execution_cache_path = os.environ.get("VAE_COURSE_BOOK_CACHE", "")
nb_execution_timeout = 1800
nb_execution_raise_on_error = True
nb_execution_in_temp = True
nb_execution_show_tb = True
nb_merge_streams = True
# Widgets need a live kernel. The page gets their text instead, which _widget_note then
# drops for a progress bar (its text is the bar at 0 %) and replaces by a note for the rest.
nb_ipywidgets_js = {}
nb_mime_priority_overrides = [("html", "application/vnd.jupyter.widget-view+json", None)]

# MathJax 3 from npm, served from _static/ so that math renders offline.
mathjax_path = "mathjax/tex-chtml.js"
html_static_path = (
    [os.environ["VAE_COURSE_BOOK_STATIC"]] if "VAE_COURSE_BOOK_STATIC" in os.environ else []
)
html_extra_path = (
    [os.environ["VAE_COURSE_BOOK_EXTRA"]] if "VAE_COURSE_BOOK_EXTRA" in os.environ else []
)

html_theme = "sphinx_book_theme"
html_theme_options = {
    "home_page_in_toc": True,
    "show_navbar_depth": 1,
    "show_toc_level": 2,
    "use_download_button": False,  # it would offer the executed solution; see the chapter link
    "use_fullscreen_button": False,
}
if MODE != "full":
    html_theme_options["announcement"] = (
        "Built in fast mode (small data, few epochs): numbers and figures differ from the course's."
    )
html_last_updated_fmt = None
html_copy_source = False
html_show_sourcelink = False

# How an ipywidgets view prints as text: VBox(children=(...)), interactive(children=...), ...
WIDGET_TEXT = re.compile(r"^\s*\w+\((children|value|layout|description|options)=")
# How a tqdm bar (tqdm.auto in a notebook is a widget) prints: "fit VAE:   0%|   | 0/2 [...]"
PROGRESS_BAR_TEXT = re.compile(r"^[^\n]*\d+%\|[^\n]*\|\s*\d+/\d+")
STUDENT_LINK_TEXT = "Download this chapter's student notebook"


def _add_student_notebook_link(app, doctree) -> None:
    """Put a link to the student notebook (exercises to fill in) under each chapter's title."""
    docname = app.env.docname
    if not docname.startswith("chapters/"):
        return
    name = docname.split("/", 1)[1]
    section = next(iter(doctree.findall(nodes.section)), None)
    if section is None:
        return
    link = nodes.reference(
        "", STUDENT_LINK_TEXT, refuri=f"../notebooks/{name}.ipynb", classes=["student-notebook"]
    )
    paragraph = nodes.paragraph(
        "",
        "",
        link,
        nodes.Text(
            " (the exercises left for you; open it in JupyterLab). This page is the worked "
            "solution, run from top to bottom."
        ),
    )
    section.insert(1, paragraph)


def _widget_note(app, doctree, docname) -> None:
    """Replace the text of an ipywidgets view, which needs a live kernel, by a one-line note."""
    for block in list(doctree.findall(nodes.literal_block)):
        if "text_plain" not in block.get("classes", []):
            continue
        if PROGRESS_BAR_TEXT.match(block.astext()):
            block.parent.remove(block)
        elif WIDGET_TEXT.match(block.astext()):
            note = nodes.paragraph(
                "",
                "",
                nodes.emphasis(
                    "", "An interactive widget is here: run the notebook in JupyterLab to use it."
                ),
                classes=["widget-note"],
            )
            block.replace_self(note)


def setup(app):
    app.connect("doctree-read", _add_student_notebook_link)
    app.connect("doctree-resolved", _widget_note)
    return {"parallel_read_safe": True}
