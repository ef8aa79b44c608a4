"""Chapter 05, KL annealing: ``train_with_schedule``, the training loop under a β schedule.

The learner's ``train_with_schedule(model, optimizer, batches, schedule, epochs)`` runs
inside a harness (:func:`run_train_loop`) on a tiny VAE whose noise is a fixed function of
its input (:class:`~.harness_models.TinyVAE`), so the whole run is deterministic. The
harness hands over a schedule that remembers which steps it was asked for, and records as
plain data: the records the loop returned (β, loss, reconstruction, KL of every step), the
steps the schedule was asked for, how far the parameters moved, and whether the batches
were changed. Probes: a schedule with a different β at every step, gradients left over from
an earlier step (which only ``zero_grad`` clears), and a constant β (the loss must fall).
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ..function import FunctionDrill
from ..observation import Mistake, Observation, Outcome, Probe, same_values
from .harness_models import TinyVAE, parameters_of

LEARNING_RATE = 5e-4
KEYS = ("beta", "loss", "reconstruction", "kl")

# case -> (batches, batch size, epochs, constant beta or None, stale gradients)
CASES = {
    "changing_beta": (3, 6, 3, None, False),
    "stale_grads": (2, 5, 2, None, True),
    "constant_beta": (2, 8, 5, 1.0, False),
}

# format codes the harness reports (plain numbers) and what the judge says about them
FORMATS = {
    1: "It returns None: end with `return history`, the list of records.",
    2: "It does not return a list: return one dict per step, in order.",
    3: "An item of the returned list is not a dict with the keys 'beta', 'loss', "
    "'reconstruction' and 'kl'.",
    4: "The records hold tensors: store Python floats (`loss.item()`, `float(beta)`). A "
    "stored loss tensor keeps the whole graph of its step alive.",
}


class RecordingSchedule:
    """β_t from a table (the last value past its end), remembering every step asked for."""

    def __init__(self, values: list[float]) -> None:
        self.table = values
        self.asked: list[float] = []

    def __call__(self, step: Any) -> float:
        value = float(step)
        self.asked.append(value)
        index = min(max(int(value), 0), len(self.table) - 1)
        return self.table[index]


def _setup(case: str, seed: int):
    n_batches, size, epochs, constant, stale = CASES[case]
    model = TinyVAE(latent_dim=3, seed=700 + seed, fixed_noise=True)
    g = torch.Generator().manual_seed(770 + seed)
    batches = [(torch.rand(size, 1, 28, 28, generator=g) < 0.3).float() for _ in range(n_batches)]
    steps = n_batches * epochs
    if constant is None:
        table = [round(0.2 + 1.6 * v, 4) for v in torch.rand(steps, generator=g).tolist()]
    else:
        table = [constant] * steps
    optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
    if stale:
        for p in model.parameters():
            p.grad = torch.full_like(p, 0.5)
    return model, optimizer, batches, RecordingSchedule(table), epochs


def train_loop_probes(seed: int = 0) -> list[Probe]:
    """One probe per harness case; the seed changes the model, the data and the β table."""
    return [Probe(case, (case, seed)) for case in CASES]


def _read(returned: Any) -> tuple[int, dict[str, list[float]]]:
    """(format code, the numbers of every record) of what the loop returned."""
    columns: dict[str, list[float]] = {key: [] for key in KEYS}
    if returned is None:
        return 1, columns
    if not isinstance(returned, list | tuple):
        return 2, columns
    code = 0
    for record in returned:
        if not isinstance(record, dict) or any(key not in record for key in KEYS):
            return 3, {key: [] for key in KEYS}
        for key in KEYS:
            value = record[key]
            if isinstance(value, torch.Tensor):
                code = 4
                value = value.detach().reshape(-1)[0].item() if value.numel() else float("nan")
            try:
                columns[key].append(float(value))
            except (TypeError, ValueError):
                return 3, {key: [] for key in KEYS}
    return code, columns


def run_train_loop(fn: Any, case: str, seed: int) -> dict[str, Any]:
    """One call of ``fn(model, optimizer, batches, schedule, epochs)`` on the tiny VAE."""
    model, optimizer, batches, schedule, epochs = _setup(case, seed)
    before, originals = parameters_of(model), [b.clone() for b in batches]
    returned = fn(model, optimizer, batches, schedule, epochs)
    code, columns = _read(returned)
    first_asked = list(dict.fromkeys(schedule.asked))
    return {
        "format": float(code),
        "records": float(len(columns["beta"])),
        "steps": float(len(batches) * epochs),
        "per_epoch": float(len(batches)),
        **{key: torch.tensor(values, dtype=torch.float64) for key, values in columns.items()},
        "asked": torch.tensor(first_asked, dtype=torch.float64),
        "parameter_change": parameters_of(model) - before,
        "batches_changed": float(
            any(not torch.equal(b, o) for b, o in zip(batches, originals, strict=True))
        ),
    }


# ----------------------------------------------------------------------------- judging


def _values(outcome: Outcome, key: str) -> np.ndarray:
    part = outcome.part(key)
    values = part.values if part is not None else None
    return values if values is not None else np.array([np.nan])


def _number(outcome: Outcome, key: str) -> float:
    return float(_values(outcome, key)[0])


def _asked_problem(asked: np.ndarray, steps: int, per_epoch: int) -> str:
    if asked.size == 0 or np.all(np.isnan(asked)):
        return "The schedule is never called: ask it for β_t = schedule(t) at every step."
    expected = np.arange(steps, dtype=np.float64)
    if asked.size == steps and np.allclose(asked, expected):
        return ""
    if asked.size == per_epoch and np.allclose(asked, expected[:per_epoch]):
        return (
            "The schedule is asked only for the steps of one epoch: the step counter "
            "restarts every epoch. Count the steps across epochs (t = 0, 1, ..., "
            "epochs × len(batches) − 1)."
        )
    return (
        "The schedule is not asked for β at the global steps t = 0, 1, ..., "
        "epochs × len(batches) − 1 (one step per batch, counted across epochs, from 0)."
    )


def _per_step(learner: Outcome, ref: Outcome) -> list[str]:
    """What is wrong in the recorded numbers, first problem only."""
    if not same_values(_values(learner, "beta"), _values(ref, "beta"), 1e-6, 1e-6):
        return ["The β recorded for step t is not schedule(t), the β of that step."]
    rec_ok = same_values(
        _values(learner, "reconstruction"), _values(ref, "reconstruction"), 1e-3, 1e-3
    )
    kl_ok = same_values(_values(learner, "kl"), _values(ref, "kl"), 1e-3, 1e-4)
    if not rec_ok:
        return [
            "The recorded reconstruction is not the batch's BCE-with-logits summed over "
            "pixels and averaged over the batch, computed before the step's update."
        ]
    if not kl_ok:
        return [
            "The recorded KL is not the batch's KL(q(z|x) ‖ N(0, I)) summed over latent "
            "dimensions and averaged over the batch, computed before the step's update."
        ]
    if not same_values(_values(learner, "loss"), _values(ref, "loss"), 1e-3, 1e-3):
        return ["The recorded loss is not reconstruction + β_t · KL of the step."]
    return []


def _falls(outcome: Outcome) -> bool:
    losses, per_epoch = _values(outcome, "loss"), int(_number(outcome, "per_epoch"))
    if losses.size < 2 * per_epoch or not np.all(np.isfinite(losses)):
        return False
    return float(losses[-per_epoch:].mean()) < float(losses[:per_epoch].mean())


def train_loop_problems(learner: Observation, ref: Observation) -> tuple[list[str], list[str]]:
    """Format, records, schedule calls, recorded numbers, falling loss, updates, in order."""
    for case in CASES:
        mine, theirs = learner.outcomes[case], ref.outcomes[case]
        code = int(_number(mine, "format"))
        if code in FORMATS:
            return [FORMATS[code]], []
        steps, per_epoch = int(_number(theirs, "steps")), int(_number(theirs, "per_epoch"))
        if _number(mine, "records") != steps:
            return [
                f"It returns {_number(mine, 'records'):g} records for "
                f"{steps // per_epoch} epochs of {per_epoch} batches: the contract is one "
                "record per optimisation step (epochs × len(batches))."
            ], []
        problem = _asked_problem(_values(mine, "asked"), steps, per_epoch)
        if problem:
            return [problem], []
        problems = _per_step(mine, theirs)
        if problems:
            return problems, []
        if case == "constant_beta" and not _falls(mine):
            return [
                "With a constant β the loss does not fall from the first epoch to the last."
            ], []
        delta = _values(mine, "parameter_change")
        if np.all(delta == 0):
            return [
                "The parameters never change: call `loss.backward()` and then "
                "`optimizer.step()` for every batch (and do not zero the gradients between)."
            ], []
        if not same_values(delta, _values(theirs, "parameter_change"), 1e-3, 1e-7):
            if case == "stale_grads":
                return [
                    "With gradients left over from an earlier step the updates are wrong: "
                    "call `optimizer.zero_grad()` before every `loss.backward()`."
                ], []
            return [
                "The parameters did not move as one optimizer step per batch on "
                "L_t = reconstruction + β_t · KL would move them."
            ], []
    minor = []
    if any(_number(o, "batches_changed") == 1.0 for o in learner.outcomes.values()):
        minor.append("It modifies the batches in place; use out-of-place operations.")
    return [], minor


# ----------------------------------------------------------------------------- mistakes


def _terms(model, x, *, kl_mean_dims=False, batch_sum=False):
    logits, mu, log_var = model(x)[:3]
    bce = F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)
    kl_dims = 0.5 * (mu.pow(2) + log_var.exp() - log_var - 1)
    kl = kl_dims.mean(1) if kl_mean_dims else kl_dims.sum(1)
    if batch_sum:
        return bce.sum(), kl.sum()
    return bce.mean(), kl.mean()


def _loop(model, optimizer, batches, schedule, epochs, *, step_of=None, beta_of=None,
          loss_of=None, zero_grad=True, as_tensors=False, terms=_terms, epochs_run=None):  # fmt: skip
    history, step = [], 0
    for epoch in range(epochs if epochs_run is None else epochs_run):
        for index, x in enumerate(batches):
            asked = step if step_of is None else step_of(step, epoch, index)
            beta = float(schedule(asked)) if beta_of is None else beta_of(schedule, step)
            rec, kl = terms(model, x)
            loss = rec + beta * kl if loss_of is None else loss_of(rec, kl, beta)
            if zero_grad:
                optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            values = (
                (beta, loss, rec, kl) if as_tensors else (beta, loss.item(), rec.item(), kl.item())
            )
            history.append(dict(zip(KEYS, values, strict=True)))  # fmt: skip
            step += 1
    return history


def _tl_step_restarts(model, optimizer, batches, schedule, epochs):
    return _loop(model, optimizer, batches, schedule, epochs, step_of=lambda s, e, i: i)


def _tl_epoch_as_step(model, optimizer, batches, schedule, epochs):
    return _loop(model, optimizer, batches, schedule, epochs, step_of=lambda s, e, i: e)


def _tl_step_from_one(model, optimizer, batches, schedule, epochs):
    return _loop(model, optimizer, batches, schedule, epochs, step_of=lambda s, e, i: s + 1)


def _tl_beta_fixed(model, optimizer, batches, schedule, epochs):
    beta = float(schedule(0))
    return _loop(model, optimizer, batches, schedule, epochs, beta_of=lambda sch, s: beta)


def _tl_beta_on_reconstruction(model, optimizer, batches, schedule, epochs):
    return _loop(
        model, optimizer, batches, schedule, epochs, loss_of=lambda rec, kl, b: b * rec + kl
    )


def _tl_beta_not_in_loss(model, optimizer, batches, schedule, epochs):
    return _loop(model, optimizer, batches, schedule, epochs, loss_of=lambda rec, kl, b: rec + kl)


def _tl_no_zero_grad(model, optimizer, batches, schedule, epochs):
    return _loop(model, optimizer, batches, schedule, epochs, zero_grad=False)


def _tl_returns_tensors(model, optimizer, batches, schedule, epochs):
    return _loop(model, optimizer, batches, schedule, epochs, as_tensors=True)


def _tl_one_epoch(model, optimizer, batches, schedule, epochs):
    return _loop(model, optimizer, batches, schedule, epochs, epochs_run=1)


def _tl_sum_over_batch(model, optimizer, batches, schedule, epochs):
    terms = lambda m, x: _terms(m, x, batch_sum=True)  # noqa: E731
    return _loop(model, optimizer, batches, schedule, epochs, terms=terms)


def _tl_kl_mean_over_dims(model, optimizer, batches, schedule, epochs):
    terms = lambda m, x: _terms(m, x, kl_mean_dims=True)  # noqa: E731
    return _loop(model, optimizer, batches, schedule, epochs, terms=terms)


def _tl_recorded_after_update(model, optimizer, batches, schedule, epochs):
    history = []
    for step, x in enumerate(itertools.chain.from_iterable(itertools.repeat(batches, epochs))):
        beta = float(schedule(step))
        rec, kl = _terms(model, x)
        optimizer.zero_grad()
        (rec + beta * kl).backward()
        optimizer.step()
        with torch.no_grad():
            rec, kl = _terms(model, x)
        history.append(dict(zip(KEYS, (beta, (rec + beta * kl).item(), rec.item(), kl.item()), strict=True)))  # fmt: skip
    return history


TRAIN_LOOP_MISTAKES = (
    Mistake(
        "step_restarts_each_epoch",
        _tl_step_restarts,
        "The step counter restarts every epoch, so every epoch replays the first "
        "len(batches) values of the schedule. The schedule's t counts optimisation steps "
        "across the whole run: t = epoch · len(batches) + index of the batch.",
    ),
    Mistake(
        "epoch_as_step",
        _tl_epoch_as_step,
        "The schedule is asked with the epoch number; it is a function of the global "
        "optimisation step t (one per batch, counted across epochs).",
    ),
    Mistake(
        "step_from_one",
        _tl_step_from_one,
        "The steps are counted from 1: the first batch must use schedule(0), the β of step 0.",
    ),
    Mistake(
        "beta_fixed_at_start",
        _tl_beta_fixed,
        "β is computed once, before the loop, and never changes: ask the schedule for "
        "β_t = schedule(t) at every step.",
    ),
    Mistake(
        "beta_on_reconstruction",
        _tl_beta_on_reconstruction,
        "β multiplies the reconstruction term; it weights the KL: L_t = reconstruction + β_t · KL.",
    ),
    Mistake(
        "beta_not_in_loss",
        _tl_beta_not_in_loss,
        "β is recorded but the loss you back-propagate ignores it (reconstruction + KL "
        "at weight 1): use L_t = reconstruction + β_t · KL.",
    ),
    Mistake(
        "no_zero_grad",
        _tl_no_zero_grad,
        "`optimizer.zero_grad()` is missing: PyTorch adds each step's gradients to the "
        "previous ones, so every update uses the sum of all gradients so far.",
    ),
    Mistake(
        "returns_tensors",
        _tl_returns_tensors,
        "The records hold tensors (the loss with its graph): store Python floats with "
        "`.item()`; a list of loss tensors keeps every step's graph in memory.",
    ),
    Mistake(
        "one_epoch_only",
        _tl_one_epoch,
        "It trains for one epoch whatever `epochs` says: loop `for epoch in range(epochs)` "
        "around the loop over batches.",
    ),
    Mistake(
        "sum_over_batch",
        _tl_sum_over_batch,
        "The loss is summed over the examples of the batch; average it over the batch "
        "(sum over pixels and latent dimensions, mean over examples).",
    ),
    Mistake(
        "kl_mean_over_latent_dims",
        _tl_kl_mean_over_dims,
        "The KL is averaged over the latent dimensions; the KL of the latent vector is the "
        "sum over its dimensions (then the mean over the batch).",
    ),
    Mistake(
        "recorded_after_update",
        _tl_recorded_after_update,
        "The numbers recorded come from a second forward pass after the update; record "
        "the loss, reconstruction and KL of the pass you back-propagated.",
    ),
)

TRAIN_WITH_SCHEDULE = FunctionDrill(
    id="train_with_schedule",
    chapter="05",
    title="The training loop under a β schedule",
    answer_name="train_with_schedule",
    prompt=(
        "Write `train_with_schedule(model, optimizer, batches, schedule, epochs) -> list`: "
        "train a VAE for `epochs` passes over `batches` (a list of image batches "
        "(B, 1, 28, 28) in [0, 1], visited in the given order in every epoch), one "
        "optimisation step per batch. Count the steps t = 0, 1, 2, ... across epochs; at "
        "step t the KL weight is β_t = `schedule(t)` and the loss is\n\n"
        "L_t = mean over the batch of [BCE-with-logits summed over pixels + β_t · KL(q(z|x) "
        "‖ N(0, I)) summed over latent dimensions].\n\n"
        "`model(x)` returns logits (B, 1, 28, 28), mu and log_var (B, d) as its first three "
        "items (write `logits, mu, log_var = model(x)[:3]`: it works for the course's "
        "`models.VAE` and for your chapter-2 `MyVAE`). For every step: zero the gradients, "
        "back-propagate L_t, step the optimizer, and append the record "
        "`{'beta': β_t, 'loss': L_t, 'reconstruction': ..., 'kl': ...}` of that batch (before "
        "the update) as Python floats. Return the list of records, one per step."
    ),
    hints=(
        "Keep one counter `step = 0` outside both loops and add 1 after every batch; "
        "`beta = schedule(step)` at the top of the inner loop.",
        "The two terms: `F.binary_cross_entropy_with_logits(logits, x, reduction='sum') / "
        "x.shape[0]` and `(0.5 * (mu**2 + log_var.exp() - log_var - 1)).sum(dim=1).mean()`.",
        "Record `loss.item()` etc., not the tensors.",
    ),
    solution=(
        "```python\n"
        "import torch.nn.functional as F\n\n"
        "def train_with_schedule(model, optimizer, batches, schedule, epochs):\n"
        "    history, step = [], 0\n"
        "    for epoch in range(epochs):\n"
        "        for x in batches:\n"
        "            beta = float(schedule(step))\n"
        "            logits, mu, log_var = model(x)[:3]\n"
        "            reconstruction = F.binary_cross_entropy_with_logits(\n"
        "                logits, x, reduction='sum') / x.shape[0]\n"
        "            kl = (0.5 * (mu**2 + log_var.exp() - log_var - 1)).sum(dim=1).mean()\n"
        "            loss = reconstruction + beta * kl\n"
        "            optimizer.zero_grad()\n"
        "            loss.backward()\n"
        "            optimizer.step()\n"
        "            history.append({'beta': beta, 'loss': loss.item(),\n"
        "                            'reconstruction': reconstruction.item(), 'kl': kl.item()})\n"
        "            step += 1\n"
        "    return history\n"
        "```\n\n"
        "The schedule is a function of the global step, not of the epoch or of the batch "
        "index: a counter that restarts each epoch replays the first values of the "
        "schedule forever. The package's version is `vae_course.loops.train_with_schedule`; "
        "`vae_course.train.fit(model, data, epochs, beta=schedule)` does the same with "
        "shuffling, evaluation and caching."
    ),
    reference_name="vae_course.loops:train_with_schedule",
    mistakes=TRAIN_LOOP_MISTAKES,
    make_probes=train_loop_probes,
    output=None,
    arg_names=("model", "optimizer", "batches", "schedule", "epochs"),
    invoke=run_train_loop,
    problems=train_loop_problems,
    rtol=1e-3,
    atol=1e-7,
    device_check=False,
    success="All checks passed: schedule(t) at every global step, the right loss, one "
    "correct update per batch with the gradients zeroed, a falling loss at constant β, "
    "float records.",
)

DRILLS = (TRAIN_WITH_SCHEDULE,)
