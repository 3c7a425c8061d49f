"""Runs jobs one after another and turns their events into state and records.

Shared by the window and the headless bench, so both measure the same way.
Events are drained on a frame timer (60 Hz), never handled one by one: a
flood of progress costs one update per frame.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections import deque
from dataclasses import dataclass

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from gui.probe import Probe
from workers import backends, workloads
from workers.backends.base import Run
from workers.record import RunRecord, RunState
from workers.spec import RunSpec, check_folder
from workers.workloads import disk

FRAME_MS = 16
#: After the last task ends, wait this long so the probe sample covering the
#: end of a freeze (it only arrives once the loop runs again) is counted.
SETTLE_S = 0.05


@dataclass
class Active:
    spec: RunSpec
    run: Run
    state: RunState
    temp_dir: str | None = None
    settle_until: float | None = None


class RunController(QObject):
    """Starts runs (queueing the rest), drains their events, emits records."""

    run_started = Signal(object)  # Active
    updated = Signal(object)  # list[Event] without progress, once per frame with news
    run_finished = Signal(object)  # RunRecord
    queue_changed = Signal(int)
    error = Signal(str)  # a run could not start

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        backends.preload()
        self.probe = Probe(self)
        self.probe.start()
        self.queue: deque[RunSpec] = deque()
        self.active: Active | None = None
        self.records: list[RunRecord] = []
        self.server = None
        self.frame = QTimer(self)
        self.frame.setInterval(FRAME_MS)
        self.frame.timeout.connect(self.on_frame)

    # -- public ---------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self.active is not None

    def submit(self, spec: RunSpec) -> None:
        """Start ``spec`` now, or after the runs already waiting."""
        self.queue.append(spec)
        self.queue_changed.emit(len(self.queue))
        if self.active is None:
            self._start_next()

    def cancel(self) -> None:
        """Cancel the running job and drop the queued ones."""
        self.queue.clear()
        self.queue_changed.emit(0)
        if self.active is not None:
            self.active.run.cancel()

    def shutdown(self, timeout: float = 2.0) -> None:
        """Cancel everything, join every thread and process, stop the server."""
        self.queue.clear()
        self.frame.stop()
        self.probe.stop()
        if self.active is not None:
            active, self.active = self.active, None
            active.run.close(timeout)
            self._cleanup(active)
        if self.server is not None:
            self.server.stop()
            self.server = None

    def base_url(self) -> str:
        """The local server's address, starting it on first use."""
        if self.server is None:
            from workers.server import LocalServer

            server = LocalServer()
            server.start()
            self.server = server
        return self.server.base_url

    # -- internals ------------------------------------------------------
    @Slot()
    def _start_next(self) -> None:
        while self.queue and self.active is None:
            spec = self.queue.popleft()
            self.queue_changed.emit(len(self.queue))
            try:
                self.active = self._start(spec)
            except Exception as exc:  # a run that cannot start is a message, not a crash
                self.error.emit(f"{spec.workload} on {spec.backend} could not start: {exc}")
                continue
            self.frame.start()
            self.run_started.emit(self.active)

    def _start(self, spec: RunSpec) -> Active:
        temp_dir = None
        folder = spec.folder
        if spec.workload == "disk-write" and folder is None:
            folder = temp_dir = tempfile.mkdtemp(prefix="unfreeze-")
        elif folder is not None and spec.workload in ("disk-write", "download"):
            check_folder(folder)  # it may have gone since the form checked it
            disk.sweep_stale(folder)  # temp files of writers killed earlier
        base_url = None
        if spec.workload == "download" and not spec.urls:
            base_url = self.base_url()
        tasks = workloads.make_tasks(spec, base_url=base_url, folder=folder)
        state = RunState(spec, [t.total for t in tasks], time.perf_counter())
        try:
            run = backends.start(spec.backend, tasks, spec.workers)
        except BaseException:
            if temp_dir:
                shutil.rmtree(temp_dir, ignore_errors=True)
            raise
        state.t_start = run.started_at
        return Active(spec, run, state, temp_dir)

    @Slot()
    def on_frame(self) -> None:
        active = self.active
        if active is None:
            self.frame.stop()
            return
        now = time.perf_counter()
        events = active.run.drain()
        if events:
            active.state.apply(events, now)
            self.updated.emit([e for e in events if e.kind != "progress"])
        if not active.run.finished:
            return
        if active.settle_until is None:
            active.settle_until = (active.state.t_end or now) + SETTLE_S
        if now < active.settle_until:
            return
        self.active = None
        active.run.close()
        self._cleanup(active)
        lag = self.probe.stats(active.state.t_start, active.settle_until)
        record = RunRecord.of(active.state, active.run.workers, lag)
        self.records.append(record)
        self.run_finished.emit(record)
        # Start the next run only after the probe has ticked once more, so the
        # cost of closing this one is not counted against the next.
        QTimer.singleShot(2 * self.probe.interval_ms, self, self._start_next)

    @staticmethod
    def _cleanup(active: Active) -> None:
        if active.temp_dir:
            shutil.rmtree(active.temp_dir, ignore_errors=True)
        elif active.spec.workload in ("disk-write", "download") and active.spec.folder:
            disk.sweep_stale(active.spec.folder)  # of workers killed by a cancel
