"""The operating-system sandbox around every process that runs learner code.

A submission's kernel and the runs of its graded functions each happen inside a
bubblewrap (``bwrap``) sandbox, the namespace approach of the IOI's ``isolate``:

* **a file system of its own**, built from an allow-list: the system's programs and
  libraries (``/usr``, ``/bin``, ``/lib*``, a few files of ``/etc``), the Python
  installation and environment, the package, all read-only; the submission's own scratch
  folder is the only writable place. Nothing else exists inside: not the other
  submissions, not ``solutions/``, not the output folder, not the teacher's home;
* **no network** (a network namespace with only its own loopback) and **its own PID
  namespace**, with ``--die-with-parent``: no process outlives the grading of the
  submission, and the grader's ``/proc`` is not visible;
* **an unprivileged user**: started by root, the sandbox drops to ``nobody`` (real uid
  65534, no capabilities, ``no_new_privs``) after bubblewrap has built it; started by
  another user, it runs as that user in a user namespace;
* **limits**: address space, CPU seconds, file size (rlimits, set before the sandbox
  starts and inherited by everything inside) and wall time (the grader kills the whole
  sandbox); a pids/memory cgroup where one can be created (:mod:`.cgroups`).

Where bubblewrap cannot run (macOS, a locked-down container without namespaces), grading
refuses to start with the fix: install bubblewrap, or ``--container IMAGE`` (docker or
podman: the same policy, with ``--network none``, a read-only root and one writable
folder), or ``--no-sandbox``, which marks every row ``unsandboxed``. It never silently
degrades.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path

NOBODY = 65534
BWRAP = "bwrap"
CONTAINER_TOOLS = ("podman", "docker")
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
ETC_FILES = (
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/alternatives",
    "/etc/localtime",
    "/etc/nsswitch.conf",
    "/etc/passwd",
    "/etc/group",
    "/etc/hosts",
    "/etc/ssl",
    "/etc/ca-certificates",
    "/etc/fonts",
    "/etc/mime.types",
)
SYS_DIRS = ("/sys/devices/system/cpu",)


class SandboxUnavailable(RuntimeError):
    """No sandbox can run here; the message names the fix."""


@dataclass(frozen=True)
class Policy:
    """What one sandboxed run may see and do.

    ``workdir`` is the only writable folder (and the working directory); ``read_only``
    lists extra folders to show read-only; ``overlays`` maps a folder shown inside to the
    host folder shown there instead (the grader's runs of graded answers see a copy of
    the package without the course's implementations in place of the package).
    """

    workdir: Path
    env: dict[str, str]
    read_only: tuple[Path, ...] = ()
    overlays: tuple[tuple[Path, Path], ...] = ()
    memory_mb: int = 0
    cpu_seconds: int = 0
    file_mb: int = 2048
    keep_fds: tuple[int, ...] = ()


@dataclass
class Sandbox:
    """A way to run a command under a :class:`Policy`: ``bubblewrap``, ``container`` or
    ``none`` (``--no-sandbox``: the policy's limits and environment only)."""

    kind: str
    image: str = ""
    tool: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def isolated(self) -> bool:
        return self.kind != "none"

    def command(self, argv: list[str], policy: Policy) -> list[str]:
        """The command line that runs ``argv`` inside the sandbox."""
        if self.kind == "bubblewrap":
            return bubblewrap_command(argv, policy)
        if self.kind == "container":
            return container_command(self.tool, self.image, argv, policy)
        return list(argv)

    def environment(self, policy: Policy) -> dict[str, str] | None:
        """The environment of the launching process (None: bubblewrap sets it itself)."""
        if self.kind == "none":
            return dict(policy.env)
        return {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}


# ----------------------------------------------------------------------------- choosing


def choose(*, container: str | None = None, no_sandbox: bool = False) -> Sandbox:
    """The sandbox grading will use, or :class:`SandboxUnavailable` saying how to get one."""
    if no_sandbox:
        return Sandbox(
            "none", notes=["--no-sandbox: learner code ran WITHOUT an operating-system sandbox"]
        )
    if container:
        tool = next((t for t in CONTAINER_TOOLS if shutil.which(t)), "")
        if not tool:
            raise SandboxUnavailable(
                "--container needs docker or podman on PATH; install one, or install "
                "bubblewrap and drop --container"
            )
        return Sandbox("container", image=container, tool=tool)
    problem = bubblewrap_problem()
    if problem:
        raise SandboxUnavailable(
            f"grading runs learner code only inside an operating-system sandbox, and "
            f"bubblewrap cannot run here ({problem}). Fix: install it (Debian/Ubuntu: "
            "`apt-get install bubblewrap`; Fedora: `dnf install bubblewrap`), or pass "
            "--container IMAGE to use docker/podman, or --no-sandbox to grade without a "
            "sandbox (every row is then marked 'unsandboxed')"
        )
    return Sandbox("bubblewrap")


def bubblewrap_problem() -> str:
    """Why bubblewrap cannot build a sandbox here ('' when it can)."""
    if not sys.platform.startswith("linux"):
        return f"it needs Linux, this is {sys.platform}"
    if shutil.which(BWRAP) is None:
        return "bwrap is not installed"
    probe = Policy(workdir=Path("/tmp"), env={"PATH": "/usr/bin:/bin"})
    command = bubblewrap_command(["/bin/true"], probe, bind_workdir=False)
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"bwrap did not start: {error}"
    if done.returncode != 0:
        return (done.stderr.strip().splitlines() or ["bwrap failed"])[-1][:200]
    return ""


# ----------------------------------------------------------------------------- bubblewrap


def python_roots() -> list[Path]:
    """The folders this Python needs: its installation, its environment, its sys.path."""
    roots = {Path(sys.prefix), Path(sys.base_prefix), Path(sys.exec_prefix)}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        with contextlib.suppress(KeyError):
            roots.add(Path(sysconfig.get_paths()[key]))
    roots |= {Path(p) for p in sys.path if p and Path(p).is_dir()}
    executable = Path(sys.executable)
    roots |= {executable.parent, executable.resolve().parent.parent}
    return _outermost(sorted(r.resolve() for r in roots if r.exists()))


def _outermost(paths: list[Path]) -> list[Path]:
    kept: list[Path] = []
    for path in paths:
        if not any(path == k or k in path.parents for k in kept):
            kept = [k for k in kept if path not in k.parents] + [path]
    return kept


def bubblewrap_command(argv: list[str], policy: Policy, *, bind_workdir: bool = True) -> list[str]:
    """``bwrap ... -- argv`` for ``policy`` (see the module docstring)."""
    command = [
        BWRAP,
        "--die-with-parent",
        "--new-session",
        "--unshare-pid",
        "--unshare-net",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--hostname",
        "sandbox",
        "--dev",
        "/dev",
        "--proc",
        "/proc",
        "--tmpfs",
        "/tmp",
        "--clearenv",
    ]
    privileged = os.geteuid() == 0
    if not privileged:
        command += ["--unshare-user"]
    for folder in SYSTEM_DIRS:
        if os.path.lexists(folder):
            kind = "--symlink" if os.path.islink(folder) else "--ro-bind"
            command += (
                [kind, os.readlink(folder), folder]
                if kind == "--symlink"
                else [kind, folder, folder]
            )
    for path in (*ETC_FILES, *SYS_DIRS):
        command += ["--ro-bind-try", path, path]
    overlaid = {str(target) for target, _ in policy.overlays}
    created: set[str] = set()

    def parents(path: Path) -> list[str]:
        """``--dir`` for every missing parent, world-readable (bwrap's own are 0700)."""
        made = []
        for parent in reversed(path.parents):
            name = str(parent)
            if name != "/" and name not in created and name not in SYSTEM_DIRS:
                created.add(name)
                made += ["--perms", "0755", "--dir", name]
        return made

    for root in [*python_roots(), *policy.read_only]:
        if str(root) not in overlaid:
            command += parents(root) + ["--ro-bind", str(root), str(root)]
    for target, source in policy.overlays:
        command += parents(target) + ["--ro-bind", str(source), str(target)]
    if bind_workdir:
        command += parents(policy.workdir)
        command += ["--bind", str(policy.workdir), str(policy.workdir)]
    command += ["--chdir", str(policy.workdir)]
    for key, value in policy.env.items():
        command += ["--setenv", key, value]
    command += ["--"]
    if privileged:  # drop to nobody once bubblewrap has built the sandbox
        setpriv = shutil.which("setpriv") or "/usr/bin/setpriv"
        command += [
            setpriv,
            f"--reuid={NOBODY}",
            f"--regid={NOBODY}",
            "--clear-groups",
            "--inh-caps=-all",
            "--bounding-set=-all",
            "--no-new-privs",
            "--",
        ]
    return command + list(argv)


def prepare_workdir(path: Path) -> None:
    """Make ``path`` (and what is in it) writable by the sandbox's user."""
    if os.geteuid() != 0:
        return
    for folder, dirs, files in os.walk(path):
        for name in [folder, *(os.path.join(folder, n) for n in dirs + files)]:
            with contextlib.suppress(OSError):
                os.chown(name, NOBODY, NOBODY, follow_symlinks=False)


# ----------------------------------------------------------------------------- containers


def container_command(tool: str, image: str, argv: list[str], policy: Policy) -> list[str]:
    """``docker/podman run`` with the same policy: no network, read-only root, one folder."""
    command = [
        tool,
        "run",
        "--rm",
        "--network",
        "none",
        "--read-only",
        "--tmpfs",
        "/tmp",
        "--cap-drop",
        "ALL",
        "--security-opt",
        "no-new-privileges",
        "--user",
        f"{NOBODY}:{NOBODY}",
        "--pids-limit",
        "512",
        "-v",
        f"{policy.workdir}:{policy.workdir}:rw",
        "-w",
        str(policy.workdir),
    ]
    if policy.memory_mb:
        command += ["--memory", f"{policy.memory_mb}m"]
    for target, source in policy.overlays:
        command += ["-v", f"{source}:{target}:ro"]
    for key, value in policy.env.items():
        command += ["-e", f"{key}={value}"]
    return command + [image, *argv]


__all__ = [
    "Policy",
    "Sandbox",
    "SandboxUnavailable",
    "bubblewrap_command",
    "bubblewrap_problem",
    "choose",
    "prepare_workdir",
    "python_roots",
]
