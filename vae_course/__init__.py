"""vae-course: the helper package behind the Variational Autoencoder course.

Modules (one job each): ``data`` and ``shapes`` (data sets), ``models`` (a package, one
file per family), ``losses``, ``schedules``, ``train`` (the loop; ``history``,
``model_cache``, ``divergence`` and ``training_data`` beside it), ``diagnostics``,
``generation``, ``plots``, ``widgets``, ``toys``, ``measured`` (the numbers the prose
quotes), ``drills`` (the graded exercises), ``grading`` (classroom grading, one module per
stage), ``authoring`` (student notebooks from solutions), ``contest`` and ``practice``
(olympiad), ``course_files``, ``lab`` and ``nbgrader_export`` (ways in), ``doctor`` and
``cli``; ``config`` holds the environment switches, ``storage`` the cache directory and
atomic writes, ``_checks`` the argument checks.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("vae-course")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
