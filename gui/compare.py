"""Compare all, as the window runs it: the form's job, shrunk to ~3 s serial, on
every back end one after another, with its progress in the status bar.

The controller queues the runs and counts them as they end
(``RunController.compare``). This flow decides when they may start (once this
machine is timed: shrunk by a guessed speed, a Compare all could last a minute
instead of ~20 s), sizes them, and shows how far they are.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import QProgressBar

from gui.controller import Active, Comparison, RunController
from gui.jobs import compare_spec, job_text
from workers.spec import RunSpec, backends_for


def compare_eta(
    runs: int, finished: int, started_at: float, last_end: float, now: float, guess_s: float
) -> float:
    """Seconds left in a Compare all of ``runs`` runs: the runs left at the mean time the
    finished ones took (``guess_s`` each before any did), less what the current one has had."""
    per_run = (last_end - started_at) / finished if finished else guess_s
    return max(0.0, per_run * (runs - finished) - (now - last_end))


class CompareProgress(QProgressBar):
    """``Compare all 2 of 6 · ETA ~9 s``, hidden but while a Compare all runs."""

    def __init__(self) -> None:
        super().__init__(maximumWidth=280, textVisible=True)
        self.setToolTip("Compare all: runs finished, and the time left if the rest take as long.")
        self.hide()
        self.times = (0.0, 0.0, 0.0)  # started at, last run ended at, guess per run

    def begin(self, guess_s: float) -> None:
        """A Compare all starts now; ``guess_s`` is a run's time until one has ended."""
        now = time.perf_counter()
        self.times = (now, now, guess_s)

    def run_ended(self) -> float:
        """One of its runs ended now: the seconds since the Compare all started."""
        started, _, guess = self.times
        self.times = (started, time.perf_counter(), guess)
        return time.perf_counter() - started

    def show_progress(self, runs: int, finished: int) -> None:
        started, last_end, guess = self.times
        eta = compare_eta(runs, finished, started, last_end, time.perf_counter(), guess)
        self.setRange(0, runs)
        self.setValue(finished)
        self.setFormat(f"Compare all %v of %m · ETA ~{eta:.0f} s")
        self.show()


class CompareAll(QObject):
    """One Compare all at a time: ``start`` it, ``stop`` it (Cancel)."""

    #: A line for the run log.
    logged = Signal(str)
    #: A status-bar message and how many milliseconds it shows.
    message = Signal(str, int)

    def __init__(self, controller: RunController, progress: CompareProgress) -> None:
        super().__init__(controller)
        self.controller, self.progress = controller, progress
        self.comparison: Comparison | None = None  # the one on screen
        self.waiting: RunSpec | None = None  # asked for before this machine was timed
        controller.run_started.connect(self.on_run_started)
        controller.compared.connect(self.on_compared)
        controller.calibrated.connect(self.on_calibrated)

    def start(self, spec: RunSpec) -> None:
        speed = self.controller.speed
        if not speed.measured(spec.workload) and self.controller.calibration_pending:
            self.waiting = spec
            self.message.emit("Compare all starts once this machine is timed…", 5000)
            return
        small = compare_spec(spec, speed)
        self.logged.emit(
            f"Compare all: {small.workload}, {job_text(small)} on {len(backends_for(small.workload))} back ends"
            + (f" (scaled from {job_text(spec)})" if small != spec else "")
        )
        self.comparison = self.controller.compare(small)
        self.progress.begin(speed.serial_seconds(small))
        self._show_progress()

    def stop(self) -> None:
        self.waiting = None
        self._end()

    def _show_progress(self) -> None:
        """At each run's start and end."""
        if self.comparison is not None:
            self.progress.show_progress(len(self.comparison.specs), self.comparison.finished)

    def _end(self) -> None:
        self.comparison = None
        self.progress.hide()

    @Slot(object)
    def on_run_started(self, active: Active) -> None:
        self._show_progress()

    @Slot(object)
    def on_compared(self, comparison: Comparison) -> None:
        if comparison is not self.comparison:
            return
        took = self.progress.run_ended()
        if comparison.done:
            self._end()
            self.message.emit(f"Compare all: {len(comparison.specs)} runs in {took:.1f} s", 10_000)
        else:
            self._show_progress()

    @Slot()
    def on_calibrated(self) -> None:
        """This machine is timed: a Compare all asked for meanwhile can size its runs."""
        spec, self.waiting = self.waiting, None
        if spec is not None:
            self.start(spec)
