"""``vae-course practice``: answers piped on stdin, a score line at the end, the clock."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys

import pytest
from olympiad_answers import answer_file_source

from vae_course import practice
from vae_course.drills import exam_history
from vae_course.drills.exam import PAPERS, draw_items
from vae_course.drills.review import answer_key

SCORE_LINE = re.compile(r"^Score: ([\d.]+) / ([\d.]+) \(\d+%\)$")


def _answer_lines(paper: str, seed: int, folder, *, wrong_after: int | None = None) -> list[str]:
    """One line per answer, right ones (wrong from item ``wrong_after`` on); a coding item's
    answer is a file written into ``folder``."""
    lines = []
    for item in draw_items(PAPERS[paper], seed):
        wrong = wrong_after is not None and item.number >= wrong_after
        if item.format == "code":
            name = item.drill.answer_name
            path = folder / f"item_{item.number}.py"
            source = answer_file_source(item.drill_id, name)
            if wrong:
                source += f"\n\n{name} = lambda *args, **kwargs: 0.0\n"
            path.write_text(source)
            lines.append(str(path))
            continue
        key = answer_key(item.drill_id, item.seed if item.seed is not None else 0)
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
    answers = "\n".join(_answer_lines("vae-quick", 3, tmp_path)) + "\n"
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


def test_wrong_and_skipped_answers_lower_the_score(tmp_path):
    lines = _answer_lines("vae-round2", 8, tmp_path, wrong_after=3)
    lines[1] = ""  # skip item 2
    out = io.StringIO()
    report = practice.session(
        "vae-round2", 60, 8, stdin=io.StringIO("\n".join(lines) + "\n"), stdout=out
    )
    assert report.score == 5  # item 1 right, item 2 skipped, items 3+ wrong
    assert not report.scores[1].answered
    assert SCORE_LINE.match(out.getvalue().strip().splitlines()[-1])


def test_answers_after_the_time_limit_do_not_count(tmp_path):
    clock = {"now": 0.0}

    class Input(io.StringIO):
        """The second answer arrives 11 minutes into a 10-minute paper."""

        reads = 0

        def readline(self, *args):
            self.reads += 1
            if self.reads == 2:
                clock["now"] += 11 * 60
            return super().readline(*args)

    lines = _answer_lines("vae-quick", 4, tmp_path)
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


def test_a_history_of_attempts_shows_the_score_per_topic_and_the_weakest_topics(tmp_path):
    """Three papers: all right, then all wrong, then all right again; the history lists the
    three scores, each topic's percentages in order, and the weakest topics."""
    reports = []
    for attempt, seed in enumerate((11, 12, 13)):
        folder = tmp_path / str(attempt)
        folder.mkdir()
        lines = _answer_lines("vae-quick", seed, folder, wrong_after=1 if attempt == 1 else None)
        out = io.StringIO()
        reports.append(
            practice.session(
                "vae-quick", 60, seed, stdin=io.StringIO("\n".join(lines) + "\n"), stdout=out
            )
        )
    attempts = exam_history.load()
    assert [a["score"] for a in attempts] == [r.score for r in reports] == [25, 0, 25]
    text = out.getvalue()
    assert "Your practice history (3 paper(s)" in text and "25/25, 0/25, 25/25" in text
    assert "Weakest topics" in text
    assert SCORE_LINE.match(text.strip().splitlines()[-1])
    trends = exam_history.trends(attempts)
    second = reports[1].by_topic
    assert all(trends[topic][-2] == 0.0 for topic in second if topic in reports[2].by_topic)
    weakest = exam_history.weakest(attempts)
    worst_topic, worst = weakest[0]
    assert worst == min(sum(v[-5:]) / len(v[-5:]) for v in trends.values())


def test_weakest_topics_are_judged_on_each_topics_own_attempts():
    attempts = [
        {
            "score": 5,
            "max_score": 10,
            "topics": {"KL divergence": [5.0, 5.0], "autoencoders": [0.0, 5.0]},
        },
        {"score": 5, "max_score": 10, "topics": {"autoencoders": [5.0, 5.0]}},
    ]
    assert exam_history.trends(attempts) == {"KL divergence": [100.0], "autoencoders": [0.0, 100.0]}
    assert exam_history.weakest(attempts) == [("autoencoders", 50.0), ("KL divergence", 100.0)]


def test_a_damaged_history_is_set_aside_and_a_new_one_starts():
    path = exam_history.history_path()
    path.write_text("{not json")
    assert exam_history.load() == []
    assert list(path.parent.glob("history.json.corrupt-*"))
    report = practice.session("vae-quick", None, 1, stdin=io.StringIO(""), stdout=io.StringIO())
    assert [a["score"] for a in exam_history.load()] == [report.score]


def test_history_and_formulas_options(capsys):
    from vae_course import cli

    assert cli.main(["practice", "--history"]) == 0
    assert "No practice papers recorded yet" in capsys.readouterr().out
    assert cli.main(["practice", "--formulas"]) == 0
    sheet = capsys.readouterr().out
    for must in (
        "ELBO",
        "KL(N(μ, σ²) ‖ N(0, 1))",
        "∂z/∂σ = ε",
        "IWAE",
        "β-VAE",
        "Free bits",
        "Capacity",
        "MIG",
    ):
        assert must in sheet, must
