"""A normal install (a wheel, not ``-e``) carries everything the app reads at run time,
and the pytest plugin its entry point names."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: What a checkout gathers that a clean clone has not.
LOCAL_ONLY = (".git", ".venv", "build", "*.egg-info", ".*_cache", ".hypothesis", "__pycache__")

#: Another project's tests: nothing names the plugin, the entry point alone loads it.
USER_TESTS = """
import os
from pathlib import Path

import pytest

import gui.lagplugin


def test_the_fixture_is_offered(qtbot, ui_lag):
    assert Path(gui.lagplugin.__file__).is_relative_to(os.environ["VENV"])
    with ui_lag.watch() as lag:
        qtbot.wait(60)
    assert len(lag.samples) >= 2, lag.report()


@pytest.mark.responsive(max_ms=60_000)
def test_the_marker_is_registered(qtbot):
    qtbot.wait(10)
"""


def test_the_installed_wheel_starts_the_app_with_its_lessons_and_examples(tmp_path) -> None:
    # Nothing of the checkout may leak in (a PYTHONPATH to it would make pip see
    # its egg-info and skip the install).
    clean = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    # Built from a copy without the checkout's build/ folder: setuptools would pack
    # what an earlier build left there (a renamed lesson shipped twice).
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*LOCAL_ONLY))
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(source)],
        check=True, capture_output=True, timeout=300, cwd=tmp_path, env=clean,
    )  # fmt: skip
    (wheel,) = wheels.glob("unfreeze-*.whl")
    # A fresh venv that sees this venv's dependencies (a path in a .pth file: the
    # .pth files there, our editable install among them, are not run) but not the checkout.
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(
        subprocess.check_output(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True
        ).strip()
    )
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q",
         str(wheel)],
        check=True, capture_output=True, timeout=300, env=clean,
    )  # fmt: skip
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {
        **clean,
        "QT_QPA_PLATFORM": "offscreen",
        "UNFREEZE_SETTINGS": str(tmp_path / "settings.ini"),
    }
    found = subprocess.run(
        [python, "-c", "import gui.lessons as m; print(m.__file__); print(len(m.load_lessons()))\n"
         "from gui.codeview import examples_folder, load_example as e\n"
         "path = examples_folder() / 'qthread_example.py'\n"
         "print(path); print(e('qthread') == open(path).read())"],
        capture_output=True, text=True, check=True, cwd=elsewhere, env=env,
    ).stdout.split()  # fmt: skip
    assert Path(found[0]).is_relative_to(venv), found  # the installed copy, not the checkout
    assert int(found[1]) == len(list((ROOT / "assets" / "lessons").glob("*.md"))) > 0
    # The examples the Lessons panel shows and copies: installed, not the checkout's.
    assert Path(found[2]).is_relative_to(venv) and found[3] == "True", found
    shot = elsewhere / "window.png"
    app = subprocess.run(
        [venv / "bin" / "unfreeze", "--screenshot", str(shot), "--after", "0.3"],
        capture_output=True, text=True, timeout=60, cwd=elsewhere, env=env,
    )  # fmt: skip
    assert app.returncode == 0 and "Traceback" not in app.stderr, app.stderr
    assert shot.stat().st_size > 20_000
    (elsewhere / "test_theirs.py").write_text(USER_TESTS)
    (elsewhere / "pytest.ini").write_text(
        "[pytest]\naddopts = --strict-markers -p no:cacheprovider\nfilterwarnings = error\n"
    )
    theirs = subprocess.run(
        [python, "-m", "pytest", "-q", "test_theirs.py"],
        capture_output=True, text=True, timeout=120, cwd=elsewhere, env={**env, "VENV": str(venv)},
    )  # fmt: skip
    assert theirs.returncode == 0 and "2 passed" in theirs.stdout, theirs.stdout + theirs.stderr
