"""Every CPU and disk workload on every back end: results verified, cancel honoured."""

from __future__ import annotations

import dataclasses
import os
import threading
import time
import zlib

import numpy as np
import pytest

from tests.helpers import drive, finals, start
from workers import content, workloads
from workers.core import Cancelled, Event, Task, run_task
from workers.names import backends_for
from workers.record import RunRecord
from workers.spec import RunSpec, parse_spec
from workers.stats import FROZEN_MS, LagStats
from workers.workloads import cpu, disk

BACKENDS = list(backends_for("cpu-python"))  # hybrid runs the pipeline: tests/test_pipeline.py
#: dask runs share one LocalCluster for this module (conftest's ``shared_dask``).
SHARED_DASK = True


def spec(workload: str, backend: str, **kw: object) -> RunSpec:
    base = {"workers": 2, "tasks": 3, "size": 200_000}
    base.update(kw)
    return RunSpec(workload=workload, backend=backend, **base)  # type: ignore[arg-type]


def test_pure_python_adler32_matches_zlib() -> None:
    data = content.block(7)
    for n in (0, 1, 5551, 5552, 5553, 65536, len(data)):
        assert cpu.adler32_py(data[:n]) == zlib.adler32(data[:n])


def test_content_chunks_are_deterministic_and_sized() -> None:
    for size in (0, 1, content.BLOCK - 1, content.BLOCK + 3, 3 * content.BLOCK):
        parts = b"".join(content.chunks(42, size, 65536))
        assert len(parts) == size
        assert parts == b"".join(content.chunks(42, size, content.BLOCK))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("workload", ["cpu-python", "cpu-native"])
def test_cpu_workloads_verify_on_every_backend(qtbot, backend: str, workload: str) -> None:
    size = 100_000 if workload == "cpu-python" else 3_000_000
    tasks = workloads.make_tasks(spec(workload, backend, size=size))
    events = drive(qtbot, start(backend, tasks))
    done = finals(events)
    assert sorted(done) == [0, 1, 2]
    assert all(e.kind == "done" and e.value == size for e in done.values()), done
    # Same bytes give the same verified checksum, whatever ran them.
    solo = run_task_here(tasks[0])
    assert done[0].detail == solo.detail


@pytest.mark.parametrize("backend", BACKENDS)
def test_disk_write_is_complete_and_atomic(qtbot, tmp_path, backend: str) -> None:
    size = content.BLOCK * 2 + 12345  # not a multiple of the chunk
    tasks = workloads.make_tasks(spec("disk-write", backend, size=size), folder=str(tmp_path))
    events = drive(qtbot, start(backend, tasks))
    assert all(e.kind == "done" for e in finals(events).values())
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["unfreeze-0000.bin", "unfreeze-0001.bin", "unfreeze-0002.bin"]
    for name in files:
        data = (tmp_path / name).read_bytes()
        assert data == b"".join(content.chunks(content.seed_for(name), size))


@pytest.mark.parametrize("backend", BACKENDS)
def test_events_follow_the_contract(qtbot, backend: str) -> None:
    tasks = workloads.make_tasks(spec("cpu-native", backend, size=4_000_000, tasks=4))
    events = drive(qtbot, start(backend, tasks))
    for task in range(4):
        kinds = [e.kind for e in events if e.task == task]
        assert kinds[0] == "started" and kinds[-1] == "done", kinds
        assert set(kinds[1:-1]) <= {"progress"}
        values = [e.value for e in events if e.task == task and e.kind == "progress"]
        assert values == sorted(values)
    names = {e.worker for e in events}
    expected = {
        "gui-thread": lambda n: n == {"MainThread"},
        "gui-thread-process-events": lambda n: n == {"MainThread"},
        "asyncio": lambda n: n == {f"MainThread:coroutine-{i}" for i in range(2)},
        "threading": lambda n: all(x.startswith("Worker-") for x in n),
        "thread-pool": lambda n: all(x.startswith("ThreadPoolExecutor-") for x in n),
        "qthread": lambda n: all(x.startswith("QThread-") for x in n),
        "qthread-signal-per-item": lambda n: all(x.startswith("QThread-") for x in n),
        "qthread-pool": lambda n: all(x.startswith("QThreadPool-") for x in n),
        "multiprocessing": lambda n: all(x.startswith("SpawnProcess-") for x in n if x),
        "dask": lambda n: all("-Dask-Default-Threads-" in x for x in n),
    }[backend]
    assert expected(names), names


