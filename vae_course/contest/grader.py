"""Grading one contest submission: rules, the notebook's run, the model's run, the metric.

:func:`grade_submission` never raises; it returns a record (plain data) with the verdict:

* ``rule violation``: the notebook mentions ``vae_course`` (an import, a name, a string),
  read statically before anything runs (:func:`vae_course.drills.bans.cell_violations`);
* ``runtime error``: the kernel did not start, a cell raised, the kernel died, or the
  saved model could not be rebuilt or run;
* ``time limit``: the notebook ran past the task's limit (it is stopped there);
* ``presentation error``: no ``submission.pt``, not a state dict, no ``Model`` class, or
  outputs of the wrong shape, not finite or (generation) not varied;
* ``over budget``: more parameters than the task allows (counted from the state dict
  before any learner code runs), or, for the compressor, a mean KL above the rate budget;
* ``OK``: scored on the public and the private split, each on the task's 0–100 ramp.

The private split's inputs are passed in by the caller (:mod:`.leaderboard`), made from the
secret seed after the notebook's run; its answers stay here.
"""

from __future__ import annotations

import shutil
import tempfile
import time
import traceback
from pathlib import Path

from vae_course.drills import bans, codec
from vae_course.grading.notebook_code import NotebookCode
from vae_course.grading.notebook_file import InvalidNotebook, read_notebook
from vae_course.grading.processes import remove_tree
from vae_course.grading.sandbox import Sandbox

from . import metrics
from .data import Split
from .sandboxed import RunLimits, run_model, run_notebook
from .task_files import public_files
from .tasks import ContestTask

OK = "OK"
RUNTIME_ERROR = "runtime error"
TIME_LIMIT = "time limit"
OVER_BUDGET = "over budget"
PRESENTATION_ERROR = "presentation error"
RULE_VIOLATION = "rule violation"
VERDICTS = (OK, RUNTIME_ERROR, TIME_LIMIT, OVER_BUDGET, PRESENTATION_ERROR, RULE_VIOLATION)
MAX_SUBMISSION_BYTES = 100 * 2**20
SPLITS = ("public", "private")


class Verdict(Exception):
    """Stops grading a submission with a verdict other than OK."""

    def __init__(self, verdict: str, message: str) -> None:
        super().__init__(message)
        self.verdict, self.message = verdict, message


def course_references(code: NotebookCode) -> list[str]:
    """Where the notebook mentions the course's package (``cell N, line L: ...``)."""
    found = []
    for filename, source in code.cell_sources.items():
        where = f"cell {filename.rsplit(' ', 1)[-1].rstrip('>')}"
        found += [v.message() for v in bans.cell_violations(source, where, ("vae_course",))]
    return found


def grade_submission(
    data: bytes,
    task: ContestTask,
    splits: dict[str, Split],
    sandbox: Sandbox,
    limits: RunLimits,
    public_dir: Path | None = None,
) -> dict:
    """Grade one notebook (its bytes) on ``task`` with the ``public`` and ``private`` splits;
    ``public_dir`` holds the task's public files (made here when not given)."""
    started = time.monotonic()
    record: dict = {"verdict": OK, "message": "", "parameters": None, "seconds": None}
    record |= {"metrics": {}, "scores": {}, "violations": [], "log": []}
    scratch = Path(tempfile.mkdtemp(prefix="vae-contest-"))
    try:
        _grade(record, data, task, splits, sandbox, limits, scratch, public_dir)
    except Verdict as stop:
        record["verdict"], record["message"] = stop.verdict, stop.message
    except Exception as error:  # a grader bug must not stop the class
        record["verdict"] = RUNTIME_ERROR
        record["message"] = f"the grader failed on this submission ({type(error).__name__})"
        record["log"].append(traceback.format_exc(limit=5))
    finally:
        remove_tree(scratch)
    if record["verdict"] != OK:
        record["scores"] = dict.fromkeys(SPLITS, 0.0)
    record["total_seconds"] = round(time.monotonic() - started, 1)
    return record


def _grade(record, data, task, splits, sandbox, limits, scratch, public_dir) -> None:
    try:
        notebook = read_notebook(data)
    except InvalidNotebook as error:
        raise Verdict(PRESENTATION_ERROR, f"not a readable notebook: {error}") from error
    code = NotebookCode(notebook)
    mentions = course_references(code)
    if mentions:
        raise Verdict(
            RULE_VIOLATION,
            "a contest submission may not use the course's package: " + "; ".join(mentions[:3]),
        )
    work = scratch / "work"
    work.mkdir()
    (work / "submission.ipynb").write_bytes(data)
    if public_dir is None:
        public_files(task, work / "data")
    else:
        shutil.copytree(public_dir, work / "data")
    report, run = run_notebook(
        work / "submission.ipynb", work, scratch, task.time_limit_s, sandbox, limits
    )
    record["violations"] = run.violations
    record["seconds"] = report.get("seconds")
    _verdict_of_run(report, run, task)
    saved = work / "submission.pt"
    if saved.is_symlink() or not saved.is_file():
        raise Verdict(
            PRESENTATION_ERROR,
            "the notebook ran but saved no submission.pt "
            "(end with `torch.save(model.state_dict(), 'submission.pt')`)",
        )
    if saved.stat().st_size > MAX_SUBMISSION_BYTES:
        raise Verdict(PRESENTATION_ERROR, "submission.pt is larger than 100 MB")
    model_file = scratch / "submission.pt"
    model_file.write_bytes(saved.read_bytes())
    remove_tree(work)  # nothing of the run is left for the scoring run
    units, _, _ = code.rebuild_units("Model")
    if units is None:
        raise Verdict(
            PRESENTATION_ERROR, "the notebook defines no `class Model(nn.Module)` built as Model()"
        )
    job = {
        "units": [u.to_json() for u in units],
        "cells": {u.filename: code.cell_sources[u.filename] for u in units},
    }
    record["metrics"] = _score(record, task, splits, job, model_file, scratch, sandbox, limits)
    record["scores"] = {split: task.ramp(value) for split, value in record["metrics"].items()}


