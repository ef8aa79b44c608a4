"""Every model follows the one interface: encode / decode / forward / sample, shapes and errors."""

from __future__ import annotations

import math

import pytest
import torch

from vae_course.models import (
    VAE,
    AEOutput,
    Autoencoder,
    AutoregressiveVAE,
    ConditionalVAE,
    ConvAutoencoder,
    ConvVAE,
    GaussianVAE,
    VAEOutput,
    as_image_batch,
    decode_batch,
    decode_probabilities,
    encode_all,
    encode_batch,
    evaluating,
    model_device,
    parameter_count,
    posterior_mean,
    reconstruct,
    reparameterize,
)

VAE_FACTORIES = {
    "vae-default": lambda: VAE(),
    "vae-deep": lambda: VAE(latent_dim=5, hidden_dims=(64, 32), input_shape=(1, 12, 12)),
    "vae-no-hidden": lambda: VAE(latent_dim=3, hidden_dims=(), input_shape=(1, 6, 6)),
    "conv-vae-28": lambda: ConvVAE(latent_dim=6, input_shape=(1, 28, 28)),
    "conv-vae-64": lambda: ConvVAE(latent_dim=10, input_shape=(1, 64, 64)),
    "conv-vae-rgb": lambda: ConvVAE(latent_dim=4, input_shape=(3, 32, 32), channels=(8, 16)),
}
AE_FACTORIES = {
    "ae-default": lambda: Autoencoder(),
    "ae-conv-flag": lambda: Autoencoder(latent_dim=8, conv=True, input_shape=(1, 64, 64)),
    "conv-ae-28": lambda: ConvAutoencoder(latent_dim=2, input_shape=(1, 28, 28)),
}
ALL_FACTORIES = {**VAE_FACTORIES, **AE_FACTORIES}


