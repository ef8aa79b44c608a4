"""A pip-installable course: the wheel ships the notebooks; ``vae-course notebooks`` keeps edits.

The end-to-end test builds the sdist and, from it, the wheel (``python -m build``, as a
release would), installs the wheel into a fresh venv, copies the notebooks out with
``vae-course notebooks DIR`` and executes ``00_welcome`` there with nbclient in fast mode.

Reusing the dependencies: a second install of torch (about 5 GB) per run is too slow, so
the fresh venv sees this environment's site-packages through a ``.pth`` line (what
``--system-site-packages`` does for a system Python). pip then resolves the wheel's
dependencies against them and installs only vae-course, with nothing downloaded but what
the build backend needs from the registry. This environment's own vae-course is an editable
install whose import hook lives in a ``.pth`` file there, which Python does not run for a
folder added that way, so ``import vae_course`` in the fresh venv finds the wheel's copy
(the test checks it, in the kernel too).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import nbformat
import pytest

from vae_course import cli, course_files

ROOT = Path(__file__).resolve().parents[1]
WELCOME = "00_welcome.ipynb"
STEP_TIMEOUT_S = 600


def _fake_course(folder: Path, version: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("00_welcome.ipynb", "01_autoencoder.ipynb"):
        notebook = nbformat.v4.new_notebook()
        notebook.cells.append(nbformat.v4.new_markdown_cell(f"{name} {version}"))
        nbformat.write(notebook, folder / name)
    return folder


def _actions(actions) -> dict[str, str]:
    return {action.name: action.action for action in actions}


def test_copying_creates_the_folder_and_copies_every_notebook(tmp_path):
    target = tmp_path / "new" / "course"
    actions = course_files.copy_notebooks(target)
    shipped = course_files.student_notebooks()
    assert [a.name for a in actions] == [p.name for p in shipped] and len(shipped) >= 10
    assert set(_actions(actions).values()) == {course_files.COPIED}
    for notebook in shipped:
        assert (target / notebook.name).read_bytes() == notebook.read_bytes()


def test_an_edited_notebook_is_kept_and_an_untouched_one_is_updated(tmp_path):
    target = tmp_path / "course"
    course_files.copy_notebooks(target, source=_fake_course(tmp_path / "v1", "v1"))
    edited = target / "01_autoencoder.ipynb"
    edited.write_text(edited.read_text().replace("v1", "my own work"))
    actions = course_files.copy_notebooks(target, source=_fake_course(tmp_path / "v2", "v2"))
    assert _actions(actions) == {
        "00_welcome.ipynb": course_files.UPDATED,  # never edited: the new version goes in
        "01_autoencoder.ipynb": course_files.KEPT,
    }
    assert "my own work" in edited.read_text()
    assert "v2" in (target / "00_welcome.ipynb").read_text()
    again = course_files.copy_notebooks(target, source=tmp_path / "v2")
    assert _actions(again)["01_autoencoder.ipynb"] == course_files.KEPT  # still not replaced
    assert _actions(again)["00_welcome.ipynb"] == course_files.UNCHANGED


def test_force_replaces_an_edited_notebook_and_keeps_a_backup(tmp_path):
    target = tmp_path / "course"
    source = _fake_course(tmp_path / "v1", "v1")
    course_files.copy_notebooks(target, source=source)
    edited = target / "01_autoencoder.ipynb"
    edited.write_text("my own work")
    actions = course_files.copy_notebooks(target, force=True, source=source)
    assert _actions(actions)["01_autoencoder.ipynb"] == course_files.REPLACED
    assert edited.read_bytes() == (source / "01_autoencoder.ipynb").read_bytes()
    assert (target / "01_autoencoder.backup.ipynb").read_text() == "my own work"
    edited.write_text("more work")
    course_files.copy_notebooks(target, force=True, source=source)
    assert (target / "01_autoencoder.backup-2.ipynb").read_text() == "more work"


def test_a_file_the_learner_made_before_the_first_copy_is_kept(tmp_path):
    target = tmp_path / "course"
    target.mkdir()
    (target / "00_welcome.ipynb").write_text("started by hand")
    actions = course_files.copy_notebooks(target, source=_fake_course(tmp_path / "v1", "v1"))
    assert _actions(actions)["00_welcome.ipynb"] == course_files.KEPT
    assert (target / "00_welcome.ipynb").read_text() == "started by hand"


def test_the_command_says_what_it_kept_and_how_to_replace_it(tmp_path, capsys):
    target = tmp_path / "course"
    assert cli.main(["notebooks", str(target)]) == 0
    (target / WELCOME).write_text("edited")
    capsys.readouterr()
    assert cli.main(["notebooks", str(target)]) == 0
    out = capsys.readouterr().out
    kept = [line for line in out.splitlines() if line.startswith("kept")]
    assert len(kept) == 1 and WELCOME in kept[0] and "--force" in kept[0]
    assert f"vae-course lab {target}" in out
    assert (target / WELCOME).read_text() == "edited"
    assert cli.main(["notebooks", str(target), "--force"]) == 0
    assert (target / WELCOME).read_text() != "edited"


def test_a_destination_that_is_a_file_is_refused_clearly(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    assert cli.main(["notebooks", str(blocker)]) == 1
    assert "is not a folder" in capsys.readouterr().err
    assert blocker.read_text() == "not a folder"


# ----------------------------------------------------------------------------- the wheel


def _run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(command, capture_output=True, text=True, timeout=STEP_TIMEOUT_S, **kwargs)
    assert done.returncode == 0, (
        f"{' '.join(map(str, command))} exited {done.returncode}:\n"
        f"{(done.stdout + done.stderr)[-4000:]}"
    )
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel built from the sdist, as ``python -m build`` makes a release."""
    pytest.importorskip("build", reason="the wheel test needs `build` ([dev] extra)")
    out = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)])
    wheels = sorted(out.glob("vae_course-*.whl"))
    assert len(wheels) == 1, sorted(p.name for p in out.iterdir())
    return wheels[0]


