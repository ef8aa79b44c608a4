"""The course's drills: the contract table, every catalogued mistake, correct alternatives.

Every entry of every mistake catalogue is a test case (adding an entry adds a test): the
wrong implementation must fail with that entry's message. Every implementation drill
accepts at least three genuinely different correct implementations.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import test_drills_ch02_my_vae  # the my_vae drill's honest alternatives
import test_drills_ch04_train_step  # the vae_train_step drill's honest alternatives
import torch
import torch.nn.functional as F
from ch08_alternatives import ALTERNATIVES as CH08_ALTERNATIVES
from torch import nn

from vae_course import drills
from vae_course.drills.catalogue import ch09_olympiad
from vae_course.drills.code_drill import CodeDrill

# some catalogued mistakes make PyTorch warn (that is part of the mistake)
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("VAE_COURSE_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("VAE_COURSE_MODE", raising=False)


# The DRILL TABLE of the project brief: id -> (chapter, kind, answer_name).
DRILL_TABLE = {
    "pixel_mean": ("00", "function", "pixel_mean"),
    "autoencoder": ("01", "module", "MyAutoencoder"),
    "ae_train_step": ("01", "function", "train_step"),
    "ae_initial_loss": ("01", "numeric", "answer_initial_loss"),
    "log_var_rationale": ("02", "choice", "answer_log_var_rationale"),
    "latent_dim_tradeoff": ("02", "experiment", "latent_dim_results"),
    "my_vae": ("02", "module", "MyVAE"),
    "reparameterize": ("03", "function", "reparameterize"),
    "reparam_gradient_flow": ("03", "multipart", "answer_reparam_gradient_flow"),
    "rsample_builtin": ("03", "choice", "answer_rsample_builtin"),
    "kl_divergence": ("04", "function", "kl_divergence"),
    "kl_zero_case": ("04", "multipart", "answer_kl_zero"),
    "kl_by_hand": ("04", "numeric", "answer_kl_by_hand"),
    "vae_loss": ("04", "function", "vae_loss"),
    "vae_train_step": ("04", "function", "vae_train_step"),
    "iwae_bound": ("04", "function", "iwae_from_log_weights"),
    "beta_bound": ("05", "choice", "answer_beta_bound"),
    "cyclical_beta": ("05", "function", "cyclical_beta"),
    "train_with_schedule": ("05", "function", "train_with_schedule"),
    "free_bits_kl": ("06", "function", "free_bits_kl"),
    "active_units": ("06", "function", "active_units"),
    "posterior_collapse_diagnosis": ("06", "multipart", "answer_collapse_diagnosis"),
    "beta_vae_loss": ("07", "function", "beta_vae_loss"),
    "total_correlation": ("07", "function", "total_correlation"),
    "latent_traversal": ("07", "function", "latent_traversal"),
    "anomaly_score": ("08", "function", "anomaly_score"),
    "interpolate": ("08", "function", "interpolate_images"),
    "attribute_vector": ("08", "function", "latent_attribute_vector"),
}

IMPLEMENTATION_DRILLS = [d for d in drills.all_drills() if isinstance(d, CodeDrill)]
CATALOGUE = [(d.id, m) for d in IMPLEMENTATION_DRILLS for m in d.mistakes]


def test_registry_matches_the_drill_table():
    # chapter 09's practice pool and the olympiad problems (10, 11) are tested in
    # tests/test_olympiad*.py and tests/test_problems.py
    practice_items = {d.id for d in ch09_olympiad.ITEMS}
    registered = {
        d.id: (d.chapter, d.kind, d.answer_name)
        for d in drills.all_drills()
        if d.id not in practice_items and d.chapter < "09"
    }
    assert registered == DRILL_TABLE


def test_answer_names_are_unique_across_the_course():
    """A handed-out notebook's bound names select the drills it asks for: one name, one drill."""
    names = [d.answer_name for d in drills.all_drills()]
    assert sorted({n for n in names if names.count(n) > 1}) == []


@pytest.mark.parametrize("drill", drills.all_drills(), ids=lambda d: d.id)
def test_every_drill_is_complete(drill):
    assert drill.title and drill.prompt and drill.solution
    assert 2 <= len(drill.hints) <= 3
    assert drill.max_score > 0
    assert drill.answer_name in drill.full_prompt()  # the prompt says what to bind


