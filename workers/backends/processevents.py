"""``gui-thread-process-events``: a pitfall — ``gui-thread`` whose task calls
``QApplication.processEvents()`` between its chunks, the "fix" people reach for::

    for chunk in chunks:
        work(chunk)
        progress_bar.setValue(done)
        QApplication.processEvents()   # let the window breathe

The lag falls to a chunk's length, but the event loop now runs *inside* the
task: every timer, queued slot call, click and close the loop handles there
runs on top of the task's own call stack (re-entrancy). A second Start,
Cancel or Close lands in the middle of the task. Here an application event
filter counts what ran nested, by kind, and how deep; :func:`depth` is how
many tasks' ``processEvents`` are on the stack right now, as a handler sees it.

The work is the same plain function: the back end's progress callback turns
the loop (``run_task``'s ``between``), as the pattern above does.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from PySide6.QtCore import QCoreApplication, QEvent, QObject

from workers.backends.guithread import GuiThreadRun
from workers.core import Task, run_task

_T = QEvent.Type
#: How an event handled nested is counted: in the learner's words.
KINDS = {
    _T.Timer: "timer ticks",
    _T.MetaCall: "queued slot calls",
    _T.MouseButtonPress: "clicks and keys",
    _T.MouseButtonRelease: "clicks and keys",
    _T.MouseButtonDblClick: "clicks and keys",
    _T.KeyPress: "clicks and keys",
    _T.KeyRelease: "clicks and keys",
    _T.Paint: "repaints",
    _T.UpdateRequest: "repaints",
    _T.UpdateLater: "repaints",
    _T.LayoutRequest: "layouts",
    _T.Move: "layouts",
    _T.Resize: "layouts",
    _T.Show: "layouts",
    _T.Hide: "layouts",
    _T.Close: "window closes",
}

_depth = 0  # tasks of ours in processEvents on the stack right now (GUI thread only)


def depth() -> int:
    """How many tasks' ``processEvents()`` calls the code asking runs inside: 0 in a
    plain slot, 1 in a handler the loop ran between two chunks of a task."""
    return _depth


class Nesting(QObject):
    """An application event filter: counts the events handled while a task is inside
    ``processEvents()`` (each ran on top of the task's stack); and how deep the loop
    was entered, tasks' ``processEvents()`` on the stack at once (2: a task ran
    inside another's)."""

    def __init__(self) -> None:
        super().__init__()
        self.turns = 0  # processEvents() calls
        self.max_depth = 0  # the most tasks' processEvents() on the stack at once
        self.handled: Counter[str] = Counter()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if _depth:
            self.handled[KINDS.get(event.type(), "other events")] += 1
        return False  # only watch: every event still reaches its receiver

    def turn(self) -> None:
        """What the pattern does between chunks: let the event loop run, here."""
        global _depth
        self.turns += 1
        _depth += 1
        self.max_depth = max(self.max_depth, _depth)
        try:
            QCoreApplication.processEvents()
        finally:
            _depth -= 1


class GuiThreadProcessEventsRun(GuiThreadRun):
    backend = "gui-thread-process-events"

    def _start(self) -> None:
        self.nesting = Nesting()
        app = QCoreApplication.instance()
        if app is not None:
            app.installEventFilter(self.nesting)
        super()._start()

    def run_one(self, task: Task) -> None:
        run_task(task, self.post, self.cancel_token, between=self.nesting.turn)

    def _close(self, deadline: float) -> None:
        app = QCoreApplication.instance()
        if app is not None:
            app.removeEventFilter(self.nesting)
        super()._close(deadline)

    def facts(self) -> dict[str, Any]:
        handled = self.nesting.handled
        return {
            "reentered": sum(handled.values()),
            "reentered_by": tuple(handled.most_common()),
            "reentry_depth": self.nesting.max_depth,
        }
