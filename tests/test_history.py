"""Tests of vae_course.history.History: columns, round trip, display, add_epoch."""

from __future__ import annotations

import pytest
import torch
from training_support import fit_quiet, tiny_vae

from vae_course.history import METRIC_COLUMNS, History, format_seconds

pytestmark = pytest.mark.usefixtures("one_thread", "cpu_training")


def test_history_round_trips_through_a_plain_dict(train_data):
    history = fit_quiet(tiny_vae(), train_data)
    copy = History.from_dict(history.to_dict())
    assert copy.epochs == history.epochs
    assert torch.equal(copy.kl_per_dim, history.kl_per_dim)
    assert "train ELBO" in repr(history) and "<table" in history._repr_html_()
    with pytest.raises(KeyError, match="available"):
        history["no_such_metric"]


def test_add_epoch_fills_columns_and_kl_per_dim():
    history = History()
    assert history.columns == list(METRIC_COLUMNS) and len(history) == 0
    assert history.last == {} and history.kl_per_dim is None and not history.is_variational
    assert repr(history) == "History(no epochs)" and "no epochs" in history._repr_html_()
    for epoch in (1, 2):
        row = dict.fromkeys(METRIC_COLUMNS)
        row.update(epoch=epoch, train_loss=10.0 / epoch, train_kl=1.5, seconds=0.25)
        history.add_epoch(row, [1.0, 0.5])
    assert history["epoch"] == [1, 2] and history["train_loss"] == [10.0, 5.0]
    assert history.kl_per_dim.shape == (2, 2) and history.is_variational
    assert [row["epoch"] for row in history] == [1, 2]
    row["epoch"] = 99  # the history kept its own copy
    assert history.last["epoch"] == 2


def test_a_history_is_indexed_by_metric_names_only():
    history = History([dict.fromkeys(METRIC_COLUMNS, 1.0)])
    with pytest.raises(TypeError, match="metric name"):
        history[0]


def test_display_skips_empty_columns_and_names_the_source():
    row = dict.fromkeys(METRIC_COLUMNS)
    row.update(epoch=1, train_loss=2.0, train_reconstruction=2.0, seconds=0.1)
    history = History([row], from_cache=True, train_seconds=75.0, info={"model": "Autoencoder"})
    text = repr(history)
    assert "Autoencoder: 1 epochs, loaded from cache (training took 1 min 15 s)" in text
    assert "train KL" not in text and "train recon" in text


def test_format_seconds():
    assert format_seconds(12.34) == "12.3 s"
    assert format_seconds(125.0) == "2 min 5 s"


def test_from_dict_has_no_model_and_fit_sets_it(train_data):
    model = tiny_vae()
    history = fit_quiet(model, train_data, cache=False)
    assert history.model is model
    assert History.from_dict(history.to_dict()).model is None
