"""The course's drills, as data: one module per chapter (or topic), each exposing ``DRILLS``.

``DRILLS`` below is every drill of the course in chapter order. Nothing registers itself:
:mod:`vae_course.drills.registry` reads this tuple.
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
    ch04_kl_reason,
    ch04_loss,
    ch04_train_step,
    ch05_schedules,
    ch06_collapse,
    ch07_beta,
    ch09_olympiad,
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
    + ch04_kl_reason.DRILLS
    + ch04_loss.DRILLS
    + ch04_train_step.DRILLS
    + ch05_schedules.DRILLS
    + ch06_collapse.DRILLS
    + ch07_beta.DRILLS
    + ch09_olympiad.DRILLS
)

__all__ = ["DRILLS"]
