"""``threading`` and ``thread-pool``: the work runs on Python threads.

Threads help wherever the work waits (sockets, disks) or runs C code that
releases the GIL; pure-Python work still runs one thread at a time.

Each worker hands its events to ``Run.post``; how they reach the GUI thread
is told once, in :mod:`workers.backends.base`.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor, wait

from workers.backends.base import Run
from workers.core import run_task


class ThreadingRun(Run):
    """N ``threading.Thread`` workers pulling tasks from one queue."""

    backend = "threading"
    _count = 0

    def _start(self) -> None:
        queue = deque(self.tasks)
        ThreadingRun._count += 1

        def work() -> None:
            while True:
                try:
                    task = queue.popleft()
                except IndexError:
                    return
                run_task(task, self.post, self.cancel_token)

        self.threads = [
            threading.Thread(target=work, name=f"Worker-{ThreadingRun._count}_{i}", daemon=True)
            for i in range(self.workers)
        ]
        for thread in self.threads:
            thread.start()

    def _close(self, deadline: float) -> None:
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.perf_counter()))


class ThreadPoolRun(Run):
    """``concurrent.futures.ThreadPoolExecutor`` with N workers.

    What a learner would write::

        pool = ThreadPoolExecutor(max_workers=n)
        for task in tasks:
            pool.submit(run_task, task, post, cancel)
        ...
        pool.shutdown(wait=False, cancel_futures=True)  # on cancel or close

    We deviate in one way: submitting 10 000 futures at once blocks the GUI
    thread for ~140 ms (measured here), so only two per worker are in flight
    and each finished future submits the next.
    """

    backend = "thread-pool"

    def _start(self) -> None:
        self.pool = ThreadPoolExecutor(max_workers=self.workers)
        self.queued = deque(self.tasks)
        self.futures: list[Future[None]] = []
        for _ in range(2 * self.workers):
            self._submit_next()

    def _submit_next(self, finished: Future[None] | None = None) -> None:
        # A future cancelled by shutdown(cancel_futures=True) runs this callback
        # while the executor holds its shutdown lock, which submit() takes too:
        # submitting from there would wait for ever (the close hang). Nothing is
        # submitted once the pool is shutting down; close() reports the rest.
        if finished is not None and finished.cancelled():
            return
        try:
            task = self.queued.popleft()
        except IndexError:
            return
        try:
            # Once cancelled, tasks still get called: they see the token and
            # report "cancelled" at once, so every task reports back.
            future = self.pool.submit(run_task, task, self.post, self.cancel_token)
        except RuntimeError:  # shut down by close(), which reports the rest as cancelled
            return
        self.futures.append(future)
        future.add_done_callback(self._submit_next)

    def _close(self, deadline: float) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
        # The running futures end at their next chunk; then the idle workers exit.
        # (wait() never counts a future cancelled by shutdown as done: leave those out.)
        running = [f for f in self.futures if not f.cancelled()]
        wait(running, timeout=max(0.0, deadline - time.perf_counter()))
