"""``multiprocessing``: each worker is a process with its own interpreter and GIL.

Pure-Python work scales with the cores, at the cost of starting processes
(spawn: a fresh interpreter each, reported as start-up) and of pickling
everything that crosses.  Progress flows through one ``multiprocessing``
queue; each task's final outcome comes back as its future's result, so a
worker that dies still leaves a clear verdict for its task.
"""

from __future__ import annotations

import contextlib
import multiprocessing.queues
import multiprocessing.synchronize  # noqa: F401
import os
import queue
import signal
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from workers import procs
from workers.backends.base import Run
from workers.core import Event, Task, make_event, run_task

#: How long cancelled workers get to stop at a chunk boundary before being killed.
CANCEL_GRACE_S = 1.5

_events: Any = None
_cancel: Any = None


def _init(events: Any, cancel: Any) -> None:
    """Worker initializer: die with the app, keep the channel and the token."""
    global _events, _cancel
    procs.die_with_parent()
    procs.lower_priority()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is the app's to handle
    _events, _cancel = events, cancel


def _run(task: Task) -> list[Event]:
    """Runs in the worker: live events go to the queue; "started" and the final
    event are also returned, since the queue may deliver later than the future."""
    kept: list[Event] = []

    def emit(event: Event) -> None:
        if event.kind != "progress":
            kept.append(event)
        if not event.final:
            _events.put(event)

    run_task(task, emit, _cancel)
    return kept


class ProcessRun(Run):
    backend = "multiprocessing"

    def _start(self) -> None:
        ctx = procs.context()
        self.events = ctx.Queue()
        self.mp_cancel = ctx.Event()
        self.cancelled_at: float | None = None
        self.pool: ProcessPoolExecutor | None = None
        # Spawning blocks for tens of ms: do it off the GUI thread, so starting
        # processes costs start-up time but never UI responsiveness.
        self.launcher = threading.Thread(target=self._launch, args=(ctx,), name="pool-launcher")
        self.launcher.start()

    def _launch(self, ctx: Any) -> None:
        procs.lower_priority(thread_only=True)  # children inherit it from their first instruction
        pool = ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=ctx,
            initializer=_init,
            initargs=(self.events, self.mp_cancel),
        )
        for task in self.tasks:
            future = pool.submit(_run, task)
            future.add_done_callback(lambda f, i=task.index: self._settle(i, f))
        self.pool = pool
        if self.cancel_token.is_set():
            self._cancel_queued()

    def _settle(self, index: int, future: Future[list[Event]]) -> None:
        """Runs on the executor's manager thread: turn a future into a final event."""
        if future.cancelled():
            self.emit(make_event("cancelled", index))
            return
        exc = future.exception()
        if exc is None:
            for event in future.result():
                self.emit(event)
        elif self.cancel_token.is_set():
            self.emit(make_event("cancelled", index))
        elif isinstance(exc, BrokenProcessPool):
            self.emit(make_event("failed", index, detail="worker process died"))
        else:
            self.emit(make_event("failed", index, detail=f"{type(exc).__name__}: {exc}"))

    def _collect(self) -> None:
        with contextlib.suppress(queue.Empty, OSError, EOFError, ValueError):
            while True:
                self.inbox.append(self.events.get_nowait())
        if self.cancelled_at is not None and not self.finished:
            if time.perf_counter() - self.cancelled_at > CANCEL_GRACE_S:
                self._kill(self.pids())

    def cancel(self) -> None:
        if self.cancel_token.is_set():
            return
        super().cancel()
        self.mp_cancel.set()
        self.cancelled_at = time.perf_counter()
        self._cancel_queued()

    def _cancel_queued(self) -> None:
        if self.pool is not None:
            for item in list(self.pool._pending_work_items.values()):
                item.future.cancel()  # queued tasks never start

    def pids(self) -> list[int]:
        """Worker pids (the executor has no public way to list its processes)."""
        if self.pool is None:
            return []
        return [p.pid for p in list((self.pool._processes or {}).values()) if p.pid]

    @staticmethod
    def _kill(pids: list[int]) -> None:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def _close(self, deadline: float) -> None:
        self.launcher.join(max(0.0, deadline - time.perf_counter()))
        if self.pool is None:  # could not even start its processes in time
            return
        processes = list((self.pool._processes or {}).values())
        manager = self.pool._executor_manager_thread  # shutdown(wait=False) forgets it
        self.pool.shutdown(wait=False, cancel_futures=True)  # idle workers exit now
        grace = deadline
        if self.cancelled_at is not None:
            grace = min(deadline, self.cancelled_at + CANCEL_GRACE_S)
        for process in processes:
            process.join(max(0.0, grace - time.perf_counter()))
        self._kill([p.pid for p in processes if p.is_alive() and p.pid])
        for process in processes:
            process.join(max(0.0, deadline - time.perf_counter()))
        if manager is not None:
            manager.join(max(0.0, deadline - time.perf_counter()))
        self._collect()
        self.events.close()
        self.events.join_thread()
