"""Many connections at once: 300 downloads on 300 threads vs 300 coroutines, and
what each run cost (peak threads, peak memory), through the window's own controller.

The local server counts the connections it serves at once on its own side, so
"all 300 overlapped" is the server's word, not the client's.
"""

from __future__ import annotations

import psutil
import pytest

from tests.test_semaphore_queue import run_all
from workers import limits
from workers.fields import SpecError
from workers.names import MAX_MANY_WORKERS, MAX_WORKERS
from workers.spec import parse_spec

N = 300


def many(backend: str, n: int = N) -> dict[str, object]:
    """``n`` tiny files on ``n`` workers. Each waits 1 s for its first byte, longer
    than starting 300 threads takes on a busy machine (~0.3 s), so all overlap."""
    return {
        "workload": "download", "backend": backend, "workers": n, "tasks": n,
        "size": "4KB", "latency_ms": 1000, "rate_mbps": 0,
    }  # fmt: skip


def test_300_connections_overlap_on_300_threads_and_on_one_thread_with_asyncio(qtbot) -> None:
    threads, coroutines = run_all(qtbot, [many("threading"), many("asyncio")])
    for r in (threads, coroutines):
        assert r.ok and r.done == N, (r.backend, r.errors[:3])
        assert r.server_peak_connections == N, r.backend  # all open at once, server-side
        assert r.workers == N
        # Memory: the app's own, plausible, and no worker processes on these back ends.
        assert r.peak_rss_mb is not None and 20 < r.peak_rss_mb < 8000, r.peak_rss_mb
        assert r.worker_rss_mb == () and r.total_rss_mb == r.peak_rss_mb
        assert r.open_files_limit == limits.open_files_limit()
    assert threads.peak_threads is not None and threads.peak_threads >= N
    # asyncio: the app's own few threads (probe, housekeeping, sampler, Qt's), no more.
    assert coroutines.peak_threads is not None and coroutines.peak_threads < 40


def test_worker_processes_count_in_threads_and_memory(qtbot) -> None:
    job = {
        "workload": "download", "backend": "multiprocessing", "workers": 2, "tasks": 2,
        "size": "4KB", "latency_ms": 600, "rate_mbps": 0,
    }  # fmt: skip
    (r,) = run_all(qtbot, [job])
    assert r.ok, r.errors
    assert len(r.worker_rss_mb) == 2 and all(mb > 10 for mb in r.worker_rss_mb), r.worker_rss_mb
    assert r.total_rss_mb >= r.peak_rss_mb + sum(r.worker_rss_mb) * 0.8  # type: ignore[operator]
    # The app's threads and each worker's (its main thread and its queue's feeder).
    assert r.peak_threads is not None and r.peak_threads >= psutil.Process().num_threads() + 4


def test_too_many_workers_names_the_field_and_the_back_ends_that_take_more() -> None:
    raw = {"workload": "download", "tasks": 1000, "size": "4KB"}
    for backend in ("threading", "thread-pool", "asyncio"):
        assert parse_spec({**raw, "backend": backend, "workers": 1000}).workers == 1000
    with pytest.raises(SpecError) as err:
        parse_spec({**raw, "backend": "multiprocessing", "workers": MAX_WORKERS + 1})
    assert err.value.field == "workers"
    assert f"multiprocessing takes at most {MAX_WORKERS} workers" in err.value.message
    assert "threading, thread-pool, asyncio take up to" in err.value.message
    with pytest.raises(SpecError) as err:
        parse_spec({**raw, "backend": "asyncio", "workers": MAX_MANY_WORKERS + 1})
    assert err.value.field == "workers"


def test_the_open_file_limit_is_raised_for_many_connections_and_said(capsys) -> None:
    resource = pytest.importorskip("resource")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 2048:
        pytest.skip(f"the hard open-file limit is {hard}: nothing to raise 1 000 connections to")
    resource.setrlimit(resource.RLIMIT_NOFILE, (512, hard))
    try:
        limits.for_connections(1000)
        assert limits.open_files_limit() > 1000 + limits.HEADROOM  # type: ignore[operator]
        assert "raised the open-file limit from 512" in capsys.readouterr().err
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
