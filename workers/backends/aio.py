"""``asyncio``: coroutines on an asyncio loop driven by Qt's event loop.

qasync lets the GUI thread's Qt event loop run asyncio callbacks, so N
downloads share one thread: each waits on its socket without blocking the
others or the window.  CPU work has nothing to await and blocks everything,
exactly as it would in a naive asyncio program.
"""

from __future__ import annotations

import asyncio
import os
import time

from workers.backends.base import Run
from workers.core import run_task_async

os.environ.setdefault("QT_API", "pyside6")  # which binding qasync picks


def qt_loop() -> asyncio.AbstractEventLoop:
    """The asyncio loop of this QApplication, installed on first use.

    The loop is marked as running on the GUI thread while runs use it:
    Qt's own ``exec()`` (the window's, or pytest-qt's waits) then drives the
    coroutines, with no ``run_forever()`` nesting.
    """
    import qasync
    from PySide6.QtCore import QCoreApplication

    app = QCoreApplication.instance()
    loop = getattr(app, "_unfreeze_loop", None)
    if loop is None or loop.is_closed():
        loop = qasync.QEventLoop(app, already_running=True)
        app._unfreeze_loop = loop  # type: ignore[attr-defined]
    asyncio.events._set_running_loop(loop)
    return loop


def release_loop() -> None:
    """Stop marking the Qt loop as running (so ``asyncio.run`` works again)."""
    asyncio.events._set_running_loop(None)


class AsyncioRun(Run):
    backend = "asyncio"

    def _start(self) -> None:
        loop = qt_loop()
        queue = list(reversed(self.tasks))

        async def worker() -> None:
            while queue:
                await run_task_async(queue.pop(), self.emit, self.cancel_token)
                await asyncio.sleep(0)  # a turn for the others between tasks

        self.coros = [loop.create_task(worker(), name=f"worker-{i}") for i in range(self.workers)]

    def _close(self, deadline: float) -> None:
        from PySide6.QtCore import QCoreApplication, QEventLoop

        # Let the coroutines see the cancel and finish: no "Task was destroyed but it is pending".
        while not all(c.done() for c in self.coros) and time.perf_counter() < deadline - 0.5:
            QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
        for coro in self.coros:
            coro.cancel()
        while not all(c.done() for c in self.coros) and time.perf_counter() < deadline:
            QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
        release_loop()
