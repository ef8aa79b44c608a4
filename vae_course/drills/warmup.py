"""Prepare the device used by the device check while the checker does its other work.

The checkers run each learner function once on another device (CUDA when there is one,
else PyTorch's data-less ``meta`` device) to catch tensors created on the CPU. The first
operation on the meta device costs one or two seconds in a process (PyTorch imports its
meta kernels). :func:`start` does that work in a background thread from the first check of
a code drill (importing ``vae_course.drills`` starts nothing), and :func:`wait` is called
before the first device check, so the import never runs in two threads at once. A process that forks (e.g. the
classroom grader, one child per drill) first waits for the warm-up to finish
(``os.register_at_fork``): a child never inherits an import left half-done by a thread
that does not exist in it.
"""

from __future__ import annotations

import os
import threading

_thread: threading.Thread | None = None
_lock = threading.Lock()


def check_device() -> str:
    """The device the device check uses: "cuda" when usable, else "meta".

    A process forked after CUDA was initialised cannot use CUDA; it uses "meta".
    """
    import torch

    if torch.cuda.is_available():
        in_bad_fork = getattr(torch.cuda, "_is_in_bad_fork", lambda: False)
        if not in_bad_fork():
            return "cuda"
    return "meta"


def _warm() -> None:
    # Only the meta kernels are warmed: initialising CUDA here would make every process
    # forked from this one (e.g. the grader's checkers) unable to use CUDA.
    try:
        import torch

        x = torch.zeros(2, 3, device="meta")
        (x.exp() * torch.randn_like(x) + x.pow(2)).clamp(min=0).sum(dim=1).mean()
        torch.logsumexp(x, dim=0)
    except Exception:  # noqa: BLE001 - a failed warm-up only makes the first check slower
        pass


def _finish_before_fork() -> None:
    thread = _thread
    if thread is not None and thread.is_alive() and thread is not threading.current_thread():
        thread.join(60.0)


def start() -> None:
    """Start the warm-up thread once per process."""
    global _thread
    with _lock:
        if _thread is None:
            if hasattr(os, "register_at_fork"):
                os.register_at_fork(before=_finish_before_fork)
            # Not a daemon: interpreter exit waits for it (at most a second or two) instead
            # of tearing torch down under a running thread ("terminate called ...", exit 134).
            _thread = threading.Thread(target=_warm, name="vae-course-drills-warmup", daemon=False)
            _thread.start()


def wait(timeout: float = 60.0) -> None:
    """Block until the warm-up has finished (starting it if needed)."""
    start()
    assert _thread is not None
    if _thread is not threading.current_thread():
        _thread.join(timeout)
