"""This machine's speed: measured at start-up and by gui-thread runs, never a fixed table."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import dataclasses
import threading
import time

import pytest

from gui.controller import RunController
from tests.helpers import started
from tests.test_window import record
from workers.spec import RunSpec
from workers.speed import LEARN_MIN_S, Speed, measure_mbps


# -- plain Python -------------------------------------------------------------------
def test_calibration_times_each_cpu_workloads_real_task() -> None:
    python, native = measure_mbps("cpu-python"), measure_mbps("cpu-native")
    assert python is not None and native is not None
    assert 0.5 < python < 500 and native > 10 * python  # C hashing is far faster than a loop
    speed = Speed()
    t0 = time.perf_counter()
    speed.calibrate()
    assert time.perf_counter() - t0 < 5.0  # ~0.3 s, more on a busy machine
    sources = {w: r.source for w, r in speed.rates.items()}
    assert sources == {
        "download": "guess",
        "disk-write": "guess",
        "cpu-python": "calibration",
        "cpu-native": "calibration",
    }
    assert speed.measured("cpu-python") and not speed.measured("disk-write")


def test_a_stopped_calibration_ends_at_once_and_keeps_the_guesses() -> None:
    stop = threading.Event()
    stop.set()
    speed = Speed()
    t0 = time.perf_counter()
    speed.calibrate(stop)
    assert time.perf_counter() - t0 < 0.1
    assert {r.source for r in speed.rates.values()} == {"guess"}


def test_only_a_long_enough_gui_thread_run_tells_the_serial_speed() -> None:
    speed = Speed()
    base = record("gui-thread", 12.5, 1.0, workload="cpu-python")
    assert speed.learn(dataclasses.replace(base, work_s=2.0))
    assert speed.rate("cpu-python").mbps == 12.5
    assert speed.rate("cpu-python").source == "gui-thread run"
    for other in (
        record("threading", 30.0, 1.0, workload="cpu-python"),  # not one worker on one thread
        dataclasses.replace(base, throughput=99.0, work_s=LEARN_MIN_S / 2),  # too short
        record("gui-thread", 5.0, 1.0, workload="download"),  # latency and the cap decide
    ):
        assert not speed.learn(other)
    assert speed.rate("cpu-python").mbps == 12.5
    assert speed.rate("download").source == "guess"


def test_serial_seconds_adds_a_downloads_latency_and_obeys_its_cap() -> None:
    speed = Speed()
    spec = RunSpec("download", "gui-thread", 1, 4, 20_000_000, latency_ms=100, rate_mbps=10)
    assert speed.serial_seconds(spec) == pytest.approx(4 * (2.0 + 0.1))
    uncapped = spec.with_(rate_mbps=0)
    assert speed.serial_seconds(uncapped) == pytest.approx(4 * (0.02 + 0.1))
    assert speed.serial_seconds(spec.with_(urls=("http://example.com/",))) == 0.0


# -- the controller: calibration never overlaps a run ---------------------------------------
@pytest.fixture
def controller(qtbot):
    c = RunController()
    yield c
    c.shutdown()


def test_calibration_waits_for_the_run_going_and_runs_wait_for_it(qtbot, controller) -> None:
    spec = RunSpec("cpu-native", "threading", 2, 2, 200_000_000)
    started(qtbot, controller, spec)
    controller.calibrate()
    qtbot.wait(100)
    assert controller.calibration_due and not controller.calibrating  # not during the run
    order: list[str] = []
    controller.calibrated.connect(lambda: order.append("calibrated"))
    controller.run_started.connect(lambda a: order.append("run"))
    controller.run_finished.connect(lambda r: order.append("finished"))
    controller.submit(spec)
    qtbot.waitUntil(lambda: order.count("finished") == 2, timeout=30_000)
    assert order == ["finished", "calibrated", "run", "finished"]
    assert controller.speed.measured("cpu-native")


def test_shutdown_stops_a_calibration_at_once(qtbot, controller) -> None:
    controller.calibrate()
    qtbot.waitUntil(lambda: controller.calibrating, timeout=5000)
    t0 = time.perf_counter()
    controller.shutdown()
    assert time.perf_counter() - t0 < 0.5
