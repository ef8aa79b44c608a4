"""``vae-course practice``: answers piped on stdin, a score line at the end, the clock."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys

import pytest

from vae_course import practice
from vae_course.drills.exam import PAPERS, draw_items
from vae_course.drills.review import answer_key

SCORE_LINE = re.compile(r"^Score: ([\d.]+) / ([\d.]+) \(\d+%\)$")


def _answer_lines(paper: str, seed: int, *, wrong_after: int | None = None) -> list[str]:
    """One line per answer, right ones (wrong from item ``wrong_after`` on)."""
    lines = []
    for item in draw_items(PAPERS[paper], seed):
        key = answer_key(item.drill_id, item.seed if item.seed is not None else 0)
        wrong = wrong_after is not None and item.number >= wrong_after
        if item.format == "choice":
            lines.append(("a" if key != "a" else "b") if wrong else key)
        elif item.format == "numeric":
            lines.append(f"{key + (1 if wrong else 0):.4f}")
        else:
            lines += [f"{value + (1 if wrong else 0):.4f}" for value in key.values()]
    return lines


@pytest.fixture(autouse=True)
def _clean_mode(monkeypatch):
    monkeypatch.delenv("VAE_COURSE_MODE", raising=False)


def test_piped_answers_print_a_score_line(tmp_path):
    answers = "\n".join(_answer_lines("vae-quick", 3)) + "\n"
    env = dict(os.environ, VAE_COURSE_CACHE=str(tmp_path))
    env.pop("VAE_COURSE_MODE", None)
    done = subprocess.run(
        [sys.executable, "-m", "vae_course.cli", "practice", "--paper", "vae-quick"]
        + ["--seed", "3", "--minutes", "60"],
        input=answers,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    last = done.stdout.strip().splitlines()[-1]
    match = SCORE_LINE.match(last)
    assert match, last
    assert float(match.group(1)) == float(match.group(2)) == 25
    assert "Traceback" not in done.stderr


def test_wrong_and_skipped_answers_lower_the_score():
    lines = _answer_lines("vae-round2", 8, wrong_after=3)
    lines[1] = ""  # skip item 2
    out = io.StringIO()
    report = practice.session(
        "vae-round2", 60, 8, stdin=io.StringIO("\n".join(lines) + "\n"), stdout=out
    )
    assert report.score == 5  # item 1 right, item 2 skipped, items 3+ wrong
    assert not report.scores[1].answered
    assert SCORE_LINE.match(out.getvalue().strip().splitlines()[-1])


def test_answers_after_the_time_limit_do_not_count():
    clock = {"now": 0.0}

    class Input(io.StringIO):
        """The second answer arrives 11 minutes into a 10-minute paper."""

        reads = 0

        def readline(self, *args):
            self.reads += 1
            if self.reads == 2:
                clock["now"] += 11 * 60
            return super().readline(*args)

    lines = _answer_lines("vae-quick", 4)
    out = io.StringIO()
    report = practice.session(
        "vae-quick",
        10,
        4,
        stdin=Input("\n".join(lines) + "\n"),
        stdout=out,
        clock=lambda: clock["now"],
    )
    text = out.getvalue()
    assert "Time is up" in text
    assert report.ended_by == "time"
    assert report.scores[0].result.score == 5
    assert report.score == 5  # the late second answer and the unasked rest score nothing
    assert "Item 3" not in text


def test_empty_input_still_ends_with_a_score_line():
    out = io.StringIO()
    report = practice.session("vae-quick", None, 1, stdin=io.StringIO(""), stdout=out)
    assert report.score == 0
    assert out.getvalue().strip().splitlines()[-1] == "Score: 0 / 25 (0%)"


def test_review_prints_the_worked_solutions():
    out = io.StringIO()
    practice.session("vae-quick", None, 2, stdin=io.StringIO(""), stdout=out, review=True)
    assert out.getvalue().count("worked solution") == 5


def test_bad_minutes_exit_with_2(capsys):
    from vae_course import cli

    assert cli.main(["practice", "--minutes", "-5", "--seed", "1"]) == 2
    assert "--minutes" in capsys.readouterr().err
