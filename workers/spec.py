"""What to run, validated once at the boundary (CLI or form).

Every error names the field it is about, so the window can show it next to
that field and the bench can print it.
"""

from __future__ import annotations

import math
import os
import re
import stat
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

from workers.core import os_reason

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

_UNITS = {
    "": 1, "b": 1,
    "k": 10**3, "kb": 10**3, "kib": 2**10,
    "m": 10**6, "mb": 10**6, "mib": 2**20,
    "g": 10**9, "gb": 10**9, "gib": 2**30,
}  # fmt: skip
_SIZE_RE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*")


class SpecError(ValueError):
    """Bad input: ``field`` names the input, the message says what is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def throughput_unit(workload: str) -> tuple[str, float]:
    """How ``workload``'s throughput is given: its unit, and how many of what its tasks
    count make one (bytes: MB/s; deposits or rounds: thousands a second)."""
    if workload in HAZARDS:
        return f"k {K_UNITS[workload]}/s", 1e3
    return "MB/s", 1e6


def check_scheduler(address: object) -> str:
    """A dask scheduler's address, ``tcp://host:port`` (``host:port`` is taken as tcp),
    or "" for none (the app starts a LocalCluster)."""
    text = "" if address is None else str(address).strip()
    if not text:
        return ""
    if len(text) > 200 or any(c.isspace() for c in text):
        raise SpecError("scheduler", f"{text[:40]!r} is not an address such as tcp://host:8786")
    if "://" not in text:
        text = f"tcp://{text}"
    scheme = text.partition("://")[0]
    if scheme not in ("tcp", "tls"):
        raise SpecError("scheduler", f"{scheme!r}: a dask scheduler's address is tcp:// or tls://")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise SpecError("scheduler", f"{text[:60]!r} has no valid port (1-65535)") from None
    if not parts.hostname or port is None or port == 0 or parts.path or parts.query:
        raise SpecError(
            "scheduler", f"{text[:60]!r} is not an address such as tcp://127.0.0.1:8786"
        )
    return text


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


def check_pair(workload: str, backend: str) -> None:
    """Refuse, naming the back end, a workload a back end made for one kind of job won't run."""
    if backend == "dask" and workload in HAZARDS:
        raise SpecError("backend", NO_DASK_HAZARDS)
    if not takes(backend, workload):
        raise SpecError(
            "backend",
            f"{backend} runs {', '.join(ONLY[backend])} only: it puts each stage of an item "
            f"where it fits (downloads and writes on threads, the pure-Python checksum on "
            f"processes), and {workload} has no stages to split; pick thread-pool for I/O, "
            "multiprocessing for pure-Python work",
        )


def max_workers(backend: str) -> int:
    """The most workers ``backend`` may have."""
    return MAX_MANY_WORKERS if backend in MANY_WORKERS_BACKENDS else MAX_WORKERS


def check_workers(workers: object, backend: str) -> int:
    """``workers`` as a whole number from 1 to :func:`max_workers` of ``backend``;
    over it, a message naming the field, the back end's bound and where more fit."""
    n = int(_number(workers, "workers", 1, MAX_MANY_WORKERS, integer=True))
    top = max_workers(backend)
    if n > top:
        many = ", ".join(b for b in BACKENDS if b in MANY_WORKERS_BACKENDS)
        raise SpecError(
            "workers",
            f"{backend} takes at most {top} workers ({n} given); "
            f"{many} take up to {MAX_MANY_WORKERS}",
        )
    return n


def parse_size(text: object, name: str = "size") -> int:
    """``8MB``, ``512KiB``, ``1.5 GB`` or plain bytes -> bytes."""
    if isinstance(text, bool):
        raise SpecError(name, "expected a size such as 8MB, 512KiB or 1000")
    if isinstance(text, int):
        value = float(text) if abs(text) < 10**30 else math.inf
        unit = ""
    else:
        match = _SIZE_RE.fullmatch(str(text))
        if not match or match[2].lower() not in _UNITS:
            raise SpecError(name, f"{str(text)[:40]!r} is not a size such as 8MB, 512KiB or 1000")
        digits, unit = match[1], match[2].lower()
        value = float(digits) if len(digits) < 30 else math.inf
    size = value * _UNITS[unit]
    if size < 0:
        raise SpecError(name, "cannot be negative")
    if not math.isfinite(size) or size > MAX_SIZE:
        raise SpecError(name, f"at most {format_bytes(MAX_SIZE)}")
    return round(size)


