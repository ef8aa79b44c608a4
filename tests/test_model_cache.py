"""Tests of vae_course.model_cache: identical runs load, any change misses, damage retrains."""

from __future__ import annotations

import pytest
import torch
from training_support import SHAPE, fit_quiet, metrics_without_time, tiny_vae

from vae_course import model_cache, schedules
from vae_course.models import VAE
from vae_course.train import fit

pytestmark = pytest.mark.usefixtures("one_thread", "cpu_training")


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
    assert not list((tmp_path / "vae-course-cache").rglob("*.pt"))
    fit_quiet(tiny_vae(), train_data)
    assert not fit_quiet(tiny_vae(), train_data, cache=False).from_cache


def test_corrupt_cache_file_is_set_aside_and_retrained(train_data, tmp_path):
    first = fit_quiet(tiny_vae(), train_data)
    (cached,) = (tmp_path / "vae-course-cache" / "models").glob("*.pt")
    cached.write_bytes(b"definitely not a torch file")
    with pytest.warns(RuntimeWarning, match="could not be read"):
        again = fit_quiet(tiny_vae(), train_data)
    assert not again.from_cache
    assert metrics_without_time(again) == metrics_without_time(first)
    assert list(cached.parent.glob("*.corrupt-*"))
    assert fit_quiet(tiny_vae(), train_data).from_cache  # the retrained run was stored again


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


def test_stable_description_has_no_memory_address_and_sees_closures():
    def schedule_for(rate):
        return lambda step: rate * step

    first, second = model_cache.stable_description(schedule_for(0.1)), None
    second = model_cache.stable_description(schedule_for(0.1))
    assert " at 0x" not in first and first == second
    assert model_cache.stable_description(schedule_for(0.2)) != first
    assert model_cache.stable_description(1.5) == "1.5"


def test_tensor_digest_sees_values_shape_and_dtype():
    x = torch.arange(6.0)
    assert model_cache.tensor_digest(x) == model_cache.tensor_digest(x.clone())
    assert model_cache.tensor_digest(x) != model_cache.tensor_digest(x.reshape(2, 3))
    assert model_cache.tensor_digest(x) != model_cache.tensor_digest(x.double())
    assert model_cache.tensor_digest(x) != model_cache.tensor_digest(x + 1)
    assert model_cache.tensor_digest(None) == "none"


def test_cache_key_is_deterministic_and_covers_settings_and_data(train_data):
    images, labels = train_data
    key = model_cache.cache_key(tiny_vae(), (images, labels), None, {"epochs": 1})
    assert key == model_cache.cache_key(tiny_vae(), (images, labels), None, {"epochs": 1})
    assert len(key) == 20
    assert key != model_cache.cache_key(tiny_vae(), (images, labels), None, {"epochs": 2})
    assert key != model_cache.cache_key(tiny_vae(), (images, None), None, {"epochs": 1})
    assert key != model_cache.cache_key(tiny_vae(), (images, labels), (images, None), {"epochs": 1})
    assert key != model_cache.cache_key(tiny_vae(seed=1), (images, labels), None, {"epochs": 1})
    path = model_cache.cache_path(tiny_vae(), key)
    assert path.name == f"VAE-{key}.pt" and path.parent.name == "models"


def test_the_key_covers_every_file_of_the_models_package(monkeypatch, train_data):
    """The networks and checks live in files of vae_course/models/ other than the model's own
    module; editing any of them must miss the cache."""
    from pathlib import Path

    real_read_text = Path.read_text
    edited = "_networks.py"

    def read_text(self, *args, **kwargs):
        text = real_read_text(self, *args, **kwargs)
        return text + "\n# edited" if self.name == edited else text

    before = model_cache.cache_key(tiny_vae(), train_data, None, {})
    monkeypatch.setattr(Path, "read_text", read_text)
    assert model_cache.cache_key(tiny_vae(), train_data, None, {}) != before


def test_load_returns_none_for_a_missing_file_and_save_round_trips(tmp_path, train_data):
    model = tiny_vae()
    history = fit_quiet(model, train_data, cache=False)
    path = tmp_path / "run.pt"
    assert model_cache.load(path, tiny_vae(), torch.device("cpu")) is None
    model_cache.save(path, model, history)
    fresh = tiny_vae(seed=3)
    loaded = model_cache.load(path, fresh, torch.device("cpu"))
    assert loaded.from_cache and metrics_without_time(loaded) == metrics_without_time(history)
    for a, b in zip(model.parameters(), fresh.parameters(), strict=True):
        assert torch.equal(a, b)
