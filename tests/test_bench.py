"""`unfreeze bench --quick --json` runs every combination and writes valid records."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from workers.spec import BACKENDS, WORKLOADS


def test_quick_bench_writes_a_record_per_combination(tmp_path) -> None:
    out = tmp_path / "bench.json"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run(
        [sys.executable, "-m", "gui", "bench", "--quick", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    data = json.loads(out.read_text())
    records = data["records"]
    assert {(r["workload"], r["backend"]) for r in records} == {
        (w, b) for w in WORKLOADS for b in BACKENDS
    }
    for r in records:
        assert r["ok"] is True, r
        assert r["done"] == r["tasks"] > 0
        assert r["throughput"] > 0 and r["unit"] == "MB/s"
        assert r["wall_s"] >= r["work_s"] > 0
        lag = r["lag_ms"]
        assert 0 <= lag["p50"] <= lag["p95"] <= lag["p99"] <= lag["max"]
        assert lag["samples"] > 0
    assert data["probe_cost_us"] > 0
    # The table on stdout has one line per record.
    assert sum(line.startswith(tuple(WORKLOADS)) for line in proc.stdout.splitlines()) == 24


def test_bad_bench_input_is_named_and_nothing_runs() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "gui", "bench", "--size", "12XB"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert proc.returncode == 2
    assert "size" in proc.stderr and "12XB" in proc.stderr
    assert "workload" not in proc.stdout  # no table: nothing started


def test_ui_report_measures_the_window_itself(qtbot) -> None:
    from gui.bench import ui_report

    report = ui_report(seconds=0.5)
    assert report["idle_lag_p50_ms"] >= 0 and report["idle_lag_p99_ms"] >= report["idle_lag_p50_ms"]
    assert 0 <= report["idle_cpu_percent_of_one_core"] < 100
    assert 0 < report["frame_ms_5x20k_median"] <= report["frame_ms_5x20k_max"]
