"""Quality check: does ``fit`` train the course's default VAE as well as the PyTorch example?

Run by hand (not in CI; 1 to 4 minutes on 2 cores):

    .venv/bin/python benchmarks/reference_quality.py [--epochs 30] [--seeds 3]

On ``mnist-embedded`` (4 000 train / 1 000 test digits), for each seed:

* ours: ``vae_course.models.VAE()`` (784-400-20) trained by ``vae_course.train.fit`` for 30
  epochs (batch 128, Adam lr 1e-3);
* reference: the pytorch/examples VAE (same architecture, sigmoid decoder,
  ``binary_cross_entropy(reduction="sum")`` + KL, its DataLoader over torchvision's MNIST
  class reading the same digits from IDX files), trained the same way.

Both are scored on the test split by one evaluator: the negative ELBO in nats per example,
averaged over 10 draws of z per image (so the single-sample noise of either score does not
decide the comparison). Each pipeline's own test number is printed too. Pass criterion:
ours is no worse than the reference (within 0.5 nats, the seed-to-seed spread).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pytorch_example import (  # noqa: E402
    ExampleVAE,
    load_mnist_embedded,
    mnist_loader,
    test_loss,
    train_epoch,
    write_mnist_idx,
)

from vae_course import losses  # noqa: E402
from vae_course.models import VAE  # noqa: E402
from vae_course.train import fit  # noqa: E402

TOLERANCE = 0.5  # nats


class ExampleAsLogits(torch.nn.Module):
    """The example's model seen through the course interface: decode returns logits."""

    def __init__(self, example: ExampleVAE) -> None:
        super().__init__()
        self.example = example

    def encode(self, x):
        return self.example.encode(x.reshape(-1, 784))

    def decode(self, z):
        return self.example.fc4(F.relu(self.example.fc3(z))).reshape(-1, 1, 28, 28)


@torch.no_grad()
def negative_elbo(model, images: torch.Tensor, draws: int = 10, seed: int = 0) -> float:
    """Mean over examples and ``draws`` z-samples of -ELBO = -log p(x|z) + KL (nats)."""
    model.eval()
    generator = torch.Generator().manual_seed(seed)
    total = 0.0
    for _ in range(draws):
        mu, log_var = model.encode(images)
        eps = torch.randn(mu.shape, generator=generator)
        logits = model.decode(mu + torch.exp(0.5 * log_var) * eps)
        elbo = losses.bernoulli_log_likelihood(logits, images) - losses.kl_divergence(mu, log_var)
        total += float(-elbo.sum())
    return total / (draws * images.shape[0])


def run_ours(train, test, epochs: int, seed: int) -> tuple[float, float, float]:
    torch.manual_seed(seed)
    model = VAE()
    start = time.perf_counter()
    history = fit(model, train, epochs, batch_size=128, lr=1e-3, seed=seed, test_data=test,
                  cache=False, progress=False, device="cpu")  # fmt: skip
    seconds = time.perf_counter() - start
    return negative_elbo(model, test[0]), -history.last["test_elbo"], seconds


def run_reference(root: Path, test_images, epochs: int, seed: int) -> tuple[float, float, float]:
    torch.manual_seed(seed)
    model = ExampleVAE()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    train_loader = mnist_loader(root, train=True)
    test_loader = mnist_loader(root, train=False, shuffle=False)
    start = time.perf_counter()
    for _ in range(epochs):
        train_epoch(model, optimizer, train_loader)
    own = test_loss(model, test_loader)
    seconds = time.perf_counter() - start
    return negative_elbo(ExampleAsLogits(model), test_images), own, seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    os.environ.pop("VAE_COURSE_FAST", None)

    train, test = load_mnist_embedded()
    # The reference reads 8-bit IDX files; give ours the same 8-bit-quantised pixels.
    train = ((train[0] * 255).round() / 255, train[1])
    test = ((test[0] * 255).round() / 255, test[1])
    print(f"mnist-embedded: {len(train[0])} train / {len(test[0])} test; {args.epochs} epochs, "
          f"batch 128, Adam 1e-3; test negative ELBO in nats (lower is better)")  # fmt: skip
    ours, reference = [], []
    with tempfile.TemporaryDirectory() as tmp:
        root = write_mnist_idx(Path(tmp), train[0], train[1], test[0], test[1])
        for seed in range(args.seeds):
            score, own, seconds = run_ours(train, test, args.epochs, seed)
            ours.append(score)
            print(
                f"seed {seed}  fit       : {score:7.2f}  (its History: {own:7.2f}; {seconds:.1f} s)"
            )
            score, own, seconds = run_reference(root, test[0], args.epochs, seed)
            reference.append(score)
            print(
                f"seed {seed}  reference : {score:7.2f}  (its test(): {own:7.2f}; {seconds:.1f} s)"
            )
    mean_ours, mean_reference = statistics.mean(ours), statistics.mean(reference)
    verdict = "PASS" if mean_ours <= mean_reference + TOLERANCE else "FAIL"
    print(f"mean over {args.seeds} seeds: fit {mean_ours:.2f}, reference {mean_reference:.2f} "
          f"-> {verdict} (fit must be <= reference + {TOLERANCE})")  # fmt: skip
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
