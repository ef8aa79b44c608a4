"""The drill ``latent_traversal`` (chapter 07) and its reference: each catalogued mistake
is rejected with its own message (also in tests/test_drills_catalogue.py, on other seeds),
honest alternatives pass, and odd answers get a clear failing Result, never an exception."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from vae_course import disentanglement, drills, models
from vae_course.drills import timed
from vae_course.drills.catalogue import ch07_traversal

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
MISTAKES = ch07_traversal.TRAVERSAL_MISTAKES


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("VAE_COURSE_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("VAE_COURSE_MODE", raising=False)


def check(answer):
    return drills.check("latent_traversal", answer, record=False)


# ----------------------------------------------------------------------------- alternatives


@torch.no_grad()
def _lt_repeat(model, x, dim, values):
    mu, _ = model.encode(x.unsqueeze(0))
    codes = mu.repeat(len(values), 1)
    codes[:, dim] = values
    return torch.sigmoid(model.decode(codes)).reshape(len(values), *x.shape)


def _lt_loop(model, x, dim, values):
    mu = model.encode(x[None])[0][0]
    images = []
    for value in values:
        z = mu.clone()
        z[dim] = value
        images.append(torch.sigmoid(model.decode(z[None]))[0])
    return torch.stack(images).detach()


def _lt_mask(model, x, dim, values):
    mu = model(x.unsqueeze(0)).mu  # (1, d); forward also samples, which is not used
    mask = F.one_hot(torch.tensor(dim), mu.shape[1]).to(mu.dtype)
    codes = mu * (1 - mask) + values.unsqueeze(1) * mask
    logits = model.decode(codes)
    return (1 / (1 + torch.exp(-logits))).view(len(values), *x.shape)


def _lt_where(model, x, dim, values):
    mu, _ = model.encode(x.reshape(1, -1))
    columns = torch.arange(mu.shape[1]).expand(len(values), -1)
    codes = torch.where(columns == dim, values[:, None], mu.expand(len(values), -1))
    return torch.sigmoid(model.decode(codes)).reshape((len(values),) + tuple(x.shape))


@pytest.mark.parametrize("answer", [_lt_repeat, _lt_loop, _lt_mask, _lt_where])
def test_honest_alternatives_pass(answer):
    result = check(answer)
    assert result.passed and result.score == result.max_score, result.feedback


# ----------------------------------------------------------------------------- mistakes


def test_the_catalogue_has_at_least_eight_distinct_mistakes():
    assert len(MISTAKES) >= 8
    assert len({m.message for m in MISTAKES}) == len(MISTAKES)
    assert len({m.id for m in MISTAKES}) == len(MISTAKES)


@pytest.mark.parametrize("mistake", MISTAKES, ids=lambda m: m.id)
def test_each_mistake_is_rejected_with_its_own_message(mistake):
    result = check(mistake.implementation)
    assert result.status == "failed" and result.score == 0
    assert result.feedback[0] == mistake.message, result.feedback


def test_a_sampling_traversal_is_caught_however_it_samples():
    """Sampling with the model's own reparameterize (not randn_like) is still 'a sample'."""

    def sampled(model, x, dim, values):
        mu, log_var = model.encode(x.unsqueeze(0))
        codes = model.reparameterize(mu, log_var).repeat(len(values), 1)
        codes[:, dim] = values
        return torch.sigmoid(model.decode(codes)).reshape(len(values), *x.shape)

    result = check(sampled)
    assert not result.passed
    assert "posterior mean" in result.feedback[0]


# ----------------------------------------------------------------------------- odd answers


def test_odd_answers_get_a_clear_result():
    assert "function" in check(torch.zeros(3)).feedback[0]

    def raises(model, x, dim, values):
        raise KeyError("oops")

    result = check(raises)
    assert result.status == "failed" and "KeyError" in " ".join(result.feedback)

    def stub(model, x, dim, values):
        raise NotImplementedError("Exercise 7.3")

    assert check(stub).status == "not attempted"

    def returns_list(model, x, dim, values):
        return [0.5] * len(values)

    assert check(returns_list).status == "failed"


def test_a_hanging_answer_is_stopped(monkeypatch):
    monkeypatch.setattr(timed, "CALL_LIMIT_S", 1.0)

    def endless(model, x, dim, values):
        while True:
            pass

    result = check(endless)
    assert result.status == "failed" and "still running after" in result.feedback[0]


def test_the_answer_does_not_see_a_different_model_than_the_reference():
    """The harness seeds the model, the image and the torch RNG: two runs agree."""
    first = ch07_traversal.run_traversal(_lt_repeat, 3, 1, torch.tensor([0.5, -1.0]))
    again = ch07_traversal.run_traversal(_lt_repeat, 3, 1, torch.tensor([0.5, -1.0]))
    assert torch.equal(first, again)


# ----------------------------------------------------------------------------- the reference


def test_the_reference_sets_one_dimension_of_the_mean_code():
    torch.manual_seed(0)
    model = models.VAE(latent_dim=5, hidden_dims=(32,), input_shape=(1, 8, 8)).eval()
    x = torch.rand(1, 8, 8)
    values = torch.tensor([-2.0, 0.0, 3.0])
    images = disentanglement.latent_traversal(model, x, 2, values)
    assert images.shape == (3, 1, 8, 8) and not images.requires_grad
    assert float(images.min()) >= 0 and float(images.max()) <= 1
    mu, _ = model.encode(x.unsqueeze(0))
    # setting the dimension to its own mean value gives the reconstruction of x
    own = disentanglement.latent_traversal(model, x, 2, mu[0, 2:3].detach())
    expected = torch.sigmoid(model.decode(mu)).detach()
    assert torch.allclose(own, expected, atol=1e-6)
    # the traversal does not depend on the noise (it uses the mean, not a sample)
    assert torch.equal(images, disentanglement.latent_traversal(model, x, 2, values))
    # different values give different images; a different dimension gives others again
    assert not torch.allclose(images[0], images[2])
    assert not torch.allclose(images, disentanglement.latent_traversal(model, x, 3, values))
