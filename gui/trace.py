"""One run on the lag and throughput plots: its curves, frozen bands and switch markers.

A :class:`Trace` draws what belongs to it on the lag plot it is given: the
red bands of its frozen stretches with their labels, and a line at each
change of the switch interval. :class:`gui.plots.LivePlots` decides when.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsPathItem

from gui.readback import seconds_text
from gui.series import band_label
from gui.style import pen

MAX_BANDS = 100
LABEL_MIN_S = 0.25  # narrower bands get no label (the tooltip still counts them)
LABEL_GAP_PX = 6  # a frozen band's label is left out where it would touch the previous one
FROZEN_BRUSH = (229, 57, 53, 45)
FROZEN_TEXT = "#e53935"
FLOOR_MS = 0.1  # the log axis cannot show 0: lag below this is drawn at it
#: Frozen bands are named inside, midway (on the log axis) between the 100 ms and
#: 1 s lines: the one height where neither a threshold line nor a marker's name is.
FROZEN_LABEL_Y = 2.5


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
    unit: str = "MB/s"  # its throughput's, and how many of what its tasks count make one
    per: float = 1e6
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

    def restyle(self, plot: pg.PlotItem, top_ms: float) -> None:
        """The latest run's bands are full-height and red, with labels; an older
        run's shrink to a strip in its colour at the top, so overlays stay readable."""
        if self.bands is not None:
            colour = QColor(self.colour)
            colour.setAlpha(150)
            self.bands.setBrush(pg.mkBrush(*FROZEN_BRUSH) if self.latest else pg.mkBrush(colour))
            self.draw_bands(plot, top_ms)
        for label in self.labels:
            label.setVisible(self.latest and self.visible)
        self.place_markers(plot)

    def set_bands(
        self,
        plot: pg.PlotItem,
        spans: list[tuple[float, float, float]],
        freezes: list[tuple[int, float]],
        top_ms: float,
    ) -> None:
        """Shade each frozen stretch (it can only be drawn once it is over) and label it
        with its frozen total and, if it merges several freezes, the longest of them."""
        spans = spans[:MAX_BANDS]
        if spans == self.spans:
            return
        self.spans = spans
        self.freezes = freezes[: len(spans)]
        self.frozen_s = sum(s for _, _, s in spans)
        if self.bands is None:
            # A plain QGraphicsPathItem: painted by C++, with no Python call and no
            # GIL hand-over per band (a LinearRegionItem each cost ~0.1 ms a frame).
            self.bands = QGraphicsPathItem()
            self.bands.setPen(QPen(Qt.PenStyle.NoPen))
            self.bands.setZValue(-10)
            self.bands.setVisible(self.visible)
            plot.addItem(self.bands, ignoreBounds=True)
            self.restyle(plot, top_ms)
        count = sum(n for n, _ in self.freezes)
        longest = max(s for _, s in self.freezes)
        self.bands.setToolTip(
            f"{self.label}: frozen {seconds_text(self.frozen_s)} in total, in "
            f"{count} freeze{'s' * (count != 1)}; longest freeze {seconds_text(longest)}. "
            "During a freeze the GUI thread ran no events; back-to-back freezes share a band, "
            "labelled with their total."
        )
        shown = [span for span in spans if span[2] >= LABEL_MIN_S][:20]
        while len(self.labels) < len(shown):
            label = pg.TextItem(color=FROZEN_TEXT, anchor=(0.5, 0.5))
            label.setVisible(self.latest and self.visible)
            plot.addItem(label, ignoreBounds=True)
            self.labels.append(label)
        details = [d for d, span in zip(self.freezes, spans, strict=True) if span[2] >= LABEL_MIN_S]
        for i, label in enumerate(self.labels):
            label.setText(band_label(shown[i][2], *details[i]) if i < len(shown) else "")
        self.draw_bands(
            plot, top_ms
        )  # after the labels exist: each is placed over its band at once

    def draw_bands(self, plot: pg.PlotItem, top_ms: float) -> None:
        """Lay the bands out for the current axis top (log10 view coordinates)."""
        if self.bands is None:
            return
        low, high = math.log10(FLOOR_MS), math.log10(top_ms)
        if not self.latest:
            k, height = self.index % 8, high - low
            low, high = high - height * (0.03 + 0.025 * k), high - height * (0.01 + 0.025 * k)
        path = QPainterPath()
        for start, end, _ in self.spans:
            path.addRect(QRectF(start, low, end - start, high - low))
        self.bands.setPath(path)
        self.place_labels(plot)

    def place_labels(self, plot: pg.PlotItem) -> None:
        """Each frozen band's label over its band, inside the plot: at either edge it
        slides in rather than be cut, and one that would touch the previous is left out."""
        if not self.labels:
            return
        (x0, x1), _ = plot.viewRange()
        px = plot.getViewBox().viewPixelSize()[0]  # seconds per pixel
        y = FROZEN_LABEL_Y
        shown = [span for span in self.spans if span[2] >= LABEL_MIN_S]
        right = -math.inf  # where the previous label ends
        for label, (start, end, _) in zip(self.labels, shown, strict=False):
            half = label.boundingRect().width() * px / 2
            x = min(max((start + end) / 2, x0 + half), x1 - half)
            label.setPos(x, y)
            fits = x - half >= right + LABEL_GAP_PX * px
            label.setVisible(fits and self.latest and self.visible)
            if fits:
                right = x + half

    def mark_switch(self, plot: pg.PlotItem, at: float, ms: float) -> None:
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
                "color": self.colour,
                "fill": background,
                "border": self.colour,
            },
        )
        line.setToolTip(f"{self.label}: switch interval set to {ms:g} ms at {at:.2f} s")
        line.setVisible(self.visible)
        plot.addItem(line, ignoreBounds=True)
        self.markers.append(line)
        self.place_markers(plot)

    def place_markers(self, plot: pg.PlotItem) -> None:
        """Name the latest run's changes, each on the side of its line toward the
        plot's middle (so never cut off); of names that would overlap (changes in
        quick succession, such as clicks on the arrows), the later one is kept."""
        if not self.markers:
            return
        (x0, x1), _ = plot.viewRange()
        px = plot.getViewBox().viewPixelSize()[0]  # seconds per pixel
        taken: list[tuple[float, float]] = []
        for line in reversed(self.markers):
            label, at = line.label, line.value()
            width = (label.boundingRect().width() + LABEL_GAP_PX) * px
            rightward = at < (x0 + x1) / 2
            a, b = (at, at + width) if rightward else (at - width, at)
            show = self.latest and self.visible and x0 <= at <= x1
            show = show and not any(a < right and left < b for left, right in taken)
            if show:
                taken.append((a, b))
                anchor = (0, 0) if rightward else (1, 0)
                label.anchors = [anchor, anchor]
            label.setVisible(show)  # (showing it also moves it to its anchor)
