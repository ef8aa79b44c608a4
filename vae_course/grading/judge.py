"""The judge: verdicts from data, in the grader's own process, which never runs learner code.

Value answers arrive as tagged JSON from the harvest (:mod:`.harvest`); code answers as
observations made in the sandbox (:mod:`.probes`, :mod:`vae_course.drills.codec`). Both are
decoded without executing anything and judged by the drills' own ``judge`` methods: the
code behind ``drills.check`` in a notebook, so the gradebook says what the learner saw.
The reference implementations run here, on the same probes, as trusted code.

Judging holds a lock: references are observed under a forked torch RNG, which must not
interleave between the grader's threads.
"""

from __future__ import annotations

import threading
from typing import Any

from vae_course.drills import codec, get_drill

from .harvest import decode_value

_LOCK = threading.Lock()


def verdict(status: str, feedback: list[str], score: float = 0.0, max_score: float = 0.0) -> dict:
    """A drill's entry in a submission's record."""
    return {
        "status": status,
        "score": float(score),
        "max_score": float(max_score),
        "feedback": [str(line)[:2000] for line in feedback][:50],
        "notes": [],
    }


def _from_result(result: Any) -> dict:
    return verdict(result.status, list(result.feedback), result.score, result.max_score)


def judge_value(drill_id: str, encoded: Any, seed: int | None) -> dict:
    """The verdict on a harvested value (tagged JSON); never raises."""
    drill = get_drill(drill_id)
    try:
        value = decode_value(encoded)
    except Exception:  # noqa: BLE001 - a kernel that damaged its own json module, say
        return verdict(
            "not gradable", ["The value could not be read back."], max_score=drill.max_score
        )
    with _LOCK:
        return _from_result(drill.check(value, seed=seed))


def judge_observation(drill_id: str, reply: dict, seed: int) -> dict:
    """The verdict on the probe runner's reply for a code drill; never raises."""
    drill = get_drill(drill_id)
    if "observation" not in reply:  # nothing observed: at most a reason, never points
        status = reply.get("status")
        if status not in ("not found", "timeout", "failed"):
            status = "failed"
        feedback = [str(line) for line in reply.get("feedback") or []][:5]
        return verdict(status, feedback or ["Your code gave no result."], 0, drill.max_score)
    try:
        observation = codec.decode_observation(reply["observation"])
    except codec.CodecError as error:
        return verdict(
            "failed",
            [
                "The result of running your code could not be read (the code damaged the "
                f"grader's channel: {error}); it earns no points."
            ],
            max_score=drill.max_score,
        )
    with _LOCK:
        return _from_result(drill.safely(lambda: drill.judge(observation, seed)))


def warm(drill_ids: list[str], seed: int) -> None:
    """Observe the references (and catalogued mistakes) of code drills once, up front."""
    with _LOCK:
        for drill_id in drill_ids:
            drill = get_drill(drill_id)
            if drill.runs_code:
                drill.reference_observation(seed)
                for mistake in getattr(drill, "mistakes", ()):
                    drill.mistake_observation(mistake, seed)


__all__ = ["judge_observation", "judge_value", "verdict", "warm"]
