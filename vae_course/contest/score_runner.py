"""Run a submission's saved model on the inputs of a split: the scorer inside the sandbox.

``python score_runner.py JOB FD``: the grader copies this file into a fresh sandbox, after
the notebook's run has ended, with the job (the statements that rebuild the notebook's
``Model`` class, from :class:`vae_course.grading.notebook_code.NotebookCode`), the saved
``submission.pt`` and the split's inputs. It imports nothing from ``vae_course`` (the
package is not there). It

1. loads the state dict with ``torch.load(weights_only=True)`` and reports its parameter
   count *before any learner code runs* (so no learner code can change that report);
2. rebuilds ``Model``, builds ``Model()``, loads the state dict strictly, eval mode;
3. runs the job's method on the inputs and reports the outputs as float64 arrays (the
   tagged JSON of :mod:`vae_course.drills.codec`), never as a pickle.

The grader decodes the reports without running anything and computes the metric itself,
with the answers (anomaly labels) that never enter this sandbox.
"""

from __future__ import annotations

import base64
import json
import linecache
import os
import sys
import types

BATCH = 250


def _array(tensor) -> dict:
    import numpy as np

    array = np.ascontiguousarray(tensor.detach().cpu().double().numpy(), dtype="<f8")
    return {
        "$": "array",
        "shape": list(array.shape),
        "data": base64.b64encode(array.tobytes()).decode(),
    }


def _send(out, **fields) -> None:
    out.write(json.dumps(fields) + "\n")
    out.flush()


def _rebuild(job: dict):
    module = types.ModuleType("submission")
    module.__file__ = "<submission>"
    sys.modules["submission"] = module
    for filename, source in job["cells"].items():
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    errors = []
    pending = list(job["units"])
    while pending:
        failed = []
        for unit in pending:
            try:
                exec(compile(unit["code"], unit["filename"], "exec"), module.__dict__)
            except BaseException as error:  # noqa: BLE001 - learner code may raise anything
                failed.append(unit)
                errors.append(f"cell {unit['cell']}: {type(error).__name__}: {str(error)[:200]}")
        if len(failed) == len(pending):
            break
        pending = failed
    return module.__dict__.get("Model"), errors


def _batched(fn, *tensors):
    import torch

    parts = [fn(*(t[i : i + BATCH] for t in tensors)) for i in range(0, len(tensors[0]), BATCH)]
    if isinstance(parts[0], tuple | list):
        return tuple(torch.cat([p[k] for p in parts]) for k in range(len(parts[0])))
    return torch.cat(parts)


def main(job_path: str, out_fd: int) -> int:
    out = os.fdopen(out_fd, "w", encoding="utf-8")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # the model's prints go nowhere
    with open(job_path, encoding="utf-8") as handle:
        job = json.load(handle)
    import torch

    torch.set_num_threads(1)
    try:
        state = torch.load(job["submission"], map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - not a file torch can read safely
        _send(out, stage="load", error=f"{type(error).__name__}: {str(error)[:300]}")
        return 0
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        _send(
            out, stage="load", error="submission.pt does not hold a state dict (names -> tensors)"
        )
        return 0
    count = sum(v.numel() for v in state.values() if v.is_floating_point())
    _send(out, stage="parameters", parameters=int(count))
    Model, errors = _rebuild(job)
    if Model is None:
        _send(
            out, stage="build", error="no `Model` class could be rebuilt: " + "; ".join(errors[:3])
        )
        return 0
    try:
        model = Model()
        model.load_state_dict(state, strict=True)
        model.eval()
    except Exception as error:  # noqa: BLE001 - the learner's class
        _send(
            out,
            stage="build",
            error=f"Model() or load_state_dict failed: {type(error).__name__}: {str(error)[:300]}",
        )
        return 0
    inputs = torch.load(job["inputs"], map_location="cpu", weights_only=True)
    outputs = {}
    try:
        with torch.no_grad():
            for split, values in inputs.items():
                if job["method"] == "score":
                    outputs[split] = {"scores": _batched(model.score, values["images"])}
                elif job["method"] == "encode":
                    mu, log_var = _batched(model.encode, values["images"])
                    outputs[split] = {"mu": mu, "log_var": log_var}
                elif job["method"] == "decode":
                    outputs[split] = {"logits": _batched(model.decode, values["z"])}
                else:
                    torch.manual_seed(int(values["noise_seed"]))
                    outputs[split] = {"images": model.generate(values["labels"])}
    except Exception as error:  # noqa: BLE001 - the learner's method
        _send(
            out,
            stage="run",
            error=f"{job['method']} raised {type(error).__name__}: {str(error)[:300]}",
        )
        return 0
    encoded = []  # the codec's tagged dicts: {"$": "dict", "v": [[key, value], ...]}
    for split, values in outputs.items():
        entries = []
        for name, value in values.items():
            if not isinstance(value, torch.Tensor):
                kind = type(value).__name__
                _send(out, stage="run", error=f"{job['method']} returned a {kind}, not tensors")
                return 0
            entries.append([name, _array(value)])
        encoded.append([split, {"$": "dict", "v": entries}])
    _send(out, stage="outputs", outputs={"$": "dict", "v": encoded})
    return 0


if __name__ == "__main__":  # pragma: no cover - runs inside the sandbox
    sys.exit(main(sys.argv[1], int(sys.argv[2])))
