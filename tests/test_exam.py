"""Timed exams: papers from seeds, refusals while running, late answers, score arithmetic."""

from __future__ import annotations

import itertools
import random
import threading
import time

import pytest
from olympiad_answers import CORRECT

from vae_course import drills
from vae_course.drills.exam import PAPERS, ExamReport, draw_items, running_exam
from vae_course.drills.review import answer_key


class FakeClock:
    """Seconds that only move when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(autouse=True)
def _no_exam_mode(monkeypatch):
    monkeypatch.delenv("VAE_COURSE_MODE", raising=False)
    yield
    exam_now = running_exam()
    if exam_now is not None:
        exam_now.finish()


def _start(seed=5, minutes=60, paper="vae-round2"):
    clock = FakeClock()
    return drills.exam(paper, minutes=minutes, seed=seed, clock=clock), clock


def test_same_seed_same_paper_different_seeds_different_papers():
    paper = PAPERS["vae-round2"]
    first = [(i.drill_id, i.seed) for i in draw_items(paper, 3)]
    assert first == [(i.drill_id, i.seed) for i in draw_items(paper, 3)]
    papers = {tuple((i.drill_id, i.seed) for i in draw_items(paper, s)) for s in range(10)}
    assert len(papers) == 10


def test_a_round2_paper_has_the_promised_formats_and_40_points():
    exam_now, _ = _start()
    formats = [i.format for i in exam_now.items]
    assert formats == ["choice"] * 3 + ["numeric"] * 2 + ["derivation"] + ["code"] * 2
    assert len({i.drill_id for i in exam_now.items}) == len(exam_now.items)
    assert all(i.max_score == 5 for i in exam_now.items)
    assert [i.number for i in exam_now.items] == list(range(1, 9))
    assert "seed 5" in str(exam_now) and "seed 5" in exam_now._repr_html_()


def test_hints_and_solutions_refused_until_the_time_is_up_then_allowed():
    exam_now, clock = _start(minutes=60)
    some_id = exam_now.items[0].drill_id
    assert drills.solution(some_id).style == "refused"
    assert drills.hint(some_id).style == "refused"
    assert exam_now.solution(1).style == "refused"
    assert exam_now.hint(1).style == "refused"
    assert exam_now.report().style == "refused"  # no score while running
    clock.advance(59 * 60)
    assert exam_now.running and exam_now.remaining() == pytest.approx(60.0)
    assert drills.solution(some_id).style == "refused"
    clock.advance(61)
    assert not exam_now.running  # the exam notices its end when it is used
    assert exam_now.remaining() == 0
    assert drills.solution(some_id).style != "refused"
    assert drills.hint(some_id).style != "refused"
    assert exam_now.solution(1).style == "info"
    assert exam_now.hint(1).style == "hint"
    assert running_exam() is None


def test_handing_in_early_also_ends_the_refusals():
    exam_now, _ = _start()
    some_id = exam_now.items[3].drill_id
    assert drills.solution(some_id).style == "refused"
    report = exam_now.finish()
    assert isinstance(report, ExamReport) and report.ended_by == "handed in"
    assert drills.solution(some_id).style != "refused"


def test_a_teachers_exam_mode_survives_the_end_of_an_exam(monkeypatch):
    monkeypatch.setenv("VAE_COURSE_MODE", "exam")
    exam_now, _ = _start()
    exam_now.finish()
    assert drills.solution(exam_now.items[0].drill_id).style == "refused"


def test_answers_after_the_time_is_up_are_recorded_and_score_zero():
    exam_now, clock = _start(minutes=10)
    first = exam_now.items[0]
    exam_now.answer(1, answer_key(first.drill_id, 0))
    clock.advance(10 * 60 + 1)
    second = exam_now.items[1]
    late = exam_now.answer(2, answer_key(second.drill_id, 0))
    assert late.style == "refused"
    report = exam_now.report()
    assert report.ended_by == "time"
    assert report.scores[0].result.score == 5
    assert report.scores[1].result.score == 0 and not report.scores[1].answered
    assert exam_now.items[1].late_answers == [answer_key(second.drill_id, 0)]  # recorded
    assert any("late" in note and "recorded" in note for note in report.notes)
    assert "late answer" in str(report)
    assert report.minutes_used == pytest.approx(10.0)


def test_score_arithmetic_per_item_per_topic_and_total():
    exam_now, clock = _start(seed=11)
    expected_items = []
    for item in exam_now.items:
        key = None if item.format == "code" else answer_key(item.drill_id, item.seed or 0)
        if item.format == "choice":
            # right for the first choice item, wrong for the others
            answer = key if item.number == 1 else ("a" if key != "a" else "b")
            expected = 5.0 if item.number == 1 else 0.0
        elif item.format == "numeric":
            answer = key if item.number % 2 == 0 else key + 1.0
            expected = 5.0 if item.number % 2 == 0 else 0.0
        elif item.format == "code":  # right for the first coding item, a known mistake after
            first = item.number == min(i.number for i in exam_now.items if i.format == "code")
            answer = CORRECT[item.drill_id][0] if first else item.drill.mistakes[0].implementation
            expected = 5.0 if first else 0.0
        else:  # derivation: the first step right, the rest wrong -> that step's points
            first_step = item.drill.parts[0]
            answer = {first_step.key: key[first_step.key]}
            answer |= {s.key: key[s.key] + 3.0 for s in item.drill.parts[1:]}
            expected = first_step.points
        exam_now.answer(item.number, answer)
        expected_items.append(expected)
        clock.advance(30)
    report = exam_now.finish()
    assert [s.result.score for s in report.scores] == pytest.approx(expected_items)
    assert report.score == pytest.approx(sum(expected_items))
    assert report.max_score == 40
    topics: dict[str, list[float]] = {}
    for item, expected in zip(exam_now.items, expected_items, strict=True):
        topics.setdefault(item.topic, [0.0, 0.0])
        topics[item.topic][0] += expected
        topics[item.topic][1] += 5
    assert report.by_topic == {t: pytest.approx((a, b)) for t, (a, b) in topics.items()}
    assert sum(a for a, _ in report.by_topic.values()) == pytest.approx(report.score)
    assert sum(b for _, b in report.by_topic.values()) == report.max_score
    assert sum(a for a, _ in report.by_format.values()) == pytest.approx(report.score)
    assert report.minutes_used == pytest.approx(4.0)  # 8 answers, 30 s apart
    text = str(report)
    assert text.splitlines()[-1] == report.score_line()
    assert f"{report.score:g} / 40" in text
    assert "Per topic" in report._repr_html_()
    partial = [s for s in report.scores if s.item.format == "derivation"]
    assert all(s.result.status == "partial" for s in partial)


def test_a_new_exam_hands_in_the_running_one(capsys):
    first, _ = _start(seed=1)
    second, _ = _start(seed=2)
    assert not first.running and second.running
    assert running_exam() is second
    assert "Handing in" in capsys.readouterr().out


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ValueError, match="unknown paper"):
        drills.exam("round-99", seed=1)
    with pytest.raises(ValueError, match="minutes"):
        drills.exam("vae-round2", minutes=0, seed=1)
    with pytest.raises(ValueError, match="seed"):
        drills.exam("vae-round2", seed=-3)
    exam_now, _ = _start()
    with pytest.raises(ValueError, match="items 1..8"):
        exam_now.question(9)


def _key(item):
    if item.format == "code":
        return CORRECT[item.drill_id][0]
    return answer_key(item.drill_id, item.seed if item.seed is not None else 0)


def test_the_deadline_holds_against_a_notebook_that_changes_the_clock(monkeypatch):
    """A notebook that freezes or rewinds time.monotonic and time.time after starting (or
    before starting) an exam does not move its deadline: answers after the real deadline
    are recorded and score 0."""
    frozen = time.monotonic()
    exam_now = drills.exam("vae-quick", minutes=0.6 / 60, seed=3)  # 0.6 s
    first = exam_now.items[0]
    exam_now.answer(1, _key(first))
    monkeypatch.setattr(time, "monotonic", lambda: frozen)
    monkeypatch.setattr(time, "time", lambda: 0.0)
    threading.Event().wait(1.2)  # real time passes; the patched clocks do not move
    late = exam_now.answer(2, _key(exam_now.items[1]))
    assert late.style == "refused" and not exam_now.running
    report = exam_now.report()
    assert report.ended_by == "time"
    assert report.scores[0].result.score == 5
    assert report.scores[1].result.score == 0 and exam_now.items[1].late_answers


def test_an_exam_started_after_the_clock_was_patched_still_ends(monkeypatch):
    monkeypatch.setattr(time, "monotonic", lambda: 0.0)
    monkeypatch.setattr(time, "time", lambda: 0.0)
    exam_now = drills.exam("vae-quick", minutes=0.5 / 60, seed=4)
    threading.Event().wait(1.0)
    assert not exam_now.running
    assert exam_now.answer(1, _key(exam_now.items[0])).style == "refused"
    assert exam_now.report().score == 0


def test_a_frozen_clock_passed_in_cannot_stretch_the_exam():
    exam_now = drills.exam("vae-quick", minutes=0.5 / 60, seed=5, clock=lambda: 0.0)
    threading.Event().wait(1.0)
    assert not exam_now.running
    assert exam_now.answer(1, _key(exam_now.items[0])).style == "refused"


def test_coding_items_are_answered_with_a_function_and_checked_on_the_items_probes():
    exam_now, _ = _start(seed=21)
    code_items = [i for i in exam_now.items if i.format == "code"]
    assert code_items and all(i.seed is not None for i in code_items)
    for item in code_items:
        assert "function" in item.answer_format()
        exam_now.answer(item.number, CORRECT[item.drill_id][1])
    report = exam_now.finish()
    for score in report.scores:
        if score.item.format == "code":
            assert score.result.passed, score.result.feedback


def test_two_papers_of_different_seeds_share_at_most_two_items_on_average():
    """The pool is large enough that papers do not repeat: over 1000 pairs of seeds, two
    8-item round-2 papers share on average at most 2 items."""
    paper = PAPERS["vae-round2"]
    rng = random.Random(0)
    overlaps = []
    for _ in range(1000):
        a, b = rng.sample(range(10**6), 2)
        first = {i.drill_id for i in draw_items(paper, a)}
        second = {i.drill_id for i in draw_items(paper, b)}
        overlaps.append(len(first & second))
    mean = sum(overlaps) / len(overlaps)
    print(f"\nmean overlap of two {paper.name} papers (8 items): {mean:.3f} items (1000 pairs)")
    assert len(first) == 8
    assert mean <= 2.0
    assert max(overlaps) < 8  # no two papers identical


def test_the_pool_has_sixty_items_over_every_topic_and_format():
    from vae_course.drills.catalogue import ch09_olympiad as olympiad

    assert len(olympiad.ITEMS) >= 60
    assert set(olympiad.POOLS) == {"choice", "numeric", "derivation", "code"}
    topics = {olympiad.TOPICS[d.id] for d in olympiad.ITEMS}
    assert len(topics) >= 10
    for fmt, count in itertools.chain(*(p.counts for p in PAPERS.values())):
        assert len(olympiad.POOLS[fmt]) >= 3 * count


def test_unanswered_items_are_not_attempted_and_score_zero():
    exam_now, _ = _start(paper="vae-quick")
    report = exam_now.finish()
    assert report.score == 0 and report.max_score == 25
    assert all(not s.answered for s in report.scores)
