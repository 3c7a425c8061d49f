"""CPU seconds of the thread that runs a task: what the timeline's shading shows.

``time.thread_time()`` counts the CPU the calling thread got, not the wall
time: a pure-Python thread waiting for the GIL, a download waiting on its
socket and a process waiting for a core all count nothing. Read around a task
in the worker itself (in a worker process too: each process has its own
threads), it gives the task's *CPU share*, CPU seconds over wall seconds.

Coroutines share one thread, so time around a whole coroutine would also
count every other coroutine that ran meanwhile (and the loop's own work).
:class:`Stepped` instead times each *step* of one coroutine: the stretch
from one resumption to its next ``await`` that gives the loop back. Its
``cpu_s`` is the loop thread's CPU while that coroutine's own code ran; the
loop's work between steps (polling sockets, Qt's events) counts for no task.
"""

from __future__ import annotations

import resource
import time
from collections.abc import Coroutine, Generator
from typing import Any, Generic, TypeVar

T = TypeVar("T")

_RUSAGE_THREAD = getattr(resource, "RUSAGE_THREAD", None)  # Linux only


def voluntary_switches() -> int | None:
    """How often the calling thread has given up its CPU to wait (None: not on Linux).

    The kernel's count, as ``voluntary_ctxt_switches`` in ``/proc/self/task/<tid>/status``
    (read with one ``getrusage`` call instead of a file). A pure-Python thread waits
    each time another takes the GIL: 2 of them at a 5 ms switch interval wait
    ~200 times a second each (measured here); a thread that computes alone, almost never.
    """
    if _RUSAGE_THREAD is None:
        return None
    return resource.getrusage(_RUSAGE_THREAD).ru_nvcsw


class Stepped(Generic[T]):
    """Awaits ``coro`` as ``await coro`` would, adding each step's thread CPU to ``cpu_s``.

    It drives the coroutine with the public protocol ``await`` itself uses
    (PEP 380's ``send`` / ``throw`` / ``close``): whatever the coroutine
    awaits passes through untouched, to the event loop and back.
    """

    def __init__(self, coro: Coroutine[Any, Any, T]) -> None:
        self.coro = coro
        self.cpu_s = 0.0

    def __await__(self) -> Generator[Any, Any, T]:
        coro = self.coro
        resume: Any = coro.send
        value: Any = None
        while True:
            t0 = time.thread_time()
            try:
                awaited = resume(value)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            finally:
                self.cpu_s += time.thread_time() - t0
            try:
                value = yield awaited
                resume = coro.send
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as exc:  # a cancel (or anything) thrown in: pass it on
                resume, value = coro.throw, exc
