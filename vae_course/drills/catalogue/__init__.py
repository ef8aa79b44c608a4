"""The course's drills, as data: one module per chapter (or topic), each exposing ``DRILLS``.

``DRILLS`` below is every drill of the course in chapter order. Nothing registers itself:
:mod:`vae_course.drills.registry` reads this tuple. ``PROBLEMS`` lists the olympiad
problem notebooks (chapters 10 and 11), whose parts are drills of ``DRILLS``.
"""

from __future__ import annotations

from . import (
    ch00_warmup,
    ch01_autoencoder,
    ch01_initial_loss,
    ch01_train_step,
    ch02_latent,
    ch02_my_vae,
    ch03_reparam,
    ch03_rsample,
    ch04_kl,
    ch04_loss,
    ch04_train_step,
    ch05_objective,
    ch05_schedules,
    ch05_train_loop,
    ch06_collapse,
    ch07_beta,
    ch07_tcvae,
    ch07_traversal,
    ch08_applications,
    ch08_latent_edits,
    ch09_olympiad,
    ch10_problem_vae,
    ch11_problem_collapse,
)

DRILLS = (
    ch00_warmup.DRILLS
    + ch01_autoencoder.DRILLS
    + ch01_initial_loss.DRILLS
    + ch01_train_step.DRILLS
    + ch02_latent.DRILLS
    + ch02_my_vae.DRILLS
    + ch03_reparam.DRILLS
    + ch03_rsample.DRILLS
    + ch04_kl.DRILLS
    + ch04_loss.DRILLS
    + ch04_train_step.DRILLS
    + ch05_objective.DRILLS
    + ch05_schedules.DRILLS
    + ch05_train_loop.DRILLS
    + ch06_collapse.DRILLS
    + ch07_beta.DRILLS
    + ch07_tcvae.DRILLS
    + ch07_traversal.DRILLS
    + ch08_applications.DRILLS
    + ch08_latent_edits.DRILLS
    + ch09_olympiad.DRILLS
    + ch10_problem_vae.DRILLS
    + ch11_problem_collapse.DRILLS
)

PROBLEMS = (ch10_problem_vae.PROBLEM, ch11_problem_collapse.PROBLEM)

__all__ = ["DRILLS", "PROBLEMS"]
