"""Tests of vae_course.train.fit and History: determinism, metrics, cache, guards, fast mode."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest
import torch

from vae_course import schedules
from vae_course.models import VAE, Autoencoder, ConditionalVAE
from vae_course.train import METRIC_COLUMNS, History, TrainingDiverged, fit, steps_per_epoch

SHAPE = (1, 8, 8)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny models gain nothing from intra-op threads, and on a busy machine OpenMP threads
    waiting for each other slow every step down many times."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("VAE_COURSE_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("VAE_COURSE_FAST", raising=False)
    monkeypatch.setenv("VAE_COURSE_DEVICE", "cpu")


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


@pytest.fixture(scope="module")
def train_data():
    return bars(192, seed=1)


@pytest.fixture(scope="module")
def test_data():
    return bars(64, seed=2)


def metrics_without_time(history: History) -> list[dict]:
    return [{k: v for k, v in row.items() if k != "seconds"} for row in history.epochs]


def fit_quiet(model, data, epochs=2, **kwargs):
    kwargs.setdefault("progress", False)
    kwargs.setdefault("batch_size", 32)
    return fit(model, data, epochs, **kwargs)


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


def test_history_round_trips_through_a_plain_dict(train_data):
    history = fit_quiet(tiny_vae(), train_data)
    copy = History.from_dict(history.to_dict())
    assert copy.epochs == history.epochs
    assert torch.equal(copy.kl_per_dim, history.kl_per_dim)
    assert "train ELBO" in repr(history) and "<table" in history._repr_html_()
    with pytest.raises(KeyError, match="available"):
        history["no_such_metric"]


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


# ----------------------------------------------------------------------------- NaN guard


def test_nan_in_a_batch_is_refused_before_training(train_data):
    images = train_data[0].clone()
    images[17, 0, 3, 3] = float("nan")
    with pytest.raises(ValueError, match="NaN or infinite pixel values.*example 17"):
        fit_quiet(tiny_vae(), images)
    images[17, 0, 3, 3] = float("inf")
    with pytest.raises(ValueError, match="NaN or infinite"):
        fit_quiet(tiny_vae(), images)


def test_pixels_outside_unit_interval_are_refused_for_bce(train_data):
    images = train_data[0] * 255
    with pytest.raises(ValueError, match=r"\[0, 1\].*divide by 255"):
        fit_quiet(tiny_vae(), images)
    # the Gaussian likelihood accepts any finite value
    history = fit_quiet(tiny_vae(), train_data[0] * 2 - 0.5, likelihood="gaussian", epochs=1)
    assert math.isfinite(history.last["train_loss"])


class PoisonedVAE(VAE):
    """A VAE whose decoder starts returning NaN after ``healthy_calls`` training calls."""

    def __init__(self, healthy_calls: int, **kwargs):
        super().__init__(**kwargs)
        self.healthy_calls = healthy_calls
        self.calls = 0

    def decode(self, z):
        logits = super().decode(z)
        self.calls += 1
        if self.training and self.calls > self.healthy_calls:
            logits = logits * float("nan")
        return logits


class ExplodingVarianceVAE(VAE):
    """A VAE whose encoder's log-variance blows up (as with a far too large step size)."""

    def encode(self, x):
        mu, log_var = super().encode(x)
        return mu, log_var * 0 + 200.0


class SigmaHeadVAE(VAE):
    """The design chapter 2 argues against: the second head read as sigma, log_var = 2 log sigma."""

    def encode(self, x):
        mu, sigma = super().encode(x)
        return mu, 2 * torch.log(sigma)


def test_guard_names_a_log_var_computed_from_a_negative_sigma(train_data):
    torch.manual_seed(0)
    model = SigmaHeadVAE(latent_dim=3, hidden_dims=(16,), input_shape=SHAPE)
    with pytest.raises(TrainingDiverged, match="log_var contains NaN.*negative or zero sigma"):
        fit_quiet(model, train_data, cache=False)


def test_guard_stops_at_the_poisoned_step_and_names_the_decoder(train_data):
    torch.manual_seed(0)
    model = PoisonedVAE(healthy_calls=2, latent_dim=3, hidden_dims=(16,), input_shape=SHAPE)
    with pytest.raises(TrainingDiverged, match="at step 2.*decoder output is NaN.*log\\(0\\)"):
        fit_quiet(model, train_data, cache=False)


def test_guard_names_an_exploding_log_var(train_data):
    torch.manual_seed(0)
    model = ExplodingVarianceVAE(latent_dim=3, hidden_dims=(16,), input_shape=SHAPE)
    with pytest.raises(TrainingDiverged, match="log_var exploded"):
        fit_quiet(model, train_data, cache=False)


def test_guard_blames_a_huge_learning_rate(train_data):
    with pytest.raises(TrainingDiverged, match="learning rate") as caught:
        fit_quiet(tiny_vae(), train_data, epochs=3, lr=1e8, cache=False)
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, FloatingPointError)


