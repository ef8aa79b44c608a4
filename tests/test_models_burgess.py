"""BurgessVAE: the standard dSprites architecture, on the course's one model interface."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from vae_course.models import BurgessVAE, GaussianVAE, VAEOutput


def test_it_is_the_burgess_architecture():
    model = BurgessVAE()
    assert isinstance(model, GaussianVAE)
    assert (model.latent_dim, model.input_shape) == (10, (1, 64, 64))
    convs = [m for m in model.encoder.modules() if isinstance(m, nn.Conv2d)]
    assert [(c.out_channels, c.kernel_size, c.stride) for c in convs] == [(32, (4, 4), (2, 2))] * 4
    dense = [m.out_features for m in model.encoder.modules() if isinstance(m, nn.Linear)]
    assert dense == [256, 256]
    deconvs = [m for m in model.decoder.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert [d.out_channels for d in deconvs] == [32, 32, 32, 1]
    decoder_dense = [m.out_features for m in model.decoder.modules() if isinstance(m, nn.Linear)]
    assert decoder_dense == [256, 256, 32 * 4 * 4]
    assert 4.5e5 < sum(p.numel() for p in model.parameters()) < 5.5e5


def test_the_interface_shapes_and_logits():
    torch.manual_seed(0)
    model = BurgessVAE(latent_dim=6)
    x = torch.rand(5, 1, 64, 64)
    mu, log_var = model.encode(x)
    assert mu.shape == log_var.shape == (5, 6)
    logits = model.decode(mu)
    assert logits.shape == (5, 1, 64, 64) and logits.is_contiguous()
    assert float(logits.detach().min()) < 0  # logits, not probabilities
    out = model(x)
    assert isinstance(out, VAEOutput) and out.z.shape == (5, 6)
    torch.testing.assert_close(model.encode(x.reshape(5, -1))[0], mu)  # flat input accepted
    assert model.sample(3, generator=torch.Generator().manual_seed(1)).shape == (3, 1, 64, 64)
    out.logits.sum().backward()
    assert all(p.grad is not None for p in model.encoder.parameters())


def test_channels_last_layout_gives_the_same_numbers_as_the_usual_one():
    torch.manual_seed(1)
    model = BurgessVAE(latent_dim=4, input_shape=(1, 32, 32), channels=8, hidden_dim=32)
    x = torch.rand(4, 1, 32, 32)
    plain = [module for module in model.encoder]  # the same weights, in the usual layout
    h = x
    for module in plain:
        if isinstance(module, nn.Conv2d):
            h = nn.functional.conv2d(
                h, module.weight.contiguous(), module.bias, module.stride, module.padding
            )
        else:
            h = module(h)
    torch.testing.assert_close(model.encode(x)[0], model.fc_mu(h), atol=1e-5, rtol=1e-4)


def test_other_sizes_and_clear_errors():
    assert BurgessVAE(input_shape=(3, 32, 48)).decode(torch.zeros(2, 10)).shape == (2, 3, 32, 48)
    with pytest.raises(ValueError, match="divisible by 16"):
        BurgessVAE(input_shape=(1, 28, 28))
    with pytest.raises(ValueError, match="channels"):
        BurgessVAE(channels=0)
    with pytest.raises(ValueError, match=r"\(B, 1, 64, 64\)"):
        BurgessVAE().encode(torch.rand(2, 1, 32, 32))
    assert "channels=32" in repr(BurgessVAE())
