"""How the plots look: one colour per back end, 1 px pens, axes that read in ms.

Shared by the live plots and the Compare all bars, so a back end has the same
colour and name everywhere.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPen

#: CPU cores, and runs of a back end not named below: no red, which means "frozen" here.
COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22"]
#: One colour per back end: the curves, the legend and the Compare all bars.
BACKEND_COLOURS = {
    "gui-thread": "#8c564b",
    "qthread": "#9467bd",
    "threading": "#1f77b4",
    "thread-pool": "#17becf",
    "qthread-pool": "#e377c2",  # pink, next to qthread's purple: Qt's threads both
    "multiprocessing": "#2ca02c",
    "asyncio": "#ff7f0e",
    # The pitfalls: a paler shade of the back end each varies.
    "gui-thread-process-events": "#c49c94",
    "qthread-signal-per-item": "#c5b0d5",
    "hybrid": "#bcbd22",  # olive: neither the threads' blues nor the processes' green
    "dask": "#393b79",  # indigo: a cluster, apart from the process pool's green
}
#: Runs of one back end on the plots at once: solid, dashed, dotted... and the
#: legend's sample of each line.
STYLES = (
    (Qt.PenStyle.SolidLine, "━━"),
    (Qt.PenStyle.DashLine, "╍╍"),
    (Qt.PenStyle.DotLine, "┉┉"),
    (Qt.PenStyle.DashDotLine, "━┉"),
)


def pen(colour: str | QColor, width: float = 1, style: Qt.PenStyle = Qt.PenStyle.SolidLine) -> QPen:
    """A cosmetic pen: its width is in pixels whatever the zoom (2 px costs 10x to draw)."""
    p = pg.mkPen(colour, width=width, style=style)
    p.setCosmetic(True)
    return p


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


def setup_plot(plot: pg.PlotItem, title: str, left: str, bottom: str) -> None:
    plot.setTitle(title, size="10pt")
    plot.setLabel("left", left)
    plot.setLabel("bottom", bottom)
    plot.setMenuEnabled(False)
    plot.hideButtons()
    # No grid: grid lines were 60% of a frame's cost in software rendering.
    for name in ("left", "bottom"):
        plot.getAxis(name).enableAutoSIPrefix(False)  # "(x0.001)" confuses more than it helps


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