@pytest.mark.parametrize("drill", IMPLEMENTATION_DRILLS, ids=lambda d: d.id)
def test_the_reference_passes_its_own_drill(drill):
    result = drill.judge(drill.reference_observation())
    assert result.passed, result.feedback


@pytest.mark.parametrize("drill", IMPLEMENTATION_DRILLS, ids=lambda d: d.id)
def test_handing_in_the_course_reference_is_refused(drill):
    """However it is reached (the reference itself, or a wrapper that calls it), an answer
    that runs the course's implementation earns nothing, with a message saying why."""
    reference = drill.reference()
    if isinstance(reference, type):
        wrapper = type("Wrapper", (reference,), {})
    else:

        def wrapper(*args, **kwargs):
            return reference(*args, **kwargs)

    for answer in (reference, wrapper):
        result = drills.check(drill.id, answer, record=False)
        assert result.status == "failed" and result.score == 0
        assert "calls the course's own code" in result.feedback[0], result.feedback


def test_required_catalogue_entries_exist():
    required = {
        "kl_divergence": {
            "missing_half",
            "wrong_sign",
            "missing_minus_one",
            "log_var_as_log_sigma",
            "log_var_as_sigma",
            "sum_over_batch",
            "mean_over_latent",
            "missing_mu_squared",
            "variance_squared",
            "wrong_dim",
            "detached",
            "numpy_result",
            "constant",
        },
        "reparameterize": {
            "variance_as_sigma",
            "log_var_as_sigma",
            "returning_mu",
            "torch_normal",
            "detached",
            "fixed_eps",
            "uniform_eps",
            "shared_eps",
            "no_grad",
        },
    }
    for drill_id, ids in required.items():
        present = {m.id for m in drills.get_drill(drill_id).mistakes}
        assert ids <= present, ids - present
    for drill in IMPLEMENTATION_DRILLS:
        assert len(drill.mistakes) >= 3, drill.id


@pytest.mark.parametrize(("drill_id", "mistake"), CATALOGUE, ids=lambda v: getattr(v, "id", v))
def test_each_catalogued_mistake_fails_with_its_message(drill_id, mistake):
    result = drills.check(drill_id, mistake.implementation, record=False)
    assert not result.passed
    assert result.status == "failed"
    assert result.feedback[0] == mistake.message, result.feedback


@pytest.mark.parametrize(("drill_id", "mistake"), CATALOGUE, ids=lambda v: getattr(v, "id", v))
def test_mistake_feedback_never_prints_a_tensor(drill_id, mistake):
    result = drills.check(drill_id, mistake.implementation, record=False)
    assert not any("tensor(" in line or "array(" in line for line in result.feedback)


def test_catalogue_messages_are_distinct():
    for drill in IMPLEMENTATION_DRILLS:
        messages = [m.message for m in drill.mistakes]
        assert len(set(messages)) == len(messages), drill.id


# ----------------------------------------------------------------------------- correct code


def _pm_dims(images):
    return images.mean(dim=(1, 2, 3))


def _pm_flatten(images):
    return images.flatten(1).mean(dim=1)


def _pm_sum_divide(images):
    return images.sum(dim=(1, 2, 3)) / images[0].numel()


class _MlpAutoencoder(nn.Module):
    def __init__(self, latent_dim):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, latent_dim)
        )
        self.decoder = nn.Sequential(nn.Linear(latent_dim, 128), nn.ReLU(), nn.Linear(128, 784))

    def encode(self, x):
        return self.encoder(x)

    def decode(self, z):
        return self.decoder(z).view(-1, 1, 28, 28)

    def forward(self, x):
        return self.decode(self.encode(x))


class _ConvAutoencoder(nn.Module):
    def __init__(self, latent_dim):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv2d(1, 8, 4, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv2d(8, 16, 4, stride=2, padding=1),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(16 * 7 * 7, latent_dim),
        )
        self.decoder = nn.Sequential(
            nn.Linear(latent_dim, 16 * 7 * 7),
            nn.ReLU(),
            nn.Unflatten(1, (16, 7, 7)),
            nn.ConvTranspose2d(16, 8, 4, stride=2, padding=1),
            nn.ReLU(),
            nn.ConvTranspose2d(8, 1, 4, stride=2, padding=1),
        )

    def encode(self, x):
        return self.encoder(x)

    def decode(self, z):
        return self.decoder(z)

    def forward(self, x):
        return self.decode(self.encode(x))


