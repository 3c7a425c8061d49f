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


def test_the_first_download_never_stalls_the_gui_thread(qtbot, controller) -> None:
    """Starting the local server takes ~200 ms (a fresh interpreter); on the GUI
    thread, before the run's clock, it was a freeze nobody was charged for."""
    spec = parse_spec(
        {"workload": "download", "backend": "threading", "tasks": 4, "size": "1MB",
         "latency_ms": 0, "rate_mbps": 0}
    )  # fmt: skip
    qtbot.wait(100)  # the probe is ticking
    t0 = time.perf_counter()
    with qtbot.waitSignal(controller.run_finished, timeout=20_000) as finished:
        controller.submit(spec)
    assert finished.args[0].ok
    assert controller.server is not None  # it was started for this run
    everything = controller.probe.stats(t0)  # from the click to now, not just the run
    assert everything.max < 150, everything


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
