"""Audit-hook sandbox for the kernel that runs one submitted notebook.

Python imports this module at start-up because the grader puts its folder first on the
kernel's ``PYTHONPATH``. It installs one :func:`sys.addaudithook` hook (PEP 578) that
applies this policy to every *Python-level* file, process and network operation:

* **write** (``open`` for writing/appending/creating, ``os.remove``/``unlink``/``rmdir``/
  ``rename``/``replace``/``mkdir``/``chmod``/``utime``/``truncate``/``link``/``symlink``,
  ``shutil.rmtree``/``move``/``copytree``...): only inside the working folder
  (``VAE_GRADER_WORKDIR``, which is also the kernel's ``HOME``, ``TMPDIR``, IPython,
  matplotlib, torch and course cache folder), ``/dev/null``, ``/dev/shm`` and terminals;
* **read** (``open`` read-only, ``os.listdir``/``scandir``, ``glob``): inside the working
  folder, the Python installation (``sys.prefix``, ``sys.base_prefix``, site-packages and the
  start-up ``sys.path``), the folders in ``VAE_GRADER_READ_ROOTS`` (the ``vae_course``
  package) and the system folders ``/usr /lib* /bin /sbin /etc /dev /proc /sys`` (plus
  ``/System /Library`` on macOS); never inside ``VAE_GRADER_DENY_ROOTS`` (the folders
  holding the submissions, the grader's output, the course's ``solutions/``) or secrets
  such as ``/etc/shadow``. Everything else — other students' files, the teacher's home,
  ``/tmp`` outside the working folder — is refused. Paths are resolved with
  :func:`os.path.realpath`, so symbolic links and ``/proc/PID/cwd`` do not escape;
* **processes**: ``subprocess``/``os.posix_spawn`` only for a few helper programs that
  libraries run by themselves (``uname``, ``ldconfig``, ``fc-list``, ``gcc``...), and only the
  system's own copies (under ``/usr``, ``/bin``, ``/sbin``...); shells (``!ls``, ``%%bash``),
  ``os.system``, ``os.exec*``, ``os.spawn*`` and ``pty.spawn`` are refused; ``os.kill`` only
  for the kernel itself and its children; ``resource.setrlimit`` (lifting the memory limit)
  is refused; ``os.fork`` is allowed (children keep the hook);
* **network**: ``socket.connect``/``sendto`` only to loopback addresses.

A refused operation raises :class:`PermissionError` in the cell (the notebook goes on with
its next cell) and appends one JSON line to ``VAE_GRADER_LOG``, a file outside the working
folder that the grader reads after the kernel stops.

Known limits (documented in :mod:`vae_course.grading`): native code does not raise audit
events (``torch.save``'s C++ writer, ``ctypes`` calls into libc, C libraries reading files),
and code that hunts down this hook's closure can change it. The hook is a seatbelt that
records what a notebook tried; the real walls are the fresh temporary folder, the private
``HOME``, the resource limits and, for hostile classes, an OS-level sandbox around the
whole grader (a container or a dedicated user).
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
    denied = tuple(
        root for root in denied if not workdir.startswith(root + sep) and root != workdir
    )
    program_roots = _roots(["/usr", "/bin", "/sbin", "/lib", "/lib64", "/opt", "/System"])
    allowed_programs = frozenset(
        {
            "uname", "ldconfig", "ldconfig.real", "fc-list", "fc-match", "gcc", "cc", "ld",
            "ld.bfd", "ld.gold", "objdump", "x86_64-linux-gnu-gcc", "aarch64-linux-gnu-gcc",
            "nvidia-smi", "lscpu", "nproc", "sysctl", "sw_vers", "clang",
        }
    )  # fmt: skip
    log_fd = None
    log_path = settings.get("VAE_GRADER_LOG")
    if log_path:
        log_fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    write_flags = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
    own_pid = os.getpid()
    state = {"logged": 0}
    local = threading.local()  # per-thread re-entrancy guard (the hook itself opens /proc)

    def inside(path: str, roots) -> bool:
        return any(path == root or path.startswith(root + sep) for root in roots)

    def resolve(path, dir_fd=None) -> str | None:
        if isinstance(path, int):
            return None  # an already-open file descriptor
        try:
            text = os.fsdecode(path)
            if dir_fd is not None and not os.path.isabs(text):
                base = os.readlink(f"/proc/self/fd/{dir_fd}")
                text = os.path.join(base, text)
            return realpath(text)
        except (OSError, TypeError, ValueError):
            return None

    def deny(event: str, what: str, detail: str) -> None:
        if log_fd is not None and state["logged"] < 500:
            state["logged"] += 1
            record = {"event": event, "what": what, "detail": detail[:500]}
            line = (json.dumps(record) + "\n").encode("utf-8", "replace")
            try:
                os.write(log_fd, line)
            except OSError:  # a child that closed its descriptors: reopen the log by name
                try:
                    fd = os.open(log_path, os.O_WRONLY | os.O_APPEND)
                    os.write(fd, line)
                    os.close(fd)
                except OSError:
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

    def check_program(event: str, executable, args, env=None) -> None:
        program = executable
        if program is None and args:
            program = args if isinstance(args, (str, bytes)) else list(args)[0]
        text = os.fsdecode(program) if program is not None else "?"
        found = None
        if os.path.basename(text) in allowed_programs:
            if sep in text:
                found = text
            else:
                import shutil

                search = env.get("PATH") if isinstance(env, dict) else None
                found = shutil.which(text, path=search if isinstance(search, str) else None)
        # an allowed helper must be the system's own, not a look-alike in the working folder
        if found is None or not inside(realpath(found), program_roots):
            shown = args if isinstance(args, (str, bytes)) else " ".join(map(str, args or []))
            deny(event, "starting other programs", str(shown) or text)

    def check_kill(event: str, pid) -> None:
        if event == "os.killpg":
            if pid != os.getpgrp():
                deny(event, "signalling other processes", f"process group {pid}")
            return
        if pid in (0, own_pid, os.getpid()):
            return
        try:
            with open(f"/proc/{int(pid)}/stat", "rb") as handle:
                parent = int(handle.read().rsplit(b")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            parent = -1
        if parent != os.getpid():
            deny(event, "signalling other processes", f"pid {pid}")

    def check_connect(event: str, address) -> None:
        if isinstance(address, tuple) and address and isinstance(address[0], str):
            host = address[0]
            if not (host.startswith("127.") or host in ("::1", "localhost")):
                deny(event, "network access", f"{host}:{address[1] if len(address) > 1 else ''}")

    def writes(flags) -> bool:
        return isinstance(flags, int) and bool(flags & write_flags)

    def policy(event: str, args: tuple) -> None:
        if event == "open":
            path, _mode, flags = args
            if writes(flags):
                check_write(event, path)
            else:
                check_read(event, path)
        elif event in ("os.listdir", "os.scandir"):
            check_read(event, args[0] if args and args[0] is not None else ".")
        elif event == "glob.glob":
            check_read(event, os.path.dirname(os.fsdecode(args[0])) or ".")
        elif event in ("os.remove", "os.rmdir", "os.mkdir", "os.chmod", "os.chown"):
            check_write(event, args[0], args[-1] if isinstance(args[-1], int) else None)
        elif event in ("os.rename", "os.link"):
            check_write(event, args[0], args[2] if len(args) > 2 else None)
            check_write(event, args[1], args[3] if len(args) > 3 else None)
        elif event == "os.symlink":
            check_write(event, args[1], args[2] if len(args) > 2 else None)
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
        elif event == "subprocess.Popen":
            check_program(event, args[0], args[1], args[3] if len(args) > 3 else None)
        elif event == "os.posix_spawn":
            check_program(event, args[0], args[1], args[2] if len(args) > 2 else None)
        elif event == "os.spawn":
            check_program(event, args[1], args[2])
        elif event in ("os.system", "os.exec", "pty.spawn", "os.startfile"):
            deny(event, "starting other programs", str(args[0]) if args else "a terminal")
        elif event in ("resource.setrlimit", "resource.prlimit"):
            deny(event, "changing resource limits", str(args[:2]))
        elif event in ("os.kill", "os.killpg"):
            check_kill(event, args[0])
        elif event in ("socket.connect", "socket.sendto"):
            check_connect(event, args[1])

    watched = frozenset(
        {
            "open", "os.listdir", "os.scandir", "glob.glob", "os.remove", "os.rmdir",
            "os.mkdir", "os.chmod", "os.chown", "os.rename", "os.link", "os.symlink",
            "os.truncate", "os.utime", "os.chflags", "os.setxattr", "os.removexattr",
            "shutil.rmtree", "shutil.chown", "shutil.copyfile", "shutil.copytree",
            "shutil.copymode", "shutil.copystat", "shutil.move", "subprocess.Popen",
            "os.posix_spawn", "os.spawn", "os.system", "os.exec", "pty.spawn",
            "os.startfile", "resource.setrlimit", "resource.prlimit",
            "os.kill", "os.killpg", "socket.connect", "socket.sendto",
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
        except Exception:  # unexpected arguments: let Python's own checks decide
            pass
        finally:
            local.busy = False

    sys.addaudithook(hook)


if __name__ == "sitecustomize":  # Python imports it at start-up from the kernel's PYTHONPATH
    install(os.environ)
