"""What to run, validated once at the boundary (CLI or form): :class:`RunSpec`, one
job, and :func:`parse_spec`, which builds it from user input field by field
(the checks are :mod:`workers.fields`, the names and bounds :mod:`workers.names`).

Every error names the field it is about, so the window can show it next to
that field and the bench can print it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from workers.fields import (
    SpecError,
    check_folder,
    check_guard,
    check_number,
    check_pair,
    check_python,
    check_scheduler,
    check_transfer,
    check_url,
    check_workers,
    format_bytes,
    parse_size,
)
from workers.names import (
    ALL_BACKENDS,
    ALL_WORKLOADS,
    DEFAULT_JOBS,
    HAZARDS,
    IO_WORKLOADS,
    K_UNITS,
    MAX_DEPTH,
    MAX_ITEM,
    MAX_ITEMS,
    MAX_K,
    MAX_LATENCY_MS,
    MAX_MANY_WORKERS,
    MAX_RATE_MBPS,
    MAX_TASKS,
    MAX_URLS,
    default_workers,
    queue_roles,
)


@dataclass(frozen=True, slots=True)
class RunSpec:
    """One job: a workload on a back end, with its parameters."""

    workload: str
    backend: str
    workers: int
    tasks: int
    size: int  # bytes per task (for CPU workloads: bytes checksummed per task)
    latency_ms: float = 0.0  # local server: first-byte latency per connection
    rate_mbps: float = 0.0  # local server: per-connection cap in MB/s, 0 = none
    urls: tuple[str, ...] = ()  # download these instead of the local server's files
    folder: str | None = None  # None: a temp folder (disk-write) / memory (download)
    fsync: bool = False
    guard: str = "none"  # hazards: "lock" (race), "ordered" (deadlock); "none" elsewhere
    limit: int = 0  # download: at most this many connections at once (a semaphore), 0 = none
    depth: int = 0  # queue: the most items the queue holds (producers block beyond)
    items: int = 0  # queue: items passed from producers to consumers
    #: Another interpreter's executable: the threads run in a helper process of it
    #: (threading and thread-pool only); "" = this interpreter.
    python: str = ""
    transfer: str = "pickle"  # CPU work on multiprocessing: "shared-memory" places the input once
    scheduler: str = ""  # dask: an existing scheduler's address; "": a LocalCluster of our own

    @property
    def io_bound(self) -> bool:
        """Downloads and disk writes: the workloads that wait, and that may keep files."""
        return self.workload in IO_WORKLOADS

    def with_(self, **changes: object) -> RunSpec:
        return replace(self, **changes)  # type: ignore[arg-type]


def parse_spec(raw: Mapping[str, object]) -> RunSpec:
    """Build a :class:`RunSpec` from user input (strings or numbers).

    Raises :class:`SpecError` naming the first bad field.
    """
    workload = str(raw.get("workload", ""))
    if workload not in ALL_WORKLOADS:
        raise SpecError("workload", f"{workload[:40]!r} is not one of {', '.join(ALL_WORKLOADS)}")
    backend = str(raw.get("backend", ""))
    if backend not in ALL_BACKENDS:
        raise SpecError("backend", f"{backend[:40]!r} is not one of {', '.join(ALL_BACKENDS)}")
    check_pair(workload, backend)
    scheduler = check_scheduler(raw.get("scheduler"))
    if scheduler and backend != "dask":
        raise SpecError("scheduler", f"applies to the dask back end only ({backend} given)")
    workers = raw.get("workers")
    workers = default_workers(workload) if workers in (None, "") else workers
    size = raw.get("size")
    urls_raw = raw.get("urls") or ()
    if isinstance(urls_raw, str):
        urls_raw = urls_raw.split()
    if not isinstance(urls_raw, list | tuple):
        raise SpecError("urls", "expected URLs, one per line")
    urls = tuple(check_url(str(u)) for u in urls_raw)
    if len(urls) > MAX_URLS:
        raise SpecError("urls", f"at most {MAX_URLS} URLs")
    if urls and workload != "download":
        raise SpecError("urls", "URLs apply to the download workload only")
    job = DEFAULT_JOBS[workload]
    tasks_raw = raw.get("tasks")
    limit, depth, items = _limit_depth_items(raw, workload)
    if workload == "queue":
        tasks = queue_roles(backend, check_workers(workers, backend))
    elif tasks_raw in (None, ""):
        tasks = len(urls) or int(job["tasks"])  # type: ignore[call-overload]
    else:
        tasks = int(check_number(tasks_raw, "tasks", 1, MAX_TASKS, integer=True))
    latency_ms, rate_mbps = raw.get("latency_ms"), raw.get("rate_mbps")
    folder = raw.get("folder") or None
    if folder is not None:
        folder = str(check_folder(str(folder)))
    guard = check_guard(workload, raw.get("guard"))
    python = check_python(raw.get("python"), backend, workload)
    transfer = check_transfer(workload, backend, raw.get("transfer"))
    if workload in HAZARDS:
        return hazard_spec(workload, backend, workers, raw.get("size"), guard).with_(python=python)
    item_size = parse_size(job["size"] if size in (None, "") else size)
    if workload == "queue" and not 1 <= item_size <= MAX_ITEM:
        raise SpecError("size", f"an item holds 1 byte to {format_bytes(MAX_ITEM)} (1 MiB)")
    return RunSpec(
        workload=workload,
        backend=backend,
        workers=check_workers(workers, backend),
        tasks=tasks,
        size=item_size,
        latency_ms=check_number(
            job["latency_ms"] if latency_ms in (None, "") else latency_ms,
            "latency_ms",
            0,
            MAX_LATENCY_MS,
            integer=False,
        ),
        rate_mbps=check_number(
            job["rate_mbps"] if rate_mbps in (None, "") else rate_mbps,
            "rate_mbps",
            0,
            MAX_RATE_MBPS,
            integer=False,
        ),
        urls=urls,
        folder=folder,
        fsync=bool(raw.get("fsync", False)),
        limit=limit,
        depth=depth,
        items=items,
        python=python,
        transfer=transfer,
        scheduler=scheduler,
    )


def hazard_spec(workload: str, backend: str, workers: object, k: object, guard: str) -> RunSpec:
    """A race or deadlock job: N workers (one task each), K deposits or rounds per worker."""
    n = check_workers(workers, backend)
    if workload == "deadlock" and n < 2:
        raise SpecError(
            "workers", "deadlock needs N of at least 2 workers: it takes two to wait for each other"
        )
    what = K_UNITS[workload]
    text = DEFAULT_JOBS[workload]["size"] if k in (None, "") else k
    try:
        count = parse_size(text, "size")
    except SpecError:
        raise SpecError(
            "size", f"{str(text)[:40]!r} is not a number of {what}, e.g. 300k"
        ) from None
    if count < 1:
        raise SpecError("size", f"K, the {what} per worker, must be at least 1")
    if count > MAX_K:
        raise SpecError("size", f"K, the {what} per worker, must be at most {MAX_K:,}")
    return RunSpec(workload=workload, backend=backend, workers=n, tasks=n, size=count, guard=guard)


def _limit_depth_items(raw: Mapping[str, object], workload: str) -> tuple[int, int, int]:
    """``limit`` (downloads only; 0 or empty: none), ``depth`` and ``items`` (queue only)."""
    limit_raw = raw.get("limit")
    limit = (
        0
        if limit_raw in (None, "")
        else check_number(limit_raw, "limit", 0, MAX_MANY_WORKERS, integer=True)
    )
    if limit and workload != "download":
        raise SpecError("limit", "a connection limit applies to the download workload only")
    if workload != "queue":
        for name in ("depth", "items"):
            if raw.get(name) not in (None, "", 0):
                raise SpecError(name, "applies to the queue workload only")
        return int(limit), 0, 0
    job = DEFAULT_JOBS["queue"]
    depth_raw, items_raw = raw.get("depth"), raw.get("items")
    depth = check_number(
        job["depth"] if depth_raw in (None, "") else depth_raw, "depth", 0, MAX_DEPTH, integer=True
    )
    if depth == 0:  # queue.Queue(0) and asyncio.Queue(0) hold any number of items
        raise SpecError(
            "depth", "must be at least 1: a queue of size 0 is unbounded (no backpressure)"
        )
    items = check_number(
        job["items"] if items_raw in (None, "") else items_raw, "items", 1, MAX_ITEMS, integer=True
    )
    return int(limit), int(depth), int(items)
