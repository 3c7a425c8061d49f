"""The hazards lab: each hazard happens unguarded, each guard fixes it, measured from real runs.

The runs (tests/hazardruns.py) go through the window's own controller on the
real back ends; lost updates are the final balance read from the shared
memory, the deadlock is the cycle the workers' wait-for graph showed.
"""

from __future__ import annotations

import argparse

import pytest

from gui.bench import guards_for, specs_from_args
from gui.cli import parser
from tests.hazardruns import THREADS
from workers.spec import SpecError, parse_spec

CAN_RACE = (*THREADS, "multiprocessing", "asyncio")
CAN_DEADLOCK = (*THREADS, "multiprocessing")


def test_unguarded_race_loses_updates_on_every_backend_that_can_show_it(hazard_runs) -> None:
    for backend in CAN_RACE:
        r = hazard_runs["race", backend, "none"]
        assert r.outcome == "done", (backend, r.errors)
        assert r.expected == 2 * r.size, backend  # every deposit was applied...
        assert r.lost is not None and r.lost > 0, (backend, r.expected, r.actual)  # ...not all kept
        assert r.actual == r.expected - r.lost
    serial = hazard_runs["race", "gui-thread", "none"]  # one thread: the baseline loses nothing
    assert (serial.lost, serial.actual) == (0, serial.expected) and serial.expected > 0


def test_the_lock_fixes_the_race_on_every_backend(hazard_runs) -> None:
    for backend in CAN_RACE:
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
    for backend in ("threading", "multiprocessing"):
        r = hazard_runs["deadlock", backend, "ordered"]
        assert (r.outcome, r.done, r.deadlock) == ("done", 2, ""), (backend, r.errors)
        assert r.units == 2 * r.size


def test_one_thread_at_a_time_cannot_deadlock(hazard_runs) -> None:
    """gui-thread and asyncio run each task to its end before the next: no one ever waits."""
    for backend in ("gui-thread", "asyncio"):
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
        ["bench", "--workloads", "race,deadlock", "--backends", "threading", "--guard", "lock,ordered"]
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
