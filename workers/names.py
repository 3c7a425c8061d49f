"""What can run, by name: the back ends and workloads, the tables about them (which
back end takes which workload, which may run in another interpreter and why not),
the default jobs, and the bounds of each field.

The one vocabulary the window, the bench, the engine and the checks share: it
imports nothing of the project, so anything may import it.
"""

from __future__ import annotations

import os

BACKENDS = (
    "gui-thread",
    "qthread",
    "threading",
    "thread-pool",
    "qthread-pool",
    "multiprocessing",
    "asyncio",
    "hybrid",
    "dask",
)
#: Two classic mistakes, each a variant of a back end above, to measure against it:
#: the loop turned inside the task (``processEvents``), and a signal per progress call.
#: Any job runs on them; Compare all and the bench's default set leave them out.
PITFALLS = ("gui-thread-process-events", "qthread-signal-per-item")
ALL_BACKENDS = BACKENDS + PITFALLS
#: Back ends whose tasks run one after another on the GUI thread: one worker.
ON_GUI_THREAD = frozenset({"gui-thread", "gui-thread-process-events"})
WORKLOADS = ("download", "disk-write", "cpu-python", "cpu-native", "queue", "pipeline")
#: The workloads that wait on sockets or disks, and may keep files (``RunSpec.io_bound``).
IO_WORKLOADS = frozenset({"download", "disk-write", "pipeline"})
#: What one item of the pipeline goes through, in order: a download, a pure-Python
#: checksum, a write. The record sums each stage's busy seconds (``stages``).
PIPELINE_STAGES = ("download", "checksum", "write")
#: Back ends made for one kind of job only, and the workloads each takes. ``hybrid`` runs
#: each stage of an item where it fits (I/O on threads, pure Python on processes): a job
#: of one kind has nothing to split, and the hazards lab's workers must all be alike.
ONLY: dict[str, tuple[str, ...]] = {"hybrid": ("pipeline",)}
#: Back ends that run each stage of a task on workers of their own: their timeline has
#: one bar per stage per task, on the lane of the worker that ran that stage.
STAGES_APART = frozenset({"hybrid"})
#: The hazards lab's workloads with a guard, the fix to try: N = workers (one task each),
#: K = ``size`` (deposits, or rounds, per worker), counted rather than bytes.
HAZARDS = ("race", "deadlock")
ALL_WORKLOADS = WORKLOADS + HAZARDS
#: The guards each workload knows; the first is the default (no guard).
GUARDS: dict[str, tuple[str, ...]] = {"race": ("none", "lock"), "deadlock": ("none", "ordered")}
#: What K counts, per hazard workload.
K_UNITS = {"race": "deposits", "deadlock": "rounds"}
MAX_K = 100_000_000

#: The back ends whose work may run in another interpreter (``--python``): plain
#: threads need nothing of Qt, so a helper process of that interpreter runs them.
PYTHON_BACKENDS = ("threading", "thread-pool")
#: Why the others cannot, named in the refusal.
NOT_ELSEWHERE = {
    "gui-thread": "its work runs on the window's GUI thread, in this interpreter",
    "qthread": "QThreads need Qt in the worker, and PySide6 has no build for other "
    "interpreters (none for free-threaded CPython)",
    "qthread-pool": "a QThreadPool needs Qt in the worker, and PySide6 has no build for "
    "other interpreters (none for free-threaded CPython)",
    "multiprocessing": "its workers are interpreters of their own already, started by spawn "
    "from this one",
    "asyncio": "its coroutines run on the window's Qt event loop, in this interpreter",
    "gui-thread-process-events": "its work runs on the window's GUI thread, in this interpreter",
    "qthread-signal-per-item": "QThreads need Qt in the worker, and PySide6 has no build for "
    "other interpreters (none for free-threaded CPython)",
    "hybrid": "its checksums run on worker processes spawned from this interpreter",
    "dask": "its workers are processes of their own, on a cluster of this interpreter's",
}

#: Why the race and the deadlock do not run on dask (measured on loopback).
NO_DASK_HAZARDS = (
    "dask runs no race or deadlock: their account, locks and wait-for graph are memory "
    "every worker reads and writes at each step, and on a cluster each read is a round "
    "trip to the scheduler (~0.5 ms), so 4 x 300 000 deposits would take ~20 min; "
    "run them on multiprocessing"
)
MAX_WORKERS = 64  # for a back end not named in MANY_WORKERS_BACKENDS
#: Back ends whose workers cost a thread's stack or a coroutine's frame, not a
#: process: they may have up to MAX_MANY_WORKERS (asyncio at scale: 1 000 connections
#: and more). Processes stay at MAX_WORKERS: each is an interpreter of ~30 MB and a
#: spawn of 0.1-0.3 s, and 64 of them already outnumber this machine's cores 32 to 1.
MANY_WORKERS_BACKENDS = frozenset({"threading", "thread-pool", "asyncio"})
MAX_MANY_WORKERS = 10_000
MAX_TASKS = 10_000
MAX_SIZE = 16 << 30  # per task
MAX_LATENCY_MS = 60_000.0
MAX_RATE_MBPS = 100_000.0
MAX_URLS = 1_000
MAX_DEPTH = 10_000  # queue: items it holds
MAX_ITEMS = 1_000_000  # queue: items passed through it
MAX_ITEM = 1 << 20  # queue: bytes per item (one block of the deterministic content)
#: How a CPU task's input reaches a worker process (``workers.inputs``); the first is the default.
TRANSFERS = ("pickle", "shared-memory")

