"""Graded drills with instant feedback.

```python
from vae_course import drills
drills.check("kl_divergence", kl_divergence)   # -> Result (a coloured box in JupyterLab)
drills.check("kl_zero_case", {"kl": 0.0, "reason": "c"})  # a number and a reason
drills.hint("kl_divergence")                   # one more hint per call
drills.solution("kl_divergence")               # worked solution (not in exam mode)
drills.prompt("kl_divergence")                 # the contract and the answer's name
q = drills.question("kl_by_hand")              # your own random numbers
drills.list(chapter=4); drills.progress()      # tables
drills.review(q, answer)                       # after an attempt: rubric + worked solution
exam = drills.exam("vae-round2", minutes=60)   # a timed paper you answer yourself
drills.formula_sheet()                         # what an olympiad contestant knows by heart
kl_divergence = drills.use("kl_divergence", kl_divergence)  # yours if it passes
```

Kinds, one module each: choice, numeric, function (property checks + a mistake catalogue),
module (an ``nn.Module`` class checked by its traits), experiment (your measurements
checked against your conclusion) and multipart (parts of those kinds, each scored).
``check`` never raises.

Layout (the imports point one way): ``api`` → ``registry`` → ``catalogue`` (pure data) →
the kinds → ``core``; ``state`` holds what a process remembers (seeds, hints, the running
exam). Importing this package registers nothing and starts nothing.
"""

from __future__ import annotations

from .api import check, current_seeds, hint, list_drills, progress, prompt, question, solution, use
from .choice import ChoiceDrill, Option
from .core import FAILED, NOT_ATTEMPTED, PARTIAL, PASSED, Drill, Result
from .exam import exam as exam  # olympiad practice: timed exams (chapter 09)
from .experiment import ExperimentDrill
from .formulas import formula_sheet  # olympiad practice: the formula sheet (chapter 09)
from .function import FunctionDrill
from .module import ModuleDrill
from .multipart import MultipartDrill
from .numeric import NumericDrill, NumericMistake
from .observation import Mistake, Probe
from .question import Question
from .registry import all_drills, get_drill, register
from .review import review

list = list_drills  # noqa: A001 - the public name is drills.list(...)

__all__ = [
    "FAILED",
    "NOT_ATTEMPTED",
    "PARTIAL",
    "PASSED",
    "ChoiceDrill",
    "Drill",
    "ExperimentDrill",
    "FunctionDrill",
    "Mistake",
    "ModuleDrill",
    "MultipartDrill",
    "NumericDrill",
    "NumericMistake",
    "Option",
    "Probe",
    "Question",
    "Result",
    "all_drills",
    "check",
    "current_seeds",
    "exam",
    "formula_sheet",
    "get_drill",
    "hint",
    "list",
    "list_drills",
    "progress",
    "prompt",
    "question",
    "register",
    "review",
    "solution",
    "use",
]
