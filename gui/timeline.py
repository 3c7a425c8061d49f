"""The Timeline dock: who ran which task when, how much of it on a CPU, and the lag beneath.

One lane per worker (thread, pool thread, worker process, coroutine), one bar
per task from its start to its end (per stage of each task, where the back end
runs stages apart: ``hybrid``'s download threads, checksum processes and writer), coloured by outcome and shaded by its
CPU share (CPU seconds of its worker thread over wall seconds: solid = on a
CPU all along, faint = waiting, for the GIL, a socket or a core). Beneath,
on the same time axis, the GUI thread's lag, and across both a red band
wherever the GUI thread was frozen: what ran while the window could not.

Cheap by construction: it is drawn on the window's frame timer (never per
event), finished bars are added once to one C++ path per colour and shade
(no Python per bar when painting), only the running bars are redrawn each
frame, and every item is made once and reused from run to run.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Slot
from PySide6.QtGui import QBrush, QColor, QPainterPath, QPaintEvent, QResizeEvent
from PySide6.QtWidgets import QGraphicsPathItem, QLabel, QToolTip, QVBoxLayout, QWidget

from gui.series import frozen_spans, since
from gui.style import LagAxis, pen, set_theme, setup_plot
from gui.trace import FLOOR_MS, FROZEN_BRUSH
from workers.record import RunState
from workers.stats import Ring

#: Bar colours by how the task ended; "started" is a task still running.
OUTCOME_COLOURS = {
    "done": "#2ca02c",
    "failed": "#e53935",
    "cancelled": "#9e9e9e",
    "started": "#1f77b4",
}
#: CPU share is shown in this many shades (0-0.2, 0.2-0.4, ... 0.8-1).
SHADES = 5
BAR_TOP, BAR_HEIGHT = -0.4, 0.55  # of a lane, around its row
#: Under each finished bar, a thin strip shaded by its worker's voluntary context switches
#: per second (GIL hand-offs, for pure-Python threads): below 10/s, 30, 100, 300, above.
STRIP_TOP, STRIP_HEIGHT = 0.2, 0.17
SWITCH_LEVELS = (10.0, 30.0, 100.0, 300.0)
SWITCH_COLOUR = "#9467bd"
LANE_LABEL_PX = 15  # a lane's name needs this much height
LANE_AXIS_PX = 150  # both plots' left axes: the same width keeps their x axes aligned
HELP = (
    "A bar per task on the worker that ran it, shaded by its <b>CPU share</b>; purple strip: "
    "how often its worker waited; red: the GUI thread was frozen. Hover for the numbers."
)
DETAILS = (
    "Each bar is a task on the worker that ran it, from its start to its end. Its shade is "
    "its CPU share: the worker thread's CPU seconds over the bar's wall seconds (solid: on a "
    "CPU all along; faint: waiting for the GIL, the network or a core). Green done, red "
    "failed, grey cancelled, blue running. The thin purple strip beneath: how often the "
    "worker gave up its CPU to wait, per second (for pure-Python threads, GIL hand-offs). "
    "Red bands, across the lanes and the lag: the GUI thread was frozen."
)
TOP_MS = 3000.0  # the lag axis's top, as on the main lag plot


def shade(share: float) -> int:
    """The shade (0 faintest … SHADES - 1 solid) a CPU share is drawn in; NaN: faintest."""
    if math.isnan(share):
        return 0
    return min(SHADES - 1, max(0, int(share * SHADES)))


def switch_level(rate: float) -> int:
    """The shade (0 … len(SWITCH_LEVELS)) of a strip for ``rate`` voluntary switches/s."""
    return int(np.searchsorted(SWITCH_LEVELS, rate, side="right"))


def brush(outcome: str, level: int) -> QBrush:
    colour = QColor(OUTCOME_COLOURS[outcome])
    colour.setAlpha(40 + round(215 * level / (SHADES - 1)))
    return QBrush(colour)


def task_tip(state: RunState, i: int, now: float) -> str:
    """What hovering bar ``i`` (a task, or a stage of one) says: all measured, nothing inferred."""
    bars = state.bars
    start = float(bars.began[i]) - state.t_start
    end_t = float(bars.ended[i])
    running = math.isnan(end_t)
    wall = (now if running else end_t) - float(bars.began[i])
    head = f"{bars.label(i)} on {bars.lanes[i]}: {bars.statuses[i]}"
    when = f"{start:.3f} s → " + ("running" if running else f"{end_t - state.t_start:.3f} s")
    cpu = float(bars.cpu_s[i])
    if running or math.isnan(cpu):
        return f"{head}\n{when} ({wall:.3f} s)\nCPU: measured when it ends"
    share = cpu / wall if wall > 0 else 0.0
    text = f"{head}\n{when} ({wall:.3f} s)\nCPU {cpu:.3f} s · share {share:.2f}"
    switches = float(bars.switches[i])
    if not math.isnan(switches) and wall > 0:
        text += f"\nwaited {switches:.0f} times ({switches / wall:.0f}/s voluntary switches)"
    return text


LAG_MAX_PX = 120  # the lag strip beneath the lanes, its time axis included


class TimelineView(pg.GraphicsLayoutWidget):
    """The lanes and their bars on top, the GUI thread's lag below, x linked."""

    def __init__(self) -> None:
        super().__init__()
        self.lanes_plot = self.addPlot(row=0, col=0)
        setup_plot(self.lanes_plot, "Tasks by worker (shade: CPU share)", "", "")
        self.lag_plot = self.addPlot(row=1, col=0, axisItems={"left": LagAxis("left")})
        setup_plot(self.lag_plot, "", "lag", "seconds since the run started")
        self.lag_plot.setLogMode(False, True)
        # A short plot: the thresholds that matter, not a tick per power of ten.
        self.lag_plot.getAxis("left").setTicks(
            [[(math.log10(ms), text) for ms, text in ((1000, "1 s"), (16, "16 ms"), (1, "1 ms"))]]
        )
        self.lag_plot.setYRange(math.log10(FLOOR_MS), math.log10(TOP_MS), padding=0)
        self.lag_plot.enableAutoRange(x=False, y=False)
        self.lanes_plot.enableAutoRange(x=False, y=False)
        self.lanes_plot.invertY(True)  # the first worker on top
        self.lanes_plot.hideAxis("bottom")  # the lag plot's, beneath, reads for both
        self.lanes_plot.getAxis("left").setTicks([[]])  # lanes are named as workers start
        for plot in (self.lanes_plot, self.lag_plot):
            plot.getAxis("left").setWidth(LANE_AXIS_PX)
            plot.setMouseEnabled(x=True, y=False)
        self.lag_plot.setXLink(self.lanes_plot)  # same left axis width: the x axes match
        layout = self.ci.layout
        layout.setRowStretchFactor(0, 3)
        layout.setRowStretchFactor(1, 1)
        # Three ticks and the time axis need no more; the lanes get the rest (at
        # 1600 x 1000 the lag took a quarter of the dock, a strip it reads as well in).
        self.lag_plot.setMaximumHeight(LAG_MAX_PX)
        # Steps, as on the main lag plot: a sample measures the wait that ended at it.
        self.lag = self.lag_plot.plot(pen=pen("#1f77b4"), stepMode="left")
        self.lag_plot.setDownsampling(auto=True, mode="peak")
        self.lag_plot.setClipToView(True)
        #: One path per (outcome, shade) for finished bars, one for the running ones.
        self.paths: dict[tuple[str, int], QGraphicsPathItem] = {}
        for outcome in ("done", "failed", "cancelled"):
            for level in range(SHADES):
                self.paths[outcome, level] = self._path_item(outcome, level)
        self.running = self._path_item("started", 1)
        self.strips = [self._path_item("started", 0) for _ in range(len(SWITCH_LEVELS) + 1)]
        for level, strip in enumerate(self.strips):
            colour = QColor(SWITCH_COLOUR)
            colour.setAlpha(30 + round(225 * level / len(SWITCH_LEVELS)))
            strip.setBrush(QBrush(colour))
            strip.setPen(Qt.PenStyle.NoPen)
        #: The GUI thread's frozen stretches, across the lanes and the lag alike.
        self.frozen = [self._band_item(plot) for plot in (self.lanes_plot, self.lag_plot)]
        self.spans: list[tuple[float, float, float]] = []
        self.state: RunState | None = None
        self.samples: Ring | None = None
        #: Its dock's tab is the one shown (a tabbed dock behind another still says
        #: isVisible(); QDockWidget.visibilityChanged tells, see ``set_on_screen``).
        self.on_screen = False
        self.paint_s = 0.0  # what the last paint cost: the frames pace themselves by it
        self.drawn = np.zeros(0, dtype=bool)  # finished bars already in their path
        self.lane_rows: dict[str, int] = {}
        self.first_sample = 0
        self.now = 0.0
        self.scene().sigMouseMoved.connect(self.on_mouse_moved)

    def _path_item(self, outcome: str, level: int) -> QGraphicsPathItem:
        # A plain QGraphicsPathItem: C++ paints all its bars in one call. The outline
        # (1 px, the background's colour) parts one task from the next on a lane.
        item = QGraphicsPathItem()
        item.setBrush(brush(outcome, level))
        item.setPen(pen(pg.getConfigOption("background")))
        self.lanes_plot.addItem(item, ignoreBounds=True)
        return item

    @staticmethod
    def _band_item(plot: pg.PlotItem) -> QGraphicsPathItem:
        item = QGraphicsPathItem()
        item.setBrush(pg.mkBrush(*FROZEN_BRUSH))
        item.setPen(Qt.PenStyle.NoPen)
        item.setZValue(-10)  # behind the bars and the curve
        plot.addItem(item, ignoreBounds=True)
        return item

    # -- drawing ------------------------------------------------------------
    def show_run(self, state: RunState, samples: Ring) -> None:
        """``state``'s run from now on: every bar of the previous run goes."""
        self.state, self.samples = state, samples
        self.drawn = np.zeros(len(state.bars.began), dtype=bool)
        self.lane_rows = {}
        for item in (*self.paths.values(), self.running, *self.strips, *self.frozen):
            item.setPath(QPainterPath())
        self.spans = []
        t, _ = samples.arrays()
        self.first_sample = samples.count - len(t) + int(np.searchsorted(t, state.t_start))
        self.lanes_plot.getAxis("left").setTicks([[]])
        self.lag.setData([], [])

    def refresh(self, samples: Ring, now: float) -> None:
        """Bring the bars and the lag up to ``now`` (perf_counter): new finished bars
        join their path once; running bars and the lag are redrawn."""
        state = self.state
        if state is None:
            return
        self.now = now
        self._add_lanes(state)
        bars = state.bars
        ended = ~np.isnan(bars.ended) & ~np.isnan(bars.began)
        new = np.flatnonzero(ended & ~self.drawn).tolist()
        for i in new:
            key = (bars.statuses[i], shade(self._share(state, i)))
            if key not in self.paths:  # ended, but not done/failed/cancelled: never
                continue
            path = self.paths[key].path()
            self._add_bar(path, state, i, float(bars.ended[i]))
            self.paths[key].setPath(path)
            self._add_strip(state, i)
        self.drawn[new] = True
        running = QPainterPath()
        for i in np.flatnonzero(~np.isnan(bars.began) & ~ended).tolist():
            self._add_bar(running, state, i, now)
        self.running.setPath(running)
        t, v = since(samples, self.first_sample)
        end = int(np.searchsorted(t, now, side="right"))
        t, v = t[:end] - state.t_start, v[:end]
        if len(t) and t[0] > 0:  # the first wait began at the run's start at the latest
            t, v = np.concatenate(([0.0], t)), np.concatenate((v[:1], v))
        self.lag.setData(t, np.maximum(v, FLOOR_MS))
        last = float(np.nanmax(bars.ended)) if ended.any() else now
        right = (
            max(now if not state.finished else last, state.t_start + 0.1) - state.t_start
        ) * 1.02
        self.lanes_plot.setXRange(0, right, padding=0)
        # Only what froze while the tasks ran: a freeze before the first (the lag of a
        # wait that began earlier) or after the last (closing, recording) is cut at the edges.
        spans = frozen_spans(t, v)
        self._draw_frozen(
            [(max(a, 0.0), min(b, right), s) for a, b, s in spans if b > 0 and a < right]
        )

    def paintEvent(self, event: QPaintEvent) -> None:
        start = time.perf_counter()
        super().paintEvent(event)
        self.paint_s = time.perf_counter() - start

    @Slot(bool)
    def set_on_screen(self, visible: bool) -> None:
        """Its dock's tab was selected (or left, or the dock closed): off screen, frames
        skip it; back on screen, it catches up at once."""
        self.on_screen = visible
        if visible and self.state is not None and self.samples is not None:
            self.refresh(self.samples, time.perf_counter())

    @staticmethod
    def _share(state: RunState, i: int) -> float:
        bars = state.bars
        wall = float(bars.ended[i] - bars.began[i])
        return float(bars.cpu_s[i]) / wall if wall > 0 else math.nan

    def _add_bar(self, path: QPainterPath, state: RunState, i: int, end: float) -> None:
        bars = state.bars
        row = self.lane_rows.get(bars.lanes[i], 0)
        x0 = float(bars.began[i]) - state.t_start
        path.addRect(x0, row + BAR_TOP, max(end - state.t_start - x0, 1e-6), BAR_HEIGHT)

    def _add_strip(self, state: RunState, i: int) -> None:
        """The finished bar ``i``'s strip, if its worker's switches were counted."""
        bars = state.bars
        wall = float(bars.ended[i] - bars.began[i])
        if math.isnan(bars.switches[i]) or wall <= 0:
            return
        item = self.strips[switch_level(float(bars.switches[i]) / wall)]
        path = item.path()
        row = self.lane_rows.get(bars.lanes[i], 0)
        x0 = float(bars.began[i]) - state.t_start
        path.addRect(x0, row + STRIP_TOP, wall, STRIP_HEIGHT)
        item.setPath(path)

    def _draw_frozen(self, spans: list[tuple[float, float, float]]) -> None:
        """A band per frozen stretch (seconds since the run began), from the top lane to
        the bottom one and over the whole lag axis; redrawn only when a stretch ends."""
        if spans == self.spans:
            return
        self.spans = spans
        rows = max(len(self.lane_rows), 1)
        low, high = math.log10(FLOOR_MS), math.log10(TOP_MS)
        for item, (y0, y1) in zip(self.frozen, ((-0.5, rows - 0.5), (low, high)), strict=True):
            path = QPainterPath()
            for start, end, _ in spans:
                path.addRect(start, y0, end - start, y1 - y0)
            item.setPath(path)

    def _add_lanes(self, state: RunState) -> None:
        """New workers get the next lane, named on the left axis."""
        before = len(self.lane_rows)
        bars = state.bars
        for i in np.flatnonzero(~np.isnan(bars.began)).tolist():
            self.lane_rows.setdefault(bars.lanes[i], len(self.lane_rows))
        if len(self.lane_rows) != before:
            self._name_lanes()
            self.lanes_plot.setYRange(-0.5, max(len(self.lane_rows), 1) - 0.5, padding=0.05)
            self.spans = []  # the bands span every lane: redrawn to the new height

    def _name_lanes(self) -> None:
        """Name the lanes on the left axis: every one where their names fit, else every
        k-th (a run of 11 workers in a short dock would print them over each other)."""
        height = self.lanes_plot.getViewBox().height() or 200.0
        step = max(1, math.ceil(len(self.lane_rows) * LANE_LABEL_PX / height))
        ticks = [(r, n) for n, r in self.lane_rows.items() if r % step == 0]
        self.lanes_plot.getAxis("left").setTicks([ticks])

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if getattr(self, "lane_rows", None):  # resized before __init__ ends: nothing to name
            self._name_lanes()

    # -- hover --------------------------------------------------------------
    def task_at(self, x: float, y: float) -> int | None:
        """The bar (task, or stage of one) that covers ``(x seconds, lane y)``, or None."""
        state = self.state
        if state is None:
            return None
        bars = state.bars
        for name, row in self.lane_rows.items():
            if not row + BAR_TOP <= y <= row + STRIP_TOP + STRIP_HEIGHT:
                continue
            end = np.where(np.isnan(bars.ended), self.now, bars.ended) - state.t_start
            start = bars.began - state.t_start
            on_lane = np.array([lane == name for lane in bars.lanes], dtype=bool)
            hits = np.flatnonzero(on_lane & (start <= x) & (x <= end))
            return int(hits[0]) if len(hits) else None
        return None

    def tip_at(self, x: float, y: float) -> str:
        i = self.task_at(x, y)
        return "" if i is None or self.state is None else task_tip(self.state, i, self.now)

    @Slot(object)
    def on_mouse_moved(self, pos: QPointF) -> None:
        view = self.lanes_plot.getViewBox()
        if not view.sceneBoundingRect().contains(pos):
            return
        at = view.mapSceneToView(pos)
        tip = self.tip_at(at.x(), at.y())
        global_pos = self.mapToGlobal(self.mapFromScene(pos))
        if tip:
            QToolTip.showText(global_pos, tip, self)
        else:
            QToolTip.hideText()

    def set_theme(self, background: QColor, foreground: QColor) -> None:
        set_theme(self, (self.lanes_plot, self.lag_plot), background, foreground)
        for item in (*self.paths.values(), self.running):
            item.setPen(pen(background))


class TimelinePanel(QWidget):
    """The dock's content: one line on how to read it, and the view."""

    def __init__(self) -> None:
        super().__init__()
        self.help = QLabel(HELP, wordWrap=True)
        self.help.setToolTip(DETAILS)
        self.view = TimelineView()
        box = QVBoxLayout(self)
        box.setContentsMargins(4, 2, 4, 2)
        box.addWidget(self.help)
        box.addWidget(self.view, 1)
