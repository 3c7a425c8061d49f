"""A run's accounting: what its events add up to, and the record it leaves."""

from __future__ import annotations

import math
import platform
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from workers import limits
from workers.bars import Bars, TaskSpan, lane_of, spans
from workers.core import Event
from workers.names import PIPELINE_STAGES, STAGES_APART, throughput_unit
from workers.pythons import gil_enabled
from workers.spec import RunSpec
from workers.stats import LagStats, Ring


def current_switch_ms() -> float:
    """``sys.getswitchinterval()`` in ms (Python keeps it in whole microseconds)."""
    return round(sys.getswitchinterval() * 1000, 3)


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
    #: ``(perf_counter time, ms)``: the switch interval when the state was made, then
    #: each change during the run (the window reports them as the learner makes them).
    switch_intervals: list[tuple[float, float]] = field(default_factory=list)
    #: The hazards lab: what the run's shared state reads now (``readout()`` of
    #: ``workers.shared``), refreshed each frame while it runs, then once at its end.
    hazard: dict[str, Any] = field(default_factory=dict)
    #: Per task: the numbers it measured and returned with its result (``Outcome.facts``).
    facts: list[dict[str, float]] = field(default_factory=list)
    #: queue: the depth of the run's queue, sampled once per frame while it runs.
    depth_over_time: Ring = field(default_factory=lambda: Ring(1 << 12))
    #: perf_counter time the GUI thread applied the run's last event (set by the controller).
    t_applied: float | None = None
    #: The timeline, per task: its worker's lane name (:func:`lane_of`), and the
    #: perf_counter times it started and ended and its worker's CPU seconds (NaN: not yet).
    lanes: list[str] = field(default_factory=list)
    began: np.ndarray = field(default_factory=lambda: np.zeros(0))
    ended: np.ndarray = field(default_factory=lambda: np.zeros(0))
    cpu_s: np.ndarray = field(default_factory=lambda: np.zeros(0))
    switches: np.ndarray = field(default_factory=lambda: np.zeros(0))  # NaN: not measured
    #: What the timeline draws: the tasks (the arrays above, shared), or their stages.
    bars: Bars = field(init=False)

    def __post_init__(self) -> None:
        n = len(self.totals)
        self.facts = [{} for _ in range(n)]
        self.done_units = [0] * n
        self.statuses = ["queued"] * n
        self.worker = [""] * n
        self.checks = [""] * n
        self.lanes = [""] * n
        self.began, self.ended, self.cpu_s, self.switches = (np.full(n, np.nan) for _ in range(4))
        if self.spec.backend in STAGES_APART:
            self.bars = Bars.empty(n, PIPELINE_STAGES)
        else:
            whole = Bars(list(range(n)), [""] * n, self.lanes, self.statuses, self.began,
                         self.ended, self.cpu_s, self.switches)  # fmt: skip
            self.bars = whole
        if not self.switch_intervals:
            self.switch_intervals.append((self.t_start, current_switch_ms()))

    def switch_interval(self, t: float, ms: float) -> None:
        """The switch interval became ``ms`` at ``t`` (perf_counter)."""
        if ms != self.switch_intervals[-1][1]:
            self.switch_intervals.append((t, ms))

    def apply(self, events: list[Event], now: float) -> None:
        for e in events:
            i = e.task
            if e.kind == "started":
                self.statuses[i] = "started"
                self.worker[i] = e.worker
                self.lanes[i] = lane_of(e)
                self.began[i] = e.t
                if self.t_first is None:
                    self.t_first = e.t
            elif e.kind == "stage":
                self._stage(e)
            else:
                self.done_units[i] = max(self.done_units[i], e.value)
                if e.final:
                    self.statuses[i] = e.kind
                    self.ended[i] = e.t
                    self.cpu_s[i] = math.nan if e.cpu_s is None else e.cpu_s
                    self.switches[i] = math.nan if e.switches is None else e.switches
                    if e.kind == "failed":
                        self.errors.append(f"task {i}: {e.detail}")
                    elif e.kind == "done":
                        self.checks[i] = e.detail
                        self.facts[i] = dict(e.facts)
                    self.t_end = e.t if self.t_end is None else max(self.t_end, e.t)
        if events:
            self.units_over_time.append(now, self.units)

    def _stage(self, e: Event) -> None:
        """A stage of task ``e.task`` ended on ``e``'s worker: its bar."""
        bars = self.bars
        if e.detail not in PIPELINE_STAGES or e.began is None or len(bars.began) == len(self.began):
            return
        b = e.task * len(PIPELINE_STAGES) + PIPELINE_STAGES.index(e.detail)
        bars.lanes[b], bars.statuses[b] = lane_of(e), "done"
        bars.began[b], bars.ended[b] = e.began, e.t
        bars.cpu_s[b] = math.nan if e.cpu_s is None else e.cpu_s
        bars.switches[b] = math.nan if e.switches is None else e.switches

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


