"""``gui-thread``: the naive way — each task runs in one block on the GUI thread.

The event loop only gets a turn between tasks, so while a task runs nothing
repaints, no click is seen and the responsiveness probe stops ticking: the
freeze the learner is meant to feel.

Events go through ``Run.post`` like every back end's (see
:mod:`workers.backends.base`), and are drawn once the task lets go.
"""

from __future__ import annotations

from collections import deque

from PySide6.QtCore import QObject, QTimer, Slot

from workers import shared
from workers.backends.base import Run
from workers.core import Task, run_task


class _Stepper(QObject):
    """Runs one task per event-loop turn."""

    def __init__(self, run: GuiThreadRun) -> None:
        super().__init__()
        self.run = run
        self.queue = deque(run.tasks)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(0)
        self.timer.timeout.connect(self.step)

    @Slot()
    def step(self) -> None:
        if not self.queue:
            return
        self.run.run_one(self.queue.popleft())
        if self.queue:
            self.timer.start()


class GuiThreadRun(Run):
    backend = "gui-thread"
    close_on_gui_thread = True
    kit = shared.SERIAL

    def __init__(self, tasks: list[Task], workers: int) -> None:
        super().__init__(tasks, 1)  # there is one GUI thread, whatever was asked

    def run_one(self, task: Task) -> None:
        """One whole task, here, on the GUI thread."""
        run_task(task, self.post, self.cancel_token)

    def _start(self) -> None:
        self.stepper = _Stepper(self)
        self.stepper.timer.start()

    def _close(self, deadline: float) -> None:
        self.stepper.timer.stop()
        while self.stepper.queue:  # cancelled: report the rest without running them
            run_task(self.stepper.queue.popleft(), self.post, self.cancel_token)
