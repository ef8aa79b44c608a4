"""Helpers for the browser test: Chromium, a private JupyterLab server, and the page checks.

Three parts, used by ``tests/test_browser.py``:

* :func:`ensure_chromium` finds ``/usr/bin/chromium`` or installs it with apt-get (root only),
  and says why not otherwise.
* :class:`LabServer` starts ``python -m jupyter lab`` from this environment on a free
  loopback port with a random token and private Jupyter directories, and always stops it
  (REST shutdown, then the process group, then any kernel it left behind).
* :class:`NotebookPage` drives one notebook in headless Chromium through Playwright: open,
  Run All Cells, wait for the kernel, read what each cell shows, move a slider.

Nothing here knows which notebook it is looking at; the assertions live in the test module.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS_DIR = REPO_ROOT / "tests" / "artifacts"

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
APT_PACKAGES = ("chromium",)
APT_TIMEOUT_S = 1200

# This machine's network is closed: without these flags Chromium keeps trying to reach
# outside hosts at start-up. A new, empty --user-data-dir is given by launch_persistent_context.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
)

# JupyterLab user settings for a quiet, deterministic test page: every cell attached to the
# DOM (no windowing), no autosave (the repository's notebooks must never be written), no
# news or update check (closed network), and the notebook's kernel started without a dialog.
LAB_SETTINGS: dict[str, dict[str, Any]] = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {
        "windowingMode": "none",
        "autoStartDefaultKernel": True,
        "kernelShutdown": True,
    },
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {
        "autosave": False,
        "confirmClosingDocument": False,
    },
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
        "doNotDisturbMode": True,
    },
}


class BrowserUnavailable(RuntimeError):
    """Chromium is missing and cannot be installed here; the message says why."""


# --------------------------------------------------------------------------------------
# Chromium
# --------------------------------------------------------------------------------------


def find_chromium() -> str | None:
    """Path of an installed Chromium executable, or None."""
    for candidate in CHROMIUM_CANDIDATES:
        if os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which("chromium")
    return found


def _log_tail(path: Path, lines: int = 25) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


def ensure_chromium(log_path: Path) -> str:
    """Return the Chromium executable, installing Debian's ``chromium`` package if needed.

    The install runs only as root with apt-get present (``apt-get update`` then
    ``apt-get install -y chromium``), quietly, with its output in ``log_path``.
    Raises :class:`BrowserUnavailable` with a clear reason (and the log tail) otherwise.
    """
    found = find_chromium()
    if found:
        return found
    # Test workers (pytest -n) may both need Chromium: one installs, the other waits for it.
    lock_path = Path(tempfile.gettempdir()) / "vae-course-chromium-install.lock"
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return find_chromium() or _install_chromium(log_path)


def _install_chromium(log_path: Path) -> str:
    apt_get = shutil.which("apt-get")
    if apt_get is None:
        raise BrowserUnavailable(
            "Chromium is not installed and apt-get is not available: install Chromium "
            f"(one of {', '.join(CHROMIUM_CANDIDATES)}) to run the browser test."
        )
    if hasattr(os, "geteuid") and os.geteuid() != 0:
        raise BrowserUnavailable(
            "Chromium is not installed and installing it needs root: run "
            f"'sudo apt-get install -y {' '.join(APT_PACKAGES)}' once."
        )
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    steps = (
        [apt_get, "update", "-qq"],
        [apt_get, "install", "-y", "-qq", "-o", "DPkg::Lock::Timeout=300", *APT_PACKAGES],
    )
    deadline = time.monotonic() + APT_TIMEOUT_S
    with log_path.open("w") as log:
        for step in steps:
            log.write(f"$ {' '.join(step)}\n")
            log.flush()
            try:
                subprocess.run(
                    step,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    env=env,
                    check=True,
                    timeout=max(1.0, deadline - time.monotonic()),
                )
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
                log.flush()
                raise BrowserUnavailable(
                    f"Installing Chromium failed ({error}). Last lines of {log_path}:\n"
                    + _log_tail(log_path)
                ) from error
    found = find_chromium()
    if not found:
        raise BrowserUnavailable(
            f"apt-get installed {' '.join(APT_PACKAGES)} but no Chromium executable was "
            f"found. Last lines of {log_path}:\n" + _log_tail(log_path)
        )
    return found


# --------------------------------------------------------------------------------------
# JupyterLab server
# --------------------------------------------------------------------------------------


def free_loopback_port() -> int:
    """A TCP port that was free on 127.0.0.1 a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _descendant_pids(pid: int) -> list[int]:
    """PIDs of every process below ``pid`` (kernels run in their own session)."""
    try:
        import psutil
    except ImportError:  # psutil comes with ipykernel; without it we rely on the group kill
        return []
    try:
        return [child.pid for child in psutil.Process(pid).children(recursive=True)]
    except psutil.Error:
        return []


