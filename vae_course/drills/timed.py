"""Call a learner's function safely: every exception caught, and a time limit.

:func:`call_with_time_limit` never raises. It uses one of two mechanisms:

* **SIGALRM** (Linux/macOS, on the main thread, which is where Jupyter runs cells and
  where pytest runs tests): ``signal.setitimer`` interrupts the function after the limit by
  raising :class:`TimeLimitExceeded` inside it. This stops pure-Python endless loops
  (``while True: pass``) and sleeps. A single long C call (one huge tensor operation) is
  interrupted only when it returns.
* **a worker thread** (elsewhere, e.g. Windows or a non-main thread): the function runs in
  a daemon thread; after the limit the checker stops waiting, asks Python to raise
  :class:`TimeLimitExceeded` in that thread (``PyThreadState_SetAsyncExc``, which stops
  pure-Python loops within a moment) and reports "still running after N s". Limitation: a
  thread stuck in C code cannot be stopped; it keeps running in the background until it
  finishes (restart the kernel if it never does).

:class:`TimeLimitExceeded` derives from ``BaseException`` so that a learner's
``except Exception`` cannot swallow it.

A :class:`CallOutcome` keeps the returned value (in this process only) and, for a failed
call, plain facts about the error (type, first line, the learner's line, advice): what a
judge needs to word the feedback, without the exception object. This is a time limit
inside one process, not an isolation boundary: the classroom grader runs learner code in
an operating-system sandbox as well (:mod:`vae_course.grading`).
"""

from __future__ import annotations

import ctypes
import linecache
import os
import signal
import threading
import time
import traceback
from dataclasses import dataclass
from typing import Any

CALL_LIMIT_S = 3.0  # one call of the learner's function
TOTAL_LIMIT_S = 10.0  # every call made while checking one answer

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_STDLIB_DIR = os.path.dirname(os.path.abspath(os.__file__))


class TimeLimitExceeded(BaseException):
    """Raised inside the learner's code when it runs past the time limit."""


@dataclass
class CallOutcome:
    """What happened when the learner's function was called: the value, or facts about why not.

    ``value`` never leaves the process that made the call; every other field is plain data.
    """

    value: Any = None
    timed_out: bool = False
    still_running: bool = False
    seconds: float = 0.0
    limit: float = 0.0
    error_type: str = ""  # e.g. "TypeError"; "" when the call returned or timed out
    error_message: str = ""  # the first line of the error's text
    error_where: str = ""  # "line 3 of your code: `...`"
    error_kind: str = ""  # "error", "interrupt" (KeyboardInterrupt) or "exit" (SystemExit)
    not_implemented: bool = False  # the function is a stub raising NotImplementedError

    @classmethod
    def from_error(cls, error: BaseException, seconds: float, limit: float) -> CallOutcome:
        """The facts about ``error`` (its type, first line and the learner's line)."""
        text = str(error).strip()
        kind = "error"
        if isinstance(error, KeyboardInterrupt):
            kind = "interrupt"
        elif isinstance(error, SystemExit):
            kind = "exit"
        return cls(
            seconds=seconds,
            limit=limit,
            error_type=type(error).__name__,
            error_message=text.splitlines()[0][:300] if text else "",
            error_where=_learner_line(error),
            error_kind=kind,
            not_implemented=isinstance(error, NotImplementedError),
        )

    @property
    def ok(self) -> bool:
        """True when the function returned normally."""
        return not self.error_type and not self.timed_out

    @property
    def signature(self) -> str:
        """``"TypeError: message"`` (cut to 70 characters), "timeout", or "" after a return."""
        if self.timed_out:
            return "timeout"
        if not self.error_type:
            return ""
        return f"{self.error_type}: {self.error_message}"[:70]

    def describe(self, what: str = "Your function") -> str:
        """One sentence about a failed call (the error and the learner's line)."""
        if self.timed_out:
            text = (
                f"{what} was still running after {self.limit:g} s and was stopped: an endless "
                "loop (e.g. `while True`) or a very slow computation (a Python loop over "
                "every element?). Use tensor operations instead of loops."
            )
            if self.still_running:
                text += (
                    " It could not be stopped and keeps running in the background; "
                    "restart the kernel (Kernel → Restart) if the notebook becomes slow."
                )
            return text
        if not self.error_type:
            return f"{what} returned normally."
        if self.error_kind == "interrupt":
            return f"{what} was interrupted (Kernel → Interrupt) before it finished."
        if self.error_kind == "exit":
            return f"{what} called exit()/sys.exit(); a function should return its result."
        text = f"{what} raised {self.error_type}" + (
            f": {self.error_message}" if self.error_message else ""
        )
        if self.error_where:
            text += f" ({self.error_where})"
        advice = _advice(self.error_message)
        return text + (f". {advice}" if advice else ".")


def describe_error(error: BaseException, what: str = "Your function") -> str:
    """``Your function raised TypeError: ... (line 3 of your code: `...`)`` + advice."""
    return CallOutcome.from_error(error, 0.0, 0.0).describe(what)


def _learner_line(error: BaseException) -> str:
    frames = traceback.extract_tb(error.__traceback__)
    for frame in reversed(frames):
        filename = os.path.abspath(frame.filename) if frame.filename else ""
        if filename.startswith(_PACKAGE_DIR) and "drills" in filename:
            continue
        if "site-packages" in filename or os.sep + "torch" + os.sep in filename:
            continue
        if filename.startswith(_STDLIB_DIR):
            continue
        line = (frame.line or linecache.getline(frame.filename, frame.lineno or 0)).strip()
        if frame.lineno is None:
            continue
        if line:
            return f"line {frame.lineno} of your code: `{line[:120]}`"
        return f"line {frame.lineno} of your code"
    return ""


