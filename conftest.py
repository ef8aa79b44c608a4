"""pytest configuration shared by the unit tests (tests/) and the notebook tests (nbval).

One run covers both: ``pytest tests solutions notebooks --nbval-lax --nbval-current-env``.
For notebooks (collected only with ``--nbval`` or ``--nbval-lax``) this file:

* runs kernels in the current environment unless a kernel is named explicitly
  (``--nbval-kernel-name``), so notebooks import the same ``vae_course`` as the tests;
* gives each cell :data:`CELL_TIMEOUT_S` seconds unless ``--nbval-cell-timeout`` is passed
  (nbval's own default, 2000 s, would let a hung cell stall CI for half an hour);
* ignores noisy outputs when a cell's output is compared (cells marked
  ``# NBVAL_CHECK_OUTPUT``): stderr (tqdm progress bars, warnings), HTML (drill results,
  tables), widget views and images.
"""

from __future__ import annotations

CELL_TIMEOUT_S = 300.0
NBVAL_DEFAULT_CELL_TIMEOUT_S = 2000.0  # nbval's default for --nbval-cell-timeout
NOISY_OUTPUTS = (
    "stderr",  # nbval keys stream outputs by their name when it compares them
    "text/html",
    "application/vnd.jupyter.widget-view+json",
    "application/vnd.jupyter.widget-state+json",
    "image/png",
    "image/jpeg",
    "image/svg+xml",
)

collect_ignore_glob = ["**/.ipynb_checkpoints/*"]


def _notebook_testing(config) -> bool:
    option = config.option
    return bool(getattr(option, "nbval", False) or getattr(option, "nbval_lax", False))


def pytest_configure(config):
    """Default nbval to the current environment and a per-cell timeout."""
    if not _notebook_testing(config):
        return
    option = config.option
    if not option.nbval_kernel_name:
        option.nbval_current_env = True
    if float(option.nbval_cell_timeout) == NBVAL_DEFAULT_CELL_TIMEOUT_S:
        option.nbval_cell_timeout = CELL_TIMEOUT_S


def pytest_collectstart(collector):
    """Add the noisy output types to what nbval skips when it compares outputs."""
    try:
        from nbval.plugin import IPyNbFile
    except ImportError:  # nbval missing: there are no notebook collectors to adjust
        return
    if isinstance(collector, IPyNbFile):
        collector.skip_compare = tuple(collector.skip_compare) + NOISY_OUTPUTS


_notebook_seconds: dict[str, float] = {}


def pytest_runtest_logreport(report):
    """Add up the time of every cell (set-up, call, tear-down) per notebook."""
    path = report.nodeid.split("::", 1)[0]
    if path.endswith(".ipynb"):
        _notebook_seconds[path] = _notebook_seconds.get(path, 0.0) + report.duration


def pytest_terminal_summary(terminalreporter):
    """Print each notebook's total time (--durations lists single cells only)."""
    if not _notebook_seconds:
        return
    terminalreporter.write_sep("=", "time per notebook (all its cells)")
    for path, seconds in sorted(_notebook_seconds.items(), key=lambda kv: -kv[1]):
        terminalreporter.write_line(f"{seconds:8.1f}s  {path}")
