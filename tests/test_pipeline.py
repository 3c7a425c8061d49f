"""The pipeline workload, and the hybrid back end that runs its stages apart.

Every item is downloaded from the real local server, checksummed in pure Python
(checked here against zlib) and written to a real folder; each stage's busy time
reaches the record. On hybrid the stages overlap on workers of their own, the
queues between them never hold more than their bound, and a close mid-run leaves
no worker process and no partial file.
"""

from __future__ import annotations

import os
import signal
import time
import zlib
from pathlib import Path

import numpy as np
import psutil
import pytest

from tests.helpers import drive, finals, start
from workers import content, workloads
from workers.backends.base import Run
from workers.backends.hybrid import BOUND
from workers.core import Event
from workers.fields import SpecError
from workers.names import BACKENDS, PIPELINE_STAGES, backends_for
from workers.record import RunRecord, RunState, TaskSpan
from workers.server import LocalServer
from workers.spec import parse_spec
from workers.stats import LagStats


@pytest.fixture(scope="module")
def server():
    with LocalServer() as local:
        yield local


def job(
    qtbot, backend: str, server: LocalServer, folder: Path, **kw: object
) -> tuple[RunRecord, Run, RunState]:
    """Run a pipeline job to its end; its record, the (closed) run, its state."""
    raw = {"workload": "pipeline", "backend": backend, "workers": 3, "tasks": 5, "size": "300KB"}
    spec = parse_spec(raw | {"latency_ms": 0, "rate_mbps": 0} | kw)
    tasks = workloads.make_tasks(spec, base_url=server.base_url, folder=str(folder))
    run = start(backend, tasks, spec.workers)
    state = RunState(spec, [t.total for t in tasks], run.started_at)
    state.apply(drive(qtbot, run, timeout_ms=30_000), time.perf_counter())
    return RunRecord.of(state, run.workers, LagStats.of(np.zeros(0))), run, state


def item(i: int, size: int) -> tuple[bytes, str]:
    """Item ``i``'s bytes as the server makes them, and its checksum computed by zlib."""
    data = b"".join(content.chunks(content.seed_for(f"file-{i:04d}.bin"), size))
    combined = 0
    for at in range(0, size, 64 << 10):
        combined ^= zlib.adler32(data[at : at + (64 << 10)])
    return data, f"adler32-xor {combined:08x}"


def by_stage(spans: tuple[TaskSpan, ...]) -> dict[tuple[int, str], TaskSpan]:
    return {(s.index, s.stage): s for s in spans}


@pytest.mark.parametrize("backend", ["threading", "multiprocessing", "hybrid"])
def test_every_item_is_verified_written_and_its_stages_timed(
    qtbot, tmp_path, server, backend
) -> None:
    record, run, state = job(qtbot, backend, server, tmp_path)
    assert record.ok and record.done == 5, record.errors
    size = record.size
    checks = {i: run.verdicts[i].detail for i in range(5)}
    for i in range(5):
        data, check = item(i, size)
        assert checks[i] == check  # the pure-Python checksum is zlib's
        assert (tmp_path / f"pipeline-{i:04d}.bin").read_bytes() == data
    assert sorted(os.listdir(tmp_path)) == [f"pipeline-{i:04d}.bin" for i in range(5)]
    assert record.stages is not None and list(record.stages) == list(PIPELINE_STAGES)
    assert all(seconds > 0 for seconds in record.stages.values()), record.stages
    # 1.5 MB in pure Python takes tens of ms at least; the writes into page cache far less.
    assert record.stages["checksum"] > record.stages["write"], record.stages
    if backend != "hybrid":  # one worker does the three in turn: one bar per item
        assert [s.stage for s in record.timeline] == [""] * 5
        return
    spans = by_stage(record.timeline)
    assert set(spans) == {(i, stage) for i in range(5) for stage in PIPELINE_STAGES}
    lanes = {stage: {spans[i, stage].worker for i in range(5)} for stage in PIPELINE_STAGES}
    assert all(w.startswith("hybrid-download-") for w in lanes["download"]), lanes
    assert lanes["write"] == {"hybrid-write"}
    pids = {int(w.removeprefix("pid ")) for w in lanes["checksum"]}
    assert pids <= set(run.worker_processes()) and os.getpid() not in pids, lanes
    for i in range(5):  # each item goes through its stages in order
        d, c, w = (spans[i, stage] for stage in PIPELINE_STAGES)
        assert d.end_s <= c.start_s < c.end_s <= w.start_s < w.end_s, (d, c, w)
    timeline_draws_the_stages_on_the_lanes_of_their_workers(qtbot, state, record)


