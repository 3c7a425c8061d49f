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
from PySide6.QtCore import QRectF, Qt, Slot
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QPainterPath,
    QPaintEvent,
    QPalette,
    QPen,
    QResizeEvent,
    QTextDocument,
)
from PySide6.QtWidgets import QGraphicsPathItem, QLabel, QSizePolicy

from gui.lessons import seconds_text
from workers.stats import FROZEN_MS, Ring

#: Drawn as dashed lines, named on the right axis in this order of precedence:
#: where two names would overlap (a short plot), the later one is left out.
THRESHOLDS = ((1000, "1 s: flow breaks"), (100, "100 ms: not instant"))
THRESHOLDS += ((16, "16 ms: one frame"), (50, "50 ms: input lags"))
MERGE_S = 0.05  # frozen stretches closer than this (one loop turn apart) are drawn as one
FLOOR_MS = 0.1  # the log axis cannot show 0: lag below this is drawn at it
TOP_MS = 3000.0  # the lag axis always reaches past 1 s, so a freeze reads in seconds
MAX_BANDS = 100
#: Frozen bands are named inside, midway (on the log axis) between the 100 ms and
#: 1 s lines: the one height where neither a threshold line nor a marker's name is.
FROZEN_LABEL_Y = 2.5
PAUSED_TEXT = (
    "<b>Plots paused:</b> the GUI thread waits {wait} for each turn{why}, and drawing "
    "these plots would wait too — adding lag of our own to what you measure. "
    "They catch up when the run ends; meanwhile, watch the ball and try typing."
)
PAUSED_WHY_GIL = ": this run's threads hold the GIL"
PAUSED_WHY_CPU = ": the CPU is busy (this run's processes, or other programs)"
LEGEND_MAX = 6  # runs named in the legend at most (as many as two lines hold)
LABEL_MIN_S = 0.25  # narrower bands get no label (the tooltip still counts them)
LABEL_GAP_PX = 6  # a frozen band's label is left out where it would touch the previous one
READOUT_WINDOW_S = 1.0  # the live read-out: lag over the last second...
READOUT_TAIL = 200  # ...found among the probe's last samples (100 a second at most)
CPU_WINDOW_S = 60.0
#: CPU cores, and runs of a back end not named below: no red, which means "frozen" here.
COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22"]
#: One colour per back end: the curves, the legend and the Compare all bars.
BACKEND_COLOURS = dict(
    zip(
        ("gui-thread", "qthread", "threading", "thread-pool", "multiprocessing", "asyncio"),
        ("#8c564b", "#9467bd", "#1f77b4", "#17becf", "#2ca02c", "#ff7f0e"),
        strict=True,
    )
)
#: Runs of one back end on the plots at once: solid, dashed, dotted... and the
#: legend's sample of each line.
STYLES = (
    (Qt.PenStyle.SolidLine, "━━"),
    (Qt.PenStyle.DashLine, "╍╍"),
    (Qt.PenStyle.DotLine, "┉┉"),
    (Qt.PenStyle.DashDotLine, "━┉"),
)
FROZEN_BRUSH = (229, 57, 53, 45)
FROZEN_TEXT = "#e53935"
HIDDEN_TEXT = "#999999"


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


class ThresholdAxis(pg.AxisItem):
    """The right axis of the lag plot: the thresholds' names, in order of
    precedence; a name that would overlap one drawn already is left out."""

    def generateDrawSpecs(self, p):
        specs = super().generateDrawSpecs(p)
        if specs is None:
            return None
        axis, ticks, texts = specs
        kept: list = []
        for text in texts:
            # pyqtgraph hands rects 0.8 times the text's height: pad them back, and 1 px.
            pad = text[0].height() / 8 + 1
            rect = text[0].adjusted(0, -pad, 0, pad)
            if not any(rect.intersects(other) for other, _ in kept):
                kept.append((rect, text))
        return axis, ticks, [text for _, text in kept]


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


def colour_of(backend: str, n: int = 0) -> str:
    """The back end's colour, the same in every plot and in the legend (the
    ``n``-th of COLOURS for a back end not in the list)."""
    return BACKEND_COLOURS.get(backend, COLOURS[n % len(COLOURS)])


