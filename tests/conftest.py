"""Shared pytest fixtures: every unit test gets its own empty cache directory."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    """Point VAE_COURSE_CACHE at a fresh folder so no test reads or writes the user's cache."""
    cache = tmp_path / "vae-course-cache"
    monkeypatch.setenv("VAE_COURSE_CACHE", str(cache))
    return cache


# ----------------------------------------------------------------------------- shared headers
# Every test draws with the Agg backend (no window), and no figure outlives its test.

import matplotlib  # noqa: E402

matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def _close_figures():
    """Close every matplotlib figure a test left open."""
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


# ----------------------------------------------------------------------------- training tests
# Used by the tests of train, history, model_cache, divergence and training_data through
# ``pytestmark = pytest.mark.usefixtures("one_thread", "cpu_training")``.


@pytest.fixture(scope="module")
def one_thread():
    """Tiny models gain nothing from intra-op threads, and on a busy machine OpenMP threads
    waiting for each other slow every step down many times."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def cpu_training(monkeypatch):
    """Train on the CPU at full size, whatever the environment says."""
    monkeypatch.delenv("VAE_COURSE_FAST", raising=False)
    monkeypatch.setenv("VAE_COURSE_DEVICE", "cpu")


@pytest.fixture(scope="module")
def train_data():
    """192 bar images (N, 1, 8, 8) and their labels (N,) (see training_support.bars)."""
    from training_support import bars

    return bars(192, seed=1)


@pytest.fixture(scope="module")
def test_data():
    """64 held-out bar images and labels."""
    from training_support import bars

    return bars(64, seed=2)
