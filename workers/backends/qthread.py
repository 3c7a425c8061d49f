"""``qthread``: QThread workers, moved with ``moveToThread``, signalling back.

The work is the same plain function; a small QObject runs it in its thread
and sends each event as a queued signal to a receiver living in the GUI
thread — Qt's own way across threads.
"""

from __future__ import annotations

import threading
import time
from collections import deque

from PySide6.QtCore import QObject, QThread, Signal, Slot

from workers.backends.base import Run
from workers.core import Event, run_task


class _Worker(QObject):
    event = Signal(object)
    finished = Signal()

    def __init__(self, name: str, queue: deque, run: Run) -> None:
        super().__init__()  # no parent: it must be movable
        self.name, self.queue, self.token = name, queue, run.cancel_token

    @Slot()
    def work(self) -> None:
        threading.current_thread().name = self.name  # so the log can say who did it
        while True:
            try:
                task = self.queue.popleft()
            except IndexError:
                break
            run_task(task, self.event.emit, self.token)
        self.finished.emit()


class _Receiver(QObject):
    """Lives in the GUI thread: queued signals land here (a @Slot, never a lambda)."""

    def __init__(self, run: Run) -> None:
        super().__init__()
        self.run = run

    @Slot(object)
    def receive(self, event: Event) -> None:
        self.run.emit(event)


class QThreadRun(Run):
    backend = "qthread"
    _count = 0

    def _start(self) -> None:
        queue = deque(self.tasks)
        self.receiver = _Receiver(self)
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
            worker.event.connect(self.receiver.receive)
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
        from PySide6.QtCore import QCoreApplication

        QCoreApplication.sendPostedEvents(self.receiver)
        self.workers_.clear()
