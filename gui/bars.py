"""The Compare all chart: throughput and UI lag p99, one bar per back end,
named by its id and drawn in its colour, as in the legend and the table."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Slot
from PySide6.QtGui import QColor, QFont, QFontMetrics

from gui.style import BACKEND_COLOURS, colour_of, set_theme, setup_plot
from workers.record import RunRecord

VALUE_GAP_PX = 6  # between a bar's end and its value, and after the value


class CompareBars(pg.GraphicsLayoutWidget):
    """The last Compare all: throughput and UI lag p99, one bar per back end.

    Horizontal bars, grouped by back end in the same order and colour in both
    charts: the back ends' names fit on the left axis, however narrow the panel.
    """

    def __init__(self) -> None:
        super().__init__()
        self.tp = self.addPlot(row=0, col=0)
        self.lag = self.addPlot(row=1, col=0)
        # Short titles: a title wider than the panel pushes the plots past its edge.
        setup_plot(self.tp, "Throughput", "", "")
        setup_plot(self.lag, "UI lag p99, ms", "", "")
        self.setToolTip(
            "The last Compare all: the same job on each back end. Longer throughput bars "
            "are faster; shorter lag bars mean a smoother window."
        )
        small = self.small = QFont()
        small.setPointSizeF(small.pointSizeF() * 0.85)
        names = max(QFontMetrics(small).horizontalAdvance(b) for b in BACKEND_COLOURS)
        for plot in (self.tp, self.lag):
            plot.getAxis("left").setStyle(tickFont=small)
            plot.getAxis("left").setWidth(names + 12)  # the longest back end id, whole
            plot.getAxis("bottom").setStyle(tickFont=small)
            plot.setMouseEnabled(x=False, y=False)
            plot.invertY(True)  # the first back end on top, as in the table
            plot.getViewBox().sigResized.connect(self.on_resized)
        self.records: list[RunRecord] = []
        self.names: list[str] = []  # on the left axis, top to bottom
        self.bars: list[pg.BarGraphItem] = []  # [throughput, lag p99]
        self.items: list[tuple[pg.PlotItem, pg.GraphicsObject]] = []
        self.values: list[tuple[pg.PlotItem, list[float], list[pg.TextItem]]] = []
        self.placeholder = pg.TextItem(
            "Press Compare all: the same job on every back end, side by side.",
            color="#888888",
            anchor=(0, 0.5),
        )
        self.placeholder.setFont(small)
        self.tp.addItem(self.placeholder, ignoreBounds=True)
        self.placeholder.setPos(0, 0.5)
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
        self.values.clear()
        self.names = []
        self.placeholder.setVisible(not records)
        for plot in (self.tp, self.lag):
            for name in ("left", "bottom"):
                plot.getAxis(name).setStyle(showValues=bool(records))
        if not records:
            return
        y = np.arange(len(records), dtype=float)
        brushes = [colour_of(r.backend) for r in records]
        self.names = [r.backend for r in records]
        names = list(enumerate(self.names))
        for plot, values, unit in (
            (self.tp, [r.throughput for r in records], ""),
            (self.lag, [r.lag_ms["p99"] for r in records], " ms"),
        ):
            bar = pg.BarGraphItem(x0=0, y=y, height=0.65, width=values, brushes=brushes, pen=None)
            plot.addItem(bar)
            self.bars.append(bar)
            self.items.append((plot, bar))
            texts = []
            for yi, value in zip(y, values, strict=True):
                text = pg.TextItem(
                    f"{value:,.1f}{unit}" if value < 10 else f"{value:,.0f}{unit}",
                    color=pg.getConfigOption("foreground"),
                    anchor=(0, 0.5),
                )
                # No margin around the text: its box is one line, as tall as a bar's row.
                text.textItem.document().setDocumentMargin(0)
                text.setFont(self.small)
                text.setPos(value, yi)
                plot.addItem(text, ignoreBounds=True)
                self.items.append((plot, text))
                texts.append(text)
            self.values.append((plot, values, texts))
            plot.getAxis("left").setTicks([names])
            plot.setYRange(-0.5, len(records) - 0.5, padding=0)
        self._fit()
        self.tp.setTitle(f"{records[0].workload}: {records[0].unit}", size="10pt")

    @Slot(object)
    def on_resized(self, _view: object) -> None:
        self._fit()

    def _fit(self) -> None:
        """Each plot's x range leaves room, in pixels, for every value after its bar;
        the placeholder wraps to the plot's width."""
        self.placeholder.setTextWidth(max(40.0, self.tp.getViewBox().width() - 4))
        for plot, values, texts in self.values:
            px = max(plot.getViewBox().width(), 1.0)
            right = 1e-9
            for value, text in zip(values, texts, strict=True):
                room = (text.boundingRect().width() + 2 * VALUE_GAP_PX) / px
                right = max(right, value / max(0.25, 1 - room))
            for value, text in zip(values, texts, strict=True):
                text.setPos(value + VALUE_GAP_PX * right / px, text.pos().y())
            plot.setXRange(0, right, padding=0)
            # Rows shorter than a value's line (9 back ends in a short plot): a little
            # more room above the first and below the last, so no value leaves the plot.
            n = len(values)
            row_px = max(plot.getViewBox().height(), 1.0) / max(n, 1)
            tall = max((t.boundingRect().height() for t in texts), default=0.0)
            pad = max(0.0, tall / 2 / row_px - 0.5) * 1.2
            plot.setYRange(-0.5 - pad, n - 0.5 + pad, padding=0)
