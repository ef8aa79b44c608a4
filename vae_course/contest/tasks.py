"""The contest tasks, IOAI style: three kinds, each with an at-home round and an on-site one.

Every task is a plain-PyTorch notebook that trains a ``Model`` (an ``nn.Module`` built as
``Model()``) on the task's public files and saves ``torch.save(model.state_dict(),
"submission.pt")``. The grader re-runs the notebook in a sandbox without the course's
package, under the task's time limit, then scores the saved model (in a second sandbox,
after the run has ended) on the public split and on a private split generated from a seed
that only the grading command holds.

Kinds (what ``Model`` must do):

* ``anomaly``: ``score(x) -> (B,)``, higher = more anomalous; metric ROC AUC on images
  where some are anomalies (higher is better);
* ``compressor``: ``encode(x) -> (mu, log_var)`` and ``decode(z) -> logits``; metric the
  negative ELBO in nats per image, with z = mu + σ·ε drawn by the grader and decode run
  apart from encode (lower is better); the mean KL may not exceed the task's rate budget;
* ``conditional``: ``generate(labels) -> images in [0, 1]``; metric the accuracy of the
  course's fixed digit classifier on the generated images (higher is better), provided
  the samples of a class vary.

The on-site round continues the at-home task with other data or another target, as the
real rounds do. The score is the linear ramp from the ``baseline`` metric (0 points) to
the ``reference`` metric (100 points): the public metrics of the task's baseline and
reference notebooks, graded exactly like a submission (``benchmarks/contest_anchors.py``
measured them; tests/test_contest.py checks that they still score 0 and 100).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

KINDS = ("anomaly", "compressor", "conditional")


@dataclass(frozen=True)
class ContestTask:
    """One task: its rules, its data and the two anchors of its 0–100 ramp.

    ``settings`` are the round's data and target choices, written to ``data/task.json`` for
    the notebook (e.g. ``{"kl_budget": 20.0}``); ``higher_is_better`` is the metric's
    direction; ``time_limit_s`` is the notebook's wall-time limit in the grader.
    Used in 09_olympiad_practice (section 4).
    """

    name: str
    kind: str
    round: str
    title: str
    statement: str
    metric: str
    higher_is_better: bool
    baseline: float
    reference: float
    time_limit_s: float = 300.0
    max_parameters: int = 250_000
    settings: dict[str, Any] = field(default_factory=dict)
    continues: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown task kind {self.kind!r}")
        if self.baseline == self.reference:
            raise ValueError(f"{self.name}: baseline and reference must differ")

    def ramp(self, value: float) -> float:
        """The 0–100 score of a metric value (see :func:`ramp`)."""
        return ramp(value, self.baseline, self.reference)

    def with_limits(self, **changes: Any) -> ContestTask:
        """A copy with some fields changed, e.g. ``task.with_limits(time_limit_s=5)``."""
        return replace(self, **changes)

    def public_info(self) -> dict[str, Any]:
        """What the notebook may know about the task (``data/task.json``)."""
        return {
            "name": self.name,
            "kind": self.kind,
            "round": self.round,
            "metric": self.metric,
            "higher_is_better": self.higher_is_better,
            "time_limit_s": self.time_limit_s,
            "max_parameters": self.max_parameters,
            **self.settings,
        }


def ramp(value: float, baseline: float, reference: float) -> float:
    """100 · (value − baseline) / (reference − baseline), clipped to [0, 100]; 0 when the
    value is not finite. Works for either direction of the metric. Used in
    09_olympiad_practice (Figure 1)."""
    if baseline == reference:
        raise ValueError("baseline and reference must differ")
    if not math.isfinite(value):
        return 0.0
    return float(min(100.0, max(0.0, 100.0 * (value - baseline) / (reference - baseline))))


_ANOMALY = (
    "Train on normal digits only; `Model().score(x)` gives each image (B, 1, 28, 28) an "
    "anomaly score, higher = more anomalous. Scored by ROC AUC."
)
_COMPRESSOR = (
    "A VAE as a compressor at a rate budget: `Model().encode(x) -> (mu, log_var)` and "
    "`Model().decode(z) -> logits`. The grader draws z = mu + exp(log_var / 2)·ε itself and "
    "decodes z in a separate process, so only z reaches the decoder. Scored by the negative "
    "ELBO in nats per image (BCE summed over pixels + KL); a mean KL above the budget is "
    "'over budget'."
)
_CONDITIONAL = (
    "Generate digits of a given class: `Model().generate(labels)` returns images "
    "(B, 1, 28, 28) in [0, 1] for labels (B,) in 0..9 (the grader seeds torch first). "
    "Scored by the accuracy of the course's fixed classifier on 50 images per class; the "
    "images of a class must vary (else 'presentation error')."
)

TASKS: dict[str, ContestTask] = {
    task.name: task
    for task in (
        ContestTask(
            name="anomaly-home",
            kind="anomaly",
            round="at-home",
            title="Anomaly detection: corrupted digits",
            statement=_ANOMALY
            + " At home, anomalies are corrupted digits (occlusions, noise, flips, strokes).",
            metric="ROC AUC",
            higher_is_better=True,
            baseline=0.7786,
            reference=0.8683,
            settings={"anomalies": "corrupted", "normal_classes": list(range(10))},
        ),
        ContestTask(
            name="anomaly-onsite",
            kind="anomaly",
            round="on-site",
            title="Anomaly detection: unseen digit classes",
            statement=_ANOMALY
            + " On site the target changes: training data holds the digits 0-4 only, and the "
            "anomalies are digits 5-9.",
            metric="ROC AUC",
            higher_is_better=True,
            baseline=0.4851,
            reference=0.7353,
            settings={"anomalies": "unseen classes", "normal_classes": [0, 1, 2, 3, 4]},
            continues="anomaly-home",
        ),
        ContestTask(
            name="compressor-home",
            kind="compressor",
            round="at-home",
            title="A rate-limited compressor: 20 nats per image",
            statement=_COMPRESSOR + " At home the rate budget is 20 nats per image.",
            metric="negative ELBO (nats per image)",
            higher_is_better=False,
            baseline=212.8372,
            reference=151.9374,
            settings={"kl_budget": 20.0},
        ),
        ContestTask(
            name="compressor-onsite",
            kind="compressor",
            round="on-site",
            title="A rate-limited compressor: 6 nats per image",
            statement=_COMPRESSOR + " On site the budget drops to 6 nats per image.",
            metric="negative ELBO (nats per image)",
            higher_is_better=False,
            baseline=212.8372,
            reference=172.4562,
            settings={"kl_budget": 6.0},
            continues="compressor-home",
        ),
        ContestTask(
            name="conditional-home",
            kind="conditional",
            round="at-home",
            title="Conditional generation: every training digit labelled",
            statement=_CONDITIONAL + " At home every training image comes with its label.",
            metric="classifier accuracy",
            higher_is_better=True,
            baseline=0.108,
            reference=0.868,
            settings={"label_fraction": 1.0},
        ),
        ContestTask(
            name="conditional-onsite",
            kind="conditional",
            round="on-site",
            title="Conditional generation: 10% of the labels",
            statement=_CONDITIONAL
            + " On site the data changes: only 10% of the training images are labelled "
            "(the others have label -1).",
            metric="classifier accuracy",
            higher_is_better=True,
            baseline=0.108,
            reference=0.9,
            settings={"label_fraction": 0.1},
            continues="conditional-home",
        ),
    )
}


def get_task(name: str) -> ContestTask:
    """The task called ``name``; ValueError listing the tasks otherwise. Used in
    09_olympiad_practice."""
    if name not in TASKS:
        raise ValueError(f"unknown contest task {name!r}; the tasks are {', '.join(TASKS)}")
    return TASKS[name]


__all__ = ["KINDS", "TASKS", "ContestTask", "get_task", "ramp"]
