"""The hazards lab: each hazard happens unguarded, each guard fixes it, measured from real runs.

The runs (tests/hazardruns.py) go through the window's own controller on the
real back ends; lost updates are the final balance read from the shared
memory, the deadlock is the cycle the workers' wait-for graph showed.
"""

from __future__ import annotations

import argparse
import threading
import time

import pytest
from PySide6.QtCore import Qt

from gui.bench import guards_for, specs_from_args
from gui.cli import parser
from tests.hazardruns import THREADS
from workers import shared
from workers.core import Cancelled
from workers.fields import SpecError
from workers.spec import parse_spec
from workers.workloads import deadlock

CAN_RACE = (*THREADS, "multiprocessing", "asyncio")
CAN_DEADLOCK = (*THREADS, "multiprocessing")


def test_unguarded_race_loses_updates_on_every_backend_that_can_show_it(hazard_runs) -> None:
    for backend in CAN_RACE:
        r = hazard_runs["race", backend, "none"]
        assert r.outcome == "done", (backend, r.errors)
        assert r.expected == 2 * r.size, backend  # every deposit was applied...
        assert r.lost is not None and r.lost > 0, (backend, r.expected, r.actual)  # ...not all kept
        assert r.actual == r.expected - r.lost
    # One thread loses nothing: the baseline, and with processEvents() between its chunks
    # too (the handlers that run nested never run a task).
    for backend in ("gui-thread", "gui-thread-process-events"):
        serial = hazard_runs["race", backend, "none"]
        assert (serial.lost, serial.actual) == (0, serial.expected) and serial.expected > 0


def test_each_kind_of_lock_fixes_the_race(hazard_runs) -> None:
    """threading.Lock (the three thread back ends share it), a process-shared lock, asyncio.Lock."""
    for backend in ("threading", "multiprocessing", "asyncio"):
        r = hazard_runs["race", backend, "lock"]
        assert r.outcome == "done", (backend, r.errors)
        assert r.lost == 0 and r.actual == r.expected == 2 * r.size, backend


def test_unordered_locks_deadlock_and_the_run_ends_within_2_s(hazard_runs) -> None:
    for backend in CAN_DEADLOCK:
        r = hazard_runs["deadlock", backend, "none"]
        assert r.outcome == "deadlock", (backend, r.outcome, r.errors)
        assert r.done == 0 and r.failed == r.tasks == 2
        # Both workers in the cycle, each holding the lock the other waits for.
        assert "worker 0 holds lock 0 and waits for lock 1, held by worker 1" in r.deadlock
        assert "worker 1 holds lock 1 and waits for lock 0, held by worker 0" in r.deadlock
        assert r.detect_s is not None and 0.1 <= r.detect_s <= 2.0, (backend, r.detect_s)
        assert r.work_s <= 2.0, (backend, r.work_s)  # 2M rounds each: only the cycle ended it
        assert sorted(e.partition(": deadlock: ")[0] for e in r.errors) == ["task 0", "task 1"]


def test_ordered_locks_complete(hazard_runs) -> None:
    r = hazard_runs["deadlock", "threading", "ordered"]
    assert (r.outcome, r.done, r.deadlock) == ("done", 2, ""), r.errors
    assert r.units == 2 * r.size


def test_one_thread_at_a_time_cannot_deadlock(hazard_runs) -> None:
    """gui-thread and asyncio run each task to its end before the next: no one ever waits."""
    for backend in ("gui-thread", "asyncio", "gui-thread-process-events"):
        r = hazard_runs["deadlock", backend, "none"]
        assert (r.outcome, r.deadlock) == ("done", ""), (backend, r.errors)


@pytest.mark.parametrize(
    ("raw", "field", "words"),
    [
        ({"workload": "race", "size": 0}, "size", "deposits per worker, must be at least 1"),
        ({"workload": "race", "size": "lots"}, "size", "not a number of deposits"),
        ({"workload": "deadlock", "size": "0"}, "size", "rounds per worker, must be at least 1"),
        ({"workload": "deadlock", "workers": 1}, "workers", "at least 2 workers"),
        ({"workload": "race", "guard": "ordered"}, "guard", "none, lock"),
        ({"workload": "deadlock", "guard": "lock"}, "guard", "none, ordered"),
        ({"workload": "download", "guard": "lock"}, "guard", "download has no guard"),
    ],
)
def test_bad_hazard_input_names_the_field(raw, field, words) -> None:
    with pytest.raises(SpecError) as info:
        parse_spec({"backend": "threading", **raw})
    assert info.value.field == field
    assert words in info.value.message


