"""One small real run of every hazards-lab pair, through the window's own RunController.

Shared by tests/test_hazards.py (the hazards happen, the guards fix them) and
tests/test_readback.py (every sentence about them is true), so each pair runs
once per session (``hazard_runs`` in conftest.py).

Sizes: 2 workers everywhere. The races are ~30-100 ms of work, so the switch
interval is lowered to 0.1 ms while they run (and put back after): at the
default 5 ms two threads may trade the GIL only once or twice in so short a
run, and the race would show only sometimes. Unordered deadlocks get 2M
rounds: they never finish, the cycle ends them within ~0.3 s.
"""

from __future__ import annotations

import sys
import time

from PySide6.QtCore import QEventLoop, QObject, QTimer, Slot

from workers.names import PITFALLS
from workers.record import RunRecord
from workers.spec import RunSpec, parse_spec

THREADS = ("qthread", "threading", "thread-pool", "qthread-pool")
#: Deposits per worker: unguarded, threads get 300 000 (~30-60 ms of racing: hundreds of
#: switches even when other programs hold the cores); with the lock 50 000 (~5x slower).
RACE_K = {"gui-thread": 20_000, "gui-thread-process-events": 20_000, "asyncio": 2_000}
SWITCH_S = 0.0001


def plan() -> list[RunSpec]:
    out = []

    def add(workload: str, backend: str, guard: str, k: int) -> None:
        raw = {"workload": workload, "backend": backend, "workers": 2, "size": k, "guard": guard}
        out.append(parse_spec(raw))

    for backend in ("gui-thread", *THREADS, "multiprocessing", "asyncio", *PITFALLS):
        add("race", backend, "none", RACE_K.get(backend, 300_000))
        if backend in ("threading", "multiprocessing", "asyncio"):  # each kind of lock once
            add("race", backend, "lock", RACE_K.get(backend, 50_000))
    for backend in (*THREADS, "multiprocessing", "qthread-signal-per-item"):
        add("deadlock", backend, "none", 2_000_000)
    for backend in ("gui-thread", "asyncio", "gui-thread-process-events"):
        add("deadlock", backend, "none", 2_000)
    add("deadlock", "threading", "ordered", 20_000)
    return out


class _Collect(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[RunRecord] = []
        self.errors: list[str] = []

    @Slot(object)
    def finished(self, record: RunRecord) -> None:
        self.records.append(record)

    @Slot(str)
    def failed(self, message: str) -> None:
        self.errors.append(message)


def measure(timeout_s: float = 60.0) -> dict[tuple[str, str, str], RunRecord]:
    """Every planned run, in order; keyed by (workload, back end, guard)."""
    from gui.controller import RunController

    specs = plan()
    controller = RunController()
    collect = _Collect()
    controller.run_finished.connect(collect.finished)
    controller.error.connect(collect.failed)
    before = sys.getswitchinterval()
    sys.setswitchinterval(SWITCH_S)
    try:
        for spec in specs:
            controller.submit(spec)
        deadline = time.monotonic() + timeout_s
        while len(collect.records) + len(collect.errors) < len(specs):
            assert time.monotonic() < deadline, f"runs left: {specs[len(collect.records) :]}"
            loop = QEventLoop()  # waits for events (no busy loop beside the workers)
            QTimer.singleShot(20, loop.quit)
            loop.exec()
    finally:
        sys.setswitchinterval(before)
        controller.shutdown()
        controller.deleteLater()
    assert not collect.errors, collect.errors
    return {(r.workload, r.backend, r.guard): r for r in collect.records}
