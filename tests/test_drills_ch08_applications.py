"""Chapter 08's drills (anomaly_score, interpolate, attribute_vector) and the package's
applications module: every catalogued mistake fails with its own message, honest
alternatives pass, broken answers get a clear message, and the references do what their
docstrings state."""

from __future__ import annotations

import time

import pytest
import torch
import torch.nn.functional as F
from ch08_alternatives import ALTERNATIVES

from vae_course import applications, drills
from vae_course.drills import timed
from vae_course.drills.catalogue import ch08_applications as ch08
from vae_course.drills.catalogue import ch08_latent_edits

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

DRILL_IDS = ("anomaly_score", "interpolate", "attribute_vector")


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("VAE_COURSE_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("VAE_COURSE_MODE", raising=False)


def check(drill_id, answer):
    return drills.check(drill_id, answer, record=False)


# ----------------------------------------------------------------------------- the catalogue


def test_chapter_08_has_three_graded_implementation_drills_with_eight_mistakes_each():
    drills_08 = [d for d in drills.all_drills() if d.chapter == "08"]
    assert {d.id for d in drills_08} >= set(DRILL_IDS)
    for drill_id in DRILL_IDS:
        drill = drills.get_drill(drill_id)
        assert drill.kind == "function"
        assert len(drill.mistakes) >= 8, drill_id
        messages = [m.message for m in drill.mistakes]
        assert len(set(messages)) == len(messages), drill_id


MISTAKES = [(d.id, m) for d in ch08.DRILLS + ch08_latent_edits.DRILLS for m in d.mistakes]


@pytest.mark.parametrize(("drill_id", "mistake"), MISTAKES, ids=lambda v: getattr(v, "id", v))
def test_each_mistake_fails_with_its_own_message(drill_id, mistake):
    result = check(drill_id, mistake.implementation)
    assert result.status == "failed" and result.score == 0
    assert result.feedback[0] == mistake.message, result.feedback


# ----------------------------------------------------------------------------- alternatives


CASES = [(drill_id, fn) for drill_id, fns in ALTERNATIVES.items() for fn in fns]


@pytest.mark.parametrize(("drill_id", "fn"), CASES, ids=lambda v: getattr(v, "__name__", v))
def test_honest_alternatives_pass(drill_id, fn):
    result = check(drill_id, fn)
    assert result.passed and result.score == result.max_score, result.feedback


def test_every_drill_has_at_least_three_alternatives():
    assert all(len(ALTERNATIVES[d]) >= 3 for d in DRILL_IDS)


# ----------------------------------------------------------------------------- broken answers


def _raises(*args):
    raise ValueError("oops")


def _endless(*args):
    while True:
        pass


@pytest.mark.parametrize("drill_id", DRILL_IDS)
def test_a_non_callable_answer_gets_a_clear_message(drill_id):
    result = check(drill_id, 3.0)
    assert result.status == "failed"
    assert "itself (no parentheses)" in result.feedback[0]


@pytest.mark.parametrize("drill_id", DRILL_IDS)
def test_a_raising_answer_gets_a_clear_message(drill_id):
    result = check(drill_id, _raises)
    assert result.status == "failed" and result.score == 0
    assert "ValueError" in " ".join(result.feedback) and "oops" in " ".join(result.feedback)


@pytest.mark.parametrize("drill_id", DRILL_IDS)
def test_a_hanging_answer_is_stopped(drill_id, monkeypatch):
    monkeypatch.setattr(timed, "CALL_LIMIT_S", 1.0)
    start = time.perf_counter()
    result = check(drill_id, _endless)
    assert result.status == "failed"
    assert "still running after" in result.feedback[0]
    assert time.perf_counter() - start < 60  # bounded, not a speed assertion


@pytest.mark.parametrize("drill_id", DRILL_IDS)
def test_the_prompt_states_the_contract(drill_id):
    text = drills.get_drill(drill_id).full_prompt()
    assert f"{drills.get_drill(drill_id).answer_name}(model" in text
    assert "model.eval()" in text and "torch.no_grad()" in text


def test_a_sampling_answer_is_told_why_even_when_values_match_nothing():
    def noisy(model, x):
        with torch.no_grad():
            logits, _, _ = model(x)  # forward samples z
            return F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum((1, 2, 3))

    result = check("anomaly_score", noisy)
    assert result.status == "failed"
    assert "samples z" in " ".join(result.feedback) or "sample z" in result.feedback[0]


# ----------------------------------------------------------------------------- the references


@pytest.fixture
def model():
    torch.manual_seed(0)
    return ch08.TinyVAE(dropout=0.5)  # left in training mode, as after fit


def _images(n, seed=0):
    return torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(seed))


