"""Live pyqtgraph plots: UI lag with its frozen bands, throughput, CPU per core.

Plots never draw from worker callbacks: the window calls :meth:`LivePlots.refresh`
from its frame timer with NumPy arrays. 1 px cosmetic pens, peak downsampling
and clip-to-view keep a frame at a few ms with 5 runs × 20 000 points
(``unfreeze bench --ui`` measures it).
"""

from __future__ import annotations

import html
import math
import time
from dataclasses import dataclass, field

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainterPath, QPaintEvent, QPen
from PySide6.QtWidgets import QGraphicsPathItem, QLabel

from gui.lessons import seconds_text
from workers.stats import FROZEN_MS, Ring

THRESHOLDS = ((16, "16 ms · one frame"), (50, "50 ms · input lags"))
THRESHOLDS += ((100, "100 ms · not instant"), (1000, "1 s · flow breaks"))
MERGE_S = 0.05  # frozen stretches closer than this (one loop turn apart) are drawn as one
FLOOR_MS = 0.1  # the log axis cannot show 0: lag below this is drawn at it
TOP_MS = 3000.0  # the lag axis always reaches past 1 s, so a freeze reads in seconds
MAX_BANDS = 100
PAUSED_TEXT = (
    "<b>Plots paused:</b> the GUI thread waits {wait} for each turn{why}, and drawing "
    "these plots would wait too — adding lag of our own to what you measure. "
    "They catch up when the run ends; meanwhile, watch the ball and try typing."
)
PAUSED_WHY_GIL = ": this run's threads hold the GIL"
PAUSED_WHY_CPU = ": the CPU is busy (this run's processes, or other programs)"
LEGEND_MAX = 6  # runs named in the legend (two lines); older ones are counted
LABEL_MIN_S = 0.25  # narrower bands get no label (the tooltip still counts them)
CPU_WINDOW_S = 60.0
#: Run colours: no red, which means "frozen" here.
COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22"]
BACKEND_COLOURS = dict(
    zip(
        ("gui-thread", "qthread", "threading", "thread-pool", "multiprocessing", "asyncio"),
        ("#d62728", "#9467bd", "#1f77b4", "#17becf", "#2ca02c", "#ff7f0e"),
        strict=True,
    )
)
SHORT = {
    "gui-thread": "GUI",
    "qthread": "QThread",
    "threading": "threads",
    "thread-pool": "pool",
    "multiprocessing": "procs",
    "asyncio": "asyncio",
}
FROZEN_BRUSH = (229, 57, 53, 45)
FROZEN_TEXT = "#e53935"


def pen(colour: str | QColor, width: float = 1, style: Qt.PenStyle = Qt.PenStyle.SolidLine) -> QPen:
    """A cosmetic pen: its width is in pixels whatever the zoom (2 px costs 10x to draw)."""
    p = pg.mkPen(colour, width=width, style=style)
    p.setCosmetic(True)
    return p


def rate(t: np.ndarray, units: np.ndarray, window_s: float = 0.5) -> np.ndarray:
    """MB/s at each sample, over the trailing ``window_s`` (units are bytes)."""
    if len(t) < 2:
        return np.zeros(len(t))
    j = np.searchsorted(t, t - window_s)
    j = np.minimum(j, np.arange(len(t)) - 1).clip(0)
    dt = t - t[j]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(dt > 0, (units - units[j]) / dt / 1e6, 0.0)


def since(ring: Ring, first: int) -> tuple[np.ndarray, np.ndarray]:
    """The samples appended since ``ring.count`` was ``first``, oldest first (views if
    they do not wrap around the ring's end)."""
    first = max(first, ring.count - ring.capacity)
    n, i = ring.count - first, first % ring.capacity
    if n <= 0:
        return ring.t[:0], ring.v[:0]
    if i + n <= ring.capacity:
        return ring.t[i : i + n], ring.v[i : i + n]
    rest = i + n - ring.capacity
    return np.concatenate((ring.t[i:], ring.t[:rest])), np.concatenate((ring.v[i:], ring.v[:rest]))


