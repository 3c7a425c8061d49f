"""The run controller: what the app does around a run stays off the GUI thread."""

from __future__ import annotations

import time

import pytest

from gui.controller import RunController
from workers.spec import parse_spec


@pytest.fixture
def controller(qtbot):
    c = RunController()
    yield c
    c.shutdown()


@pytest.mark.responsive(max_ms=150)  # from the click to the record, not just the run
def test_the_first_download_never_stalls_the_gui_thread(qtbot, controller) -> None:
    """Starting the local server takes ~200 ms (a fresh interpreter); on the GUI
    thread, before the run's clock, it was a freeze nobody was charged for."""
    spec = parse_spec(
        {"workload": "download", "backend": "threading", "tasks": 4, "size": "1MB",
         "latency_ms": 0, "rate_mbps": 0}
    )  # fmt: skip
    with qtbot.waitSignal(controller.run_finished, timeout=20_000) as finished:
        controller.submit(spec)
    assert finished.args[0].ok
    assert controller.server.server is not None  # it was started for this run


def test_a_job_cancelled_while_it_is_prepared_never_starts(qtbot, controller, tmp_path) -> None:
    spec = parse_spec({"workload": "disk-write", "backend": "threading", "tasks": 2, "size": 1000})
    started: list[object] = []
    controller.run_started.connect(started.append)
    controller.submit(spec)
    assert controller.busy and controller.active is None  # being prepared, off the GUI thread
    controller.cancel()
    qtbot.waitUntil(lambda: not controller.busy, timeout=5000)
    qtbot.wait(200)  # the preparation arrives, and is thrown away
    assert started == [] and controller.records == []
    with qtbot.waitSignal(controller.run_finished, timeout=10_000) as finished:
        controller.submit(spec)  # the next one runs
    assert finished.args[0].ok and len(started) == 1


@pytest.mark.parametrize("backend", ["gui-thread", "asyncio"])
def test_a_signal_stops_a_task_that_freezes_the_gui_thread_at_its_next_chunk(
    qtbot, controller, backend: str
) -> None:
    """Python runs a signal handler between two bytecodes, even inside a task that
    holds the GUI thread; Ctrl+C and SIGTERM use it (gui.app), so they need not
    wait for the task's end the way a click does."""
    import signal
    import threading

    signalled: list[float] = []

    def handler(signum: int, frame: object) -> None:
        signalled.append(time.perf_counter())
        controller.interrupt()

    previous = signal.signal(signal.SIGUSR1, handler)
    spec = parse_spec(
        {"workload": "cpu-python", "backend": backend, "workers": 1, "tasks": 2, "size": "64MB"}
    )  # two tasks of several seconds each
    try:
        with qtbot.waitSignal(controller.run_started, timeout=10_000):
            controller.submit(spec)
        threading.Timer(0.5, signal.raise_signal, (signal.SIGUSR1,)).start()
        with qtbot.waitSignal(controller.run_finished, timeout=30_000) as finished:
            pass
        ended = time.perf_counter()
    finally:
        signal.signal(signal.SIGUSR1, previous)
    record = finished.args[0]
    assert signalled and record.cancelled == 2 and record.done == 0, record
    assert ended - signalled[0] < 1.0, ended - signalled[0]  # a task of 64 MB lasts 2-5 s
