"""A watch's lag over time as a PNG, for a failing test's artefacts.

Drawn with QPainter on a QImage: no widget, no pyqtgraph import, so saving a
plot never adds a warning or a window to the test that asked for it.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QPolygonF

if TYPE_CHECKING:
    from gui.lagwatch import LagWatch

WIDTH, HEIGHT, MARGIN = 900, 320, 48
#: Thresholds worth a line: one frame at 60 Hz, a "long task", no longer instant, flow broken.
LINES_MS = (16, 50, 100, 1000)
LOW_MS, HIGH_MS = 0.1, 5000.0  # the log axis


def _y(ms: float) -> float:
    span = math.log10(HIGH_MS) - math.log10(LOW_MS)
    share = (math.log10(min(max(ms, LOW_MS), HIGH_MS)) - math.log10(LOW_MS)) / span
    return HEIGHT - MARGIN - share * (HEIGHT - 2 * MARGIN)


def draw(watch: LagWatch, path: Path) -> Path:
    """Lag (log scale) against seconds from the watch's start, its worst stall shaded."""
    t, lag = watch.times, watch.samples
    span = max(watch.span_s, 1e-3)

    def x(s: float) -> float:
        return MARGIN + s / span * (WIDTH - 2 * MARGIN)

    image = QImage(WIDTH, HEIGHT, QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    try:
        stall = watch.worst
        if stall is not None and stall.ms > LINES_MS[0]:
            left, right = x(max(0.0, stall.start_s)), x(stall.end_s)
            band = QRectF(left, MARGIN, max(1.0, right - left), HEIGHT - 2 * MARGIN)
            painter.fillRect(band, QColor(220, 40, 40, 60))
        painter.setPen(QPen(QColor("grey"), 1, Qt.PenStyle.DashLine))
        for ms in LINES_MS:
            painter.drawLine(QPointF(MARGIN, _y(ms)), QPointF(WIDTH - MARGIN, _y(ms)))
            painter.drawText(QPointF(WIDTH - MARGIN + 4, _y(ms) + 4), f"{ms} ms")
        painter.setPen(QPen(QColor("black"), 1))
        painter.drawRect(QRectF(MARGIN, MARGIN, WIDTH - 2 * MARGIN, HEIGHT - 2 * MARGIN))
        painter.drawText(QPointF(MARGIN, MARGIN - 28), watch.report().splitlines()[0])
        painter.drawText(QPointF(MARGIN, HEIGHT - MARGIN + 18), "0 s")
        painter.drawText(QPointF(WIDTH - MARGIN - 40, HEIGHT - MARGIN + 18), f"{span:.2f} s")
        painter.setPen(QPen(QColor(30, 90, 200), 1))
        painter.drawPolyline(
            QPolygonF([QPointF(x(s), _y(ms)) for s, ms in zip(t, lag, strict=True)])
        )
    finally:
        painter.end()
    if not image.save(str(path), "PNG"):
        raise OSError(f"could not write the lag plot to {path}")
    return path
