"""What every back end is: start tasks, stream their events, cancel, close.

How results reach the GUI thread, whatever the back end: wherever a task
runs (a thread, a process, a coroutine), each of its events is handed to
:meth:`Run.post`, which appends it to ``inbox``, a ``collections.deque``
(append and popleft are thread-safe, and cost no lock, no signal, no wake-up).
The GUI thread calls :meth:`Run.drain` on its frame timer (60 Hz,
``gui.controller``), takes everything that arrived since the last frame, and
draws once. A flood of 100 000 progress calls a second thus costs one redraw
per frame, and no worker ever touches a widget. Back ends whose events come
through a channel of their own (a multiprocessing queue, a Qt signal) move
them into ``inbox`` in :meth:`Run._collect` or a slot, then the same rules
apply: at most one final event per task, nothing after it.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

from workers import pythons, shared, workloads
from workers.core import Event, Task, make_event


class Run:
    """A started run of tasks on one back end.

    Events cross from wherever the work runs into ``inbox`` (one channel per
    back end); the GUI thread calls :meth:`drain`, which enforces the
    contract: at most one final event per task, nothing after it.
    """

    backend = "?"
    #: Its objects live on the GUI thread (a timer, a receiver, an asyncio loop), so
    #: :meth:`close` must be called there; other runs may be closed from any thread.
    close_on_gui_thread = False
    #: The kind of lock, semaphore, queue or memory its tasks share, if they share any
    #: (see :mod:`workers.shared`): threading's unless the back end says otherwise.
    kit = shared.THREADS

    def __init__(self, tasks: list[Task], workers: int) -> None:
        self.tasks = tasks
        self.workers = max(1, min(workers, len(tasks) or 1))
        self.cancel_token = threading.Event()
        self.inbox: deque[Event] = deque()  # append/popleft are thread-safe
        self.verdicts: dict[int, Event] = {}  # task index -> its one final event
        self.started_at = 0.0
        self.started: set[int] = set()
        self.closed = False
        self.shared: dict[str, object] = {}  # name -> what its tasks share (made at start)

    # -- to implement -------------------------------------------------
    def _start(self) -> None:
        raise NotImplementedError

    def _close(self, deadline: float) -> None:
        """Join threads / shut pools; the run was cancelled or is finished."""

    def _collect(self) -> None:
        """Move events from a back end's own channel into ``inbox``."""

    # -- the interface ------------------------------------------------
    def start(self) -> None:
        self.started_at = time.perf_counter()
        self.shared = shared.make(self.tasks, self.kit)
        if not self.kit.inherited:  # the tasks run in this process: give them the objects now
            self.tasks = [shared.bind(task, self.shared) for task in self.tasks]
        self._start()

    def post(self, event: Event) -> None:
        """Hand an event over from wherever the work runs (any thread)."""
        self.inbox.append(event)

    def drain(self) -> list[Event]:
        """New events in arrival order, with the contract enforced."""
        self._collect()
        out: list[Event] = []
        verdicts = self.verdicts
        while self.inbox:
            event = self.inbox.popleft()
            if event.task in verdicts:
                continue  # late progress from another channel, or a duplicate final
            if event.final:
                verdicts[event.task] = event
            elif event.kind == "started":
                if event.task in self.started:
                    continue  # reported by two channels (multiprocessing)
                self.started.add(event.task)
            out.append(event)
        return out

    @property
    def finished(self) -> bool:
        return len(self.verdicts) == len(self.tasks)

    def worker_processes(self) -> list[int]:
        """Pids of the run's worker processes that are up so far, read from any thread
        (what a run costs counts them): none where the work runs in this process."""
        return []

    def facts(self) -> dict[str, Any]:
        """What the back end itself measured about the run, as record fields (read
        on the GUI thread once it is closed): the signals it delivered, the events
        handled inside its tasks... {} where it measures nothing of its own."""
        return {}

    def readout(self, workload: str) -> dict[str, Any]:
        """What the run's shared objects hold now (the race's balance, the deadlock's
        graph: ``workloads.readout``), read by this process from the workers' memory."""
        return workloads.readout(workload, self.shared)

    def queue_depth(self) -> int | None:
        """How many items the run's queue holds now (None: it has none)."""
        queue: Any = self.shared.get("queue")  # queue.Queue, asyncio.Queue, a process queue
        return None if queue is None else int(queue.qsize())

    def interpreter(self) -> dict[str, object]:
        """The record's ``python`` fields: the interpreter that ran the tasks (this one)."""
        return pythons.here().facts()

    def crossed(self) -> dict[str, int | None]:
        """Bytes that crossed a process boundary, each way: here none, and that is a
        measurement, not a gap (the tasks, their events and results never left this
        process: no pickle, no pipe). Back ends with worker processes count theirs."""
        return {"bytes_sent": 0, "bytes_received": 0}

    def cancel(self) -> None:
        """Queued tasks never start; running ones stop at their next chunk."""
        self.cancel_token.set()

    def close(self, timeout: float = 3.0) -> None:
        """Cancel what still runs, then release every thread and process."""
        if self.closed:
            return
        self.closed = True
        if not self.finished:
            self.cancel()
        self._close(time.perf_counter() + timeout)
        self.drain()
        for task in self.tasks:  # whatever never reported back ends as cancelled
            if task.index not in self.verdicts:
                self.verdicts[task.index] = make_event("cancelled", task.index)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {len(self.verdicts)}/{len(self.tasks)} final>"
