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
from workers.core import Cancelled, Event, Task, describe, make_event, run_task

#: How long cancelled workers get to stop at a chunk boundary before being killed.
CANCEL_GRACE_S = 1.5

_events: Any = None
_cancel: Any = None


def _init(events: Any, cancel: Any, app_pid: int) -> None:
    """Worker initializer: die with the app, keep the channel and the token."""
    global _events, _cancel
    procs.die_with_parent(app_pid)
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
        # The executor forgets its processes and manager thread on shutdown
        # (which cancel calls); close still needs them, to join or kill.
        self.processes: dict[int, Any] = {}
        self.manager: threading.Thread | None = None
        self.submitted = 0  # tasks handed to the pool so far
        self.given_up = False  # the pool could not be started
        self.launched = threading.Event()  # the workers were spawned (or could not be)
        self.released = threading.Event()  # the workers are gone: the launcher may end
        # Spawning blocks for tens of ms: do it off the GUI thread, so starting
        # processes costs start-up time but never UI responsiveness.
        self.launcher = threading.Thread(target=self._launch, args=(ctx,), name="pool-launcher")
        # The other tasks are submitted from a thread at the GUI's priority: a
        # low-priority thread holding the GIL (1 000 submissions, a garbage
        # collection they trigger) stalls the GUI thread too, by 60-300 ms here.
        self.feeder = threading.Thread(target=self._feed, name="pool-feeder")
        self.launcher.start()
        self.feeder.start()

    def _launch(self, ctx: Any) -> None:
        procs.lower_priority(thread_only=True)  # children inherit it from their first instruction
        try:
            pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=ctx,
                initializer=_init,
                initargs=(self.events, self.mp_cancel, os.getpid()),
            )
            self.processes = pool._processes
            self.pool = pool
            # One task per worker: each submission spawns a worker, from this thread.
            self._submit(pool, self.tasks[: self.workers])
        except Exception as exc:
            self._give_up(exc)
        finally:
            self.launched.set()
        # Linux sends PR_SET_PDEATHSIG when the *thread* that started a worker
        # ends, not its process: were this thread to end now, every worker that
        # already armed it would be killed (seen with 5 000 tasks, whose
        # submission outlasts the workers' start-up).  So it waits for them.
        self.released.wait()

    def _feed(self) -> None:
        self.launched.wait()
        pool = self.pool
        try:
            if pool is not None and not self.given_up:
                self._submit(pool, self.tasks[self.workers :])
        except Exception as exc:
            self._give_up(exc)
        if self.cancel_token.is_set():
            self._cancel_queued()

    def _submit(self, pool: ProcessPoolExecutor, tasks: list[Task]) -> None:
        for task in tasks:
            if self.cancel_token.is_set():
                raise Cancelled
            future = pool.submit(_run, task)  # RuntimeError once cancel shut the pool down
            future.add_done_callback(lambda f, i=task.index: self._settle(i, f))
            self.manager = self.manager or pool._executor_manager_thread
            self.submitted += 1

    def _give_up(self, exc: Exception) -> None:
        """Tasks the pool did not take get their verdict here (drain keeps the first)."""
        if self.cancel_token.is_set() and isinstance(exc, Cancelled | RuntimeError):
            for task in self.tasks[self.submitted :]:  # the others report through their futures
                self.emit(make_event("cancelled", task.index))
            return
        # No pool (e.g. too many open files): a verdict for every task, no hang.
        self.given_up = True
        detail = f"could not start worker processes: {describe(exc)}"
        for task in self.tasks:
            self.emit(make_event("failed", task.index, detail=detail))

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
        """Queued tasks never start: the executor's manager thread cancels them.

        Cancelling their futures here instead would leave cancelled items in the
        executor's books, and the manager thread would crash on them
        (InvalidStateError, CPython gh-107219, fixed in 3.12 only) once a
        stubborn worker is killed, leaving its queue thread behind.
        """
        if self.pool is not None:
            self.pool.shutdown(wait=False, cancel_futures=True)

    def pids(self) -> list[int]:
        """Worker pids (the executor has no public way to list its processes)."""
        return [p.pid for p in list(self.processes.values()) if p.pid]

    @staticmethod
    def _kill(pids: list[int]) -> None:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def _close(self, deadline: float) -> None:
        self.launched.wait(max(0.0, deadline - time.perf_counter()))
        self.feeder.join(max(0.0, deadline - time.perf_counter()))  # cancelled: it stops at once
        try:
            self._stop_pool(deadline)
        finally:
            self.released.set()
            self.launcher.join(max(0.0, deadline - time.perf_counter()))

    def _stop_pool(self, deadline: float) -> None:
        if self.pool is None:  # could not even start its processes
            return
        processes = list(self.processes.values())
        manager = self.manager
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
