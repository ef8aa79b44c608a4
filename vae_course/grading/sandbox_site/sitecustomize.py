"""Audit-hook recorder for the kernel that runs one submitted notebook, and for its children.

The walls around learner code are the operating system's (:mod:`vae_course.grading.sandbox`:
a file system of its own, no network, its own PID namespace, an unprivileged user). This
hook does not hold anything back that the walls would let through; it *records* what a
notebook tried so that the teacher's gradebook can say so (status ``sandbox-violation``),
and answers the attempt with a clear ``PermissionError`` instead of a puzzling
"read-only file system" or "no such file".

Python imports this module at start-up because the grader puts its folder first on the
kernel's ``PYTHONPATH``; it installs one :func:`sys.addaudithook` hook (PEP 578) when
``VAE_GRADER_WORKDIR`` is set. Recorded and refused (paths resolved against the current
folder, ``dir_fd`` and symbolic links, so relative paths count like absolute ones):

* changing files outside the working folder (writes, deletions, renames, links, mode and
  time changes), except ``/dev/null``, ``/dev/shm`` and terminals;
* reading outside the working folder, the Python installation and the folders in
  ``VAE_GRADER_READ_ROOTS`` (the package), the system's folders, and always secrets such
  as ``/etc/shadow``;
* network connections, loopback and Unix sockets included (``socket.connect`` and
  ``sendto``): the kernel talks to its client in C (ZeroMQ), so nothing legitimate is
  recorded.

Starting programs is not recorded: inside the sandbox a program is as contained as the
kernel, and dies with it. Each record is one JSON line written to ``VAE_GRADER_LOG``, a
FIFO the grader drains as the notebook runs; it is opened before any learner code runs, so
what was sent cannot be taken back.
"""

from __future__ import annotations

import json
import os
import sys
import threading


