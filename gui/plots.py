"""Live pyqtgraph plots: UI lag, throughput and CPU per core, plus the comparison bars.

Plots never draw from worker callbacks: the window calls :meth:`refresh` from
its frame timer with NumPy arrays. 1 px cosmetic pens, peak downsampling and
clip-to-view keep a frame at a few ms with 5 runs × 20 000 points.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

from workers.stats import Ring

THRESHOLDS_MS = (16, 50, 100, 1000)
FROZEN_MS = 100.0
FLOOR_MS = 0.1  # the log axis cannot show 0: lag below this is drawn at it
COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
MAX_BANDS = 100
SHORT = {
    "gui-thread": "GUI",
    "qthread": "QThr",
    "threading": "thr",
    "thread-pool": "pool",
    "multiprocessing": "proc",
    "asyncio": "aio",
}


def pen(colour: str, width: float = 1) -> pg.mkPen:
    p = pg.mkPen(colour, width=width)
    p.setCosmetic(True)
    return p


def rate(t: np.ndarray, units: np.ndarray, window_s: float = 0.5) -> np.ndarray:
    """MB/s at each sample, over the trailing ``window_s``."""
    if len(t) < 2:
        return np.zeros(len(t))
    j = np.searchsorted(t, t - window_s)
    j = np.minimum(j, np.arange(len(t)) - 1).clip(0)
    dt = t - t[j]
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(dt > 0, (units - units[j]) / dt / 1e6, 0.0)
    return r


@dataclass
class Trace:
    """One run on the plots: its colour, legend, curves and frozen bands."""

    label: str
    colour: str
    t0: float
    lag: pg.PlotDataItem
    throughput: pg.PlotDataItem
    bands: list[pg.LinearRegionItem] = field(default_factory=list)
    banded_until: float = 0.0


def _setup(plot: pg.PlotItem, title: str, left: str) -> None:
    plot.setTitle(title, size="10pt")
    plot.setLabel("left", left)
    plot.setLabel("bottom", "seconds since the run started")
    plot.setMenuEnabled(False)


class LivePlots(pg.GraphicsLayoutWidget):
    """Three stacked plots sharing the time axis of each run."""

    def __init__(self, cores: int) -> None:
        super().__init__()
        self.lag_plot = self.addPlot(row=0, col=0)
        _setup(self.lag_plot, "UI lag: how late the GUI thread's event loop runs", "lag (ms, log)")
        self.lag_plot.setLogMode(False, True)
        self.lag_plot.setYRange(math.log10(FLOOR_MS), math.log10(2000))
        self.lag_plot.addLegend(offset=(-10, 5), labelTextSize="8pt")
        for i, ms in enumerate(THRESHOLDS_MS):
            line = pg.InfiniteLine(
                pos=math.log10(ms),
                angle=0,
                pen=pg.mkPen("#888", width=1, style=Qt.PenStyle.DashLine),
                label=f"{ms} ms" if ms < 1000 else "1 s",
                labelOpts={
                    "position": 0.03 + 0.07 * i,
                    "color": "#888",
                    "anchors": [(0, 1), (0, 1)],
                },
            )
            self.lag_plot.addItem(line, ignoreBounds=True)
        self.tp_plot = self.addPlot(row=1, col=0)
        _setup(self.tp_plot, "Throughput", "MB/s")
        self.tp_plot.setXLink(self.lag_plot)
        self.cpu_plot = self.addPlot(row=2, col=0)
        _setup(self.cpu_plot, "CPU use per core (last 60 s)", "%")
        self.cpu_plot.setLabel("bottom", "seconds ago")
        self.cpu_plot.setYRange(0, 100)
        self.cpu_curves = [
            self.cpu_plot.plot(pen=pen(COLOURS[i % len(COLOURS)]), name=f"core {i}")
            for i in range(cores)
        ]
        for plot in (self.lag_plot, self.tp_plot, self.cpu_plot):
            plot.setDownsampling(auto=True, mode="peak")
            plot.setClipToView(True)
        self.traces: list[Trace] = []

    def add_run(self, label: str, t0: float) -> Trace:
        colour = COLOURS[len(self.traces) % len(COLOURS)]
        trace = Trace(
            label,
            colour,
            t0,
            self.lag_plot.plot(pen=pen(colour), name=label),
            self.tp_plot.plot(pen=pen(colour)),
        )
        self.traces.append(trace)
        return trace

    def clear_runs(self) -> None:
        for trace in self.traces:
            for item in (trace.lag, *trace.bands):
                self.lag_plot.removeItem(item)
            self.tp_plot.removeItem(trace.throughput)
        self.lag_plot.legend.clear()
        self.traces.clear()

    def refresh(self, trace: Trace, lag: Ring, units: Ring, t1: float) -> None:
        """Redraw ``trace`` from the probe's samples and the run's progress."""
        t, v = lag.arrays()
        keep = (t >= trace.t0) & (t <= t1)
        t, v = t[keep] - trace.t0, v[keep]
        trace.lag.setData(t, np.maximum(v, FLOOR_MS))
        self._band(trace, t, v)
        ut, uv = units.arrays()
        if len(ut):
            ut = np.concatenate(([trace.t0], ut)) - trace.t0
            uv = np.concatenate(([0.0], uv))
            trace.throughput.setData(ut, rate(ut, uv))
        if len(v) and v.max() > 1000:
            self.lag_plot.setYRange(math.log10(FLOOR_MS), math.log10(v.max() * 1.5))

    def _band(self, trace: Trace, t: np.ndarray, v: np.ndarray) -> None:
        """Mark each stretch the GUI thread was frozen: it shows only afterwards, as a gap."""
        new = (v > FROZEN_MS) & (t > trace.banded_until)
        for end, lag_ms in zip(t[new], v[new], strict=True):
            start = end - lag_ms / 1000
            if len(trace.bands) >= MAX_BANDS:
                break
            band = pg.LinearRegionItem(
                (start, end), movable=False, brush=pg.mkBrush(220, 40, 40, 28), pen=pg.mkPen(None)
            )
            band.setToolTip(f"frozen {lag_ms / 1000:.2f} s: the GUI thread ran no events")
            self.lag_plot.addItem(band, ignoreBounds=True)
            trace.bands.append(band)
            trace.banded_until = end
        if len(t):
            trace.banded_until = max(trace.banded_until, float(t[-1]))

    def refresh_cpu(self, t: np.ndarray, per_core: np.ndarray, now: float) -> None:
        for i, curve in enumerate(self.cpu_curves):
            if i < per_core.shape[1]:
                curve.setData(t - now, per_core[:, i])


class CompareBars(pg.GraphicsLayoutWidget):
    """Grouped bars of the last comparison: throughput and lag p99 per back end."""

    def __init__(self) -> None:
        super().__init__()
        self.tp = self.addPlot(row=0, col=0)
        self.lag = self.addPlot(row=1, col=0)
        _setup(self.tp, "Compare all: throughput", "MB/s")
        _setup(self.lag, "Compare all: UI lag p99", "ms")
        for plot in (self.tp, self.lag):
            plot.setLabel("bottom", "")
        self.bars: list[pg.BarGraphItem] = []

    def show_records(self, records: list) -> None:  # list[RunRecord]
        for plot, bar in zip((self.tp, self.lag), self.bars, strict=False):
            plot.removeItem(bar)
        self.bars.clear()
        x = np.arange(len(records))
        names = [(i, SHORT.get(r.backend, r.backend)) for i, r in enumerate(records)]
        for plot, values, colour in (
            (self.tp, [r.throughput for r in records], "#1f77b4"),
            (self.lag, [r.lag_ms["p99"] for r in records], "#d62728"),
        ):
            bar = pg.BarGraphItem(x=x, height=values, width=0.6, brush=colour, pen=pen(colour))
            plot.addItem(bar)
            plot.getAxis("bottom").setTicks([names])
            plot.setXRange(-0.6, max(len(records) - 0.4, 0.6))
            self.bars.append(bar)
        if records:
            self.tp.setTitle(f"Compare all ({records[0].workload}): throughput", size="10pt")
