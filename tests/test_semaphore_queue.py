"""A semaphore on downloads and a bounded queue, measured end to end.

Real runs through the window's own RunController: the local server counts
the connections it serves at once (its own count, not the client's), and
the queue's producers measure their depth and blocked time. conftest's
guard fails any test that leaves a thread, a QThread or a process behind.
"""

from __future__ import annotations

import time

import pytest

from gui.controller import RunController
from gui.jobs import validate
from workers.backends.processes import CANCEL_GRACE_S
from workers.fields import SpecError
from workers.record import RunRecord
from workers.spec import parse_spec

THREADS = ("threading", "thread-pool", "qthread", "qthread-pool")


def run_all(qtbot, raws: list[dict[str, object]], timeout_ms: int = 30_000) -> list[RunRecord]:
    """Each job run to its end, in turn, through one controller (one local server)."""
    controller = RunController()
    records = []
    try:
        for raw in raws:
            with qtbot.waitSignal(controller.run_finished, timeout=timeout_ms) as finished:
                controller.submit(parse_spec(raw))
            records.append(finished.args[0])
    finally:
        controller.shutdown()
    return records


def downloads(backend: str, limit: int) -> dict[str, object]:
    """8 workers on small files whose first byte waits, so connections overlap: one file
    each without a limit, 6 files with (two rounds of 3). Spawned processes start one
    after another, tens of ms apart on a busy machine: their files wait longer, and
    there are 4 of them (8 spawned twice would cost 3 s of the suite's budget)."""
    mp = backend == "multiprocessing"
    workers = 4 if mp else 8
    return {
        "workload": "download", "backend": backend, "workers": workers,
        "tasks": 6 if limit else workers, "size": "64KB", "latency_ms": 300 if mp else 100,
        "rate_mbps": 0, "limit": limit,
    }  # fmt: skip


def test_the_server_sees_at_most_limit_connections_and_every_worker_without(qtbot) -> None:
    backends = (*THREADS, "asyncio", "multiprocessing")
    raws = [downloads(b, limit) for b in backends for limit in (0, 3)]
    records = run_all(qtbot, raws)
    seen = {(r.backend, r.limit): r.server_peak_connections for r in records}
    assert all(r.ok for r in records), [(r.backend, r.errors) for r in records if not r.ok]
    assert seen == {(b, limit): 3 if limit else downloads(b, 0)["workers"] for b, limit in seen}
    assert len(seen) == 2 * len(backends)
    # What the limit costs: 6 files, 3 at once, take two rounds of first-byte latency.
    for r in records:
        latency_s = downloads(r.backend, r.limit)["latency_ms"] / 1000  # type: ignore[operator]
        assert r.work_s >= (2 if r.limit else 1) * latency_s, (r.backend, r.limit, r.work_s)


def queue_job(backend: str) -> dict[str, object]:
    """~0.15 s of checksums: 120 items of 16 KB through a queue of 4, 4 workers."""
    return {
        "workload": "queue", "backend": backend, "workers": 4,
        "items": 120, "size": "16KB", "depth": 4,
    }  # fmt: skip


def test_the_queue_stays_within_its_bound_and_producers_block_behind_slow_consumers(
    qtbot,
) -> None:
    backends = ("gui-thread", *THREADS, "asyncio", "multiprocessing")
    records = run_all(qtbot, [queue_job(b) for b in backends])
    for r in records:
        assert r.ok and r.units == r.items * r.size == 120 * 16_000, (r.backend, r.errors)
        assert r.max_depth is not None and r.max_depth <= r.depth == 4, (r.backend, r.max_depth)
        if r.backend == "gui-thread":  # one task, both roles in turn: it fills, never blocks
            assert (r.tasks, r.max_depth, r.producer_blocked_s) == (1, 4, 0.0)
        else:  # 2 producers, 2 consumers; producing is ~1000× faster than checksumming
            assert r.tasks == 4 and r.max_depth == 4, (r.backend, r.max_depth)
            blocked = r.producer_blocked_s or 0.0
            assert 0.3 * r.work_s < blocked <= 2 * r.wall_s, (r.backend, blocked, r.work_s)


