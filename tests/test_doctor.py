"""vae-course doctor: healthy here; a broken torchvision gives a non-zero exit and a fix."""

from __future__ import annotations

import subprocess
import sys

from vae_course import cli, doctor


def test_doctor_passes_in_this_environment(capsys):
    assert cli.main(["doctor"]) == 0
    out = capsys.readouterr().out
    for word in ("python", "torch", "torchvision", "jupyterlab", "ipywidgets", "cache directory"):
        assert word in out
    assert "mnist-embedded" in out


def test_report_renders_as_html_and_text():
    report = doctor.checks()
    assert report.ok
    assert "<table" in report._repr_html_() and "All required checks passed" in str(report)


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
    assert "Fix:" in captured.err and "make lab" in captured.err


def test_unwritable_cache_is_reported(monkeypatch, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("VAE_COURSE_CACHE", str(blocker / "cache"))
    report = doctor.checks()
    cache = next(c for c in report if c.name == "cache directory")
    assert not cache.ok and "VAE_COURSE_CACHE" in cache.fix and not report.ok
