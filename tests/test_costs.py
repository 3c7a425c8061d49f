"""What a run cost, measured: bytes across the process boundary, shared memory, the Costs tab.

Real runs through the app's own RunController (or the window): threads send
nothing across, processes pickle every task's input unless it sits in shared
memory, and no shared-memory segment outlives its run, cancelled or not.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from gui.controller import RunController, for_backend
from workers import content
from workers.core import Outcome
from workers.fields import SpecError, format_bytes
from workers.inputs import INPUT_MAX, SEGMENT_PREFIX, Carried, Input, Placement
from workers.names import BACKENDS
from workers.record import RunRecord
from workers.spec import parse_spec
from workers.workloads import cpu

MB = 1_000_000


def segments() -> set[str]:
    """This process's shared-memory segments in /dev/shm (its neighbours' are theirs)."""
    return {p.name for p in Path("/dev/shm").glob(f"{SEGMENT_PREFIX}{os.getpid()}-*")}


def run_all(qtbot, *raws: dict[str, object]) -> list[RunRecord]:
    controller = RunController()
    records = []
    try:
        for raw in raws:
            with qtbot.waitSignal(controller.run_finished, timeout=60_000) as finished:
                controller.submit(parse_spec(raw))
            records.append(finished.args[0])
    finally:
        controller.shutdown()
    return records


def test_the_input_gives_the_same_result_pickled_placed_or_where_it_is() -> None:
    """Same bytes, same chunks, same checksum, whichever way the input travels; a job
    longer than the 16 MiB input walks through it again, as the content repeats."""
    seed, size = content.seed_for("cpu-0"), 2 * content.BLOCK + 12_345
    where = Input(seed, size)
    pickled = where.materialize()
    assert pickled == b"".join(content.chunks(seed, size))
    tasks = cpu.make_tasks(cpu.cpu_native, parse_spec(
        {"workload": "cpu-native", "backend": "multiprocessing", "tasks": 1, "size": size,
         "transfer": "shared-memory"}
    ))  # fmt: skip
    placement = Placement(tasks)
    try:
        placed = placement.tasks[0].kwargs["data"]
        results = {
            cpu.cpu_native(lambda n: None, _never, size=size, seed=seed, data=data)
            for data in (where, Carried(pickled), placed)
        }
        assert len(results) == 1 and next(iter(results)).units == size
        long = {
            cpu.cpu_native(lambda n: None, _never, size=40 * MB, seed=seed, data=data)
            for data in (Input(seed, INPUT_MAX), Carried(Input(seed, INPUT_MAX).materialize()))
        }
        assert long == {Outcome(40 * MB, next(iter(long)).check)}
        assert segments() == {placement.memory.name}  # type: ignore[union-attr]
    finally:
        placement.release()
    assert segments() == set()


class _Never:
    def is_set(self) -> bool:
        return False


_never = _Never()


def test_transfer_applies_to_cpu_work_on_multiprocessing_only() -> None:
    for workload, backend in (("cpu-python", "threading"), ("download", "multiprocessing")):
        raw = {"workload": workload, "backend": backend, "transfer": "shared-memory"}
        with pytest.raises(SpecError, match="shared-memory applies to CPU work on multiproc") as e:
            parse_spec(raw)
        assert e.value.field == "transfer"
    with pytest.raises(SpecError, match="'mmap' is not one of pickle, shared-memory"):
        parse_spec({"workload": "cpu-native", "backend": "multiprocessing", "transfer": "mmap"})
    # Compare all runs the job on every back end: shared memory stays multiprocessing's.
    spec = parse_spec({"workload": "cpu-native", "backend": "multiprocessing",
                       "transfer": "shared-memory"})  # fmt: skip
    assert {b: for_backend(spec, b).transfer for b in BACKENDS} == {
        b: "shared-memory" if b == "multiprocessing" else "pickle" for b in BACKENDS
    }


def test_bytes_across_threads_none_processes_the_input_unless_in_shared_memory(qtbot) -> None:
    """threading: 0 bytes, counted as such. multiprocessing: each task's 3 MB input
    pickled with it, plus the rest of the task; in shared memory, a name instead."""
    job = {"workload": "cpu-python", "workers": 2, "tasks": 2, "size": "3MB"}
    before = segments()
    threads, pickled, placed = run_all(
        qtbot,
        job | {"backend": "threading"},
        job | {"backend": "multiprocessing", "transfer": "pickle"},
        job | {"backend": "multiprocessing", "transfer": "shared-memory"},
    )
    assert all(r.ok for r in (threads, pickled, placed))
    assert (threads.bytes_sent, threads.bytes_received) == (0, 0)
    assert threads.context_switches is not None and threads.context_switches >= 0
    payload = 2 * 3 * MB  # the inputs alone
    assert payload < pickled.bytes_sent < payload + 4_000  # type: ignore[operator]
    assert 0 < placed.bytes_sent < 2_000  # type: ignore[operator]
    for r in (pickled, placed):
        assert r.bytes_received and r.bytes_received > 2 * 200  # 2 tasks' events, results
        assert len(r.worker_rss_mb) == 2 and min(r.worker_rss_mb) > 10, r.worker_rss_mb
        assert r.context_switches is not None
    assert (pickled.transfer, placed.transfer) == ("pickle", "shared-memory")
    assert segments() == before  # unlinked at the run's close


def test_a_cancelled_or_abandoned_run_leaves_no_shared_memory(qtbot) -> None:
    """Cancelled once its segment exists; then the window closing on a run (shutdown)."""
    spec = parse_spec(
        {"workload": "cpu-python", "backend": "multiprocessing", "workers": 2, "tasks": 4,
         "size": "64MB", "transfer": "shared-memory"}
    )  # fmt: skip
    before = segments()
    controller = RunController()
    try:
        with qtbot.waitSignal(controller.run_finished, timeout=30_000) as finished:
            controller.submit(spec)
            qtbot.waitUntil(lambda: len(segments() - before) == 1, timeout=20_000)
            controller.cancel()
        assert finished.args[0].outcome == "cancelled"
        assert segments() == before
        controller.submit(spec)
        qtbot.waitUntil(lambda: len(segments() - before) == 1, timeout=20_000)
    finally:
        controller.shutdown()
    assert segments() == before


# -- the Costs tab: every cell is the record's ----------------------------------------
def cost_violations(cells: dict[str, str], r: RunRecord) -> list[str]:
    """What a row of the Costs tab says that its record does not."""
    out = []

    def number(text: str) -> float:
        return float(text.replace(",", "").split()[0])

    def mb(name: str, value: float | None) -> None:
        if (cells[name] == "—") != (value is None) or (
            value is not None and abs(number(cells[name]) - value) > 0.051
        ):
            out.append(f"{name}: {cells[name]!r} for {value}")

    def size(name: str, value: int | None) -> None:
        if value is None:  # not counted (dask): a dash, never a number
            if cells[name] != "—":
                out.append(f"{name}: {cells[name]!r} for None bytes")
            return
        if cells[name] != format_bytes(value):
            out.append(f"{name}: {cells[name]!r} for {value} bytes")
            return
        scale = {"B": 1, "KB": 1e3, "MB": 1e6, "GB": 1e9}[cells[name].split()[1]]
        if abs(number(cells[name]) * scale - value) > 0.051 * scale:
            out.append(f"{name}: {cells[name]!r} is not {value} bytes")

    if not cells["run"].startswith(f"{r.workload} · {r.backend}") or (
        (r.transfer in cells["run"]) != (r.transfer != "pickle")
    ):
        out.append(f"run: {cells['run']!r}")
    if abs(number(cells["start s"]) - r.startup_s) > 0.0006:
        out.append(f"start s: {cells['start s']!r} for {r.startup_s}")
    mb("app MB", r.peak_rss_mb)
    mb("total MB", r.total_rss_mb)
    peaks = [float(x) for x in re.findall(r"[\d,]+\.\d", cells["per worker MB"].replace(",", ""))]
    if r.worker_rss_mb and len(r.worker_rss_mb) <= 4:
        if peaks != list(r.worker_rss_mb):
            out.append(f"per worker: {cells['per worker MB']!r} for {r.worker_rss_mb}")
    elif r.worker_rss_mb:
        if peaks != [min(r.worker_rss_mb), max(r.worker_rss_mb)] or not cells[
            "per worker MB"
        ].endswith(f"× {len(r.worker_rss_mb)}"):
            out.append(f"per worker: {cells['per worker MB']!r} for {r.worker_rss_mb}")
    elif cells["per worker MB"] != "—":
        out.append(f"per worker: {cells['per worker MB']!r} without worker processes")
    if cells["threads"] != ("—" if r.peak_threads is None else str(r.peak_threads)):
        out.append(f"threads: {cells['threads']!r} for {r.peak_threads}")
    size("sent", r.bytes_sent)
    size("received", r.bytes_received)
    switches = r.context_switches
    if cells["ctx switches"] != ("—" if switches is None else f"{switches:,}"):
        out.append(f"ctx switches: {cells['ctx switches']!r} for {switches}")
    return out


def test_the_costs_tab_shows_each_runs_record(qtbot, window) -> None:
    """Transfer is offered for CPU work on multiprocessing only; the run's costs row
    says what its record measured, bytes included."""
    from gui.costs import COLUMNS
    from tests.test_window import finish, job

    form = window.form
    assert window.costs_dock.toggleViewAction() in window.view_menu.actions()
    job(window, "download", "multiprocessing")
    assert not form.transfer.isVisibleTo(window)
    job(window, "cpu-python", "threading")
    assert not form.transfer.isVisibleTo(window)
    job(window, "cpu-python", "multiprocessing", workers=2, tasks=2, size="2MB")
    assert form.transfer.isVisibleTo(window) and form.transfer.toolTip()
    form.transfer.setCurrentText("shared-memory")
    record = finish(qtbot, window, window.start_button)
    assert record.ok and record.transfer == "shared-memory"
    assert window.costs.records == [record]
    shown = {c.name: window.costs.cell_text(0, c.name) for c in COLUMNS}
    assert not cost_violations(shown, record), (shown, record)
    assert shown["sent"] == format_bytes(record.bytes_sent or -1) != "0 B"
