"""The contract between workloads and back ends: tasks, events, cancellation.

A task is a module-level function ``fn(progress, cancel, **kwargs) -> Outcome``.
``progress(done)`` reports the cumulative units done so far (bytes, or items);
``cancel`` is anything with ``is_set()`` (a ``threading.Event`` or a
multiprocessing one).  Tasks call :func:`checkpoint` between chunks, so every
chunk is a cancel point.  Nothing here imports Qt.
"""

from __future__ import annotations

import asyncio
import os
import ssl
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, replace
from typing import Any, Literal, Protocol

from workers.cputime import Stepped, voluntary_switches

#: "stage": one stage of a task's work ended, on a worker of its own (``detail`` names the
#: stage, ``began`` says when it started): a back end that runs a task's stages apart
#: (``hybrid``) posts one per stage, so the timeline shows them side by side.
EventKind = Literal["started", "progress", "stage", "done", "failed", "cancelled"]
FINAL_KINDS = frozenset({"done", "failed", "cancelled"})

#: Shortest interval between two progress events of one task: a task may call
#: ``progress`` a million times a second; the channel carries at most 50/s.
PROGRESS_INTERVAL_S = 0.02


class Cancelled(Exception):
    """Raised at a cancel point once the run was cancelled."""


class TaskError(Exception):
    """A task failed for a reason worth showing to the learner as is."""


class CancelToken(Protocol):
    def is_set(self) -> bool: ...


