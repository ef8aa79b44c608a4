"""beta schedules follow their formulas; free bits floors each dimension and stops its gradient."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from vae_course.schedules import (
    BetaSchedule,
    CapacityAnnealing,
    Constant,
    Cyclical,
    LinearWarmup,
    SigmoidAnnealing,
    as_schedule,
    cyclical_beta,
    free_bits_kl,
)


def test_constant():
    schedule = Constant(4.0)
    assert all(schedule(step) == 4.0 for step in (0, 1, 10, 10**6))
    assert repr(schedule) == "Constant(beta=4.0)"


@pytest.mark.parametrize("warmup, beta_max", [(10, 1.0), (1000, 4.0), (7, 0.5)])
def test_linear_warmup_formula(warmup, beta_max):
    schedule = LinearWarmup(warmup, beta_max)
    for step in (0, 1, warmup // 3, warmup // 2, warmup - 1, warmup, 2 * warmup, 10 * warmup):
        assert schedule(step) == pytest.approx(beta_max * min(1.0, step / warmup))
    assert schedule(0) == 0.0
    values = schedule.values(2 * warmup)
    assert len(values) == 2 * warmup
    assert all(b >= a for a, b in zip(values, values[1:], strict=False))
    assert LinearWarmup(0, 2.0)(0) == 2.0


@pytest.mark.parametrize("midpoint, steepness", [(2500, 0.0025), (100, None), (50.0, 0.3)])
def test_sigmoid_annealing_formula(midpoint, steepness):
    schedule = SigmoidAnnealing(midpoint, steepness, beta_max=2.0)
    k = steepness if steepness is not None else 10.0 / midpoint
    for step in (0, 1, int(midpoint) // 2, int(midpoint), int(midpoint) * 2, int(midpoint) * 5):
        expected = 2.0 / (1.0 + math.exp(-k * (step - midpoint)))
        assert schedule(step) == pytest.approx(expected)
    assert schedule(int(midpoint)) == pytest.approx(1.0)  # half of beta_max
    values = schedule.values(int(3 * midpoint))
    assert all(b >= a for a, b in zip(values, values[1:], strict=False))
    assert SigmoidAnnealing(10, 10.0)(0) >= 0.0  # no overflow far from the midpoint


def frange_cycle_linear(n_iter, start=0.0, stop=1.0, n_cycle=4, ratio=0.5):
    """Fu et al.'s reference code (github.com/haofuml/cyclical_annealing), transcribed as is."""
    schedule = np.ones(n_iter) * stop
    period = n_iter / n_cycle
    step = (stop - start) / (period * ratio)  # linear schedule
    for c in range(n_cycle):
        v, i = start, 0
        while v <= stop and (int(i + c * period) < n_iter):
            schedule[int(i + c * period)] = v
            v += step
            i += 1
    return schedule


