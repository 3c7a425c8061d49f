"""Runs jobs one after another and turns their events into state and records.

Shared by the window and the headless bench, so both measure the same way.
Events are drained on a frame timer (60 Hz), never handled one by one: a
flood of progress costs one update per frame.

A run goes through four phases::

    prepare (housekeeping thread) -> run (back end) -> close (housekeeping
    thread, or the GUI thread for back ends that live there) -> record

Everything slow the app itself does around a run (starting the local
server, checking and sweeping a folder, joining worker processes, deleting
temp files: gui/housekeeping.py) happens on the housekeeping thread, so the GUI thread stays free
and the lag the probe measures is the back end's alone. What a back end must
do on the GUI thread when it closes falls inside its run's lag window.

Timing this machine (``calibrate``, what the window's estimates scale by) is
housekeeping too, done between runs like a run of its own: never during one.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from gui.housekeeping import Prepared, Server, prepare, tidy
from gui.probe import Probe
from workers import backends, workloads
from workers.backends.base import Run
from workers.footprint import FootprintSampler
from workers.names import PYTHON_BACKENDS, TRANSFERS, backends_for
from workers.record import RunRecord, RunState, current_switch_ms
from workers.spec import RunSpec
from workers.speed import Speed

FRAME_MS = 16
#: After the last task ends, and again after the run is closed, wait this long
#: so the probe sample covering the end of a stall (it only arrives once the
#: loop runs again) is counted.
SETTLE_MS = 50


@dataclass
class Active:
    spec: RunSpec
    run: Run
    state: RunState
    temp_dir: str | None = None
    settle_until: float | None = None
    server_peak: int | None = None  # downloads from the local server: its count, at the end
    #: Peak threads and memory while it runs (a thread of its own), then its figures.
    footprint: FootprintSampler | None = None
    cost: dict[str, object] = field(default_factory=dict)


@dataclass
class Comparison:
    """A Compare all: one job on every back end, one after another."""

    specs: list[RunSpec]
    records: list[RunRecord] = field(default_factory=list)
    failed: int = 0  # runs that could not start

    @property
    def finished(self) -> int:
        return len(self.records) + self.failed

    @property
    def done(self) -> bool:
        return self.finished == len(self.specs)

    def owns(self, spec: RunSpec) -> bool:
        return any(s is spec for s in self.specs)


def for_backend(spec: RunSpec, backend: str) -> RunSpec:
    """``spec`` on ``backend``: in the other interpreter it names (``--python``) where that
    back end can run there, else in this one (Compare all's serial baseline, processes...);
    with its transfer where that applies (processes), else the default."""
    python = spec.python if backend in PYTHON_BACKENDS else ""
    transfer = spec.transfer if backend == "multiprocessing" else TRANSFERS[0]
    return spec.with_(backend=backend, python=python, transfer=transfer)


def read_shared(active: Active, now: float) -> None:
    """What the run's shared objects hold now (``Run.shared``, see ``workers.shared``),
    read by this process from the objects the workers use: the queue's depth; the
    hazards lab's expected vs actual, or its wait-for graph."""
    depth = active.run.queue_depth()
    if depth is not None:
        active.state.depth_over_time.append(now, depth)
    active.state.hazard = active.run.readout(active.spec.workload)


class RunController(QObject):
    """Starts runs (queueing the rest), drains their events, emits records."""

    run_starting = Signal(object)  # RunSpec: its tasks start right after, on this thread
    run_started = Signal(object)  # Active
    updated = Signal(object)  # list[Event] without progress, once per frame with news
    run_finished = Signal(object)  # RunRecord
    queue_changed = Signal(int)
    error = Signal(str)  # a run could not start
    compared = Signal(object)  # Comparison, each time one of its runs ends
    calibrated = Signal()  # ``speed`` now holds this machine's measured speeds
    # From the housekeeping thread to the GUI thread (queued: the receiver lives here).
    _prepared = Signal(object)  # Prepared
    _closed = Signal(object)  # Active
    _measured = Signal()

    def __init__(self, parent: QObject | None = None, speed: Speed | None = None) -> None:
        super().__init__(parent)
        backends.preload()
        self.probe = Probe(self)
        self.probe.start()
        self.queue: deque[RunSpec] = deque()
        self.preparing: RunSpec | None = None
        self.active: Active | None = None
        self.closing: Active | None = None
        self.records: list[RunRecord] = []
        self.comparison: Comparison | None = None
        self.speed = speed or Speed()  # this machine's, per worker: see calibrate() and _record()
        self.calibration_due = False
        self.calibrating = False
        self.stopping = threading.Event()  # set at shutdown: a calibration stops at once
        self.server = Server()
        # One long-lived thread: the local server's process must be started from a
        # thread that outlives it (it dies with the thread that started it, see procs).
        self.housekeeping = ThreadPoolExecutor(1, thread_name_prefix="housekeeping")
        self.chores: list[Future] = []
        self._prepared.connect(self._on_prepared)
        self._closed.connect(self._on_closed)
        self._measured.connect(self._on_measured)
        self.frame = QTimer(self)
        self.frame.setInterval(FRAME_MS)
        self.frame.timeout.connect(self.drain)

    # -- public ---------------------------------------------------------
    @property
    def busy(self) -> bool:
        """A run is being prepared, runs, or is being closed."""
        return self.preparing is not None or self.active is not None or self.closing is not None

    def submit(self, spec: RunSpec) -> None:
        """Start ``spec`` now, or after the runs already waiting."""
        self.queue.append(spec)
        self.queue_changed.emit(len(self.queue))
        self._start_next()

    def compare(self, spec: RunSpec, backends: tuple[str, ...] | None = None) -> Comparison:
        """``spec`` on every back end that takes it (hybrid: the pipeline only; dask: no
        hazards lab), in turn; ``compared`` tells how it goes. Its transfer is
        multiprocessing's: the others run in this process (pickle)."""
        backends = backends_for(spec.workload) if backends is None else backends
        self.comparison = Comparison([for_backend(spec, b) for b in backends])
        for one in self.comparison.specs:
            self.submit(one)
        return self.comparison

    def set_switch_interval(self, ms: float) -> None:
        """``sys.setswitchinterval``, noted with its time in the run going on (if
        any), so its record splits the lag at the change."""
        sys.setswitchinterval(ms / 1000)
        now, ms = time.perf_counter(), current_switch_ms()
        for active in (self.active, self.closing):  # closing: its lag is still counted
            if active is not None:
                active.state.switch_interval(now, ms)

    def calibrate(self, after_ms: int = 0) -> None:
        """Time this machine's CPU workloads (~0.3 s, on the housekeeping thread) in
        ``after_ms``, or before the next run if one is submitted sooner; never during
        a run, which it would slow and be slowed by. Runs submitted meanwhile wait;
        ``calibrated`` says when it is done."""
        self.calibration_due = True
        QTimer.singleShot(after_ms, self, self._start_next)

    @property
    def calibration_pending(self) -> bool:
        return self.calibration_due or self.calibrating

    def cancel(self) -> None:
        """Cancel the running job (or the one being prepared) and drop the queued ones."""
        self.comparison = None
        self.queue.clear()
        self.queue_changed.emit(0)
        self.preparing = None  # its preparation is thrown away when it arrives
        if self.active is not None:
            self.active.run.cancel()

    def interrupt(self) -> None:
        """Cancel the running job from a signal handler: only its token is set
        (``Event.set``, safe wherever the handler interrupts the GUI thread).

        It matters when the job runs on the GUI thread itself: the close the
        signal asks for waits until the task lets go, and a task lets go at its
        next chunk once it sees the token. ``cancel`` and ``close`` do the rest.
        """
        if self.active is not None:
            self.active.run.cancel_token.set()

    def shutdown(self, timeout: float = 2.0) -> None:
        """Cancel everything, join every thread and process, stop the server."""
        deadline = time.perf_counter() + timeout
        self.stopping.set()
        self.queue.clear()
        self.preparing = None
        self.frame.stop()
        self.probe.stop()
        for active in (self.active, self.closing):
            if active is not None:
                active.run.close(max(0.1, deadline - time.perf_counter()))
                if active.footprint is not None:
                    active.footprint.stop()
        self.active = self.closing = None
        self.housekeeping.shutdown(wait=False, cancel_futures=True)
        wait(self.chores, timeout=max(0.0, deadline - time.perf_counter()))
        self.server.stop()

    # -- prepare (housekeeping thread) -----------------------------------
    @Slot()
    def _start_next(self) -> None:
        if self.busy or self.calibrating or self.stopping.is_set():
            return
        if self.calibration_due:
            self.calibration_due = False
            self.calibrating = True
            self._chore(self._calibrate)
            return
        if not self.queue:
            return
        spec = self.queue.popleft()
        self.queue_changed.emit(len(self.queue))
        self.preparing = spec
        self._chore(self._prepare, spec)

    def _chore(self, fn, *args) -> None:
        try:
            future = self.housekeeping.submit(fn, *args)
        except RuntimeError:  # shut down: the app is closing
            return
        self.chores = [f for f in self.chores if not f.done()] + [future]

    def _prepare(self, spec: RunSpec) -> None:
        """Folder, temp folder, local server: everything a run needs before it starts."""
        self._prepared.emit(prepare(spec, self.server))

    def _calibrate(self) -> None:
        try:
            self.speed.calibrate(self.stopping)
        finally:
            self._measured.emit()

    @Slot()
    def _on_measured(self) -> None:
        self.calibrating = False
        if self.stopping.is_set():
            return
        self.calibrated.emit()
        self._start_next()

    @Slot(object)
    def _on_prepared(self, prepared: Prepared) -> None:
        if prepared.spec is not self.preparing:  # cancelled (or shut down) meanwhile
            self._discard(prepared)
            return
        if prepared.error:
            self.preparing = None
            self._discard(prepared, prepared.error)
            return
        # Last call before the work competes for the GIL: whatever the window changes
        # for this run (texts that re-lay it out, pyqtgraph's resizes in Python) is
        # done now, not paid for during the run and charged to its back end.
        self.run_starting.emit(prepared.spec)
        self.preparing = None
        try:
            self.active = self._start(prepared)
        except Exception as exc:
            spec = prepared.spec
            self._discard(prepared, f"{spec.workload} on {spec.backend} could not start: {exc}")
            return
        self.frame.start()
        self.run_started.emit(self.active)

    def _discard(self, prepared: Prepared, error: str = "") -> None:
        """A preparation that will not run: say why (if it failed), go on with the queue."""
        if prepared.temp_dir:
            self._chore(tidy, prepared.spec, prepared.temp_dir)
        if error:
            self.error.emit(error)
            self._account(prepared.spec, None)
        self._start_next()

    def _account(self, spec: RunSpec, record: RunRecord | None) -> None:
        """Count a run that ended (``record``) or could not start (None) in its comparison."""
        comparison = self.comparison
        if comparison is None or not comparison.owns(spec):
            return
        if record is None:
            comparison.failed += 1
        else:
            comparison.records.append(record)
        if comparison.done:
            self.comparison = None
        self.compared.emit(comparison)

    def _start(self, prepared: Prepared) -> Active:
        spec = prepared.spec
        tasks = workloads.make_tasks(spec, base_url=prepared.base_url, folder=prepared.folder)
        state = RunState(spec, [t.total for t in tasks], time.perf_counter())
        # Sampling starts first: starting 1 000 threads takes ~1 s, and they are the run's.
        footprint = FootprintSampler()
        footprint.start()
        try:
            run = backends.start(
                spec.backend,
                tasks,
                spec.workers,
                python=spec.python,
                workload=spec.workload,
                scheduler=spec.scheduler,
            )
        except BaseException:
            footprint.stop()
            raise
        footprint.pids = run.worker_processes
        state.t_start = run.started_at
        return Active(spec, run, state, prepared.temp_dir, footprint=footprint)

    # -- run (GUI thread, once per frame) ----------------------------------
    @Slot()
    def drain(self) -> None:
        active = self.active
        if active is None:
            self.frame.stop()
            return
        now = time.perf_counter()
        events = active.run.drain()
        if events:
            active.state.apply(events, now)
            if active.run.finished and active.state.t_applied is None:
                active.state.t_applied = time.perf_counter()  # the last progress is shown
            self.updated.emit([e for e in events if e.kind != "progress"])
        read_shared(active, now)
        if not active.run.finished:
            return
        if active.settle_until is None:
            active.settle_until = (active.state.t_end or now) + SETTLE_MS / 1000
        if now < active.settle_until:
            return
        self.frame.stop()
        self.active, self.closing = None, active
        if active.run.close_on_gui_thread:
            active.run.close()
        self._chore(self._close, active)

    # -- close (housekeeping thread), then record ---------------------------
    def _close(self, active: Active) -> None:
        try:
            if active.footprint is not None:  # its peaks are the run's: stop before the close
                active.cost = active.footprint.stop()
            active.run.close()  # at once if it was closed on the GUI thread already
            active.cost |= active.run.crossed()  # every task's bytes are in
            tidy(active.spec, active.temp_dir)
            if active.spec.workload == "download" and not active.spec.urls:
                active.server_peak = self.server.peak()  # every connection has ended
        finally:
            self._closed.emit(active)

    @Slot(object)
    def _on_closed(self, active: Active) -> None:
        if active is not self.closing:
            return  # shut down meanwhile
        # One more probe tick, so a stall the close caused on the GUI thread is counted.
        QTimer.singleShot(SETTLE_MS, self, self._record)

    @Slot()
    def _record(self) -> None:
        active, self.closing = self.closing, None
        if active is None:
            return
        now = time.perf_counter()
        # The final balance, or the cycle: read from the shared memory itself, once all stopped.
        active.state.hazard = active.run.readout(active.spec.workload)
        lag = self.probe.stats(active.state.t_start, now)
        record = RunRecord.of(
            active.state,
            active.run.workers,
            lag,
            self.probe.samples,
            now,
            active.server_peak,
            active.cost,
            {**active.run.facts(), **active.run.interpreter()},
        )
        self.records.append(record)
        self.speed.learn(record)  # a gui-thread run is the best measure of serial speed
        self.run_finished.emit(record)
        self._account(active.spec, record)
        self._start_next()