def test_cancel_or_close_while_workers_wait_on_a_semaphore_or_a_queue_leaves_nothing(
    qtbot,
) -> None:
    """Downloads waiting for the semaphore are cancelled; processes blocked on a full
    queue (producers) or busy with an item (consumers) are closed with the app. Each
    wait looks at the cancel token, so both end within their bounds, and conftest
    checks that no thread, QThread or process is left."""
    slow = {"workload": "download", "backend": "threading", "workers": 8, "tasks": 8,
            "size": "64KB", "latency_ms": 2000, "rate_mbps": 0, "limit": 1}  # fmt: skip
    controller = RunController()
    try:
        controller.submit(parse_spec(slow))
        qtbot.waitUntil(lambda: controller.active is not None, timeout=20_000)
        active = controller.active
        qtbot.waitUntil(lambda: active.state.count("started") == 8, timeout=20_000)
        t0 = time.perf_counter()
        with qtbot.waitSignal(controller.run_finished, timeout=10_000) as finished:
            controller.cancel()
        record = finished.args[0]
        assert record.outcome == "cancelled" and record.done == 0, record
        assert time.perf_counter() - t0 < 1.5  # 7 waiting for the permit, 1 in its latency
        controller.submit(
            parse_spec(queue_job("multiprocessing") | {"items": 100_000, "size": "256KB"})
        )
        qtbot.waitUntil(lambda: controller.active is not None, timeout=20_000)
        active = controller.active
        qtbot.waitUntil(lambda: active.state.units > 0, timeout=20_000)  # the queue works
        depth = active.run.shared["queue"]
        qtbot.waitUntil(lambda: depth.qsize() == 4, timeout=10_000)  # full: producers wait
        t0 = time.perf_counter()
    finally:
        controller.shutdown(timeout=3.0)  # what closing the window does
    # Before the grace ends: no worker was killed. A producer holding items its queue
    # could not send yet (256 KB each: more than the pipe holds) would keep its process
    # from exiting until killed, unless it lets them go (cancel_join_thread).
    assert time.perf_counter() - t0 < CANCEL_GRACE_S - 0.3


@pytest.mark.parametrize(
    ("raw", "field", "words"),
    [
        ({"workload": "download", "limit": -1}, "limit", "between 0"),
        ({"workload": "download", "limit": "three"}, "limit", "whole number"),
        ({"workload": "cpu-python", "limit": 3}, "limit", "download workload only"),
        ({"workload": "queue", "depth": 0}, "depth", "unbounded"),
        ({"workload": "queue", "items": 0}, "items", "between 1"),
        ({"workload": "queue", "size": "2MB"}, "size", "1 MiB"),
        ({"workload": "download", "depth": 8}, "depth", "queue workload only"),
    ],
)
def test_bad_limits_and_queues_are_refused_by_name(raw, field, words) -> None:
    with pytest.raises(SpecError) as caught:
        parse_spec({"backend": "threading", **raw})
    assert caught.value.field == field and words in caught.value.message
    spec, errors = validate({"backend": "threading", **raw})  # the form: by its field
    assert spec is None and words in errors[field]


def test_a_queue_on_one_worker_has_one_task_whatever_the_tasks_field() -> None:
    for backend, workers, tasks in (("gui-thread", 8, 1), ("threading", 1, 1), ("asyncio", 6, 6)):
        spec = parse_spec({"workload": "queue", "backend": backend, "workers": workers})
        assert spec.tasks == tasks and spec.depth == 8 and spec.items == 2000


def test_the_form_names_a_queue_of_size_0_and_keeps_start_disabled(qtbot) -> None:
    from gui.controls import JobForm
    from workers.speed import Speed

    form = JobForm(Speed())
    qtbot.addWidget(form)
    form.workload.setCurrentText("queue")
    assert not form.depth.isHidden() and not form.items.isHidden() and form.limit.isHidden()
    assert form.spec() is not None
    form.depth.setValue(0)
    assert form.spec() is None
    assert "unbounded" in form.errors["depth"].text() and not form.errors["depth"].isHidden()
    form.workload.setCurrentText("download")
    assert not form.limit.isHidden() and form.depth.isHidden()
    form.limit.setValue(3)
    spec = form.spec()
    assert spec is not None and spec.limit == 3 and spec.depth == 0


def test_queue_and_limit_runs_point_to_the_lesson_that_exists() -> None:
    import dataclasses

    from gui.lessons import QUEUES, lesson_for, lesson_key, load_lessons

    assert QUEUES in {lesson.key for lesson in load_lessons()}
    assert lesson_key("queue", "multiprocessing") == QUEUES
    lag = {"p50": 1.0, "p95": 1.0, "p99": 1.0, "max": 1.0, "over_50": 0.0, "samples": 1}
    free = RunRecord("download", "threading", 8, 8, 1, True, 8, 0, 0, 1, 0, 1, 8, 1, "MB/s", lag)
    assert lesson_for(free) != QUEUES and lesson_for(dataclasses.replace(free, limit=3)) == QUEUES