@pytest.mark.parametrize(
    "total, n_cycles, ratio, beta_max",
    [(1000, 4, 0.5, 1.0), (999, 3, 0.25, 2.0), (100, 5, 1.0, 1.0), (40, 1, 0.8, 0.5),
     (10, 3, 0.5, 1.0), (70, 3, 0.5, 1.0), (130, 4, 0.3, 2.0), (97, 7, 1.0, 1.0)],
)  # fmt: skip
def test_cyclical_follows_the_reference_code_and_has_n_cycles_ramps(
    total, n_cycles, ratio, beta_max
):
    schedule = Cyclical(total, n_cycles, ratio, beta_max)
    expected = frange_cycle_linear(total, 0.0, beta_max, n_cycles, ratio)
    values = schedule.values(total)
    assert np.allclose(values, expected, rtol=0, atol=1e-9)
    steps = range(0, total, max(1, total // 37))
    assert [cyclical_beta(s, total, n_cycles, ratio, beta_max) for s in steps] == [
        pytest.approx(expected[s], abs=1e-9) for s in steps
    ]
    restarts = [s for s in range(1, total) if values[s] < values[s - 1]]
    assert len(restarts) + 1 == n_cycles  # n_cycles ramps, each starting from 0
    assert restarts == [math.floor(c * total / n_cycles) for c in range(1, n_cycles)]
    assert values[0] == 0.0
    assert max(values) <= beta_max + 1e-12
    if ratio < 1:
        assert values.count(beta_max) > 0
    assert schedule(total + 5) == beta_max  # after the schedule ends beta stays at beta_max


def test_cyclical_restarts_at_the_floor_when_cycles_are_not_whole():
    # T = 10, M = 3: P = 10/3, cycles start at floor(c P) = 0, 3, 6 (ceil would give 0, 4, 7);
    # the ramp rises by 1 / (R P) = 0.6 per step and is capped at 1
    assert Cyclical(10, n_cycles=3, ratio=0.5).values(10) == pytest.approx(
        [0.0, 0.6, 1.0, 0.0, 0.6, 1.0, 0.0, 0.6, 1.0, 1.0]
    )


def test_cyclical_repr_is_readable():
    assert repr(Cyclical(1000)) == "Cyclical(total_steps=1000, n_cycles=4, ratio=0.5, beta_max=1.0)"


def test_capacity_annealing_formula_and_kl_term():
    schedule = CapacityAnnealing(c_max=25.0, gamma=1000.0, total_steps=100)
    for step in (0, 10, 50, 100, 300):
        assert schedule.capacity(step) == pytest.approx(25.0 * min(1.0, step / 100))
    kl = torch.tensor([3.0, 5.0, 10.0], requires_grad=True)  # batch mean 6
    term = schedule.kl_term(kl, 40)  # C = 10
    assert term.dim() == 0
    assert float(term.detach()) == pytest.approx(1000.0 * abs(6.0 - 10.0))
    term.backward()
    # KL below the capacity: gradient descent pushes the KL up
    assert (kl.grad < 0).all()
    assert float(schedule.kl_term(torch.tensor(6.0), 40)) == pytest.approx(4000.0)
    assert schedule.values(5) == [schedule.capacity(s) for s in range(5)]
    assert "c_max=25.0" in repr(schedule)


def test_every_schedule_has_a_kl_term_weighting_the_batch_mean():
    kl = torch.tensor([1.0, 2.0, 6.0])
    for schedule in (Constant(2.0), LinearWarmup(10), SigmoidAnnealing(10), Cyclical(100)):
        for step in (0, 3, 20):
            expected = schedule(step) * 3.0
            assert float(schedule.kl_term(kl, step)) == pytest.approx(expected)
    with pytest.raises(ValueError, match="per-example"):
        Constant(1.0).kl_term(torch.ones(4, 3), 0)


def test_as_schedule():
    assert as_schedule(2.5) == Constant(2.5)
    warmup = LinearWarmup(5)
    assert as_schedule(warmup) is warmup
    wrapped = as_schedule(lambda step: 0.1 * step)
    assert isinstance(wrapped, BetaSchedule)
    assert wrapped(3) == pytest.approx(0.3)
    assert wrapped.values(3) == pytest.approx([0.0, 0.1, 0.2])
    with pytest.raises(TypeError):
        as_schedule("beta")


@pytest.mark.parametrize(
    "make",
    [
        lambda: Constant(-1.0),
        lambda: Constant(float("nan")),
        lambda: LinearWarmup(-5),
        lambda: LinearWarmup(2.5),
        lambda: SigmoidAnnealing(0),
        lambda: SigmoidAnnealing(100, steepness=-1.0),
        lambda: Cyclical(0),
        lambda: Cyclical(100, n_cycles=0),
        lambda: Cyclical(3, n_cycles=4),
        lambda: Cyclical(100, ratio=0.0),
        lambda: Cyclical(100, ratio=1.5),
        lambda: CapacityAnnealing(-1.0, 100.0, 10),
        lambda: CapacityAnnealing(25.0, 100.0, 0),
    ],
)
def test_bad_arguments_give_value_errors(make):
    with pytest.raises(ValueError):
        make()


@pytest.mark.parametrize("bad_step", [-1, 1.5, "3", True])
def test_bad_steps_give_value_errors(bad_step):
    with pytest.raises(ValueError, match="step"):
        LinearWarmup(10)(bad_step)


def test_free_bits_formula_and_floor():
    g = torch.Generator().manual_seed(0)
    kl = torch.rand(32, 6, generator=g) * torch.tensor([0.01, 0.05, 0.3, 1.0, 2.0, 5.0])
    for lam in (0.0, 0.1, 0.5, 3.0):
        value = free_bits_kl(kl, lam)
        expected = sum(max(lam, float(kl[:, j].mean())) for j in range(6))
        assert float(value) == pytest.approx(expected, rel=1e-6)
        assert float(value) >= 6 * lam - 1e-6  # no dimension counts for less than lambda
    torch.testing.assert_close(free_bits_kl(kl, 0.0), kl.mean(0).sum())


def test_free_bits_averages_over_the_batch_before_the_max():
    # dimension 0: 0 for half the batch, 2 for the other half -> mean 1 > lambda = 0.5
    kl = torch.tensor([[0.0], [2.0], [0.0], [2.0]])
    assert float(free_bits_kl(kl, 0.5)) == pytest.approx(1.0)  # not mean(max(0.5, kl)) = 1.25


def test_free_bits_passes_gradients_only_through_dimensions_above_lambda():
    batch = 8
    means = torch.tensor([0.05, 0.2, 1.0, 3.0])
    kl = (means.repeat(batch, 1) + 0.01 * torch.randn(batch, 4)).requires_grad_()
    free_bits_kl(kl, 0.5).backward()
    above = kl.detach().mean(0) > 0.5
    assert torch.equal(kl.grad[:, ~above], torch.zeros(batch, int((~above).sum())))
    torch.testing.assert_close(kl.grad[:, above], torch.full((batch, int(above.sum())), 1 / batch))


def test_free_bits_rejects_bad_input():
    with pytest.raises(ValueError, match=r"\(B, d\)"):
        free_bits_kl(torch.zeros(5), 0.5)
    with pytest.raises(ValueError, match="free_bits"):
        free_bits_kl(torch.zeros(5, 2), -0.1)
    with pytest.raises(TypeError):
        free_bits_kl([[0.0]], 0.5)
