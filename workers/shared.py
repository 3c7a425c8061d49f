"""What a run's tasks share (a semaphore, a queue, locks, counters), made by the back end.

A task is a module-level function of plain, picklable arguments (invariant
1), so it cannot carry a live lock, queue or shared memory in its kwargs: a
``multiprocessing`` lock, queue or ``RawArray`` reaches another process only
when that process starts (by inheritance), never inside a submitted task
("should only be shared between processes through inheritance"). And which
kind of object is right depends on where the task runs: a
``threading.Lock`` would block an asyncio loop, an ``asyncio.Lock`` means
nothing to a thread, a Python list is one object to threads but a copy in
each process.

So a task names what it needs with a placeholder, :class:`Shared`, in its
kwargs: "the run's lock called ``lock``", "the run's 4 integers called
``applied``" (:func:`placeholders` names several at once). When a run starts, it makes one real object per name with its
back end's :class:`Kit` (:data:`THREADS`, :data:`SERIAL`, :data:`ASYNCIO` or
:data:`PROCESSES`), and each task gets that object in place of its
placeholder just before it runs (:func:`bind`). Back ends that run tasks in
the app's process bind them all at start (``Run.start``); the process back
end hands the objects to each worker when it starts (the pool's initializer)
and binds there. The workload says *what* is shared, the back end *which
kind*: neither knows the other.

The run keeps the objects (``Run.shared``, by name), so the app reads the
same memory the workers wrote: the queue's depth as it runs, the race's
final balance, the deadlock's wait-for graph (each workload's ``readout``),
never a number a worker chose to report.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import queue
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, MutableSequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from workers.core import CancelToken, Task, checkpoint

#: ``lock``: one lock taken with ``with`` (or ``async with`` by a coroutine).
#: ``timed_locks``: ``size`` locks a plain function takes with ``acquire(timeout=…)``.
#: ``ints``: ``size`` integers, all zero, every worker reading and writing the same ones.
#: ``start_line``: where ``size`` workers wait for each other (:func:`start_line`).
Kind = Literal["semaphore", "queue", "lock", "timed_locks", "ints", "start_line"]
#: How often a task waiting on a shared object looks at its cancel token.
POLL_S = 0.1


@dataclass(frozen=True, slots=True)
class Shared:
    """A placeholder in a task's kwargs: "the run's ``kind`` called ``name``, of ``size``"."""

    name: str
    kind: Kind
    size: int  # a semaphore's count, a queue's bound, how many locks, integers or workers


@dataclass(frozen=True, slots=True)
class Kit:
    """How one family of back ends makes each kind of shared object, given its size."""

    semaphore: Callable[[int], Any]
    queue: Callable[[int], Any]
    lock: Callable[[int], Any]
    timed_locks: Callable[[int], Any]
    ints: Callable[[int], Any]
    #: None where the tasks do not run side by side: nobody to wait for.
    start_line: Callable[[int], Any]
    #: The objects reach the workers when they start (processes): bind there, not at start.
    inherited: bool = False


def _zeros(n: int) -> list[int]:
    return [0] * n  # one list: every thread (or coroutine) of the process sees the same one


def _thread_locks(n: int) -> list[threading.Lock]:
    return [threading.Lock() for _ in range(n)]


def _nobody(n: int) -> None:
    return None


THREADS = Kit(
    semaphore=threading.BoundedSemaphore,
    queue=queue.Queue,
    lock=lambda _: threading.Lock(),
    timed_locks=_thread_locks,
    ints=_zeros,
    start_line=_zeros,
)
#: The GUI thread runs its tasks one after another: a start line would wait for ever.
SERIAL = replace(THREADS, start_line=_nobody)
#: Coroutines start together on one loop, where a polled wait would hold the others up.
#: A plain function on the loop (no ``async`` twin) takes thread locks with a timeout.
ASYNCIO = Kit(
    semaphore=asyncio.BoundedSemaphore,
    queue=asyncio.Queue,
    lock=lambda _: asyncio.Lock(),  # binds to the running loop at its first use
    timed_locks=_thread_locks,
    ints=_zeros,
    start_line=_nobody,
)
_SPAWN = multiprocessing.get_context("spawn")


def _shared_ints(n: int) -> Any:
    """``n`` int64 in shared memory with no lock of its own: every guard is the workload's."""
    return _SPAWN.RawArray("q", n)


PROCESSES = Kit(
    semaphore=_SPAWN.BoundedSemaphore,
    queue=_SPAWN.Queue,
    lock=lambda _: _SPAWN.Lock(),
    timed_locks=lambda n: [_SPAWN.Lock() for _ in range(n)],
    ints=_shared_ints,
    start_line=_shared_ints,
    inherited=True,
)


def placeholders(**needs: tuple[Kind, int]) -> dict[str, Shared]:
    """``lock=("lock", 1)`` -> ``{"lock": Shared("lock", "lock", 1)}``: kwargs for tasks
    that share these objects, each named as its kwarg."""
    return {name: Shared(name, kind, size) for name, (kind, size) in needs.items()}


def needs(tasks: list[Task]) -> dict[str, Shared]:
    """Every placeholder the tasks name, once per name."""
    return {v.name: v for t in tasks for v in t.kwargs.values() if isinstance(v, Shared)}


def make(tasks: list[Task], kit: Kit) -> dict[str, Any]:
    """One real object per name the tasks need, of the kit's kind."""
    return {name: getattr(kit, need.kind)(need.size) for name, need in needs(tasks).items()}


def bind(task: Task, objects: Mapping[str, Any]) -> Task:
    """``task`` with each placeholder replaced by the run's object of that name."""
    if not any(isinstance(v, Shared) for v in task.kwargs.values()):
        return task
    kwargs = {k: objects[v.name] if isinstance(v, Shared) else v for k, v in task.kwargs.items()}
    return replace(task, kwargs=kwargs)


@contextlib.contextmanager
def held(gate: Any, cancel: CancelToken) -> Iterator[None]:
    """Hold ``gate`` (a semaphore; None: no limit), waiting for it cancellably."""
    if gate is None:
        yield
        return
    while not gate.acquire(timeout=POLL_S):
        checkpoint(cancel)
    try:
        yield
    finally:
        gate.release()


@contextlib.asynccontextmanager
async def aheld(gate: asyncio.Semaphore | None, cancel: CancelToken) -> AsyncIterator[None]:
    """The coroutine twin of :func:`held`, for an ``asyncio.Semaphore``."""
    if gate is None:
        yield
        return
    while True:
        try:
            await asyncio.wait_for(gate.acquire(), POLL_S)
            break
        except TimeoutError:
            checkpoint(cancel)
    try:
        yield
    finally:
        gate.release()


def start_line(arrived: MutableSequence[int] | None, index: int, cancel: CancelToken) -> None:
    """Worker ``index`` waits until every worker has arrived (None: go at once).

    Workers start one after another: spawned processes 0.1-0.3 s apart here,
    threads microseconds apart, or more when other programs hold the cores.
    Without this, a short job measures that stagger (the first worker done
    before the last starts), not workers sharing state side by side. Polled,
    so a cancel still ends the wait. Every worker must be running at once:
    one task per worker.
    """
    if arrived is None:
        return
    arrived[index] = 1
    while sum(arrived) < len(arrived):
        checkpoint(cancel)
        time.sleep(0.001)
