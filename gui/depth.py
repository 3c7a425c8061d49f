"""The queue's depth over time: a small plot under the progress, for queue runs.

The controller samples the run's queue (``qsize()``) once per frame into
``RunState.depth_over_time``; this draws it with the queue's bound as a
dashed line, so backpressure shows as a curve pressed against its ceiling.
The window shows it while the queue workload is selected (never at a
run's start: the re-layout would land in the run and be charged to its lag)
and the frame timer draws it, like the other plots.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from gui.style import set_theme
from workers.record import RunState
from workers.spec import RunSpec

HEIGHT = 96


class DepthPlot(pg.PlotWidget):
    def __init__(self) -> None:
        super().__init__()
        self.setFixedHeight(HEIGHT)
        self.setMenuEnabled(False)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        self.setToolTip(
            "Items in the queue, sampled once per frame; dashed: its bound. Pressed against "
            "the bound, the producers are blocked: backpressure."
        )
        self.setLabel("left", "queue")
        self.setLabel("bottom", "s since the run started")
        self.curve = self.plot(pen=pg.mkPen("#1e88e5", width=1))
        self.bound = pg.InfiniteLine(
            angle=0, pen=pg.mkPen("#e53935", width=1, style=Qt.PenStyle.DashLine)
        )
        self.addItem(self.bound)
        self.drawn = 0  # the ring's count when last drawn
        self.hide()

    def set_theme(self, background: QColor, foreground: QColor) -> None:
        set_theme(self, (self.getPlotItem(),), background, foreground)

    def prepare(self, spec: RunSpec) -> None:
        """Emptied before a run's tasks start, with the bound of a queue's."""
        self.curve.setData([], [])
        self.drawn = 0
        if spec.depth:
            self.bound.setPos(spec.depth)
            self.setYRange(0, spec.depth * 1.15, padding=0)

    def draw(self, state: RunState) -> None:
        ring = state.depth_over_time
        if not self.isVisible() or ring.count == self.drawn:
            return
        self.drawn = ring.count
        t, depth = ring.arrays()
        self.curve.setData(t - state.t_start, depth)
