"""Live pyqtgraph plots: UI lag with its frozen bands, throughput, CPU per core.

Plots never draw from worker callbacks: the window calls :meth:`LivePlots.refresh`
from its frame timer with NumPy arrays. 1 px cosmetic pens, peak downsampling
and clip-to-view keep a frame at a few ms with 5 runs × 20 000 points
(``unfreeze bench --ui`` measures it).
"""

from __future__ import annotations

import math
import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QPaintEvent,
    QResizeEvent,
)
from PySide6.QtWidgets import QLabel, QSizePolicy

from gui.legend import legend_text, lines_in
from gui.series import frozen_spans, percentile, rate, since, span_freezes
from gui.style import (
    COLOURS,
    STYLES,
    LagAxis,
    ThresholdAxis,
    colour_of,
    pen,
    set_theme,
    setup_plot,
)
from gui.trace import FLOOR_MS, Trace
from workers.names import throughput_unit
from workers.stats import Ring

#: Drawn as dashed lines, named on the right axis in this order of precedence:
#: where two names would overlap (a short plot), the later one is left out.
THRESHOLDS = ((1000, "1 s: flow breaks"), (100, "100 ms: not instant"))
THRESHOLDS += ((16, "16 ms: one frame"), (50, "50 ms: input lags"))
TOP_MS = 3000.0  # the lag axis always reaches past 1 s, so a freeze reads in seconds
PAUSED_TEXT = (
    "<b>Plots paused:</b> the GUI thread waits {wait} for each turn{why}, and drawing "
    "these plots would wait too — adding lag of our own to what you measure. "
    "They catch up when the run ends; meanwhile, watch the ball and try typing."
)
PAUSED_WHY_GIL = ": this run's threads hold the GIL"
PAUSED_WHY_CPU = ": the CPU is busy (this run's processes, or other programs)"
LEGEND_MAX = 6  # runs named in the legend at most (as many as two lines hold)
READOUT_WINDOW_S = 1.0  # the live read-out: lag over the last second...
READOUT_TAIL = 200  # ...found among the probe's last samples (100 a second at most)
CPU_WINDOW_S = 60.0


def _lag(ms: float) -> str:
    """A lag for the read-out: 5.2 ms, 131 ms, 1.25 s."""
    if ms >= 1000:
        return f"{ms / 1000:.2f} s"
    return f"{ms:.1f} ms" if ms < 10 else f"{ms:.0f} ms"


class LivePlots(pg.GraphicsLayoutWidget):
    """UI lag on top; throughput and CPU per core below. Runs overlay from their t = 0."""

    def __init__(self, cores: int) -> None:
        super().__init__()
        # The runs' legend is a plain QLabel for the window to put above the plots:
        # on the plot, seven entries would hide the samples they name, and as a
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
        # Its labels' width set now ("100 ms" is the widest), not grown at the first paint:
        # grown then, the plots needed 14 px more than the minimum the window gave them.
        left = self.lag_plot.getAxis("left")
        widest = QFontMetrics(self.font()).horizontalAdvance("100 ms") + 2
        left.setStyle(tickTextWidth=widest, autoExpandTextSpace=False)
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
    def add_run(self, label: str, t0: float, backend: str = "", workload: str = "") -> Trace:
        """A new run from ``t0`` (perf_counter): its back end's colour, a line style
        of its own among the runs of that back end, a legend entry, and its workload's
        throughput unit on the axis."""
        colour = colour_of(backend, self.runs)
        self.runs += 1
        style = sum(t.backend == backend for t in self.traces) if backend else 0
        same = sum(t.label == label or t.label.startswith(f"{label} #") for t in self.traces)
        if same:
            label = f"{label} #{same + 1}"
        for older in self.traces:
            if older.latest:
                older.latest = False
                older.restyle(self.lag_plot, self.top_ms)
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
        trace.unit, trace.per = throughput_unit(workload)
        self.traces.append(trace)
        self._show_legend()
        self._label_throughput()
        return trace

    def _label_throughput(self) -> None:
        """The throughput axis names the unit of every run on it (MB/s, k deposits/s…)."""
        units = dict.fromkeys(t.unit for t in self.traces) or {"MB/s": None}
        text = " · ".join(units)
        if text != self.tp_plot.getAxis("left").labelText:
            self.tp_plot.setLabel("left", text)

    def _show_legend(self) -> None:
        """As many of the latest runs as two lines hold (LEGEND_MAX at most), each a
        link: its line's colour and style, then its name. The runs before them are
        counted, and their link hides or shows them all."""
        n = len(self.traces)
        self.earlier, text = 0, ""
        for named in range(min(n, LEGEND_MAX), 0, -1):
            self.earlier = n - named
            text = legend_text(self.traces, self.earlier, self.legend.palette())
            if lines_in(self.legend, text) <= 2:
                break
        self.legend.setText(text)

    @Slot(str)
    def on_legend_link(self, href: str) -> None:
        """A click on a legend entry: hide that run, or show it again."""
        if href == "earlier":
            older = self.traces[: self.earlier]
            # Any hidden: show them all. (Hidden runs' struck-out names may wrap the
            # legend otherwise, and fold a visible run into the group.)
            show = not all(t.visible for t in older)
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
        trace.place_labels(self.lag_plot)
        trace.place_markers(self.lag_plot)

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
        self._label_throughput()
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
        trace.set_bands(self.lag_plot, spans, span_freezes(t, v, spans), self.top_ms)
        if len(t) and t[0] > 0:  # the first wait began at the run's start at the latest
            t, v = np.concatenate(([0.0], t)), np.concatenate((v[:1], v))
        trace.lag.setData(t, np.maximum(v, FLOOR_MS))
        ut, uv = units.arrays()
        if len(ut):
            ut = np.concatenate(([trace.t0], ut)) - trace.t0
            uv = np.concatenate(([0.0], uv))
            trace.throughput.setData(ut, rate(ut, uv, per=trace.per))
        for at, ms in switches[1 + len(trace.markers) :]:
            trace.mark_switch(self.lag_plot, at - trace.t0, ms)
        if len(v):
            trace.peak_ms = max(trace.peak_ms, float(v.max()))
            if trace.visible and trace.peak_ms * 1.5 > self.top_ms:
                self._set_top(trace.peak_ms * 2)

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
            trace.draw_bands(self.lag_plot, self.top_ms)

    @Slot(object, object)
    def on_x_range(self, _view: object, _range: object) -> None:
        """The x axis moved (a run grew, or a zoom): the labels stay inside."""
        for trace in self.traces:
            if trace.latest:
                trace.place_labels(self.lag_plot)
                trace.place_markers(self.lag_plot)

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
