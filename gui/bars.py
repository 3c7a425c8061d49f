"""The Compare all chart: throughput and UI lag p99, one bar per back end."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor, QFont

from gui.plots import BACKEND_COLOURS, COLOURS, SHORT, set_theme, setup_plot
from workers.record import RunRecord


class CompareBars(pg.GraphicsLayoutWidget):
    """The last Compare all: throughput and UI lag p99, one bar per back end.

    Horizontal bars, grouped by back end in the same order and colour in both
    charts: the back ends' names fit on the left axis, however narrow the panel.
    """

    def __init__(self) -> None:
        super().__init__()
        self.tp = self.addPlot(row=0, col=0)
        self.lag = self.addPlot(row=1, col=0)
        setup_plot(self.tp, "Throughput, MB/s", "", "")
        setup_plot(self.lag, "UI lag p99, ms (lower: smoother)", "", "")
        small = QFont()
        small.setPointSizeF(small.pointSizeF() * 0.85)
        for plot in (self.tp, self.lag):
            plot.getAxis("left").setStyle(tickFont=small)
            plot.getAxis("left").setWidth(56)
            plot.getAxis("bottom").setStyle(tickFont=small)
            plot.setMouseEnabled(x=False, y=False)
            plot.invertY(True)  # the first back end on top, as in the table
        self.records: list[RunRecord] = []
        self.bars: list[pg.BarGraphItem] = []  # [throughput, lag p99]
        self.items: list[tuple[pg.PlotItem, pg.GraphicsObject]] = []
        self.placeholder = pg.TextItem(
            "Press Compare all: the same job\non every back end, side by side.",
            color="#888888",
            anchor=(0.5, 0.5),
        )
        self.tp.addItem(self.placeholder, ignoreBounds=True)
        self.placeholder.setPos(0.5, 0.5)
        self.tp.setRange(xRange=(0, 1), yRange=(0, 1), padding=0)
        self.lag.setRange(xRange=(0, 1), yRange=(0, 1), padding=0)
        self.show_records([])

    def set_theme(self, background: QColor, foreground: QColor) -> None:
        set_theme(self, (self.tp, self.lag), background, foreground)
        self.show_records(self.records)  # the value labels take the new colour

    def show_records(self, records: list[RunRecord]) -> None:
        self.records = list(records)
        for plot, item in self.items:
            plot.removeItem(item)
        self.items.clear()
        self.bars.clear()
        self.placeholder.setVisible(not records)
        for plot in (self.tp, self.lag):
            for name in ("left", "bottom"):
                plot.getAxis(name).setStyle(showValues=bool(records))
        if not records:
            return
        y = np.arange(len(records), dtype=float)
        brushes = [BACKEND_COLOURS.get(r.backend, COLOURS[0]) for r in records]
        names = [(float(i), SHORT.get(r.backend, r.backend)) for i, r in enumerate(records)]
        for plot, values, unit in (
            (self.tp, [r.throughput for r in records], ""),
            (self.lag, [r.lag_ms["p99"] for r in records], " ms"),
        ):
            bar = pg.BarGraphItem(x0=0, y=y, height=0.65, width=values, brushes=brushes, pen=None)
            plot.addItem(bar)
            self.bars.append(bar)
            self.items.append((plot, bar))
            for yi, value in zip(y, values, strict=True):
                text = pg.TextItem(
                    f" {value:,.1f}{unit}" if value < 10 else f" {value:,.0f}{unit}",
                    color=pg.getConfigOption("foreground"),
                    anchor=(0, 0.5),
                )
                text.setPos(value, yi)
                plot.addItem(text, ignoreBounds=True)
                self.items.append((plot, text))
            plot.getAxis("left").setTicks([names])
            right = max(max(values), 1e-9) * 1.45  # room for the value after the longest bar
            plot.setRange(xRange=(0, right), yRange=(-0.5, len(records) - 0.5), padding=0)
        self.tp.setTitle(f"Compare all, {records[0].workload}: MB/s", size="10pt")