def test_the_wheel_ships_every_student_notebook(wheel):
    with zipfile.ZipFile(wheel) as archive:
        shipped = {
            Path(name).name: archive.read(name)
            for name in archive.namelist()
            if name.startswith("vae_course/course_notebooks/") and name.endswith(".ipynb")
        }
        names = archive.namelist()
    expected = {p.name: p.read_bytes() for p in sorted((ROOT / "notebooks").glob("*.ipynb"))}
    assert shipped == expected
    assert not [n for n in names if n.startswith(("solutions/", "vae_course/solutions"))]


def test_the_wheel_ships_chapter_07s_reference_weights(wheel):
    expected = sorted(p.name for p in (ROOT / "vae_course" / "weights").iterdir())
    assert "reference_models.json" in expected and any(n.endswith(".pt") for n in expected)
    with zipfile.ZipFile(wheel) as archive:
        shipped = sorted(
            Path(n).name for n in archive.namelist() if n.startswith("vae_course/weights/")
        )
        assert sum(archive.getinfo(f"vae_course/weights/{n}").file_size for n in shipped) < 20e6
    assert shipped == expected


def test_pip_install_then_notebooks_then_run_the_welcome_chapter(wheel, tmp_path):
    fresh = tmp_path / "fresh-venv"
    _run([sys.executable, "-m", "venv", str(fresh)])
    python = fresh / "bin" / "python"
    purelib = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"])
    fresh_site = Path(purelib.stdout.strip())
    (fresh_site / "_vae_course_test_reuse.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "PYTHON"))}
    # Run from tmp_path: from the repository root, `python -c` would import its vae_course/.
    run = {"env": env, "cwd": tmp_path}
    env.update(
        VAE_COURSE_FAST="1",
        VAE_COURSE_OFFLINE="1",
        VAE_COURSE_CACHE=str(tmp_path / "cache"),
        MPLBACKEND="Agg",
        JUPYTER_CONFIG_DIR=str(tmp_path / "jupyter-config"),
        JUPYTER_DATA_DIR=str(tmp_path / "jupyter-data"),
        JUPYTER_RUNTIME_DIR=str(tmp_path / "jupyter-runtime"),
        IPYTHONDIR=str(tmp_path / "ipython"),
    )
    _run([str(python), "-m", "pip", "install", "--quiet", str(wheel)], **run)
    where = _run([str(python), "-c", "import vae_course; print(vae_course.__file__)"], **run)
    assert Path(where.stdout.strip()).is_relative_to(fresh), where.stdout

    course = tmp_path / "learner" / "vae-course"
    copied = _run([str(fresh / "bin" / "vae-course"), "notebooks", str(course)], **run)
    assert f"vae-course lab {course}" in copied.stdout
    assert sorted(p.name for p in course.glob("*.ipynb")) == sorted(
        p.name for p in (ROOT / "notebooks").glob("*.ipynb")
    )

    script = (
        "import sys, nbformat, nbclient\n"
        "nb = nbformat.read(sys.argv[1], as_version=4)\n"
        "nb.cells.append(nbformat.v4.new_code_cell("
        "'import vae_course; print(\"VAE_COURSE_FROM\", vae_course.__file__)'))\n"
        "nbclient.NotebookClient(nb, timeout=300, kernel_name='python3',"
        " resources={'metadata': {'path': sys.argv[2]}}).execute()\n"
        "nbformat.write(nb, sys.argv[3])\n"
    )
    executed = tmp_path / "executed.ipynb"
    _run([str(python), "-c", script, str(course / WELCOME), str(course), str(executed)], **run)
    notebook = json.loads(executed.read_text())
    errors = [
        output
        for cell in notebook["cells"]
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
        and not (  # an exercise stub, which the student notebook leaves for the learner
            output.get("ename") == "NotImplementedError"
            and "raises-exception" in cell["metadata"].get("tags", [])
        )
    ]
    assert not errors, errors[0]["ename"] + ": " + errors[0]["evalue"]
    printed = "".join(notebook["cells"][-1]["outputs"][0]["text"])
    assert "VAE_COURSE_FROM" in printed and str(fresh) in printed, printed
    assert any("drill" in json.dumps(cell.get("outputs", [])) for cell in notebook["cells"])
