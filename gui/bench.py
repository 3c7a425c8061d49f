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

import numpy as np

from workers.names import ALL_BACKENDS, PYTHON_BACKENDS, default_workers
from workers.record import RunRecord
from workers.spec import RunSpec

#: --quick: every task still lasts >= ~150 ms on one core here, so a freeze shows.
QUICK = {
    "download": {"tasks": 8, "size": 4_000_000, "rate_mbps": 20.0, "latency_ms": 0.0},
    "disk-write": {"tasks": 8, "size": 128_000_000},
    "cpu-python": {"tasks": 4, "size": 5_000_000},
    "cpu-native": {"tasks": 4, "size": 384_000_000},
    "queue": {"items": 120, "size": 32_000, "depth": 8},
    "pipeline": {"tasks": 4, "size": 2_000_000, "rate_mbps": 20.0, "latency_ms": 0.0},
    "race": {"size": 100_000},
    "deadlock": {"size": 20_000},
}


#: The back-end column: as wide as the longest name (a pitfall's).
WIDTH = max(len(b) for b in ALL_BACKENDS)
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
        unit = ""  # of the rows under the last header printed

        @Slot(object)
        def finished(self, record: RunRecord | None) -> None:
            _, rep = runs[self.done]
            self.done += 1
            if record is not None and rep is not None:
                records.append(record)
                repeats.append(rep)
                if not quiet:
                    if record.unit != self.unit:  # a header for each unit of throughput
                        self.unit = record.unit
                        print(header(record.unit), flush=True)
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
    groups: dict[tuple[str, str, str, str], list[RunRecord]] = {}
    for r in result.records:
        groups.setdefault((r.workload, r.backend, r.guard, r.transfer), []).append(r)
    out = []
    for (workload, backend, guard, transfer), rs in groups.items():
        out.append(
            {
                "workload": workload,
                "backend": backend,
                "guard": guard,
                "transfer": transfer,
                "runs": len(rs),
                "unit": rs[0].unit,
                "throughput": round(statistics.median(r.throughput for r in rs), 3),
                "lag_p99_ms": round(statistics.median(r.lag_ms["p99"] for r in rs), 3),
                "startup_s": round(statistics.median(r.startup_s for r in rs), 4),
                "python": rs[0].python,
                "gil_enabled": rs[0].gil_enabled,
                "python_path": rs[0].python_path,
            }
        )
        sent = [r.bytes_sent for r in rs if r.bytes_sent is not None]
        got = [r.bytes_received for r in rs if r.bytes_received is not None]
        if sent and got:  # bytes across the process boundary (0: nothing crossed)
            out[-1] |= {
                "bytes_sent": statistics.median(sent),
                "bytes_received": statistics.median(got),
            }
        threads = [r.peak_threads for r in rs if r.peak_threads is not None]
        rss = [r.peak_rss_mb for r in rs if r.peak_rss_mb is not None]
        if threads and rss:  # what it cost: peak threads and the app's peak memory
            out[-1] |= {
                "peak_threads": statistics.median(threads),
                "peak_rss_mb": statistics.median(rss),
            }
        lost = [r.lost for r in rs if r.lost is not None]
        if lost:  # the hazards lab: how many runs lost updates, and how many
            out[-1] |= {
                "lost_median": statistics.median(lost),
                "runs_losing": sum(x > 0 for x in lost),
            }
        found = [r.detect_s for r in rs if r.deadlock and r.detect_s is not None]
        if workload == "deadlock":
            out[-1] |= {"deadlocks": len(found), "detect_s_max": max(found, default=None)}
    serial = {
        (m["workload"], m["guard"]): m["throughput"] for m in out if m["backend"] == "gui-thread"
    }
    for m in out:
        base = serial.get((m["workload"], m["guard"]))
        m["vs_serial"] = round(m["throughput"] / base, 3) if base else None  # type: ignore[operator]
    return out


def header(unit: str) -> str:
    """The columns of :func:`row`, the throughput's named by its ``unit``."""
    return (
        f"{'workload':<11} {'backend':<{WIDTH}} {'rep':>3} {'wrk':>3} {'tasks':>5} {'ok':>3} {'wall s':>7} "
        f"{'start s':>7} {unit:>12} {'lag p50':>8} {'p95':>7} {'p99':>7} {'max':>7} "
        f"{'thr':>5} {'sent MB':>8} {'recv MB':>8} {'rss MB':>7}"
    )


