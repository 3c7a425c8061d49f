"""State a run's tasks share (an account, locks, a wait-for graph), and how it reaches them.

Most tasks share nothing: their arguments are plain data in ``Task.kwargs``.
The hazard workloads (``race``, ``deadlock``) exist to share, and what they
share must be real in every back end: one object that threads see alike,
shared memory that processes see alike. Three rules keep the back ends thin:

1. **The workload builds the state** with the primitives of the back end it
   will run on (:func:`kit`): ``threading.Lock`` and a Python list for
   threads, ``multiprocessing`` (spawn) ``Lock`` and ``RawArray`` for
   processes, ``asyncio.Lock`` for coroutines. It :func:`publish`\\ es it
   under a fresh key in this process, and each task carries only that key
   (``Task.shared``): a string, so every task still pickles.
2. **The task runner resolves the key** where the task runs
   (:func:`workers.core.run_task` passes ``shared=lookup(key)``), so a task
   stays a plain function of its parameters, callable in a test with a state
   built by hand.
3. **Only the process back end has one more step**: shared memory and
   process-shared locks cannot be pickled into a submitted task, only handed
   to a child as it starts. So ``ProcessRun`` gives the run's states
   (:func:`of`) to its pool's initializer, which :func:`adopt`\\ s them in each
   worker under the same keys. Threads, QThreads and coroutines live in this
   process and find them as published.

The parent keeps the state too (``Run.shared``): it reads the final balance
or the wait-for graph from the same memory the workers wrote (a state's
``readout()``), never from what the workers said. ``Run.close`` forgets it.
"""

from __future__ import annotations

import asyncio
import itertools
import multiprocessing
import threading
import time
from collections.abc import Iterable, MutableSequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from workers.core import CancelToken, Task

#: The run's process context (``spawn``, as in ``workers.backends.processes``).
SPAWN = multiprocessing.get_context("spawn")


class SharedState(Protocol):
    """What a run's tasks share. ``key`` names it; ``readout`` is what the record keeps."""

    key: str

    def readout(self) -> dict[str, Any]: ...


class Kit:
    """Locks and integer arrays for one back end: what one workload's code is written against."""

    def __init__(self, backend: str) -> None:
        self.backend = backend
        self.processes = backend == "multiprocessing"

    def lock(self) -> Any:
        """A lock the run's workers can all take: process-shared, asyncio's or a thread lock."""
        if self.processes:
            return SPAWN.Lock()
        if self.backend == "asyncio":
            return asyncio.Lock()  # binds to the running loop at its first use
        return threading.Lock()

    def thread_lock(self) -> Any:
        """A lock taken with a timeout (``acquire(timeout=…)``), also on asyncio's loop."""
        return SPAWN.Lock() if self.processes else threading.Lock()

    def arrivals(self, n: int) -> MutableSequence[int] | None:
        """A start line for ``n`` workers that run side by side (:func:`start_line`); None
        where tasks run one after another (gui-thread; asyncio's coroutines start together)."""
        return None if self.backend in ("gui-thread", "asyncio") else self.ints(n)

    def ints(self, n: int, typecode: str = "q") -> MutableSequence[Any]:
        """``n`` zeros: shared memory with no lock of its own for processes (every
        guard is the workload's, visible), a plain list otherwise."""
        if self.processes:
            return SPAWN.RawArray(typecode, n)  # type: ignore[no-any-return]
        return [0.0 if typecode == "d" else 0] * n


def start_line(arrived: MutableSequence[int] | None, index: int, cancel: CancelToken) -> None:
    """Wait until every worker has arrived (threads and processes; None: go at once).

    Workers start one after another: spawned processes 0.1-0.3 s apart here,
    threads microseconds apart, or more when other programs hold the cores.
    Without this, a short job measures that stagger (the first worker done
    before the last starts), not workers sharing state side by side. Polled,
    so a cancel still ends the wait.
    """
    if arrived is None:
        return
    from workers.core import checkpoint

    arrived[index] = 1
    while sum(arrived) < len(arrived):
        checkpoint(cancel)
        time.sleep(0.001)


def kit(backend: str) -> Kit:
    return Kit(backend)


_keys = itertools.count()
_states: dict[str, SharedState] = {}  # key -> state, in this process


def new_key(prefix: str) -> str:
    return f"{prefix}-{multiprocessing.current_process().pid}-{next(_keys)}"


def publish(state: SharedState) -> str:
    """Make ``state`` reachable by its key in this process; returns the key."""
    _states[state.key] = state
    return state.key


def adopt(states: Iterable[SharedState]) -> None:
    """In a worker process: the states its pool's initializer was handed."""
    for state in states:
        _states[state.key] = state


def lookup(key: str) -> SharedState:
    try:
        return _states[key]
    except KeyError:
        raise LookupError(f"no shared state {key!r} in this process (run closed?)") from None


def of(tasks: Iterable[Task]) -> tuple[SharedState, ...]:
    """The states ``tasks`` name, each once."""
    keys = dict.fromkeys(t.shared for t in tasks if t.shared)
    return tuple(lookup(key) for key in keys)


def forget(states: Iterable[SharedState]) -> None:
    for state in states:
        _states.pop(state.key, None)
