"""``unfreeze bench``: every workload on every back end, headless, measured.

A real (offscreen) Qt event loop runs with the probe ticking, and the same
controller as the window runs each combination in turn.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from workers.record import RunRecord
from workers.stats import Ring

if TYPE_CHECKING:
    from gui.plots import LivePlots
    from gui.timeline import TimelineView
from workers.spec import RunSpec, default_workers

#: --quick: every task still lasts >= ~150 ms on one core here, so a freeze shows.
QUICK = {
    "download": {"tasks": 8, "size": 4_000_000, "rate_mbps": 20.0, "latency_ms": 0.0},
    "disk-write": {"tasks": 8, "size": 128_000_000},
    "cpu-python": {"tasks": 4, "size": 5_000_000},
    "cpu-native": {"tasks": 4, "size": 384_000_000},
    "queue": {"items": 120, "size": 32_000, "depth": 8},
}


#: --quick repeats each combination this often (ratios are medians of repeats).
QUICK_REPEAT = 3


@dataclass(frozen=True)
class BenchResult:
    records: list[RunRecord]
    repeats: list[int]  # which repeat each record belongs to (0-based)
    probe_cost_us: float  # mean time spent in one probe tick
    wall_s: float
    #: The probe's samples over the whole bench, ``(perf_counter times, lag ms)``: the
    #: trace's lag counter.
    lag: tuple[np.ndarray, np.ndarray] = field(default_factory=lambda: (np.zeros(0), np.zeros(0)))


def plan(specs: list[RunSpec], repeat: int) -> list[tuple[RunSpec, int | None]]:
    """The runs in order: per workload, one untimed warm-up (``None``), then the
    combinations ``repeat`` times over, interleaved so drift hits every back end alike.

    The warm-up is one task on the GUI thread: it pays the first-run costs
    (imports, caches, the local server's start, the CPU's clock ramping up)
    that would otherwise handicap whichever combination came first.
    """
    out: list[tuple[RunSpec, int | None]] = []
    for workload in dict.fromkeys(s.workload for s in specs):
        group = [s for s in specs if s.workload == workload]
        first = group[0]
        warm_up = first.with_(
            backend="gui-thread", tasks=1, workers=1, items=(first.items + 7) // 8
        )
        out.append((warm_up, None))
        out += [(s, r) for r in range(repeat) for s in group]
    return out


def run_bench(specs: list[RunSpec], *, repeat: int = 1, quiet: bool = False) -> BenchResult:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QCoreApplication, QObject, QTimer, Slot

    from gui import asyncloop
    from gui.controller import RunController

    app = QCoreApplication.instance() or QCoreApplication([])
    controller = RunController()
    runs = plan(specs, repeat)
    records: list[RunRecord] = []
    repeats: list[int] = []

    class Collect(QObject):
        """Runs finish (or fail to start) in the order they were submitted."""

        done = 0

        @Slot(object)
        def finished(self, record: RunRecord | None) -> None:
            _, rep = runs[self.done]
            self.done += 1
            if record is not None and rep is not None:
                records.append(record)
                repeats.append(rep)
                if not quiet:
                    print(row(record, rep if repeat > 1 else None), flush=True)
            if self.done == len(runs):
                app.exit()

        @Slot(str)
        def failed(self, message: str) -> None:
            print(message, file=sys.stderr)
            self.finished(None)

        @Slot()
        def submit(self) -> None:
            for spec, _ in runs:
                controller.submit(spec)

    collect = Collect()
    controller.run_finished.connect(collect.finished)
    controller.error.connect(collect.failed)
    t0 = time.perf_counter()
    if not quiet:
        print(header(), flush=True)
    try:
        QTimer.singleShot(200, collect, collect.submit)  # let the probe settle first
        asyncloop.run(app)
    finally:
        cost = controller.probe.cost_s / max(1, controller.probe.samples.count) * 1e6
        lag = controller.probe.samples.arrays()
        controller.shutdown()
        controller.deleteLater()
    return BenchResult(records, repeats, cost, time.perf_counter() - t0, lag)


def medians(result: BenchResult) -> list[dict[str, object]]:
    """Per combination: median throughput and lag p99 over the repeats, and the
    throughput against the serial baseline (gui-thread) of the same workload."""
    groups: dict[tuple[str, str], list[RunRecord]] = {}
    for r in result.records:
        groups.setdefault((r.workload, r.backend), []).append(r)
    out = []
    for (workload, backend), rs in groups.items():
        out.append(
            {
                "workload": workload,
                "backend": backend,
                "runs": len(rs),
                "throughput": round(statistics.median(r.throughput for r in rs), 3),
                "lag_p99_ms": round(statistics.median(r.lag_ms["p99"] for r in rs), 3),
            }
        )
    serial = {m["workload"]: m["throughput"] for m in out if m["backend"] == "gui-thread"}
    for m in out:
        base = serial.get(m["workload"])
        m["vs_serial"] = round(m["throughput"] / base, 3) if base else None  # type: ignore[operator]
    return out


def header() -> str:
    return (
        f"{'workload':<11} {'backend':<16} {'rep':>3} {'wrk':>3} {'tasks':>5} {'ok':>3} {'wall s':>7} "
        f"{'start s':>7} {'MB/s':>9} {'lag p50':>8} {'p95':>7} {'p99':>7} {'max':>7}"
    )


def row(r: RunRecord, rep: int | None = None) -> str:
    lag = r.lag_ms
    return (
        f"{r.workload:<11} {r.backend:<16} {'' if rep is None else rep + 1:>3} {r.workers:>3} {r.tasks:>5} {'yes' if r.ok else 'NO':>3} "
        f"{r.wall_s:>7.2f} {r.startup_s:>7.2f} {r.throughput:>9.1f} {lag['p50']:>8.1f} "
        f"{lag['p95']:>7.1f} {lag['p99']:>7.1f} {lag['max']:>7.1f}{hazards(r)}"
    )


def hazards(r: RunRecord) -> str:
    """The server's peak connections (downloads), the queue's depth and blocked time."""
    if r.server_peak_connections is not None:
        return f"  peak {r.server_peak_connections} conn" + (
            f" (limit {r.limit})" if r.limit else ""
        )
    if r.max_depth is not None:
        return f"  depth ≤ {r.max_depth}/{r.depth}, blocked {r.producer_blocked_s or 0:.2f} s"
    return ""


def specs_from_args(args) -> list[RunSpec]:
    """The bench's combinations, each validated as the window validates input."""
    from workers.spec import parse_spec

    out = []
    for workload in args.workloads:
        for backend in args.backends:
            raw: dict[str, object] = {"workload": workload, "backend": backend}
            if args.quick:
                raw.update(QUICK[workload])
            for name in ("workers", "tasks", "size", "latency_ms", "rate_mbps"):
                value = getattr(args, name)
                if value is not None:
                    raw[name] = value
            # Each workload takes the options that are its own: --limit downloads, --depth
            # and --items the queue (so one bench can run both).
            mine = {"download": ("limit",), "queue": ("depth", "items")}.get(workload, ())
            for name in mine:
                if getattr(args, name) is not None:
                    raw[name] = getattr(args, name)
            if raw.get("workers") is None:
                raw["workers"] = default_workers(workload)
            if workload == "download" and args.url:
                raw["urls"] = args.url
                raw.setdefault("tasks", len(args.url))
            if args.folder:
                raw["folder"] = args.folder
            raw["fsync"] = args.fsync
            out.append(parse_spec(raw))
    return out