def percentile(ordered: list[float], q: float) -> float:
    """The ``q``-th percentile of sorted numbers, interpolated as NumPy's default."""
    at = (len(ordered) - 1) * q / 100
    low = math.floor(at)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (at - low)


def _lag(ms: float) -> str:
    """A lag for the read-out: 5.2 ms, 131 ms, 1.25 s."""
    if ms >= 1000:
        return f"{ms / 1000:.2f} s"
    return f"{ms:.1f} ms" if ms < 10 else f"{ms:.0f} ms"


@dataclass
class Trace:
    """One run on the plots: its colour and line style, legend entry, curves,
    frozen bands and the changes of the switch interval made during it."""

    label: str
    colour: str
    t0: float
    lag: pg.PlotDataItem
    throughput: pg.PlotDataItem
    index: int = 0
    backend: str = ""
    style: int = 0  # index in STYLES: runs of one back end differ by their line
    visible: bool = True  # the legend's entry hides and shows the run
    peak_ms: float = 0.0  # its highest lag drawn: the lag axis fits the runs shown
    markers: list[pg.InfiniteLine] = field(default_factory=list)  # switch-interval changes
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
        # Each entry is a link: clicking it hides or shows that run.
        self.legend = QLabel(wordWrap=True)
        self.legend.setFixedHeight(2 * self.legend.fontMetrics().lineSpacing() + 4)
        self.legend.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.legend.setTextInteractionFlags(Qt.TextInteractionFlag.LinksAccessibleByMouse)
        self.legend.setToolTip("Click a run to hide or show its curves and bands.")
        self.legend.linkActivated.connect(self.on_legend_link)
        # The live read-out: the lag of the last second, in a plain QLabel beside the
        # legend (a C++ paint; its text costs microseconds), shown while plots pause too.
        self.readout = QLabel(objectName="readout")
        self.readout.setTextFormat(Qt.TextFormat.RichText)
        self.readout.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        self.readout.setToolTip(
            "The UI lag over the last second, from the probe's samples: lower the switch "
            "interval during a pure-Python threaded run and watch it change."
        )
        bold = QFont(self.readout.font())
        bold.setBold(True)
        widest = QFontMetrics(bold).horizontalAdvance("lag p50 999 ms · p99 999 ms")
        self.readout.setFixedSize(widest + 8, self.legend.height())  # text never re-lays out
        self.readout.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        # Its first rich-text layout (fonts looked up) now, not in a run's first frame.
        self.readout.setText("<b>lag</b><br>last second")
        self.readout.sizeHint()
        self.readout.clear()  # empty between runs, and never hidden: showing costs a layout
        self.lag_plot = self.addPlot(
            row=0,
            col=0,
            colspan=2,
            axisItems={"left": LagAxis("left"), "right": ThresholdAxis("right")},
        )
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
        # The thresholds' names sit on the right axis, off the plot: inside it they
        # covered the curves, the bands and each other.
        self.thresholds: list[pg.InfiniteLine] = []
        for ms, _ in THRESHOLDS:
            line = pg.InfiniteLine(
                pos=math.log10(ms), angle=0, pen=pen("#888888", style=Qt.PenStyle.DashLine)
            )
            self.lag_plot.addItem(line, ignoreBounds=True)
            self.thresholds.append(line)
        self.lag_plot.showAxis("right")
        right = self.lag_plot.getAxis("right")
        right.setTicks([[(math.log10(ms), text) for ms, text in THRESHOLDS]])
        small = QFont()
        small.setPointSizeF(small.pointSizeF() * 0.85)
        right.setStyle(tickFont=small, tickLength=4)
        names = max(QFontMetrics(small).horizontalAdvance(text) for _, text in THRESHOLDS)
        right.setWidth(names + 4 + right.style["tickTextOffset"][0] + 4)  # from the first paint
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
        self.earlier = 0  # the first runs, counted in the legend but not named
        self.runs = 0  # ever added: colours keep cycling after a clear
        view = self.lag_plot.getViewBox()
        view.sigXRangeChanged.connect(self.on_x_range)
        view.sigResized.connect(self.on_view_resized)
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

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if getattr(self, "traces", None):  # (pyqtgraph calls it from __init__ too)
            self._show_legend()  # the legend above is as wide as the plots: re-fit it

    def paintEvent(self, event: QPaintEvent) -> None:
        start = time.perf_counter()
        super().paintEvent(event)
        self.paint_s = time.perf_counter() - start

    # -- runs ---------------------------------------------------------------
    def add_run(self, label: str, t0: float, backend: str = "") -> Trace:
        """A new run from ``t0`` (perf_counter): its back end's colour, a line style
        of its own among the runs of that back end, and a legend entry."""
        colour = colour_of(backend, self.runs)
        self.runs += 1
        style = sum(t.backend == backend for t in self.traces) if backend else 0
        same = sum(t.label == label or t.label.startswith(f"{label} #") for t in self.traces)
        if same:
            label = f"{label} #{same + 1}"
        for older in self.traces:
            if older.latest:
                older.latest = False
                self._restyle(older)
        line = pen(colour, style=STYLES[style % len(STYLES)][0])
        # One peak-downsampled bin per pixel (pyqtgraph's default draws five): the same
        # picture, since a bin's min and max are both drawn, at a third of the cost.
        trace = Trace(
            label,
            colour,
            t0,
            # Steps, not lines: a sample measures the wait that ended at it, so it
            # holds since the previous one (a line would draw a ramp into a freeze).
            self.lag_plot.plot(pen=line, autoDownsampleFactor=1.0, stepMode="left"),
            self.tp_plot.plot(pen=line, autoDownsampleFactor=1.0),
            index=len(self.traces),
            backend=backend,
            style=style % len(STYLES),
        )
        self.traces.append(trace)
        self._show_legend()
        return trace

    def _show_legend(self) -> None:
        """As many of the latest runs as two lines hold (LEGEND_MAX at most), each a
        link: its line's colour and style, then its name. The runs before them are
        counted, and their link hides or shows them all."""
        n = len(self.traces)
        self.earlier, text = 0, ""
        for named in range(min(n, LEGEND_MAX), 0, -1):
            self.earlier, text = n - named, self._legend_text(n - named)
            if self._legend_lines(text) <= 2:
                break
        self.legend.setText(text)

    def _legend_lines(self, text: str) -> int:
        """How many lines ``text`` takes in the legend, laid out as the label will."""
        width = self.legend.contentsRect().width()
        if width <= 0:  # not laid out yet
            return 1
        doc = QTextDocument()
        doc.setDefaultFont(self.legend.font())
        doc.setDocumentMargin(0)
        doc.setHtml(text)
        doc.setTextWidth(width)
        return round(doc.size().height() / self.legend.fontMetrics().lineSpacing())

    def _legend_text(self, earlier: int) -> str:
        colour = self.legend.palette().color(QPalette.ColorRole.WindowText).name()
        entries = []
        if earlier:
            hidden = not any(t.visible for t in self.traces[:earlier])
            entries.append(
                f'<a href="earlier" style="text-decoration:none">({earlier} earlier: '
                f"{'show' if hidden else 'hide'})</a>"
            )
        for i, t in enumerate(self.traces[earlier:], start=earlier):
            # No-break spaces and hyphens: QLabel wraps between entries, never inside one.
            name = html.escape(t.label).replace(" ", "&nbsp;").replace("-", "\u2011")
            if t.visible:
                line, name = t.colour, f'<span style="color:{colour}">{name}</span>'
            else:
                line, name = HIDDEN_TEXT, f'<s style="color:{HIDDEN_TEXT}">{name}</s>'
            entries.append(
                f'<a href="{i}" style="text-decoration:none">'
                f'<span style="color:{line}">{STYLES[t.style][1]}</span>&nbsp;{name}</a>'
            )
        return "&nbsp;&nbsp;&nbsp; ".join(entries)

    @Slot(str)
    def on_legend_link(self, href: str) -> None:
        """A click on a legend entry: hide that run, or show it again."""
        if href == "earlier":
            older = self.traces[: self.earlier]
            show = not any(t.visible for t in older)
            for trace in older:
                self.set_visible(trace, show)
        elif href.isdigit() and int(href) < len(self.traces):
            trace = self.traces[int(href)]
            self.set_visible(trace, not trace.visible)
        self._show_legend()
        self._fit_top()

    def set_visible(self, trace: Trace, visible: bool) -> None:
        """Show or hide every item of ``trace``: curves, bands, labels, markers."""
        trace.visible = visible
        for item in (trace.lag, trace.throughput, trace.bands, *trace.markers):
            if item is not None:
                item.setVisible(visible)
        for label in trace.labels:
            label.setVisible(visible and trace.latest)
        self._place_labels(trace)
        self._place_markers(trace)

    def clear_runs(self) -> None:
        """Remove every run and start the axes afresh: x from 0 to 1 s, following the
        next run again (even after a zoom), and the lag axis up to 3 s."""
        for trace in self.traces:
            for item in (trace.lag, trace.bands, *trace.labels, *trace.markers):
                if item is not None:
                    self.lag_plot.removeItem(item)
            self.tp_plot.removeItem(trace.throughput)
        self.traces.clear()
        self._show_legend()
        for plot in (self.lag_plot, self.tp_plot):
            plot.setXRange(0, 1, padding=0)
            plot.enableAutoRange(x=True)
        self.tp_plot.setYRange(0, 1, padding=0)
        self.tp_plot.enableAutoRange(y=True)
        self._set_top(TOP_MS)

    def refresh(
        self,
        trace: Trace,
        lag: Ring,
        units: Ring,
        t1: float,
        switches: list[tuple[float, float]] | tuple[tuple[float, float], ...] = (),
    ) -> None:
        """Redraw ``trace`` from the probe's samples and the run's progress up to ``t1``;
        ``switches`` are the run's switch intervals ``(perf_counter time, ms)``, the
        first one in force at the start, each later one marked where it came.

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
        for at, ms in switches[1 + len(trace.markers) :]:
            self._mark_switch(trace, at - trace.t0, ms)
        if len(v):
            trace.peak_ms = max(trace.peak_ms, float(v.max()))
            if trace.visible and trace.peak_ms * 1.5 > self.top_ms:
                self._set_top(trace.peak_ms * 2)

    def _mark_switch(self, trace: Trace, at: float, ms: float) -> None:
        """A vertical line where the switch interval changed, named with its new value."""
        foreground = pg.getConfigOption("foreground")
        background = QColor(pg.getConfigOption("background"))
        background.setAlpha(220)
        line = pg.InfiniteLine(
            pos=at,
            angle=90,
            pen=pen(foreground, style=Qt.PenStyle.DashLine),
            label=f"switch → {ms:g} ms",
            labelOpts={
                # At the top; its box hides what it covers, a threshold line included.
                "position": 0.985,
                "color": trace.colour,
                "fill": background,
                "border": trace.colour,
            },
        )
        line.setToolTip(f"{trace.label}: switch interval set to {ms:g} ms at {at:.2f} s")
        line.setVisible(trace.visible)
        self.lag_plot.addItem(line, ignoreBounds=True)
        trace.markers.append(line)
        self._place_markers(trace)

    def _place_markers(self, trace: Trace) -> None:
        """Name the latest run's changes, each on the side of its line toward the
        plot's middle (so never cut off); of names that would overlap (changes in
        quick succession, such as clicks on the arrows), the later one is kept."""
        if not trace.markers:
            return
        (x0, x1), _ = self.lag_plot.viewRange()
        px = self.lag_plot.getViewBox().viewPixelSize()[0]  # seconds per pixel
        taken: list[tuple[float, float]] = []
        for line in reversed(trace.markers):
            label, at = line.label, line.value()
            width = (label.boundingRect().width() + LABEL_GAP_PX) * px
            rightward = at < (x0 + x1) / 2
            a, b = (at, at + width) if rightward else (at - width, at)
            show = trace.latest and trace.visible and x0 <= at <= x1
            show = show and not any(a < right and left < b for left, right in taken)
            if show:
                taken.append((a, b))
                anchor = (0, 0) if rightward else (1, 0)
                label.anchors = [anchor, anchor]
            label.setVisible(show)  # (showing it also moves it to its anchor)

    def _fit_top(self) -> None:
        """The lag axis reaches past the highest lag of the runs shown (3 s at least)."""
        peak = max((t.peak_ms for t in self.traces if t.visible), default=0.0)
        top = peak * 2 if peak * 1.5 > TOP_MS else TOP_MS
        if top != self.top_ms:
            self._set_top(top)

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
            label.setVisible(trace.latest and trace.visible)
        self._place_markers(trace)

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
            trace.bands.setVisible(trace.visible)
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
            label = pg.TextItem(color=FROZEN_TEXT, anchor=(0.5, 0.5))
            label.setVisible(trace.latest and trace.visible)
            self.lag_plot.addItem(label, ignoreBounds=True)
            trace.labels.append(label)
        details = [
            d for d, span in zip(trace.freezes, spans, strict=True) if span[2] >= LABEL_MIN_S
        ]
        for i, label in enumerate(trace.labels):
            label.setText(band_label(shown[i][2], *details[i]) if i < len(shown) else "")
        self._draw_bands(trace)  # after the labels exist: each is placed over its band at once

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
        self._place_labels(trace)

    def _place_labels(self, trace: Trace) -> None:
        """Each frozen band's label over its band, inside the plot: at either edge it
        slides in rather than be cut, and one that would touch the previous is left out."""
        if not trace.labels:
            return
        (x0, x1), _ = self.lag_plot.viewRange()
        px = self.lag_plot.getViewBox().viewPixelSize()[0]  # seconds per pixel
        y = FROZEN_LABEL_Y
        shown = [span for span in trace.spans if span[2] >= LABEL_MIN_S]
        right = -math.inf  # where the previous label ends
        for label, (start, end, _) in zip(trace.labels, shown, strict=False):
            half = label.boundingRect().width() * px / 2
            x = min(max((start + end) / 2, x0 + half), x1 - half)
            label.setPos(x, y)
            fits = x - half >= right + LABEL_GAP_PX * px
            label.setVisible(fits and trace.latest and trace.visible)
            if fits:
                right = x + half

    @Slot(object, object)
    def on_x_range(self, _view: object, _range: object) -> None:
        """The x axis moved (a run grew, or a zoom): the labels stay inside."""
        for trace in self.traces:
            if trace.latest:
                self._place_labels(trace)
                self._place_markers(trace)

    @Slot(object)
    def on_view_resized(self, view: object) -> None:
        self.on_x_range(view, None)

    def show_readout(self, samples: Ring, now: float, switch_ms: float) -> None:
        """The lag of the last second, from the probe's latest samples only.

        Plain Python on a hundred numbers: ~0.1 ms, even while threads compete
        for the GIL. ``np.percentile`` took 0.3 ms, and up to 50-80 ms: its
        hundreds of Python-level steps gave the threads their turn mid-way.
        """
        t, v = since(samples, samples.count - READOUT_TAIL)
        cut = now - READOUT_WINDOW_S
        lags = sorted(lag for at, lag in zip(t.tolist(), v.tolist(), strict=True) if at > cut)
        if lags:
            p50, p99 = percentile(lags, 50), percentile(lags, 99)
            head = f"<b>lag p50 {_lag(p50)} · p99 {_lag(p99)}</b>"
        else:
            head = "<b>no probe tick for a second</b>"
        self.readout.setText(f"{head}<br>last second, switch interval {switch_ms:g} ms")

    def refresh_cpu(self, t: np.ndarray, per_core: np.ndarray, now: float) -> None:
        """Per-core CPU %: ``t`` are sample times, ``per_core`` one column per core."""
        for i, curve in enumerate(self.cpu_curves):
            if i < per_core.shape[1]:
                curve.setData(t - now, per_core[:, i])

    def set_theme(self, background: QColor, foreground: QColor) -> None:
        set_theme(self, (self.lag_plot, self.tp_plot, self.cpu_plot), background, foreground)
        self.cpu_plot.legend.setLabelTextColor(foreground)
        self._show_legend()  # the names take the new text colour


def set_theme(
    view: pg.GraphicsLayoutWidget,
    plots: tuple[pg.PlotItem, ...],
    background: QColor,
    foreground: QColor,
) -> None:
    """Recolour plots made before the system's colour scheme changed."""
    view.setBackground(background)
    for plot in plots:
        for name in ("left", "bottom", "right"):
            plot.getAxis(name).setPen(foreground)
            plot.getAxis(name).setTextPen(foreground)
        plot.titleLabel.setText(plot.titleLabel.text, color=foreground)
