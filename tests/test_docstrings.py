"""Every public function and class of the course's modules names the chapter that teaches or
uses it (as d2l links its library back to the book), and states what it does."""

from __future__ import annotations

import importlib
import inspect
import re

import pytest

MODULES = [
    "applications", "contest", "data", "diagnostics", "disentanglement", "divergence",
    "generation", "history", "loops", "losses", "model_cache", "models", "plots",
    "reference_models", "schedules", "shapes", "storage", "toys", "train", "training_data",
    "widgets",
]  # fmt: skip
CHAPTER = re.compile(r"\b0\d_[a-z_]+\b|\bno chapter\b|\bnot used by a chapter\b", re.I)


def _public_objects():
    for name in MODULES:
        module = importlib.import_module(f"vae_course.{name}")
        for attribute in module.__all__:
            obj = getattr(module, attribute)
            if inspect.isfunction(obj) or inspect.isclass(obj):
                yield f"{name}.{attribute}", obj


PUBLIC_OBJECTS = list(_public_objects())


# ids are the names only: an object's repr holds its address, which differs between the
# processes of pytest -n, and the workers must collect the same tests
@pytest.mark.parametrize(("name", "obj"), PUBLIC_OBJECTS, ids=[name for name, _ in PUBLIC_OBJECTS])
def test_public_docstrings_name_a_chapter(name, obj):
    doc = inspect.getdoc(obj) or ""
    assert len(doc) > 20, f"{name} has no docstring"
    assert CHAPTER.search(doc), (
        f"{name}'s docstring names no chapter (e.g. 'Used in 05_kl_annealing')"
    )


def test_the_check_catches_a_docstring_without_a_chapter():
    assert not CHAPTER.search("Return the KL of each example.")
    assert CHAPTER.search("Taught in 04_elbo, Exercise 4.1.")
