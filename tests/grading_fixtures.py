"""Made-up submissions for ``tests/test_grading.py``, built programmatically with nbformat.

Each ``*_notebook`` function returns a notebook (``nbformat.NotebookNode``) answering the
chapter 03/04 drills ``kl_divergence``, ``kl_zero_case`` and ``reparameterize`` in some
way; :func:`write` saves one. Most notebooks avoid importing torch at top level so a
kernel starts and finishes in a couple of seconds.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

CORE_DRILLS = ["reparameterize", "kl_divergence", "kl_zero_case"]

KL_CORRECT = '''\
def kl_divergence(mu, log_var):
    """KL(N(mu, exp(log_var)) || N(0, I)) of each example, summed over latent dims: (B,)."""
    return 0.5 * (mu.pow(2) + log_var.exp() - log_var - 1).sum(dim=1)
'''
KL_CORRECT_ALTERNATIVE = """\
def kl_divergence(mu, log_var):
    import torch

    variance = torch.exp(log_var)
    return -0.5 * torch.sum(1 + log_var - mu**2 - variance, dim=-1)
"""
KL_MISSING_HALF = """\
def kl_divergence(mu, log_var):
    return (mu.pow(2) + log_var.exp() - log_var - 1).sum(dim=1)
"""
KL_STUB = """\
def kl_divergence(mu, log_var):
    raise NotImplementedError("Exercise 4.1: return the KL of each example, shape (B,)")
"""
REPARAM_CORRECT = """\
def reparameterize(mu, log_var):
    import torch

    return mu + torch.exp(0.5 * log_var) * torch.randn_like(mu)
"""
REPARAM_STUB = """\
def reparameterize(mu, log_var):
    raise NotImplementedError("Exercise 3.1: z = mu + sigma * eps")
"""
KL_ZERO_CORRECT = "answer_kl_zero = {'kl': 0.0, 'reason': 'c'}"
KL_ZERO_WRONG = "answer_kl_zero = {'kl': 1.0, 'reason': 'a'}"
KL_ZERO_STUB = "answer_kl_zero = ..."
CHECKS = """\
from vae_course import drills

drills.check("kl_divergence", kl_divergence)
"""


def notebook(*cells: str | tuple[str, str], metadata: dict | None = None):
    """A notebook of code cells (strings) and markdown cells (``("markdown", text)``)."""
    built = []
    for cell in cells:
        if isinstance(cell, tuple):
            built.append(new_markdown_cell(cell[1]))
        else:
            built.append(new_code_cell(cell))
    result = new_notebook(cells=built)
    result.metadata.update(metadata or {})
    return result


def write(folder: Path, name: str, content) -> Path:
    """Save a notebook (or raw ``bytes``) as ``folder/name``; returns the path."""
    path = Path(folder) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        nbformat.write(content, str(path))
    return path


# ----------------------------------------------------------------------------- honest work


def correct_notebook(metadata: dict | None = None):
    """Every core drill answered correctly, with the course's usual check/use cells."""
    return notebook(
        ("markdown", "# Chapter 04"),
        REPARAM_CORRECT,
        KL_CORRECT,
        CHECKS,
        'kl_divergence = drills.use("kl_divergence", kl_divergence)',
        KL_ZERO_CORRECT,
        'drills.check("kl_zero_case", answer_kl_zero)',
        metadata=metadata,
    )


def light_correct_notebook(variant: int = 0, metadata: dict | None = None):
    """Correct answers without importing the course in the kernel (fast to run)."""
    kl = KL_CORRECT if variant % 2 == 0 else KL_CORRECT_ALTERNATIVE
    return notebook(REPARAM_CORRECT, kl, KL_ZERO_CORRECT, metadata=metadata)


def student_notebook():
    """The student version: stubs that raise and ``...`` values (nothing attempted)."""
    return notebook(
        REPARAM_STUB, KL_STUB, CHECKS, 'kl_divergence = drills.use("kl_divergence", kl_divergence)',
        KL_ZERO_STUB,
    )  # fmt: skip


def wrong_notebook():
    """A common mistake (the missing ½) and a wrong value."""
    return notebook(REPARAM_CORRECT, KL_MISSING_HALF, KL_ZERO_WRONG)


def kl_only_notebook():
    """Answers the KL drills only: reparameterize is missing."""
    return notebook(KL_CORRECT, KL_ZERO_CORRECT)


def shuffled_notebook():
    """Correct answers in a renamed, duplicated, reordered and merged layout.

    The stub comes first and the solution later (duplicated), the answers share one merged
    cell, the import the function needs comes after it, the value is overwritten, and the
    cells carry unusual ids and tags.
    """
    merged = "\n\n".join(
        [KL_ZERO_WRONG, KL_STUB, "def helper_scale():\n    return HALF\n", REPARAM_STUB]
    )
    solution = (
        "def kl_divergence(mu, log_var):\n"
        "    return helper_scale() * (mu.pow(2) + exp(log_var) - log_var - 1).sum(dim=1)\n\n"
        "def reparameterize(mu, log_var):\n"
        "    return mu + exp(0.5 * log_var) * randn_like(mu)\n"
    )
    result = notebook(
        merged,
        solution,
        "HALF = 1 / 2",
        "from torch import exp, randn_like",
        "for epoch in range(3):\n    print(epoch)",
        KL_ZERO_CORRECT,
    )
    for index, cell in enumerate(result.cells):
        cell["id"] = f"renamed-{index}"
        cell["metadata"]["tags"] = ["my-own-tag"]
    return result