@pytest.mark.parametrize("backend", BACKENDS)
def test_cancel_mid_run(qtbot, backend: str) -> None:
    """Running tasks stop at their next chunk, queued ones never start, nothing after cancelled.

    On the GUI thread (gui-thread, asyncio) a CPU task blocks the loop, so the
    cancel can only land between tasks: that is the lesson, not a bug. So does
    this test's own wait with processEvents() in the task: its loop's turn to
    check ends only once the task does (test_pitfalls cancels from inside).
    """
    blocking = backend in ("gui-thread", "asyncio", "gui-thread-process-events")
    size = 5_000_000 if blocking else 40_000_000
    tasks = workloads.make_tasks(spec("cpu-python", backend, size=size, tasks=6))
    run = start(backend, tasks)
    events: list[Event] = []

    def running() -> bool:
        events.extend(run.drain())
        return any(e.kind == "progress" for e in events)

    qtbot.waitUntil(running, timeout=10_000)
    cancelled_at = time.perf_counter()
    run.cancel()
    limit = {"multiprocessing": 2.0}.get(backend, 0.5)
    events += drive(qtbot, run, timeout_ms=int(limit * 1000) + 1000)
    took = time.perf_counter() - cancelled_at
    done = finals(events)
    assert len(done) == 6
    assert sum(e.kind == "cancelled" for e in done.values()) >= (1 if blocking else 4)
    assert not any(e.kind == "failed" for e in done.values()), done
    for task in range(6):  # nothing after the final event
        kinds = [e.kind for e in events if e.task == task]
        assert kinds.count(done[task].kind) == 1 and kinds[-1] == done[task].kind
    assert took < limit + 0.3, f"took {took:.2f} s"


def run_task_here(task: Task) -> Event:
    out: list[Event] = []
    run_task(task, out.append, threading.Event())
    return out[-1]


def test_a_failing_task_is_reported_not_raised(tmp_path) -> None:
    missing = str(tmp_path / "gone")
    task = disk.make_tasks(spec("disk-write", "threading", size=10), missing)[0]
    event = run_task_here(task)
    assert event.kind == "failed"
    assert "no such file or directory" in event.detail


def test_cancel_before_start_never_runs() -> None:
    token = threading.Event()
    token.set()
    calls = []

    def fn(progress, cancel) -> None:
        calls.append(1)

    out: list[Event] = []
    run_task(Task(0, fn, {}, 1), out.append, token)
    assert [e.kind for e in out] == ["cancelled"] and not calls


def test_cancelled_write_leaves_no_file(tmp_path) -> None:
    token = threading.Event()

    def progress(done: int) -> None:
        if done > 2 * content.BLOCK:
            token.set()

    with pytest.raises(Cancelled):
        disk.disk_write(progress, token, folder=str(tmp_path), name="x.bin", size=8 * content.BLOCK)
    assert os.listdir(tmp_path) == []


def test_a_qthread_stuck_past_close_is_kept_until_it_finishes(qtbot) -> None:
    """Freeing a running QThread aborts the process: close() must hand it over, not drop it."""
    import gc

    from tests import faulttasks
    from workers.backends import qthread

    run = start("qthread", faulttasks.tasks(faulttasks.blocked, 2, 1, seconds=1.0), 2)

    def both_started() -> bool:
        run.drain()
        return len(run.started) == 2

    qtbot.waitUntil(both_started, timeout=5000)
    t0 = time.perf_counter()
    run.close(timeout=0.2)
    assert time.perf_counter() - t0 < 0.9  # close is bounded, the calls are not
    assert {e.kind for e in run.verdicts.values()} == {"cancelled"}
    assert len(qthread.stragglers()) == 2
    run = None
    gc.collect()  # without the hand-over this frees both running QThreads: abort
    qtbot.waitUntil(lambda: not qthread._STRAGGLERS, timeout=5000)


