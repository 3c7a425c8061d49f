"""The nine back ends and two pitfalls, one module each, behind one interface (:class:`Run`).

Modules are imported on first use: a spawned worker process unpickling a
task must not drag Qt in with it.
"""

from __future__ import annotations

from importlib import import_module

from workers.backends.base import Run
from workers.core import Task

REGISTRY = {
    "gui-thread": "workers.backends.guithread:GuiThreadRun",
    "qthread": "workers.backends.qthread:QThreadRun",
    "threading": "workers.backends.threads:ThreadingRun",
    "thread-pool": "workers.backends.threads:ThreadPoolRun",
    "qthread-pool": "workers.backends.qthreadpool:QThreadPoolRun",
    "multiprocessing": "workers.backends.processes:ProcessRun",
    "asyncio": "workers.backends.aio:AsyncioRun",
    "gui-thread-process-events": "workers.backends.processevents:GuiThreadProcessEventsRun",
    "qthread-signal-per-item": "workers.backends.signalperitem:QThreadSignalPerItemRun",
    "hybrid": "workers.backends.hybrid:HybridRun",
    "dask": "workers.backends.dask:DaskRun",
}

DESCRIPTIONS = {
    "gui-thread": "Runs each task in one block on the GUI thread: the window freezes. "
    "Never do this; it is here so you can feel why.",
    "qthread": "QThread workers (moveToThread) that signal back to the GUI: "
    "Qt's own threads, good for I/O and for C code that releases the GIL.",
    "threading": "Plain threading.Thread workers: good for I/O; pure-Python work "
    "still runs one thread at a time (the GIL).",
    "thread-pool": "concurrent.futures.ThreadPoolExecutor: the same threads, "
    "managed for you; the easy default for I/O.",
    "qthread-pool": "QRunnables on a QThreadPool of the run's own: Qt's pool, the pattern "
    "most PySide tutorials teach first; the same threads and GIL as thread-pool.",
    "multiprocessing": "A pool of processes (spawn), each with its own GIL: "
    "scales pure-Python work over all cores, at a start-up and pickling cost.",
    "asyncio": "Coroutines on an asyncio loop driven by Qt's event loop, all on the GUI thread: "
    "juggles many downloads with no thread, but CPU work blocks it.",
    "gui-thread-process-events": "Pitfall: gui-thread whose task calls "
    "QApplication.processEvents() between chunks. The lag falls, but every click, timer and "
    "close now runs inside the task's own call stack (re-entrancy); the record counts them.",
    "qthread-signal-per-item": "Pitfall: qthread emitting one queued signal per progress call "
    "(per item), as tutorials do, instead of at most 50 a second: the GUI thread delivers "
    "every one, and the window shows progress late.",
    "hybrid": "The pipeline job only: each item's download on threads, its pure-Python "
    "checksum on a pool of processes (one per core), its write on a thread, with bounded "
    "queues between: every stage busy at once, none outrunning the next.",
    "dask": "Tasks on a dask.distributed cluster: by default a LocalCluster of worker processes "
    "the app starts, or the scheduler you name. Scales like processes; every task, result and "
    "message goes through the scheduler.",
}


def load(backend: str) -> type[Run]:
    module, _, name = REGISTRY[backend].partition(":")
    run_class: type[Run] = getattr(import_module(module), name)
    return run_class


def preload() -> None:
    """Import every back end now: a first import mid-run would freeze the GUI
    thread for milliseconds and be measured as lag."""
    for backend in REGISTRY:
        load(backend)
    import_module("workers.backends.otherpython")


def start(
    backend: str,
    tasks: list[Task],
    workers: int,
    *,
    python: str = "",
    workload: str = "",
    scheduler: str = "",
) -> Run:
    """Start ``tasks`` on ``backend`` with ``workers`` workers; with ``python`` (the path
    of another interpreter), in a helper process of that interpreter (threading and
    thread-pool only: see :mod:`workers.backends.otherpython`); dask: on the scheduler
    at ``scheduler``, if given."""
    if python:
        from workers.backends.otherpython import OtherPythonRun

        run: Run = OtherPythonRun(tasks, workers, python=python, backend=backend, workload=workload)
    else:
        options = {"scheduler": scheduler} if scheduler else {}
        run = load(backend)(tasks, workers, **options)
    run.start()
    return run