def spans_of(state: RunState) -> tuple[TaskSpan, ...]:
    """The bars of ``state`` (its tasks, or their stages) that started and ended."""
    return spans(state.bars, state.t_start)


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
    #: The interpreter that ran the tasks: ``CPython 3.13.0`` (a ``t`` once its GIL is
    #: off), its version, whether its GIL was on, and its executable when it was
    #: another than the app's (``--python``; "" for the app's own).
    python: str = field(
        default_factory=lambda: f"{platform.python_implementation()} {platform.python_version()}"
    )
    python_version: str = field(default_factory=platform.python_version)
    gil_enabled: bool = field(default_factory=gil_enabled)
    python_path: str = ""
    #: The switch interval at the run's start (the one it was started with).
    switch_interval_ms: float = field(default_factory=current_switch_ms)
    #: ``(seconds since the start, ms)``: the interval at the start (0.0), then each
    #: change made during the run, in order (``RunRecord.of`` always fills it).
    switch_intervals: tuple[tuple[float, float], ...] = ()
    #: The run's lag split at those changes: one ``{ms, from_s, to_s, p50, p99,
    #: samples}`` per stretch at one interval (a probe sample counts in the stretch
    #: it ended in: it measures the wait that ended then).
    lag_by_switch: tuple[dict[str, float], ...] = ()
    #: The hazards lab. ``guard``: the fix in force (``none``, ``lock``, ``ordered``).
    #: race: deposits applied (``expected``), the final balance read from the shared
    #: memory (``actual``) and ``lost`` = expected - actual; None for other workloads.
    #: deadlock: the wait-for cycle found (empty if none) and ``detect_s``, from the
    #: last worker starting to wait to the cycle being confirmed.
    guard: str = "none"
    expected: int | None = None
    actual: int | None = None
    lost: int | None = None
    deadlock: str = ""
    detect_s: float | None = None
    #: download: the semaphore's count (at most this many connections at once), 0 = none.
    limit: int = 0
    #: download from the local server: the most files it served at once during the run,
    #: counted by the server itself; None for other workloads and for the user's URLs.
    server_peak_connections: int | None = None
    #: queue: its bound, and the items passed through it.
    depth: int = 0
    items: int = 0
    #: queue: the deepest the producers found it after a put, and the seconds they spent
    #: blocked on a full queue, in all; None for other workloads (or if no producer finished).
    max_depth: int | None = None
    producer_blocked_s: float | None = None
    #: pipeline: each stage's busy seconds, summed over the items done (``{"download": s,
    #: "checksum": s, "write": s}``): stages that overlap add up to more than ``work_s``.
    stages: dict[str, float] | None = None
    #: Each task that ran: worker, start, end, CPU seconds (``tasks`` in the JSON,
    #: where the count of tasks is ``task_count``).
    timeline: tuple[TaskSpan, ...] = ()
    #: ``time.perf_counter()`` at the run's start: lines up the runs of one session on
    #: one time axis (the trace export); means nothing across sessions.
    started_at: float = 0.0
    #: What the run cost, sampled at 10 Hz on a thread of its own (``workers.footprint``):
    #: the most threads at once, of the app and of its worker processes if any; the
    #: app's peak resident memory (MB); each worker process's peak; app and workers
    #: at once, at the peak. None (or empty) where not measured.
    peak_threads: int | None = None
    peak_rss_mb: float | None = None
    worker_rss_mb: tuple[float, ...] = ()
    total_rss_mb: float | None = None
    #: Bytes across the process boundary (``workers.crossing``): the tasks' pickles sent
    #: to worker processes, and their events and results received. 0 where the work runs
    #: in this process (nothing crossed: measured so by the back end); None: not measured.
    bytes_sent: int | None = None
    bytes_received: int | None = None
    #: CPU work on multiprocessing: the input pickled with each task, or placed once in
    #: shared memory (``workers.inputs``); "pickle" elsewhere.
    transfer: str = "pickle"
    #: The voluntary context switches of the tasks' worker threads, summed over the
    #: tasks that measured theirs (``switches`` in ``tasks``); None if none did.
    context_switches: int | None = None
    #: The soft limit on open files during the run (raised for many connections).
    open_files_limit: int | None = None
    #: From the last task's end (its final event) to the GUI thread having applied the
    #: run's last event, s: how late the window's progress was. None: never applied.
    last_progress_s: float | None = None
    #: The back end's own (``Run.facts``; None elsewhere): Qt threads' signals delivered;
    #: processEvents' events handled inside the tasks, by kind, and its nesting depth.
    signals: int | None = None
    reentered: int | None = None
    reentered_by: tuple[tuple[str, int], ...] = ()
    reentry_depth: int | None = None

    @property
    def intervals_ms(self) -> tuple[float, ...]:
        """Every switch interval in force during the run, in the order they came
        (a record made by hand, with no ``switch_intervals``: the one it names)."""
        changes = self.switch_intervals or ((0.0, self.switch_interval_ms),)
        return tuple(dict.fromkeys(ms for _, ms in changes))

    #: How the run ended, apart from whether it verified: "done" (every task done),
    #: "deadlock" (its workers waited for each other in a cycle, and gave up),
    #: "failed" (a task failed, or never said how it ended) or "cancelled". Derived
    #: from the counts, so a record cannot say "done" with tasks missing.
    outcome: str = field(init=False)

    def __post_init__(self) -> None:
        if self.done == self.tasks:
            outcome = "done"
        elif self.deadlock:
            outcome = "deadlock"
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
    def of(
        cls,
        state: RunState,
        workers: int,
        lag: LagStats,
        samples: Ring | None = None,
        t1: float | None = None,
        server_peak: int | None = None,
        footprint: Mapping[str, Any] | None = None,
        measured: Mapping[str, Any] | None = None,
    ) -> RunRecord:
        """The record of ``state``; with the probe's ``samples`` up to ``t1`` (the end
        of ``lag``'s window), its lag split at each change of the switch interval;
        ``server_peak``: what the local server counted, for a download from it;
        ``footprint``: the cost fields (``peak_threads`` ..., ``bytes_sent`` ...), as the
        sampler and the back end gave them; ``measured``: the back end's own fields
        (``Run.facts``) and the ``python`` fields of the interpreter that ran the tasks
        (``Run.interpreter``)."""
        end = state.t_end if state.t_end is not None else state.t_start
        first = state.t_first if state.t_first is not None else end
        work_s = max(end - first, 1e-9)
        done = state.count("done")
        hazard = state.hazard
        unit, per = throughput_unit(state.spec.workload)
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
            throughput=round(state.units / work_s / per, 3),
            unit=unit,
            lag_ms=lag.as_dict(),
            errors=tuple(state.errors[:20]),
            switch_interval_ms=state.switch_intervals[0][1],
            switch_intervals=tuple(
                (round(max(0.0, t - state.t_start), 3), ms) for t, ms in state.switch_intervals
            ),
            lag_by_switch=lag_by_switch(state, samples, t1) if samples is not None else (),
            guard=state.spec.guard,
            expected=hazard.get("expected"),
            actual=hazard.get("actual"),
            lost=hazard.get("lost"),
            deadlock=hazard.get("deadlock", ""),
            detect_s=hazard.get("detect_s"),
            limit=state.spec.limit,
            server_peak_connections=server_peak,
            depth=state.spec.depth,
            items=state.spec.items,
            **queue_facts(state.facts),
            stages=stage_totals(state.facts),
            timeline=spans_of(state),
            started_at=state.t_start,
            open_files_limit=limits.open_files_limit(),
            last_progress_s=(
                None
                if state.t_applied is None or state.t_end is None
                else round(state.t_applied - state.t_end, 4)
            ),
            transfer=state.spec.transfer,
            context_switches=total_switches(state.switches),
            **(footprint or {}),
            **(measured or {}),
        )

    def as_dict(self) -> dict[str, Any]:
        """Every field; ``tasks`` is the list of task spans ``{index, worker, start_s,
        end_s, cpu_s, outcome}`` (names scripts read), the count is ``task_count``."""
        data = asdict(self)
        spans = data.pop("timeline")
        out = {("task_count" if k == "tasks" else k): v for k, v in data.items()}
        out["tasks"] = spans
        return out


