"""Classroom grading: ``vae-course grade SUBMISSION... --out DIR``.

A teacher collects the learners' notebooks and runs::

    vae-course grade submissions/ --out grades/ [--timeout 600] [--jobs 2] [--memory-mb 8192]

Each submission is graded on its own; the rest of the class is graded whatever one notebook
does. How, step by step, and what every status and output file means: ``docs/grading.md``.

One module per stage:

* :mod:`.notebook_code`: read the notebook without running it (bindings, literal values,
  the statements that rebuild an answer function, tampering);
* :mod:`.sandbox`: the operating-system sandbox (bubblewrap, or a container) every
  process that runs learner code lives in; :mod:`.env`: their variables and limits;
  :mod:`.processes`: starting one and reading its channels;
* :mod:`.execute`: run the notebook in a fresh sandboxed kernel; :mod:`.harvest`: its
  answer values as tagged JSON;
* :mod:`.probes`: run its graded functions on the judge's probes, in a sandbox without
  the course's implementations; :mod:`.judge`: verdicts from that data, in a process that
  never runs learner code;
* :mod:`.submission`: one submission, start to end; :mod:`.batch`: the class, with
  resume; :mod:`.engines`: here in threads or on a Dask cluster; :mod:`.gradebook`: the
  CSV, the feedback pages and the log; :mod:`.cli`: the command line.
"""

from __future__ import annotations

from .batch import (
    GradingError,
    assignment,
    drill_catalogue,
    expand_submissions,
    grade,
    handout_drills,
)
from .cli import configure_parser, run
from .gradebook import STATUS_MEANING, STATUS_ORDER, Row, spreadsheet_safe, student_id_for

__all__ = [
    "STATUS_MEANING",
    "STATUS_ORDER",
    "GradingError",
    "Row",
    "assignment",
    "configure_parser",
    "drill_catalogue",
    "expand_submissions",
    "grade",
    "handout_drills",
    "run",
    "spreadsheet_safe",
    "student_id_for",
]
