"""The two pitfalls, measured against their fixes, through the window's own controller.

``gui-thread-process-events``: the lag falls, and what the loop handles runs inside
the task's call stack (a second Start, a Cancel). ``qthread-signal-per-item``: every
progress call crosses to the GUI thread as a signal of its own.
"""

from __future__ import annotations

import traceback

from PySide6.QtCore import QTimer

from gui.controller import RunController
from tests.helpers import drive, finals, start
from workers import workloads
from workers.backends import processevents
from workers.record import RunRecord
from workers.spec import RunSpec, parse_spec

#: ~60-120 ms of pure Python per task here: long enough to freeze, short for a test.
JOB = {"workload": "cpu-python", "workers": 1, "tasks": 2, "size": "1.5MB"}


def finish(qtbot, controller: RunController, n: int) -> list[RunRecord]:
    records: list[RunRecord] = []
    controller.run_finished.connect(records.append)
    qtbot.waitUntil(lambda: len(records) == n, timeout=30_000)
    return records


def test_a_start_during_a_process_events_run_runs_inside_its_task_and_is_queued(qtbot) -> None:
    """A queued slot (here: a second Start) lands between two chunks, on top of the
    task's own stack: seen from inside, one processEvents() deep, with the task's
    function below it. The controller queues the second run instead of starting it
    on top. And the run's lag p99 is under half of gui-thread's on the same job."""
    controller = RunController()
    first = parse_spec({**JOB, "backend": "gui-thread-process-events"})
    second = first.with_(tasks=1, size=200_000)
    seen: dict[str, object] = {}

    def start_again() -> None:  # a plain function: a same-thread single-shot
        seen["depth"] = processevents.depth()
        seen["stack"] = [frame.name for frame in traceback.extract_stack()]
        seen["active"] = controller.active
        controller.submit(second)  # what a click on Start (Queue) does
        seen["queued"] = len(controller.queue)

    def on_started(active) -> None:
        if active.spec is first:
            QTimer.singleShot(30, start_again)

    controller.run_started.connect(on_started)
    try:
        qtbot.wait(100)  # the probe ticks
        controller.submit(parse_spec({**JOB, "backend": "gui-thread"}))
        controller.submit(first)
        frozen, nested, again = finish(qtbot, controller, 3)
    finally:
        controller.shutdown()
    assert seen["depth"] == 1
    stack = seen["stack"]
    assert "cpu_python" in stack and stack.index("cpu_python") < stack.index("start_again")
    assert seen["active"] is not None and seen["queued"] == 1  # queued, not on top
    assert (nested.backend, nested.outcome, again.outcome) == (first.backend, "done", "done")
    assert nested.reentered is not None and nested.reentered >= 1
    assert nested.reentry_depth == 1
    assert dict(nested.reentered_by).get("timer ticks", 0) >= 1
    assert again.started_at > nested.started_at + nested.wall_s  # one after the other
    assert frozen.lag_ms["max"] >= 40, frozen.lag_ms
    assert nested.lag_ms["p99"] < frozen.lag_ms["p99"] / 2, (nested.lag_ms, frozen.lag_ms)


def test_a_cancel_handled_inside_the_task_stops_it_at_its_next_chunk(qtbot) -> None:
    """Esc during the run is handled inside the first task (with gui-thread it would
    wait for the task's end): that task stops part-way, the next never runs."""
    controller = RunController()
    spec = parse_spec({**JOB, "backend": "gui-thread-process-events", "size": "8MB"})
    seen: dict[str, float] = {}

    def cancel() -> None:
        seen["depth"] = processevents.depth()
        controller.cancel()  # what Esc does

    def on_started(_active) -> None:
        QTimer.singleShot(60, cancel)

    controller.run_started.connect(on_started)
    try:
        qtbot.wait(50)
        controller.submit(spec)
        (record,) = finish(qtbot, controller, 1)
    finally:
        controller.shutdown()
    assert seen["depth"] == 1  # handled inside the first task, not after it
    assert (record.outcome, record.done, record.cancelled) == ("cancelled", 0, 2)
    assert 0 < record.units < spec.size  # the first task stopped part-way


def test_a_shutdown_handled_inside_the_task_closes_everything_and_the_task_lets_go(qtbot) -> None:
    """What closing the window does, landing between two chunks: the run is closed
    under the task's feet; the task sees the cancel at its next chunk and returns,
    and nothing it reports afterwards is taken."""
    controller = RunController()
    spec = parse_spec({**JOB, "backend": "gui-thread-process-events", "size": "8MB"})
    seen: dict[str, object] = {}

    def close() -> None:
        seen["depth"] = processevents.depth()
        seen["run"] = controller.active.run if controller.active else None
        controller.shutdown()

    def on_started(_active) -> None:
        QTimer.singleShot(60, close)

    controller.run_started.connect(on_started)
    qtbot.wait(50)
    controller.submit(spec)
    qtbot.waitUntil(lambda: "run" in seen, timeout=10_000)
    run = seen["run"]
    qtbot.waitUntil(lambda: processevents.depth() == 0 and not run.stepper.timer.isActive())
    assert seen["depth"] == 1
    assert run.closed and run.finished and controller.active is None
    assert {e.kind for e in run.verdicts.values()} == {"cancelled"}
    assert run.drain() == []  # the task's own "cancelled", posted after the close, is dropped


def test_a_signal_per_item_delivers_every_progress_call_where_qthread_sends_few(qtbot) -> None:
    """One signal per consumed item, plus each task's started and final, counted by the
    GUI-thread receiver; qthread's channel sends at most 50 progress signals a second
    per task. Both apply their last event shortly after the work ends."""
    items = 4_000
    controller = RunController()
    raw = {"workload": "queue", "workers": 2, "items": items, "size": 256, "depth": 16}
    try:
        qtbot.wait(50)
        for backend in ("qthread", "qthread-signal-per-item"):
            controller.submit(parse_spec({**raw, "backend": backend}))
        coalesced, per_item = finish(qtbot, controller, 2)
    finally:
        controller.shutdown()
    assert coalesced.ok and per_item.ok, (coalesced.errors, per_item.errors)
    assert per_item.signals == items + 2 * per_item.tasks
    at_most = 2 * coalesced.tasks + coalesced.tasks * (coalesced.wall_s / 0.02 + 1)
    assert coalesced.signals is not None and coalesced.signals <= at_most
    for r in (coalesced, per_item):
        assert r.last_progress_s is not None and 0 <= r.last_progress_s < 5, r.last_progress_s


def test_work_started_from_inside_a_task_runs_inside_it_two_deep(qtbot) -> None:
    """What the controller's queue prevents: a handler that starts the work again,
    straight away, while a task turns the loop. The second run's task then runs
    whole inside the first's processEvents(), two deep, and the first ends last."""
    job = RunSpec("cpu-python", "gui-thread-process-events", workers=1, tasks=1, size=1_500_000)
    outer = start(job.backend, workloads.make_tasks(job), 1)
    inner: list = []

    def start_again() -> None:
        inner.append(start(job.backend, workloads.make_tasks(job.with_(size=200_000)), 1))

    QTimer.singleShot(10, start_again)
    events = drive(qtbot, outer)
    assert inner, "the first task ended before the handler ran"
    nested = drive(qtbot, inner[0])
    assert (outer.facts()["reentry_depth"], inner[0].facts()["reentry_depth"]) == (1, 2)
    assert finals(nested)[0].kind == finals(events)[0].kind == "done"
    assert finals(nested)[0].t < finals(events)[0].t  # the second ended inside the first
