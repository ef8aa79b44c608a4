"""Small data and models shared by the tests of train, history, model_cache, divergence and
training_data: 8x8 bar images and a tiny VAE that trains in a fraction of a second."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from vae_course.history import History
from vae_course.models import VAE
from vae_course.train import fit

SHAPE = (1, 8, 8)


def bars(count: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Synthetic 8x8 images in [0, 1]: a bright horizontal (label 0) or vertical (label 1)
    bar at a random position, plus a little noise. Returns (images (N,1,8,8), labels (N,))."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 2, (count,), generator=generator)
    where = torch.randint(0, 8, (count,), generator=generator)
    images = 0.1 * torch.rand(count, *SHAPE, generator=generator)
    for i in range(count):
        if labels[i] == 0:
            images[i, 0, where[i], :] = 0.9
        else:
            images[i, 0, :, where[i]] = 0.9
    return images, labels


def tiny_vae(seed: int = 0, latent_dim: int = 3) -> VAE:
    torch.manual_seed(seed)
    return VAE(latent_dim=latent_dim, hidden_dims=(32,), input_shape=SHAPE)


def metrics_without_time(history: History) -> list[dict]:
    return [{k: v for k, v in row.items() if k != "seconds"} for row in history.epochs]


def fit_quiet(model, data, epochs=2, **kwargs):
    kwargs.setdefault("progress", False)
    kwargs.setdefault("batch_size", 32)
    return fit(model, data, epochs, **kwargs)


def hand_written_loop(model, optimizer, batches, schedule, epochs):
    """A correct chapter 5 training loop written from scratch, as a learner would (the drill
    refuses the package's own loop; ``fit(loop=...)`` takes any loop of this contract)."""
    history, step = [], 0
    for _ in range(epochs):
        for x in batches:
            beta = float(schedule(step))
            logits, mu, log_var = model(x)[:3]
            rec = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / len(x)
            kl = (0.5 * (mu**2 + log_var.exp() - log_var - 1)).sum(dim=1).mean()
            optimizer.zero_grad()
            (rec + beta * kl).backward()
            optimizer.step()
            history.append(
                {"beta": beta, "loss": (rec + beta * kl).item(), "reconstruction": rec.item(),
                 "kl": kl.item()}
            )  # fmt: skip
            step += 1
    return history
