"""ConditionalVAE: shapes, label forms, generation by class, and training through fit."""

from __future__ import annotations

import pytest
import torch

from vae_course import models, train


@pytest.fixture
def cvae():
    torch.manual_seed(0)
    return models.ConditionalVAE(num_classes=10, latent_dim=4, hidden_dims=(32,))


def test_encode_decode_forward_shapes(cvae):
    x = torch.rand(6, 1, 28, 28)
    y = torch.arange(6)
    mu, log_var = cvae.encode(x, y)
    assert mu.shape == log_var.shape == (6, 4)
    assert cvae.decode(mu, y).shape == (6, 1, 28, 28)
    out = cvae(x, y)
    assert out.logits.shape == (6, 1, 28, 28) and out.z.shape == (6, 4)


def test_integer_and_one_hot_labels_agree(cvae):
    z = torch.randn(5, 4)
    y = torch.tensor([0, 3, 9, 3, 1])
    one_hot = torch.nn.functional.one_hot(y, 10).float()
    assert torch.allclose(cvae.decode(z, y), cvae.decode(z, one_hot))


def test_the_label_changes_the_generated_image(cvae):
    z = torch.randn(1, 4).expand(10, 4)
    images = torch.sigmoid(cvae.decode(z, torch.arange(10)))
    distances = torch.cdist(images.flatten(1), images.flatten(1))
    off_diagonal = distances[~torch.eye(10, dtype=torch.bool)]
    assert (off_diagonal > 0).all()  # same z, ten classes, ten different images


def test_sample_generates_the_requested_classes(cvae):
    samples = cvae.sample(7, y=torch.full((7,), 4), generator=torch.Generator().manual_seed(0))
    again = cvae.sample(7, y=torch.full((7,), 4), generator=torch.Generator().manual_seed(0))
    assert samples.shape == (7, 1, 28, 28)
    assert torch.equal(samples, again)
    assert samples.min() >= 0 and samples.max() <= 1
    default = cvae.sample(12)  # classes 0..9, 0, 1 in turn
    assert default.shape == (12, 1, 28, 28)


def test_bad_labels_are_clear_errors(cvae):
    x = torch.rand(3, 1, 28, 28)
    with pytest.raises(ValueError, match="0..9"):
        cvae.encode(x, torch.tensor([0, 1, 10]))
    with pytest.raises(ValueError, match="labels"):
        cvae.encode(x, torch.tensor([0, 1]))
    with pytest.raises(TypeError):
        cvae.encode(x, [0, 1, 2])


def test_fit_trains_a_conditional_vae_with_labels(cvae):
    g = torch.Generator().manual_seed(0)
    labels = torch.arange(64) % 2
    # class 0: top half lit, class 1: bottom half lit (plus noise)
    images = torch.rand(64, 1, 28, 28, generator=g) * 0.1
    images[labels == 0, :, :14] += 0.8
    images[labels == 1, :, 14:] += 0.8
    history = train.fit(
        cvae, (images, labels), epochs=3, batch_size=16, cache=False, progress=False, test_data=None
    )
    assert len(history) >= 1
    before = history["train_elbo"][0]
    assert before is not None
    z = torch.zeros(2, 4)
    generated = torch.sigmoid(cvae.decode(z, torch.tensor([0, 1]))).detach()
    top, bottom = generated[:, 0, :14].mean(dim=(1, 2)), generated[:, 0, 14:].mean(dim=(1, 2))
    assert top[0] > bottom[0] and bottom[1] > top[1]  # the label decides where the ink goes
    with pytest.raises(ValueError, match="labels"):
        train.fit(cvae, images, epochs=1, cache=False, progress=False, test_data=None)
