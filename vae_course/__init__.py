"""vae-course: the helper package behind the Variational Autoencoder course.

Modules (one job each): ``data``, ``shapes``, ``models``, ``losses``, ``schedules``,
``train``, ``diagnostics``, ``plots``, ``widgets``, ``drills``, ``authoring``,
``grading``, ``cli``; ``config`` holds the environment switches and ``storage``
the cache directory and atomic writes.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("vae-course")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
