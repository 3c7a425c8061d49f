"""A run's accounting: what its events add up to, and the record it leaves."""

from __future__ import annotations

import platform
import sys
from dataclasses import asdict, dataclass, field

from workers.core import Event
from workers.spec import RunSpec
from workers.stats import LagStats, Ring


@dataclass(slots=True)
class RunState:
    """Folds a run's events into per-task progress and counts (GUI thread only)."""

    spec: RunSpec
    totals: list[int]
    t_start: float
    done_units: list[int] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)  # per task: queued/started/done/...
    worker: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)
    t_first: float | None = None
    t_end: float | None = None
    units_over_time: Ring = field(default_factory=lambda: Ring(1 << 14))

    def __post_init__(self) -> None:
        n = len(self.totals)
        self.done_units = [0] * n
        self.statuses = ["queued"] * n
        self.worker = [""] * n
        self.checks = [""] * n

    def apply(self, events: list[Event], now: float) -> None:
        for e in events:
            i = e.task
            if e.kind == "started":
                self.statuses[i] = "started"
                self.worker[i] = e.worker
                if self.t_first is None:
                    self.t_first = e.t
            else:
                self.done_units[i] = max(self.done_units[i], e.value)
                if e.final:
                    self.statuses[i] = e.kind
                    if e.kind == "failed":
                        self.errors.append(f"task {i}: {e.detail}")
                    elif e.kind == "done":
                        self.checks[i] = e.detail
                    self.t_end = e.t if self.t_end is None else max(self.t_end, e.t)
        if events:
            self.units_over_time.append(now, self.units)

    @property
    def units(self) -> int:
        return sum(self.done_units)

    @property
    def total_units(self) -> int:
        return sum(self.totals)

    def count(self, kind: str) -> int:
        return self.statuses.count(kind)

    @property
    def finished(self) -> bool:
        return all(s in ("done", "failed", "cancelled") for s in self.statuses)


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One finished run, as the results table, the bench and the JSON show it."""

    workload: str
    backend: str
    workers: int
    tasks: int
    size: int
    ok: bool  # verified: every task done and its result checked ("verified" in the window)
    done: int
    failed: int
    cancelled: int
    wall_s: float  # start to last task's end
    startup_s: float  # start to first task start (pool start-up)
    work_s: float  # first task start to last task's end
    units: int
    throughput: float  # MB/s of work time
    unit: str
    lag_ms: dict[str, float]
    errors: tuple[str, ...] = ()
    python: str = field(
        default_factory=lambda: f"{platform.python_implementation()} {platform.python_version()}"
    )
    switch_interval_ms: float = field(default_factory=lambda: sys.getswitchinterval() * 1000)
    #: How the run ended, apart from whether it verified: "done" (every task done),
    #: "failed" (a task failed, or never said how it ended) or "cancelled". Derived
    #: from the counts, so a record cannot say "done" with tasks missing.
    outcome: str = field(init=False)

    def __post_init__(self) -> None:
        if self.done == self.tasks:
            outcome = "done"
        elif self.failed or self.done + self.cancelled < self.tasks:
            outcome = "failed"
        else:
            outcome = "cancelled"
        object.__setattr__(self, "outcome", outcome)  # frozen: set once, here

    @property
    def partial(self) -> bool:
        """Its throughput covers only the part that ran (not every task done)."""
        return self.outcome != "done"

    @classmethod
    def of(cls, state: RunState, workers: int, lag: LagStats) -> RunRecord:
        end = state.t_end if state.t_end is not None else state.t_start
        first = state.t_first if state.t_first is not None else end
        work_s = max(end - first, 1e-9)
        done = state.count("done")
        return cls(
            workload=state.spec.workload,
            backend=state.spec.backend,
            workers=workers,
            tasks=len(state.totals),
            size=state.spec.size,
            ok=done == len(state.totals),
            done=done,
            failed=state.count("failed"),
            cancelled=state.count("cancelled"),
            wall_s=round(end - state.t_start, 4),
            startup_s=round(first - state.t_start, 4),
            work_s=round(work_s, 4),
            units=state.units,
            throughput=round(state.units / work_s / 1e6, 3),
            unit="MB/s",
            lag_ms=lag.as_dict(),
            errors=tuple(state.errors[:20]),
        )

    def as_dict(self) -> dict:
        return asdict(self)
