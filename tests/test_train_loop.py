"""``fit(..., loop=...)``: a learner's training loop takes the steps, ``fit`` keeps the rest.

Chapter 5 trains its Table 1 with the learner's ``train_with_schedule`` this way. The loop
must see every batch once per epoch with β at the global step, the history must hold the
means of what the loop reported, the cache must tell loops (and schedules) apart, and what
the loop cannot train must be refused with a message.
"""

from __future__ import annotations

import math

import pytest
import torch
from training_support import bars, fit_quiet, hand_written_loop, metrics_without_time, tiny_vae

from vae_course import loops, schedules
from vae_course.models import ConditionalVAE

pytestmark = pytest.mark.usefixtures("one_thread", "cpu_training")


def recording_loop(calls):
    """The package's loop, noting the batches and the β it was given at each call."""

    def loop(model, optimizer, batches, schedule, epochs):
        calls.append({"sizes": [x.shape[0] for x in batches], "betas": [], "epochs": epochs})
        records = loops.train_with_schedule(model, optimizer, batches, schedule, epochs)
        calls[-1]["betas"] = [record["beta"] for record in records]
        return records

    return loop


def test_the_loop_gets_every_batch_once_per_epoch_and_beta_at_the_global_step(train_data):
    calls = []
    schedule = schedules.LinearWarmup(10)
    history = fit_quiet(
        tiny_vae(), train_data, epochs=3, beta=schedule, loop=recording_loop(calls), cache=False
    )
    steps = math.ceil(len(train_data[0]) / 32)
    assert len(calls) == 3 and all(call["epochs"] == 1 for call in calls)
    assert all(sum(call["sizes"]) == len(train_data[0]) for call in calls)
    assert all(len(call["sizes"]) == steps for call in calls)
    betas = [beta for call in calls for beta in call["betas"]]
    assert betas == [schedule(t) for t in range(3 * steps)]
    assert history["beta"] == pytest.approx(
        [sum(betas[e * steps : (e + 1) * steps]) / steps for e in range(3)]
    )


def test_the_history_holds_the_size_weighted_means_of_the_loops_records(train_data, test_data):
    records_seen = []

    def loop(model, optimizer, batches, schedule, epochs):
        records = loops.train_with_schedule(model, optimizer, batches, schedule, epochs)
        records_seen.append((records, [x.shape[0] for x in batches]))
        return records

    history = fit_quiet(tiny_vae(), train_data, test_data=test_data, loop=loop, cache=False)
    for epoch, (records, sizes) in enumerate(records_seen):
        total = sum(sizes)
        for key, column in (("loss", "train_loss"), ("kl", "train_kl")):
            mean = sum(r[key] * b for r, b in zip(records, sizes, strict=True)) / total
            assert history[column][epoch] == pytest.approx(mean, rel=1e-5)
    assert history["train_elbo"][0] == pytest.approx(
        -(history["train_reconstruction"][0] + history["train_kl"][0])
    )
    assert history["test_kl"][-1] >= 0 and len(history.kl_per_dim[-1]) == 3  # from the test set
    assert history["train_loss"][-1] < history["train_loss"][0]


def test_the_same_loop_and_seed_reproduce_the_run_and_load_it_from_the_cache(train_data, capsys):
    first = fit_quiet(tiny_vae(), train_data, loop=loops.train_with_schedule)
    second = fit_quiet(tiny_vae(), train_data, loop=loops.train_with_schedule)
    assert "Loaded the trained VAE from the cache" in capsys.readouterr().out
    assert metrics_without_time(first) == metrics_without_time(second)
    again = fit_quiet(tiny_vae(), train_data, loop=loops.train_with_schedule, cache=False)
    assert [r["train_loss"] for r in again.epochs] == [r["train_loss"] for r in first.epochs]


def test_another_loop_a_changed_helper_or_another_schedule_misses_the_cache(train_data, capsys):
    def scaled(x):
        return x

    def my_loop(model, optimizer, batches, schedule, epochs):
        return loops.train_with_schedule(
            model, optimizer, [scaled(x) for x in batches], schedule, 1
        )

    fit_quiet(tiny_vae(), train_data, loop=my_loop)
    capsys.readouterr()
    fit_quiet(tiny_vae(), train_data, loop=loops.train_with_schedule)
    assert "Loaded" not in capsys.readouterr().out  # another loop
    fit_quiet(tiny_vae(), train_data, loop=my_loop)
    assert "Loaded" in capsys.readouterr().out  # the same loop again

    def scaled(x):  # noqa: F811 - the learner edits the helper and re-runs the cell
        return x.clamp(0, 1)

    fit_quiet(tiny_vae(), train_data, loop=my_loop)
    assert "Loaded" not in capsys.readouterr().out
    fit_quiet(tiny_vae(), train_data, loop=my_loop, beta=lambda t: min(1.0, t / 5))
    assert "Loaded" not in capsys.readouterr().out  # the same loop, another β


def test_a_learners_loop_without_the_package_trains_as_well(train_data, test_data):
    """An honest learner's loop, written from scratch (no vae_course inside)."""
    history = fit_quiet(
        tiny_vae(), train_data, epochs=4, test_data=test_data, loop=hand_written_loop, cache=False
    )
    assert history["test_elbo"][-1] > history["test_elbo"][0]


@pytest.mark.parametrize(
    ("returns", "message"),
    [
        (lambda batches: None, "it returned NoneType"),
        (lambda batches: [], "it returned 0 records"),
        (lambda batches: [{"loss": 1.0}] * len(batches), "must be a dict of four numbers"),
        (
            lambda batches: (
                [dict(beta=1.0, loss=math.nan, reconstruction=1.0, kl=0.0)] * len(batches)
            ),
            "training diverged at global step 0",
        ),
    ],
)
def test_a_loop_that_returns_the_wrong_records_is_told_what_fit_needs(train_data, returns, message):
    def loop(model, optimizer, batches, schedule, epochs):
        return returns(batches)

    with pytest.raises(ValueError, match=message):
        fit_quiet(tiny_vae(), train_data, loop=loop, cache=False)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"free_bits": 0.5}, "free_bits"),
        ({"likelihood": "gaussian"}, "likelihood='gaussian'"),
        ({"beta": schedules.CapacityAnnealing(25.0, 10.0, 100)}, "replaces the KL term"),
        ({"loop": "train_with_schedule"}, "loop must be a training loop function"),
    ],
)
def test_what_the_loop_cannot_train_is_refused(train_data, settings, message):
    settings = {"loop": loops.train_with_schedule, **settings}
    with pytest.raises((ValueError, TypeError), match=message):
        fit_quiet(tiny_vae(), train_data, cache=False, **settings)


def test_a_conditional_model_is_refused():
    images, labels = bars(64, seed=3)
    model = ConditionalVAE(num_classes=2, latent_dim=2, hidden_dims=(16,), input_shape=(1, 8, 8))
    with pytest.raises(ValueError, match="a conditional model"):
        fit_quiet(model, (images, labels), loop=loops.train_with_schedule, cache=False)


def test_fit_without_a_loop_is_unchanged_by_the_option(train_data):
    torch.manual_seed(0)
    plain = fit_quiet(tiny_vae(), train_data, cache=False)
    explicit = fit_quiet(tiny_vae(), train_data, cache=False, loop=None)
    assert metrics_without_time(plain) == metrics_without_time(explicit)