class _DropoutTanhAutoencoder(nn.Module):
    def __init__(self, latent_dim):
        super().__init__()
        self.latent_dim = latent_dim
        self.enc1 = nn.Linear(784, 64)
        self.drop = nn.Dropout(0.2)
        self.enc2 = nn.Linear(64, latent_dim)
        self.dec1 = nn.Linear(latent_dim, 64)
        self.dec2 = nn.Linear(64, 784)

    def encode(self, x):
        return self.enc2(self.drop(torch.tanh(self.enc1(x.reshape(x.shape[0], -1)))))

    def decode(self, z):
        return self.dec2(torch.tanh(self.dec1(z))).reshape(z.shape[0], 1, 28, 28)

    def forward(self, x):
        return self.decode(self.encode(x))


def _ts_solution(model, optimizer, x):
    optimizer.zero_grad()
    loss = F.binary_cross_entropy_with_logits(model(x), x, reduction="sum") / x.shape[0]
    loss.backward()
    optimizer.step()
    return loss.item()


def _ts_log_sigmoid(model, optimizer, x):
    model.zero_grad(set_to_none=True)
    logits = model(x)
    log_lik = x * F.logsigmoid(logits) + (1 - x) * F.logsigmoid(-logits)
    loss = -log_lik.sum(dim=(1, 2, 3)).mean()
    loss.backward()
    optimizer.step()
    return float(loss)


def _ts_mean_times_pixels(model, optimizer, x):
    optimizer.zero_grad()
    pixels = x[0].numel()
    loss = F.binary_cross_entropy_with_logits(model(x), x) * pixels
    loss.backward()
    optimizer.step()
    return loss.detach().item()


def _rp_closed(mu, log_var):
    return mu + torch.exp(0.5 * log_var) * torch.randn_like(mu)


def _rp_distributions(mu, log_var):
    return torch.distributions.Normal(mu, torch.sqrt(log_var.exp())).rsample()


def _rp_explicit_device(mu, log_var):
    eps = torch.randn(mu.shape, dtype=mu.dtype, device=mu.device)
    return eps * (log_var / 2).exp() + mu


def _kl_closed(mu, log_var):
    return 0.5 * (mu.pow(2) + log_var.exp() - log_var - 1).sum(dim=1)


def _kl_distributions(mu, log_var):
    q = torch.distributions.Normal(mu, torch.exp(0.5 * log_var))
    p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    return torch.distributions.kl_divergence(q, p).sum(dim=-1)


def _kl_float64_loop(mu, log_var):
    rows = []
    for i in range(mu.shape[0]):
        m, lv = mu[i].double(), log_var[i].double()
        rows.append(-0.5 * torch.sum(1 + lv - m * m - torch.exp(lv)))
    return torch.stack(rows).float()


def _vl_solution(logits, x, mu, log_var):
    batch = x.shape[0]
    reconstruction = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / batch
    kl = 0.5 * (mu.pow(2) + log_var.exp() - log_var - 1).sum() / batch
    return reconstruction + kl, reconstruction, kl


def _vl_per_example(logits, x, mu, log_var):
    per_pixel = F.binary_cross_entropy_with_logits(logits, x, reduction="none")
    reconstruction = per_pixel.flatten(1).sum(dim=1).mean()
    kl = (-0.5 * (1 + log_var - mu.pow(2) - log_var.exp()).sum(dim=1)).mean()
    return reconstruction + kl, reconstruction, kl


def _vl_log_sigmoid(logits, x, mu, log_var):
    per_pixel = -(x * F.logsigmoid(logits) + (1 - x) * F.logsigmoid(-logits))
    reconstruction = per_pixel.flatten(1).sum(dim=1).mean()
    kl = (-0.5 * (1 + log_var - mu**2 - log_var.exp())).sum(dim=1).mean()
    return reconstruction + kl, reconstruction, kl


def _iw_logsumexp(log_w):
    return torch.logsumexp(log_w, dim=0) - math.log(log_w.shape[0])


