"""SIGTERM during a default job, on each back end: a clean exit within 3 s, nothing left."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import psutil
import pytest

from tests.helpers import signal_when
from workers.names import backends_for


def downloading(app: psutil.Process) -> bool:
    """True once the app (or one of its workers) holds an open connection to the server."""
    for proc in [app, *app.children(recursive=True)]:
        try:
            if any(c.status == psutil.CONN_ESTABLISHED for c in proc.net_connections("tcp")):
                return True
        except psutil.Error:
            continue
    return False


def computing(app: psutil.Process) -> bool:
    """True once the app and its workers have spent ~0.8 s of CPU beyond starting up
    (~1.2 s here): with the default job, a task is done, others run or are queued."""
    total = 0.0
    for proc in [app, *app.children(recursive=True)]:
        try:
            times = proc.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total >= 2.0


READY = {"download": downloading, "cpu-python": computing}


def sigterm_when_ready(tmp_path, workload: str, backend: str) -> tuple[float, str, list, str]:
    """The app with the default ``workload`` job on ``backend``, SIGTERMed once it runs;
    returns what :func:`signal_when` does and the app's own settings path."""
    settings = str(tmp_path / f"{backend}-{workload}.ini")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "UNFREEZE_SETTINGS": settings}
    proc = subprocess.Popen(
        [sys.executable, "-m", "gui", "--run", f"{workload}:{backend}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    took, err, children = signal_when(proc, READY[workload], signal.SIGTERM)
    assert proc.returncode == 0, err
    return took, err, children, settings


#: Every back end mid-computation, and the ones whose download waits in a place of its
#: own: the GUI thread itself, the event loop, a worker process, and dask (while its
#: LocalCluster starts: dask's own connections look like a download begun). On the
#: thread kinds a download waits in the same blocking socket read, woken by the same
#: cancel (test_download's cancel tests, sync); their SIGTERM path is the CPU case's.
#: Left out: dask's cpu-python SIGTERM lands as its first tasks start (the workers' boot
#: counts in the CPU time), and a dask worker closed while one of its tasks builds the
#: worker's client (the cancel token's first look at the scheduler) prints "Exception
#: ignored in Client.__del__ ... IOLoop is closed" as it exits: Worker.close finds no
#: client yet and closes none (1 run in 8 under load). Its exit takes 0.2-0.7 s.
DOWNLOADS = ("gui-thread", "multiprocessing", "asyncio", "dask")
SIGTERMED = [("cpu-python", b) for b in backends_for("cpu-python") if b != "dask"] + [
    ("download", b) for b in DOWNLOADS
]
APPS_AT_ONCE = 4  # most of each test is apps starting; the exit it measures takes 0.04-0.5 s


@pytest.mark.parametrize(
    "jobs",
    [SIGTERMED[i : i + APPS_AT_ONCE] for i in range(0, len(SIGTERMED), APPS_AT_ONCE)],
    ids=lambda jobs: "+".join(f"{w}:{b}" for w, b in jobs),
)
def test_sigterm_during_a_default_run_exits_cleanly(tmp_path, jobs: list[tuple[str, str]]) -> None:
    """The default job (more queued tasks than 2 per worker), four apps side by side."""
    with ThreadPoolExecutor(len(jobs)) as pool:
        ended = {(w, b): pool.submit(sigterm_when_ready, tmp_path, w, b) for w, b in jobs}
    for (workload, backend), future in ended.items():
        took, err, children, settings = future.result()
        if workload == "download":
            assert children  # at least the local server
        print(f"{workload} on {backend}: exit {took:.2f} s after SIGTERM")
        assert took < 3.0, f"{workload}: took {took:.2f} s"
        assert "Traceback" not in err and "Destroyed while thread" not in err, err
        _, alive = psutil.wait_procs(children, timeout=1)
        assert not [p for p in alive if lingering(p)]
        leftover = left_behind(settings)
        assert not leftover, f"{workload} on {backend} left {leftover}"


def left_behind(settings: str, grace_s: float = 1.0) -> list[psutil.Process]:
    """Processes the app started, at any depth and whoever adopted them once it exited,
    still running after ``grace_s`` (a worker spawned after the signal is not among the
    children it had then): they inherited its environment, which names its ``settings``."""
    deadline = time.monotonic() + grace_s
    while True:
        found = []
        for proc in psutil.process_iter():
            try:
                if proc.environ().get("UNFREEZE_SETTINGS") == settings and lingering(proc):
                    found.append(proc)
            except psutil.Error:  # exited, or another user's
                continue
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def lingering(proc: psutil.Process) -> bool:
    try:
        return proc.status() != psutil.STATUS_ZOMBIE and "resource_tracker" not in " ".join(
            proc.cmdline()
        )
    except psutil.Error:
        return False


@pytest.mark.parametrize("backend", ["qthread", "thread-pool", "qthread-pool", "threading"])
def test_a_worker_stuck_in_a_call_that_cannot_be_cancelled_neither_holds_nor_aborts_the_exit(
    backend: str,
) -> None:
    """A QThread freed while it runs aborts the process; a pool thread is joined at
    exit for ever, and a QThreadPool destroyed waits for its runnables for ever.
    The app still exits 0 within 3 s of closing."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.faultapp", "stuck", backend],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "closing", proc.stderr
        t0 = time.monotonic()
        _, err = proc.communicate(timeout=10)
        took = time.monotonic() - t0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert took < 3.0, f"took {took:.2f} s"
    assert "Destroyed while thread" not in err and "Traceback" not in err, err
    assert "cannot be cancelled" in err or backend == "threading", err  # daemon threads: no note
