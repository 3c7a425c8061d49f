"""``qthread-pool``: Qt's own pool, one ``QRunnable`` per task on a ``QThreadPool``.

What a learner would write (examples/qthread_pool_example.py)::

    pool = QThreadPool()                # the run's own, not globalInstance()
    pool.setMaxThreadCount(n)
    for task in tasks:
        pool.start(TaskRunnable(task))  # its run() works in a pool thread
    ...
    pool.clear()                        # on cancel: the runnables not started yet
    pool.waitForDone(ms)                # on close, with a deadline

We deviate from the tutorials in two ways. First, their runnables emit a signal of a
small QObject for every item. Here each event goes to ``Run.post`` (a deque
append) and the GUI thread drains it once a frame (see
:mod:`workers.backends.base`). Measured here: a queued signal costs the
worker ~1.7 us and the GUI thread ~1.1 us to deliver, each, in the event
queue ahead of the user's clicks (100 000 events: ~110 ms of GUI-thread
work); an append costs 0.04 us and nothing on the GUI thread.

Second, as ``thread-pool`` does: starting every runnable at once
blocks the GUI thread while the first ones compute, since each ``start()``
gives up the GIL and must wait to take it back (1 000 pure-Python tasks on 2
workers: 160-600 ms, measured here). Only two per worker are queued; each
runnable, once done, starts the next. ``clear()`` drops the queued ones.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque

from PySide6.QtCore import QRunnable, QThreadPool

from workers.backends.base import Run
from workers.core import Task, make_event, run_task


class TaskRunnable(QRunnable):
    """One task; it runs only if it can still claim its task (a cancel may have)."""

    def __init__(self, task: Task, run: QThreadPoolRun) -> None:
        super().__init__()  # autoDelete: the pool frees it once run() returns
        self.task, self.owner = task, run

    def run(self) -> None:  # in a pool thread: no widget here
        owner = self.owner
        if not owner.claim(self.task.index):
            return  # the run was cancelled first and reported this task
        thread = threading.current_thread()  # Python sees a Qt thread as "Dummy-N"
        if not thread.name.startswith(f"{owner.name}_"):
            thread.name = f"{owner.name}_{next(owner.thread_numbers)}"
        run_task(self.task, owner.post, owner.cancel_token)
        owner.start_next()


class QThreadPoolRun(Run):
    backend = "qthread-pool"
    _count = 0

    def _start(self) -> None:
        QThreadPoolRun._count += 1
        self.name = f"QThreadPool-{QThreadPoolRun._count}"
        self.thread_numbers = itertools.count()
        # Tasks not claimed yet. dict.pop is atomic: a task is claimed once, by
        # its runnable (it runs) or by cancel() (it is reported cancelled).
        self.unclaimed = {task.index: task for task in self.tasks}
        self.pool = QThreadPool()
        self.pool.setObjectName(self.name)
        self.pool.setMaxThreadCount(self.workers)
        self.queued = deque(self.tasks)
        for _ in range(2 * self.workers):
            self.start_next()

    def start_next(self) -> None:
        """Queue the next task's runnable in the pool (from any thread), unless cancelled."""
        if self.cancel_token.is_set():
            return  # cancel() reports the tasks never queued
        try:
            task = self.queued.popleft()
        except IndexError:
            return
        self.pool.start(TaskRunnable(task, self))

    def claim(self, index: int) -> bool:
        return self.unclaimed.pop(index, None) is not None

    def cancel(self) -> None:
        """Running tasks stop at their next chunk; queued runnables are dropped, and
        they and the tasks never queued are reported cancelled."""
        super().cancel()
        self.pool.clear()
        for index in list(self.unclaimed):
            if self.claim(index):
                self.post(make_event("cancelled", index))

    def _close(self, deadline: float) -> None:
        self.pool.clear()
        if not self.pool.waitForDone(max(0, int((deadline - time.perf_counter()) * 1000))):
            _keep_until_done(self.pool)  # a task stuck in a call that cannot be cancelled


#: Pools whose runnables outlived ``close()``. Destroying a QThreadPool waits for
#: its runnables for ever (its destructor calls ``waitForDone()``), so each stays
#: referenced here; :func:`stragglers` lets go of those that are done.
_STRAGGLERS: list[QThreadPool] = []


def _keep_until_done(pool: QThreadPool) -> None:
    stragglers()  # let go of the ones done by now
    _STRAGGLERS.append(pool)


def stragglers(timeout: float = 0.0) -> list[str]:
    """Names of pools still running a task after their run was closed, each given
    up to ``timeout`` seconds in all to finish."""
    deadline = time.perf_counter() + timeout
    for pool in list(_STRAGGLERS):
        if pool.waitForDone(max(0, int((deadline - time.perf_counter()) * 1000))):
            _STRAGGLERS.remove(pool)
    return [pool.objectName() for pool in _STRAGGLERS]
