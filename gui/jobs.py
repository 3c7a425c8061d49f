"""The job as plain data: the form's defaults, every field's validation, the hint
line and Compare all's smaller job. No Qt: the rules are tested on their own.
"""

from __future__ import annotations

from collections.abc import Mapping

from workers.spec import (
    DEFAULT_JOBS,
    HAZARDS,
    K_UNITS,
    RunSpec,
    SpecError,
    default_workers,
    format_bytes,
    parse_spec,
)
from workers.speed import CALIBRATED, Speed

#: The form's defaults: the one table of default jobs, with the workers.
DEFAULTS: dict[str, dict[str, object]] = {
    workload: {**job, "workers": default_workers(workload)}
    for workload, job in DEFAULT_JOBS.items()
}

#: The tooltips of the fields for a connection limit and a queue, and of Tasks for a queue.
HAZARD_TIPS = {
    "limit": "Downloads: at most this many connections at once, whatever the workers (a "
    "semaphore held around each download; 0 = no limit). The local server counts the "
    "connections it serves at once. gui-thread opens one at a time anyway.",
    "depth": "Queue: the most items it holds; a producer that finds it full blocks until a "
    "consumer takes one (at least 1: a queue of size 0 is unbounded).",
    "items": "Queue: how many items the producers make and the consumers checksum.",
}
QUEUE_TASKS_TIP = (
    "queue runs one task per worker, half producers and half consumers (all must run at "
    "once); on gui-thread one task does both in turn. Set the work with Items."
)

#: Compare all shrinks the job so one serial run lasts about this long (at this
#: machine's measured speed): six back ends then take ~20 s instead of a minute or more.
COMPARE_SERIAL_S = 3.0

#: A value each field can take that is always valid: lets :func:`validate`
#: look past the first error and report every field that is wrong.
_NEUTRAL: dict[str, object] = {
    "workers": 1,
    "tasks": 1,
    "size": 1,
    "latency_ms": 0,
    "rate_mbps": 0,
    "urls": (),
    "folder": "",
    "limit": 0,
    "depth": 1,
    "items": 1,
}


def validate(raw: Mapping[str, object]) -> tuple[RunSpec | None, dict[str, str]]:
    """The spec, or None and one message per bad field (all of them, not just the first)."""
    raw = dict(raw)
    errors: dict[str, str] = {}
    while True:
        try:
            spec = parse_spec(raw)
        except SpecError as exc:
            if exc.field in errors or exc.field not in _NEUTRAL:
                errors.setdefault(exc.field, exc.message)
                return None, errors
            errors[exc.field] = exc.message
            raw[exc.field] = _NEUTRAL[exc.field]
            continue
        return (None, errors) if errors else (spec, {})


def compare_spec(spec: RunSpec, speed: Speed, budget_s: float = COMPARE_SERIAL_S) -> RunSpec:
    """``spec`` with a smaller size per task if one serial run would outlast ``budget_s``
    at ``speed`` (this machine's)."""
    if spec.workload in HAZARDS:  # counts, not bytes: the job is already small
        return spec
    serial = speed.serial_seconds(spec)
    if serial <= budget_s or (spec.workload == "download" and spec.urls):
        return spec
    fixed = spec.tasks * spec.latency_ms / 1000 if spec.workload == "download" else 0.0
    scale = max(budget_s - fixed, budget_s / 4) / max(serial - fixed, 1e-9)
    if spec.workload == "queue":  # fewer items: the item size and the queue's stay the lesson's
        return spec.with_(items=max(1, int(spec.items * scale)))
    return spec.with_(size=max(64 << 10, int(spec.size * scale) // 1000 * 1000))


def describe_job(spec: RunSpec, speed: Speed) -> str:
    """``8 × 20.0 MB = 160.0 MB, ≈ 6 s serial``: the form's hint line. No number of
    seconds for a CPU workload until this machine's speed is measured."""
    if spec.workload == "race":
        return (
            f"{spec.workers} workers × {spec.size:,} deposits of 1: the balance should end "
            f"at {spec.workers * spec.size:,}"
        )
    if spec.workload == "deadlock":
        return (
            f"{spec.workers} workers × {spec.size:,} transfers around a ring of "
            f"{spec.workers} locked accounts"
        )
    if spec.workload == "download" and spec.urls:
        return f"{spec.tasks} downloads of {len(spec.urls)} URL(s), in turn"
    if spec.workload == "queue":
        items = f"{spec.items} items × {format_bytes(spec.size)} through a queue of {spec.depth}"
        return f"{items}, ≈ {speed.serial_seconds(spec):.1f} s serial"
    total = f"{spec.tasks} × {format_bytes(spec.size)} = {format_bytes(spec.tasks * spec.size)}"
    if spec.workload in CALIBRATED and not speed.measured(spec.workload):
        return f"{total}, timing this machine…"
    seconds = speed.serial_seconds(spec)
    shown = f"{seconds:.1f}" if seconds < 9.5 else f"{seconds:.0f}"
    return f"{total}, ≈ {shown} s serial"


def job_text(spec: RunSpec) -> str:
    """``16 × 16.0 MB`` for the log, or for the hazards lab ``300,000 deposits each, guard lock``."""
    if spec.workload in HAZARDS:
        return f"{spec.size:,} {K_UNITS[spec.workload]} each, guard {spec.guard}"
    return f"{spec.tasks} × {format_bytes(spec.size)}"
