"""The job as plain data: the form's defaults, every field's validation, the hint
line and Compare all's smaller job. No Qt: the rules are tested on their own.
"""

from __future__ import annotations

from collections.abc import Mapping

from workers.fields import SpecError, format_bytes
from workers.names import DEFAULT_JOBS, HAZARDS, K_UNITS, ON_GUI_THREAD, default_workers
from workers.spec import RunSpec, parse_spec
from workers.speed import CALIBRATED, Speed

#: The form's defaults: the one table of default jobs, with the workers.
DEFAULTS: dict[str, dict[str, object]] = {
    workload: {**job, "workers": default_workers(workload)}
    for workload, job in DEFAULT_JOBS.items()
}

#: The fields every job has, and those each workload's job has beyond them: the form
#: shows these and hides the rest, so every field on screen applies.
EVERY_JOB = ("workload", "backend", "workers", "size", "python")
FIELDS: dict[str, tuple[str, ...]] = {
    "download": ("tasks", "latency_ms", "rate_mbps", "urls", "folder", "limit"),
    "disk-write": ("tasks", "folder", "fsync"),
    "cpu-python": ("tasks", "transfer"),  # transfer: shown on multiprocessing only
    "cpu-native": ("tasks", "transfer"),
    "queue": ("depth", "items"),
    "pipeline": ("tasks", "latency_ms", "rate_mbps", "folder", "fsync"),
    "race": ("guard",),
    "deadlock": ("guard",),
}

WORKLOAD_TIPS = {
    "download": "HTTP GET of N files from the app's own throttled server (or your URLs): "
    "I/O-bound.",
    "disk-write": "N files written in 1 MiB chunks, each atomically: I/O-bound "
    "(page cache, optional fsync).",
    "cpu-python": "Adler-32 in a pure-Python loop: CPU-bound, and holds the GIL.",
    "cpu-native": "SHA-256 in C (hashlib): CPU-bound, but releases the GIL.",
    "queue": "Producers put items into a bounded queue, slower consumers checksum them in "
    "pure Python: the producers block on a full queue (backpressure).",
    "pipeline": "Each of N files is downloaded from the app's throttled server, checksummed "
    "in pure Python, then written to disk: three stages of three kinds (run them apart: "
    "hybrid).",
    "race": "Hazards lab: N workers deposit K times into one shared account with a "
    "read–compute–write; unguarded, deposits get lost. Guard: lock.",
    "deadlock": "Hazards lab: N workers transfer around a ring of accounts, taking two locks "
    "in opposite order; unguarded, they wait for each other for ever. Guard: ordered.",
}
#: Each field's tooltip, and where a workload gives it another meaning, its own.
FIELD_TIPS: dict[str, str] = {
    "workload": "What kind of work to run. Hover an entry for what it is.",
    "backend": "Where the work runs. Hover an entry for what it is.",
    "workers": "How many threads, processes or coroutines work at once.",
    "tasks": "How many files or chunks of work the job is split into.",
    "size": "Bytes per task: 8MB, 512KiB or plain bytes (MB = 10^6, MiB = 2^20).",
    "latency_ms": "Local server: delay before the first byte of each file.",
    "rate_mbps": "Local server: bandwidth cap per connection (0 = unlimited).",
    "urls": "Download these instead of the local server's files (task i gets URL i).",
    "folder": "Where written or downloaded files go.",
    "fsync": "Force each file to the disk before counting it done.",
    "guard": "Hazards lab: the fix. race: none or lock (a lock around read and write); "
    "deadlock: none or ordered (every worker takes the lower-numbered lock first).",
    "limit": "Downloads: at most this many connections at once, whatever the workers (a "
    "semaphore held around each download; 0 = no limit). The local server counts the "
    "connections it serves at once. gui-thread opens one at a time anyway.",
    "depth": "Queue: the most items it holds; a producer that finds it full blocks until a "
    "consumer takes one (at least 1: a queue of size 0 is unbounded).",
    "items": "Queue: how many items the producers make and the consumers checksum.",
    "python": "Another Python (3.11 or newer) to run the threading and thread-pool back "
    "ends' work in, e.g. a free-threaded python3.13t, which PySide6 has no build for: the "
    "tasks run on threads of a helper process of that interpreter, the window stays on "
    "this one. Empty: this interpreter.",
    "transfer": "How each task's input (its first 16 MiB at most) reaches the worker "
    "processes. pickle: pickled with every task and sent down a pipe, the bytes counted. "
    "shared-memory: written once into a SharedMemory block the workers attach to by name; "
    "a task carries only the name. The Costs tab shows the bytes sent either way.",
    "scheduler": "dask: the address of a running scheduler (tcp://host:8786); empty: the app "
    "starts a LocalCluster of its own, one worker process per worker, and closes it after "
    "the run. The workers must be able to import unfreeze.",
}
WORKERS_TIPS = {
    "queue": "queue runs one task per worker, half producers and half consumers (all must "
    "run at once); on gui-thread one task does both in turn. Set the work with Items.",
    "race": "N, the workers depositing into the one account: one task each.",
    "deadlock": "N, the workers moving money around the ring of N accounts (at least 2): "
    "one task each.",
}
#: Workers greyed at 1 on gui-thread, the server's fields with URLs set, and where the
#: hint's speed comes from: what the form says of each.
GUI_THREAD_WORKERS_TIP = (
    "gui-thread runs every task on the one GUI thread: 1 worker, whatever is typed here. "
    "Pick another back end to choose the number of workers."
)
URLS_SET_TIP = "Not used: the URLs are downloaded from their own servers."
RATE_SOURCES = {
    "guess": "a guess; a gui-thread run measures it",
    "calibration": "timed on this machine at start-up",
    "gui-thread run": "the last gui-thread run of this workload",
}

