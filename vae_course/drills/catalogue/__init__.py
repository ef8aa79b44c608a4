"""The course's drills, defined as data, one module per chapter (or topic).

Importing this package registers every drill (:func:`vae_course.drills.core.register`).
Each module exposes ``DRILLS``, a tuple of drill objects.
"""

from __future__ import annotations

import importlib

from ..core import register

MODULES = (
    "ch00_warmup",
    "ch01_autoencoder",
    "ch02_latent",
    "ch03_reparam",
    "ch04_kl",
    "ch04_loss",
    "ch05_schedules",
    "ch06_collapse",
    "ch07_beta",
)

for _name in MODULES:
    for _drill in importlib.import_module(f"{__name__}.{_name}").DRILLS:
        register(_drill)
