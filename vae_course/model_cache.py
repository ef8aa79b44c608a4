"""The trained-model cache of :func:`vae_course.train.fit`: the key, loading and saving.

A finished run is stored as ``<cache>/models/<Class>-<key>.pt`` (weights and the
:class:`~vae_course.history.History` as plain data, written atomically). The key is a hash
of everything that determines the trained weights:

* the package version and the source of the training code (``train.py``, ``losses.py``,
  ``schedules.py``, ``kl_decomposition.py`` and the ``models`` package), and the source of the model's own module;
* the bytecode of every method of the model's own classes (so editing ``decode`` in a
  notebook cell misses the cache even when the layers stay the same);
* the model's class, ``repr`` and *initial* weights; the training and test data;
* every training setting (a schedule or callable is described without memory addresses).

So a code change never loads a stale model, and a re-run of an unchanged notebook cell
loads in about a second.
"""

from __future__ import annotations

import hashlib
import sys
import types
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from vae_course import __version__, storage
from vae_course._source import source_of
from vae_course.history import History

CACHE_FORMAT = 1
TRAINING_CODE = (
    "train.py",
    "losses.py",
    "schedules.py",
    "kl_decomposition.py",
)  # plus every file of models/


def tensor_digest(tensor: Tensor | None) -> str:
    """SHA-1 of a tensor's shape, dtype and bytes (``"none"`` for None).
    Used by fit's cache, which every chapter's re-run loads from; no chapter calls it.
    """
    if tensor is None:
        return "none"
    flat = tensor.detach().cpu().contiguous().reshape(-1)
    digest = hashlib.sha1(str((tuple(tensor.shape), str(tensor.dtype))).encode())
    if flat.numel():
        digest.update(flat.view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def stable_description(value: Any) -> str:
    """A description that is identical across Python sessions (no memory addresses): the
    ``repr``, or for a function the qualified name, source and closure values.
    Used by fit's cache, which every chapter's re-run loads from; no chapter calls it."""
    text = repr(value)
    if " at 0x" not in text:
        return text
    parts = [getattr(value, "__qualname__", type(value).__qualname__), source_of(value)]
    closure = getattr(value, "__closure__", None) or ()
    parts += [repr(cell.cell_contents) for cell in closure]
    return "|".join(parts)


def _code_digest(code: types.CodeType, digest: Any) -> None:
    """Feed a function's bytecode, names and constants (recursively) into ``digest``."""
    digest.update(code.co_code)
    digest.update(repr((code.co_names, code.co_varnames, code.co_freevars)).encode())
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            _code_digest(constant, digest)
        else:
            digest.update(repr(constant).encode())


def function_digest(function: Any) -> str:
    """SHA-1 of a function's qualified name and bytecode, and of the functions of its own
    module that it calls by name (recursively): editing a notebook's training loop, or a
    helper of the notebook that the loop calls, changes the digest.
    Used by ``fit(loop=...)``'s cache key; no chapter calls it."""
    digest = hashlib.sha1()
    seen: set[int] = set()
    pending = [function]
    while pending:
        current = pending.pop()
        code = getattr(current, "__code__", None)
        if id(current) in seen or not isinstance(code, types.CodeType):
            continue
        seen.add(id(current))
        digest.update(getattr(current, "__qualname__", "?").encode())
        _code_digest(code, digest)
        names, stack = set(), [code]
        while stack:
            part = stack.pop()
            names.update(part.co_names)
            stack += [c for c in part.co_consts if isinstance(c, types.CodeType)]
        scope = getattr(current, "__globals__", {})
        for name in sorted(names):
            value = scope.get(name)
            if callable(value) and getattr(value, "__module__", None) == current.__module__:
                pending.append(value)
        for cell in getattr(current, "__closure__", None) or ():
            try:
                pending.append(cell.cell_contents)
            except ValueError:  # an empty cell
                continue
    return digest.hexdigest()


def _model_code_digest(model: nn.Module) -> str:
    """Digest of the methods of every non-torch class in the model and its submodules.

    Bytecode rather than source, so it also covers classes defined in a notebook cell:
    editing ``forward`` or ``decode`` there changes the key even when the layers do not.
    """
    digest = hashlib.sha1()
    classes = {cls for module in model.modules() for cls in type(module).__mro__}
    for cls in sorted(classes, key=lambda c: (c.__module__, c.__qualname__)):
        if cls.__module__.split(".")[0] in ("torch", "builtins", "typing"):
            continue
        digest.update(f"{cls.__module__}.{cls.__qualname__}".encode())
        for name, member in sorted(vars(cls).items()):
            member = getattr(member, "__func__", member)  # classmethod / staticmethod
            if isinstance(member, property):
                member = member.fget
            code = getattr(member, "__code__", None)
            if isinstance(code, types.CodeType):
                digest.update(name.encode())
                _code_digest(code, digest)
    return digest.hexdigest()


def _code_sources(model: nn.Module) -> str:
    """Digest of the code that determines the trained weights (so edits miss the cache):
    this package's training code, the model's module source (when it is a file) and the
    bytecode of the model's own classes."""
    import vae_course

    package_dir = Path(vae_course.__file__).parent
    names = list(TRAINING_CODE)
    names += sorted(f"models/{p.name}" for p in (package_dir / "models").glob("*.py"))
    texts = []
    for name in names:  # the models package's helpers (networks, checks) are code too
        path = package_dir / name
        texts.append(path.read_text() if path.exists() else "")
    module = sys.modules.get(type(model).__module__)
    texts.append(source_of(module) if module is not None else "")
    texts.append(_model_code_digest(model))
    return hashlib.sha1("\n".join(texts).encode()).hexdigest()


def cache_key(
    model: nn.Module,
    train: tuple[Tensor, Tensor | None],
    test: tuple[Tensor, Tensor | None] | None,
    settings: dict[str, Any],
) -> str:
    """20 hex digits naming one training run: ``model`` before training, the (images, labels)
    of the training and test data (``test`` None when there is none) and the settings.
    Used by fit's cache, which every chapter's re-run loads from; no chapter calls it."""
    test_images, test_labels = (None, None) if test is None else test
    parts = {
        "format": CACHE_FORMAT,
        "version": __version__,
        "code": _code_sources(model),
        "model_class": f"{type(model).__module__}.{type(model).__qualname__}",
        "model_repr": repr(model),
        "initial_state": {k: tensor_digest(v) for k, v in model.state_dict().items()},
        "train_images": tensor_digest(train[0]),
        "train_labels": tensor_digest(train[1]),
        "test_images": tensor_digest(test_images),
        "test_labels": tensor_digest(test_labels),
        "settings": settings,
    }
    return hashlib.sha1(repr(sorted(parts.items())).encode()).hexdigest()[:20]


def cache_path(model: nn.Module, key: str) -> Path:
    """Where the run with ``key`` is stored: ``<cache>/models/<Class>-<key>.pt``.
    Used by fit's cache, which every chapter's re-run loads from; no chapter calls it.
    """
    return storage.cache_dir("models") / f"{type(model).__name__}-{key}.pt"


def load(path: Path, model: nn.Module, device: torch.device) -> History | None:
    """Load weights into ``model`` and return the cached History, or None if unusable.

    A damaged file is set aside (with a warning) so the caller retrains. On success the
    model is on ``device`` in eval mode.
    Used by fit's cache, which every chapter's re-run loads from; no chapter calls it.
    """
    if not path.exists():
        return None
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
        if payload.get("format") != CACHE_FORMAT:
            raise ValueError(f"unknown cache format {payload.get('format')!r}")
        model.load_state_dict(payload["state_dict"])
        history = History.from_dict(payload["history"], from_cache=True)
    except Exception as error:  # any damage means: set aside and retrain
        moved = storage.set_aside(path)
        warnings.warn(
            f"the cached model {path.name} could not be read ({type(error).__name__}: {error}); "
            f"moved it to {moved.name} and retraining",
            RuntimeWarning,
            stacklevel=3,
        )
        return None
    model.to(device)
    model.eval()
    return history


def save(path: Path, model: nn.Module, history: History) -> None:
    """Store the trained weights (on the CPU) and the History at ``path``, atomically.
    Used by fit's cache, which every chapter's re-run loads from; no chapter calls it.
    """
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    payload = {"format": CACHE_FORMAT, "state_dict": state, "history": history.to_dict()}
    storage.atomic_torch_save(payload, path)


__all__ = [
    "CACHE_FORMAT",
    "cache_key",
    "cache_path",
    "function_digest",
    "load",
    "save",
    "stable_description",
    "tensor_digest",
]
