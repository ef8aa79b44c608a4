"""Tiny VAEs the harness drills build from a probe's seed (not drills: no ``DRILLS`` here).

Both follow the course's model interface: ``encode(x) -> (mu, log_var)`` (each (B, d)),
``decode(z) -> logits`` (B, 1, 28, 28) and ``forward(x) -> (logits, mu, log_var, z)``, the
order of :class:`vae_course.models.VAEOutput` (a learner's ``model(x)[:3]`` works on both).
They live with the drills' observing code, so the grader's sandbox has them.
"""

from __future__ import annotations

import torch
from torch import nn

PIXELS = 784


class TinyVAE(nn.Module):
    """784 → (mu, log_var) of size ``latent_dim`` → 784, one linear layer each way.

    ``forward`` draws ε with ``torch.randn_like`` (a real sample); with
    ``fixed_noise=True`` ε = sin(50 · x P) for a fixed random projection P instead, so that
    two forward passes on the same batch give the same z (a training loop observed on it
    is deterministic however often it calls the model).
    """

    def __init__(self, latent_dim: int = 3, seed: int = 0, fixed_noise: bool = False) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.fixed_noise = fixed_noise
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.enc = nn.Linear(PIXELS, 2 * latent_dim)
            self.dec = nn.Linear(latent_dim, PIXELS)
            with torch.no_grad():
                self.enc.weight.mul_(3.0)  # codes that differ clearly between images
            self.register_buffer("projection", torch.randn(PIXELS, latent_dim))

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.enc(x.reshape(x.shape[0], -1))
        return h[:, : self.latent_dim], h[:, self.latent_dim :]

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.dec(z).reshape(-1, 1, 28, 28)

    def forward(self, x: torch.Tensor):
        mu, log_var = self.encode(x)
        if self.fixed_noise:
            eps = torch.sin(50.0 * x.reshape(x.shape[0], -1) @ self.projection)
        else:
            eps = torch.randn_like(mu)
        z = mu + torch.exp(0.5 * log_var) * eps
        return self.decode(z), mu, log_var, z


def parameters_of(model: nn.Module) -> torch.Tensor:
    """Every parameter, flattened into one float64 vector (for "how far did it move")."""
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()]).double()


__all__ = ["TinyVAE", "parameters_of"]