def _iw_max_shift(log_w):
    m = log_w.max(dim=0, keepdim=True).values
    return m.squeeze(0) + torch.log(torch.exp(log_w - m).mean(dim=0))


def _iw_float64(log_w):
    k = torch.tensor(float(log_w.shape[0]), dtype=torch.float64)
    return (torch.logsumexp(log_w.double(), dim=0) - torch.log(k)).float()


def _cb_formula(step, total_steps, n_cycles=4, ratio=0.5, beta_max=1.0):
    period = total_steps / n_cycles
    start = max(s for s in (math.floor(c * period) for c in range(n_cycles)) if s <= step)
    return float(beta_max * min(1.0, (step - start) / (ratio * period)))


def _cb_integer_arithmetic(step, total_steps, n_cycles=4, ratio=0.5, beta_max=1.0):
    # floor(c T / M) in exact integer arithmetic; the cycle holding `step` is the last start
    cycle = min(n_cycles - 1, ((step + 1) * n_cycles - 1) // total_steps)
    steps_in = step - (cycle * total_steps) // n_cycles
    ramp = ratio * total_steps / n_cycles
    return beta_max if steps_in >= ramp else beta_max * steps_in / ramp


def _cb_numpy(step, total_steps, n_cycles=4, ratio=0.5, beta_max=1.0):
    schedule = np.full(total_steps, beta_max, dtype=np.float64)
    period = total_steps / n_cycles
    for c in range(n_cycles):
        v, i = 0.0, 0
        while v <= beta_max and int(i + c * period) < total_steps:
            schedule[int(i + c * period)] = v
            v += beta_max / (period * ratio)
            i += 1
    return schedule[step]


def _tl_solution(model, optimizer, batches, schedule, epochs):
    history, step = [], 0
    for _ in range(epochs):
        for x in batches:
            beta = float(schedule(step))
            logits, mu, log_var = model(x)[:3]
            reconstruction = F.binary_cross_entropy_with_logits(logits, x, reduction="sum")
            reconstruction = reconstruction / x.shape[0]
            kl = (0.5 * (mu**2 + log_var.exp() - log_var - 1)).sum(dim=1).mean()
            loss = reconstruction + beta * kl
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            history.append(
                {"beta": beta, "loss": loss.item(), "reconstruction": reconstruction.item(),
                 "kl": kl.item()}
            )  # fmt: skip
            step += 1
    return history


def _tl_global_index(model, optimizer, batches, schedule, epochs):
    records = []
    for epoch in range(epochs):
        for index, x in enumerate(batches):
            beta = schedule(epoch * len(batches) + index)
            out = model(x)
            logits, mu, log_var = out[0], out[1], out[2]
            log_lik = x * F.logsigmoid(logits) + (1 - x) * F.logsigmoid(-logits)
            rec = -log_lik.sum(dim=(1, 2, 3)).mean()
            q = torch.distributions.Normal(mu, torch.exp(0.5 * log_var))
            p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
            kl = torch.distributions.kl_divergence(q, p).sum(dim=1).mean()
            model.zero_grad(set_to_none=True)
            (rec + beta * kl).backward()
            optimizer.step()
            records.append(
                dict(beta=float(beta), loss=float(rec + beta * kl), reconstruction=float(rec),
                     kl=float(kl))
            )  # fmt: skip
    return records


def _tl_chained_with_step_function(model, optimizer, batches, schedule, epochs):
    import itertools

    def one_step(x, beta):
        logits, mu, log_var = model(x)[:3]
        per_pixel = F.binary_cross_entropy_with_logits(logits, x, reduction="none")
        rec = per_pixel.flatten(1).sum(1).mean()
        kl = (-0.5 * (1 + log_var - mu.pow(2) - log_var.exp()).sum(1)).mean()
        loss = rec + beta * kl
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return {"loss": loss.item(), "reconstruction": rec.item(), "kl": kl.item()}

    everything = itertools.chain.from_iterable(itertools.repeat(batches, epochs))
    return [
        {"beta": float(schedule(t)), **one_step(x, float(schedule(t)))}
        for t, x in enumerate(everything)
    ]


def _fb_clamp(kl_per_dim, free_bits):
    return kl_per_dim.mean(dim=0).clamp(min=free_bits).sum()


def _fb_maximum(kl_per_dim, free_bits):
    means = kl_per_dim.sum(dim=0) / kl_per_dim.shape[0]
    return torch.maximum(means, torch.tensor(free_bits)).sum()


def _fb_relu(kl_per_dim, free_bits):
    return (F.relu(kl_per_dim.mean(dim=0) - free_bits) + free_bits).sum()


def _au_var(mu, threshold=0.01):
    return int((mu.var(dim=0) > threshold).sum())


def _au_biased(mu, threshold=0.01):
    centred = mu - mu.mean(dim=0, keepdim=True)
    return int((centred.pow(2).mean(dim=0) > threshold).sum().item())


def _au_numpy(mu, threshold=0.01):
    return int(np.sum(np.var(mu.numpy(), axis=0, ddof=1) > threshold))


def _bv_solution(logits, x, mu, log_var, beta):
    batch = x.shape[0]
    reconstruction = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / batch
    kl = 0.5 * (mu.pow(2) + log_var.exp() - log_var - 1).sum() / batch
    return reconstruction + beta * kl


def _bv_summed_then_divided(logits, x, mu, log_var, beta):
    batch = x.shape[0]
    reconstruction = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / batch
    kl = 0.5 * (mu.pow(2) + log_var.exp() - log_var - 1).sum() / batch
    return reconstruction + beta * kl


def _bv_per_example(logits, x, mu, log_var, beta):
    rec = F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(dim=(1, 2, 3))
    kl = -0.5 * (1 + log_var - mu.pow(2) - log_var.exp()).sum(dim=1)
    return (rec + beta * kl).mean()


def _tc_logsumexp(z, mu, log_var, dataset_size):
    diff = z.unsqueeze(1) - mu.unsqueeze(0)
    lv = log_var.unsqueeze(0)
    pairwise = -0.5 * (math.log(2 * math.pi) + lv + diff.pow(2) * torch.exp(-lv))
    norm = math.log(dataset_size * z.shape[0])
    log_qz = torch.logsumexp(pairwise.sum(dim=2), dim=1) - norm
    return log_qz - (torch.logsumexp(pairwise, dim=1) - norm).sum(dim=1)


def _tc_distributions(z, mu, log_var, dataset_size):
    posteriors = torch.distributions.Normal(mu.unsqueeze(0), torch.exp(0.5 * log_var).unsqueeze(0))
    pairwise = posteriors.log_prob(z.unsqueeze(1))  # (B, B, d)
    b, d = z.shape
    joint = torch.logsumexp(pairwise.sum(-1), dim=1)
    marginals = torch.logsumexp(pairwise, dim=1).sum(-1)
    return joint - marginals + (d - 1) * math.log(dataset_size * b)


def _tc_log_mean_exp_loop(z, mu, log_var, dataset_size):
    # no 2*pi constant (it cancels), log-mean-exp over the batch, one sample at a time
    rows = []
    for i in range(z.shape[0]):
        terms = -0.5 * (log_var + (z[i] - mu).pow(2) / log_var.exp())  # (B, d)
        mean_exp = math.log(z.shape[0])
        joint = torch.logsumexp(terms.sum(dim=1), dim=0) - mean_exp - math.log(dataset_size)
        marginal = torch.logsumexp(terms, dim=0) - mean_exp - math.log(dataset_size)
        rows.append(joint - marginal.sum())
    return torch.stack(rows)


from test_drills_ch07_traversal import _lt_loop, _lt_mask, _lt_repeat  # noqa: E402

CORRECT = {
    "pixel_mean": [_pm_dims, _pm_flatten, _pm_sum_divide],
    "autoencoder": [_MlpAutoencoder, _ConvAutoencoder, _DropoutTanhAutoencoder],
    "my_vae": test_drills_ch02_my_vae.ALTERNATIVES,
    "ae_train_step": [_ts_solution, _ts_log_sigmoid, _ts_mean_times_pixels],
    "reparameterize": [_rp_closed, _rp_distributions, _rp_explicit_device],
    "kl_divergence": [_kl_closed, _kl_distributions, _kl_float64_loop],
    "vae_loss": [_vl_solution, _vl_per_example, _vl_log_sigmoid],
    "vae_train_step": test_drills_ch04_train_step.ALTERNATIVES,
    "iwae_bound": [_iw_logsumexp, _iw_max_shift, _iw_float64],
    "cyclical_beta": [_cb_formula, _cb_integer_arithmetic, _cb_numpy],
    "train_with_schedule": [_tl_solution, _tl_global_index, _tl_chained_with_step_function],
    "free_bits_kl": [_fb_clamp, _fb_maximum, _fb_relu],
    "active_units": [_au_var, _au_biased, _au_numpy],
    "beta_vae_loss": [_bv_solution, _bv_summed_then_divided, _bv_per_example],
    "total_correlation": [_tc_logsumexp, _tc_distributions, _tc_log_mean_exp_loop],
    "latent_traversal": [_lt_repeat, _lt_loop, _lt_mask],
    **CH08_ALTERNATIVES,
}


def test_every_implementation_drill_has_three_correct_alternatives():
    # the olympiad's coding items and problem parts have theirs in tests/test_olympiad_code.py
    # and tests/test_problems.py
    assert set(CORRECT) == {d.id for d in IMPLEMENTATION_DRILLS if d.chapter < "09"}
    assert all(len(v) >= 3 for v in CORRECT.values())


@pytest.mark.parametrize(
    ("drill_id", "implementation"),
    [(k, f) for k, fs in CORRECT.items() for f in fs],
    ids=lambda v: getattr(v, "__name__", v),
)
def test_correct_alternatives_pass(drill_id, implementation):
    result = drills.check(drill_id, implementation, record=False)
    assert result.passed, result.feedback
    assert result.score == result.max_score


# The classroom grader judges on probes of a secret seed: verdicts must not depend on it.
OTHER_SEEDS = (1, 9173)


@pytest.mark.parametrize("seed", OTHER_SEEDS)
@pytest.mark.parametrize(("drill_id", "mistake"), CATALOGUE, ids=lambda v: getattr(v, "id", v))
def test_each_mistake_is_recognised_on_the_probes_of_other_seeds(seed, drill_id, mistake):
    drill = drills.get_drill(drill_id)
    result = drill.judge(drill.observe(mistake.implementation, seed), seed)
    assert result.status == "failed" and result.feedback[0] == mistake.message, result.feedback


@pytest.mark.parametrize("seed", OTHER_SEEDS)
@pytest.mark.parametrize(
    ("drill_id", "implementation"),
    [(k, f) for k, fs in CORRECT.items() for f in fs],
    ids=lambda v: getattr(v, "__name__", v),
)
def test_correct_alternatives_pass_on_the_probes_of_other_seeds(seed, drill_id, implementation):
    drill = drills.get_drill(drill_id)
    result = drill.judge(drill.observe(implementation, seed), seed)
    assert result.passed, result.feedback


def test_probes_differ_between_seeds():
    drill = drills.get_drill("kl_divergence")
    first, other = drill.probes(0)[0].args[0], drill.probes(1)[0].args[0]
    assert first.shape == other.shape and not torch.equal(first, other)


# ----------------------------------------------------------------------------- choice


def test_choice_full_credit_and_explanations():
    result = drills.check("log_var_rationale", {"a", "b", "d"})
    assert result.passed and result.score == result.max_score
    assert len(result.feedback) == 3


@pytest.mark.parametrize("answer", ["a, b, d", "ABD", ["d", "b", "a"], ("a", "b", "d"), "a b d"])
def test_choice_accepts_several_spellings(answer):
    assert drills.check("log_var_rationale", answer, record=False).passed


def test_choice_partial_credit_explains_wrong_choices_without_revealing_the_key():
    drill = drills.get_drill("log_var_rationale")
    result = drills.check("log_var_rationale", {"a", "b", "c"}, record=False)
    assert result.status == "partial"
    assert 0 < result.score < result.max_score
    text = " ".join(result.feedback)
    assert drill.options[2].explanation in text  # (c) chosen wrongly: explained
    assert "(d)" not in text  # the missing one is not named
    assert drill.options[3].explanation not in text
    assert "1 correct option(s) are missing" in text


def test_choice_as_many_wrong_as_right_scores_zero():
    assert drills.check("log_var_rationale", {"a", "c"}, record=False).score == 0


def test_choice_more_wrong_than_right_scores_zero():
    result = drills.check("log_var_rationale", {"a", "c", "e"}, record=False)
    assert result.status == "failed" and result.score == 0


# ----------------------------------------------------------------------------- numeric


KL_ZERO_RIGHT = {"kl": 0.0, "reason": "c"}


def test_kl_zero_case_needs_the_number_and_the_reason():
    assert drills.check("kl_zero_case", KL_ZERO_RIGHT, record=False).passed
    as_tensor = {"kl": torch.tensor(0.0), "reason": "C"}
    assert drills.check("kl_zero_case", as_tensor, record=False).passed
    number_only = drills.check("kl_zero_case", 0.0, record=False)
    assert number_only.status == "partial" and number_only.score == 1
    assert "`reason`: not answered" in " ".join(number_only.feedback)
    wrong = drills.check("kl_zero_case", {"kl": 10.0, "reason": "c"}, record=False)
    assert wrong.score == 1 and "−1" in wrong.feedback[0]


@pytest.mark.parametrize("letter", ["a", "b", "d", "e"])
def test_each_wrong_reason_for_the_zero_kl_is_explained(letter):
    result = drills.check("kl_zero_case", {"kl": 0.0, "reason": letter}, record=False)
    option = drills.get_drill("kl_zero_case").parts[1].options["abcde".index(letter)]
    assert result.status == "partial" and result.score == 1 and not option.correct
    assert option.explanation in " ".join(result.feedback)


def test_the_zero_kl_reason_is_not_given_away_by_the_cells_before_it():
    drill = drills.get_drill("kl_zero_case")
    correct = [o for o in drill.parts[1].options if o.correct]
    assert len(correct) == 1 and drill.parts[1].options[0] is not correct[0]


@pytest.mark.parametrize("seed", range(12))
def test_kl_by_hand_is_checked_against_the_seeded_parameters(seed):
    drill = drills.get_drill("kl_by_hand")
    q = drills.question("kl_by_hand", seed=seed)
    truth = drill.answer(q.params)
    assert drills.check("kl_by_hand", round(truth, 4), seed=seed, record=False).passed
    assert drills.check(q, round(truth, 4), record=False).passed  # the question carries the seed
    assert not drills.check("kl_by_hand", truth + 0.5, seed=seed, record=False).passed


def _reference_strings(value: float) -> set[str]:
    return {f"{value:.4f}", f"{value:.3f}", f"{value:g}", f"{round(value, 4)}", repr(value)}


@pytest.mark.parametrize("seed", range(12))
def test_numeric_feedback_never_contains_the_reference_value(seed):
    drill = drills.get_drill("kl_by_hand")
    truth = drill.answer(drill.params_for(seed))
    wrong_answers = [truth * 2, -truth, truth + 0.02, truth + 3.7, truth / math.log(2), 0.0, 1e6]
    for wrong in wrong_answers:
        result = drills.check("kl_by_hand", wrong, seed=seed, record=False)
        assert not result.passed
        text = " ".join(result.feedback)
        for shown in _reference_strings(truth):
            assert shown not in text, (shown, text)


def test_numeric_mistakes_are_recognised():
    drill = drills.get_drill("kl_by_hand")
    for seed in range(30):
        params = drill.params_for(seed)
        truth = drill.answer(params)
        for mistake in drill.mistakes:
            wrong = mistake.value(params)
            if abs(wrong - truth) < 0.01:
                continue
            result = drills.check("kl_by_hand", wrong, seed=seed, record=False)
            assert not result.passed
            assert any(m.message in result.feedback for m in drill.mistakes), result.feedback


def test_reparam_gradient_flow():
    q = drills.question("reparam_gradient_flow", seed=3)
    good = {"why": "b", "dz_dmu": 1.0, "dz_dsigma": q.eps}
    assert drills.check(q, good, record=False).passed
    swapped = drills.check(q, {"why": "b", "dz_dmu": q.eps, "dz_dsigma": 1.0}, record=False)
    assert swapped.status == "partial" and swapped.score == 1
    text = " ".join(swapped.feedback)
    assert f"{q.eps:g}" not in text.replace(f"seed {q.seed}", "")
    assert not drills.check(q, {"why": "d", "dz_dmu": 1.0, "dz_dsigma": q.eps}).passed


# ----------------------------------------------------------------------------- experiments


def _latent_results(conclusion, **changes):
    measurements = {
        2: {"reconstruction": 140.0, "kl": 6.5, "active_units": 2},
        16: {"reconstruction": 90.0, "kl": 24.0, "active_units": 14},
        64: {"reconstruction": 88.0, "kl": 26.0, "active_units": 21},
    }
    for size, row in changes.items():
        measurements[int(size.strip("d"))].update(row)
    return {"measurements": measurements, "conclusion": conclusion}


def test_experiment_consistent_conclusion_passes():
    assert drills.check("latent_dim_tradeoff", _latent_results({"c", "d", "e"})).passed


def test_experiment_other_numbers_other_conclusion_also_passes():
    answer = _latent_results(
        {"b", "d"}, d16={"reconstruction": 85.0}, d64={"kl": 20.0, "active_units": 12}
    )
    assert drills.check("latent_dim_tradeoff", answer, record=False).passed


def test_experiment_claim_not_supported_by_own_numbers_fails():
    result = drills.check(
        "latent_dim_tradeoff",
        _latent_results({"c", "d", "e"}, d16={"reconstruction": 80.0}),
        record=False,
    )
    assert not result.passed
    assert any("(c) does not follow" in line and "16-D" in line for line in result.feedback)


def test_experiment_supported_claim_missing_costs_points():
    result = drills.check("latent_dim_tradeoff", _latent_results({"c", "e"}), record=False)
    assert result.status == "partial"
    assert any("support (d)" in line for line in result.feedback)


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"d64": {"kl": -3.0}}, "never negative"),
        ({"d2": {"active_units": 5}}, "more active units"),
        ({"d16": {"active_units": 2.5}}, "count"),
        ({"d64": {"reconstruction": float("nan")}}, "finite"),
        ({"d16": {"kl": 0.001, "active_units": 10}}, "too small"),
        ({"d2": {"reconstruction": "low"}}, "string"),
    ],
)
def test_experiment_insane_numbers_fail(changes, words):
    result = drills.check("latent_dim_tradeoff", _latent_results({"c"}, **changes), record=False)
    assert result.status == "failed" and result.score == 0
    assert any(words in line for line in result.feedback), result.feedback


