"""Seconds per training epoch: ``vae_course.train.fit`` vs the standard PyTorch pipeline.

Run by hand or with ``make bench`` (never a test; timings depend on the machine):

    .venv/bin/python benchmarks/train_throughput.py [--examples 60000] [--repeats 1]

Both train the same 784-400-20 VAE (Adam, lr 1e-3, batch 128) for one epoch on 60 000
MNIST-sized images (the 5 000 ``mnist-embedded`` digits tiled 12 times), on the CPU:

(a) ``fit(model, images, 1, cache=False, progress=False, test_data=None)``: in-memory
    tensor, seeded permutation, batches by indexing;
(b) the pytorch/examples VAE: images written as MNIST IDX files and read back through
    ``torchvision.datasets.MNIST(transform=ToTensor())`` + ``DataLoader(batch_size=128,
    shuffle=True)``, one PIL image per item, with the example's model and loss.

It also measures the CPU's matmul rate for the layer shapes at batch 128 and reports fit's
share of that roofline: epoch FLOPs ~ 3 (forward + backward) x 2 x sum_layers(in x out) x N.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pytorch_example import (  # noqa: E402
    ExampleVAE,
    load_mnist_embedded,
    mnist_loader,
    train_epoch,
    write_mnist_idx,
)

from vae_course.models import VAE  # noqa: E402
from vae_course.train import fit  # noqa: E402

LAYERS = [(784, 400), (400, 20), (400, 20), (20, 400), (400, 784)]  # (in, out) of 784-400-20


def digits(examples: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``examples`` MNIST-sized images (N, 1, 28, 28) in [0, 1]: mnist-embedded, tiled."""
    (train_x, train_y), (test_x, test_y) = load_mnist_embedded()
    images, labels = torch.cat([train_x, test_x]), torch.cat([train_y, test_y])
    reps = -(-examples // images.shape[0])
    return images.repeat(reps, 1, 1, 1)[:examples].contiguous(), labels.repeat(reps)[:examples]


def epoch_flops(examples: int) -> float:
    """3 (forward, grad wrt input, grad wrt weights) x 2 x sum(in x out) multiply-adds x N."""
    return 3 * 2 * sum(i * o for i, o in LAYERS) * examples


def matmul_rate(batch: int = 128, seconds: float = 1.5) -> float:
    """FLOP/s of torch matmuls with the shapes of one training step of the model."""
    operands = []
    for d_in, d_out in LAYERS:
        x, w, g = torch.randn(batch, d_in), torch.randn(d_out, d_in), torch.randn(batch, d_out)
        operands.append((x, w, g))

    def one_step() -> None:
        for x, w, g in operands:
            torch.nn.functional.linear(x, w)  # forward (B, in) -> (B, out)
            g @ w  # gradient wrt the input (B, in)
            g.T @ x  # gradient wrt the weights (out, in)

    for _ in range(20):
        one_step()
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        one_step()
        steps += 1
    elapsed = time.perf_counter() - start
    return steps * 3 * 2 * sum(i * o for i, o in LAYERS) * batch / elapsed


def time_fit(images: torch.Tensor) -> tuple[float, float]:
    """(wall seconds of the fit call, seconds of its epoch as recorded in the History)."""
    torch.manual_seed(0)
    model = VAE()
    start = time.perf_counter()
    history = fit(model, images, 1, cache=False, progress=False, test_data=None, device="cpu")
    return time.perf_counter() - start, history.last["seconds"]


def time_dataloader(root: Path, with_training: bool) -> float:
    torch.manual_seed(0)
    loader = mnist_loader(root, train=True)
    start = time.perf_counter()
    if with_training:
        model = ExampleVAE()
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        train_epoch(model, optimizer, loader)
    else:
        for _batch in loader:
            pass
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=60_000)
    parser.add_argument("--repeats", type=int, default=3, help="best of this many runs")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    os.environ.pop("VAE_COURSE_FAST", None)  # the benchmark always uses the full data

    images, labels = digits(args.examples)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU; "
        f"{images.shape[0]} images 28x28, one epoch, batch 128"
    )
    fit(VAE(), images[:2048], 1, cache=False, progress=False, test_data=None, device="cpu")

    rates = [matmul_rate()]
    fit_wall, fit_epoch, example, loading = [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        root = write_mnist_idx(Path(tmp), images, labels, images[:100], labels[:100])
        for _ in range(args.repeats):  # interleaved, best of each: the machine may be shared
            wall, epoch = time_fit(images)
            fit_wall.append(wall)
            fit_epoch.append(epoch)
            example.append(time_dataloader(root, with_training=True))
            loading.append(time_dataloader(root, with_training=False))
            rates.append(matmul_rate())
    rate = max(rates)
    fit_s, fit_epoch_s = min(fit_wall), min(fit_epoch)
    example_s, loading_s = min(example), min(loading)
    flops = epoch_flops(images.shape[0])
    roofline_s = flops / rate

    print(
        f"(a) fit, in-memory batches     : {fit_s:6.2f} s/epoch "
        f"(the epoch itself {fit_epoch_s:.2f} s; the rest is input checks)"
    )
    print(
        f"(b) DataLoader + ToTensor      : {example_s:6.2f} s/epoch "
        f"(reading the DataLoader alone: {loading_s:.2f} s)"
    )
    print(f"speed-up of fit                : {example_s / fit_s:6.2f}x  (target >= 4x)")
    print(
        f"matmul rate, batch-128 shapes  : {rate / 1e9:6.1f} GFLOP/s -> "
        f"roofline {roofline_s:.2f} s/epoch ({flops / 1e9:.0f} GFLOP)"
    )
    print(f"fit's share of the roofline    : {roofline_s / fit_s:6.1%}  (target >= 60%)")
    print(
        f"bound on the speed-up          : {example_s / roofline_s:6.2f}x if fit ran at the "
        "roofline (the baseline's own compute is most of its time)"
    )
    print(f"(times: best of {args.repeats}; matmul rate: best of {len(rates)} windows of 1.5 s)")
    if max(rates) > 1.5 * min(rates):
        print(
            f"WARNING: the matmul rate varied from {min(rates) / 1e9:.0f} to "
            f"{max(rates) / 1e9:.0f} GFLOP/s during the run: the machine is busy and these "
            "numbers are unreliable; run again when it is idle"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
