"""Correct answers to the olympiad pool's coding items, three different ones per item.

Shared by the tests of the items themselves (tests/test_olympiad_code.py), of exams
(tests/test_exam.py) and of ``vae-course practice`` (tests/test_practice_cli.py).
"""

from __future__ import annotations

import inspect
import math

import torch
import torch.nn.functional as F


def _kl_terms(mu, lv):
    return mu.pow(2) + lv.exp() - lv - 1


# kl_between
def _klb_formula(mq, lq, mp, lp):
    return 0.5 * (lp - lq + (lq - lp).exp() + (mq - mp).pow(2) / lp.exp() - 1).sum(dim=1)


def _klb_variances(mq, lq, mp, lp):
    vq, vp = lq.exp(), lp.exp()
    return (0.5 * torch.log(vp / vq) + (vq + (mq - mp) ** 2) / (2 * vp) - 0.5).sum(1)


def _klb_cross_entropy(mq, lq, mp, lp):
    entropy = 0.5 * (1 + math.log(2 * math.pi) + lq)
    cross = 0.5 * (math.log(2 * math.pi) + lp + (lq.exp() + (mq - mp) ** 2) / lp.exp())
    return (cross - entropy).sum(dim=1)


# bernoulli_nll
def _bn_with_logits(logits, x):
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)


def _bn_softplus(logits, x):
    return (F.softplus(logits) - x * logits).sum(dim=tuple(range(1, logits.dim())))


def _bn_logsigmoid(logits, x):
    return -(x * F.logsigmoid(logits) + (1 - x) * F.logsigmoid(-logits)).reshape(len(x), -1).sum(1)


# gaussian_nll
def _gn_direct(x_hat, x, log_sigma):
    sq = (x - x_hat).pow(2).flatten(1)
    return (log_sigma + 0.5 * math.log(2 * math.pi) + sq * torch.exp(-2 * log_sigma) / 2).sum(1)


def _gn_counted(x_hat, x, log_sigma):
    d = x[0].numel()
    sse = ((x - x_hat) ** 2).reshape(x.shape[0], -1).sum(1)
    return d * (log_sigma + 0.5 * math.log(2 * math.pi)) + sse / (2 * torch.exp(2 * log_sigma))


def _gn_variance(x_hat, x, log_sigma):
    var = torch.exp(log_sigma) ** 2
    sq = (x - x_hat).pow(2).flatten(1)
    return (0.5 * torch.log(2 * math.pi * var) + sq / (2 * var)).sum(1)


# bits_per_dim
def _bpd_divide(nll, n):
    return nll / (n * math.log(2))


def _bpd_log2(nll, n):
    return nll * math.log2(math.e) / n


def _bpd_steps(nll, n):
    return (nll / n) / math.log(2.0)


# linear_warmup
def _lw_min(step, warmup_steps, beta_max=1.0):
    return float(beta_max * min(1.0, step / warmup_steps))


def _lw_branch(step, warmup_steps, beta_max=1.0):
    if step >= warmup_steps:
        return float(beta_max)
    return beta_max * step / warmup_steps


def _lw_clamp(step, warmup_steps, beta_max=1.0):
    return float(torch.clamp(torch.tensor(step / warmup_steps), max=1.0) * beta_max)


# sigmoid_beta
def _sb_exp(step, midpoint, steepness, beta_max=1.0):
    return beta_max / (1 + math.exp(-steepness * (step - midpoint)))


def _sb_tanh(step, midpoint, steepness, beta_max=1.0):
    return beta_max * 0.5 * (1 + math.tanh(0.5 * steepness * (step - midpoint)))


def _sb_torch(step, midpoint, steepness, beta_max=1.0):
    return float(beta_max * torch.sigmoid(torch.tensor(steepness * (step - midpoint))))


# capacity_penalty
def _cp_direct(kl, step, c_max, total_steps, gamma):
    return gamma * (kl.mean() - min(c_max, c_max * step / total_steps)).abs()


def _cp_clamp(kl, step, c_max, total_steps, gamma):
    capacity = min(1.0, step / total_steps) * c_max
    return gamma * torch.abs(kl.sum() / kl.numel() - capacity)


def _cp_sqrt(kl, step, c_max, total_steps, gamma):
    capacity = c_max * min(step, total_steps) / total_steps
    return gamma * torch.sqrt((kl.mean() - capacity) ** 2 + 0.0)


# kl_per_dimension
def _kpd_mean(mu, lv):
    return (0.5 * _kl_terms(mu, lv)).mean(dim=0)


def _kpd_sum_divide(mu, lv):
    return -0.5 * (1 + lv - mu**2 - lv.exp()).sum(0) / mu.shape[0]


def _kpd_distributions(mu, lv):
    q = torch.distributions.Normal(mu, torch.exp(0.5 * lv))
    p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    return torch.distributions.kl_divergence(q, p).mean(0)


# interpolate (no loops allowed)
def _ip_linspace(z0, z1, steps):
    t = torch.linspace(0.0, 1.0, steps, device=z0.device).unsqueeze(1)
    return (1 - t) * z0 + t * z1


def _ip_lerp(z0, z1, steps):
    t = torch.linspace(0, 1, steps, dtype=z0.dtype, device=z0.device)[:, None]
    return torch.lerp(z0.expand(steps, -1), z1.expand(steps, -1), t)


def _ip_arange(z0, z1, steps):
    t = torch.arange(steps, dtype=z0.dtype, device=z0.device).unsqueeze(1) / (steps - 1)
    return z0 + t * (z1 - z0)