_ADVICE = (
    (
        "same device",
        "Create new tensors on the input's device, e.g. torch.randn_like(mu) or device=mu.device",
    ),
    (
        "expected device",
        "Create new tensors on the input's device, e.g. torch.randn_like(mu) or device=mu.device",
    ),
    ("shapes cannot be multiplied", "Check the sizes of your layers and flatten images first"),
    ("numpy() on tensor that requires grad", "Stay in torch: numpy cuts the gradient"),
    ("leaf variable", "Do not modify the inputs in place (no `+=`, `.add_()`, `x[...] = ...`)"),
    ("in-place operation", "Do not modify tensors in place (no `+=`, `.add_()`, `x[...] = ...`)"),
    (
        "between 0 and 1",
        "binary_cross_entropy needs probabilities; for logits use "
        "F.binary_cross_entropy_with_logits",
    ),
)


def _advice(message: str) -> str:
    lowered = message.lower()
    for needle, advice in _ADVICE:
        if needle in lowered:
            return advice
    return ""


def _alarm_available() -> bool:
    if not hasattr(signal, "setitimer") or not hasattr(signal, "SIGALRM"):
        return False
    if threading.current_thread() is not threading.main_thread():
        return False
    try:
        return signal.getitimer(signal.ITIMER_REAL)[0] == 0.0  # never clobber a running timer
    except (OSError, ValueError):
        return False


def call_with_time_limit(
    fn: Any, args: tuple = (), kwargs: dict | None = None, seconds: float = CALL_LIMIT_S
) -> CallOutcome:
    """Call ``fn(*args, **kwargs)`` with a time limit; never raises (see module docstring)."""
    kwargs = kwargs or {}
    seconds = max(float(seconds), 0.01)
    if _alarm_available():
        return _call_with_alarm(fn, args, kwargs, seconds)
    return _call_in_thread(fn, args, kwargs, seconds)


def _raise_time_limit(signum: int, frame: Any) -> None:
    raise TimeLimitExceeded()


def _call_with_alarm(fn: Any, args: tuple, kwargs: dict, seconds: float) -> CallOutcome:
    start = time.perf_counter()
    try:
        previous = signal.signal(signal.SIGALRM, _raise_time_limit)
    except (ValueError, OSError):  # e.g. an unusual embedding: fall back to a thread
        return _call_in_thread(fn, args, kwargs, seconds)
    try:
        try:
            # re-fire every 0.25 s in case the learner's code swallows the first one
            signal.setitimer(signal.ITIMER_REAL, seconds, 0.25)
            try:
                value = fn(*args, **kwargs)
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0.0)
        except TimeLimitExceeded:
            return CallOutcome(timed_out=True, seconds=time.perf_counter() - start, limit=seconds)
        except BaseException as error:  # noqa: BLE001 - the learner's code may raise anything
            return CallOutcome.from_error(error, time.perf_counter() - start, seconds)
        return CallOutcome(value=value, seconds=time.perf_counter() - start, limit=seconds)
    except TimeLimitExceeded:  # fired between the call's return and the timer reset
        return CallOutcome(timed_out=True, seconds=time.perf_counter() - start, limit=seconds)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0.0)
        signal.signal(signal.SIGALRM, previous)


def _call_in_thread(fn: Any, args: tuple, kwargs: dict, seconds: float) -> CallOutcome:
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn(*args, **kwargs)
        except BaseException as error:  # noqa: BLE001
            box["error"] = error

    start = time.perf_counter()
    worker = threading.Thread(target=target, name="vae-course-drill-check", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        _raise_in_thread(worker, TimeLimitExceeded)
        worker.join(1.0)
        return CallOutcome(
            timed_out=True,
            still_running=worker.is_alive(),
            seconds=time.perf_counter() - start,
            limit=seconds,
        )
    elapsed = time.perf_counter() - start
    error = box.get("error")
    if isinstance(error, TimeLimitExceeded):
        return CallOutcome(timed_out=True, seconds=elapsed, limit=seconds)
    if error is not None:
        return CallOutcome.from_error(error, elapsed, seconds)
    return CallOutcome(value=box.get("value"), seconds=elapsed, limit=seconds)


def _raise_in_thread(thread: threading.Thread, exc_type: type[BaseException]) -> None:
    if thread.ident is None:
        return
    try:
        ctypes.pythonapi.PyThreadState_SetAsyncExc(
            ctypes.c_ulong(thread.ident), ctypes.py_object(exc_type)
        )
    except Exception:  # noqa: BLE001 - best effort; the outcome already says "still running"
        pass


class TimedCalls:
    """Time-limited calls sharing one budget for the whole check of an answer.

    Each call gets ``min(call_limit, what is left of total_limit)`` seconds.
    """

    def __init__(self, call_limit: float | None = None, total_limit: float | None = None) -> None:
        self.call_limit = CALL_LIMIT_S if call_limit is None else call_limit
        self.total_limit = TOTAL_LIMIT_S if total_limit is None else total_limit
        self.spent = 0.0

    def call(self, fn: Any, *args: Any, **kwargs: Any) -> CallOutcome:
        """Call ``fn`` under the time limit; never raises."""
        limit = min(self.call_limit, max(self.total_limit - self.spent, 0.05))
        outcome = call_with_time_limit(fn, args, kwargs, limit)
        self.spent += outcome.seconds
        return outcome