def noisy_notebook():
    """Correct answers, plus warnings and stderr output (which must cost nothing)."""
    return notebook(
        "import sys, warnings\nwarnings.warn('deprecated thing')\nprint('noise', file=sys.stderr)",
        KL_CORRECT,
        "import logging\nlogging.getLogger('x').error('an error message that is not an error')",
        REPARAM_CORRECT,
        KL_ZERO_CORRECT,
    )


def tensor_value_notebook():
    """``answer_kl_zero``'s KL as a 0-d tensor (a plain number for the grader)."""
    return notebook("import torch\nanswer_kl_zero = {'kl': torch.tensor(0.0), 'reason': 'c'}")


def not_plain_value_notebook():
    """``answer_kl_zero`` as a 3-element tensor: not gradable, with a message."""
    return notebook("import torch\nanswer_kl_zero = torch.zeros(3)", KL_CORRECT)


# ----------------------------------------------------------------------------- trouble


def endless_loop_notebook():
    """Answers first, then a cell that never ends, then an answer it never reaches."""
    return notebook(KL_CORRECT, KL_ZERO_CORRECT, "while True:\n    pass", KL_ZERO_WRONG)


def memory_hog_notebook(gigabytes: int):
    """A cell that asks for more memory than the grader allows, between correct answers."""
    return notebook(KL_CORRECT, f"big = bytearray({gigabytes} * 1024**3)", KL_ZERO_CORRECT)


def escape_notebook(secret: Path, other_submission: Path, outside_dir: Path):
    """Tries to read, list, write and delete outside its folder and to run a shell."""
    return notebook(
        KL_CORRECT,
        f"print(open({str(secret)!r}).read())",
        f"print(open({str(other_submission)!r}).read()[:100])",
        f"import os\nprint(os.listdir({str(outside_dir)!r}))",
        f"open({str(outside_dir / 'planted.txt')!r}, 'w').write('x')",
        f"import os\nos.remove({str(secret)!r})",
        f"import shutil\nshutil.rmtree({str(outside_dir)!r})",
        "!cat /etc/hostname",
        "open('/etc/shadow').read()",
        KL_ZERO_CORRECT,
    )


def fake_pass_notebook():
    """Prints and displays a fake 'passed' result for a wrong answer."""
    return notebook(
        KL_MISSING_HALF,
        "print('[PASSED] kl_divergence  5/5')\n"
        "from IPython.display import HTML, display\n"
        "display(HTML('<b>kl_divergence: passed (5/5)</b>'))",
        KL_ZERO_WRONG,
    )


def monkeypatch_notebook():
    """Replaces ``drills.check`` at top level so the notebook shows 'passed' for a wrong answer."""
    return notebook(
        "from vae_course import drills\n"
        "from vae_course.drills import Result\n\n"
        "def always_passed(drill_id, answer, *args, **kwargs):\n"
        "    return Result(drill_id, 'passed', 5, 5, ['All checks passed'])\n\n"
        "drills.check = always_passed",
        KL_MISSING_HALF,
        'drills.check("kl_divergence", kl_divergence)',
        KL_ZERO_CORRECT,
    )


def checker_copy_notebook():
    """Writes its own ``vae_course`` package (always 'passed') and imports it in the kernel."""
    fake = "def check(*args, **kwargs):\n    return 'passed'\n"
    return notebook(
        "import os, sys\n"
        "os.makedirs('vae_course/drills', exist_ok=True)\n"
        "open('vae_course/__init__.py', 'w').write('')\n"
        f"open('vae_course/drills/__init__.py', 'w').write({fake!r})\n"
        "for name in [m for m in sys.modules if m.startswith('vae_course')]:\n"
        "    del sys.modules[name]\n"
        "sys.path.insert(0, os.getcwd())\n"
        "from vae_course import drills\n"
        "print(drills.check('kl_divergence', None))",
        KL_MISSING_HALF,
        KL_ZERO_CORRECT,
    )


def tampering_answer_notebook():
    """A wrong function that, when called by the checker, patches the checker's Result."""
    return notebook(
        "def kl_divergence(mu, log_var):\n"
        "    from vae_course.drills import core\n"
        "    core.Result.__post_init__ = lambda self: setattr(self, 'score', self.max_score)\n"
        "    return mu.sum(dim=1)\n",
        KL_ZERO_CORRECT,
    )


def snooping_answer_notebook(secret: Path):
    """A correct function that also tries to read another file whenever it is called."""
    return notebook(
        "def kl_divergence(mu, log_var):\n"
        "    try:\n"
        f"        open({str(secret)!r}).read()\n"
        "    except PermissionError:\n"
        "        pass\n"
        "    return 0.5 * (mu.pow(2) + log_var.exp() - log_var - 1).sum(dim=1)\n",
        KL_ZERO_CORRECT,
    )
