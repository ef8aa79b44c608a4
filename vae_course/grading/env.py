"""The one place where the environment of learner code is decided: variables and limits.

Both sandboxes that run learner code, the notebook's kernel (:mod:`.execute`) and the run
of its graded functions on probes (:mod:`.probes`), take their variables from
:func:`learner_settings`, so what they share (CPU only, fast and offline mode, private
caches, one thread, no progress bars, the graded-run switch) cannot drift apart; their
limits come from the batch's :class:`Options`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

MIN_MEMORY_MB = 4096  # importing torch alone reserves about 3.6 GB of address space


@dataclass(frozen=True)
class Options:
    """How every submission of a batch is graded: limits, the sandbox, the probe seed.

    Plain data, so that a Dask worker gets the same settings as the local grader.
    ``sandbox`` is "bubblewrap", "container:IMAGE" or "none" (``--no-sandbox``);
    ``probe_seed`` is the batch's secret seed for the probes of code drills.
    """

    timeout: float = 600.0
    memory_mb: int = 8192
    check_timeout: float = 60.0  # the observation of one code answer, at most
    package_dir: str = ""
    sandbox: str = "bubblewrap"
    probe_seed: int = 0


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
        "PYTHONDONTWRITEBYTECODE": "1",  # the package is read-only in the sandbox
        "VAE_COURSE_GRADED": "1",
        "VAE_COURSE_CACHE": str(cache_root / "vae-course"),
        "TORCHINDUCTOR_CACHE_DIR": str(cache_root / "torchinductor"),
        "TRITON_CACHE_DIR": str(cache_root / "triton"),
    }


def sandbox_dir() -> Path:
    """The folder holding the kernel's ``sitecustomize.py`` (see :mod:`vae_course.grading.sandbox_site`)."""
    return Path(__file__).resolve().parent / "sandbox_site"
