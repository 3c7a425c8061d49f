"""A stand-in for the app, run as a child process so a test can SIGKILL it.

    python -m tests.faultapp workers N (spawned|running)
        starts N multiprocessing workers on long tasks; prints their pids as a
        JSON list once spawned (before they run any code of ours) or once all
        run a task, then keeps draining events.
    python -m tests.faultapp disk FOLDER WORKERS TASKS SIZE
        the app's run controller writes the disk-write files into FOLDER on
        the threading back end, over and over; prints "writing" once the
        first file is open.
    python -m tests.faultapp stuck BACKEND
        two tasks of BACKEND stuck in a call that cannot be cancelled; closes
        the run and leaves the way the app does; prints "closing" first.
    python -m tests.faultapp nofile
        starts a small multiprocessing run under a file limit only a few
        files above what is open, raising the limit until a run is done;
        prints one JSON line per limit: how start() failed, or the verdicts.

Each mode gives up by itself after a minute, so a broken test cannot
leave it behind.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import sys
import time

from workers import backends
from workers.spec import RunSpec

LIFETIME_S = 60.0


def run_workers(count: int, when: str) -> None:
    from tests import faulttasks

    tasks = faulttasks.tasks(faulttasks.steps, count, 1200, count=1200, step_s=0.05)
    run = backends.start("multiprocessing", tasks, count)
    deadline = time.monotonic() + LIFETIME_S
    started: set[int] = set()
    pids: list[int] = []
    try:
        while time.monotonic() < deadline:
            for event in run.drain():
                if event.kind == "started":
                    started.add(event.pid)
            # Spawned: multiprocessing lists a child as soon as it is started,
            # before it runs a line of ours (the run itself learns a worker's
            # pid only from the worker).
            ready = (
                sorted(p.pid for p in multiprocessing.active_children() if p.pid)
                if when == "spawned"
                else sorted(started)
            )
            if not pids and len(ready) == count:
                pids = ready
                print(json.dumps(pids), flush=True)
            time.sleep(0.001 if not pids else 0.05)
    finally:
        run.close()


def run_disk(folder: str, workers: int, tasks: int, size: int) -> None:
    """The real app's engine: a RunController writing into ``folder``, run after run."""
    from PySide6.QtCore import QCoreApplication, QObject, QTimer, Slot

    from gui.controller import RunController

    app = QCoreApplication([])
    controller = RunController()
    spec = RunSpec("disk-write", "threading", workers, tasks, size, folder=folder)

    class Again(QObject):
        announced = False

        @Slot(object)
        def updated(self, _events: object) -> None:
            if not self.announced:
                self.announced = True
                print("writing", flush=True)

        @Slot(object)
        def finished(self, _record: object) -> None:
            controller.submit(spec)

        @Slot(str)
        def error(self, message: str) -> None:
            print(message, flush=True)
            app.quit()

    again = Again()
    controller.updated.connect(again.updated)
    controller.run_finished.connect(again.finished)
    controller.error.connect(again.error)
    QTimer.singleShot(int(LIFETIME_S * 1000), app.quit)
    controller.submit(spec)
    app.exec()
    controller.shutdown()


def run_short_of_files() -> None:
    import resource

    from tests import faulttasks

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    for extra in range(64):
        tasks = faulttasks.tasks(faulttasks.steps, 4, 2, count=2, step_s=0.01)
        resource.setrlimit(resource.RLIMIT_NOFILE, (len(os.listdir("/proc/self/fd")) + extra, hard))
        try:
            run = backends.start("multiprocessing", tasks, 2)
        except OSError as exc:
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
            print(json.dumps({"extra": extra, "raised": str(exc)}), flush=True)
            continue
        deadline = time.monotonic() + 10.0
        while not run.finished and time.monotonic() < deadline:
            run.drain()
            time.sleep(0.01)
        run.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        verdicts = sorted({f"{e.kind} {e.detail}" for e in run.verdicts.values()})
        print(json.dumps({"extra": extra, "verdicts": verdicts}), flush=True)
        if verdicts == ["done 2 steps"]:
            return


def run_stuck(backend: str) -> None:
    """Two tasks stuck in a call that cannot be cancelled, then the app's own way
    out: close the run (as closing the window does), quit, ``gui.app.leave``.
    Prints "closing" just before it closes the run."""
    from PySide6.QtCore import QCoreApplication, QObject, QTimer, Slot

    from gui.app import leave
    from tests import faulttasks

    app = QCoreApplication([])
    run = backends.start(backend, faulttasks.tasks(faulttasks.blocked, 4, 1, seconds=30), 2)

    class Closer(QObject):
        @Slot()
        def check(self) -> None:
            run.drain()
            if len(run.started) < 2:
                return
            print("closing", flush=True)
            run.close(timeout=0.5)
            app.quit()

    closer = Closer()
    timer = QTimer()
    timer.timeout.connect(closer.check)
    timer.start(20)
    app.exec()
    timer.stop()
    sys.exit(leave(0))


def main(argv: list[str]) -> None:
    mode, *args = argv
    if mode == "workers":
        run_workers(int(args[0]), args[1])
    elif mode == "disk":
        run_disk(args[0], int(args[1]), int(args[2]), int(args[3]))
    elif mode == "nofile":
        run_short_of_files()
    elif mode == "stuck":
        run_stuck(args[0])
    else:
        raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
