"""Shared test set-up: offscreen Qt, and a guard that fails any test leaving work behind."""

from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"
os.environ.setdefault("QT_API", "pyside6")

import threading
import time
import weakref

import psutil
import pytest

#: pytest's own fixture for testing plugins (tests/test_lagplugin.py).
pytest_plugins = ["pytester"]


def pytest_configure(config: pytest.Config) -> None:
    """The ui_lag plugin comes through its ``pytest11`` entry point once unfreeze is
    installed; an editable install made before that entry point existed lacks it
    (its metadata is written at install time), so load it here then."""
    if not config.pluginmanager.has_plugin("unfreeze"):
        from gui import lagplugin

        config.pluginmanager.register(lagplugin, "unfreeze")


#: Idle pools distributed starts once per process, on first use, and keeps for its life
#: (results deserialized off its loop; futures' done-callbacks), like resource_tracker.
PROCESS_POOLS = ("Dask-Offload", "Dask-Callback-Thread")


def _live_threads() -> set[threading.Thread]:
    # Dummy threads are Python's view of threads it did not start (QThreads);
    # they never report dead, so QThreads are checked through Qt instead.
    return {
        t
        for t in threading.enumerate()
        if not isinstance(t, threading._DummyThread) and not t.name.startswith(PROCESS_POOLS)
    }


def _children() -> set[int]:
    out = set()
    for child in psutil.Process().children(recursive=True):
        try:
            cmd = " ".join(child.cmdline())
            if child.status() == psutil.STATUS_ZOMBIE:
                continue
        except psutil.Error:
            continue
        if "resource_tracker" in cmd:  # multiprocessing's own, one per process life
            continue
        out.add(child.pid)
    return out


def _track_qthreads() -> weakref.WeakSet:
    """Every QThread started anywhere (not only ours, not only the app's children)."""
    started: weakref.WeakSet = weakref.WeakSet()
    try:
        from PySide6.QtCore import QThread
    except ImportError:
        return started
    start = QThread.start

    def tracked_start(self, *args):
        started.add(self)
        return start(self, *args)

    QThread.start = tracked_start
    return started


STARTED_QTHREADS = _track_qthreads()


def _qt_leftovers() -> list[str]:
    try:
        from PySide6.QtCore import QThread, QThreadPool
        from PySide6.QtWidgets import QApplication
    except ImportError:
        return []
    app = QApplication.instance()
    if app is None:
        return []
    out = []
    if QThreadPool.globalInstance().activeThreadCount():
        out.append("a QThreadPool task")
    for thread in {*app.findChildren(QThread), *STARTED_QTHREADS}:
        if thread.isRunning():
            out.append(f"QThread {thread.objectName()!r}")
    return out


@pytest.fixture(scope="session", autouse=True)
def asyncio_loop(qapp):
    """Qt's event loop is the GUI thread's running asyncio loop, as in the app
    (pytest-qt's waits turn it). Coroutines of tests run with ``asyncio.run``
    in a thread of their own."""
    from gui import asyncloop

    return asyncloop.attach(qapp)


@pytest.fixture(scope="session")
def hazard_runs(qapp, asyncio_loop):
    """Every hazards-lab pair, run once for the session (tests/hazardruns.py); the
    controller is shut down before the first test that uses them starts."""
    from tests.hazardruns import measure

    return measure()


@pytest.fixture(scope="session")
def machine_speed():
    """This machine timed once for the session, as a window times it when first shown
    (~0.3 s, and the 0.25 s it lets the first paints settle): not once per window."""
    from workers.speed import Speed

    speed = Speed()
    speed.calibrate()
    return speed


@pytest.fixture
def window(qtbot, tmp_path, machine_speed):
    """The app's window, shown, with this machine timed (a copy of the session's
    timing: what one test's runs teach it stays there); closed and destroyed after."""
    import copy
    import sys

    from PySide6.QtCore import QSettings

    from gui.app import make_app
    from gui.window import MainWindow
    from tests.helpers import dispose

    make_app()
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    win = MainWindow(settings, copy.deepcopy(machine_speed))
    win.show()
    assert not win.controller.calibration_pending
    yield win
    dispose(win)
    sys.setswitchinterval(0.005)


@pytest.fixture(scope="module")
def dask_cluster():
    """One LocalCluster (2 worker processes, one thread each) for a test module's dask
    runs: starting one costs ~1-2 s. Its runs reach it as a scheduler given by address."""
    import logging

    from distributed import LocalCluster

    from workers.backends.dask import quiet_logs

    quiet_logs()
    cluster = LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
        silence_logs=logging.CRITICAL,
        scheduler_kwargs={"allowed_failures": 0},
    )
    yield cluster.scheduler_address
    cluster.close()


@pytest.fixture(autouse=True)
def shared_dask(request):
    """Tests of the dask back end in modules that opt in (``SHARED_DASK = True``) run on
    the module's cluster."""
    callspec = getattr(request.node, "callspec", None)
    wanted = getattr(request.module, "SHARED_DASK", False)
    if not (wanted and callspec is not None and callspec.params.get("backend") == "dask"):
        yield
        return
    from tests import helpers

    helpers.DASK["scheduler"] = request.getfixturevalue("dask_cluster")
    yield
    helpers.DASK["scheduler"] = ""


@pytest.fixture(autouse=True)
def leak_guard(shared_dask):
    """No thread, QThread, pool task or child process may outlive a test (a module's
    shared dask cluster, made first, is the module's)."""
    threads, children = _live_threads(), _children()
    yield
    deadline = time.monotonic() + 3.0
    while True:
        extra_threads = _live_threads() - threads
        extra_children = _children() - children
        qt = _qt_leftovers()
        if not (extra_threads or extra_children or qt) or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    problems = [f"thread {t.name!r}" for t in extra_threads]
    problems += [f"child process {pid}" for pid in extra_children]
    problems += qt
    if problems:
        for pid in extra_children:
            try:
                psutil.Process(pid).kill()
            except psutil.Error:
                pass
        pytest.fail("left running after the test: " + ", ".join(problems))
