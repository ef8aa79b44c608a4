"""AutoregressiveVAE: the decoder is autoregressive within its context, scores x by teacher
forcing (also through ``fit``), generates consistently with what it scores, and fails clearly."""

from __future__ import annotations

import pytest
import torch

from vae_course import train
from vae_course.models import VAE, AutoregressiveVAE, VAEOutput, strong_decoder_vae

SHAPE = (1, 5, 6)  # 30 pixels: small enough for exact Jacobians
N_PIXELS = 30


def _model(context, latent_dim=3, seed=0, **kwargs) -> AutoregressiveVAE:
    torch.manual_seed(seed)
    model = AutoregressiveVAE(
        latent_dim=latent_dim,
        hidden_dims=(16,),
        context=context,
        ar_hidden=24,
        input_shape=SHAPE,
        **kwargs,
    )
    if model.context > 0:  # the direct connections start at 0; give them values to test
        torch.nn.init.normal_(model.ar_direct.weight)
    return model.eval()


def _binary_images(batch: int, seed: int = 1) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(batch, *SHAPE, generator=g) > 0.5).float()


def _dependencies(model: AutoregressiveVAE, z: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Boolean (D, D): entry [i, j] says the logit of pixel i changes with pixel j."""

    def logits_of_first(flat):
        return model.decode(z[:1], flat.reshape(1, *SHAPE)).flatten()

    jacobian = torch.autograd.functional.jacobian(logits_of_first, x[:1].flatten())
    return jacobian.abs() > 0


@pytest.mark.parametrize("context", [None, 12, 6, 1])
def test_each_pixel_depends_exactly_on_its_context(context):
    model = _model(context)
    z, x = torch.randn(2, 3), _binary_images(2)
    depends = _dependencies(model, z, x)
    window = N_PIXELS - 1 if context is None else context
    i, j = torch.meshgrid(torch.arange(N_PIXELS), torch.arange(N_PIXELS), indexing="ij")
    allowed = (j < i) & (j >= i - window)
    assert not (depends & ~allowed).any(), "a pixel sees itself, a later pixel or beyond context"
    # the direct connections make every allowed pixel matter
    assert torch.equal(depends, allowed)


def test_context_zero_is_a_factorised_decoder_of_z_alone():
    model = _model(0)
    z = torch.randn(4, 3)
    first = model.decode(z, _binary_images(4, seed=1))
    second = model.decode(z, _binary_images(4, seed=2))
    torch.testing.assert_close(first, second)
    torch.testing.assert_close(first.flatten(1), model.latent_decoder(z))
    assert not hasattr(model, "ar_in")


def test_interface_shapes_and_flattened_inputs():
    model = _model(None)
    x = _binary_images(3)
    mu, log_var = model.encode(x)
    assert mu.shape == log_var.shape == (3, 3)
    torch.testing.assert_close(model.encode(x.flatten(1))[0], mu)
    out = model(x)
    assert isinstance(out, VAEOutput)
    assert out.logits.shape == (3, *SHAPE) and out.z.shape == (3, 3)
    samples = model.sample(4, generator=torch.Generator().manual_seed(0))
    assert samples.shape == (4, *SHAPE)
    assert samples.min() >= 0 and samples.max() <= 1


def test_decode_without_x_generates_and_never_reuses_an_encoded_batch():
    model = _model(None)
    x, z = _binary_images(3), torch.randn(3, 3)
    model.encode(x)  # encoding leaves no state behind that decode could silently use
    greedy = model.decode(z)
    _, expected = model._generate(z, greedy=True, generator=None)
    torch.testing.assert_close(greedy, expected)
    assert not torch.allclose(greedy, model.decode(z, x))


def test_fit_passes_x_to_decoders_that_need_it():
    assert AutoregressiveVAE.decoder_needs_input is True
    calls = []
    model = _model(None)
    real_decode = model.decode

    def spy(z, x=None):
        calls.append(x is not None)
        return real_decode(z, x)

    model.decode = spy
    train.fit(model, _binary_images(32, seed=1), epochs=1, batch_size=16, test_data=None,
              cache=False, progress=False)  # fmt: skip
    assert calls and all(calls)


@pytest.mark.parametrize("context", [None, 7, 0])
def test_generation_scores_what_it_generates(context):
    model = _model(context)
    z = torch.randn(4, 3)
    for greedy in (True, False):
        pixels, logits = model._generate(z, greedy, torch.Generator().manual_seed(3))
        assert set(pixels.unique().tolist()) <= {0.0, 1.0}
        # the logits along the generated path are the teacher-forced logits of that path
        torch.testing.assert_close(logits, model.decode(z, pixels), rtol=1e-5, atol=1e-5)
        if greedy:
            assert torch.equal(pixels, (logits > 0).float())


def test_generation_is_reproducible_with_a_generator_and_depends_on_it():
    model = _model(None)
    z = torch.randn(2, 3)
    first = model.generate(z, generator=torch.Generator().manual_seed(0))
    again = model.generate(z, generator=torch.Generator().manual_seed(0))
    other = model.generate(z, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(first, again)
    assert not torch.equal(first, other)
    assert model.training is False


def test_generate_restores_training_mode():
    model = _model(None).train()
    model.generate(torch.randn(1, 3))
    assert model.training


def test_fit_trains_with_teacher_forcing_and_never_generates(monkeypatch, tmp_path):
    monkeypatch.setenv("VAE_COURSE_CACHE", str(tmp_path))
    monkeypatch.delenv("VAE_COURSE_FAST", raising=False)
    model = _model(None)

    def no_generation(*args, **kwargs):
        raise AssertionError("fit must score x by teacher forcing, not generate")

    monkeypatch.setattr(model, "_generate", no_generation)
    data = _binary_images(64, seed=4)
    history = train.fit(model, data, epochs=4, batch_size=16, test_data=data, lr=3e-3,
                        progress=False)  # fmt: skip
    assert len(history) == 4
    assert history["test_elbo"][-1] > history["test_elbo"][0]
    # the cache round trip restores a model that scores data identically
    torch.manual_seed(0)
    reloaded = _model(None)
    again = train.fit(reloaded, data, epochs=4, batch_size=16, test_data=data, lr=3e-3,
                      progress=False)  # fmt: skip
    assert again.from_cache
    z = torch.randn(5, 3)
    torch.testing.assert_close(reloaded.decode(z, data[:5]), model.decode(z, data[:5]))


def test_the_autoregressive_decoder_models_pixels_that_z_cannot_explain():
    """Copies of one pixel pattern shifted along the raster: a factorised decoder of z
    cannot predict a pixel from its left neighbour; the autoregressive one learns to."""
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(5)
    first_column = (torch.rand(256, 1, 5, 1, generator=g) > 0.5).float()
    data = first_column.expand(256, 1, 5, 6).contiguous()  # each row: one random bit, repeated
    scores = {}
    for context in (0, 1):
        torch.manual_seed(0)
        model = AutoregressiveVAE(latent_dim=1, hidden_dims=(8,), context=context, ar_hidden=16,
                                  input_shape=SHAPE)  # fmt: skip
        history = train.fit(model, data, epochs=10, batch_size=16, beta=50.0, lr=0.1,
                            test_data=None, cache=False, progress=False)  # fmt: skip
        scores[context] = history.last["train_reconstruction"]
    # with z priced out (beta = 50), only the autoregressive decoder can copy the bit along
    assert scores[1] < 0.5 * scores[0]


def test_wrong_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="context"):
        AutoregressiveVAE(context=-1)
    with pytest.raises(ValueError, match="ar_hidden"):
        AutoregressiveVAE(ar_hidden=0)
    with pytest.raises(ValueError, match="latent_dim"):
        AutoregressiveVAE(latent_dim=0)
    model = _model(None)
    with pytest.raises(ValueError, match="latent codes"):
        model.decode(torch.randn(2, 3), _binary_images(3))
    with pytest.raises(ValueError, match=r"\(B, 3\)"):
        model.decode(torch.randn(2, 4))
    with pytest.raises(ValueError, match="single image"):
        model.encode(torch.rand(*SHAPE))


def test_context_zero_has_the_parameter_count_of_the_plain_vae():
    plain = VAE(latent_dim=3, hidden_dims=(16,), input_shape=SHAPE)
    factorised = _model(0)
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(plain) == count(factorised)
    assert count(_model(None)) > count(factorised)


def test_shared_noise_drawings_differ_only_through_z():
    model = _model(context=None)
    z = torch.randn(3, 3, generator=torch.Generator().manual_seed(2))
    drawn = model.generate_with_shared_noise(z, seed=5)
    assert drawn.shape == (3, *SHAPE)
    for i in range(3):  # each row is a draw with a generator seeded 5
        alone = model.generate(z[i : i + 1], generator=torch.Generator().manual_seed(5))
        torch.testing.assert_close(drawn[i : i + 1], alone)
    same = model.generate_with_shared_noise(z[:1].repeat(2, 1), seed=5)
    torch.testing.assert_close(same[0], same[1])  # the same z and noise: the same drawing


def test_strong_decoder_vae_is_the_full_context_model_of_chapters_5_and_6():
    torch.manual_seed(0)
    model = strong_decoder_vae()
    assert isinstance(model, AutoregressiveVAE) and model.latent_dim == 16
    assert model.context == 28 * 28 - 1 and model.input_shape == (1, 28, 28)
    torch.manual_seed(0)
    reference = AutoregressiveVAE(latent_dim=16)
    for a, b in zip(model.parameters(), reference.parameters(), strict=True):
        assert torch.equal(a, b)
