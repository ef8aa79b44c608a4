"""Honest, genuinely different correct answers to chapter 08's implementation drills
(anomaly_score, interpolate, attribute_vector): used by test_drills_ch08_applications.py
and by the course-wide table of correct alternatives in test_drills_catalogue.py."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _as_solution(model, x):
    model.eval()
    with torch.no_grad():
        mu, _ = model.encode(x)
        bce = F.binary_cross_entropy_with_logits(model.decode(mu), x, reduction="none")
        return bce.flatten(1).sum(dim=1)


def _as_log_sigmoid_detach(model, x):
    was_training = model.training
    model.train(False)
    logits = model.decode(model.encode(x)[0])
    log_lik = x * F.logsigmoid(logits) + (1 - x) * F.logsigmoid(-logits)
    model.train(was_training)
    return -log_lik.sum(dim=(1, 2, 3)).detach()


def _as_softplus_loop(model, x):
    model.eval()
    scores = []
    with torch.no_grad():
        for image in x:
            logits = model.decode(model.encode(image[None])[0])[0]
            scores.append((F.softplus(logits) - image * logits).sum())
    return torch.stack(scores)


def _as_distributions(model, x):
    model.eval()
    with torch.inference_mode():
        logits = model.decode(model.encode(x)[0])
        bernoulli = torch.distributions.Bernoulli(logits=logits, validate_args=False)
        return -bernoulli.log_prob(x).reshape(len(x), -1).sum(-1).clone()


def _ip_solution(model, x_a, x_b, steps):
    model.eval()
    with torch.no_grad():
        mu, _ = model.encode(torch.stack([x_a, x_b]))
        t = torch.linspace(0, 1, steps)[:, None]
        return torch.sigmoid(model.decode((1 - t) * mu[0] + t * mu[1]))


def _ip_lerp_loop(model, x_a, x_b, steps):
    model.eval()
    with torch.no_grad():
        z_a = model.encode(x_a.unsqueeze(0))[0][0]
        z_b = model.encode(x_b.unsqueeze(0))[0][0]
        frames = [torch.lerp(z_a, z_b, k / (steps - 1)) for k in range(steps)]
        return model.decode(torch.stack(frames)).sigmoid()


def _ip_direction(model, x_a, x_b, steps):
    model.eval()
    with torch.no_grad():
        codes = model.encode(torch.cat([x_a[None], x_b[None]]))[0]
        weights = torch.arange(steps, dtype=codes.dtype) / (steps - 1)
        path = codes[0] + weights[:, None] * (codes[1] - codes[0])
        return torch.sigmoid(model.decode(path)).reshape(steps, *x_a.shape)


def _av_solution(model, x_with, x_without):
    model.eval()
    with torch.no_grad():
        return model.encode(x_with)[0].mean(dim=0) - model.encode(x_without)[0].mean(dim=0)


def _av_one_batch(model, x_with, x_without):
    model.eval()
    with torch.no_grad():
        mu = model.encode(torch.cat([x_with, x_without]))[0]
        n = len(x_with)
        return mu[:n].sum(0) / n - mu[n:].sum(0) / (len(mu) - n)


def _av_detach_float64(model, x_with, x_without):
    model.eval()
    a = model.encode(x_with)[0].detach().double()
    b = model.encode(x_without)[0].detach().double()
    return (a.mean(0) - b.mean(0)).float()


ALTERNATIVES = {
    "anomaly_score": [_as_solution, _as_log_sigmoid_detach, _as_softplus_loop, _as_distributions],
    "interpolate": [_ip_solution, _ip_lerp_loop, _ip_direction],
    "attribute_vector": [_av_solution, _av_one_batch, _av_detach_float64],
}
