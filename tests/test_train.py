"""Tests of vae_course.train.fit: determinism, metrics, schedules, settings, data forms, fast mode, the factory form."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest
import torch
from training_support import SHAPE, bars, fit_quiet, metrics_without_time, tiny_vae

from vae_course import data as data_module
from vae_course import schedules
from vae_course.models import VAE, Autoencoder, ConditionalVAE
from vae_course.train import METRIC_COLUMNS, fit, fit_from_seed, steps_per_epoch

pytestmark = pytest.mark.usefixtures("one_thread", "cpu_training")


# ----------------------------------------------------------------------------- determinism


def test_same_seed_gives_identical_losses_and_weights(train_data, test_data):
    first_model, second_model = tiny_vae(), tiny_vae()
    first = fit_quiet(first_model, train_data, test_data=test_data, seed=5, cache=False)
    second = fit_quiet(second_model, train_data, test_data=test_data, seed=5, cache=False)
    assert metrics_without_time(first) == metrics_without_time(second)
    for a, b in zip(first_model.parameters(), second_model.parameters(), strict=True):
        assert torch.equal(a, b)


def test_different_seeds_give_different_losses(train_data):
    first = fit_quiet(tiny_vae(), train_data, seed=0, cache=False)
    second = fit_quiet(tiny_vae(), train_data, seed=1, cache=False)
    assert first["train_loss"] != second["train_loss"]


def test_test_data_does_not_change_training(train_data, test_data):
    with_test = fit_quiet(tiny_vae(), train_data, test_data=test_data, cache=False)
    without = fit_quiet(tiny_vae(), train_data, test_data=None, cache=False)
    assert with_test["train_loss"] == without["train_loss"]
    assert without["test_elbo"] == [None, None]


def test_fit_does_not_disturb_the_global_random_state(train_data):
    torch.manual_seed(123)
    expected = torch.rand(3)
    model = tiny_vae()
    torch.manual_seed(123)
    fit_quiet(model, train_data, cache=False)
    assert torch.equal(torch.rand(3), expected)


# ----------------------------------------------------------------------------- metrics


def test_history_has_every_metric_for_every_epoch(train_data, test_data):
    history = fit_quiet(tiny_vae(latent_dim=3), train_data, epochs=3, test_data=test_data)
    assert len(history) == 3 and history["epoch"] == [1, 2, 3]
    for row in history.epochs:
        assert set(METRIC_COLUMNS) <= set(row)
        for column in METRIC_COLUMNS:
            assert row[column] is not None and math.isfinite(row[column]), column
        assert row["test_elbo"] == pytest.approx(-(row["test_reconstruction"] + row["test_kl"]))
        assert row["train_elbo"] == pytest.approx(-(row["train_reconstruction"] + row["train_kl"]))
        assert row["train_kl"] >= 0 and row["test_kl"] >= 0 and row["beta"] == 1.0
        # with beta = 1 and no free bits the loss is the negative ELBO
        assert row["train_loss"] == pytest.approx(-row["train_elbo"], rel=1e-5)
    kl = history.kl_per_dim
    assert kl.shape == (3, 3)
    assert kl.sum(1).tolist() == pytest.approx(history["test_kl"], rel=1e-5)
    assert history.last == history.epochs[-1]
    assert history["test_elbo"][-1] == history.last["test_elbo"]


def test_training_improves_the_elbo(train_data, test_data):
    history = fit_quiet(tiny_vae(), train_data, epochs=6, test_data=test_data, lr=3e-3)
    assert history["test_elbo"][-1] > history["test_elbo"][0]


def test_autoencoder_trains_on_reconstruction_only(train_data, test_data):
    torch.manual_seed(0)
    model = Autoencoder(latent_dim=3, hidden_dims=(32,), input_shape=SHAPE)
    history = fit_quiet(model, train_data, epochs=4, test_data=test_data, lr=3e-3)
    assert history["train_kl"] == [None] * 4 and history["test_elbo"] == [None] * 4
    assert history.kl_per_dim is None and not history.is_variational
    assert history["train_loss"] == history["train_reconstruction"]
    assert history["test_reconstruction"][-1] < history["test_reconstruction"][0]


def test_schedule_beta_is_recorded_per_epoch(train_data):
    steps = steps_per_epoch(train_data, batch_size=32)
    schedule = schedules.LinearWarmup(warmup_steps=2 * steps)
    history = fit_quiet(tiny_vae(), train_data, epochs=3, beta=schedule)
    values = schedule.values(3 * steps)
    expected = [sum(values[e * steps : (e + 1) * steps]) / steps for e in range(3)]
    assert history["beta"] == pytest.approx(expected)
    assert history["beta"][0] < history["beta"][1] < history["beta"][2] == 1.0


def test_plain_function_schedule_and_capacity_annealing(train_data):
    history = fit_quiet(tiny_vae(), train_data, beta=lambda step: 0.5)
    assert history["beta"] == [0.5, 0.5]
    capacity = schedules.CapacityAnnealing(c_max=5.0, gamma=2.0, total_steps=10)
    history = fit_quiet(tiny_vae(), train_data, beta=capacity)
    assert history["beta"] == [2.0, 2.0]  # CapacityAnnealing reports gamma as its weight
    assert all(math.isfinite(v) for v in history["train_loss"])


def test_free_bits_put_a_floor_under_the_kl_term(train_data):
    floor = 2.0
    history = fit_quiet(tiny_vae(latent_dim=3), train_data, free_bits=floor)
    for row in history.epochs:
        assert row["train_loss"] >= row["train_reconstruction"] + 3 * floor - 1e-3


def test_conditional_model_gets_labels(train_data):
    torch.manual_seed(0)
    model = ConditionalVAE(num_classes=2, latent_dim=2, hidden_dims=(16,), input_shape=SHAPE)
    history = fit_quiet(model, train_data)
    assert history.is_variational
    with pytest.raises(ValueError, match="needs labels"):
        fit_quiet(model, train_data[0])


# ----------------------------------------------------------------------------- input checks


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"epochs": 0}, "epochs"),
        ({"batch_size": 0}, "batch_size"),
        ({"lr": -1.0}, "lr"),
        ({"likelihood": "poisson"}, "likelihood"),
        ({"beta": -1.0}, "beta"),
        ({"free_bits": -0.5}, "free_bits"),
    ],
)
def test_bad_settings_raise_clear_errors(train_data, kwargs, message):
    kwargs = {"epochs": 1, **kwargs}
    epochs = kwargs.pop("epochs")
    with pytest.raises(ValueError, match=message):
        fit(tiny_vae(), train_data, epochs, progress=False, **kwargs)


def test_bad_data_raises_clear_errors(train_data):
    images, labels = train_data
    with pytest.raises(TypeError, match="divide by 255"):
        fit_quiet(tiny_vae(), (images * 255).to(torch.uint8))
    with pytest.raises(ValueError, match="labels"):
        fit_quiet(tiny_vae(), (images, labels[:-1]))
    with pytest.raises(TypeError, match="Module"):
        fit_quiet("not a model", images)
    with pytest.raises(ValueError, match="epochs must be a positive integer"):
        fit_quiet(tiny_vae(), images, epochs=True)  # a bool is never an epoch count
    with pytest.raises(ValueError, match="batch_size"):
        steps_per_epoch(images, batch_size=0)


# ----------------------------------------------------------------------------- factory form


def _small_vae():
    return VAE(latent_dim=3, hidden_dims=(32,), input_shape=SHAPE)


def test_a_factory_is_built_after_seeding_with_the_fit_seed(train_data):
    history = fit_quiet(_small_vae, train_data, seed=4, cache=False)
    torch.manual_seed(4)
    by_hand = _small_vae()
    expected = fit_quiet(by_hand, train_data, seed=4, cache=False)
    assert metrics_without_time(history) == metrics_without_time(expected)
    assert isinstance(history.model, VAE) and not history.model.training
    for a, b in zip(history.model.parameters(), by_hand.parameters(), strict=True):
        assert torch.equal(a, b)


def test_fit_from_seed_returns_the_pair_and_finds_the_cache(train_data):
    model, history = fit_from_seed(lambda: _small_vae(), train_data, 2, batch_size=32,
                                   progress=False)  # fmt: skip
    assert history.model is model and not history.from_cache
    again_model, again = fit_from_seed(lambda: _small_vae(), train_data, 2, batch_size=32,
                                       progress=False)  # fmt: skip
    assert again.from_cache and again.model is again_model
    for a, b in zip(model.parameters(), again_model.parameters(), strict=True):
        assert torch.equal(a, b)


def test_factory_mistakes_are_explained(train_data):
    with pytest.raises(TypeError, match="returned int, not a torch.nn.Module"):
        fit_quiet(lambda: 3, train_data)
    with pytest.raises(TypeError, match="fit_from_seed needs a function"):
        fit_from_seed(tiny_vae(), train_data, 1)


# ----------------------------------------------------------------------------- data forms


@dataclass
class FakeDataset:
    images: torch.Tensor
    labels: torch.Tensor
    name: str = "fake"
    split: str = "train"


def test_dataset_input_loads_the_matching_test_split(train_data, test_data, monkeypatch):
    requested = []

    def fake_load_dataset(name, split="train", **kwargs):
        requested.append((name, split))
        return FakeDataset(*test_data, name=name, split=split)

    monkeypatch.setattr(data_module, "load_dataset", fake_load_dataset)
    history = fit_quiet(tiny_vae(), FakeDataset(*train_data))
    assert requested == [("fake", "test")]
    assert history.info["n_test"] == len(test_data[0]) and history.last["test_elbo"] is not None
    history = fit_quiet(tiny_vae(), FakeDataset(*train_data), test_data=None)
    assert history.last["test_elbo"] is None and len(requested) == 1


def test_tensor_input_has_no_test_metrics_unless_given(train_data):
    history = fit_quiet(tiny_vae(), train_data[0])
    assert history.last["test_reconstruction"] is None
    assert history.kl_per_dim.shape == (2, 3)  # from the training epochs


# ----------------------------------------------------------------------------- fast mode


def test_fast_mode_shrinks_epochs_and_data_stratified(monkeypatch):
    monkeypatch.setenv("VAE_COURSE_FAST", "1")
    images, labels = bars(2000, seed=3)
    labels = torch.arange(2000) % 4  # four classes of 500
    test_images, test_labels = bars(900, seed=4)
    history = fit(
        tiny_vae(), (images, labels), 5, batch_size=256, test_data=(test_images, test_labels),
        progress=False,
    )  # fmt: skip
    assert len(history) == 2
    assert history.info["n_train"] == 1024 and history.info["n_test"] == 512
    assert history.info["requested_epochs"] == 5 and history.info["fast"] is True
    assert steps_per_epoch((images, labels), 256) == 4
