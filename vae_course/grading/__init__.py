"""Classroom grading: ``vae-course grade SUBMISSION... --out DIR``.

A teacher collects the learners' notebooks and runs::

    vae-course grade submissions/ --out grades/ [--timeout 600] [--jobs 2] [--memory-mb 8192]

Each submission is graded on its own; the rest of the class is graded whatever one notebook
does. How, step by step, and what every status and output file means: ``docs/grading.md``.

One module per stage:

* :mod:`.notebook_code`: read the notebook without running it (bindings, literal values,
  the statements that rebuild an answer function, tampering);
* :mod:`.execute`: run it in a fresh sandboxed kernel; :mod:`.harvest`: its answer values
  as tagged JSON; :mod:`.env`: the environment and limits of every process that runs
  learner code;
* :mod:`.checker`: check each answer in a clean process; :mod:`.pool`: the checker
  processes;
* :mod:`.submission`: one submission, start to end; :mod:`.batch`: the class, in
  parallel, with resume; :mod:`.gradebook`: the CSV, the feedback pages and the log;
  :mod:`.cli`: the command line.
"""

from __future__ import annotations

from .batch import GradingError, drill_catalogue, expand_submissions, grade
from .cli import configure_parser, run
from .gradebook import STATUS_MEANING, STATUS_ORDER, Row, columns_for, student_id_for

__all__ = [
    "STATUS_MEANING",
    "STATUS_ORDER",
    "GradingError",
    "Row",
    "columns_for",
    "configure_parser",
    "drill_catalogue",
    "expand_submissions",
    "grade",
    "run",
    "student_id_for",
]
