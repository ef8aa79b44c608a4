"""The cache directory and atomic file writes.

Every file the course writes (datasets, trained models, drill progress, gradebooks)
goes through :func:`atomic_write_bytes` or :func:`atomic_torch_save`: the data is
written to a temporary file in the same directory, flushed, then renamed over the
target, so a crash or a full disk never leaves a half-written file behind.
"""

from __future__ import annotations

import io
import os
import tempfile
import time
from pathlib import Path
from typing import Any


def cache_dir(*parts: str) -> Path:
    """Return (and create) the cache directory, or a sub-directory of it.

    ``VAE_COURSE_CACHE`` wins; otherwise the platform's user cache dir
    (``platformdirs.user_cache_dir("vae-course")``).
    Used by the data, model and progress caches of every chapter; no chapter calls it.
    """
    root = os.environ.get("VAE_COURSE_CACHE")
    if root:
        base = Path(root).expanduser()
    else:
        import platformdirs

        base = Path(platformdirs.user_cache_dir("vae-course"))
    path = base.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temp file in the same folder, then rename).
    Used by the data, model and progress caches of every chapter; no chapter calls it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically.
    Used by the data, model and progress caches of every chapter; no chapter calls it.
    """
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_torch_save(obj: Any, path: str | os.PathLike) -> Path:
    """``torch.save`` ``obj`` to ``path`` atomically.
    Used by the data, model and progress caches of every chapter; no chapter calls it.
    """
    import torch

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return atomic_write_bytes(path, buffer.getvalue())


def set_aside(path: str | os.PathLike, reason: str = "corrupt") -> Path:
    """Move a damaged file out of the way (``name.corrupt-<time>``) and return the new path.

    Used when a cache or progress file cannot be read: the file is kept for inspection,
    never silently deleted, and the caller rebuilds from scratch.
    Used by the data, model and progress caches of every chapter; no chapter calls it.
    """
    path = Path(path)
    target = path.with_name(f"{path.name}.{reason}-{time.strftime('%Y%m%d-%H%M%S')}")
    os.replace(path, target)
    return target


__all__ = ["atomic_torch_save", "atomic_write_bytes", "atomic_write_text", "cache_dir", "set_aside"]
