"""vae-course doctor: healthy here; a broken torchvision gives a non-zero exit and a fix."""

from __future__ import annotations

import subprocess
import sys

import pytest

from vae_course import cli, doctor


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    """The doctor's download probe must not touch the network in tests."""
    monkeypatch.setenv("VAE_COURSE_OFFLINE", "1")


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """One real run of every check (each run imports torchvision in a child process)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("VAE_COURSE_CACHE", str(tmp_path_factory.mktemp("doctor-cache")))
        patch.setenv("VAE_COURSE_OFFLINE", "1")
        return doctor.checks()


def test_doctor_passes_in_this_environment(capsys):
    assert cli.main(["doctor"]) == 0
    out = capsys.readouterr().out
    for word in ("python", "torch", "torchvision", "jupyterlab", "ipywidgets", "cache directory"):
        assert word in out
    assert "mnist-embedded" in out


def test_report_renders_as_html_and_text(report):
    assert report.ok and all(isinstance(c, doctor.Check) for c in report)
    assert "<table" in report._repr_html_() and "All required checks passed" in str(report)
    assert repr(report) == str(report)
    names = {c.name for c in report}
    assert {"python", "torch", "torchvision", "jupyterlab", "ipywidgets"} <= names
    assert {"training device", "datasets offline", "online datasets", "cache directory"} <= names


def test_offline_mode_is_a_note_not_a_failure(report):
    online = next(c for c in report if c.name == "online datasets")
    assert not online.ok and not online.required and "VAE_COURSE_OFFLINE" in online.detail
    assert "mnist-embedded" in online.detail


def test_broken_torchvision_fails_with_a_fix(monkeypatch, capsys):
    real_run = subprocess.run

    def broken(cmd, *args, **kwargs):
        if cmd[:2] == [sys.executable, "-c"] and "torchvision" in cmd[2]:
            return subprocess.CompletedProcess(
                cmd, 1, "", "RuntimeError: operator torchvision::nms does not exist\n"
            )
        return real_run(cmd, *args, **kwargs)

    monkeypatch.setattr(doctor.subprocess, "run", broken)
    assert cli.main(["doctor"]) == 1
    captured = capsys.readouterr()
    assert "torchvision cannot import" in captured.out
    fix_lines = [line for line in captured.err.splitlines() if line.startswith("Fix:")]
    assert len(fix_lines) == 1 and "rm -rf .venv && make lab" in fix_lines[0]


def test_torchvision_missing_in_process_is_reported(monkeypatch):
    monkeypatch.setitem(sys.modules, "torchvision", None)  # makes `import torchvision` fail
    check = doctor._version("torchvision")
    assert not check.ok and check.required and "make lab" in check.fix


def test_jupyterlab_is_checked_by_its_metadata_without_importing_it(monkeypatch):
    import importlib.metadata

    check = doctor._installed("jupyterlab")
    assert check.ok and check.detail == importlib.metadata.version("jupyterlab")
    monkeypatch.delitem(sys.modules, "jupyterlab", raising=False)
    assert doctor._installed("jupyterlab").ok and "jupyterlab" not in sys.modules

    def missing(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", missing)
    check = doctor._installed("jupyterlab")
    assert not check.ok and check.detail == "not installed" and "make lab" in check.fix


def test_unwritable_cache_is_reported(monkeypatch, tmp_path):
    healthy = doctor.Check("torchvision import", True, "imports")
    monkeypatch.setattr(doctor, "_torchvision_imports", lambda: healthy)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("VAE_COURSE_CACHE", str(blocker / "cache"))
    report = doctor.checks()
    cache = next(c for c in report if c.name == "cache directory")
    assert not cache.ok and "VAE_COURSE_CACHE" in cache.fix and not report.ok


def test_only_required_failures_make_the_report_fail():
    optional = doctor.Check("online datasets", False, "offline", "connect", required=False)
    required = doctor.Check("python", True, "3.11")
    assert doctor.Report([required, optional]).ok
    assert not doctor.Report([doctor.Check("torch", False, "broken", "fix it"), optional]).ok


def test_a_graded_run_checks_without_starting_a_program(monkeypatch):
    """Inside the grader's sandbox the welcome notebook's check starts no program."""

    real_popen = subprocess.Popen
    started: list = []

    def watched(command, *args, **kwargs):  # libraries' own helpers (ldconfig) may run
        started.append(command)
        return real_popen(command, *args, **kwargs)

    monkeypatch.setenv("VAE_COURSE_GRADED", "1")
    monkeypatch.setattr(subprocess, "Popen", watched)
    report = doctor.checks()
    torchvision_check = next(c for c in report if c.name == "torchvision import")
    assert torchvision_check.ok, torchvision_check.detail
    assert not [c for c in started if sys.executable in map(str, c)], started


def _needs_an_emoji_font(char: str) -> bool:
    """Symbols and dingbats (✅ ❌ ℹ️ ...), emoji, and the emoji variation selector."""
    code = ord(char)
    return 0x2190 <= code <= 0x2BFF or code >= 0x1F000 or code == 0xFE0F


def test_marks_are_words_that_render_without_an_emoji_font():
    report = doctor.Report(
        [
            doctor.Check("python", True, "3.11"),
            doctor.Check("torch", False, "cannot import", "make lab"),
            doctor.Check("online datasets", False, "offline", required=False),
        ]
    )
    page = report._repr_html_()
    assert not [char for char in page + str(report) if _needs_an_emoji_font(char)]
    for mark in ("ok", "FAIL", "note"):
        assert f">{mark}</b>" in page and f"[{mark.ljust(4)}]" in str(report)
