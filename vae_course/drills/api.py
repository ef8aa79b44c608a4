"""The functions a notebook calls: check, hint, solution, prompt, list, progress, use, question.

``check`` never raises. The others raise a clear ``ValueError`` for an unknown drill id
(a typo in the notebook), with the closest ids suggested.
"""

from __future__ import annotations

from typing import Any

from . import display, progress_store, state, warmup
from .core import FAILED, NOT_ATTEMPTED, Drill, Result
from .question import Question, check_seed, learner_seed
from .registry import all_drills, get_drill, unknown_id_message


def _resolve_seed(drill: Drill, answer: Any, seed: Any) -> int | None:
    if not drill.seeded:
        return None
    if seed is not None:
        return check_seed(seed)
    if isinstance(answer, dict) and isinstance(answer.get("seed"), int):
        return check_seed(answer["seed"])
    if drill.id in state.question_seeds:
        return state.question_seeds[drill.id]
    return learner_seed(drill.id)


def check(
    drill_id: str | Question, answer: Any, seed: int | None = None, *, record: bool = True
) -> Result:
    """Check ``answer`` for drill ``drill_id``; returns a :class:`Result` and never raises.

    ``drill_id`` may also be the :class:`Question` returned by :func:`question` (its seed is
    used). For a seeded drill without ``seed``: the seed of the last :func:`question` asked
    for that drill in this process, else the learner's own default seed. ``record=False``
    leaves the progress file alone (the grader uses it).

    Introduced in 00_welcome, used after every exercise.
    """
    try:
        if isinstance(drill_id, Question):
            seed = drill_id.seed if seed is None else seed
            drill_id = drill_id.drill_id
        try:
            drill = get_drill(drill_id)
        except (ValueError, TypeError) as error:
            return Result(str(drill_id), FAILED, 0, 0, [str(error)])
        try:
            resolved = _resolve_seed(drill, answer, seed)
        except ValueError as error:
            return drill.result(FAILED, 0, [str(error)])
        if drill.runs_code:
            warmup.start()  # the device check's first use of PyTorch's meta device is slow
        result = drill.check(answer, seed=resolved)
    except Exception as error:  # noqa: BLE001 - the last line of defence: never raise
        return Result(
            str(drill_id), FAILED, 0, 0, [f"The checker failed unexpectedly: {error!r:.200}"]
        )
    if record and result.status != NOT_ATTEMPTED:
        progress_store.record_result(result)  # never raises
    return result


def _exam_refusal(heading: str, text: str) -> display.Message | None:
    """A "refused" message while an exam runs (a timed exam, or the teacher's exam mode)."""
    return display.Message("refused", heading, text) if state.in_exam() else None


def hint(drill_id: str) -> display.Message:
    """The next hint for ``drill_id`` (one more on every call); refused during an exam.

    Introduced in 00_welcome.
    """
    drill = get_drill(drill_id)
    refused = _exam_refusal(
        f"No hints for {drill_id} during an exam",
        f"Hints are switched off until the exam is over. Re-read the prompt: "
        f"drills.prompt({drill_id!r}).",
    )
    if refused:
        return refused
    if not drill.hints:
        return display.Message("hint", f"{drill_id}: no hints for this drill", drill.prompt)
    shown = min(state.hints_shown.get(drill_id, 0) + 1, len(drill.hints))
    state.hints_shown[drill_id] = shown
    text = "\n\n".join(f"Hint {i + 1}: {h}" for i, h in enumerate(drill.hints[:shown]))
    if shown == len(drill.hints):
        text += (
            f"\n\nThat was the last hint; `drills.solution({drill_id!r})` shows a worked solution."
        )
    return display.Message("hint", f"{drill_id}: hint {shown} of {len(drill.hints)}", text)


def solution(drill_id: str) -> display.Message:
    """The worked solution; refused (a message, no solution) during an exam.

    Introduced in 00_welcome.
    """
    drill = get_drill(drill_id)
    refused = _exam_refusal(
        f"Solution for {drill_id} withheld: exam mode",
        "Worked solutions are not available during an exam (a timed `drills.exam`, or "
        "VAE_COURSE_MODE=exam set by your teacher). They come back when the exam is over.",
    )
    if refused:
        return refused
    return display.Message("info", f"Worked solution: {drill_id} ({drill.title})", drill.solution)


def prompt(drill_id: str) -> display.Message:
    """The drill's prompt with its contract and the name the notebook binds the answer to.

    Introduced in 00_welcome.
    """
    drill = get_drill(drill_id)
    heading = (
        f"Drill {drill.id} (chapter {drill.chapter}, {drill.kind}, "
        f"{drill.max_score:g} points): {drill.title}"
    )
    text = drill.full_prompt() + (
        f"\n\nAnswer name: `{drill.answer_name}`; check it with "
        f"`drills.check({drill.id!r}, {drill.answer_name})`."
    )
    return display.Message("info", heading, text)


