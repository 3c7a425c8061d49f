"""Things that show, and let you feel, whether the GUI thread is alive."""

from __future__ import annotations

import math
import time

from PySide6.QtCore import QRectF, Qt, QTimer, Slot
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget

STATE_COLOURS = {
    "queued": QColor("#9e9e9e"),
    "started": QColor("#1f77b4"),
    "done": QColor("#2ca02c"),
    "failed": QColor("#d62728"),
    "cancelled": QColor("#ff9800"),
}


class BouncingBall(QWidget):
    """A ball moved by a GUI-thread timer: when the GUI thread is busy, it stops."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumHeight(36)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setToolTip("Moved by a timer on the GUI thread: if it stops, the window is frozen.")
        self.phase = 0.0
        self.last = time.perf_counter()
        self.timer = QTimer(self)
        self.timer.setInterval(33)  # 30 Hz: smooth enough to feel, cheap when idle
        self.timer.timeout.connect(self.step)
        self.timer.start()

    @Slot()
    def step(self) -> None:
        now = time.perf_counter()
        # Advance by a fixed step, not by elapsed time: a frozen loop shows as a jump-free stop.
        self.phase += 0.06
        self.last = now
        self.update()

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        r = self.height() / 2 - 4
        x = r + 4 + (self.width() - 2 * r - 8) * (0.5 + 0.5 * math.sin(self.phase))
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(self.palette().highlight())
        p.drawEllipse(QRectF(x - r, self.height() / 2 - r, 2 * r, 2 * r))


class TaskGrid(QWidget):
    """One small cell per task, filled by its progress and coloured by its state."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumHeight(40)
        self.states: list[str] = []
        self.fractions: list[float] = []
        self.setToolTip(
            "Tasks: grey queued, blue running, green done, red failed, orange cancelled."
        )

    def show_state(self, states: list[str], fractions: list[float]) -> None:
        self.states, self.fractions = states, fractions
        self.update()

    def paintEvent(self, event) -> None:
        n = min(len(self.states), 512)
        if not n:
            return
        p = QPainter(self)
        cols = max(1, min(n, 32))
        rows = math.ceil(n / cols)
        w = self.width() / cols
        h = min(self.height() / rows, 14.0)
        for i in range(n):
            rect = QRectF((i % cols) * w + 1, (i // cols) * h + 1, w - 2, h - 2)
            colour = STATE_COLOURS.get(self.states[i], STATE_COLOURS["queued"])
            p.fillRect(rect, colour.lighter(170))
            done = rect.adjusted(0, 0, -(1 - self.fractions[i]) * rect.width(), 0)
            p.fillRect(done, colour)