def timeline_draws_the_stages_on_the_lanes_of_their_workers(
    qtbot, state: RunState, record: RunRecord
) -> None:
    """The Timeline dock: a bar per stage per item, on the lanes of the workers that ran
    them; hovering a checksum bar names it; the trace export has a slice per stage."""
    from gui.timeline import TimelineView
    from gui.tracefile import chrome_trace
    from workers.stats import Ring

    view = TimelineView()
    qtbot.addWidget(view)
    samples = Ring(64)
    view.show_run(state, samples)
    view.refresh(samples, time.perf_counter())
    items = len(state.totals)
    assert int(view.drawn.sum()) == items * len(PIPELINE_STAGES)
    lanes = set(view.lane_rows)
    assert lanes == {s.worker for s in record.timeline} and "hybrid-write" in lanes
    bars = state.bars
    b = bars.stage.index("checksum")  # item 0's checksum, hovered in the middle of its bar
    x = (float(bars.began[b] + bars.ended[b]) / 2) - state.t_start
    tip = view.tip_at(x, view.lane_rows[bars.lanes[b]])
    assert tip.startswith(f"task 0 · checksum on {bars.lanes[b]}: done"), tip
    slices = [e["name"] for e in chrome_trace([record])["traceEvents"] if e["ph"] == "X"]
    assert sorted(slices) == sorted(
        f"task {i} · {s}" for i in range(items) for s in PIPELINE_STAGES
    )


def test_hybrid_overlaps_its_stages_and_its_queues_stay_within_their_bound(
    qtbot, tmp_path, server
) -> None:
    """Downloads (20 MB/s) outrun the checksums: the queue before them fills to its
    bound and stays there (an unbounded queue would grow past it), while the next
    downloads run beside the checksums on another lane."""
    record, run, _ = job(qtbot, "hybrid", server, tmp_path, tasks=16, size="256KB", rate_mbps=20)
    assert record.ok, record.errors
    assert run.max_depth["fetched"] == BOUND, run.max_depth  # filled, never past the bound
    assert 1 <= run.max_depth["checked"] <= BOUND, run.max_depth
    spans = by_stage(record.timeline)
    downloads = [spans[i, "download"] for i in range(16)]
    checksums = [spans[i, "checksum"] for i in range(16)]
    overlapping = [
        (d.index, c.index)
        for d in downloads
        for c in checksums
        if d.index != c.index and d.start_s < c.end_s and c.start_s < d.end_s
    ]
    assert overlapping, "no download ran while a checksum did"


def test_hybrid_close_mid_run_leaves_no_process_and_no_partial_file(
    qtbot, tmp_path, server
) -> None:
    spec = parse_spec(
        {"workload": "pipeline", "backend": "hybrid", "workers": 4, "tasks": 40,
         "size": "1MB", "latency_ms": 0, "rate_mbps": 10}
    )  # fmt: skip
    tasks = workloads.make_tasks(spec, base_url=server.base_url, folder=str(tmp_path))
    run = start("hybrid", tasks, spec.workers)
    events: list[Event] = []

    def some_written_and_workers_up() -> bool:
        events.extend(run.drain())
        return any(e.kind == "done" for e in events) and len(run.worker_processes()) == 2

    qtbot.waitUntil(some_written_and_workers_up, timeout=30_000)
    pids = run.worker_processes()
    t0 = time.perf_counter()
    run.close()
    took = time.perf_counter() - t0
    events += run.drain()
    assert took < 3.0, f"close took {took:.2f} s"
    verdicts = finals(events) | run.verdicts
    assert len(verdicts) == 40
    done = {i for i, e in verdicts.items() if e.kind == "done"}
    assert done and len(done) < 40  # it was mid-run
    assert {e.kind for i, e in verdicts.items() if i not in done} == {"cancelled"}
    assert not any(psutil.pid_exists(pid) for pid in pids), pids
    assert not any(t.is_alive() for t in run.threads)
    files = sorted(os.listdir(tmp_path))  # only whole files, each an item that was done
    assert files == [f"pipeline-{i:04d}.bin" for i in sorted(done)]
    for name in files:
        assert (tmp_path / name).stat().st_size == spec.size


