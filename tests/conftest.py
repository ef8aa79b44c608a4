"""Shared pytest fixtures: every unit test gets its own empty cache directory."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    """Point VAE_COURSE_CACHE at a fresh folder so no test reads or writes the user's cache."""
    cache = tmp_path / "vae-course-cache"
    monkeypatch.setenv("VAE_COURSE_CACHE", str(cache))
    return cache