def _verdict_of_run(report: dict, run, task: ContestTask) -> None:
    if not report.get("started"):
        problem = report.get("driver_error") or f"exit {run.returncode}: {run.log_tail[-300:]}"
        raise Verdict(RUNTIME_ERROR, f"the notebook's kernel did not start ({problem})")
    if report.get("timed_out") or run.timed_out:
        raise Verdict(TIME_LIMIT, f"the notebook did not finish within {task.time_limit_s:g} s")
    error = report.get("error")
    if error:
        raise Verdict(
            RUNTIME_ERROR, f"cell {error['cell']} raised {error['ename']}: {error['evalue']}"
        )
    if report.get("kernel_died"):
        raise Verdict(RUNTIME_ERROR, "the kernel died (out of memory, or a crash in native code)")


def _lines(lines: list[dict], task: ContestTask, record: dict) -> dict:
    """The outputs of a scoring run, after its parameter count and errors are checked."""
    first = next((line for line in lines if line.get("stage") == "parameters"), None)
    if first is None:
        load = next((line for line in lines if line.get("stage") == "load"), None)
        detail = load["error"] if load else "the scoring run gave no result"
        raise Verdict(PRESENTATION_ERROR, f"submission.pt cannot be used: {detail}")
    count = first.get("parameters")
    if not isinstance(count, int) or isinstance(count, bool):
        raise Verdict(PRESENTATION_ERROR, "the scoring run reported no parameter count")
    record["parameters"] = count
    if count > task.max_parameters:
        raise Verdict(
            OVER_BUDGET, f"{count:,} parameters, over the budget of {task.max_parameters:,}"
        )
    failure = next((line for line in lines if line.get("stage") in ("build", "run")), None)
    if failure is not None:
        raise Verdict(RUNTIME_ERROR, str(failure.get("error"))[:400])
    output = next((line for line in lines if line.get("stage") == "outputs"), None)
    if output is None:
        raise Verdict(RUNTIME_ERROR, "the model's run stopped before it returned its outputs")
    try:
        decoded = codec.decode_value(output.get("outputs"))
    except codec.CodecError as error:
        raise Verdict(PRESENTATION_ERROR, f"the model's outputs cannot be read: {error}") from error
    if not isinstance(decoded, dict) or set(decoded) != set(SPLITS):
        raise Verdict(PRESENTATION_ERROR, "the model's outputs miss a split")
    return decoded


def _score(record, task, splits, job, model_file, scratch, sandbox, limits) -> dict:
    def run(method: str, inputs: dict, name: str) -> dict:
        lines, _ = run_model(job, model_file, inputs, method, scratch, sandbox, limits, name)
        return _lines(lines, task, record)

    try:
        if task.kind == "anomaly":
            out = run("score", {s: splits[s].inputs for s in SPLITS}, "score")
            return {
                s: metrics.anomaly_metric(
                    out[s], splits[s].inputs["images"], splits[s].truth["is_anomaly"]
                )["metric"]
                for s in SPLITS
            }
        if task.kind == "compressor":
            encoded = run("encode", {s: splits[s].inputs for s in SPLITS}, "encode")
            codes = {
                s: metrics.latent_codes(encoded[s], splits[s].inputs["images"]) for s in SPLITS
            }
            z = {
                s: {
                    "z": metrics.sample_codes(*codes[s], int(splits[s].truth["noise_seed"])).float()
                }
                for s in SPLITS
            }
            decoded = run("decode", z, "decode")
            result = {
                s: metrics.compressor_metric(
                    decoded[s], splits[s].inputs["images"], *codes[s], task.settings["kl_budget"]
                )
                for s in SPLITS
            }
            record["rates"] = {s: result[s]["rate"] for s in SPLITS}
            over = [s for s in SPLITS if result[s]["over_budget"]]
            if over:
                raise Verdict(
                    OVER_BUDGET,
                    f"mean KL {result[over[0]]['rate']:.2f} nats per image on the {over[0]} "
                    f"split, over the rate budget of {task.settings['kl_budget']:g}",
                )
            return {s: result[s]["metric"] for s in SPLITS}
        from .data import training_data

        train = training_data(task.with_limits(settings={**task.settings, "label_fraction": 1.0}))
        real = metrics.spread(train["images"], train["labels"])
        out = run("generate", {s: splits[s].inputs for s in SPLITS}, "generate")
        return {
            s: metrics.conditional_metric(out[s], splits[s].truth["labels"], real)["metric"]
            for s in SPLITS
        }
    except metrics.PresentationError as error:
        raise Verdict(PRESENTATION_ERROR, str(error)) from error


__all__ = [
    "OK",
    "OVER_BUDGET",
    "PRESENTATION_ERROR",
    "RULE_VIOLATION",
    "RUNTIME_ERROR",
    "SPLITS",
    "TIME_LIMIT",
    "VERDICTS",
    "course_references",
    "grade_submission",
]
