"""Small helpers shared by the tests: run a back end to the end, collect events."""

from __future__ import annotations

from workers import backends
from workers.backends.base import Run
from workers.core import Event, Task


def drive(qtbot, run: Run, timeout_ms: int = 20_000) -> list[Event]:
    """Drain ``run`` while Qt's event loop spins, until every task is final."""
    events: list[Event] = []

    def finished() -> bool:
        events.extend(run.drain())
        return run.finished

    try:
        qtbot.waitUntil(finished, timeout=timeout_ms)
    finally:
        run.close()
        events.extend(run.drain())
    return events


def calm(qtbot, probe=None, ticks: int = 30):
    """The lag the probe reads over its next ``ticks`` ticks, with no run going.

    This machine's own noise, now: on a shared machine a busy neighbour delays
    the GUI thread too (p99 in the tens of ms, seen up to ~700 ms with the CPU
    oversubscribed), so a lag bound is set above it, not as a bare constant.
    With no ``probe``, one is started for the measure and stopped after.
    """
    import time

    from gui.probe import Probe

    own = probe is None
    if own:
        probe = Probe()
        probe.start()
    try:
        t0 = time.perf_counter()
        qtbot.waitUntil(lambda: len(probe.samples.between(t0)) >= ticks, timeout=20_000)
        return probe.stats(t0)
    finally:
        if own:
            probe.stop()


#: The scheduler dask runs of this test go to: a LocalCluster shared by the test module
#: (``shared_dask`` in conftest), "" for a cluster of the run's own.
DASK = {"scheduler": ""}


def scheduler_for(backend: str) -> str:
    return DASK["scheduler"] if backend == "dask" else ""


def start(backend: str, tasks: list[Task], workers: int = 2) -> Run:
    return backends.start(backend, tasks, workers, scheduler=scheduler_for(backend))


def finals(events: list[Event]) -> dict[int, Event]:
    return {e.task: e for e in events if e.final}


def signal_when(proc, ready, sig: int, timeout: float = 20.0):
    """Wait until ``ready(app)`` holds, send ``sig`` to the app, let it exit.

    Returns (seconds from signal to exit, stderr, the app's children at signal
    time). The app is killed if it is still there at the end.
    """
    import signal as signal_
    import time

    import psutil

    try:
        app = psutil.Process(proc.pid)
        deadline = time.monotonic() + timeout
        while not ready(app):
            assert proc.poll() is None, proc.communicate()[1]
            assert time.monotonic() < deadline, "the run never started"
            time.sleep(0.05)
        children = app.children(recursive=True)
        t0 = time.monotonic()
        proc.send_signal(signal_.Signals(sig))
        _, err = proc.communicate(timeout=10)
        return time.monotonic() - t0, err, children
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def arun(coro):
    """``asyncio.run(coro)`` in a thread of its own: the GUI thread's running
    loop is Qt's (see conftest), and asyncio.run refuses to nest in it."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1, thread_name_prefix="asyncio.run") as pool:
        return pool.submit(asyncio.run, coro).result()


def started(qtbot, controller, spec, timeout_ms: int = 10_000):
    """Submit ``spec`` and wait until it runs (it is prepared off the GUI thread first)."""
    with qtbot.waitSignal(controller.run_started, timeout=timeout_ms) as blocker:
        controller.submit(spec)
    return blocker.args[0]


def dispose(win) -> None:
    """Close and destroy ``win`` now. Left to the garbage collector, its ~70 000
    objects would be torn down in the middle of a later test's run, where under
    GIL contention each release of the lock costs a wait (seen: a 4.5 s freeze)."""
    import gc

    from PySide6.QtCore import QEvent
    from PySide6.QtWidgets import QApplication

    win.close()
    win.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()


def other_python():
    """Another CPython 3.11+ on this machine (pyenv's, or ``python3.N`` on PATH) that
    answers as one, newest first; None where there is none (e.g. a CI machine)."""
    from workers import pythons
    from workers.fields import SpecError

    global _other
    if _other is False:
        _other = None
        for path in pythons.candidates():
            try:
                _other = pythons.inspect(path)
            except SpecError:
                continue
            break
    return _other


_other: object = False
