"""Frames: what the learner sees of a run is drawn on a timer, never per event.

The frame timer runs only while a run is on screen; worker events only land in
the controller's state and the log's pending lines, so a flood of events costs
one redraw per frame. Idle, a slower timer keeps the CPU plot moving.
"""

from __future__ import annotations

import os
import sys
import time

from PySide6.QtCore import QObject, QTimer, Slot

from gui.alive import ProgressPanel
from gui.controller import Active
from gui.cpu import CpuSampler
from gui.log import EventLog
from gui.plots import LivePlots, Trace
from gui.probe import Probe
from gui.timeline import TimelineView

PLOT_MS = 33  # ≤ 30 Hz: plots redraw on this timer, never per event
MAX_FRAME_GAP_MS = 2000  # however slow frames get, the plots move every 2 s
PAUSED_MS = 500  # plots paused (GUI thread starved): progress and log move twice a second
READOUT_S = 0.25  # the live lag read-out changes at most this often
STARVED_S = 0.002  # a turn wait above this: the GUI thread is starved
#: Back ends whose workers share the GUI thread's GIL (the GUI-thread ones block it outright).
SHARE_THE_GIL = frozenset({"qthread", "threading", "thread-pool", "qthread-pool", "hybrid"})
CPU_IDLE_MS = 2000  # idle, the CPU plot is redrawn every 2 s


def turn_wait_s() -> float:
    """How long the GUI thread waits for its turn: sleep(0) gives up the GIL and
    the CPU and takes them back. ~0.05 ms when both are free; a switch interval
    (5 ms) or more when Python threads compute, or while other programs take
    the CPU. The faster of two tries, so one preemption does not count."""
    waits = []
    for _ in range(2):
        start = time.perf_counter()
        time.sleep(0)
        waits.append(time.perf_counter() - start)
    return min(waits)


class Frames(QObject):
    """Draws the run on screen (``current``) into ``plots`` and ``progress``, with
    ``probe``'s lag samples, this machine's CPU use, and ``log``'s pending lines."""

    def __init__(
        self,
        parent: QObject,
        plots: LivePlots,
        progress: ProgressPanel,
        probe: Probe,
        log: EventLog,
        timeline: TimelineView | None = None,
    ) -> None:
        super().__init__(parent)
        self.plots, self.progress, self.probe, self.log = plots, progress, probe, log
        self.timeline = timeline
        self.current: Active | None = None  # the run on screen; outlives the controller's
        self.trace: Trace | None = None
        self.trace_label = ""
        self.readout_at = 0.0  # perf_counter time of the read-out's next update
        self.timer = QTimer(self)
        self.timer.setInterval(PLOT_MS)
        self.timer.timeout.connect(self.redraw)
        self.cpu = CpuSampler(os.cpu_count() or 1)
        self.cpu.start()
        self.cpu_drawn = 0  # the sampler's count when the CPU plot was last drawn
        self.cpu_timer = QTimer(self)  # draws the CPU plot while no run redraws it
        self.cpu_timer.setInterval(CPU_IDLE_MS)
        self.cpu_timer.timeout.connect(self.on_cpu)
        self.cpu_timer.start()

    def start_run(self, active: Active) -> None:
        """``active`` is on screen now, its curve named by its job (and the switch
        interval, if not the default)."""
        self.current = active
        self.trace = None  # the first frame adds it, unless threads hold the GIL
        spec, switch_ms = active.spec, sys.getswitchinterval() * 1000
        self.trace_label = f"{spec.workload} · {spec.backend}" + (
            f" · switch {switch_ms:g} ms" if abs(switch_ms - 5.0) > 1e-6 else ""
        )
        if spec.python:  # threads in another interpreter (--python): which one
            self.trace_label += f" · {os.path.basename(spec.python)}"
        if self.timeline is not None:
            self.timeline.show_run(active.state, self.probe.samples)
        self.timer.start(PLOT_MS)

    @Slot()
    def redraw(self, force: bool = False) -> None:
        """Redraw what changed; while the GUI thread is starved, pause the plots.

        Drawing pyqtgraph calls back into Python hundreds of times, and while
        pure-Python threads run each call waits its turn for the GIL: a frame
        then costs 100-300 ms, which the lag plot would blame on the threads
        (measured, 2 threads: p99 ~150 ms headless, 0.7-1.3 s with live plots).
        So under contention the plots wait for the run's end (``force``), and
        only the progress and the log move.
        """
        start = time.perf_counter()
        active = self.current
        paused = False
        if active is not None:
            self.progress.show_state(active.state, start)
            wait_s = 0.0 if force else turn_wait_s()
            paused = wait_s > STARVED_S
            if paused:
                shares = active.spec.backend in SHARE_THE_GIL and not active.spec.python
                self.plots.show_paused(wait_s, shares)
            else:
                if self.trace is None:
                    spec = active.spec
                    self.trace = self.plots.add_run(
                        self.trace_label, active.state.t_start, spec.backend, spec.workload
                    )
                samples, units = self.probe.samples, active.state.units_over_time
                switches = active.state.switch_intervals
                self.plots.refresh(self.trace, samples, units, start, switches)
                self.progress.depth.draw(active.state)
                if self.timeline is not None and self.timeline.on_screen:
                    self.timeline.refresh(samples, start)  # hidden, it catches up when shown
            if start >= self.readout_at:  # paused or not: it costs ~0.1 ms
                self.readout_at = start + READOUT_S
                switch_ms = active.state.switch_intervals[-1][1]
                self.plots.show_readout(self.probe.samples, start, switch_ms)
        if not paused:
            self.plots.hide_paused()
            self.draw_cpu(start)
        self.log.flush()
        # However cheap a frame is, keep drawing under ~10% of the GUI thread.
        spent = time.perf_counter() - start + (0.0 if paused else self.plots.paint_s)
        if not paused and self.timeline is not None and self.timeline.on_screen:
            spent += self.timeline.paint_s
        interval = PAUSED_MS if paused else max(PLOT_MS, 9000 * spent)
        self.timer.setInterval(round(min(MAX_FRAME_GAP_MS, interval)))

    @Slot()
    def on_cpu(self) -> None:
        """Idle, no frame draws the CPU plot: this timer does, every 2 s."""
        if not self.timer.isActive():
            self.draw_cpu(time.perf_counter())

    def draw_cpu(self, now: float) -> None:
        if self.cpu.count != self.cpu_drawn:
            self.cpu_drawn = self.cpu.count
            self.plots.refresh_cpu(*self.cpu.samples(), now)

    def stop(self) -> None:
        """No more frames, nor CPU samples (the window closes)."""
        for timer in (self.timer, self.cpu_timer):
            timer.stop()
        self.cpu.stop()