def row(r: RunRecord, rep: int | None = None) -> str:
    lag = r.lag_ms
    return (
        f"{r.workload:<11} {r.backend:<{WIDTH}} {'' if rep is None else rep + 1:>3} {r.workers:>3} {r.tasks:>5} {'yes' if r.ok else 'NO':>3} "
        f"{r.wall_s:>7.2f} {r.startup_s:>7.2f} {r.throughput:>12.1f} {lag['p50']:>8.1f} "
        f"{lag['p95']:>7.1f} {lag['p99']:>7.1f} {lag['max']:>7.1f} {cost(r)}{hazards(r)}"
        f"{pitfalls(r)}{elsewhere(r)}"
        + (f"  transfer {r.transfer}" if r.bytes_sent and r.workload.startswith("cpu-") else "")
    )


def elsewhere(r: RunRecord) -> str:
    """After a row whose threads ran in another interpreter (``--python``): which, and its GIL."""
    return f"  in {r.python}, GIL {'on' if r.gil_enabled else 'off'}" if r.python_path else ""


def cost(r: RunRecord) -> str:
    """Peak threads (app + worker processes) and peak memory: the app's, and with
    worker processes the total of app and workers."""
    threads = "" if r.peak_threads is None else str(r.peak_threads)
    rss = "" if r.peak_rss_mb is None else f"{r.peak_rss_mb:.0f}"
    if r.worker_rss_mb and r.total_rss_mb is not None:
        rss += f" ({r.total_rss_mb:.0f} with {len(r.worker_rss_mb)} workers)"
    return f"{threads:>5} {megabytes(r.bytes_sent):>8} {megabytes(r.bytes_received):>8} {rss:>7}"


def megabytes(n: int | None) -> str:
    """Bytes across the process boundary, in MB (3 decimals: an event is ~200 B); 0: none."""
    return "" if n is None else "0" if n == 0 else f"{n / 1e6:.3f}"


def transfers_for(workloads: list[str], backends: list[str], text: str) -> dict[str, list[str]]:
    """``--transfer pickle,shared-memory``: per workload, the transfers it runs on
    multiprocessing (each is a run; every other pair runs once, pickled); a transfer
    that no pair takes is an error naming the field."""
    from workers.fields import check_transfer
    from workers.names import TRANSFERS

    asked = [t.strip() for t in str(text).split(",") if t.strip()] or [TRANSFERS[0]]
    out: dict[str, list[str]] = {}
    for transfer in asked:
        takers = [w for w in workloads for b in backends if _takes(w, b, transfer)]
        if not takers:
            check_transfer(workloads[0], backends[0], transfer)  # raises, naming the field
        for w in dict.fromkeys(takers):
            out.setdefault(w, []).append(transfer)
    return out


def _takes(workload: str, backend: str, transfer: str) -> bool:
    from workers.fields import SpecError, check_transfer

    try:
        return check_transfer(workload, backend, transfer) == transfer
    except SpecError:
        return False


def guards_for(workloads: list[str], text: str) -> dict[str, list[str]]:
    """``--guard none,lock``: per workload, the guards it knows from the list (each
    is a run); a guard no workload knows, or a hazard left without one, is an error."""
    from workers.fields import SpecError
    from workers.names import GUARDS, HAZARDS

    asked = [g.strip() for g in str(text).split(",") if g.strip()] or ["none"]
    out = {w: [g for g in asked if g in GUARDS.get(w, ("none",))] or ["none"] for w in workloads}
    for guard in asked:
        if not any(guard in GUARDS.get(w, ("none",)) for w in workloads):
            known = sorted({g for w in workloads for g in GUARDS.get(w, ("none",))})
            raise SpecError(
                "guard",
                f"{guard!r} is not a guard of {', '.join(workloads)}: "
                f"choose from {', '.join(known)}",
            )
    for w in workloads:
        if w in HAZARDS and not any(g in GUARDS[w] for g in asked):
            raise SpecError("guard", f"{w} knows {', '.join(GUARDS[w])}; none of them was given")
    return out


def hazards(r: RunRecord) -> str:
    """What shared state did, after a row: lost updates (race), the deadlock found,
    the server's peak connections (downloads), the queue's depth and blocked time."""
    if r.lost is not None:
        return f"  guard {r.guard}: lost {r.lost:,} of {r.expected:,} (actual {r.actual:,})"
    if r.workload == "deadlock":
        found = f"deadlock found in {r.detect_s:.2f} s" if r.deadlock else "no deadlock"
        return f"  guard {r.guard}: {found}"
    if r.server_peak_connections is not None:
        return f"  peak {r.server_peak_connections} conn" + (
            f" (limit {r.limit})" if r.limit else ""
        )
    if r.max_depth is not None:
        return f"  depth ≤ {r.max_depth}/{r.depth}, blocked {r.producer_blocked_s or 0:.2f} s"
    if r.stages:  # the pipeline: each stage's busy seconds, and how much they overlapped
        busy = " · ".join(f"{stage} {s:.2f} s" for stage, s in r.stages.items())
        return f"  busy: {busy} (sum {sum(r.stages.values()) / r.work_s:.1f}× the run)"
    return ""


