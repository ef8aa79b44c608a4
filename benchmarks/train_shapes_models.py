"""Train chapter 07's reference models and ship their weights with the package.

Run by hand, on idle CPU only (see ``benchmarks/README.md`` for the recorded run), one
process per core with one thread each (on a shared 2-core machine two threads per process
were 3.5x less efficient), e.g.

    nice -n 19 .venv/bin/python benchmarks/train_shapes_models.py --only A B C &
    nice -n 19 .venv/bin/python benchmarks/train_shapes_models.py --only D E F &

For every recipe of :data:`vae_course.reference_models.RECIPES` (BurgessVAE on 64x64
``shapes``; beta-VAE at beta = 4, beta-TCVAE at beta = 6; seeds 0 and 1) it calls
:func:`vae_course.reference_models.retrain` (one ``fit`` call, cached, so an interrupted run
resumes where it stopped), stores the weights as float16 in ``vae_course/weights/NAME.pt``,
measures the float16 model on the fixed test set with
:func:`~vae_course.reference_models.evaluate`, and records configuration, metrics, the
per-epoch training curves and the wall and CPU seconds in
``vae_course/weights/reference_models.json`` (rewritten after every model). Each record
also holds ``"check"``: the same numbers on the first ``N_CHECK`` test images, which
``tests/test_reference_models.py`` reproduces in seconds.

``--measure-only`` trains nothing: it measures the shipped weights again and rewrites only
``metrics``, ``mi_matrix`` and ``check`` of their records (e.g. after a change to the
evaluation code).
"""

from __future__ import annotations

import argparse
import fcntl
import io
import json
import os
import platform
import time

import torch

from vae_course import config, reference_models, storage
from vae_course.reference_models import MANIFEST_FORMAT, MANIFEST_PATH, RECIPES, WEIGHTS_DIR


def _machine() -> dict[str, object]:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            names = [
                line.split(":", 1)[1].strip() for line in info if line.startswith("model name")
            ]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "nice": os.nice(0),
    }


def _read_manifest() -> dict:
    if MANIFEST_PATH.exists():
        return json.loads(MANIFEST_PATH.read_text(encoding="utf-8"))
    return {"format": MANIFEST_FORMAT, "models": {}}


def _record(name: str, record: dict, *, replace: bool = True) -> None:
    """Add one model's record to the manifest (``replace=False``: update its entries), under
    a lock: several runs (e.g. one per core, ``--threads 1``) may finish models at once."""
    with open(storage.cache_dir() / "train_shapes_models.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        manifest = _read_manifest()
        manifest["format"] = MANIFEST_FORMAT
        manifest["data"] = {
            "image_size": reference_models.IMAGE_SIZE,
            "n_train": reference_models.N_TRAIN,
            "train_seed": reference_models.TRAIN_SEED,
            "n_test": reference_models.N_TEST,
            "test_seed": reference_models.TEST_SEED,
        }
        models = dict(manifest.get("models", {}))
        models[name] = record if replace else {**models.get(name, {}), **record}
        manifest["models"] = {n: models[n] for n in RECIPES if n in models}
        text = json.dumps(manifest, indent=1) + "\n"
        storage.atomic_write_bytes(MANIFEST_PATH, text.encode("utf-8")).chmod(0o644)


def measure(name: str) -> dict:
    """The shipped (float16) weights of ``name`` measured on the test set and the check set:
    the ``metrics``, ``mi_matrix`` and ``check`` entries of its record."""
    model = reference_models.load(name).model
    metrics = reference_models.evaluate(model)
    check = reference_models.evaluate(model, *reference_models.check_set())
    return {
        "metrics": {k: v for k, v in metrics.items() if k != "mi_matrix"},
        "mi_matrix": metrics["mi_matrix"],
        "check": {"n_images": reference_models.N_CHECK}
        | {k: v for k, v in check.items() if k != "mi_matrix"},
    }


def train_one(name: str) -> dict:
    """Train (or load from the fit cache), save float16 weights, measure; the manifest record."""
    wall, cpu = time.perf_counter(), time.process_time()
    model, history = reference_models.retrain(name, progress=False)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    state = {k: v.detach().to(torch.float16).contiguous() for k, v in model.state_dict().items()}
    buffer = io.BytesIO()
    torch.save(state, buffer)
    path = storage.atomic_write_bytes(WEIGHTS_DIR / f"{name}.pt", buffer.getvalue())
    path.chmod(0o644)  # package data: readable by everyone
    _record(name, {"file": f"{name}.pt"}, replace=False)  # so that load() finds the weights
    return {
        "config": RECIPES[name].config(),
        "file": f"{name}.pt",
        **measure(name),
        "history": history.epochs,
        "seconds": {
            "train_wall": round(history.train_seconds, 1),
            "this_run_wall": round(wall, 1),
            "this_run_cpu": round(cpu, 1),
            "from_fit_cache": history.from_cache,
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="*", default=None, help="recipe names (default: all)")
    parser.add_argument(
        "--measure-only", action="store_true", help="measure the shipped weights, train nothing"
    )
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads (1 per process on a shared CPU)"
    )
    args = parser.parse_args()
    if config.fast_mode():
        parser.error("VAE_COURSE_FAST is set: fast mode would train and ship toy weights")
    torch.set_num_threads(args.threads)
    names = args.only or list(RECIPES)
    unknown = [n for n in names if n not in RECIPES]
    if unknown:
        parser.error(f"unknown recipes {unknown}; choose from {list(RECIPES)}")
    WEIGHTS_DIR.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    for name in names:
        if args.measure_only:
            _record(name, measure(name), replace=False)
            record = reference_models.manifest()["models"][name]
        else:
            print(f"{name}: training ...", flush=True)
            record = train_one(name)
            record["machine"] = _machine()
            _record(name, record)
        m, s = record["metrics"], record["seconds"]
        print(
            f"{name}: MIG {m['mig']:.3f}, rate {m['rate']:.1f}, distortion {m['distortion']:.1f}, "
            f"active {m['active_units']}; {s['this_run_wall'] / 60:.1f} min wall, "
            f"{s['this_run_cpu'] / 60:.1f} min CPU",
            flush=True,
        )
    total = sum(p.stat().st_size for p in WEIGHTS_DIR.glob("*.pt"))
    print(f"done in {(time.perf_counter() - started) / 60:.1f} min; weights {total / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
