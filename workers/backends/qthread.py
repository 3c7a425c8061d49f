"""``qthread``: QThread workers, moved with ``moveToThread``, signalling back.

The work is the same plain function; a small QObject runs it in its thread
and sends each event as a queued signal to a receiver living in the GUI
thread — Qt's own way across threads.

The receiver hands them to ``Run.post``; from there they reach the window as
every back end's do (see :mod:`workers.backends.base`).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal, Slot

from workers.backends.base import Run
from workers.core import PROGRESS_INTERVAL_S, Event, Task, run_task


class _Worker(QObject):
    posted = Signal(object)  # an Event (not "event": that is QObject.event())
    finished = Signal()

    def __init__(self, name: str, queue: deque[Task], run: QThreadRun) -> None:
        super().__init__()  # no parent: it must be movable
        self.name, self.queue, self.token = name, queue, run.cancel_token
        self.interval = run.progress_interval

    @Slot()
    def work(self) -> None:
        threading.current_thread().name = self.name  # so the log can say who did it
        while True:
            try:
                task = self.queue.popleft()
            except IndexError:
                break
            run_task(task, self.posted.emit, self.token, interval=self.interval)
        self.finished.emit()


class _GuiReceiver(QObject):
    """Lives in the GUI thread: queued signals land here (a @Slot, never a lambda)."""

    def __init__(self, run: Run) -> None:
        super().__init__()
        self.run = run
        self.signals = 0  # delivered: each cost the GUI thread a turn of its event loop

    @Slot(object)
    def receive(self, event: Event) -> None:
        self.signals += 1
        self.run.post(event)


class QThreadRun(Run):
    backend = "qthread"
    close_on_gui_thread = True
    #: Shortest time between two progress signals of one task (see ``workers.core``).
    progress_interval = PROGRESS_INTERVAL_S
    _count = 0

    def _start(self) -> None:
        queue = deque(self.tasks)
        self.receiver = _GuiReceiver(self)
        self.threads: list[QThread] = []
        self.workers_: list[_Worker] = []
        for _ in range(self.workers):
            QThreadRun._count += 1
            name = f"QThread-{QThreadRun._count}"
            thread = QThread()
            thread.setObjectName(name)
            worker = _Worker(name, queue, self)
            worker.moveToThread(thread)
            thread.started.connect(worker.work)
            worker.posted.connect(self.receiver.receive)
            worker.finished.connect(thread.quit)
            self.threads.append(thread)
            self.workers_.append(worker)
        for thread in self.threads:
            thread.start()

    def _close(self, deadline: float) -> None:
        for thread in self.threads:
            thread.quit()
            thread.wait(max(1, int((deadline - time.perf_counter()) * 1000)))
        # Deliver what the workers signalled just before they stopped.
        QCoreApplication.sendPostedEvents(self.receiver)
        for thread, worker in zip(self.threads, self.workers_, strict=True):
            if thread.isRunning():  # stuck in a call that cannot be cancelled
                _keep_until_finished(thread, worker)
        self.threads.clear()
        self.workers_.clear()

    def facts(self) -> dict[str, Any]:
        return {"signals": self.receiver.signals}


#: QThreads that outlived ``close()``, with their workers. A QThread destroyed
#: while it runs aborts the whole process ("QThread: Destroyed while thread is
#: still running"), so each stays referenced here until it has finished.
_STRAGGLERS: dict[int, tuple[QThread, _Worker]] = {}


class _Reaper(QObject):
    """Lives in the GUI thread: lets go of stragglers once they have finished."""

    @Slot()
    def sweep(self) -> None:
        for key, (thread, _) in list(_STRAGGLERS.items()):
            if thread.isFinished():
                thread.wait()
                del _STRAGGLERS[key]


_reaper: _Reaper | None = None


def _keep_until_finished(thread: QThread, worker: _Worker) -> None:
    global _reaper
    if _reaper is None:
        _reaper = _Reaper()
    _STRAGGLERS[id(thread)] = (thread, worker)
    thread.finished.connect(_reaper.sweep)
    if thread.isFinished():  # it finished before the connection was made
        _reaper.sweep()


def stragglers(timeout: float = 0.0) -> list[str]:
    """Names of QThreads still running after their run was closed, each given
    up to ``timeout`` seconds in all to finish."""
    deadline = time.perf_counter() + timeout
    for thread, _ in list(_STRAGGLERS.values()):
        thread.wait(max(0, int((deadline - time.perf_counter()) * 1000)))
    return [thread.objectName() for thread, _ in _STRAGGLERS.values() if thread.isRunning()]