def frozen_spans(
    t: np.ndarray, lag_ms: np.ndarray, threshold_ms: float = FROZEN_MS, merge_s: float = MERGE_S
) -> list[tuple[float, float, float]]:
    """``(start, end, frozen seconds)`` of each stretch the event loop did not run.

    A probe sample is taken when the loop runs again, so a late sample at ``t``
    with lag ``L`` means nothing ran during ``[t - L, t]``. Stretches separated
    by less than ``merge_s`` (one task after another on the GUI thread) merge.
    """
    late = lag_ms > threshold_ms
    spans: list[list[float]] = []
    for end, lag in zip(t[late].tolist(), lag_ms[late].tolist(), strict=True):
        start = end - lag / 1000
        if spans and start - spans[-1][1] < merge_s:
            spans[-1][1] = end
            spans[-1][2] += lag / 1000
        else:
            spans.append([start, end, lag / 1000])
    return [(a, b, s) for a, b, s in spans]


def span_freezes(
    t: np.ndarray,
    lag_ms: np.ndarray,
    spans: list[tuple[float, float, float]],
    threshold_ms: float = FROZEN_MS,
) -> list[tuple[int, float]]:
    """``(freezes, longest seconds)`` of each span: a band merges back-to-back freezes,
    so its frozen total and its longest single freeze differ, and both are named."""
    late = lag_ms > threshold_ms
    out = []
    for start, end, _ in spans:
        lags = lag_ms[late & (t > start) & (t <= end)]
        out.append((len(lags), float(lags.max()) / 1000 if len(lags) else 0.0))
    return out


def band_label(frozen_s: float, freezes: int, longest_s: float) -> str:
    """``frozen 9.8 s · longest freeze 1.4 s`` for a band of several freezes, ``frozen 1.4 s``
    for one: the words of the read-back, so the two numbers are never confused."""
    text = f"frozen {seconds_text(frozen_s)}"
    return text + (f" · longest freeze {seconds_text(longest_s)}" if freezes > 1 else "")


class LagAxis(pg.AxisItem):
    """A log axis that reads in ms and s, not in powers of ten."""

    def logTickStrings(self, values, scale, spacing):
        out = []
        for v in values:
            if abs(v - round(v)) > 1e-6:
                out.append("")  # minor tick
                continue
            ms = 10 ** round(v)
            out.append(f"{ms:g} ms" if ms < 1000 else f"{ms / 1000:g} s")
        return out


@dataclass
class Trace:
    """One run on the plots: its colour, legend entry, curves and frozen bands."""

    label: str
    colour: str
    t0: float
    lag: pg.PlotDataItem
    throughput: pg.PlotDataItem
    index: int = 0
    bands: QGraphicsPathItem | None = None  # every frozen stretch, as one C++ item
    spans: list[tuple[float, float, float]] = field(default_factory=list)
    labels: list[pg.TextItem] = field(default_factory=list)
    frozen_s: float = 0.0  # the spans' frozen seconds, summed: the total time frozen
    freezes: list[tuple[int, float]] = field(default_factory=list)  # per span: count, longest s
    first: int | None = None  # the probe ring's count at t0: where this run's samples start
    latest: bool = True  # full-height red bands; older runs shrink theirs to a strip


def setup_plot(plot: pg.PlotItem, title: str, left: str, bottom: str) -> None:
    plot.setTitle(title, size="10pt")
    plot.setLabel("left", left)
    plot.setLabel("bottom", bottom)
    plot.setMenuEnabled(False)
    plot.hideButtons()
    # No grid: grid lines were 60% of a frame's cost in software rendering.
    for name in ("left", "bottom"):
        plot.getAxis(name).enableAutoSIPrefix(False)  # "(x0.001)" confuses more than it helps


