"""Observe a submission's graded functions: the one place the grader runs learner code on probes.

``python -m vae_course.drills.probe_runner JOB.json FD`` runs inside the grader's
sandbox (:mod:`vae_course.grading.sandbox`), where the package is a copy without the
course's implementations. For each code drill of the job it rebuilds the learner's answer
from the notebook's statements (:meth:`vae_course.grading.notebook_code.NotebookCode.rebuild_units`),
observes it on the probes of the job's seed, and writes one JSON line to file descriptor
``FD``: ``{"drill": id, "observation": ...}`` (:mod:`.codec`) or ``{"drill": id,
"status": ..., "feedback": [...]}`` when there was nothing to observe. It never judges:
the grader does, in its own process.

``name = drills.use("id", name)`` in the notebook is rebuilt as ``name = name``: the
learner's own function, since the course's is not here to hand out.
"""

from __future__ import annotations

import json
import linecache
import os
import re
import sys
import types
from typing import Any

from . import codec, guard, timed, warmup
from .registry import get_drill

# A fresh process on a machine busy with other submissions: the learner's own time limits
# (3 s a call, 10 s an answer in the notebook) would count start-up costs as theirs.
TIME_SCALE = 3.0

COURSE_MODULE_HINT = ("vae_course.", "'vae_course'")
_COURSE_MODULE = re.compile(r"'(vae_course[\w.]*)'")


def _course_module(text: str) -> str:
    """The course module an import error names ("vae_course" when it names none)."""
    match = _COURSE_MODULE.search(text)
    return match.group(1) if match else "vae_course"


def _run_units(units: list[dict], namespace: dict, future_flags: int) -> list[str]:
    """Execute the rebuild statements in order; retry failures until nothing more succeeds."""
    pending = list(units)
    errors: dict[int, str] = {}
    while pending:
        failed = []
        for unit in pending:
            try:
                code = compile(
                    unit["code"], unit["filename"], "exec", flags=future_flags, dont_inherit=True
                )
                exec(code, namespace)
                errors.pop(id(unit), None)
            except BaseException as error:  # noqa: BLE001 - learner code may raise anything
                errors[id(unit)] = (
                    f"cell {unit['cell']}: {type(error).__name__}: {str(error)[:200]}"
                )
                failed.append(unit)
        if len(failed) == len(pending):
            break
        pending = failed
    return [f"while rebuilding your code, {message}" for message in errors.values()]


def defined_by_learner(value: Any) -> bool:
    """True for a function or class whose code comes from the notebook's cells."""
    import inspect

    if value is None:
        return False
    if isinstance(value, type):
        return getattr(value, "__module__", "") == "submission"
    try:
        function = inspect.unwrap(value)
    except Exception:  # noqa: BLE001 - a learner object with a strange __wrapped__
        return False
    code = getattr(function, "__code__", None)
    return code is not None and code.co_filename.startswith("<notebook cell ")


def observe_job(item: dict, seed: int) -> dict:
    """Rebuild one answer and observe it; a JSON-ready reply (never raises)."""
    drill = get_drill(item["drill"])
    module = types.ModuleType("submission")
    module.__file__ = "<submission>"
    sys.modules["submission"] = module
    namespace = module.__dict__
    namespace["__vae_grader_use__"] = lambda _drill_id, function: function
    for filename, source in item.get("cells", {}).items():
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    notes = _run_units(item["units"], namespace, int(item.get("future_flags", 0)))
    name = item["answer_name"]
    answer = namespace.get(name)
    course = [n for n in notes if any(h in n for h in COURSE_MODULE_HINT)]
    if course:
        return {
            "status": "failed",
            "feedback": [guard.refusal_message(name, [_course_module(course[0])])],
        }
    if not defined_by_learner(answer):
        return {
            "status": "not found",
            "feedback": [
                f"not found: `{name}` could not be rebuilt from your notebook's code "
                f"({'; '.join(notes) or 'its definition did not run'})."
            ],
        }
    observation = drill.observe(answer, seed, guarded=False)  # nothing of the course is here
    if observation.stopped is not None and observation.stopped.call is not None:
        message = observation.stopped.call.error_message
        if observation.stopped.call.error_type in ("ModuleNotFoundError", "ImportError") and (
            "vae_course" in message
        ):
            return {
                "status": "failed",
                "feedback": [guard.refusal_message(name, [_course_module(message)])],
            }
    return {"observation": codec.encode_observation(observation), "notes": notes}


def _warm_up() -> None:
    """Pay the first-use costs (optimizers, autograd, the meta device) before any answer
    runs, so that no learner's time limit includes them."""
    import torch

    torch.set_num_threads(1)
    model = torch.nn.Linear(4, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    torch.nn.functional.binary_cross_entropy_with_logits(
        model(torch.rand(3, 4)), torch.rand(3, 2)
    ).backward()
    optimizer.step()
    torch.optim.Adam(model.parameters())
    warmup.wait()


def main(job_path: str, out_fd: int) -> int:
    """Observe every drill of the job; one JSON line per drill on ``out_fd``."""
    out = os.fdopen(out_fd, "w", encoding="utf-8")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # a learner's prints go nowhere, and never into the replies
    with open(job_path, encoding="utf-8") as handle:
        job = json.load(handle)
    _warm_up()
    timed.CALL_LIMIT_S *= TIME_SCALE
    timed.TOTAL_LIMIT_S *= TIME_SCALE
    seed = int(job["seed"])
    for item in job["drills"]:
        try:
            reply = observe_job(item, seed)
        except BaseException as error:  # noqa: BLE001 - one answer must not stop the rest
            reply = {
                "status": "failed",
                "feedback": [
                    f"Your `{item.get('answer_name')}` could not be checked: it stopped the "
                    f"checking process ({type(error).__name__}: {str(error)[:200]})."
                ],
            }
        reply["drill"] = item["drill"]
        try:
            line = json.dumps(reply)
        except (TypeError, ValueError) as error:
            line = json.dumps(
                {"drill": item["drill"], "status": "failed", "feedback": [f"unreadable: {error}"]}
            )
        out.write(line + "\n")
        out.flush()
    return 0


if __name__ == "__main__":  # pragma: no cover - exercised through the grader's sandbox
    sys.exit(main(sys.argv[1], int(sys.argv[2])))
