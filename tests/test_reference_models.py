"""Chapter 07's shipped reference models: present, small, loadable, and reproducing their
recorded numbers on the fixed test set."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from vae_course import kl_decomposition, models, reference_models, train
from vae_course.reference_models import RECIPES, WEIGHTS_DIR

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def check_set():
    return reference_models.check_set()


def test_every_recipe_is_shipped_with_its_recorded_configuration():
    shipped = reference_models.manifest()["models"]
    assert list(shipped) == list(RECIPES)
    for name, record in shipped.items():
        assert record["config"] == RECIPES[name].config(), name
        assert (WEIGHTS_DIR / record["file"]).exists(), name
        assert len(record["history"]) == RECIPES[name].epochs
        assert all(row["beta"] == RECIPES[name].weight for row in record["history"])


def test_the_recipes_cover_two_objectives_and_two_seeds():
    objectives = {(r.objective, r.weight) for r in RECIPES.values()}
    assert {o for o, _ in objectives} == {"beta-vae", "beta-tcvae"}
    for objective, weight in objectives:
        seeds = {r.seed for r in RECIPES.values() if (r.objective, r.weight) == (objective, weight)}
        assert len(seeds) >= 2


def test_the_weights_are_float16_small_and_fit_the_architecture():
    total = 0
    for name, record in reference_models.manifest()["models"].items():
        path = WEIGHTS_DIR / record["file"]
        total += path.stat().st_size
        state = torch.load(path, map_location="cpu", weights_only=True)
        expected = RECIPES[name].model().state_dict()
        assert {k: tuple(v.shape) for k, v in state.items()} == {
            k: tuple(v.shape) for k, v in expected.items()
        }
        assert all(v.dtype == torch.float16 for v in state.values())
    assert total < 20e6


def test_the_shipped_models_reproduce_their_recorded_numbers(check_set):
    """MIG within 0.01, rate and distortion within 0.1 %, on the first N_CHECK test images
    (the whole test set takes ten times longer; the chapter measures it)."""
    images, classes = check_set
    assert images.shape == (reference_models.N_CHECK, 1, 64, 64)
    loaded = reference_models.load_all()
    assert list(loaded) == list(RECIPES)
    for name, (model, record) in loaded.items():
        assert isinstance(model, models.BurgessVAE) and not model.training
        assert next(model.parameters()).dtype == torch.float32
        numbers = reference_models.evaluate(model, images, classes)
        recorded = record["check"]
        assert recorded["n_images"] == reference_models.N_CHECK
        assert abs(numbers["mig"] - recorded["mig"]) <= 0.01, name
        assert numbers["rate"] == pytest.approx(recorded["rate"], rel=1e-3, abs=1e-3), name
        assert numbers["distortion"] == pytest.approx(recorded["distortion"], rel=1e-3), name


def test_the_package_data_and_git_include_the_weights():
    pyproject = (ROOT / "pyproject.toml").read_text().split("[tool.setuptools.package-data]")[1]
    package_data = pyproject.split("\n[")[0]
    assert '"weights/*.pt"' in package_data and '"weights/*.json"' in package_data
    assert "!vae_course/weights/*.pt" in (ROOT / ".gitignore").read_text().splitlines()


def test_retrain_is_one_fit_call_with_the_recipe(monkeypatch):
    calls = {}

    def fake_fit(model, data, **settings):
        calls.update(settings, model=model, n=len(data))
        return train.History()

    monkeypatch.setattr(train, "fit", fake_fit)
    monkeypatch.setattr(reference_models, "training_images", lambda: torch.zeros(3, 1, 64, 64))
    monkeypatch.setattr(reference_models, "test_set", lambda: (torch.zeros(2, 1, 64, 64), None))
    recipe = next(r for r in RECIPES.values() if r.objective == "beta-tcvae")
    model, _ = reference_models.retrain(recipe.name, progress=False)
    assert calls["model"] is model and calls["n"] == 3
    assert (calls["epochs"], calls["batch_size"], calls["seed"], calls["lr"]) == (
        recipe.epochs, recipe.batch_size, recipe.seed, recipe.lr,
    )  # fmt: skip
    assert calls["beta"] == kl_decomposition.BetaTCVAE(
        dataset_size=reference_models.N_TRAIN, beta=recipe.weight
    )
    # the same recipe always starts from the same weights (so fit's cache finds it)
    first, second = recipe.model().state_dict(), recipe.model().state_dict()
    assert all(torch.equal(first[k], second[k]) for k in first)
    with pytest.raises(ValueError, match="unknown reference model"):
        reference_models.load("betavae-99-seed7")
