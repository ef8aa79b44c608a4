"""The files of a task folder: what the learner, and the notebook the grader runs, may read.

``train.pt`` (:func:`vae_course.contest.data.training_data`), ``public.pt`` (the public
split's inputs and answers), ``task.json`` (:meth:`ContestTask.public_info`) and, for
conditional generation, ``classifier.pt2`` (the fixed classifier as a ``torch.export``
program). Nothing of the private split is ever written here.
"""

from __future__ import annotations

import json
from pathlib import Path

from vae_course.storage import atomic_torch_save, atomic_write_text

from .data import public_split, training_data
from .tasks import ContestTask


def public_files(task: ContestTask, folder: str | Path) -> list[Path]:
    """Write ``train.pt``, ``public.pt`` (inputs and answers of the public split) and
    ``task.json`` into ``folder`` (and ``classifier.pt2`` for conditional generation)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    public = public_split(task)
    written = [
        atomic_torch_save(training_data(task), folder / "train.pt"),
        atomic_torch_save({**public.inputs, **public.truth}, folder / "public.pt"),
        atomic_write_text(folder / "task.json", json.dumps(task.public_info(), indent=1)),
    ]
    if task.kind == "conditional":
        from .classifier import save_program

        written.append(save_program(folder / "classifier.pt2"))
    return written


__all__ = ["public_files"]
