"""Environment switches read by the whole package, in one place.

``VAE_COURSE_FAST=1``     small data subsets and few epochs (CI, quick checks); the only
                          fast-mode switch in the project.
``VAE_COURSE_OFFLINE=1``  never touch the network; ``mnist`` falls back to ``mnist-embedded``.
``VAE_COURSE_MODE=exam``  drills refuse worked solutions and hints until an exam ends.
``VAE_COURSE_CACHE=DIR``  where datasets, trained models and progress are kept
                          (see :func:`vae_course.storage.cache_dir`).
``VAE_COURSE_DEVICE=...`` force a torch device (``cpu``, ``cuda``, ``mps``).
``VAE_COURSE_GRADED=1``   set by the classroom grader inside its sandbox: a graded run.
``VAE_COURSE_MEASURE=DIR`` set by ``make measure``: chapters record the numbers their prose
                          quotes into DIR (:mod:`vae_course.measured`).
"""

from __future__ import annotations

import os

_TRUE = {"1", "true", "yes", "on"}


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in _TRUE


def fast_mode() -> bool:
    """True when ``VAE_COURSE_FAST`` is set to 1/true/yes/on."""
    return _flag("VAE_COURSE_FAST")


def offline_mode() -> bool:
    """True when ``VAE_COURSE_OFFLINE`` is set: no download is ever attempted."""
    return _flag("VAE_COURSE_OFFLINE")


def graded_run() -> bool:
    """True inside the classroom grader's sandbox (``VAE_COURSE_GRADED=1``)."""
    return _flag("VAE_COURSE_GRADED")


def measure_dir() -> str | None:
    """The folder ``make measure`` records into (``VAE_COURSE_MEASURE``), else None."""
    folder = os.environ.get("VAE_COURSE_MEASURE", "").strip()
    return folder or None


def exam_mode() -> bool:
    """True when ``VAE_COURSE_MODE=exam``: solutions are withheld."""
    return os.environ.get("VAE_COURSE_MODE", "").strip().lower() == "exam"


def default_device() -> str:
    """The torch device training uses: ``VAE_COURSE_DEVICE`` if set, else cuda, mps, cpu."""
    forced = os.environ.get("VAE_COURSE_DEVICE", "").strip()
    if forced:
        return forced
    import torch

    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"