def test_bench_runs_each_workload_once_per_guard_it_knows() -> None:
    assert guards_for(["race", "deadlock"], "none,lock,ordered") == {
        "race": ["none", "lock"],
        "deadlock": ["none", "ordered"],
    }
    args = parser().parse_args(
        [
            "bench",
            "--workloads",
            "race,deadlock",
            "--backends",
            "threading",
            "--guard",
            "lock,ordered",
        ]
    )
    specs = specs_from_args(args)
    assert [(s.workload, s.guard, s.tasks) for s in specs] == [
        ("race", "lock", 4),
        ("deadlock", "ordered", 4),
    ]
    for guard, words in (("bogus", "'bogus' is not a guard"), ("lock", "deadlock knows none")):
        bad = argparse.Namespace(**{**vars(args), "guard": guard})
        with pytest.raises(SpecError, match=words) as info:
            specs_from_args(bad)
        assert info.value.field == "guard"


# -- in the window ----------------------------------------------------------------------
def _hazard_job(window, workload: str, backend: str, k: str, guard: str = "none") -> None:
    form = window.form
    form.workload.setCurrentText(workload)
    form.backend.setCurrentText(backend)
    form.workers.setValue(2)
    form.size.setText(k)
    form.guard.setCurrentText(guard)
    assert form.spec() is not None, {f: e.text() for f, e in form.errors.items() if e.text()}


def _run(qtbot, window, timeout_ms: int = 15_000):
    with qtbot.waitSignal(window.controller.run_finished, timeout=timeout_ms) as finished:
        qtbot.mouseClick(window.start_button, Qt.MouseButton.LeftButton)
    return finished.args[0]


def test_the_window_shows_the_race_and_the_deadlock_and_closes_mid_run(qtbot, window) -> None:
    _hazard_job(window, "race", "threading", "300k")
    r = _run(qtbot, window)
    assert window.progress.hazard.text() == (
        f"expected {r.expected:,} · actual {r.actual:,} · lost {r.lost:,}"
    )
    assert f"lost {r.lost:,} of {r.expected:,}" in window.readback.text() or r.lost == 0

    _hazard_job(window, "deadlock", "threading", "2M")
    r = _run(qtbot, window)
    assert r.outcome == "deadlock"
    assert window.progress.hazard.text() == f"deadlock: {r.deadlock}"
    assert "deadlock: worker" in window.log.toPlainText()  # each task's verdict names the cycle
    assert "deadlock with 0 of 2 tasks done: a ring of 2 threads" in window.readback.text()
    row = window.results.records[-1]
    assert row.outcome == "deadlock"
    # Every label names what was counted: deposits and rounds a second, not MB/s.
    assert window.plots.tp_plot.getAxis("left").labelText == "k deposits/s · k rounds/s"
    window.bars.show_records([row])
    assert window.bars.tp.titleLabel.text == "deadlock: k rounds/s"

    # Closing the window mid-run (spawning, transferring or deadlocked) leaves nothing behind:
    # the leak guard checks every thread and process.
    _hazard_job(window, "deadlock", "multiprocessing", "2M")
    qtbot.mouseClick(window.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.controller.active is not None, timeout=10_000)
    state = window.controller.active.state
    qtbot.waitUntil(lambda: state.count("started") == 2, timeout=10_000)
    t0 = time.perf_counter()
    window.close()
    assert time.perf_counter() - t0 < 2.0


def test_a_worker_waiting_for_a_lock_stays_cancellable_and_shows_in_the_graph() -> None:
    """A lock held by someone outside the graph: no cycle, so only the cancel can end the wait."""
    tasks = deadlock.make_tasks(parse_spec({"workload": "deadlock", "backend": "threading"}))
    bank = deadlock.Bank(**shared.make(tasks, shared.THREADS))  # as a threads run makes it
    cancel = threading.Event()
    ended: list[BaseException] = []

    def wait_for_lock_1() -> None:
        try:
            deadlock.take(bank, 0, 1, cancel)
        except BaseException as exc:
            ended.append(exc)

    with bank.locks[1]:
        worker = threading.Thread(target=wait_for_lock_1)
        worker.start()
        worker.join(3 * deadlock.POLL_S)
        assert worker.is_alive() and bank.waiting[0] == 2  # it waits for lock 1 (+ 1)
        assert "worker 0: holds nothing, waits for 1" in bank.graph()
        t0 = time.perf_counter()
        cancel.set()
        worker.join(2.0)
    assert not worker.is_alive() and time.perf_counter() - t0 < 2 * deadlock.POLL_S + 0.2
    assert isinstance(ended[0], Cancelled) and bank.waiting[0] == 0 and bank.found[0] == 0
