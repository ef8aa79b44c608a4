"""Where submissions are graded: here, in threads, or on a Dask cluster.

Both engines take ``(key, notebook bytes, name)`` tasks and yield ``(key, record)`` as
each finishes. A record is plain data (:func:`vae_course.grading.submission.grade_submission`),
so the gradebook, the feedback and resume are the same whichever engine produced it.

On Dask (``--scheduler tcp://HOST:PORT``) every worker runs the same sandboxed grading:
the worker needs vae-course installed (the same version), bubblewrap (or the container
tool named by ``--container``), and nothing else: the notebook's bytes travel with the
task and nothing is read from the teacher's disk. Point it at a real cluster with
``dask-jobqueue`` (SLURM, PBS: ``SLURMCluster(...).scheduler_address``) or
``dask-kubernetes``; each worker should have one thread and two or more cores.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Iterator

from .env import Options
from .submission import DrillInfo, grade_submission

Task = tuple[str, bytes, str]  # (key, notebook bytes, display name)


def run_local(
    tasks: list[Task], catalogue: list[DrillInfo], options: Options, jobs: int
) -> Iterator[tuple[str, dict]]:
    """Grade ``tasks`` in ``jobs`` threads here (each submission runs its own sandboxes)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {
            pool.submit(grade_submission, data, name, catalogue, options): key
            for key, data, name in tasks
        }
        for future in concurrent.futures.as_completed(futures):
            yield futures[future], future.result()  # grade_submission never raises


def run_dask(
    tasks: list[Task], catalogue: list[DrillInfo], options: Options, scheduler: str
) -> Iterator[tuple[str, dict]]:
    """Grade ``tasks`` on the Dask cluster whose scheduler is at ``scheduler``."""
    try:
        from distributed import Client, as_completed
    except ImportError as error:
        raise RuntimeError(
            "--scheduler needs dask.distributed: `pip install 'vae-course[cluster]'` "
            "(or `pip install distributed`)"
        ) from error
    with Client(scheduler, timeout="30s") as client:
        futures = {
            client.submit(
                grade_submission, data, name, catalogue, options, key=f"grade-{key}", pure=False
            ): key
            for key, data, name in tasks
        }
        for future in as_completed(futures):
            try:
                record = future.result()
            except Exception as error:  # a worker that died: retried on the next run
                record = {
                    "flags": ["error"],
                    "drills": {},
                    "notes": [],
                    "log": [f"the Dask worker failed: {type(error).__name__}: {error}"],
                    "metadata": {},
                    "seconds": 0.0,
                }
            yield futures[future], record


__all__ = ["Task", "run_dask", "run_local"]
