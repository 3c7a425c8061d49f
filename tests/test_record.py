"""A run's record: the switch interval over the run, and the lag split at its changes."""

from __future__ import annotations

import csv
import json
import sys

import pytest

from gui.export import to_csv, to_json
from workers.record import RunRecord, RunState
from workers.spec import RunSpec
from workers.stats import LagStats, Ring


@pytest.fixture
def five_ms():
    sys.setswitchinterval(0.005)
    yield
    sys.setswitchinterval(0.005)


def state_at(t_start: float) -> RunState:
    return RunState(RunSpec("cpu-python", "threading", 2, 2, 1000), [1000, 1000], t_start)


def test_the_record_keeps_every_interval_with_its_time_and_splits_the_lag_there(five_ms) -> None:
    t0 = 100.0
    state = state_at(t0)
    state.switch_interval(t0 + 3.0, 1.0)
    state.switch_interval(t0 + 3.5, 1.0)  # the same value again: no change
    state.switch_interval(t0 + 6.0, 2.5)
    samples = Ring(1 << 10)
    samples.append(t0 - 0.5, 999.0)  # before the run: not its lag
    for i in range(1, 801):  # 10 ms apart: 5 ms lag, then 1 ms, then 2.5 ms
        t = t0 + i * 0.01
        samples.append(t, 5.0 if t <= t0 + 3.0 else 1.0 if t <= t0 + 6.0 else 2.5)
    t1 = t0 + 8.0
    lag = LagStats.of(samples.between(t0, t1))
    record = RunRecord.of(state, 2, lag, samples, t1)

    assert record.switch_interval_ms == 5.0  # at the start
    assert record.switch_intervals == ((0.0, 5.0), (3.0, 1.0), (6.0, 2.5))
    assert record.intervals_ms == (5.0, 1.0, 2.5)
    stretches = [
        (s["ms"], s["from_s"], s["to_s"], s["p50"], s["samples"]) for s in record.lag_by_switch
    ]
    assert stretches == [
        (5.0, 0.0, 3.0, 5.0, 300),
        (1.0, 3.0, 6.0, 1.0, 300),
        (2.5, 6.0, 8.0, 2.5, 200),
    ]
    # The stretches cover the run's lag window, each sample once.
    assert sum(s["samples"] for s in record.lag_by_switch) == record.lag_ms["samples"] == 800


def test_a_change_before_the_run_started_counts_from_its_start(five_ms) -> None:
    state = state_at(50.0)
    state.t_start = 50.2  # the back end's own start, as the controller sets it
    samples = Ring(64)
    for i in range(1, 11):
        samples.append(50.2 + i * 0.01, 3.0)
    record = RunRecord.of(state, 2, LagStats.of(samples.between(50.2)), samples, 50.4)
    assert record.switch_intervals == ((0.0, 5.0),)
    assert record.lag_by_switch == (
        {"ms": 5.0, "from_s": 0.0, "to_s": 0.2, "p50": 3.0, "p99": 3.0, "samples": 10},
    )


def test_exports_carry_the_intervals_and_the_split(five_ms) -> None:
    state = state_at(0.0)
    state.switch_interval(1.0, 1.0)
    samples = Ring(64)
    for i in range(1, 21):
        samples.append(i * 0.1, 4.0 if i <= 10 else 1.5)
    record = RunRecord.of(state, 2, LagStats.of(samples.between(0.0)), samples, 2.0)
    data = json.loads(to_json([record]))[0]
    assert data["switch_intervals"] == [[0.0, 5.0], [1.0, 1.0]]
    assert [s["p50"] for s in data["lag_by_switch"]] == [4.0, 1.5]
    header, row = to_csv([record]).splitlines()
    cells = dict(zip(header.split(","), next(csv.reader([row])), strict=True))
    assert json.loads(cells["switch_intervals"]) == [[0.0, 5.0], [1.0, 1.0]]
    assert [s["ms"] for s in json.loads(cells["lag_by_switch"])] == [5.0, 1.0]
