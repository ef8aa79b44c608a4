"""Graded drills with instant feedback.

```python
from vae_course import drills
drills.check("kl_divergence", kl_divergence)   # -> Result (a coloured box in JupyterLab)
drills.check("kl_zero_case", 0.0)
drills.hint("kl_divergence")                   # one more hint per call
drills.solution("kl_divergence")               # worked solution (not in exam mode)
drills.prompt("kl_divergence")                 # the contract and the answer's name
q = drills.question("kl_by_hand")              # your own random numbers
drills.list(chapter=4); drills.progress()      # tables
kl_divergence = drills.use("kl_divergence", kl_divergence)  # yours if it passes
```

Kinds: choice, numeric, implementation (property checks + a mistake catalogue) and
experiment (your measurements checked against your conclusion). ``check`` never raises.
"""

from __future__ import annotations

from .api import check, current_seeds, hint, list_drills, progress, prompt, question, solution, use
from .choice import ChoiceDrill, Option
from .core import (
    FAILED,
    NOT_ATTEMPTED,
    PARTIAL,
    PASSED,
    Drill,
    Result,
    all_drills,
    get_drill,
    register,
)
from .exam import exam as exam  # olympiad practice: timed exams (chapter 09)
from .experiment import ExperimentDrill
from .implementation import FunctionDrill, ImplementationDrill, Mistake, Probe
from .numeric import NumericDrill, NumericMistake
from .question import Question
from .warmup import start as _start_warmup

list = list_drills  # noqa: A001 - the public name is drills.list(...)

_start_warmup()

__all__ = [
    "FAILED",
    "NOT_ATTEMPTED",
    "PARTIAL",
    "PASSED",
    "ChoiceDrill",
    "Drill",
    "ExperimentDrill",
    "FunctionDrill",
    "ImplementationDrill",
    "Mistake",
    "NumericDrill",
    "NumericMistake",
    "Option",
    "Probe",
    "Question",
    "Result",
    "all_drills",
    "check",
    "current_seeds",
    "get_drill",
    "hint",
    "list",
    "list_drills",
    "progress",
    "prompt",
    "question",
    "register",
    "solution",
    "use",
]