def test_anomaly_score_is_the_summed_bce_of_the_mean_code_and_restores_the_mode(model):
    x = _images(5)
    scores = applications.anomaly_score(model, x)
    assert scores.shape == (5,) and not scores.requires_grad
    assert model.training  # mode restored
    model.eval()
    with torch.no_grad():
        logits = model.decode(model.encode(x)[0])
    for i in range(5):
        one = F.binary_cross_entropy_with_logits(logits[i], x[i], reduction="sum")
        assert torch.isclose(scores[i], one, rtol=1e-5)
    assert (scores > 0).all()  # a BCE against grey pixels is positive


def test_interpolate_starts_and_ends_at_the_reconstructions(model):
    x = _images(2, seed=1)
    path = applications.interpolate(model, x[0], x[1], 6)
    assert path.shape == (6, 1, 28, 28) and not path.requires_grad
    assert ((path >= 0) & (path <= 1)).all()
    model.eval()
    with torch.no_grad():
        ends = torch.sigmoid(model.decode(model.encode(x)[0]))
    torch.testing.assert_close(path[0], ends[0])
    torch.testing.assert_close(path[-1], ends[1])
    backwards = applications.interpolate(model, x[1], x[0], 6)
    torch.testing.assert_close(backwards, path.flip(0))


def test_interpolate_needs_two_steps(model):
    with pytest.raises(ValueError, match="at least 2"):
        applications.interpolate(model, _images(1)[0], _images(1)[0], 1)


def test_attribute_vector_is_antisymmetric_and_zero_for_equal_groups(model):
    a, b = _images(4, seed=2), _images(7, seed=3)
    v = applications.attribute_vector(model, a, b)
    assert v.shape == (ch08.LATENT,)
    torch.testing.assert_close(applications.attribute_vector(model, b, a), -v)
    torch.testing.assert_close(applications.attribute_vector(model, a, a), torch.zeros_like(v))


def test_few_labels_is_stratified_seeded_and_distinct():
    labels = torch.arange(10).repeat(30)
    picked = applications.few_labels(labels, 4, seed=1)
    assert len(picked) == 40 and len(set(picked.tolist())) == 40
    assert torch.bincount(labels[picked]).tolist() == [4] * 10
    assert torch.equal(picked, applications.few_labels(labels, 4, seed=1))
    assert not torch.equal(picked, applications.few_labels(labels, 4, seed=2))
    with pytest.raises(ValueError, match="fewer than"):
        applications.few_labels(labels, 31, seed=0)


def test_logistic_regression_learns_separable_features_and_not_noise():
    g = torch.Generator().manual_seed(0)
    labels = torch.arange(3).repeat(40)
    centres = torch.tensor([[4.0, 0.0], [0.0, 4.0], [-4.0, -4.0]])
    features = centres[labels] + 0.3 * torch.randn(120, 2, generator=g)
    accuracy = applications.logistic_regression_accuracy(
        features[:60], labels[:60], features[60:], labels[60:]
    )
    assert accuracy == 1.0
    threads = torch.get_num_threads()
    noise = torch.randn(120, 2, generator=g)
    chance = applications.logistic_regression_accuracy(
        noise[:60], labels[:60], noise[60:], labels[60:]
    )
    assert chance < 0.7
    assert torch.get_num_threads() == threads  # restored after the single-threaded fit


def test_perturbed_code_images_keep_labels_and_shrink_to_the_reconstruction(model):
    x, y = _images(3, seed=4), torch.tensor([2, 5, 7])
    new, labels = applications.perturbed_code_images(model, x, y, copies=4, scale=1.0, seed=0)
    assert new.shape == (12, 1, 28, 28) and labels.tolist() == [2] * 4 + [5] * 4 + [7] * 4
    assert ((new >= 0) & (new <= 1)).all() and model.training
    again, _ = applications.perturbed_code_images(model, x, y, copies=4, scale=1.0, seed=0)
    torch.testing.assert_close(new, again)  # seeded
    tiny, _ = applications.perturbed_code_images(model, x, y, copies=2, scale=1e-6, seed=0)
    model.eval()
    with torch.no_grad():
        recon = torch.sigmoid(model.decode(model.encode(x)[0]))
    torch.testing.assert_close(tiny, recon.repeat_interleave(2, 0), atol=1e-4, rtol=1e-4)
    assert (new - recon.repeat_interleave(4, 0)).abs().max() > 1e-3  # scale 1 moves the codes


def test_the_module_docstrings_name_the_chapter():
    for name in applications.__all__:
        assert "08_applications" in (getattr(applications, name).__doc__ or ""), name