def test_hybrid_events_follow_the_contract_and_a_failed_download_fails_its_item_only(
    qtbot, tmp_path, server
) -> None:
    spec = parse_spec(
        {"workload": "pipeline", "backend": "hybrid", "workers": 2, "tasks": 4,
         "size": "200KB", "latency_ms": 0, "rate_mbps": 0}
    )  # fmt: skip
    tasks = workloads.make_tasks(spec, base_url=server.base_url, folder=str(tmp_path))
    tasks[2].kwargs["url"] = server.base_url.rstrip("/") + "/nothing-here"
    events = drive(qtbot, start("hybrid", tasks, spec.workers), timeout_ms=30_000)
    verdicts = finals(events)
    assert {i: e.kind for i, e in verdicts.items()} == {
        0: "done",
        1: "done",
        2: "failed",
        3: "done",
    }
    assert "404" in verdicts[2].detail or "not found" in verdicts[2].detail.lower(), verdicts[2]
    for task in range(4):
        kinds = [e.kind for e in events if e.task == task]
        assert kinds[0] == "started" and kinds[-1] == verdicts[task].kind, kinds
        assert set(kinds[1:-1]) <= {"progress", "stage"}, kinds
        stages = [e.detail for e in events if e.task == task and e.kind == "stage"]
        assert stages == (list(PIPELINE_STAGES) if task != 2 else []), stages


def test_hybrid_takes_the_pipeline_only_and_says_so_by_name() -> None:
    for workload in ("cpu-python", "download", "queue", "race"):
        with pytest.raises(SpecError) as refused:
            parse_spec({"workload": workload, "backend": "hybrid"})
        assert refused.value.field == "backend"
        assert "pipeline" in refused.value.message and workload in refused.value.message
        assert "hybrid" not in backends_for(workload)
    assert backends_for("pipeline") == BACKENDS  # every back end runs the pipeline


def test_a_hybrid_checksum_worker_killed_from_outside_fails_its_items_and_the_run_ends(
    qtbot, tmp_path, server
) -> None:
    spec = parse_spec(
        {"workload": "pipeline", "backend": "hybrid", "workers": 2, "tasks": 12,
         "size": "1MB", "latency_ms": 0, "rate_mbps": 0}
    )  # fmt: skip
    tasks = workloads.make_tasks(spec, base_url=server.base_url, folder=str(tmp_path))
    run = start("hybrid", tasks, spec.workers)
    events: list[Event] = []

    def checksumming() -> bool:
        events.extend(run.drain())
        return any(e.kind == "stage" and e.detail == "checksum" for e in events)

    qtbot.waitUntil(checksumming, timeout=30_000)
    os.kill(run.worker_processes()[0], signal.SIGKILL)
    events += drive(qtbot, run, timeout_ms=10_000)
    verdicts = finals(events)
    assert len(verdicts) == 12
    failed = [e for e in verdicts.values() if e.kind != "done"]
    assert failed and all(e.detail == "worker process died" for e in failed), failed
    done = sorted(i for i, e in verdicts.items() if e.kind == "done")
    assert sorted(os.listdir(tmp_path)) == [f"pipeline-{i:04d}.bin" for i in done]


def test_a_pipeline_run_points_to_the_pipelines_lesson_on_every_back_end() -> None:
    from gui.lessons import PIPELINE, lesson_key, load_lessons

    assert PIPELINE in {lesson.key for lesson in load_lessons()}
    assert {lesson_key("pipeline", b) for b in backends_for("pipeline")} == {PIPELINE}