def total_switches(switches: np.ndarray) -> int | None:
    """The sum of the measured counts (NaN: not measured); None if none was."""
    measured = switches[~np.isnan(switches)]
    return int(measured.sum()) if len(measured) else None


def queue_facts(facts: list[dict[str, float]]) -> dict[str, Any]:
    """``max_depth`` and ``producer_blocked_s`` from what the finished tasks measured."""
    depths = [f["max_depth"] for f in facts if "max_depth" in f]
    blocked = [f["blocked_s"] for f in facts if "blocked_s" in f]
    return {
        "max_depth": int(max(depths)) if depths else None,
        "producer_blocked_s": round(sum(blocked), 4) if blocked else None,
    }


def stage_totals(facts: list[dict[str, float]]) -> dict[str, float] | None:
    """Each stage's busy seconds, summed over the tasks that measured them (pipeline)."""
    totals: dict[str, float] = {}
    for task in facts:
        for key, seconds in task.items():
            if key.startswith("stage:"):
                stage = key.removeprefix("stage:")
                totals[stage] = totals.get(stage, 0.0) + seconds
    return {k: round(v, 4) for k, v in totals.items()} or None


def lag_by_switch(
    state: RunState, samples: Ring, t1: float | None = None
) -> tuple[dict[str, float], ...]:
    """The lag statistics of each stretch of the run at one switch interval, from
    the run's start to ``t1`` (default: the last sample)."""
    t, v = samples.arrays()
    end = t1 if t1 is not None else (float(t[-1]) if len(t) else state.t_start)
    starts = [max(at, state.t_start) for at, _ in state.switch_intervals] + [end]
    out = []
    for i, (_, ms) in enumerate(state.switch_intervals):
        a, b = starts[i], max(starts[i], starts[i + 1])
        inside = (t >= a if i == 0 else t > a) & (t <= b)
        stats = LagStats.of(v[inside])
        out.append(
            {
                "ms": ms,
                "from_s": round(a - state.t_start, 3),
                "to_s": round(b - state.t_start, 3),
                "p50": stats.p50,
                "p99": stats.p99,
                "samples": stats.samples,
            }
        )
    return tuple(out)
