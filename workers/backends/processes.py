"""``multiprocessing``: each process has its own interpreter and its own GIL.

So pure-Python work scales with the cores.  The price: starting a process
(``spawn`` starts a fresh interpreter, tens to hundreds of ms, shown as
*start s*) and pickling every argument and result.  ``fork`` is not used: it
copies a process whose Qt threads are already running.

The pattern comes first, as the Processes lesson tells it: start a
``ProcessPoolExecutor`` with spawn (:func:`start_pool`), submit the tasks
(:func:`submit`), collect each task's result from its future
(:func:`outcome`), and forward progress through one multiprocessing queue
(:func:`work` puts, :func:`received` gets). Tasks, events and results cross as
pickles, counted as they cross (:mod:`workers.crossing`: ``bytes_sent`` and
``bytes_received`` in the record); a CPU task's input crosses pickled with it
or is placed once in shared memory (:mod:`workers.inputs`).
:class:`ProcessRun` wires it into the app.  What keeps it safe
(workers that die with the app and run below it, a launcher thread that
outlives them, a kill when a worker ignores the cancel) is in
:mod:`workers.procs`.

Progress crosses through the multiprocessing queue; :meth:`ProcessRun._collect`
moves it to ``Run.post``'s inbox, and from there it reaches the window as every
back end's events do (see :mod:`workers.backends.base`).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.queues
import multiprocessing.synchronize
import os
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from functools import partial
from typing import Any, cast

from workers import crossing, procs, shared
from workers.backends.base import Run
from workers.core import Cancelled, Event, Task, describe, make_event, run_task
from workers.inputs import Placement

# -- the pattern ------------------------------------------------------------------
#: ``spawn``: every worker is a fresh interpreter; never ``fork`` once Qt's threads run.
SPAWN = multiprocessing.get_context("spawn")


def start_pool(
    workers: int,
    events: multiprocessing.queues.Queue[Any],
    cancel: multiprocessing.synchronize.Event,
    objects: dict[str, Any] | None = None,
) -> ProcessPoolExecutor:
    """``workers`` processes, each with its own interpreter and its own GIL.

    Every worker gets the run's ``events`` queue (its progress goes there),
    its ``cancel`` event (the token its tasks check between chunks) and the
    locks, semaphore, queue or shared memory its tasks share, if any
    (``objects``, see :mod:`workers.shared`): such objects cross only when a
    process starts.
    """
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=SPAWN,
        initializer=init_worker,
        initargs=(events, cancel, os.getpid(), objects or {}),
    )


_events: Any = None  # in a worker: the run's queue
_cancel: Any = None  # in a worker: the run's cancel event
_shared: dict[str, Any] = {}  # in a worker: what the run's tasks share


def init_worker(events: Any, cancel: Any, app_pid: int, objects: dict[str, Any]) -> None:
    """Runs once in each new worker: keep the queue, the token and the shared objects."""
    global _events, _cancel, _shared
    _events, _cancel, _shared = events, cancel, objects
    procs.harden_worker(app_pid, events)  # die with the app, run below it, say our pid


def worker_cancel() -> Any:
    """In a worker: the run's cancel event, for work submitted as a plain call (not a Task)."""
    return _cancel


def work(task: Task) -> bytes:
    """Runs one task in a worker; progress goes to the queue as it happens.

    "started" and the final event are also returned, as the future's result:
    the queue may deliver later than the future. Both are sealed (pickled) here,
    so that the app counts the bytes it receives.
    """
    kept: list[Event] = []

    def post(event: Event) -> None:
        if event.kind != "progress":
            kept.append(event)
        if not event.final:
            _events.put(crossing.seal(event))

    run_task(shared.bind(task, _shared), post, _cancel)
    return crossing.seal(kept)


def submit(
    pool: ProcessPoolExecutor,
    task: Task | crossing.Sealed,
    when_done: Callable[[Future[bytes]], None],
) -> None:
    """Queue ``task`` on the pool; ``when_done(future)`` runs on the pool's thread once it ends.

    A callback, not ``future.result()``: waiting on the GUI thread would freeze it.
    """
    # A Sealed task reaches the worker as the Task it seals (its pickle unseals it).
    pool.submit(work, cast(Task, task)).add_done_callback(when_done)


def outcome(
    index: int, future: Future[bytes], cancelled: bool, tally: crossing.Tally
) -> list[Event]:
    """The events a task's finished future stands for; ``cancelled``: the run was.
    The bytes of its result count into ``tally``."""
    if future.cancelled():  # still queued when the run was cancelled: it never started
        return [make_event("cancelled", index)]
    exc = future.exception()
    if exc is not None:  # its worker died, or was killed after ignoring a cancel
        return [procs.failure(index, exc, cancelled=cancelled)]
    blob = future.result()
    tally.add(len(blob))
    events: list[Event] = crossing.unseal(blob)
    return events


def received(events: multiprocessing.queues.Queue[Any]) -> list[bytes]:
    """What the workers put on the queue so far (sealed), without waiting."""
    out = []
    with contextlib.suppress(queue.Empty, OSError, EOFError, ValueError):  # empty, or closed
        while True:
            out.append(events.get_nowait())
    return out


# -- the back end -----------------------------------------------------------------
#: How long cancelled workers get to stop at a chunk boundary before being killed.
CANCEL_GRACE_S = 1.5


