"""What crosses to a dask worker with a task: its cancel token, what it shares, its events.

A dask task is pickled (cloudpickle) and may run in a process on another
machine, so nothing of the app's memory reaches it: no ``threading.Event``,
no ``multiprocessing`` lock, no deque. What reaches it is a *name* the
scheduler knows, and the worker asks the scheduler:

- the cancel token is a :class:`distributed.Event` (:class:`ClusterCancel`),
  asked at most every ``CHECK_S``: each ``is_set()`` is a round trip to the
  scheduler (0.46 ms measured here on loopback), too dear for every chunk;
- a download's connection limit is a :class:`distributed.Semaphore` and the
  queue workload's queue a :class:`distributed.Queue` (:data:`KIT`), made on
  first use in each worker from their names, so the workloads call the same
  ``acquire``/``put``/``get`` as on threads;
- events go back through the scheduler's event log
  (``Worker.log_event``, read by ``Client.subscribe_topic``): 13 µs per event
  for the worker, never waiting for an answer, against 660 µs for a
  ``distributed.Queue.put`` (measured here, 2 000 and 500 calls).

The hazards lab's races and deadlocks are not run on dask: see
:data:`workers.names.NO_DASK_HAZARDS`.
"""

from __future__ import annotations

import queue
import time
from typing import Any

from workers import shared
from workers.core import Event
from workers.names import NO_DASK_HAZARDS

#: How often a task may ask the scheduler whether the run was cancelled.
CHECK_S = 0.05


class ClusterCancel:
    """A cancel token a dask worker can read: a :class:`distributed.Event` by name,
    asked at most every :data:`CHECK_S`, and remembered once set."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._seen = False
        self._asked = 0.0
        self._event: Any = None

    def __reduce__(self) -> tuple[type[ClusterCancel], tuple[str]]:
        return ClusterCancel, (self.name,)  # only the name travels

    def is_set(self) -> bool:
        now = time.perf_counter()
        if self._seen or now - self._asked < CHECK_S:
            return self._seen
        self._asked = now
        if self._event is None:
            from distributed import Event as ClusterEvent

            self._event = ClusterEvent(self.name)
        self._seen = bool(self._event.is_set())
        return self._seen


class ClusterSemaphore:
    """``acquire(timeout=…)`` / ``release()`` of a :class:`distributed.Semaphore`
    that every worker names alike (``size`` leases)."""

    def __init__(self, name: str, size: int) -> None:
        self.name, self.size = name, size
        self._real: Any = None

    def __reduce__(self) -> tuple[type[ClusterSemaphore], tuple[str, int]]:
        return ClusterSemaphore, (self.name, self.size)

    def _semaphore(self) -> Any:
        if self._real is None:
            from distributed import Semaphore

            self._real = Semaphore(max_leases=self.size, name=self.name)
        return self._real

    def acquire(self, timeout: float | None = None) -> bool:
        return bool(self._semaphore().acquire(timeout=timeout))

    def release(self) -> None:
        self._semaphore().release()


class ClusterQueue:
    """A bounded :class:`distributed.Queue` with ``queue.Queue``'s words: a put that
    finds it full raises ``queue.Full``, a get that finds nothing ``queue.Empty``
    (dask raises ``TimeoutError`` for both)."""

    def __init__(self, name: str, size: int) -> None:
        self.name, self.size = name, size
        self._real: Any = None

    def __reduce__(self) -> tuple[type[ClusterQueue], tuple[str, int]]:
        return ClusterQueue, (self.name, self.size)

    def _queue(self) -> Any:
        if self._real is None:
            from distributed import Queue

            self._real = Queue(self.name, maxsize=self.size)
        return self._real

    def put(self, item: Any, timeout: float | None = None) -> None:
        try:
            self._queue().put(item, timeout=timeout)
        except TimeoutError:
            raise queue.Full from None

    def put_nowait(self, item: Any) -> None:
        self.put(item, timeout=0)

    def get(self, timeout: float | None = None) -> Any:
        try:
            return self._queue().get(timeout=timeout)
        except TimeoutError:
            raise queue.Empty from None

    def qsize(self) -> int:
        return int(self._queue().qsize())


class QueueDepth:
    """The app's view of a run's :class:`ClusterQueue`: its depth as last asked by the
    run's own thread (``qsize`` is read on the GUI thread each frame)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.depth = 0

    def qsize(self) -> int:
        return self.depth


def _refused(n: int) -> Any:
    raise ValueError(NO_DASK_HAZARDS)


def kit(run: str) -> shared.Kit:
    """The kit of one run: names prefixed with the run's own, so runs never share."""
    return shared.Kit(
        semaphore=lambda n: ClusterSemaphore(f"{run}-semaphore", n),
        queue=lambda n: ClusterQueue(f"{run}-queue", n),
        lock=_refused,
        timed_locks=_refused,
        ints=_refused,
        start_line=_refused,
    )


def encode(event: Event) -> list[Any]:
    """A started or progress event as plain values (the scheduler's log takes msgpack)."""
    return [event.kind, event.task, event.t, event.value, event.worker, event.pid, event.tid]


def decode(msg: list[Any]) -> Event:
    kind, task, t, value, worker, pid, tid = msg
    return Event(kind, task, t, value, worker=worker, pid=pid, tid=tid)