#: The one table of default jobs, for the window and the bench alike. Each lasts
#: ~5-15 s on the naive back end of the 2-core project machine:
#: download   16 x 16 MB at 20 MB/s + 50 ms per file: 13.6 s serial, 1.7 s on 8 workers
#: disk-write 16 x 256 MB = 4 GB at 0.4-4 GB/s (page cache): 1-10 s
#: cpu-python 8 x 16 MB at ~26 MB/s: ~5 s on one core (and on 2 threads: the GIL)
#: cpu-native 8 x 1.5 GB at ~1.8 GB/s: ~6.7 s on one core, 3.4 s on 2 threads
#: queue      2000 items x 64 KB through a queue of 8, checksummed in pure Python: ~5 s
#: pipeline   24 x 4 MB, each downloaded at 20 MB/s (+50 ms), checksummed in pure Python,
#:            written: 96 MB of checksum at ~26 MB/s a core: 4-5 s on threads (one core, the
#:            GIL), ~2 s of checksums on 2 processes once spawned (hybrid)
DEFAULT_JOBS: dict[str, dict[str, object]] = {
    "download": {"tasks": 16, "size": "16MB", "latency_ms": 50.0, "rate_mbps": 20.0},
    "disk-write": {"tasks": 16, "size": "256MB", "latency_ms": 0.0, "rate_mbps": 0.0},
    "cpu-python": {"tasks": 8, "size": "16MB", "latency_ms": 0.0, "rate_mbps": 0.0},
    "cpu-native": {"tasks": 8, "size": "1.5GB", "latency_ms": 0.0, "rate_mbps": 0.0},
    "queue": {
        "tasks": 4,  # workers: half produce, half consume
        "size": "64KB",
        "latency_ms": 0.0,
        "rate_mbps": 0.0,
        "items": 2000,
        "depth": 8,
    },
    "pipeline": {"tasks": 24, "size": "4MB", "latency_ms": 50.0, "rate_mbps": 20.0},
    # race: 4 workers x 300k deposits: 0.1-0.5 s unguarded, 1-2 s with the lock (threads,
    # processes); asyncio awaits once per deposit: ~8 s. deadlock: 4 x 200k transfers, ~2 s
    # ordered; unordered it deadlocks within the first tens of ms once all have started.
    "race": {"tasks": 4, "size": "300k", "latency_ms": 0.0, "rate_mbps": 0.0},
    "deadlock": {"tasks": 4, "size": "200k", "latency_ms": 0.0, "rate_mbps": 0.0},
}


def throughput_unit(workload: str) -> tuple[str, float]:
    """How ``workload``'s throughput is given: its unit, and how many of what its tasks
    count make one (bytes: MB/s; deposits or rounds: thousands a second)."""
    if workload in HAZARDS:
        return f"k {K_UNITS[workload]}/s", 1e3
    return "MB/s", 1e6


def default_workers(workload: str) -> int:
    if workload in HAZARDS or workload == "queue":  # the job's own number of workers
        return int(str(DEFAULT_JOBS[workload]["tasks"]))
    return (os.cpu_count() or 1) if workload not in IO_WORKLOADS else 8


def queue_roles(backend: str, workers: int) -> int:
    """How many tasks a queue job has: one per worker (producers and consumers must all
    run at once, or a producer waits for ever on a full queue), and on the GUI thread,
    which has one, a single task that produces and consumes in turn."""
    return 1 if backend in ON_GUI_THREAD else workers


def takes(backend: str, workload: str) -> bool:
    """``backend`` runs ``workload``: every back end runs every workload, but those in
    ONLY, and dask the hazards lab's race and deadlock (NO_DASK_HAZARDS)."""
    if backend == "dask" and workload in HAZARDS:
        return False
    return workload in ONLY.get(backend, ALL_WORKLOADS)


def backends_for(workload: str, among: tuple[str, ...] = BACKENDS) -> tuple[str, ...]:
    """The back ends ``among`` those given that run ``workload``, in their order
    (Compare all's runs: BACKENDS; ALL_BACKENDS adds the pitfalls)."""
    return tuple(b for b in among if takes(b, workload))


def max_workers(backend: str) -> int:
    """The most workers ``backend`` may have."""
    return MAX_MANY_WORKERS if backend in MANY_WORKERS_BACKENDS else MAX_WORKERS
