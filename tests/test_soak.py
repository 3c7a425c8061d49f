"""Soak: every workload on every back end, 50 times over, in one process.

A learner leaves the window open all afternoon, clicking Run again and
again: no run may fail, nothing may crash, and memory must not creep.
Run with ``pytest -m soak -s`` (excluded by default; a few minutes);
``UNFREEZE_SOAK_ROUNDS=3`` for a quick look.
"""

from __future__ import annotations

import faulthandler
import gc
import importlib.util
import os
import sys
import time

import psutil
import pytest

from gui.controller import RunController
from workers.names import backends_for
from workers.record import RunRecord
from workers.spec import RunSpec

ROUNDS = int(os.environ.get("UNFREEZE_SOAK_ROUNDS", "50"))
RSS_GROWTH_LIMIT = 20 << 20

#: Small sizes: the point is the number of runs, not their length.
SIZES = {
    "cpu-python": 200_000,
    "cpu-native": 4_000_000,
    "disk-write": 1_000_000,
    "download": 1_000_000,
}


def matrix() -> list[RunSpec]:
    workloads = ["cpu-python", "cpu-native", "disk-write"]
    if importlib.util.find_spec("workers.workloads.download") and importlib.util.find_spec(
        "workers.server"
    ):
        workloads.append("download")
    return [
        RunSpec(workload, backend, 2, 4, SIZES[workload])
        for workload in workloads
        for backend in backends_for(workload)
    ]


def rss() -> int:
    gc.collect()
    return psutil.Process().memory_info().rss


@pytest.mark.soak
@pytest.mark.timeout(3600)
def test_the_whole_matrix_fifty_times_over(qtbot) -> None:
    faulthandler.dump_traceback_later(3600, file=sys.__stderr__)  # not at the suite's 120 s
    specs = matrix()
    controller = RunController()
    errors: list[str] = []
    controller.error.connect(errors.append)

    def one_round() -> list[RunRecord]:
        before = len(controller.records)
        for spec in specs:
            controller.submit(spec)
        qtbot.waitUntil(lambda: len(controller.records) == before + len(specs), timeout=300_000)
        return controller.records[before:]

    try:
        started = time.perf_counter()
        one_round()  # warm-up: imports, caches, the local server, the first pools
        rss_start = rss()
        for _ in range(ROUNDS):
            records = one_round()
            assert not errors, errors
            bad = [r for r in records if not r.ok]
            assert not bad, bad[0]
        rss_end = rss()
    finally:
        controller.shutdown()
    took = time.perf_counter() - started
    runs = (ROUNDS + 1) * len(specs)
    print(
        f"\nsoak: {runs} runs ({len(specs)} combinations x {ROUNDS + 1}) in {took:.0f} s; "
        f"RSS {rss_start / 2**20:.1f} MB after warm-up, {rss_end / 2**20:.1f} MB at the end "
        f"({(rss_end - rss_start) / 2**20:+.1f} MB)"
    )
    assert rss_end - rss_start < RSS_GROWTH_LIMIT
