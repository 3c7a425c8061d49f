"""A watch's lag over time as a PNG, for a failing test's artefacts.

Drawn with QPainter on a QImage: no widget, no pyqtgraph import, so saving a
plot never adds a warning or a window to the test that asked for it.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen

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
    """Each tick as a bar as wide as it was late and as high (log scale), against
    seconds from the watch's start; the worst stall shaded."""
    t, lag = watch.times, watch.samples
    span = max(watch.span_s, 1e-3)
    right, bottom = WIDTH - MARGIN - 24, HEIGHT - MARGIN

    def x(s: float) -> float:
        return MARGIN + max(0.0, s) / span * (right - MARGIN)

    image = QImage(WIDTH, HEIGHT, QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    try:
        stall = watch.worst
        if stall is not None and stall.ms > LINES_MS[0]:
            left = x(stall.start_s)
            band = QRectF(left, MARGIN, max(1.0, x(stall.end_s) - left), bottom - MARGIN)
            painter.fillRect(band, QColor(220, 40, 40, 60))
        painter.setPen(QPen(QColor(30, 90, 200), 1))
        painter.setBrush(QColor(30, 90, 200, 90))
        for s, ms in zip(t, lag, strict=True):
            left = x(s - ms / 1000.0)
            painter.drawRect(QRectF(left, _y(ms), max(0.0, x(s) - left), bottom - _y(ms)))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(QPen(QColor("grey"), 1, Qt.PenStyle.DashLine))
        for ms in LINES_MS:
            painter.drawLine(QPointF(MARGIN, _y(ms)), QPointF(right, _y(ms)))
            label = f"{ms // 1000} s" if ms >= 1000 else f"{ms} ms"
            painter.drawText(QPointF(right + 4, _y(ms) + 4), label)
        painter.setPen(QPen(QColor("black"), 1))
        painter.drawRect(QRectF(MARGIN, MARGIN, right - MARGIN, bottom - MARGIN))
        painter.drawText(QPointF(MARGIN, MARGIN - 28), watch.report().splitlines()[0])
        painter.drawText(QPointF(MARGIN, bottom + 18), "0 s")
        painter.drawText(QPointF(right - 40, bottom + 18), f"{span:.2f} s")
    finally:
        painter.end()
    if not image.save(str(path), "PNG"):
        raise OSError(f"could not write the lag plot to {path}")
    return path
