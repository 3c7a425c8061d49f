"""`unfreeze bench` as a script would run it: a real process, its table and its JSON."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys

import pytest

from gui.bench import specs_from_args
from gui.cli import parser
from gui.tracefile import TAIL_S
from workers.fields import SpecError
from workers.names import BACKENDS, WORKLOADS, takes


def bench(*args: str, cwd, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "gui", "bench", *args],
        capture_output=True, text=True, timeout=timeout, cwd=cwd,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )  # fmt: skip


def test_the_quick_bench_plans_every_workload_on_every_back_end() -> None:
    args = parser().parse_args(["bench", "--quick"])
    pairs = [(s.workload, s.backend) for s in specs_from_args(args)]
    assert sorted(pairs) == sorted((w, b) for w in WORKLOADS for b in BACKENDS if takes(b, w))


def test_transfer_runs_cpu_work_on_processes_once_per_transfer_and_names_its_field() -> None:
    args = parser().parse_args(
        ["bench", "--workloads", "cpu-python,download", "--backends", "threading,multiprocessing",
         "--transfer", "pickle,shared-memory"]
    )  # fmt: skip
    planned = [(s.workload, s.backend, s.transfer) for s in specs_from_args(args)]
    assert planned == [
        ("cpu-python", "threading", "pickle"),
        ("cpu-python", "multiprocessing", "pickle"),
        ("cpu-python", "multiprocessing", "shared-memory"),
        ("download", "threading", "pickle"),
        ("download", "multiprocessing", "pickle"),
    ]
    for backends, words in (("threading", "applies to CPU work"), ("multiprocessing", "'mmap'")):
        args = parser().parse_args(
            ["bench", "--workloads", "cpu-native", "--backends", backends,
             "--transfer", "shared-memory" if words.startswith("applies") else "mmap"]
        )  # fmt: skip
        with pytest.raises(SpecError, match=words) as error:
            specs_from_args(args)
        assert error.value.field == "transfer"


#: The quick bench run in full costs ~25 s here; these two back ends show what it is
#: for (the freeze, and the way out of it); the plan above covers every pair.
QUICK_BACKENDS = ("gui-thread", "multiprocessing")
#: The kinds of work the run checks end to end: I/O, pure-Python CPU work and the queue's
#: own record fields (the plan test above covers every pair; disk-write, cpu-native and
#: the pipeline have tests of their own, and cost ~9 s more here).
QUICK_WORKLOADS = ("download", "cpu-python", "queue")


def test_quick_bench_writes_a_record_per_combination(tmp_path) -> None:
    out = tmp_path / "bench.json"
    backends = ",".join(QUICK_BACKENDS)
    proc = bench(
        "--quick", "--repeat", "1", "--backends", backends, "--json", str(out),
        "--workloads", ",".join(QUICK_WORKLOADS), cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    data = json.loads(out.read_text())
    records = data["records"]
    pairs = [(r["workload"], r["backend"]) for r in records]
    assert sorted(pairs) == sorted(
        (w, b) for w in QUICK_WORKLOADS for b in QUICK_BACKENDS
    )  # no warm-up
    for r in records:
        assert r["ok"] is True and r["done"] == r["task_count"] == len(r["tasks"]) > 0, r
        queue = r["workload"] == "queue"
        per_task = r["items"] * r["size"] if queue else r["task_count"] * r["size"]
        assert r["units"] == per_task, r  # every byte of every task (every item), verified
        assert r["wall_s"] >= r["work_s"] > 0 and r["startup_s"] >= 0
        assert abs(r["throughput"] - r["units"] / r["work_s"] / 1e6) <= 0.01 * r["throughput"]
        assert r["lag_ms"]["p50"] <= r["lag_ms"]["p99"] <= r["lag_ms"]["max"]
        assert r["lag_ms"]["samples"] >= 10, r  # the probe ticked during the run
    lag = {(r["workload"], r["backend"]): r["lag_ms"] for r in records}
    for (
        workload
    ) in QUICK_WORKLOADS:  # the lesson the bench exists for: work on the GUI thread freezes
        assert lag[workload, "gui-thread"]["max"] >= 100, lag[workload, "gui-thread"]
        assert lag[workload, "multiprocessing"]["p99"] < lag[workload, "gui-thread"]["p99"]
    medians = {(m["workload"], m["backend"]): m for m in data["medians"]}
    assert set(medians) == set(pairs)
    assert all(medians[w, "gui-thread"]["vs_serial"] == 1.0 for w in QUICK_WORKLOADS)
    assert 0 < data["probe_cost_us"] < 1000  # well under 10% of a 10 ms tick
    table = [line for line in proc.stdout.splitlines() if line.startswith(tuple(QUICK_WORKLOADS))]
    assert len(table) == 2 * len(pairs)  # the runs, then their medians
    queue = [r for r in records if r["workload"] == "queue"]
    assert all(r["max_depth"] <= r["depth"] and r["server_peak_connections"] is None for r in queue)
    assert all(r["producer_blocked_s"] > 0 for r in queue if r["task_count"] > 1), queue


def test_repeat_reports_the_median_of_the_repeats(tmp_path) -> None:
    out, trace = tmp_path / "bench.json", tmp_path / "trace.json"
    proc = bench(
        "--workloads", "cpu-native", "--backends", "gui-thread,threading", "--repeat", "3",
        "--tasks", "2", "--size", "64MB", "--json", str(out), "--trace", str(trace), cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads(out.read_text())
    assert data["repeat"] == 3
    runs = data["records"]
    assert sorted((r["backend"], r["repeat"]) for r in runs) == sorted(
        (b, i) for b in ("gui-thread", "threading") for i in range(3)
    )
    for m in data["medians"]:
        mine = [r["throughput"] for r in runs if r["backend"] == m["backend"]]
        assert m["runs"] == 3 and m["throughput"] == round(statistics.median(mine), 3)
    serial, threads = (
        next(m for m in data["medians"] if m["backend"] == b) for b in ("gui-thread", "threading")
    )
    assert threads["vs_serial"] == round(threads["throughput"] / serial["throughput"], 3)
    check_trace(json.loads(trace.read_text()), runs)


def check_trace(trace: dict, runs: list[dict]) -> None:
    """The Chrome trace against the records: one process per run, named after it, a
    lane per worker, a slice per task at its time, the lag counter inside each run."""
    events = trace["traceEvents"]
    origin = min(r["started_at"] for r in runs)
    for pid, r in enumerate(runs, start=1):
        mine = [e for e in events if e.get("pid") == pid]
        names = [e["args"]["name"] for e in mine if e["name"] == "process_name"]
        assert names == [f"run {pid}: {r['workload']} · {r['backend']}"]
        lanes = {e["tid"]: e["args"]["name"] for e in mine if e["name"] == "thread_name"}
        assert set(lanes.values()) == {t["worker"] for t in r["tasks"]}
        slices = sorted((e for e in mine if e["ph"] == "X"), key=lambda e: e["args"]["index"])
        assert len(slices) == len(r["tasks"]) == r["task_count"]
        for e, t in zip(slices, r["tasks"], strict=True):
            assert lanes[e["tid"]] == t["worker"] and e["args"]["cpu_s"] == t["cpu_s"]
            assert abs(e["ts"] - (r["started_at"] - origin + t["start_s"]) * 1e6) <= 1
            assert abs(e["dur"] - (t["end_s"] - t["start_s"]) * 1e6) <= 1
        lag = [e for e in mine if e["ph"] == "C"]
        assert lag  # the probe's samples during the run (just after it, when it froze)
        start = (r["started_at"] - origin) * 1e6
        assert all(start <= e["ts"] <= start + (r["wall_s"] + TAIL_S) * 1e6 + 1 for e in lag)


def test_bad_bench_input_is_named_and_nothing_runs(tmp_path) -> None:
    for args, field, words in (
        (("--size", "12XB"), "size", "12XB"),
        (("--repeat", "0"), "--repeat", "0"),
        (("--workloads", "download", "--limit", "-1"), "limit", "between 0"),
    ):
        proc = bench(*args, cwd=tmp_path, timeout=60)
        assert proc.returncode == 2, proc.stderr
        assert field in proc.stderr and words in proc.stderr
        assert "workload" not in proc.stdout  # no table: nothing started


def test_ui_report_measures_the_window_itself(qtbot) -> None:
    from gui.uicost import ui_report

    report = ui_report(seconds=0.5)
    assert report["idle_lag_p50_ms"] <= report["idle_lag_p99_ms"] < 50  # an idle window is smooth
    assert report["idle_cpu_percent_of_one_core"] < 50  # 10 ms clock ticks: 0.5 s idle may read 0
    assert 0 < report["frame_ms_5x20k_median"] <= report["frame_ms_5x20k_max"]
    # The plugin's probe is measured beside the window's (its 1 % target is the bench's):
    # it ticked every 20 ms of the 0.5 s, and its cost is a share of one core.
    assert 15 <= report["lag_watch_ticks"] <= 28  # 25, a first and a closing tick, a late timer
    assert 0 <= report["lag_watch_cpu_percent_of_one_core"] < 100
    assert 0 < report["timeline_frame_ms_8x2000_median"] <= report["timeline_frame_ms_8x2000_max"]
