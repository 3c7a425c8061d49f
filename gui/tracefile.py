"""Runs as a Chrome trace-event file, for Perfetto (ui.perfetto.dev) or chrome://tracing.

The format is Chrome's JSON trace-event format: one *process* per run, named
after its job and back end; one *thread* lane per worker (thread, pool thread,
worker process, coroutine); one complete event (``"ph": "X"``) per task, from
its start to its end, with its CPU seconds and CPU share as arguments; and the
GUI thread's lag as a counter track (``"ph": "C"``) in each run's process.

Every run sits at its real time (``RunRecord.started_at``), so runs of one
session follow one another on one time axis, as they ran. Plain data, no Qt.
"""

from __future__ import annotations

import json

import numpy as np

from workers.record import RunRecord

#: chrome://tracing's reserved colour names, by outcome (Perfetto colours by name).
OUTCOME_COLOURS = {"done": "good", "failed": "terrible", "cancelled": "grey"}
LAG_COUNTER = "UI lag (ms)"
#: A run's lag counter reaches this far past its last task's end: the sample that ends
#: a freeze is taken when the loop runs again, just after the task that froze it.
TAIL_S = 0.1


def _us(seconds: float) -> float:
    """Trace timestamps are in microseconds."""
    return round(seconds * 1e6, 3)


def run_events(
    record: RunRecord,
    pid: int,
    origin: float,
    lag_t: np.ndarray,
    lag_ms: np.ndarray,
    until: float = np.inf,
) -> list[dict[str, object]]:
    """The events of one run as process ``pid``, its times counted from ``origin``
    (perf_counter); ``lag_t``/``lag_ms`` are the probe's samples (perf_counter times),
    of which it takes those of its own time, up to the next run's start ``until``."""
    t0 = record.started_at - origin
    events: list[dict[str, object]] = [
        {
            "name": "process_name",
            "ph": "M",
            "pid": pid,
            "args": {"name": f"run {pid}: {record.workload} · {record.backend}"},
        },
        {"name": "process_sort_index", "ph": "M", "pid": pid, "args": {"sort_index": pid}},
    ]
    lanes = list(dict.fromkeys(span.worker for span in record.timeline))
    for tid, worker in enumerate(lanes, start=1):
        events.append(
            {"name": "thread_name", "ph": "M", "pid": pid, "tid": tid, "args": {"name": worker}}
        )
        events.append(
            {
                "name": "thread_sort_index",
                "ph": "M",
                "pid": pid,
                "tid": tid,
                "args": {"sort_index": tid},
            }
        )
    for span in record.timeline:
        share, rate = span.share, span.switch_rate
        events.append(
            {
                "name": f"task {span.index}" + (f" · {span.stage}" if span.stage else ""),
                "cat": span.outcome,
                "ph": "X",
                "ts": _us(t0 + span.start_s),
                "dur": _us(span.end_s - span.start_s),
                "pid": pid,
                "tid": lanes.index(span.worker) + 1,
                "cname": OUTCOME_COLOURS.get(span.outcome, "grey"),
                "args": {
                    "index": span.index,
                    "outcome": span.outcome,
                    "cpu_s": span.cpu_s,
                    "share": None if share is None else round(share, 4),
                    "switches": span.switches,
                    "switches_per_s": None if rate is None else round(rate, 1),
                },
            }
        )
    end = min(record.started_at + record.wall_s + TAIL_S, until)
    inside = (lag_t >= record.started_at) & (lag_t <= end)
    for t, ms in zip(lag_t[inside].tolist(), lag_ms[inside].tolist(), strict=True):
        events.append(
            {
                "name": LAG_COUNTER,
                "ph": "C",
                "ts": _us(t - origin),
                "pid": pid,
                "args": {"lag_ms": round(ms, 3)},
            }
        )
    return events


def chrome_trace(
    records: list[RunRecord], lag: tuple[np.ndarray, np.ndarray] | None = None
) -> dict[str, object]:
    """``records`` as one trace; ``lag``: the probe's ``(times, ms)`` samples, if kept."""
    origin = min((r.started_at for r in records), default=0.0)
    lag_t, lag_ms = lag if lag is not None else (np.zeros(0), np.zeros(0))
    events: list[dict[str, object]] = []
    starts = sorted(r.started_at for r in records)
    for pid, record in enumerate(records, start=1):
        later = [t for t in starts if t > record.started_at]
        events += run_events(record, pid, origin, lag_t, lag_ms, min(later, default=np.inf))
    return {
        "traceEvents": events,
        "displayTimeUnit": "ms",
        "otherData": {"source": "unfreeze", "runs": len(records)},
    }


def trace_json(records: list[RunRecord], lag: tuple[np.ndarray, np.ndarray] | None = None) -> str:
    return json.dumps(chrome_trace(records, lag), separators=(",", ":"))
