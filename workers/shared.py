"""What a run's tasks share: a semaphore, a bounded queue, made by the back end.

A task is a module-level function of plain, picklable arguments (invariant
1), so it cannot carry a live semaphore or queue in its kwargs: a
``multiprocessing`` semaphore or queue reaches another process only when
that process starts (by inheritance), never inside a submitted task
("should only be shared between processes through inheritance"). And which
kind of semaphore is right depends on where the task runs: a
``threading.Semaphore`` would block an asyncio loop, an ``asyncio.Semaphore``
means nothing to a thread.

So a task names what it needs with a placeholder, :class:`Shared`, in its
kwargs. When a run starts, it makes one real object per name with its back
end's :class:`Kit` (:data:`THREADS`, :data:`ASYNCIO` or :data:`PROCESSES`),
and each task gets that object in place of its placeholder just before it
runs (:func:`bind`). Back ends that run tasks in the app's process bind them
all at start (``Run.start``); the process back end hands the objects to each
worker when it starts (the pool's initializer) and binds there. The workload
says *what* is shared, the back end *which kind*: neither knows the other.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import queue
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from workers.core import CancelToken, Task, checkpoint

Kind = Literal["semaphore", "queue"]
#: How often a task waiting on a shared object looks at its cancel token.
POLL_S = 0.1


@dataclass(frozen=True, slots=True)
class Shared:
    """A placeholder in a task's kwargs: "the run's ``kind`` called ``name``, of ``size``"."""

    name: str
    kind: Kind
    size: int  # a semaphore's count, a queue's bound


@dataclass(frozen=True, slots=True)
class Kit:
    """How one family of back ends makes each kind of shared object."""

    semaphore: Callable[[int], Any]
    queue: Callable[[int], Any]
    #: The objects reach the workers when they start (processes): bind there, not at start.
    inherited: bool = False


THREADS = Kit(threading.BoundedSemaphore, queue.Queue)
ASYNCIO = Kit(asyncio.BoundedSemaphore, asyncio.Queue)
_SPAWN = multiprocessing.get_context("spawn")
PROCESSES = Kit(_SPAWN.BoundedSemaphore, _SPAWN.Queue, inherited=True)


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
