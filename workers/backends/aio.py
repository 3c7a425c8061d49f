"""``asyncio``: coroutines on the app's asyncio loop, which Qt's event loop drives.

The app runs Qt's event loop as its asyncio loop (qasync, set up in
``gui.asyncloop``), so N downloads share the GUI thread: each waits on its
socket without blocking the others or the window.  CPU work has nothing to
await and blocks everything, exactly as it would in a naive asyncio program.

Coroutines hand their events to ``Run.post``, like every back end (see
:mod:`workers.backends.base`).
"""

from __future__ import annotations

import asyncio
import time

from workers import shared
from workers.backends.base import Run
from workers.core import run_task_async


class AsyncioRun(Run):
    backend = "asyncio"
    close_on_gui_thread = True
    kit = shared.ASYNCIO

    def _start(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise RuntimeError(
                "no asyncio loop runs on the GUI thread (start the app's loop with "
                "gui.asyncloop.install)"
            ) from None
        queue = list(reversed(self.tasks))

        async def worker() -> None:
            while queue:
                await run_task_async(queue.pop(), self.post, self.cancel_token)
                await asyncio.sleep(0)  # a turn for the others between tasks

        self.workers_ = [
            loop.create_task(worker(), name=f"coroutine-{i}") for i in range(self.workers)
        ]

    def _close(self, deadline: float) -> None:
        from PySide6.QtCore import QCoreApplication, QEventLoop

        def spin_until_done(until: float) -> None:
            # The loop is Qt's: turning Qt's crank lets the coroutines run to their end.
            while not all(w.done() for w in self.workers_) and time.perf_counter() < until:
                QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)

        # Let the coroutines see the cancel and finish: no "Task was destroyed but it is pending".
        spin_until_done(deadline - 0.5)
        for worker in self.workers_:
            worker.cancel()
        spin_until_done(deadline)
