"""The fixed digit classifier that scores conditional generation, and the script that trains it.

    python -m vae_course.contest.classifier        # train it (once) and print its accuracy

A small CNN (two 3×3 convolutions, max pooling, one hidden layer) trained with a fixed seed
on the contest's training pool (every label) for :data:`EPOCHS` epochs; about 97 % on the
public pool. It is trained once per machine and kept in the course's cache
(``contest/classifier-v1.pt``, written atomically); the grader loads that file, which only
the grader writes. Learners get the same network as a ``torch.export`` program in
``data/classifier.pt2`` (``torch.export.load(path).module()``), to measure their public
score at home.
"""

from __future__ import annotations

import sys
import threading
import warnings

import torch
from torch import nn

VERSION = 1
EPOCHS = 6
_MEMORY: list[nn.Module] = []
_LOCK = threading.Lock()


class DigitClassifier(nn.Module):
    """images (B, 1, 28, 28) in [0, 1] -> logits (B, 10)."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
        )
        self.head = nn.Sequential(nn.Linear(32 * 7 * 7, 64), nn.ReLU(), nn.Linear(64, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def train_classifier() -> DigitClassifier:
    """Train the classifier on the training pool (seeded, one thread)."""
    from .data import digits, pools

    images, labels = digits()
    index = pools()["train"]
    x, y = images[index], labels[index]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            model = DigitClassifier()
            optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
            for _ in range(EPOCHS):
                order = torch.randperm(len(x))
                for start in range(0, len(x), 100):
                    batch = order[start : start + 100]
                    optimizer.zero_grad()
                    nn.functional.cross_entropy(model(x[batch]), y[batch]).backward()
                    optimizer.step()
    finally:
        torch.set_num_threads(threads)
    return model.eval()


def load_classifier() -> DigitClassifier:
    """The classifier: from this process's memory, else the cache, else trained (and cached)."""
    with _LOCK:
        if _MEMORY:
            return _MEMORY[0]
        from vae_course.storage import atomic_torch_save, cache_dir

        path = cache_dir("contest") / f"classifier-v{VERSION}.pt"
        model = DigitClassifier()
        try:
            model.load_state_dict(torch.load(path, weights_only=True))
        except (OSError, RuntimeError, ValueError, EOFError):
            model = train_classifier()
            atomic_torch_save(model.state_dict(), path)
        _MEMORY.append(model.eval())
        return _MEMORY[0]


def accuracy(images: torch.Tensor, labels: torch.Tensor) -> float:
    """The fraction of ``images`` (N, 1, 28, 28) the classifier labels as ``labels`` (N,)."""
    model = load_classifier()
    with torch.no_grad():
        predicted = torch.cat(
            [model(images[i : i + 500]).argmax(1) for i in range(0, len(images), 500)]
        )
    return float((predicted == labels).float().mean())


def save_program(path) -> object:
    """Write the classifier as a ``torch.export`` program (what a learner's notebook loads
    with ``torch.export.load(path).module()``); returns the path."""
    import tempfile
    from pathlib import Path

    from vae_course.storage import atomic_write_bytes

    model = load_classifier()
    batch = torch.export.Dim("batch", min=1)
    with _LOCK, warnings.catch_warnings(), tempfile.TemporaryDirectory() as folder:
        warnings.simplefilter("ignore")
        program = torch.export.export(
            model, (torch.zeros(2, 1, 28, 28),), dynamic_shapes=({0: batch},)
        )
        staged = Path(folder) / "classifier.pt2"
        torch.export.save(program, staged)
        return atomic_write_bytes(path, staged.read_bytes())


def main() -> int:
    """Train (or load) the classifier and print its accuracy on the public pool."""
    from .data import digits, pools

    images, labels = digits()
    index = pools()["public"]
    print(f"classifier accuracy on the public pool: {accuracy(images[index], labels[index]):.3f}")
    return 0


__all__ = ["DigitClassifier", "accuracy", "load_classifier", "save_program", "train_classifier"]

if __name__ == "__main__":  # pragma: no cover - the shipped training script
    sys.exit(main())