def test_experiment_needs_the_three_sizes():
    answer = _latent_results({"c"})
    del answer["measurements"][16]
    assert not drills.check("latent_dim_tradeoff", answer, record=False).passed
    answer = _latent_results({"c"})
    answer["measurements"][32] = {"reconstruction": 1.0, "kl": 1.0, "active_units": 1}
    assert not drills.check("latent_dim_tradeoff", answer, record=False).passed


def _diagnose(q):
    au = sum(v > 0.01 for v in q.mu_variance)
    diagnosis = "b" if au == 0 else ("c" if au <= 4 else "a")
    return au, diagnosis


def test_collapse_diagnosis_all_scenarios():
    scenarios = set()
    for seed in range(40):
        q = drills.question("posterior_collapse_diagnosis", seed=seed)
        au, diagnosis = _diagnose(q)
        scenarios.add(diagnosis)
        fixes = set() if diagnosis == "a" else {"a", "b", "c"}
        answer = {"active_units": au, "diagnosis": diagnosis, "fixes": fixes}
        assert drills.check(q, answer, record=False).passed
        wrong_fixes = {"d", "e"} if fixes else {"a"}
        partly = drills.check(q, {**answer, "fixes": wrong_fixes}, record=False)
        assert partly.status == "partial" and partly.score == 3
        wrong = "d" if diagnosis != "d" else "e"
        assert drills.check(q, {**answer, "diagnosis": wrong}, record=False).score < 5
    assert scenarios == {"a", "b", "c"}


def test_collapse_diagnosis_points_out_inconsistent_counts():
    for seed in range(40):
        q = drills.question("posterior_collapse_diagnosis", seed=seed)
        au, diagnosis = _diagnose(q)
        if diagnosis == "b":
            answer = {"active_units": 7, "diagnosis": "b", "fixes": {"a", "b", "c"}}
            result = drills.check(q, answer, record=False)
            assert result.score == 4
            assert any("contradicts" in line for line in result.feedback)
            return
    pytest.fail("no collapse scenario in 40 seeds")