def _kill_pids(pids: list[int], sig: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


@dataclass
class LabServer:
    """A JupyterLab server of this Python environment, private to one test session.

    ``root_dir`` is what the file browser shows (the repository root); every Jupyter
    directory (config, data, runtime, settings, workspaces, IPython) lives in ``work_dir``,
    so the user's own Jupyter set-up is never read or written. Kernels inherit ``env_extra``.
    """

    root_dir: Path
    work_dir: Path
    env_extra: dict[str, str] = field(default_factory=dict)
    startup_timeout_s: float = 90.0
    port: int = 0
    token: str = ""
    process: subprocess.Popen | None = None
    log_path: Path | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def environment(self) -> dict[str, str]:
        """The server's (and so the kernels') environment."""
        env = dict(os.environ)
        # make test sets MPLBACKEND=Agg for nbval; in the browser figures must be shown inline.
        env.pop("MPLBACKEND", None)
        for name in ("JUPYTER_PATH", "JUPYTER_CONFIG_PATH", "JUPYTER_PREFER_ENV_PATH"):
            env.pop(name, None)
        dirs = {
            "JUPYTER_CONFIG_DIR": "jupyter-config",
            "JUPYTER_DATA_DIR": "jupyter-data",
            "JUPYTER_RUNTIME_DIR": "jupyter-runtime",
            "JUPYTERLAB_SETTINGS_DIR": "lab-settings",
            "JUPYTERLAB_WORKSPACES_DIR": "lab-workspaces",
            "IPYTHONDIR": "ipython",
        }
        for name, sub in dirs.items():
            path = self.work_dir / sub
            path.mkdir(parents=True, exist_ok=True)
            env[name] = str(path)
        env["JUPYTER_TOKEN"] = self.token
        env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
        env.update(self.env_extra)
        return env

    def _write_lab_settings(self, settings_dir: Path) -> None:
        for relative, values in LAB_SETTINGS.items():
            path = settings_dir / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values, indent=2))

    def start(self) -> LabServer:
        """Start the server and wait until its REST API answers; raise with the log if not."""
        self.token = secrets.token_hex(24)
        self.port = free_loopback_port()
        env = self.environment()
        self._write_lab_settings(Path(env["JUPYTERLAB_SETTINGS_DIR"]))
        self.log_path = self.work_dir / "jupyterlab.log"
        command = [
            sys.executable,
            "-m",
            "jupyter",
            "lab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--ServerApp.root_dir={self.root_dir}",
            "--ServerApp.terminals_enabled=False",
            "--ServerApp.allow_remote_access=False",
            f"--FileCheckpoints.checkpoint_dir={self.work_dir / 'checkpoints'}",
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.extension_manager=readonly",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:  # CI runs as root
            command.append("--allow-root")
        with self.log_path.open("w") as log:
            self.process = subprocess.Popen(
                command,
                cwd=self.root_dir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        atexit.register(self.stop)
        return self.wait_until_answering()

    def wait_until_answering(self) -> LabServer:
        """Wait until the REST API answers; stop the server and raise with the log if not."""
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"JupyterLab exited with code {self.process.returncode} while starting:\n"
                    + _log_tail(self.log_path)
                )
            with contextlib.suppress(OSError, urllib.error.URLError, ValueError):
                self.api("GET", "/api/status")
                return self
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(
            f"JupyterLab did not answer within {self.startup_timeout_s:.0f} s:\n"
            + _log_tail(self.log_path)
        )

    def start_with(self, command: list[str], cwd: Path) -> LabServer:
        """Start JupyterLab through another program (e.g. ``make lab``) and wait for it.

        ``command`` must start a server on :attr:`port` (chosen here; build the command after
        calling :meth:`reserve`) that reads its token from ``JUPYTER_TOKEN``. It runs in a
        new session, so :meth:`stop` ends it and everything it started.
        """
        env = self.environment()
        self._write_lab_settings(Path(env["JUPYTERLAB_SETTINGS_DIR"]))
        self.log_path = self.work_dir / "launch.log"
        with self.log_path.open("w") as log:
            self.process = subprocess.Popen(
                command,
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        atexit.register(self.stop)
        return self.wait_until_answering()

    def reserve(self) -> LabServer:
        """Choose the token and a free port before :meth:`start_with`."""
        self.token = secrets.token_hex(24)
        self.port = free_loopback_port()
        return self

    def log_text(self) -> str:
        """Everything the server (and what started it) printed so far."""
        try:
            return self.log_path.read_text(errors="replace") if self.log_path else ""
        except OSError:
            return ""

    def api(self, method: str, path: str, timeout: float = 10.0) -> Any:
        """Call the server's REST API with the token; return the decoded JSON (or None)."""
        request = urllib.request.Request(
            self.base_url + path,
            method=method,
            headers={"Authorization": f"token {self.token}"},
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
        return json.loads(body) if body else None

    def url(self, path: str) -> str:
        """Browser address of ``path`` (relative to root_dir) in a fresh Lab workspace."""
        return f"{self.base_url}/lab/tree/{path}?reset&token={self.token}"

    def shutdown_kernels(self) -> None:
        """Shut down every running kernel (between notebooks: frees memory and CPU)."""
        with contextlib.suppress(OSError, urllib.error.URLError, ValueError):
            for kernel in self.api("GET", "/api/kernels") or []:
                with contextlib.suppress(OSError, urllib.error.URLError):
                    self.api("DELETE", f"/api/kernels/{kernel['id']}", timeout=30)

    def stop(self) -> None:
        """Stop the server and every process it started; safe to call more than once."""
        process = self.process
        if process is None:
            return
        self.process = None
        with contextlib.suppress(Exception):
            atexit.unregister(self.stop)
        children = _descendant_pids(process.pid)
        if process.poll() is None:
            with contextlib.suppress(OSError, urllib.error.URLError, ValueError):
                self.api("POST", "/api/shutdown", timeout=5)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=10)
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(process.pid, signal.SIGKILL)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=10)
        # Kernels are started in sessions of their own, outside the server's process group.
        leftovers = [pid for pid in children if _pid_alive(pid)]
        _kill_pids(leftovers, signal.SIGTERM)
        time.sleep(0.5 if leftovers else 0)
        _kill_pids([pid for pid in leftovers if _pid_alive(pid)], signal.SIGKILL)


def _pid_alive(pid: int) -> bool:
    try:
        import psutil

        return psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except ImportError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    except Exception:
        return False


@contextlib.contextmanager
def running_lab(root_dir: Path, env_extra: dict[str, str]):
    """Yield a started :class:`LabServer`; always stop it and remove its temp dir."""
    work_dir = Path(tempfile.mkdtemp(prefix="vae-course-lab-"))
    server = LabServer(root_dir=root_dir, work_dir=work_dir, env_extra=env_extra)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(work_dir, ignore_errors=True)


# --------------------------------------------------------------------------------------
# What the page shows
# --------------------------------------------------------------------------------------

# A drill Result renders as this element (vae_course/drills/display.py:box_html).
DRILL_HTML_SELECTOR = ".vae-course-drill"
# Result.__str__ ("[NOT ATTEMPTED] kl_divergence  0/5") or a dataclass-style repr.
PLAIN_TEXT_RESULT = re.compile(
    r"^\s*(Result\(|\[(PASSED|FAILED|PARTIAL|NOT ATTEMPTED)\]\s+\S+\s+[\d.]+/[\d.]+)", re.M
)
TRACEBACK = re.compile(r"Traceback \(most recent call last\)|^\s*\w*(Error|Exception)\b.*:", re.M)
WIDGET_AS_TEXT = re.compile(r"^\s*(\w+Slider|VBox|HBox|Image|Box)\(", re.M)
WIDGET_ERRORS = ("Error displaying widget", "Error rendering widget", "Failed to load model class")
SLIDER_SELECTOR = ".widget-slider, .jupyter-widget-slider"
SLIDER_HANDLE_SELECTOR = ".noUi-handle"
STDERR_MIME = "application/vnd.jupyter.stderr"
# A displayed value (execute_result / display_data). A deliberate print(result) goes to
# stdout and is the author's choice (chapter 09 prints the checker's verdict on mistakes).
PLAIN_TEXT_MIMES = ("text/plain",)


@dataclass
class RenderedOutput:
    """One output element of a cell as the page shows it."""

    mime: str  # data-mime-type, or "widget" for an ipywidgets view
    text: str
    has_drill_html: bool = False
    slider_count: int = 0

    def is_traceback(self) -> bool:
        return self.mime == STDERR_MIME and bool(TRACEBACK.search(self.text))

    def is_expected_exercise_stub(self) -> bool:
        return "NotImplementedError" in self.text and "Exercise" in self.text


@dataclass
class RenderedCell:
    """A notebook cell: its index in the file, its source and tags, and what it shows."""

    index: int
    cell_type: str
    source: str
    tags: list[str]
    prompt: str
    outputs: list[RenderedOutput]

    @property
    def executed(self) -> bool:
        return bool(re.search(r"\[\d+\]", self.prompt))

    @property
    def slider_count(self) -> int:
        return sum(output.slider_count for output in self.outputs)


def last_statement_is_drill_check(source: str) -> bool:
    """True when a code cell ends with a displayed ``drills.check(...)`` call."""
    lines = [line for line in source.splitlines() if line.strip() and not line.startswith("#")]
    if not lines:
        return False
    # Join the trailing statement when the call spans several lines.
    for start in range(len(lines) - 1, -1, -1):
        if lines[start].strip().startswith("drills.check("):
            tail = "\n".join(lines[start:]).rstrip()
            return not tail.endswith(";") and not lines[start].startswith((" ", "\t"))
        if not lines[start].startswith((" ", "\t", ")")):
            return False
    return False


def problems_in(cells: list[RenderedCell], *, expect_drills: bool) -> list[str]:
    """Everything a learner would see as broken, one sentence per problem.

    * an error output (a traceback) other than an exercise stub's NotImplementedError in a
      cell tagged ``raises-exception``;
    * a non-empty code cell that never ran (Run All stopped early);
    * a cell ending in ``drills.check(...)`` whose Result is not shown as drill HTML, or any
      drill Result shown as plain text;
    * a widget shown as text or as a widget error.
    """
    problems: list[str] = []
    drill_cells = 0
    for cell in cells:
        if cell.cell_type != "code":
            continue
        where = f"cell {cell.index}"
        if cell.source.strip() and not cell.executed:
            problems.append(f"{where} did not run (prompt {cell.prompt!r}): {cell.source[:80]!r}")
        for output in cell.outputs:
            if output.is_traceback():
                expected = "raises-exception" in cell.tags and output.is_expected_exercise_stub()
                if not expected:
                    problems.append(f"{where} shows an error:\n{output.text[-1500:]}")
            if output.mime in PLAIN_TEXT_MIMES and PLAIN_TEXT_RESULT.search(output.text):
                problems.append(
                    f"{where} shows a drill Result as plain text: {output.text[:200]!r}"
                )
            if output.mime == "text/plain" and WIDGET_AS_TEXT.search(output.text):
                problems.append(f"{where} shows a widget as plain text: {output.text[:200]!r}")
            if any(marker in output.text for marker in WIDGET_ERRORS):
                problems.append(f"{where} shows a widget error: {output.text[:300]!r}")
        if last_statement_is_drill_check(cell.source):
            drill_cells += 1
            if not any(output.has_drill_html for output in cell.outputs):
                shown = [(o.mime, o.text[:120]) for o in cell.outputs]
                problems.append(
                    f"{where} ends with drills.check(...) but shows no drill HTML "
                    f"({DRILL_HTML_SELECTOR}); it shows {shown}"
                )
    if expect_drills and drill_cells == 0:
        problems.append("the notebook has no cell ending with drills.check(...)")
    return problems


# --------------------------------------------------------------------------------------
# Driving the page
# --------------------------------------------------------------------------------------

_READ_CELLS_JS = """
(args) => {
  const [drillSelector, sliderSelector] = args;
  const notebook = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook');
  if (!notebook) return [];
  return [...notebook.querySelectorAll(':scope .jp-Cell')].map((cell) => {
    const prompt = cell.querySelector('.jp-InputPrompt');
    const outputs = [...cell.querySelectorAll('.jp-OutputArea-output')].map((out) => ({
      mime: out.dataset.mimeType || (out.querySelector('.jupyter-widgets') ? 'widget' : ''),
      text: (out.innerText || '').slice(0, 20000),
      has_drill_html: !!out.querySelector(drillSelector),
      slider_count: out.querySelectorAll(sliderSelector).length,
    }));
    return {
      index: Number(cell.dataset.windowedListIndex),
      code: cell.classList.contains('jp-CodeCell'),
      prompt: prompt ? prompt.textContent.trim() : '',
      outputs,
    };
  });
}
"""

_IMAGE_FINGERPRINTS_JS = """
async (cell) => {
  const hex = (buffer) => [...new Uint8Array(buffer)]
    .map((b) => b.toString(16).padStart(2, '0')).join('');
  const prints = [];
  for (const img of cell.querySelectorAll('.jp-OutputArea-output img')) {
    let print = img.src;
    try {
      const bytes = await (await fetch(img.src)).arrayBuffer();
      print = hex(await crypto.subtle.digest('SHA-256', bytes));
    } catch (error) {
      // a revoked blob: address still identifies the image it showed
    }
    prints.push(print);
  }
  return prints;
}
"""

_KERNEL_READY_JS = """
() => {
  const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
  if (!panel || !panel.querySelector('.jp-Cell')) return false;
  const indicator = panel.querySelector('.jp-Notebook-ExecutionIndicator');
  const name = panel.querySelector('.jp-KernelName');
  return !!indicator && indicator.dataset.status === 'idle'
    && !!name && !/No Kernel/i.test(name.textContent);
}
"""

_RUN_FINISHED_JS = """
() => {
  const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
  if (!panel) return false;
  const indicator = panel.querySelector('.jp-Notebook-ExecutionIndicator');
  if (!indicator || indicator.dataset.status !== 'idle') return false;
  return ![...panel.querySelectorAll('.jp-InputPrompt')].some((p) => p.textContent.includes('*'));
}
"""


_SCROLL_TO_TOP_JS = """
() => {
  const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
  if (!panel) return 0;
  const outer = panel.querySelector('.jp-WindowedPanel-outer');
  if (outer) outer.scrollTop = 0;
  const cells = panel.querySelector('.jp-WindowedPanel-viewport') || outer;
  return cells ? cells.getBoundingClientRect().height : 0;
}
"""


def notebook_cells(path: Path) -> list[dict[str, Any]]:
    """Cells of the ``.ipynb`` file: type, source and tags, in file order."""
    notebook = json.loads(path.read_text())
    cells = []
    for cell in notebook.get("cells", []):
        source = cell.get("source", "")
        cells.append(
            {
                "cell_type": cell.get("cell_type", ""),
                "source": "".join(source) if isinstance(source, list) else source,
                "tags": list(cell.get("metadata", {}).get("tags", [])),
            }
        )
    return cells


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class NotebookPage:
    """One notebook open in JupyterLab in a Playwright page."""

    def __init__(self, page: Any, server: LabServer, relative_path: str) -> None:
        self.page = page
        self.server = server
        self.relative_path = relative_path
        self.file_cells = notebook_cells(server.root_dir / relative_path)

    def open(self, timeout_s: float = 120.0) -> None:
        """Load the notebook and wait until its kernel is started and idle."""
        self.page.goto(self.server.url(self.relative_path), wait_until="domcontentloaded")
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.page.evaluate(_KERNEL_READY_JS):
                break
            self._accept_kernel_dialog()
            time.sleep(0.3)
        else:
            raise TimeoutError(
                f"{self.relative_path}: the kernel was not idle after {timeout_s:.0f} s "
                f"(status bar: {self.status_bar_text()!r})"
            )
        # The file browser takes a third of the width; screenshots are about the notebook.
        with contextlib.suppress(Exception):
            if self.page.locator("#jp-left-stack:visible").count():
                self.page.keyboard.press("Control+b")  # View > Appearance > Show Left Sidebar

    def _accept_kernel_dialog(self) -> None:
        dialog = self.page.locator(".jp-Dialog")
        if dialog.count() and "kernel" in dialog.first.inner_text().lower():
            dialog.locator(".jp-mod-accept").first.click()

    def status_bar_text(self) -> str:
        with contextlib.suppress(Exception):
            return self.page.locator(".jp-StatusBar-Widget").inner_text(timeout=2000)
        return ""

    def run_all(self, timeout_s: float = 600.0) -> float:
        """Run > Run All Cells, wait until no cell is queued or running; return seconds."""
        started = time.monotonic()
        self.page.get_by_role("menuitem", name="Run", exact=True).click()
        self.page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
        # Run All marks every cell [*] at once; wait for that before waiting for the end.
        with contextlib.suppress(Exception):
            self.page.wait_for_function(
                "() => [...document.querySelectorAll('.jp-InputPrompt')]"
                ".some((p) => p.textContent.includes('*'))",
                timeout=10_000,
            )
        deadline = started + timeout_s
        finished_since: float | None = None
        while time.monotonic() < deadline:
            dead = self._kernel_problem()
            if dead:
                raise RuntimeError(f"{self.relative_path}: {dead}")
            if self.page.evaluate(_RUN_FINISHED_JS):
                finished_since = finished_since or time.monotonic()
                if time.monotonic() - finished_since >= 1.5:  # widgets still syncing settle
                    return time.monotonic() - started
            else:
                finished_since = None
            time.sleep(0.25)
        raise TimeoutError(
            f"{self.relative_path}: cells still running after {timeout_s:.0f} s "
            f"(status bar: {self.status_bar_text()!r})"
        )

    def _kernel_problem(self) -> str:
        text = self.status_bar_text()
        if re.search(r"\b(Dead|Unknown)\b", text):
            return f"the kernel died (status bar: {text!r})"
        dialog = self.page.locator(".jp-Dialog")
        if dialog.count():
            return f"a dialog appeared: {dialog.first.inner_text()[:500]!r}"
        return ""

    def cells(self) -> list[RenderedCell]:
        """Every cell with what the page shows for it, joined with the file's source and tags."""
        raw = self.page.evaluate(_READ_CELLS_JS, [DRILL_HTML_SELECTOR, SLIDER_SELECTOR])
        cells = []
        for item in raw:
            meta = self.file_cells[item["index"]] if item["index"] < len(self.file_cells) else {}
            cells.append(
                RenderedCell(
                    index=item["index"],
                    cell_type="code" if item["code"] else meta.get("cell_type", "markdown"),
                    source=meta.get("source", ""),
                    tags=meta.get("tags", []),
                    prompt=item["prompt"],
                    outputs=[RenderedOutput(**output) for output in item["outputs"]],
                )
            )
        return cells

    def _cell_locator(self, index: int) -> Any:
        return self.page.locator(
            f".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell[data-windowed-list-index='{index}']"
        )

    def image_fingerprints(self, index: int) -> list[str]:
        """A digest of every image in cell ``index``'s outputs (blob:, data: or URL)."""
        return self._cell_locator(index).evaluate(_IMAGE_FINGERPRINTS_JS)

    def move_first_slider(self, index: int, timeout_s: float = 30.0) -> tuple[list, list]:
        """Move the first slider of cell ``index`` with the keyboard until its images change.

        Focuses the slider handle and presses ArrowRight (then End); returns the image
        fingerprints before and after (equal when nothing changed within the timeout).
        """
        cell = self._cell_locator(index)
        handle = cell.locator(f"{SLIDER_HANDLE_SELECTOR}").first
        handle.scroll_into_view_if_needed()
        before = self.image_fingerprints(index)
        value_before = handle.get_attribute("aria-valuenow")
        handle.focus()
        after = before
        for keys in (["ArrowRight"] * 10, ["End"]):
            for key in keys:
                handle.press(key)
            deadline = time.monotonic() + timeout_s / 2
            while time.monotonic() < deadline:
                after = self.image_fingerprints(index)
                if after and after != before:
                    return before, after
                time.sleep(0.25)
        value_after = handle.get_attribute("aria-valuenow")
        if value_after == value_before:
            # the keyboard did nothing: drag the handle to the right instead
            box = handle.bounding_box()
            if box:
                x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
                self.page.mouse.move(x, y)
                self.page.mouse.down()
                self.page.mouse.move(x + 120, y, steps=8)
                self.page.mouse.up()
                deadline = time.monotonic() + timeout_s / 2
                while time.monotonic() < deadline:
                    after = self.image_fingerprints(index)
                    if after and after != before:
                        break
                    time.sleep(0.25)
        return before, after

    def screenshot_notebook(self, path: Path, max_height: int = 16000) -> None:
        """Save the whole notebook as one picture (the viewport grows to fit it)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        original = self.page.viewport_size
        height = self.page.evaluate(_SCROLL_TO_TOP_JS)
        width = original["width"] if original else 1280
        tall = int(min(max_height, max(900, height + 200)))
        try:
            self.page.set_viewport_size({"width": width, "height": tall})
            self.page.wait_for_timeout(800)
            self.page.evaluate(_SCROLL_TO_TOP_JS)
            self.page.screenshot(path=str(path))
        finally:
            if original:
                self.page.set_viewport_size(original)

    def screenshot_cell(self, index: int, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._cell_locator(index).screenshot(path=str(path))
