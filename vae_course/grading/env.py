"""The one place where the environment of learner code is decided: variables and limits.

Both processes that run learner code, the notebook's kernel (:mod:`.execute`) and the
checker's child that calls a learner's function (:mod:`.checker`), take their settings from
:func:`learner_settings`, so the settings they share (CPU only, fast and offline mode,
private caches, one thread, no progress bars) cannot drift apart.
"""

from __future__ import annotations

import contextlib
import os
import signal
from dataclasses import dataclass
from pathlib import Path

try:
    import resource
except ImportError:  # Windows: no resource limits
    resource = None  # type: ignore[assignment]

MAX_FILE_MB = 2048  # no file a notebook writes may grow past this (RLIMIT_FSIZE)


@dataclass(frozen=True)
class Options:
    """Limits for one submission (see :func:`vae_course.grading.grade`)."""

    timeout: float = 600.0
    memory_mb: int = 8192
    check_timeout: float = 60.0  # one drill check (rebuild + checker), hard kill after this
    package_dir: str = ""
    protected: tuple[str, ...] = ()  # never readable by a notebook (the batch's folders, --out)


def learner_settings(cache_root: Path) -> dict[str, str]:
    """The variables of every process that runs learner code.

    CPU only (fast mode is small, CUDA cannot start under an address-space limit and does
    not survive a fork), fast and offline mode, one thread, no progress bars, and every
    cache (the course's trained models included) in a private folder under ``cache_root``:
    a shared trained-model cache would let one learner's model be loaded for another.
    """
    return {
        "VAE_COURSE_FAST": "1",
        "VAE_COURSE_OFFLINE": "1",
        "VAE_COURSE_DEVICE": "cpu",
        "CUDA_VISIBLE_DEVICES": "",
        "MPLBACKEND": "Agg",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "TQDM_DISABLE": "1",
        "VAE_COURSE_CACHE": str(cache_root / "vae-course"),
        "TORCHINDUCTOR_CACHE_DIR": str(cache_root / "torchinductor"),
        "TRITON_CACHE_DIR": str(cache_root / "triton"),
    }


def clean_environment() -> dict[str, str]:
    """``os.environ`` without the variables that change what Python imports."""
    dropped = {"PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONUSERBASE", "PYTHONSAFEPATH"}
    # Folders the grader's own process may have chosen (torch sets TORCHINDUCTOR_CACHE_DIR
    # in os.environ the first time it needs it) must not leak into a submission's run.
    dropped |= {"TORCHINDUCTOR_CACHE_DIR", "TRITON_CACHE_DIR", "VAE_COURSE_CACHE"}
    dropped |= {"VAE_GRADER_WORKDIR", "VAE_GRADER_LOG", "VAE_GRADER_READ_ROOTS"}
    dropped |= {"VAE_GRADER_DENY_ROOTS"}
    return {k: v for k, v in os.environ.items() if k not in dropped}


def limit_memory(memory_mb: int | None) -> None:
    """Cap this process's address space (RLIMIT_AS) at ``memory_mb`` MiB; children inherit it."""
    if not memory_mb or resource is None or not hasattr(resource, "RLIMIT_AS"):
        return
    limit = int(memory_mb) * 2**20
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def limit_file_size(megabytes: int = MAX_FILE_MB) -> None:
    """Cap the size of any file this process (and its children) writes (RLIMIT_FSIZE).

    ``SIGXFSZ`` is ignored (an ignored signal stays ignored across ``exec``), so a write past
    the limit fails with an ``OSError`` in the notebook instead of killing the kernel.
    """
    if resource is None or not hasattr(resource, "RLIMIT_FSIZE"):
        return
    limit = int(megabytes) * 2**20
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    if hasattr(signal, "SIGXFSZ"):
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


def sandbox_dir() -> Path:
    """The folder holding the kernel's ``sitecustomize.py`` (see :mod:`vae_course.grading.sandbox_site`)."""
    return Path(__file__).resolve().parent / "sandbox_site"