def pitfalls(r: RunRecord) -> str:
    """What the pitfalls measure, after a row: the events handled inside the tasks
    (processEvents), or the signals delivered and how late the last progress was."""
    if r.reentered is not None:
        kinds = ", ".join(f"{n:,} {kind}" for kind, n in r.reentered_by[:3])
        return f"  re-entered: {r.reentered:,} events inside the tasks ({kinds}), depth {r.reentry_depth}"
    if r.signals is not None and r.last_progress_s is not None:
        return f"  {r.signals:,} signals, last progress applied {r.last_progress_s:.3f} s after the end"
    return ""


def specs_from_args(args) -> list[RunSpec]:
    """The bench's combinations, each validated as the window validates input."""
    from workers.fields import SpecError, check_pair
    from workers.names import takes
    from workers.spec import parse_spec

    out = []
    guards = guards_for(args.workloads, getattr(args, "guard", "none"))
    transfers = transfers_for(args.workloads, args.backends, getattr(args, "transfer", "pickle"))
    for workload, guard in ((w, g) for w in args.workloads for g in guards[w]):
        for backend, transfer in (
            (b, t)
            for b in args.backends
            for t in (transfers.get(workload, ["pickle"]) if b == "multiprocessing" else ["pickle"])
        ):
            if not takes(backend, workload):
                continue  # a back end made for one kind of job: the others only (see below)
            raw: dict[str, object] = {
                "workload": workload,
                "backend": backend,
                "guard": guard,
                "transfer": transfer,
            }
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
            if backend in PYTHON_BACKENDS:  # the others run here: gui-thread is the baseline
                raw["python"] = getattr(args, "python", None)
            if backend == "dask" and getattr(args, "scheduler", None):
                raw["scheduler"] = args.scheduler
            out.append(parse_spec(raw))
    if not out:  # e.g. only hybrid, or only dask on the hazards lab: an error, not a hang
        try:
            check_pair(args.workloads[0], args.backends[0])
        except SpecError as exc:  # named after the bench's option
            raise SpecError("backends", exc.message) from None
    return out


def main(args) -> int:
    if getattr(args, "crossing", False):
        from workers.crossing import counting_cost

        for key, value in counting_cost().items():
            print(f"{key:<24} {value:>10.2f}")
        return 0
    if args.ui:
        from gui.uicost import ui_report

        report = ui_report()
        for key, value in report.items():
            print(f"{key:<34} {value}")
        if args.json:
            with open(args.json, "w", encoding="utf-8") as out:
                json.dump(report, out, indent=2)
        return 0
    specs = specs_from_args(args)
    if getattr(args, "python", None):
        others = [b for b in args.backends if b not in PYTHON_BACKENDS]
        print(
            f"--python: {', '.join(PYTHON_BACKENDS)} run in {args.python}"
            + (f"; {', '.join(others)} run here, in {sys.executable}" if others else ""),
            flush=True,
        )
    repeat = args.repeat if args.repeat is not None else (QUICK_REPEAT if args.quick else 1)
    result = run_bench(specs, repeat=repeat)
    summary = medians(result)
    print(
        f"\n{len(result.records)} runs in {result.wall_s:.1f} s; "
        f"probe: a {10} ms single-shot timer, {result.probe_cost_us:.1f} µs per tick "
        f"({result.probe_cost_us / 100:.3f}% of one core)"
    )
    print(f"\nmedians of {repeat} run(s), after one warm-up per workload:")
    unit = ""
    for m in summary:
        if m["unit"] != unit:  # a header for each unit of throughput
            unit = str(m["unit"])
            print(
                f"{'workload':<11} {'backend':<{WIDTH}} {'transfer':<13} {unit:>12} {'× serial':>9} "
                f"{'lag p99':>8} {'sent MB':>8} {'recv MB':>8}"
            )
        ratio = "" if m["vs_serial"] is None else f"{m['vs_serial']:.2f}"
        sent, got = m.get("bytes_sent"), m.get("bytes_received")
        print(
            f"{m['workload']:<11} {m['backend']:<{WIDTH}} {m['transfer']:<13} {m['throughput']:>12.1f} "
            f"{ratio:>9} {m['lag_p99_ms']:>8.1f} {megabytes(sent):>8} {megabytes(got):>8}"  # type: ignore[arg-type]
            + (f"  in {m['python']}" if m["python_path"] else "")
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
    # A deadlock found is what an unguarded deadlock run is for: measured, not a failure.
    bad = [r for r in result.records if not r.ok and r.outcome != "deadlock"]
    for r in bad:
        print(f"FAILED: {r.workload} on {r.backend}: {'; '.join(r.errors[:3])}", file=sys.stderr)
    return 1 if bad or len(result.records) != len(specs) * repeat else 0
