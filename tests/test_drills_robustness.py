"""A checker never raises and never hangs: every way a learner's answer can go wrong becomes
a clear failing (or "not attempted") Result."""

from __future__ import annotations

import sys
import threading
import time

import numpy as np
import pytest
import torch

from vae_course import drills
from vae_course.drills import timed
from vae_course.drills.code_drill import CodeDrill
from vae_course.drills.core import STATUSES

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("VAE_COURSE_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("VAE_COURSE_MODE", raising=False)


@pytest.fixture
def short_limit(monkeypatch):
    """One second per call keeps the endless-loop tests short."""
    monkeypatch.setattr(timed, "CALL_LIMIT_S", 1.0)


def kl(mu, log_var):
    return 0.5 * (mu.pow(2) + log_var.exp() - log_var - 1).sum(dim=1)


def check_kl(fn):
    return drills.check("kl_divergence", fn, record=False)


# ----------------------------------------------------------------------------- not attempted


def _stub_function(*args, **kwargs):
    raise NotImplementedError("Exercise: write your code here")


class _StubAutoencoder(torch.nn.Module):
    def __init__(self, latent_dim):
        raise NotImplementedError("Exercise 1.1")


def _stub_for(drill):
    return _StubAutoencoder if drill.kind == "module" else _stub_function


@pytest.mark.parametrize("drill", drills.all_drills(), ids=lambda d: d.id)
def test_ellipsis_is_not_attempted(drill):
    result = drills.check(drill.id, ..., record=False)
    assert result.status == "not attempted" and result.score == 0
    assert "not attempted" in result.feedback[0].lower()


@pytest.mark.parametrize(
    "drill",
    [d for d in drills.all_drills() if isinstance(d, CodeDrill)],
    ids=lambda d: d.id,
)
def test_not_implemented_stub_is_not_attempted(drill):
    result = drills.check(drill.id, _stub_for(drill), record=False)
    assert result.status == "not attempted" and result.score == 0
    assert result.feedback == [
        "Exercise not attempted yet: write your code where it says NotImplementedError, then "
        "re-run this cell."
    ]


@pytest.mark.parametrize(
    ("drill_id", "answer"),
    [
        ("latent_dim_tradeoff", {"measurements": {2: {"reconstruction": ...}}, "conclusion": ...}),
        ("reparam_gradient_flow", {"why": ..., "dz_dmu": ..., "dz_dsigma": ...}),
        ("posterior_collapse_diagnosis", {"active_units": ..., "diagnosis": ..., "fixes": ...}),
    ],
)
def test_unfinished_dicts_are_not_attempted(drill_id, answer):
    assert drills.check(drill_id, answer, record=False).status == "not attempted"


# ----------------------------------------------------------------------------- never raises

ODD_ANSWERS = [
    None,
    -7,
    1.5,
    "x",
    "",
    [],
    {},
    (),
    set(),
    object(),
    torch.zeros(3),
    np.zeros(2),
    lambda: 1,
    lambda *a, **k: None,
    lambda *a, **k: "text",
    int,
    torch.nn.Module,
    {"measurements": None, "conclusion": None},
    {"why": 3, "dz_dmu": [], "dz_dsigma": None},
    {"active_units": "x", "diagnosis": 7, "fixes": 1.0},
]


@pytest.mark.parametrize("drill", drills.all_drills(), ids=lambda d: d.id)
def test_odd_answers_never_raise(drill):
    for answer in ODD_ANSWERS:
        result = drills.check(drill.id, answer, record=False)
        assert result.status in STATUSES
        assert result.status != "passed", (drill.id, answer)
        assert result.feedback and all(isinstance(line, str) for line in result.feedback)


# ----------------------------------------------------------------------------- function errors


def test_function_that_raises_names_the_error_and_the_line():
    def broken(mu, log_var):
        sigma = log_var.exp()
        return sigma.undefined_method()

    result = check_kl(broken)
    assert result.status == "failed" and result.score == 0
    text = result.feedback[0]
    assert "AttributeError" in text and "undefined_method" in text and "line" in text


def test_wrong_signature_is_reported():
    result = check_kl(lambda mu: mu.sum(dim=1))
    assert result.status == "failed" and "TypeError" in result.feedback[0]


@pytest.mark.parametrize(
    ("fn", "words"),
    [
        (lambda mu, log_var: kl(mu, log_var).tolist(), "a list"),
        (lambda mu, log_var: None, "None"),
        (lambda mu, log_var: "0.5", "another type"),
        (lambda mu, log_var: (kl(mu, log_var), kl(mu, log_var)), "tuple"),
        (lambda mu, log_var: kl(mu, log_var).unsqueeze(1), "shape"),
        (lambda mu, log_var: kl(mu, log_var).sum(), "shape"),
    ],
)
def test_wrong_type_or_shape_fails_clearly(fn, words):
    result = check_kl(fn)
    assert result.status == "failed"
    assert any(words in line for line in result.feedback), result.feedback


def test_passing_the_result_instead_of_the_function():
    result = check_kl(kl(torch.zeros(2, 3), torch.zeros(2, 3)))
    assert result.status == "failed" and "no parentheses" in result.feedback[0]


def test_autoencoder_instance_instead_of_class():
    result = drills.check("autoencoder", torch.nn.Linear(2, 2), record=False)
    assert result.status == "failed" and "class itself" in result.feedback[0]


def test_nan_output_fails():
    result = check_kl(lambda mu, log_var: kl(mu, log_var) * float("nan"))
    assert result.status == "failed"
    assert any("NaN" in line for line in result.feedback)


def test_nan_only_on_edge_cases_costs_a_point():
    def unstable(mu, log_var):
        out = kl(mu, log_var)
        return torch.where(log_var.abs().amax(dim=1) > 20, torch.full_like(out, float("nan")), out)

    result = check_kl(unstable)
    assert result.status == "partial"
    assert any("log σ² = −30" in line and "NaN" in line for line in result.feedback)


def test_float64_output_costs_a_point():
    result = check_kl(lambda mu, log_var: kl(mu.double(), log_var.double()))
    assert result.status == "partial" and result.score == result.max_score - 1
    assert any("float64" in line for line in result.feedback)


def test_tensor_created_on_the_cpu_is_caught_by_the_device_check():
    def cpu_constant(mu, log_var):
        ones = torch.ones(mu.shape)  # lives on the CPU whatever mu's device
        return 0.5 * (mu.pow(2) + log_var.exp() - log_var - ones).sum(dim=1)

    result = check_kl(cpu_constant)
    assert result.status == "partial"
    assert any("device" in line and "CPU" in line for line in result.feedback)


def test_reparameterize_with_randn_of_a_shape_is_caught_by_the_device_check():
    def cpu_noise(mu, log_var):
        return mu + torch.exp(0.5 * log_var) * torch.randn(mu.shape)

    result = drills.check("reparameterize", cpu_noise, record=False)
    assert result.status == "partial"
    assert any("randn_like" in line for line in result.feedback)


def test_output_moved_to_the_cpu_is_caught_by_the_device_check(monkeypatch):
    from vae_course.drills import function

    # simulate a device mismatch without a GPU: the check device is "meta"
    monkeypatch.setattr(function, "device_for_check", lambda: "meta")

    def cpu_result(mu, log_var):
        out = kl(mu, log_var)
        return torch.zeros(out.shape) if out.device.type == "meta" else out

    result = check_kl(cpu_result)
    assert result.status == "partial"
    assert any("returns a tensor on cpu" in line for line in result.feedback)


def test_input_modified_in_place_is_reported():
    def pixel_mean_mutating(images):
        means = images.mean(dim=(1, 2, 3))
        images.clamp_(max=0.5)
        return means

    result = drills.check("pixel_mean", pixel_mean_mutating, record=False)
    assert result.status == "partial"
    assert any("in place" in line and "`images`" in line for line in result.feedback)


def test_in_place_on_an_input_that_requires_grad_fails_with_advice():
    def mutating(mu, log_var):
        log_var.exp_()
        return kl(mu, log_var)

    result = check_kl(mutating)
    assert result.status == "failed"
    assert any("in place" in line for line in result.feedback)


def test_system_exit_and_keyboard_interrupt_become_results():
    result = check_kl(lambda mu, log_var: sys.exit(1))
    assert result.status == "failed" and "exit" in result.feedback[0]

    def interrupted(mu, log_var):
        raise KeyboardInterrupt

    result = check_kl(interrupted)
    assert result.status == "failed" and "interrupted" in result.feedback[0]


# ----------------------------------------------------------------------------- time limits


def _endless(mu, log_var):
    while True:
        pass


def _stubborn(mu, log_var):
    while True:
        try:
            time.sleep(0.01)
        except Exception:  # a learner's overly broad except must not defeat the limit
            pass


def _sleeper(mu, log_var):
    time.sleep(100)
    return kl(mu, log_var)


@pytest.mark.parametrize("fn", [_endless, _stubborn, _sleeper], ids=lambda f: f.__name__)
def test_endless_or_slow_functions_are_stopped(short_limit, fn):
    start = time.perf_counter()
    result = check_kl(fn)
    elapsed = time.perf_counter() - start
    assert result.status == "failed" and result.score == 0
    assert "still running after" in result.feedback[0]
    assert elapsed < 30  # bounded, not a timing assertion on speed


def test_endless_loop_with_the_default_limit(monkeypatch):
    result = check_kl(_endless)
    assert result.status == "failed"
    assert f"still running after {timed.CALL_LIMIT_S:g} s" in result.feedback[0]


def test_endless_loop_outside_the_main_thread(short_limit):
    box = {}
    worker = threading.Thread(target=lambda: box.setdefault("result", check_kl(_endless)))
    worker.start()
    worker.join(60)
    assert not worker.is_alive()
    result = box["result"]
    assert result.status == "failed" and "still running after" in result.feedback[0]


def test_thread_fallback_stops_a_pure_python_loop():
    outcome = timed._call_in_thread(_endless, (None, None), {}, 0.5)
    assert outcome.timed_out and not outcome.still_running


def test_alarm_is_restored_after_a_check():
    import signal

    before = signal.getsignal(signal.SIGALRM)
    check_kl(kl)
    assert signal.getsignal(signal.SIGALRM) == before
    assert signal.getitimer(signal.ITIMER_REAL)[0] == 0.0


def test_learner_rng_state_is_not_disturbed():
    torch.manual_seed(42)
    expected = torch.rand(3)
    torch.manual_seed(42)
    drills.check(
        "reparameterize", lambda mu, lv: mu + torch.randn_like(mu) * (0.5 * lv).exp(), record=False
    )
    assert torch.equal(torch.rand(3), expected)


def test_grad_mode_of_the_caller_does_not_matter():
    with torch.no_grad():
        assert check_kl(kl).passed


# ----------------------------------------------------------------------------- value answers


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        ("zero", "string"),
        ("0.0", "remove the quotes"),
        (None, "None"),
        ([0.0, 1.0], "list"),
        (torch.zeros(3), "tensor with 3 values"),
        (np.zeros(4), "array with 4 values"),
        (True, "boolean"),
        (float("nan"), "finite"),
        ({"value": 0.0}, "dict"),
    ],
)
def test_numeric_answers_of_the_wrong_type(answer, words):
    result = drills.check("ae_initial_loss", answer, record=False)
    assert result.status == "failed"
    assert words in result.feedback[0], result.feedback


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (3, "int"),
        (None, "None"),
        (["a", 1], "contains a int"),
        ("z", "not one of the options"),
        ("", "did not choose"),
        (set(), "did not choose"),
        (torch.tensor(1), "Tensor"),
        ("abz", "not one of the options"),
    ],
)
def test_choice_answers_of_the_wrong_type(answer, words):
    result = drills.check("log_var_rationale", answer, record=False)
    assert result.status == "failed"
    assert words in result.feedback[0], result.feedback


def test_single_choice_needs_exactly_one_letter():
    q = drills.question("reparam_gradient_flow", seed=0)
    result = drills.check(q, {"why": {"a", "b"}, "dz_dmu": 1.0, "dz_dsigma": q.eps}, record=False)
    assert result.status == "partial"
    assert any("exactly one" in line for line in result.feedback)