def _images(model, batch: int = 3, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(batch, *model.input_shape, generator=g)


@pytest.mark.parametrize("name", VAE_FACTORIES)
def test_vae_interface_shapes(name):
    torch.manual_seed(0)
    model = VAE_FACTORIES[name]()
    x = _images(model)
    d, shape = model.latent_dim, model.input_shape
    mu, log_var = model.encode(x)
    assert mu.shape == log_var.shape == (3, d)
    assert model.decode(mu).shape == (3, *shape)
    out = model(x)
    assert isinstance(out, VAEOutput)
    assert out.logits.shape == (3, *shape)
    assert out.mu.shape == out.log_var.shape == out.z.shape == (3, d)
    # the flattened form of the same images is accepted and encodes identically
    torch.testing.assert_close(model.encode(x.reshape(3, -1))[0], mu)
    samples = model.sample(4)
    assert samples.shape == (4, *shape)
    assert samples.min() >= 0 and samples.max() <= 1


@pytest.mark.parametrize("name", AE_FACTORIES)
def test_autoencoder_interface_shapes(name):
    torch.manual_seed(0)
    model = AE_FACTORIES[name]()
    x = _images(model)
    z = model.encode(x)
    assert isinstance(z, torch.Tensor) and z.shape == (3, model.latent_dim)
    out = model(x)
    assert isinstance(out, AEOutput)
    assert out.logits.shape == (3, *model.input_shape)
    torch.testing.assert_close(out.z, z)
    torch.testing.assert_close(out.logits, model.decode(z))
    torch.testing.assert_close(model.encode(x.reshape(3, -1)), z)


def test_default_vae_is_the_784_400_20_model():
    model = VAE()
    assert model.latent_dim == 20 and model.input_shape == (1, 28, 28)
    linear_shapes = sorted(
        tuple(m.weight.shape) for m in model.modules() if isinstance(m, torch.nn.Linear)
    )
    assert linear_shapes == sorted([(400, 784), (20, 400), (20, 400), (400, 20), (784, 400)])
    expected = (784 * 400 + 400) + 2 * (400 * 20 + 20) + (20 * 400 + 400) + (400 * 784 + 784)
    assert sum(p.numel() for p in model.parameters()) == expected


@pytest.mark.parametrize("size, layers", [(28, 2), (64, 4)])
def test_conv_vae_picks_its_depth_from_the_image_size(size, layers):
    model = ConvVAE(input_shape=(1, size, size))
    assert len(model.channels) == layers
    convs = [m for m in model.encoder if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == layers


def test_vae_forward_is_stochastic_but_decodes_its_own_z():
    torch.manual_seed(0)
    model = VAE(latent_dim=4, hidden_dims=(16,), input_shape=(1, 5, 5))
    x = _images(model)
    a, b = model(x), model(x)
    torch.testing.assert_close(a.mu, b.mu)
    assert not torch.allclose(a.z, b.z)
    torch.testing.assert_close(a.logits, model.decode(a.z))


def test_reparameterize_statistics_and_gradients():
    mu = torch.tensor([[1.5, -2.0, 0.0]]).repeat(200_000, 1)
    log_var = torch.tensor([[0.0, math.log(4.0), math.log(0.25)]]).repeat(200_000, 1)
    z = reparameterize(mu, log_var, torch.Generator().manual_seed(0))
    assert z.shape == mu.shape
    torch.testing.assert_close(z.mean(0), mu[0], atol=0.02, rtol=0)
    torch.testing.assert_close(z.std(0), log_var[0].mul(0.5).exp(), atol=0.02, rtol=0)

    mu = torch.randn(4, 3, requires_grad=True)
    log_var = torch.randn(4, 3, requires_grad=True)
    g = torch.Generator().manual_seed(1)
    z = VAE(latent_dim=3).reparameterize(mu, log_var, g)
    eps = (z - mu) / torch.exp(0.5 * log_var)
    z.sum().backward()
    torch.testing.assert_close(mu.grad, torch.ones_like(mu))  # dz/dmu = 1
    expected = 0.5 * torch.exp(0.5 * log_var) * eps  # dz/dlog_var = sigma * eps / 2
    torch.testing.assert_close(log_var.grad, expected.detach())


def test_sampling_is_reproducible_with_a_generator():
    torch.manual_seed(0)
    model = VAE(latent_dim=2, hidden_dims=(8,), input_shape=(1, 4, 4))
    a = model.sample(5, generator=torch.Generator().manual_seed(7))
    b = model.sample(5, generator=torch.Generator().manual_seed(7))
    torch.testing.assert_close(a, b)
    with pytest.raises(ValueError, match="positive integer"):
        model.sample(0)


@pytest.mark.parametrize("name", ALL_FACTORIES)
def test_wrong_input_shapes_give_clear_value_errors(name):
    model = ALL_FACTORIES[name]()
    c, h, w = model.input_shape
    for bad in (
        torch.rand(2, c, h + 1, w),
        torch.rand(2, c * h * w + 1),
        torch.rand(2, 5, 5, 5, 5),
    ):
        with pytest.raises(ValueError) as info:
            model.encode(bad)
        message = str(info.value)
        assert f"(B, {c}, {h}, {w})" in message and str(tuple(bad.shape)) in message
    with pytest.raises(ValueError, match="unsqueeze"):
        model.encode(torch.rand(c, h, w))
    with pytest.raises(ValueError, match=rf"\(B, {model.latent_dim}\)"):
        model.decode(torch.zeros(2, model.latent_dim + 1))
    with pytest.raises(TypeError, match="float"):
        model.encode(torch.zeros(2, c, h, w, dtype=torch.uint8))
    with pytest.raises(TypeError, match="Tensor"):
        model.encode([[0.0] * (c * h * w)])


def test_bad_constructor_arguments_give_value_errors():
    with pytest.raises(ValueError, match="latent_dim"):
        VAE(latent_dim=0)
    with pytest.raises(ValueError, match="hidden_dims"):
        VAE(hidden_dims=(400, -1))
    with pytest.raises(ValueError, match="input_shape"):
        VAE(input_shape=(28, 28))
    with pytest.raises(ValueError, match="divisible"):
        ConvVAE(input_shape=(1, 28, 28), channels=(32, 32, 64, 64))
    with pytest.raises(ValueError, match="even"):
        ConvVAE(input_shape=(1, 7, 7))


def test_conditional_vae_interface():
    torch.manual_seed(0)
    model = ConditionalVAE(num_classes=3, latent_dim=4, hidden_dims=(32,), input_shape=(1, 6, 6))
    x = _images(model, batch=5)
    y = torch.tensor([0, 1, 2, 0, 1])
    mu, log_var = model.encode(x, y)
    assert mu.shape == log_var.shape == (5, 4)
    out = model(x, y)
    assert isinstance(out, VAEOutput) and out.logits.shape == (5, 1, 6, 6)
    # one-hot labels are equivalent to integer labels
    one_hot = torch.nn.functional.one_hot(y, 3).float()
    torch.testing.assert_close(model.encode(x, one_hot)[0], mu)
    # the decoder uses the label
    z = torch.zeros(5, 4)
    assert not torch.allclose(model.decode(z, y), model.decode(z, (y + 1) % 3))
    assert model.sample(6).shape == (6, 1, 6, 6)
    with pytest.raises(ValueError, match="labels"):
        model.encode(x, torch.tensor([0, 1, 2, 3, 0]))
    with pytest.raises(ValueError, match="labels"):
        model.encode(x, torch.tensor([0, 1]))


# ----------------------------------------------------------------------------- many images at once


def test_every_vae_shares_the_gaussian_base():
    for name in VAE_FACTORIES:
        assert isinstance(VAE_FACTORIES[name](), GaussianVAE), name
    assert isinstance(AutoregressiveVAE(latent_dim=2, input_shape=(1, 4, 4)), GaussianVAE)
    assert not isinstance(Autoencoder(), GaussianVAE)


@pytest.mark.parametrize("name", ALL_FACTORIES)
def test_encode_all_matches_one_big_batch_and_restores_the_mode(name):
    torch.manual_seed(0)
    model = ALL_FACTORIES[name]().train()
    x = _images(model, batch=7)
    mu, log_var = encode_all(model, x, batch_size=3)
    model.eval()
    with torch.no_grad():
        direct = model.encode(x)
    model.train()
    if isinstance(direct, tuple):
        torch.testing.assert_close(mu, direct[0])
        torch.testing.assert_close(log_var, direct[1])
    else:
        torch.testing.assert_close(mu, direct)
        assert log_var is None
    assert model.training  # put back in the mode it was in
    assert mu.device.type == "cpu" and mu.dtype == torch.float32 and not mu.requires_grad
    torch.testing.assert_close(posterior_mean(model, x), mu)


def test_decode_probabilities_and_reconstruct_are_sigmoids_of_the_decoder():
    torch.manual_seed(0)
    model = VAE(latent_dim=3, hidden_dims=(16,), input_shape=(1, 5, 5))
    z = torch.randn(4, 3)
    probabilities = decode_probabilities(model, z)
    with torch.no_grad():
        torch.testing.assert_close(probabilities, torch.sigmoid(model.decode(z)))
    assert decode_probabilities(model, z[0]).shape == (1, 1, 5, 5)  # one code (d,)
    x = _images(model, batch=4)
    with torch.no_grad():
        expected = torch.sigmoid(model.decode(model.encode(x)[0]))
    torch.testing.assert_close(reconstruct(model, x), expected)
    torch.testing.assert_close(reconstruct(model, x), reconstruct(model, x))  # no sampling


def test_conditional_models_get_their_labels_and_are_asked_for_them():
    torch.manual_seed(0)
    model = ConditionalVAE(num_classes=3, latent_dim=2, hidden_dims=(8,), input_shape=(1, 4, 4))
    x = _images(model, batch=5)
    y = torch.tensor([0, 1, 2, 0, 1])
    mu, _ = encode_all(model, x, y, batch_size=2)
    with torch.no_grad():
        torch.testing.assert_close(mu, model.encode(x, y)[0])
    one_label = decode_probabilities(model, mu, 2)  # one label for every code
    torch.testing.assert_close(one_label, decode_probabilities(model, mu, torch.full((5,), 2)))
    with pytest.raises(ValueError, match="conditional"):
        encode_all(model, x)
    with pytest.raises(ValueError, match="3 labels for 5 images"):
        encode_all(model, x, y[:3])


def test_encode_and_decode_batch_call_each_kind_of_model_its_way():
    torch.manual_seed(0)
    ar = AutoregressiveVAE(latent_dim=2, hidden_dims=(8,), ar_hidden=8, input_shape=(1, 3, 3))
    x = (torch.rand(2, 1, 3, 3) > 0.5).float()
    z = torch.randn(2, 2)
    with torch.no_grad():
        torch.testing.assert_close(decode_batch(ar, z, x=x), ar.decode(z, x))  # teacher forcing
        torch.testing.assert_close(decode_batch(ar, z), ar.decode(z))  # greedy generation
        vae = VAE(latent_dim=2, hidden_dims=(4,), input_shape=(1, 3, 3))
        torch.testing.assert_close(decode_batch(vae, z, x=x), vae.decode(z))  # x is not needed
        torch.testing.assert_close(encode_batch(vae, x)[0], vae.encode(x)[0])


def test_many_image_helpers_reject_what_is_not_a_model_or_images():
    with pytest.raises(TypeError, match="Module"):
        encode_all("not a model", torch.rand(2, 4))
    with pytest.raises(TypeError, match="Module"):
        decode_probabilities(object(), torch.rand(2, 4))
    model = VAE(latent_dim=2, hidden_dims=(4,), input_shape=(1, 2, 2))
    with pytest.raises(ValueError, match="non-empty"):
        encode_all(model, torch.rand(0, 4))
    with pytest.raises(TypeError, match="Dataset"):
        as_image_batch("images")


def test_evaluating_and_model_device():
    model = VAE(latent_dim=2, hidden_dims=(4,), input_shape=(1, 2, 2)).train()
    with evaluating(model):
        assert not model.training and not torch.is_grad_enabled()
    assert model.training and torch.is_grad_enabled()
    assert model_device(model).type == "cpu"
    assert model_device(torch.nn.Identity(), "meta").type == "meta"


def test_parameter_count_counts_parameters_and_float_buffers():
    model = VAE(latent_dim=2, hidden_dims=(4,), input_shape=(1, 2, 2))
    assert parameter_count(model) == sum(p.numel() for p in model.parameters())
    model.register_buffer("scale", torch.ones(5))
    model.register_buffer("steps", torch.zeros(3, dtype=torch.long))  # not a stored weight
    assert parameter_count(model) == sum(p.numel() for p in model.parameters()) + 5
    with pytest.raises(TypeError, match="Module"):
        parameter_count("VAE")