def _chapter(chapter: Any) -> str | None:
    if chapter is None:
        return None
    if isinstance(chapter, bool) or not isinstance(chapter, int | str):
        raise ValueError(f"chapter must be a number like 4 or '04', got {chapter!r}")
    text = str(chapter).strip()
    if not text.isdigit():
        raise ValueError(f"chapter must be a number like 4 or '04', got {chapter!r}")
    return f"{int(text):02d}"


def list_drills(chapter: int | str | None = None) -> display.Table:
    """A table of drills (id, chapter, kind, max score, title), optionally for one chapter.

    Introduced in 00_welcome.
    """
    wanted = _chapter(chapter)
    rows = [
        [d.id, d.chapter, d.kind, f"{d.max_score:g}", d.title]
        for d in all_drills()
        if wanted is None or d.chapter == wanted
    ]
    title = "Drills" + (f" of chapter {wanted}" if wanted else "")
    return display.Table(["id", "chapter", "kind", "max score", "title"], rows, title)


def progress() -> display.Table:
    """Your progress by chapter: drills attempted, passed, and best score over max score.

    Introduced in 00_welcome.
    """
    try:
        recorded = progress_store.load_progress()
        where = str(progress_store.progress_path())
    except Exception as error:  # noqa: BLE001 - an unreadable cache must not break the table
        recorded, where = {}, f"progress unavailable: {error}"
    chapters: dict[str, list[float]] = {}
    for drill in all_drills():
        entry = recorded.get(drill.id)
        row = chapters.setdefault(drill.chapter, [0, 0, 0, 0.0, 0.0])
        row[0] += 1
        row[4] += drill.max_score
        if entry:
            row[1] += 1
            row[2] += 1 if entry.get("passed") else 0
            row[3] += min(float(entry.get("best_score", 0.0)), drill.max_score)
    rows = [
        [chapter, n, attempted, passed, f"{score:g} / {maximum:g}"]
        for chapter, (n, attempted, passed, score, maximum) in sorted(chapters.items())
    ]
    totals = [sum(v[i] for v in chapters.values()) for i in range(5)]
    rows.append(["all", totals[0], totals[1], totals[2], f"{totals[3]:g} / {totals[4]:g}"])
    return display.Table(
        ["chapter", "drills", "attempted", "passed", "score"],
        rows,
        "Your drill progress",
        footer=f"Saved in {where}",
    )


def question(drill_id: str, seed: int | None = None) -> Question:
    """Your random parameters for a seeded drill (same seed, same numbers).

    Without ``seed`` a seed derived from your user and machine names is used. The seed is
    remembered, so a later ``check(drill_id, answer)`` uses the same numbers.

    Introduced in 03_reparameterisation (the first seeded drill); used in 04 and 09.
    """
    drill = get_drill(drill_id)
    if not drill.seeded:
        raise ValueError(
            f"drill {drill_id!r} has no random parameters; drills.prompt({drill_id!r}) "
            "shows the question."
        )
    seed = learner_seed(drill_id) if seed is None else check_seed(seed)
    state.remember_seed(drill_id, seed)
    return drill.question(seed)


def use(drill_id: str, learner_answer: Any) -> Any:
    """Your implementation if it passes the drill, else the package's; prints which one.

    ``kl_divergence = drills.use("kl_divergence", kl_divergence)`` lets the rest of the
    chapter run even when the exercise is not solved yet.

    Introduced in 00_welcome; every chapter uses it after an exercise.
    """
    drill = get_drill(drill_id)
    reference = drill.reference()
    if reference is None:
        raise ValueError(
            f"drills.use works for function and module drills; {drill_id!r} is a {drill.kind} "
            "drill."
        )
    result = check(drill_id, learner_answer, record=False)
    name = (
        getattr(reference, "__module__", "vae_course")
        + "."
        + getattr(reference, "__qualname__", drill.answer_name)
    )
    if result.passed:
        print(f"drills.use({drill_id!r}): using your {drill.answer_name} (it passes the drill).")
        return learner_answer
    if result.status == NOT_ATTEMPTED:
        why = "yours is not attempted yet"
    else:
        why = f"yours failed the drill ({result.score:g}/{result.max_score:g})"
    print(f"drills.use({drill_id!r}): using the course's reference {name} because {why}.")
    return reference


current_seeds = state.current_seeds

__all__ = [
    "check",
    "current_seeds",
    "hint",
    "list_drills",
    "progress",
    "prompt",
    "question",
    "solution",
    "unknown_id_message",
    "use",
]