# ----------------------------------------------------------------------------- cache


def test_second_identical_fit_loads_from_cache(train_data, test_data, capsys):
    trained_model = tiny_vae()
    trained = fit_quiet(trained_model, train_data, test_data=test_data)
    assert not trained.from_cache
    loaded_model = tiny_vae()
    loaded = fit_quiet(loaded_model, train_data, test_data=test_data)
    assert loaded.from_cache
    assert "from the cache" in capsys.readouterr().out
    assert loaded.epochs == trained.epochs
    assert torch.equal(loaded.kl_per_dim, trained.kl_per_dim)
    for a, b in zip(trained_model.parameters(), loaded_model.parameters(), strict=True):
        assert torch.equal(a, b)
    assert not loaded_model.training


@pytest.mark.parametrize(
    "change",
    ["epochs", "batch_size", "lr", "beta", "schedule", "free_bits", "seed", "data", "test", "init"],
)
def test_any_change_misses_the_cache(train_data, test_data, change):
    baseline = {"epochs": 1, "batch_size": 32, "test_data": test_data}
    fit(tiny_vae(), train_data, progress=False, **baseline)
    settings, data, model = dict(baseline), train_data, tiny_vae()
    if change == "epochs":
        settings["epochs"] = 2
    elif change == "batch_size":
        settings["batch_size"] = 64
    elif change == "lr":
        settings["lr"] = 2e-3
    elif change == "beta":
        settings["beta"] = 2.0
    elif change == "schedule":
        settings["beta"] = schedules.LinearWarmup(warmup_steps=5)
    elif change == "free_bits":
        settings["free_bits"] = 0.5
    elif change == "seed":
        settings["seed"] = 1
    elif change == "data":
        images = train_data[0].clone()
        images[0, 0, 0, 0] = 0.5
        data = (images, train_data[1])
    elif change == "test":
        settings["test_data"] = test_data[0][:32]
    elif change == "init":
        model = tiny_vae(seed=1)
    assert not fit(model, data, progress=False, **settings).from_cache
    # and the unchanged call still hits
    assert fit(tiny_vae(), train_data, progress=False, **baseline).from_cache


def test_cache_false_neither_reads_nor_writes(train_data, tmp_path):
    fit_quiet(tiny_vae(), train_data, cache=False)
    assert not list((tmp_path / "cache").rglob("*.pt"))
    fit_quiet(tiny_vae(), train_data)
    assert not fit_quiet(tiny_vae(), train_data, cache=False).from_cache


def test_corrupt_cache_file_is_set_aside_and_retrained(train_data, tmp_path):
    first = fit_quiet(tiny_vae(), train_data)
    (cached,) = (tmp_path / "cache" / "models").glob("*.pt")
    cached.write_bytes(b"definitely not a torch file")
    with pytest.warns(RuntimeWarning, match="could not be read"):
        again = fit_quiet(tiny_vae(), train_data)
    assert not again.from_cache
    assert metrics_without_time(again) == metrics_without_time(first)
    assert list(cached.parent.glob("*.corrupt-*"))
    assert fit_quiet(tiny_vae(), train_data).from_cache  # the retrained run was stored again


# ----------------------------------------------------------------------------- data forms


@dataclass
class FakeDataset:
    images: torch.Tensor
    labels: torch.Tensor
    name: str = "fake"
    split: str = "train"


def test_dataset_input_loads_the_matching_test_split(train_data, test_data, monkeypatch):
    data_module = pytest.importorskip("vae_course.data")
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


def test_fast_subset_keeps_class_proportions():
    from vae_course.train import _as_split, _subset

    images = torch.rand(1000, *SHAPE)
    labels = torch.cat([torch.zeros(700), torch.ones(200), torch.full((100,), 2)]).long()
    subset = _subset(_as_split((images, labels), "data"), 100, seed=0)
    assert torch.bincount(subset.labels).tolist() == [70, 20, 10]


def _edited_vae_class(version: int) -> type[VAE]:
    """The same class name and layers, with a different decode (as after editing a cell)."""
    if version == 1:

        class EditedVAE(VAE):
            def decode(self, z):
                return super().decode(z)

    else:

        class EditedVAE(VAE):
            def decode(self, z):
                return super().decode(z) * 0.5

    return EditedVAE


def test_editing_a_method_of_the_model_misses_the_cache(train_data):
    def build(version):
        torch.manual_seed(0)
        return _edited_vae_class(version)(latent_dim=3, hidden_dims=(16,), input_shape=SHAPE)

    assert repr(build(1)) == repr(build(2))
    assert not fit_quiet(build(1), train_data).from_cache
    assert fit_quiet(build(1), train_data).from_cache
    assert not fit_quiet(build(2), train_data).from_cache