def _left(until: float) -> float:
    return max(0.0, until - time.perf_counter())


class ProcessRun(Run):
    backend = "multiprocessing"
    kit = shared.PROCESSES

    def _start(self) -> None:
        self.events: multiprocessing.queues.Queue[Any] = SPAWN.Queue()
        self.mp_cancel = SPAWN.Event()
        self.pool: ProcessPoolExecutor | None = None
        self.worker_pids = procs.WorkerPids()
        self.cancelled_at: float | None = None
        self.submitted = 0  # tasks handed to the pool so far
        self.given_up = False  # the pool could not be started
        self.sent, self.got = crossing.Tally(), crossing.Tally()  # bytes across, each way
        self.placement: Placement | None = None  # shared-memory inputs, made at spawn
        # Spawning and, at the end, shutting the pool down happen on a
        # low-priority thread that outlives the workers (see procs.Launcher).
        self.launcher = procs.Launcher(self._spawn, self._shut_down)
        # The other tasks are submitted from a thread at the GUI's priority: a
        # low-priority thread holding the GIL (1 000 submissions, a garbage
        # collection they trigger) stalls the GUI thread too, by 60-300 ms here.
        self.feeder = threading.Thread(target=self._feed, name="pool-feeder")
        self.launcher.start()
        self.feeder.start()

    def _spawn(self) -> None:
        try:
            self.placement = Placement(self.tasks)  # a segment only for shared-memory inputs
            self.tasks = self.placement.tasks
            self.pool = start_pool(self.workers, self.events, self.mp_cancel, self.shared)
            # One task per worker: each submission spawns a worker, from this thread.
            self._submit(self.pool, self.tasks[: self.workers])
        except Exception as exc:
            self._give_up(exc)

    def _shut_down(self) -> None:
        if self.pool is not None:
            procs.shut_down(self.pool)
        if self.placement is not None:  # the workers are gone: nobody reads it any more
            self.placement.release()

    def _feed(self) -> None:
        self.launcher.launched.wait()
        try:
            if self.pool is not None and not self.given_up:
                self._submit(self.pool, self.tasks[self.workers :])
        except Exception as exc:
            self._give_up(exc)
        # A submission spawns a worker whenever none is idle and the pool has
        # fewer than it may (tasks that ended while the first ones were still
        # being submitted leave it short): this thread must outlive it too.
        self.launcher.join()

    def _submit(self, pool: ProcessPoolExecutor, tasks: list[Task]) -> None:
        for task in tasks:
            if self.cancel_token.is_set():
                raise Cancelled
            sealed = crossing.Sealed(task, self.sent)  # counts its bytes as it is sent
            submit(pool, sealed, partial(self._settle, task.index))  # RuntimeError once shut down
            self.submitted += 1

    def _settle(self, index: int, future: Future[bytes]) -> None:
        for event in outcome(index, future, self.cancel_token.is_set(), self.got):
            self.post(event)

    def _give_up(self, exc: Exception) -> None:
        """Tasks the pool did not take get their verdict here (drain keeps the first)."""
        if self.cancel_token.is_set() and isinstance(exc, Cancelled | RuntimeError):
            for task in self.tasks[self.submitted :]:  # the others report through their futures
                self.post(make_event("cancelled", task.index))
            return
        # No pool (e.g. too many open files): a verdict for every task, no hang.
        self.given_up = True
        detail = f"could not start worker processes: {describe(exc)}"
        for task in self.tasks:
            self.post(make_event("failed", task.index, detail=detail))

    def _collect(self) -> None:
        for blob in received(self.events):
            self.got.add(len(blob))
            item = crossing.unseal(blob)
            if isinstance(item, procs.WorkerUp):
                self.worker_pids.add(item.pid)
            else:
                self.post(item)
        if self.cancelled_at is None or self.finished:
            return
        if _left(self.cancelled_at + CANCEL_GRACE_S) == 0:
            self.worker_pids.kill()  # they ignored the cancel: the pool breaks, their tasks end

    def cancel(self) -> None:
        if self.cancelled_at is not None:  # not the token: a signal handler may set it alone
            return
        super().cancel()
        self.mp_cancel.set()  # running tasks stop at their next chunk
        self.cancelled_at = time.perf_counter()
        self.launcher.stop()  # queued tasks never start: the pool cancels them as it shuts down

    def pids(self) -> list[int]:
        """Pids of the workers that have started so far (each reports its own)."""
        self._collect()
        return self.worker_pids.pids()

    def worker_processes(self) -> list[int]:
        return self.worker_pids.pids()  # no _collect: that is the GUI thread's

    def crossed(self) -> dict[str, int | None]:
        """The pickled tasks sent so far, and the events and results received."""
        return {"bytes_sent": self.sent.total, "bytes_received": self.got.total}

    def _close(self, deadline: float) -> None:
        self.launcher.stop()
        grace = deadline
        if self.cancelled_at is not None:
            grace = min(deadline, self.cancelled_at + CANCEL_GRACE_S)
        if not self.launcher.join(_left(grace)):  # a worker still runs a task
            self._collect()
            self.worker_pids.kill()
            self.launcher.join(_left(deadline))
        self.feeder.join(_left(deadline))
        self._collect()
        self.events.close()
        self.events.join_thread()
