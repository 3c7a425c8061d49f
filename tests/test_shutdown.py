"""SIGTERM while 8 workers download, on each back end: a clean exit within 3 s, nothing left."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import psutil
import pytest

from tests.helpers import signal_when
from workers.spec import BACKENDS


def downloading(app: psutil.Process) -> bool:
    """True once the app (or one of its workers) holds an open connection to the server."""
    for proc in [app, *app.children(recursive=True)]:
        try:
            if any(c.status == psutil.CONN_ESTABLISHED for c in proc.net_connections("tcp")):
                return True
        except psutil.Error:
            continue
    return False


@pytest.mark.parametrize("backend", BACKENDS)
def test_sigterm_during_a_run_exits_cleanly(tmp_path, backend: str) -> None:
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "UNFREEZE_SETTINGS": str(tmp_path / "s.ini"),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "gui", "--run", f"download:{backend}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    took, err, children = signal_when(proc, downloading, signal.SIGTERM)
    assert children  # at least the local server
    assert proc.returncode == 0, err
    print(f"{backend}: exit {took:.2f} s after SIGTERM")
    assert took < 3.0, f"took {took:.2f} s"
    assert "Traceback" not in err and "Destroyed while thread" not in err, err
    _, alive = psutil.wait_procs(children, timeout=1)
    assert not [p for p in alive if lingering(p)]


def lingering(proc: psutil.Process) -> bool:
    try:
        return proc.status() != psutil.STATUS_ZOMBIE and "resource_tracker" not in " ".join(
            proc.cmdline()
        )
    except psutil.Error:
        return False
