"""Running a submission's graded functions on the judge's probes, in a sandbox without answers.

Every code drill of a submission (a function or an ``nn.Module`` class) is rebuilt from the
notebook's own statements and observed on the probes of the batch's secret seed by
:mod:`vae_course.drills.probe_runner`, inside the operating-system sandbox. There the
package is replaced by a copy holding only the drills' observing code
(:func:`vae_course.drills.guard.observer_files`): the course's implementations (losses,
models, schedules, the drills' references) are not there to call, so an answer that relies
on them fails for want of them, however it reaches them. What comes back is data (the
observations, :mod:`vae_course.drills.codec`), judged by :mod:`.judge`.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

from vae_course.drills import guard

from .env import Options, learner_settings, sandbox_dir
from .processes import run_sandboxed
from .sandbox import Policy, Sandbox, prepare_workdir

STARTUP_S = 60.0  # importing torch in a fresh sandbox, on a slow machine


def observer_package(root: Path) -> Path:
    """A copy of the package's observing code under ``root`` (made once; returns its folder)."""
    import vae_course

    package = Path(vae_course.__file__).resolve().parent
    target = root / "observer" / "vae_course"
    if not target.exists():
        for relative in guard.observer_files():
            destination = root / "observer" / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(package.parent / relative, destination)
    return target


def observe(
    jobs: list[dict],
    seed: int,
    options: Options,
    sandbox: Sandbox,
    scratch: Path,
    observer: Path,
) -> dict[str, dict]:
    """``{drill id: reply}`` for ``jobs`` (see :mod:`vae_course.drills.probe_runner`)."""
    if not jobs:
        return {}
    work, control = scratch / "probe-work", scratch / "probe-control"
    (control / "site").mkdir(parents=True, exist_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    shutil.copy(sandbox_dir() / "sitecustomize.py", control / "site" / "sitecustomize.py")
    job_path = control / "job.json"
    job_path.write_text(json.dumps({"seed": seed, "drills": jobs}), encoding="utf-8")
    env = learner_settings(work / ".cache")
    env.update(
        HOME=str(work),
        TMPDIR=str(work),
        PATH="/usr/bin:/bin",
        PYTHONPATH=str(control / "site"),
        PYTHONNOUSERSITE="1",
        VAE_GRADER_WORKDIR=str(work),
        VAE_GRADER_LOG=str(control / "pipes" / "violations"),
        VAE_GRADER_READ_ROOTS=os.pathsep.join([options.package_dir, str(control)]),
    )
    prepare_workdir(work)
    policy = Policy(
        workdir=work,
        env=env,
        read_only=(control,),
        overlays=((Path(options.package_dir), observer),),
        memory_mb=options.memory_mb,
        cpu_seconds=int(STARTUP_S + len(jobs) * options.check_timeout),
    )
    argv = [sys.executable, "-m", "vae_course.drills.probe_runner", str(job_path), "{FD}"]
    run = run_sandboxed(
        sandbox,
        argv,
        policy,
        timeout=STARTUP_S + len(jobs) * options.check_timeout,
        pipes=control / "pipes",
        log=scratch / "probe.log",
    )
    replies: dict[str, dict] = {}
    for line in run.lines:
        try:
            reply = json.loads(line)
        except ValueError:
            continue
        if isinstance(reply, dict) and isinstance(reply.get("drill"), str):
            replies.setdefault(reply["drill"], reply)
    stopped = (
        f"it ran past the time limit of {STARTUP_S + len(jobs) * options.check_timeout:g} s"
        if run.timed_out
        else f"it stopped (exit {run.returncode})"
    )
    for job in jobs:
        if job["drill"] not in replies:
            replies[job["drill"]] = {
                "drill": job["drill"],
                "status": "timeout" if run.timed_out else "failed",
                "feedback": [
                    f"Your `{job['answer_name']}` could not be checked: the run of your "
                    f"functions gave no result for it ({stopped}; an endless loop, a crash, "
                    "or code that ends the process?)."
                ],
            }
        replies[job["drill"]]["violations"] = run.violations
    return replies


__all__ = ["observe", "observer_package"]