def checkpoint(cancel: CancelToken) -> None:
    """A cancel point: raise :class:`Cancelled` once the run was cancelled."""
    if cancel.is_set():
        raise Cancelled


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a task returns: units done and a checkable result."""

    units: int
    check: str = ""
    #: Numbers the task measured that the run's record sums up (``("max_depth", 8.0)``).
    facts: tuple[tuple[str, float], ...] = ()


Progress = Callable[[int], None]
TaskFn = Callable[..., Outcome]
AsyncTaskFn = Callable[..., Coroutine[Any, Any, Outcome]]


@dataclass(frozen=True, slots=True)
class Task:
    """One picklable unit of work."""

    index: int
    fn: TaskFn
    kwargs: dict[str, Any]
    total: int
    #: An ``async`` twin for the asyncio back end (the workloads that await: I/O, queue, race).
    afn: AsyncTaskFn | None = None


@dataclass(frozen=True, slots=True)
class Event:
    """One thing that happened to one task, as plain picklable data."""

    kind: EventKind
    task: int
    t: float  # time.perf_counter() where it happened (same clock in children on Linux)
    value: int = 0  # cumulative units for progress/done
    detail: str = ""  # checksum for done, readable message for failed
    worker: str = ""  # thread or process name (asyncio: "thread:coroutine")
    pid: int = 0
    tid: int = 0
    facts: tuple[tuple[str, float], ...] = ()  # for done: the task's measured facts
    #: On a final event of a task that started: CPU seconds of the worker thread during
    #: the task (``time.thread_time``, read in the worker; see :mod:`workers.cputime`).
    cpu_s: float | None = None
    #: With ``cpu_s``: how often the worker thread gave up its CPU to wait during the
    #: task (voluntary context switches; None for coroutines, whose thread waits
    #: between their steps, and off Linux).
    switches: int | None = None
    #: A "stage" event: the perf_counter time that stage began (``t`` is when it ended).
    began: float | None = None

    @property
    def final(self) -> bool:
        return self.kind in FINAL_KINDS


def where() -> tuple[str, int, int]:
    """Name of the thread (or process, outside its main thread) doing the work."""
    import multiprocessing

    thread = threading.current_thread()
    name = thread.name
    if name == "MainThread" and multiprocessing.parent_process() is not None:
        name = multiprocessing.current_process().name
    return name, os.getpid(), threading.get_native_id()


def make_event(
    kind: EventKind,
    task: int,
    value: int = 0,
    detail: str = "",
    facts: tuple[tuple[str, float], ...] = (),
    cpu_s: float | None = None,
    switches: int | None = None,
) -> Event:
    name, pid, tid = where()
    return Event(
        kind, task, time.perf_counter(), value, detail, name, pid, tid, facts, cpu_s, switches
    )


def os_reason(exc: OSError) -> str:
    """``connection reset by peer``: the OS's (or TLS's) words, in a sentence's case.

    The one place an OSError becomes text for a learner.
    """
    if isinstance(exc, ssl.SSLCertVerificationError) and exc.verify_message:
        text = exc.verify_message
    elif isinstance(exc, ssl.SSLError) and exc.reason:
        text = exc.reason.replace("_", " ").lower()
    else:
        text = exc.strerror or str(exc) or type(exc).__name__
    return text[:1].lower() + text[1:]


def describe(exc: BaseException) -> str:
    """A readable, one-line message for an exception raised by a task."""
    if isinstance(exc, TaskError):
        return str(exc)
    if isinstance(exc, OSError) and exc.strerror:
        where_ = f": {exc.filename}" if exc.filename else ""
        return f"{os_reason(exc)}{where_}"
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if str(exc) else text


@dataclass(slots=True)
class Reporter:
    """Turns a task's ``progress(done)`` calls into at most 50 events a second.

    Two pitfalls are made of its two knobs: ``interval`` 0 sends an event per call
    (``qthread-signal-per-item``), and ``between``, called after every call, is
    where ``gui-thread-process-events`` turns the event loop inside the task.
    """

    task: int
    post: Callable[[Event], None]
    interval: float = PROGRESS_INTERVAL_S
    between: Callable[[], None] | None = None
    last_t: float = 0.0
    last_value: int = 0

    def __call__(self, done: int) -> None:
        self.last_value = done
        now = time.perf_counter()
        if now - self.last_t >= self.interval:
            self.last_t = now
            self.post(make_event("progress", self.task, done))
        if self.between is not None:
            self.between()


def _verdict(
    task: Task,
    report: Reporter,
    outcome: Outcome | None,
    exc: Exception | None,
    cpu_s: float,
    switches: int | None = None,
) -> Event:
    """The one final event of a task, from what it returned or raised, with the
    CPU seconds its worker thread spent on it and how often that thread waited."""
    if exc is None and outcome is not None:
        done = (outcome.units, outcome.check, outcome.facts)
        return make_event("done", task.index, *done, cpu_s=cpu_s, switches=switches)
    if isinstance(exc, Cancelled):
        return make_event(
            "cancelled", task.index, report.last_value, cpu_s=cpu_s, switches=switches
        )
    detail = describe(exc or TaskError("no result"))
    return make_event(
        "failed", task.index, report.last_value, detail, cpu_s=cpu_s, switches=switches
    )


def _since(start: int | None) -> int | None:
    now = voluntary_switches()
    return None if start is None or now is None else now - start


def run_task(
    task: Task,
    post: Callable[[Event], None],
    cancel: CancelToken,
    *,
    interval: float = PROGRESS_INTERVAL_S,
    between: Callable[[], None] | None = None,
) -> None:
    """Run one task where we are: started, progress..., then one final event.

    ``interval`` and ``between``: see :class:`Reporter`."""
    if cancel.is_set():
        post(make_event("cancelled", task.index))
        return
    post(make_event("started", task.index))
    report = Reporter(task.index, post, interval, between)
    cpu0, sw0 = time.thread_time(), voluntary_switches()  # this thread's: the worker's
    try:
        outcome = task.fn(report, cancel, **task.kwargs)
    except Exception as exc:  # a task's failure (or cancel) is data, never a crash
        post(_verdict(task, report, None, exc, time.thread_time() - cpu0, _since(sw0)))
    else:
        post(_verdict(task, report, outcome, None, time.thread_time() - cpu0, _since(sw0)))


async def run_task_async(task: Task, post: Callable[[Event], None], cancel: CancelToken) -> None:
    """The coroutine twin of :func:`run_task` for the asyncio back end.

    Its events name the coroutine running it ("MainThread:coroutine-0"): every
    coroutine shares the loop's thread. Its CPU seconds are those of its own
    steps (:class:`workers.cputime.Stepped`).
    """
    current = asyncio.current_task()
    lane = f"{threading.current_thread().name}:{current.get_name() if current else '?'}"

    def post_as(event: Event) -> None:
        post(replace(event, worker=lane))

    if cancel.is_set():
        post_as(make_event("cancelled", task.index))
        return
    post_as(make_event("started", task.index))
    report = Reporter(task.index, post_as)
    cpu0, sw0, stepped = time.thread_time(), voluntary_switches(), None
    try:
        if task.afn is not None:
            stepped = Stepped(task.afn(report, cancel, **task.kwargs))
            outcome = await stepped
        else:  # CPU work has no await points: it blocks the loop, as naive asyncio does
            outcome = task.fn(report, cancel, **task.kwargs)
    except Exception as exc:
        cpu = stepped.cpu_s if stepped else time.thread_time() - cpu0
        post_as(_verdict(task, report, None, exc, cpu, None if stepped else _since(sw0)))
    else:
        cpu = stepped.cpu_s if stepped else time.thread_time() - cpu0
        post_as(_verdict(task, report, outcome, None, cpu, None if stepped else _since(sw0)))
