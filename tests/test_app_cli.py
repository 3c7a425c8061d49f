"""The ``unfreeze`` command as a user runs it: a real process, its exit code, its output."""

from __future__ import annotations

import os
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.helpers import signal_when


def env_for(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "UNFREEZE_SETTINGS": str(tmp_path / "settings.ini"),
        **extra,
    }


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", data[16:24])


def unfreeze(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "gui", *args],
        capture_output=True, text=True, timeout=timeout, env=env,
    )  # fmt: skip


def test_screenshot_command_writes_a_png_exits_0_and_leaves_the_users_settings_alone(
    tmp_path,
) -> None:
    """Without ``UNFREEZE_SETTINGS`` (a screenshot run by a user), nothing is saved."""
    env = env_for(tmp_path, HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "config"))
    del env["UNFREEZE_SETTINGS"]
    out = tmp_path / "x.png"
    proc = unfreeze("--screenshot", str(out), "--after", "0.5", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert png_size(out) == (1400, 900)
    assert out.stat().st_size > 20_000  # a drawn window, not an empty frame
    assert not (tmp_path / "config").exists()


def test_screenshot_during_a_process_run_cancels_it_and_leaves_no_process(tmp_path) -> None:
    out = tmp_path / "run.png"
    proc = subprocess.Popen(
        [sys.executable, "-m", "gui", "--run", "cpu-python:multiprocessing",
         "--screenshot", str(out), "--after", "2.5"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env_for(tmp_path),
    )  # fmt: skip
    seen: dict[psutil.Process, str] = {}
    try:
        app = psutil.Process(proc.pid)
        while proc.poll() is None:
            try:
                for child in app.children(recursive=True):
                    seen.setdefault(child, " ".join(_cmdline(child)))
            except psutil.Error:
                pass
            time.sleep(0.05)
        _, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert png_size(out) == (1400, 900)
    assert any("spawn_main" in cmd for cmd in seen.values()), "no worker ever started"
    _, alive = psutil.wait_procs(list(seen), timeout=2)
    assert not [p for p in alive if p.status() != psutil.STATUS_ZOMBIE]


def _cmdline(p: psutil.Process) -> list[str]:
    try:
        return p.cmdline()
    except psutil.Error:
        return []


def test_ctrl_c_while_the_gui_thread_is_frozen_still_closes_cleanly(tmp_path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "gui", "--run", "cpu-python:gui-thread"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env_for(tmp_path),
    )  # fmt: skip
    # Ready once start-up is done and the frozen run is well under way.
    took, err, _ = signal_when(proc, lambda app: app.cpu_times().user >= 1.5, signal.SIGINT)
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert took < 3.0, f"took {took:.2f} s"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="display detection is X11/Wayland")
def test_no_display_and_no_screenshot_is_a_clear_message(tmp_path) -> None:
    env = env_for(tmp_path)
    for name in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY"):
        env.pop(name, None)
    proc = unfreeze(env=env, timeout=30)
    assert proc.returncode == 1
    assert "no display" in proc.stderr and "Traceback" not in proc.stderr


def test_a_bad_run_argument_is_refused_before_any_window(tmp_path) -> None:
    proc = unfreeze("--run", "cpu-python:fork", env=env_for(tmp_path), timeout=30)
    assert proc.returncode == 2
    assert "WORKLOAD:BACKEND" in proc.stderr


def test_screenshot_at_a_given_size(tmp_path) -> None:
    out = tmp_path / "laptop.png"
    proc = unfreeze(
        "--screenshot", str(out), "--size", "1280x800", "--after", "0.5", env=env_for(tmp_path)
    )
    assert proc.returncode == 0, proc.stderr
    assert png_size(out) == (1280, 800)


@pytest.mark.parametrize(("size", "words"), [("1280", "not a size"), ("100x100", "640x480")])
def test_a_bad_size_is_refused_before_any_window(tmp_path, size, words) -> None:
    proc = unfreeze("--size", size, "--screenshot", "x.png", env=env_for(tmp_path), timeout=30)
    assert proc.returncode == 2
    assert "--size" in proc.stderr and words in proc.stderr