class LivePlots(pg.GraphicsLayoutWidget):
    """UI lag on top; throughput and CPU per core below. Runs overlay from their t = 0."""

    def __init__(self, cores: int) -> None:
        super().__init__()
        # The runs' legend is a plain QLabel for the window to put above the plots:
        # on the plot, six entries would hide the samples they name, and as a
        # pyqtgraph item each new entry re-lays out the scene, in Python.
        self.legend = QLabel(wordWrap=True)
        self.legend.setFixedHeight(2 * self.legend.fontMetrics().lineSpacing() + 4)
        self.legend.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.lag_plot = self.addPlot(row=0, col=0, colspan=2, axisItems={"left": LagAxis("left")})
        setup_plot(
            self.lag_plot,
            "UI lag: how late the GUI thread's event loop runs (red: frozen)",
            "lag",
            "seconds since the run started",
        )
        self.lag_plot.setLogMode(False, True)
        self.lag_plot.enableAutoRange(x=True, y=False)
        self.top_ms = TOP_MS
        self.lag_plot.setYRange(math.log10(FLOOR_MS), math.log10(TOP_MS), padding=0)
        self.thresholds: list[pg.InfiniteLine] = []
        for ms, text in THRESHOLDS:
            line = pg.InfiniteLine(
                pos=math.log10(ms),
                angle=0,
                pen=pen("#888888", style=Qt.PenStyle.DashLine),
                label=text,
                labelOpts={
                    "position": 0.3 if ms == 50 else 0.01,  # 50 and 100 ms lie close on a log axis
                    "color": "#888888",
                    "anchors": [(0, 1), (0, 1)],
                },
            )
            self.lag_plot.addItem(line, ignoreBounds=True)
            self.thresholds.append(line)
        self.tp_plot = self.addPlot(row=1, col=0)
        setup_plot(
            self.tp_plot, "Throughput (0.5 s window)", "MB/s", "seconds since the run started"
        )
        # No setXLink: pyqtgraph links views by screen position, and these differ in width.
        self.cpu_plot = self.addPlot(row=1, col=1)
        setup_plot(self.cpu_plot, "CPU use per core, whole machine", "%", "seconds ago")
        self.cpu_plot.setYRange(0, 100, padding=0.02)
        self.cpu_plot.setXRange(-CPU_WINDOW_S, 0, padding=0)
        self.cpu_plot.enableAutoRange(x=False, y=False)
        self.cpu_plot.setMouseEnabled(x=False, y=False)
        cpu_legend = self.cpu_plot.addLegend(offset=(4, 4), labelTextSize="8pt")
        cpu_legend.setColumnCount(min(cores, 4))
        self.cpu_curves = [
            self.cpu_plot.plot(pen=pen(COLOURS[i % len(COLOURS)]), name=f"core {i}")
            for i in range(cores)
        ]
        layout = self.ci.layout
        layout.setRowStretchFactor(0, 3)
        layout.setRowStretchFactor(1, 2)
        for plot in (self.lag_plot, self.tp_plot, self.cpu_plot):
            plot.setDownsampling(auto=True, mode="peak")
            plot.setClipToView(True)
        self.traces: list[Trace] = []
        self.runs = 0  # ever added: colours keep cycling after a clear
        self.paint_s = 0.0  # what the last paint cost: the window paces its frames by it
        # A plain opaque QLabel over the view: showing it repaints nothing beneath.
        self.paused = QLabel(self, wordWrap=True)
        self.paused.setAutoFillBackground(True)
        self.paused.setStyleSheet(
            "QLabel { padding: 6px; border: 1px solid palette(mid); background: palette(window); }"
        )
        self.paused.setFixedWidth(420)
        self.paused.move(90, 36)
        self.paused.hide()

    def show_paused(self, wait_s: float, gil: bool) -> None:
        """Say the plots are paused, and only what was measured: how long the GUI
        thread waited for a turn, and (for threads) that they share its GIL."""
        wait = f"{wait_s * 1000:.0f} ms" if wait_s >= 0.0095 else f"{wait_s * 1000:.1f} ms"
        why = PAUSED_WHY_GIL if gil else PAUSED_WHY_CPU
        self.paused.setText(PAUSED_TEXT.format(wait=wait, why=why))
        if not self.paused.isVisible():
            self.paused.adjustSize()
            self.paused.show()

    def hide_paused(self) -> None:
        if self.paused.isVisible():
            self.paused.hide()

    def paintEvent(self, event: QPaintEvent) -> None:
        start = time.perf_counter()
        super().paintEvent(event)
        self.paint_s = time.perf_counter() - start

    # -- runs ---------------------------------------------------------------
    def add_run(self, label: str, t0: float) -> Trace:
        """A new run from ``t0`` (perf_counter): its own colour and legend entry."""
        colour = COLOURS[self.runs % len(COLOURS)]
        self.runs += 1
        same = sum(t.label == label or t.label.startswith(f"{label} #") for t in self.traces)
        if same:
            label = f"{label} #{same + 1}"
        for older in self.traces:
            if older.latest:
                older.latest = False
                self._restyle(older)
        # One peak-downsampled bin per pixel (pyqtgraph's default draws five): the same
        # picture, since a bin's min and max are both drawn, at a third of the cost.
        trace = Trace(
            label,
            colour,
            t0,
            # Steps, not lines: a sample measures the wait that ended at it, so it
            # holds since the previous one (a line would draw a ramp into a freeze).
            self.lag_plot.plot(pen=pen(colour), autoDownsampleFactor=1.0, stepMode="left"),
            self.tp_plot.plot(pen=pen(colour), autoDownsampleFactor=1.0),
            index=len(self.traces),
        )
        self.traces.append(trace)
        self._show_legend()
        return trace

    def _show_legend(self) -> None:
        shown = self.traces[-(LEGEND_MAX if len(self.traces) <= LEGEND_MAX else LEGEND_MAX - 1) :]
        # No-break spaces and hyphens: QLabel wraps between entries, never inside one.
        entries = [
            f'<span style="color:{t.colour}">━━</span>&nbsp;'
            + html.escape(t.label).replace(" ", "&nbsp;").replace("-", "\u2011")
            for t in shown
        ]
        if len(self.traces) > len(shown):
            entries.insert(0, f"({len(self.traces) - len(shown)} earlier)")
        self.legend.setText("&nbsp;&nbsp;&nbsp; ".join(entries))

    def clear_runs(self) -> None:
        for trace in self.traces:
            for item in (trace.lag, trace.bands, *trace.labels):
                if item is not None:
                    self.lag_plot.removeItem(item)
            self.tp_plot.removeItem(trace.throughput)
        self.traces.clear()
        self._show_legend()
        self._set_top(TOP_MS)

    def refresh(self, trace: Trace, lag: Ring, units: Ring, t1: float) -> None:
        """Redraw ``trace`` from the probe's samples and the run's progress up to ``t1``.

        Only the run's own samples are touched: NumPy releases the GIL on arrays over
        ~500 items, and under GIL contention each release costs a wait for the lock.
        """
        if trace.first is None:
            t, _ = lag.arrays()
            trace.first = lag.count - len(t) + int(np.searchsorted(t, trace.t0))
        t, v = since(lag, trace.first)
        end = int(np.searchsorted(t, t1, side="right"))
        t, v = t[:end] - trace.t0, v[:end]
        spans = frozen_spans(t, v)
        self._bands(trace, spans, span_freezes(t, v, spans))
        if len(t) and t[0] > 0:  # the first wait began at the run's start at the latest
            t, v = np.concatenate(([0.0], t)), np.concatenate((v[:1], v))
        trace.lag.setData(t, np.maximum(v, FLOOR_MS))
        ut, uv = units.arrays()
        if len(ut):
            ut = np.concatenate(([trace.t0], ut)) - trace.t0
            uv = np.concatenate(([0.0], uv))
            trace.throughput.setData(ut, rate(ut, uv))
        if len(v) and v.max() * 1.5 > self.top_ms:
            self._set_top(float(v.max()) * 2)

    def _set_top(self, top_ms: float) -> None:
        self.top_ms = top_ms
        self.lag_plot.setYRange(math.log10(FLOOR_MS), math.log10(top_ms), padding=0)
        for trace in self.traces:
            self._draw_bands(trace)

    def _restyle(self, trace: Trace) -> None:
        """The latest run's bands are full-height and red, with labels; an older
        run's shrink to a strip in its colour at the top, so overlays stay readable."""
        if trace.bands is not None:
            colour = QColor(trace.colour)
            colour.setAlpha(150)
            trace.bands.setBrush(pg.mkBrush(*FROZEN_BRUSH) if trace.latest else pg.mkBrush(colour))
            self._draw_bands(trace)
        for label in trace.labels:
            label.setVisible(trace.latest)

    def _bands(
        self,
        trace: Trace,
        spans: list[tuple[float, float, float]],
        freezes: list[tuple[int, float]],
    ) -> None:
        """Shade each frozen stretch (it can only be drawn once it is over) and label it
        with its frozen total and, if it merges several freezes, the longest of them."""
        spans = spans[:MAX_BANDS]
        if spans == trace.spans:
            return
        trace.spans = spans
        trace.freezes = freezes[: len(spans)]
        trace.frozen_s = sum(s for _, _, s in spans)
        if trace.bands is None:
            # A plain QGraphicsPathItem: painted by C++, with no Python call and no
            # GIL hand-over per band (a LinearRegionItem each cost ~0.1 ms a frame).
            trace.bands = QGraphicsPathItem()
            trace.bands.setPen(QPen(Qt.PenStyle.NoPen))
            trace.bands.setZValue(-10)
            self.lag_plot.addItem(trace.bands, ignoreBounds=True)
            self._restyle(trace)
        count = sum(n for n, _ in trace.freezes)
        longest = max(s for _, s in trace.freezes)
        trace.bands.setToolTip(
            f"{trace.label}: frozen {seconds_text(trace.frozen_s)} in total, in "
            f"{count} freeze{'s' * (count != 1)}; longest freeze {seconds_text(longest)}. "
            "During a freeze the GUI thread ran no events; back-to-back freezes share a band, "
            "labelled with their total."
        )
        shown = [span for span in spans if span[2] >= LABEL_MIN_S][:20]
        while len(trace.labels) < len(shown):
            label = pg.TextItem(color=FROZEN_TEXT, anchor=(0.5, 0))
            label.setVisible(trace.latest)
            self.lag_plot.addItem(label, ignoreBounds=True)
            trace.labels.append(label)
        details = [
            d for d, span in zip(trace.freezes, spans, strict=True) if span[2] >= LABEL_MIN_S
        ]
        for i, label in enumerate(trace.labels):
            label.setText(band_label(shown[i][2], *details[i]) if i < len(shown) else "")
        self._draw_bands(trace)  # after the labels exist: a new one is placed at once, not at 0

    def _draw_bands(self, trace: Trace) -> None:
        """Lay the bands out for the current axis top (log10 view coordinates)."""
        if trace.bands is None:
            return
        low, high = math.log10(FLOOR_MS), math.log10(self.top_ms)
        if not trace.latest:
            k, height = trace.index % 8, high - low
            low, high = high - height * (0.03 + 0.025 * k), high - height * (0.01 + 0.025 * k)
        path = QPainterPath()
        for start, end, _ in trace.spans:
            path.addRect(QRectF(start, low, end - start, high - low))
        trace.bands.setPath(path)
        shown = [span for span in trace.spans if span[2] >= LABEL_MIN_S]
        for label, (start, end, _) in zip(trace.labels, shown, strict=False):
            label.setPos((start + end) / 2, math.log10(self.top_ms) - 0.04)

    def refresh_cpu(self, t: np.ndarray, per_core: np.ndarray, now: float) -> None:
        """Per-core CPU %: ``t`` are sample times, ``per_core`` one column per core."""
        for i, curve in enumerate(self.cpu_curves):
            if i < per_core.shape[1]:
                curve.setData(t - now, per_core[:, i])

    def set_theme(self, background: QColor, foreground: QColor) -> None:
        set_theme(self, (self.lag_plot, self.tp_plot, self.cpu_plot), background, foreground)
        self.cpu_plot.legend.setLabelTextColor(foreground)


def set_theme(
    view: pg.GraphicsLayoutWidget,
    plots: tuple[pg.PlotItem, ...],
    background: QColor,
    foreground: QColor,
) -> None:
    """Recolour plots made before the system's colour scheme changed."""
    view.setBackground(background)
    for plot in plots:
        for name in ("left", "bottom"):
            plot.getAxis(name).setPen(foreground)
            plot.getAxis(name).setTextPen(foreground)
        plot.titleLabel.setText(plot.titleLabel.text, color=foreground)