#: The Size field's label and tooltip where it is not bytes per task.
SIZE_FIELDS = {
    "queue": ("&Item size", "Bytes per item, at most 1 MiB: 64KB, 512KiB or plain bytes."),
    "race": ("&Deposits", "K, the deposits each worker makes: 300k or 300000."),
    "deadlock": ("&Rounds", "K, the rounds each worker makes: 200k or 200000."),
}


def run_workers(workload: str, backend: str, workers: int, tasks: int) -> int:
    """The workers a run of the job gets: one on the GUI thread, else at most one per
    task (a job with no Tasks field has one task per worker: queue, race, deadlock)."""
    if backend in ON_GUI_THREAD:
        return 1
    return max(1, min(workers, tasks) if "tasks" in FIELDS[workload] else workers)


#: Compare all shrinks the job so one serial run lasts about this long (at this
#: machine's measured speed): the seven back ends then take seconds each, not ten or more.
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
    "scheduler": "",
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
    waits = spec.workload in ("download", "pipeline")  # each file's latency: fixed
    fixed = spec.tasks * spec.latency_ms / 1000 if waits else 0.0
    scale = max(budget_s - fixed, budget_s / 4) / max(serial - fixed, 1e-9)
    if spec.workload == "queue":  # fewer items: the item size and the queue's stay the lesson's
        return spec.with_(items=max(1, int(spec.items * scale)))
    return spec.with_(size=max(64 << 10, int(spec.size * scale) // 1000 * 1000))


def describe_job(spec: RunSpec, speed: Speed) -> str:
    """``8 × 20.0 MB = 160.0 MB, ≈ 6 s serial``: the form's hint line. No number of
    seconds for a CPU workload until this machine's speed is measured."""
    # On the GUI thread the N "workers" of a hazard are N tasks run one after another.
    who = f"{spec.workers} {'tasks in turn' if spec.backend in ON_GUI_THREAD else 'workers'}"
    if spec.workload == "race":
        return (
            f"{who} × {spec.size:,} deposits of 1: the balance should end "
            f"at {spec.workers * spec.size:,}"
        )
    if spec.workload == "deadlock":
        return f"{who} × {spec.size:,} transfers around a ring of {spec.workers} locked accounts"
    if spec.workload == "download" and spec.urls:
        return f"{spec.tasks} downloads of {len(spec.urls)} URL(s), in turn"
    if spec.workload == "queue":
        return f"{job_text(spec)}, ≈ {speed.serial_seconds(spec):.1f} s serial"
    total = f"{spec.tasks} × {format_bytes(spec.size)} = {format_bytes(spec.tasks * spec.size)}"
    if spec.workload in CALIBRATED and not speed.measured(spec.workload):
        return f"{total}, timing this machine…"
    seconds = speed.serial_seconds(spec)
    shown = f"{seconds:.1f}" if seconds < 9.5 else f"{seconds:.0f}"
    return f"{total}, ≈ {shown} s serial"


def job_text(spec: RunSpec) -> str:
    """``16 × 16.0 MB`` for the log; ``2000 items × 64.0 KB, queue of 8`` for a queue;
    ``300,000 deposits each, guard lock`` for a race (rounds for a deadlock)."""
    if spec.workload in HAZARDS:
        return f"{spec.size:,} {K_UNITS[spec.workload]} each, guard {spec.guard}"
    if spec.workload == "queue":
        return f"{spec.items} items × {format_bytes(spec.size)}, queue of {spec.depth}"
    return f"{spec.tasks} × {format_bytes(spec.size)}"