def main(args) -> int:
    if args.ui:
        report = ui_report()
        for key, value in report.items():
            print(f"{key:<34} {value}")
        if args.json:
            with open(args.json, "w", encoding="utf-8") as out:
                json.dump(report, out, indent=2)
        return 0
    specs = specs_from_args(args)
    repeat = args.repeat if args.repeat is not None else (QUICK_REPEAT if args.quick else 1)
    result = run_bench(specs, repeat=repeat)
    summary = medians(result)
    print(
        f"\n{len(result.records)} runs in {result.wall_s:.1f} s; "
        f"probe: a {10} ms single-shot timer, {result.probe_cost_us:.1f} µs per tick "
        f"({result.probe_cost_us / 100:.3f}% of one core)"
    )
    print(f"\nmedians of {repeat} run(s), after one warm-up per workload:")
    print(f"{'workload':<11} {'backend':<16} {'MB/s':>9} {'× serial':>9} {'lag p99':>8}")
    for m in summary:
        ratio = "" if m["vs_serial"] is None else f"{m['vs_serial']:.2f}"
        print(
            f"{m['workload']:<11} {m['backend']:<16} {m['throughput']:>9.1f} {ratio:>9} "
            f"{m['lag_p99_ms']:>8.1f}"
        )
    if args.json:
        data = {
            "records": [
                {"repeat": rep, **r.as_dict()}
                for r, rep in zip(result.records, result.repeats, strict=True)
            ],
            "repeat": repeat,
            "medians": summary,
            "probe_cost_us": round(result.probe_cost_us, 2),
            "wall_s": round(result.wall_s, 2),
            "cpu_count": os.cpu_count(),
        }
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(data, out, indent=2)
    if args.trace:
        from gui.export import save_text
        from gui.tracefile import trace_json

        save_text(args.trace, trace_json(result.records, result.lag))
    bad = [r for r in result.records if not r.ok]
    for r in bad:
        print(f"FAILED: {r.workload} on {r.backend}: {'; '.join(r.errors[:3])}", file=sys.stderr)
    return 1 if bad or len(result.records) != len(specs) * repeat else 0


