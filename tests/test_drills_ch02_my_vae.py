"""The ``my_vae`` drill (chapter 02): each catalogued mistake is rejected with its own message,
honest alternatives pass, and odd answers (not a class, raising, hanging) get a clear Result."""

from __future__ import annotations

import time

import pytest
import torch
from torch import nn

from vae_course import drills
from vae_course.drills import timed
from vae_course.drills.catalogue import ch02_my_vae

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("VAE_COURSE_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("VAE_COURSE_MODE", raising=False)


class ChunkedHeadVAE(nn.Module):
    """One Linear producing 2 * latent_dim, split into (mu, log_var) with chunk."""

    def __init__(self, latent_dim):
        super().__init__()
        self.latent_dim = latent_dim
        self.encoder = nn.Sequential(
            nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 2 * latent_dim)
        )
        self.decoder = nn.Sequential(
            nn.Linear(latent_dim, 256), nn.ReLU(), nn.Linear(256, 784), nn.Unflatten(1, (1, 28, 28))
        )

    def encode(self, x):
        mu, log_var = self.encoder(x).chunk(2, dim=1)
        return mu, log_var

    def reparameterize(self, mu, log_var):
        return mu + (0.5 * log_var).exp() * torch.randn_like(log_var)

    def decode(self, z):
        return self.decoder(z)

    def forward(self, x):
        mu, log_var = self.encode(x)
        return self.decode(self.reparameterize(mu, log_var)), mu, log_var


class ExplicitLayersVAE(nn.Module):
    """Explicit layers, two hidden layers with tanh, torch.distributions' rsample."""

    def __init__(self, latent_dim):
        super().__init__()
        self.latent_dim = latent_dim
        self.fc1 = nn.Linear(784, 300)
        self.fc2 = nn.Linear(300, 100)
        self.fc_mu = nn.Linear(100, latent_dim)
        self.fc_log_var = nn.Linear(100, latent_dim)
        self.fc3 = nn.Linear(latent_dim, 100)
        self.fc4 = nn.Linear(100, 784)

    def encode(self, x):
        h = torch.tanh(self.fc2(torch.tanh(self.fc1(x.reshape(x.shape[0], -1)))))
        return self.fc_mu(h), self.fc_log_var(h)

    def reparameterize(self, mu, log_var):
        return torch.distributions.Normal(mu, torch.exp(0.5 * log_var)).rsample()

    def decode(self, z):
        return self.fc4(torch.relu(self.fc3(z))).reshape(-1, 1, 28, 28)

    def forward(self, x):
        mu, log_var = self.encode(x)
        z = self.reparameterize(mu, log_var)
        return self.decode(z), mu, log_var


class ConvVAE(nn.Module):
    """A convolutional encoder and a transposed-convolution decoder; sigma via sqrt(exp)."""

    def __init__(self, latent_dim):
        super().__init__()
        self.latent_dim = latent_dim
        self.conv = nn.Sequential(
            nn.Conv2d(1, 8, 4, stride=2, padding=1),
            nn.LeakyReLU(),
            nn.Conv2d(8, 16, 4, stride=2, padding=1),
            nn.LeakyReLU(),
            nn.Flatten(),
        )
        self.mu = nn.Linear(16 * 7 * 7, latent_dim)
        self.log_var = nn.Linear(16 * 7 * 7, latent_dim)
        self.up = nn.Sequential(
            nn.Linear(latent_dim, 16 * 7 * 7),
            nn.Unflatten(1, (16, 7, 7)),
            nn.ReLU(),
            nn.ConvTranspose2d(16, 8, 4, stride=2, padding=1),
            nn.ReLU(),
            nn.ConvTranspose2d(8, 1, 4, stride=2, padding=1),
        )

    def encode(self, x):
        h = self.conv(x)
        return self.mu(h), self.log_var(h)

    def reparameterize(self, mu, log_var):
        eps = torch.randn(mu.shape, device=mu.device, dtype=mu.dtype)
        return mu + torch.sqrt(torch.exp(log_var)) * eps

    def decode(self, z):
        return self.up(z)

    def forward(self, x):
        mu, log_var = self.encode(x)
        return self.decode(self.reparameterize(mu, log_var)), mu, log_var


ALTERNATIVES = [ChunkedHeadVAE, ExplicitLayersVAE, ConvVAE]


def test_the_catalogue_has_the_named_mistakes():
    ids = {m.id for m in ch02_my_vae.MY_VAE_MISTAKES}
    assert len(ids) >= 8
    assert {
        "relu_log_var",
        "sigmoid_log_var",
        "softplus_log_var",
        "sigmoid_decoder",
        "shared_head",
        "forward_decodes_mean",
        "fixed_latent_size",
        "flat_decoder",
        "std_is_exp_log_var",
        "fixed_noise",
    } <= ids


@pytest.mark.parametrize("mistake", ch02_my_vae.MY_VAE_MISTAKES, ids=lambda m: m.id)
def test_each_mistake_is_rejected_with_its_own_message(mistake):
    result = drills.check("my_vae", mistake.implementation, record=False)
    assert result.status == "failed" and result.score == 0
    assert result.feedback[0] == mistake.message, result.feedback


@pytest.mark.parametrize("cls", ALTERNATIVES, ids=lambda c: c.__name__)
def test_honest_alternatives_pass(cls):
    result = drills.check("my_vae", cls, record=False)
    assert result.passed, result.feedback


def test_an_instance_or_a_function_gets_a_clear_message():
    instance = drills.check("my_vae", ChunkedHeadVAE(3), record=False)
    assert instance.status == "failed" and "pass the class itself" in instance.feedback[0]
    function = drills.check("my_vae", lambda x: x, record=False)
    assert function.status == "failed" and "MyVAE" in function.feedback[0]


class _RaisingVAE(ChunkedHeadVAE):
    def decode(self, z):
        raise RuntimeError("mat1 and mat2 shapes cannot be multiplied")


class _StubVAE(ChunkedHeadVAE):
    def encode(self, x):
        raise NotImplementedError("Exercise 2.2: encode")


def test_a_raising_method_is_reported_not_raised():
    result = drills.check("my_vae", _RaisingVAE, record=False)
    assert result.status == "failed"
    assert any("mat1 and mat2" in line for line in result.feedback), result.feedback


def test_a_stub_is_not_attempted():
    assert drills.check("my_vae", _StubVAE, record=False).status == "not attempted"


class _HangingVAE(ChunkedHeadVAE):
    def reparameterize(self, mu, log_var):
        time.sleep(100)


def test_a_hanging_method_is_stopped(monkeypatch):
    monkeypatch.setattr(timed, "CALL_LIMIT_S", 1.0)
    result = drills.check("my_vae", _HangingVAE, record=False)
    assert result.status == "failed"
    assert any("still running after" in line for line in result.feedback), result.feedback


def test_use_hands_out_a_model_with_the_contract_when_the_answer_fails():
    model_class = drills.use("my_vae", ch02_my_vae.SharedHead)
    model = model_class(3)
    logits, mu, log_var = model(torch.rand(2, 1, 28, 28))
    assert logits.shape == (2, 1, 28, 28) and mu.shape == log_var.shape == (2, 3)
    assert drills.use("my_vae", ChunkedHeadVAE) is ChunkedHeadVAE