# roc_auc
def _auc_pairs(scores, labels):
    pos, neg = scores[labels == 1], scores[labels == 0]
    wins = (pos[:, None] > neg[None, :]).float() + 0.5 * (pos[:, None] == neg[None, :]).float()
    return wins.mean().item()


def _auc_ranks(scores, labels):
    order = scores.argsort()
    ranks = torch.empty_like(scores)
    ranks[order] = torch.arange(1, len(scores) + 1, dtype=scores.dtype)
    for value in scores.unique():  # average ranks over ties
        tied = scores == value
        ranks[tied] = ranks[tied].mean()
    pos = labels == 1
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _auc_loops(scores, labels):
    pos = [float(s) for s, y in zip(scores, labels, strict=True) if y == 1]
    neg = [float(s) for s, y in zip(scores, labels, strict=True) if y == 0]
    wins = sum(1.0 if a > b else 0.5 if a == b else 0.0 for a in pos for b in neg)
    return wins / (len(pos) * len(neg))


# reparameterize_with (no torch.distributions)
def _rw_exp(mu, lv, eps):
    return mu + torch.exp(0.5 * lv) * eps


def _rw_sqrt(mu, lv, eps):
    return mu + lv.exp().sqrt() * eps


def _rw_addcmul(mu, lv, eps):
    return torch.addcmul(mu, (lv / 2).exp(), eps)


# elbo_terms
def _et_split(logits, x, mu, lv):
    recon = F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)
    return recon, 0.5 * _kl_terms(mu, lv).sum(1)


def _et_softplus(logits, x, mu, lv):
    recon = (F.softplus(logits) - x * logits).flatten(1).sum(1)
    return recon, -0.5 * (1 + lv - mu**2 - lv.exp()).sum(dim=1)


def _et_list(logits, x, mu, lv):
    per = [
        F.binary_cross_entropy_with_logits(li, xi, reduction="sum")
        for li, xi in zip(logits, x, strict=True)
    ]
    return torch.stack(per), (0.5 * _kl_terms(mu, lv)).sum(1)


# kl_monte_carlo
def _mc_formula(mu, lv, eps):
    z = mu + torch.exp(0.5 * lv) * eps
    return (-0.5 * eps**2 - 0.5 * lv + 0.5 * z**2).sum(dim=1)


def _mc_log_probs(mu, lv, eps):
    z = mu + torch.exp(0.5 * lv) * eps
    log_q = -0.5 * (math.log(2 * math.pi) + lv + (z - mu) ** 2 / lv.exp())
    log_p = -0.5 * (math.log(2 * math.pi) + z**2)
    return (log_q - log_p).sum(1)


def _mc_distributions(mu, lv, eps):
    std = torch.exp(0.5 * lv)
    z = mu + std * eps
    q = torch.distributions.Normal(mu, std)
    p = torch.distributions.Normal(0.0, 1.0)
    return (q.log_prob(z) - p.log_prob(z)).sum(1)


# attribute_vector
def _av_masks(mu, has):
    return mu[has].mean(dim=0) - mu[~has].mean(dim=0)


def _av_weights(mu, has):
    w = has.float().unsqueeze(1)
    return (w * mu).sum(0) / w.sum() - ((1 - w) * mu).sum(0) / (1 - w).sum()


def _av_where(mu, has):
    return torch.stack([mu[has].mean(0), mu[~has].mean(0)]).diff(dim=0).squeeze(0).neg()


CORRECT = {
    "olympiad_code_kl_between": [_klb_formula, _klb_variances, _klb_cross_entropy],
    "olympiad_code_bernoulli_nll": [_bn_with_logits, _bn_softplus, _bn_logsigmoid],
    "olympiad_code_gaussian_nll": [_gn_direct, _gn_counted, _gn_variance],
    "olympiad_code_bits_per_dim": [_bpd_divide, _bpd_log2, _bpd_steps],
    "olympiad_code_linear_warmup": [_lw_min, _lw_branch, _lw_clamp],
    "olympiad_code_sigmoid_beta": [_sb_exp, _sb_tanh, _sb_torch],
    "olympiad_code_capacity_penalty": [_cp_direct, _cp_clamp, _cp_sqrt],
    "olympiad_code_kl_per_dimension": [_kpd_mean, _kpd_sum_divide, _kpd_distributions],
    "olympiad_code_interpolate": [_ip_linspace, _ip_lerp, _ip_arange],
    "olympiad_code_roc_auc": [_auc_pairs, _auc_ranks, _auc_loops],
    "olympiad_code_reparameterize_with": [_rw_exp, _rw_sqrt, _rw_addcmul],
    "olympiad_code_elbo_terms": [_et_split, _et_softplus, _et_list],
    "olympiad_code_kl_monte_carlo": [_mc_formula, _mc_log_probs, _mc_distributions],
    "olympiad_code_attribute_vector": [_av_masks, _av_weights, _av_where],
}


def answer_file_source(drill_id: str, answer_name: str) -> str:
    """A Python file defining ``answer_name`` as the first correct answer of ``drill_id``."""
    function = CORRECT[drill_id][0]
    body = inspect.getsource(function).replace(f"def {function.__name__}(", f"def {answer_name}(")
    helpers = inspect.getsource(_kl_terms)
    return (
        "import math\n\nimport torch\nimport torch.nn.functional as F\n\n\n"
        + helpers
        + "\n\n"
        + body
    )