def ui_report(seconds: float = 3.0) -> dict[str, float]:
    """What the window itself costs: idle lag and CPU, and one frame with 5 × 20 000 points."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import psutil
    from PySide6.QtCore import QSettings

    from gui.app import make_app
    from gui.window import MainWindow

    make_app()
    watch_share, watch_ticks = lag_watch_cost(seconds)
    settings = QSettings(os.devnull, QSettings.Format.IniFormat)
    window = MainWindow(settings)
    window.resize(1400, 900)
    window.show()
    me = psutil.Process()

    spin_for(1.0)  # first paints settle
    t0, cpu0 = time.perf_counter(), me.cpu_times()
    spin_for(seconds)
    cpu1 = me.cpu_times()
    busy = (cpu1.user + cpu1.system - cpu0.user - cpu0.system) / (time.perf_counter() - t0)
    idle = window.controller.probe.stats(t0)
    frames = frame_costs_ms(window.plots, runs=5, points=20_000, frames=20)
    window.timeline_dock.raise_()  # shown at its real size, as when a learner looks at it
    spin_for(0.2)
    timeline = timeline_costs_ms(window.timeline.view, lanes=8, tasks=2000, frames=20)
    window.close()
    return {
        "idle_lag_p99_ms": idle.p99,
        "idle_lag_p50_ms": idle.p50,
        "idle_cpu_percent_of_one_core": round(100 * busy, 2),
        "frame_ms_5x20k_median": round(float(np.median(frames)), 2),
        "frame_ms_5x20k_max": round(max(frames), 2),
        "lag_watch_cpu_percent_of_one_core": round(100 * watch_share, 3),
        "lag_watch_ticks": float(watch_ticks),
        "timeline_frame_ms_8x2000_median": round(float(np.median(timeline)), 2),
        "timeline_frame_ms_8x2000_max": round(max(timeline), 2),
    }


def spin_for(seconds: float) -> float:
    """Turn the event loop for ``seconds``; returns them."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(round(seconds * 1000), loop.quit)
    loop.exec()
    return seconds


def lag_watch_cost(seconds: float) -> tuple[float, int]:
    """The pytest plugin's probe (``watch_lag``): the GUI thread's CPU over ``seconds`` of
    an idle loop with a watch, less the same without, as a share of one core; and its
    ticks. Everything the probe makes Qt do counts (wake-ups, dispatch, the slot)."""
    from gui.lagwatch import watch_lag

    cpu0 = time.thread_time()
    spin_for(seconds)
    idle = time.thread_time() - cpu0
    with watch_lag() as lag:
        cpu0 = time.thread_time()
        spin_for(seconds)
        probed = time.thread_time() - cpu0
    return max(0.0, probed - idle) / seconds, len(lag.samples)


def frame_costs_ms(
    plots: LivePlots, runs: int = 5, points: int = 20_000, frames: int = 10
) -> list[float]:
    """Cost of each live frame (refresh the running trace, render all) with
    ``runs`` overlaid runs of ``points`` samples each. Clears the plots first and after."""
    plots.clear_runs()
    rng = np.random.default_rng(1)
    lag, units = Ring(1 << 15), Ring(1 << 15)
    t0 = 1000.0
    for i in range(points):
        lag.append(t0 + i * 0.01, float(rng.exponential(3.0)) + (400.0 if i % 2000 == 0 else 0.0))
        units.append(t0 + i * 0.01, i * 1e5)
    t1 = t0 + points * 0.01
    for i in range(runs):
        plots.refresh(plots.add_run(f"bench {i}", t0), lag, units, t1)
    costs = []
    for _ in range(frames):
        start = time.perf_counter()
        plots.refresh(plots.traces[-1], lag, units, t1)
        plots.grab()  # a full render of every item, as a repaint does
        costs.append(1000 * (time.perf_counter() - start))
    plots.clear_runs()
    return costs


def timeline_costs_ms(
    view: TimelineView, lanes: int = 8, tasks: int = 2000, frames: int = 20
) -> list[float]:
    """Cost of each live frame of the timeline (bars and the lag refreshed after new
    events, all rendered) for a run of ``tasks`` tasks on ``lanes`` workers,
    each frame seeing a ``frames``-th of them end, with 20 000 lag samples."""
    from workers.core import Event
    from workers.record import RunState

    spec = RunSpec("cpu-python", "threading", lanes, tasks, 1)
    t0, step = 1000.0, 0.01
    state = RunState(spec, [1] * tasks, t0)
    rng = np.random.default_rng(1)
    events = []
    for i in range(tasks):
        start, worker = t0 + (i // lanes) * step, f"Worker-0_{i % lanes}"
        share = float(rng.uniform(0.05, 1.0))
        events.append(Event("started", i, start, worker=worker, pid=os.getpid()))
        events.append(
            Event("done", i, start + step * 0.9, 1, worker=worker, cpu_s=share * step * 0.9)
        )
    lag = Ring(1 << 15)
    end = t0 + (tasks // lanes) * step
    for t in np.linspace(t0, end, 20_000):
        lag.append(float(t), float(rng.exponential(3.0)))
    view.show_run(state, lag)
    costs = []
    per_frame = len(events) // frames
    for k in range(frames):
        batch = events[k * per_frame : (k + 1) * per_frame]
        state.apply(batch, batch[-1].t)  # the controller's work, not the timeline's
        start = time.perf_counter()
        view.refresh(lag, batch[-1].t)
        view.grab()  # a full render, as a repaint does
        costs.append(1000 * (time.perf_counter() - start))
    return costs