def install(settings) -> None:
    """Install the hook for the ``VAE_GRADER_*`` entries of ``settings`` (a mapping)."""
    workdir_setting = settings.get("VAE_GRADER_WORKDIR")
    if not workdir_setting:
        return  # not started by the grader: do nothing
    realpath = os.path.realpath
    sep = os.sep
    workdir = realpath(workdir_setting)

    def _roots(paths) -> tuple[str, ...]:
        found = []
        for path in paths:
            if not path or not os.path.isabs(path):
                continue
            resolved = realpath(path)
            if resolved not in found and resolved != sep:
                found.append(resolved)
        return tuple(found)

    import site

    python_roots = [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix]
    try:
        python_roots += site.getsitepackages()
    except AttributeError:  # very old virtualenvs
        pass
    python_roots += [entry for entry in sys.path if os.path.isdir(entry or ".")]
    extra = settings.get("VAE_GRADER_READ_ROOTS", "").split(os.pathsep)
    system = ["/usr", "/lib", "/lib32", "/lib64", "/libx32", "/bin", "/sbin", "/etc"]
    system += ["/dev", "/proc", "/sys", "/System", "/Library", "/private/etc"]
    read_roots = _roots([workdir, *python_roots, *extra, *system])
    write_roots = (workdir, "/dev/null", "/dev/shm", "/dev/pts", "/dev/tty", "/dev/ptmx")
    secrets = ["/etc/shadow", "/etc/gshadow", "/etc/sudoers", "/etc/ssh", "/etc/security"]
    denied = _roots(secrets + settings.get("VAE_GRADER_DENY_ROOTS", "").split(os.pathsep))
    log_fd = None
    log_path = settings.get("VAE_GRADER_LOG")
    if log_path:
        try:
            log_fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_NONBLOCK)
        except OSError:
            log_fd = None
    write_flags = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
    state = {"logged": 0}
    local = threading.local()  # per-thread re-entrancy guard

    def inside(path: str, roots) -> bool:
        return any(path == root or path.startswith(root + sep) for root in roots)

    def resolve(path, dir_fd=None) -> str | None:
        if isinstance(path, int):
            return None  # an already-open file descriptor
        if dir_fd is not None and dir_fd < 0:  # the audit events say -1 for "no dir_fd"
            dir_fd = None
        try:
            text = os.fsdecode(path)
            if dir_fd is not None and not os.path.isabs(text):
                base = os.readlink(f"/proc/self/fd/{dir_fd}")
                text = os.path.join(base, text)
            elif not os.path.isabs(text):
                text = os.path.join(os.getcwd(), text)
            return realpath(text)
        except (OSError, TypeError, ValueError):
            return None

    def deny(event: str, what: str, detail: str) -> None:
        if log_fd is not None and state["logged"] < 500:
            state["logged"] += 1
            record = {"event": event, "what": what, "detail": detail[:500]}
            try:
                os.write(log_fd, (json.dumps(record) + "\n").encode("utf-8", "replace"))
            except OSError:  # the grader stopped reading, or the FIFO is full
                pass
        raise PermissionError(f"vae-course grader sandbox: {what} is not allowed ({detail})")

    def check_read(event: str, path, dir_fd=None) -> None:
        resolved = resolve(path, dir_fd)
        if resolved is None or inside(resolved, (workdir,)):
            return
        if inside(resolved, denied) or not inside(resolved, read_roots):
            deny(event, "reading outside your working folder", resolved)

    def check_write(event: str, path, dir_fd=None) -> None:
        resolved = resolve(path, dir_fd)
        if resolved is not None and not inside(resolved, write_roots):
            deny(event, "changing files outside your working folder", resolved)

    def check_link(event: str, path, dir_fd=None) -> None:
        """The link itself must be inside; so must what it points to, for a hard link."""
        check_write(event, path, dir_fd)

    def check_connect(event: str, address) -> None:
        if isinstance(address, tuple) and address:
            shown = f"{address[0]}:{address[1]}" if len(address) > 1 else str(address[0])
        else:
            shown = os.fsdecode(address) if isinstance(address, str | bytes) else str(address)
        deny(event, "network access", shown or "a Unix socket")

    def writes(flags) -> bool:
        return isinstance(flags, int) and bool(flags & write_flags)

    def last_fd(args) -> int | None:
        return args[-1] if args and isinstance(args[-1], int) else None

    def policy(event: str, args: tuple) -> None:
        if event == "open":
            path, _mode, flags = args
            if writes(flags) or (isinstance(_mode, str) and any(c in _mode for c in "wax+")):
                check_write(event, path)
            else:
                check_read(event, path)
        elif event in ("os.listdir", "os.scandir"):
            check_read(event, args[0] if args and args[0] is not None else ".")
        elif event == "glob.glob":
            check_read(event, os.path.dirname(os.fsdecode(args[0])) or ".")
        elif event in ("os.remove", "os.rmdir", "os.mkdir", "os.chmod", "os.chown"):
            check_write(event, args[0], last_fd(args))
        elif event in ("os.rename", "os.link"):
            check_write(event, args[0], args[2] if len(args) > 2 else None)
            check_write(event, args[1], args[3] if len(args) > 3 else None)
        elif event == "os.symlink":
            check_link(event, args[1], args[2] if len(args) > 2 else None)
        elif event in ("os.truncate", "os.utime", "os.chflags", "os.setxattr", "os.removexattr"):
            check_write(event, args[0])
        elif event in ("shutil.rmtree", "shutil.chown"):
            check_write(event, args[0])
        elif event in ("shutil.copyfile", "shutil.copytree", "shutil.copymode", "shutil.copystat"):
            check_read(event, args[0])
            check_write(event, args[1])
        elif event == "shutil.move":
            check_write(event, args[0])
            check_write(event, args[1])
        elif event in ("socket.connect", "socket.sendto"):
            check_connect(event, args[1])

    watched = frozenset(
        {
            "open", "os.listdir", "os.scandir", "glob.glob", "os.remove", "os.rmdir",
            "os.mkdir", "os.chmod", "os.chown", "os.rename", "os.link", "os.symlink",
            "os.truncate", "os.utime", "os.chflags", "os.setxattr", "os.removexattr",
            "shutil.rmtree", "shutil.chown", "shutil.copyfile", "shutil.copytree",
            "shutil.copymode", "shutil.copystat", "shutil.move", "socket.connect",
            "socket.sendto",
        }
    )  # fmt: skip

    def hook(event: str, args: tuple) -> None:
        if event not in watched or getattr(local, "busy", False):
            return
        local.busy = True
        try:
            policy(event, args)
        except PermissionError:
            raise
        except Exception:  # unexpected arguments: let the operating system decide
            pass
        finally:
            local.busy = False

    sys.addaudithook(hook)


if __name__ == "sitecustomize":  # Python imports it at start-up from the kernel's PYTHONPATH
    install(os.environ)