def _number(value: object, name: str, lo: float, hi: float, *, integer: bool) -> float:
    if isinstance(value, bool):
        raise SpecError(name, "expected a number")
    if isinstance(value, str):
        text = value.strip()
        if len(text) > 40:
            raise SpecError(name, f"must be between {lo:g} and {hi:g}")
        try:
            value = int(text) if integer else float(text)
        except ValueError:
            raise SpecError(
                name, f"{text[:40]!r} is not {'a whole' if integer else 'a'} number"
            ) from None
    if not isinstance(value, int | float):
        raise SpecError(name, "expected a number")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise SpecError(name, "must be a finite number")
        if integer and not value.is_integer():
            raise SpecError(name, "must be a whole number")
    if not lo <= value <= hi:
        raise SpecError(name, f"must be between {lo:g} and {hi:g}")
    return value


def check_url(url: str, name: str = "urls") -> str:
    url = url.strip()
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError as exc:
        raise SpecError(name, f"{url[:80]!r} is not a valid URL ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SpecError(name, f"{url[:80]!r} is not an http(s) URL")
    if any(c.isspace() for c in url):
        raise SpecError(name, f"{url[:80]!r} contains spaces")
    return url


def check_folder(folder: str | os.PathLike[str], name: str = "folder") -> Path:
    """A folder we can write into, or a clear reason why not.

    It tries: ``os.access`` answers for the real user, and for root it says
    yes where writes fail (an effective uid dropped, NFS root squash).
    """
    path = Path(folder).expanduser()
    if not str(folder).strip():
        raise SpecError(name, "is empty")
    try:
        mode = path.stat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        raise SpecError(name, f"{path} does not exist") from None
    except OSError as exc:  # e.g. a parent folder we may not enter
        raise SpecError(name, f"{path} cannot be reached ({os_reason(exc)})") from None
    if not stat.S_ISDIR(mode):
        raise SpecError(name, f"{path} is a file, not a folder")
    try:
        fd, probe = tempfile.mkstemp(dir=path, prefix=".unfreeze-probe-")
    except OSError as exc:
        raise SpecError(name, f"{path} is not writable ({os_reason(exc)})") from None
    os.close(fd)
    os.unlink(probe)
    return path


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
        tasks = int(_number(tasks_raw, "tasks", 1, MAX_TASKS, integer=True))
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
        latency_ms=_number(
            job["latency_ms"] if latency_ms in (None, "") else latency_ms,
            "latency_ms",
            0,
            MAX_LATENCY_MS,
            integer=False,
        ),
        rate_mbps=_number(
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


def check_python(python: object, backend: str, workload: str) -> str:
    """The interpreter to run ``backend``'s threads in ("" = this one), as an absolute
    path; refused by name for a back end that cannot run elsewhere, a path that is no
    Python 3.11+, or an interpreter that cannot import the workload's tasks."""
    if python in (None, ""):
        return ""
    if backend not in PYTHON_BACKENDS:
        raise SpecError(
            "python",
            f"{backend} cannot run in another interpreter: {NOT_ELSEWHERE[backend]}. "
            f"Use {' or '.join(PYTHON_BACKENDS)}, or leave python empty",
        )
    from workers import pythons  # asks the interpreter itself, once per file

    interpreter = pythons.inspect(str(python))
    pythons.check_workload(interpreter, workload)
    return interpreter.path


def check_transfer(workload: str, backend: str, transfer: object) -> str:
    """``pickle`` (the default, anywhere) or ``shared-memory``, for CPU work on multiprocessing."""
    text = TRANSFERS[0] if transfer in (None, "") else str(transfer)
    if text not in TRANSFERS:
        raise SpecError("transfer", f"{text[:40]!r} is not one of {', '.join(TRANSFERS)}")
    if text != TRANSFERS[0] and (
        workload not in ("cpu-python", "cpu-native") or backend != "multiprocessing"
    ):
        raise SpecError("transfer", f"{text} applies to CPU work on multiprocessing")
    return text


def check_guard(workload: str, guard: object) -> str:
    known = GUARDS.get(workload, ("none",))
    text = "none" if guard in (None, "") else str(guard)
    if text not in known:
        if len(known) == 1:
            raise SpecError("guard", f"{workload} has no guard ({text[:40]!r} given): use none")
        raise SpecError(
            "guard", f"{text[:40]!r} is not a guard {workload} knows: {', '.join(known)}"
        )
    return text


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
        else _number(limit_raw, "limit", 0, MAX_MANY_WORKERS, integer=True)
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
    depth = _number(
        job["depth"] if depth_raw in (None, "") else depth_raw, "depth", 0, MAX_DEPTH, integer=True
    )
    if depth == 0:  # queue.Queue(0) and asyncio.Queue(0) hold any number of items
        raise SpecError(
            "depth", "must be at least 1: a queue of size 0 is unbounded (no backpressure)"
        )
    items = _number(
        job["items"] if items_raw in (None, "") else items_raw, "items", 1, MAX_ITEMS, integer=True
    )
    return int(limit), int(depth), int(items)


def format_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"