def test_a_qthread_pool_stuck_past_close_is_kept_until_it_is_done(qtbot) -> None:
    """Freeing a QThreadPool waits for its runnables: close() must hand it over, not drop it."""
    from tests import faulttasks
    from workers.backends import qthreadpool

    run = start("qthread-pool", faulttasks.tasks(faulttasks.blocked, 3, 1, seconds=0.6), 2)

    def both_started() -> bool:
        run.drain()
        return len(run.started) == 2

    qtbot.waitUntil(both_started, timeout=5000)
    t0 = time.perf_counter()
    run.close(timeout=0.1)
    assert time.perf_counter() - t0 < 0.5  # close is bounded, the calls are not
    assert [e.kind for e in run.verdicts.values()] == ["cancelled"] * 3  # the queued one too
    assert qthreadpool.stragglers() == [run.pool.objectName()]
    assert qthreadpool.stragglers(timeout=5.0) == []  # let go once both calls are done


def test_starting_1000_pure_python_tasks_on_qt_s_pool_is_as_quick_as_on_python_s() -> None:
    """Each QThreadPool.start() gives up the GIL: queued all at once, 1 000 tasks held the
    GUI thread 160-600 ms while the first ones computed. Both pools queue a few at a time."""
    took = {}
    for backend in ("thread-pool", "qthread-pool"):
        tasks = workloads.make_tasks(spec("cpu-python", backend, tasks=1000, size=400_000))
        t0 = time.perf_counter()
        run = start(backend, tasks)
        took[backend] = time.perf_counter() - t0
        run.close()
        assert len(run.verdicts) == 1000
    assert took["qthread-pool"] < 2 * took["thread-pool"] + 0.05, took


@pytest.mark.parametrize("backend", BACKENDS)
def test_close_of_a_default_job_with_tasks_still_queued_is_bounded(qtbot, backend: str) -> None:
    """The default cpu-python job queues 4 tasks per worker: closing mid-run must not
    wait on them (the thread pool once deadlocked cancelling its queued futures)."""
    spec = parse_spec({"workload": "cpu-python", "backend": backend, "workers": 2})
    run = start(backend, workloads.make_tasks(spec), spec.workers)
    progress: list[Event] = []

    def working() -> bool:
        progress.extend(e for e in run.drain() if e.kind == "progress")
        return bool(progress)

    qtbot.waitUntil(working, timeout=10_000)
    t0 = time.perf_counter()
    run.close(timeout=3.0)
    assert time.perf_counter() - t0 < 3.5
    assert run.finished and len(run.verdicts) == spec.tasks >= 4 * spec.workers
    assert (
        sum(e.kind == "cancelled" for e in run.verdicts.values()) >= spec.tasks - 2 * spec.workers
    )


def test_a_records_outcome_follows_its_counts_not_its_caller() -> None:
    """Outcome (how it ended) and ok (verified) are separate facts of a record."""
    lag = {"p50": 1.0, "p95": 1.0, "p99": 1.0, "max": 1.0, "over_50": 0.0, "samples": 1}
    done = RunRecord("cpu-native", "threading", 2, 8, 1, True, 8, 0, 0, 1, 0, 1, 8, 1, "MB/s", lag)
    assert (done.outcome, done.partial) == ("done", False)
    cancelled = dataclasses.replace(done, ok=False, done=2, cancelled=6)
    assert (cancelled.outcome, cancelled.partial) == ("cancelled", True)
    failed = dataclasses.replace(done, ok=False, done=2, failed=1, cancelled=5)
    assert failed.outcome == "failed" and failed.as_dict()["outcome"] == "failed"
    unaccounted = dataclasses.replace(done, ok=False, done=7)  # a task never said how it ended
    assert unaccounted.outcome == "failed"


def test_lag_stats_count_the_time_frozen_and_the_longest_freeze() -> None:
    lag = np.array([0.5, 1400.0, 0.3, 1300.0, 20.0, 100.0, 101.0])
    stats = LagStats.of(lag)
    assert stats.max == 1400.0  # the longest single freeze
    assert stats.frozen == 1400.0 + 1300.0 + 101.0  # every sample over 100 ms, summed
    assert stats.freezes == 3 and FROZEN_MS == 100.0
    assert LagStats.of(np.array([])).frozen == 0.0
