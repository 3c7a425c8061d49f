"""What the learner watches: a ball the GUI thread moves, a box to type in, the progress.

The ball and the text box are the "feel" of the lab: both are served by the
GUI thread alone, so when it is busy the ball stops and typed keys wait.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Slot
from PySide6.QtGui import QBrush, QColor, QMouseEvent, QPainter, QPen
from PySide6.QtWidgets import (
    QLabel,
    QLineEdit,
    QProgressBar,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from gui.depth import DepthPlot
from gui.hazards import hazard_line
from workers.record import RunState

#: (fill, background) per task state, made once: see BouncingBall.paintEvent.
STATE_COLOURS = {
    state: (QColor(hex_), QColor(hex_).lighter(160))
    for state, hex_ in (
        ("queued", "#9e9e9e"),
        ("started", "#1f77b4"),
        ("done", "#2ca02c"),
        ("failed", "#d62728"),
        ("cancelled", "#ff9800"),
    )
}
MAX_CELLS = 512
GRID_TIP = "Tasks: grey queued, blue running, green done, red failed, orange cancelled."


class BouncingBall(QWidget):
    """A ball moved by a GUI-thread timer: when the GUI thread is busy, it stops."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFixedHeight(30)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setToolTip("Moved by a timer on the GUI thread: when it stops, the window is frozen.")
        # It paints its own background, so a tick repaints only this widget, not
        # the group box behind it: a third of the idle CPU otherwise.
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.phase = 0.0
        self.palette_key = -1
        self.background, self.track, self.ball = QBrush(), QPen(), QBrush()
        self.timer = QTimer(self)
        self.timer.setInterval(33)  # 30 Hz: smooth enough to feel, cheap when idle
        self.timer.timeout.connect(self.step)
        self.timer.start()

    @Slot()
    def step(self) -> None:
        # A fixed step per tick, not elapsed time: after a freeze the ball
        # resumes where it stopped instead of jumping. repaint(), not update():
        # one call into Python per tick instead of two, each a wait for the GIL
        # while pure-Python threads run.
        self.phase += 0.06
        self.repaint()

    def paintEvent(self, event: object) -> None:
        palette = self.palette()
        key = palette.cacheKey()
        if key != self.palette_key:
            # Made once per palette: under GIL contention, even building a QColor
            # or QPen lets the GIL go and waits (measured ~1 ms each), every frame.
            self.palette_key = key
            self.background = palette.window()
            self.track = QPen(palette.mid().color(), 1)
            self.ball = palette.highlight()
        p = QPainter(self)
        p.fillRect(self.rect(), self.background)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        r = self.height() / 2 - 3
        mid = self.height() / 2
        p.setPen(self.track)
        p.drawLine(QPointF(r, mid), QPointF(self.width() - r, mid))
        x = r + 3 + (self.width() - 2 * r - 6) * (0.5 + 0.5 * math.sin(self.phase))
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(self.ball)
        p.drawEllipse(QRectF(x - r, mid - r, 2 * r, 2 * r))


class AlivePanel(QWidget):
    """The ball and the text box, under one heading."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ball = BouncingBall()
        self.typing = QLineEdit(placeholderText="Type here during a run…")
        self.typing.setToolTip(
            "Keys are handled by the GUI thread: if what you type does not appear, it is frozen."
        )
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.ball)
        layout.addWidget(self.typing)


class TaskGrid(QWidget):
    """One small cell per task, filled by its progress and coloured by its state."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumHeight(16)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.states: list[str] = []
        self.fractions: list[float] = []
        self.workers: list[str] = []
        self.setToolTip(GRID_TIP)
        self.setMouseTracking(True)

    def show_state(self, states: list[str], fractions: list[float], workers: list[str]) -> None:
        if (states, fractions, workers) != (self.states, self.fractions, self.workers):
            self.states, self.fractions, self.workers = states, fractions, workers
            self.update()

    def _geometry(self) -> tuple[int, int, float, float]:
        n = min(len(self.states), MAX_CELLS)
        cols = max(1, min(n, 16 if n <= 64 else 32))
        rows = max(1, math.ceil(n / cols))
        return n, cols, self.width() / cols, min(self.height() / rows, 16.0)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        # Not an event() override: that would call into Python for every event
        # this widget gets, and each call waits for the GIL while threads compute.
        n, cols, w, h = self._geometry()
        pos = event.position()
        i = int(pos.y() // h) * cols + int(pos.x() // w) if n else -1
        if 0 <= i < n:
            who = f" on {self.workers[i]}" if self.workers[i] else ""
            self.setToolTip(f"task {i}: {self.states[i]}{who}, {100 * self.fractions[i]:.0f}%")
        else:
            self.setToolTip(GRID_TIP)

    def paintEvent(self, event: object) -> None:
        n, cols, w, h = self._geometry()
        if not n:
            return
        p = QPainter(self)
        for i in range(n):
            rect = QRectF((i % cols) * w + 1, (i // cols) * h + 1, w - 2, h - 2)
            colour, light = STATE_COLOURS.get(self.states[i], STATE_COLOURS["queued"])
            p.fillRect(rect, light)
            p.fillRect(rect.adjusted(0, 0, -(1 - self.fractions[i]) * rect.width(), 0), colour)


def eta_seconds(fraction: float, elapsed: float) -> float | None:
    """Time left if the rest goes as fast as what is done (None until 2% is done)."""
    if fraction < 0.02 or fraction >= 1:
        return None
    return elapsed * (1 - fraction) / fraction


class ProgressPanel(QWidget):
    """Overall bar with ETA, counts by state, and the task grid."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bar = QProgressBar()
        self.bar.setFormat("%p%")
        self.counts = QLabel("No run yet.")
        # Its text changes every frame: it must never widen the column, which would
        # re-lay out the plots next to it (costly, in Python, while threads compute).
        self.counts.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.grid = TaskGrid()
        # The hazards lab, live: expected vs actual and lost, or who holds and waits for what.
        self.hazard = QLabel(objectName="hazard", wordWrap=True)
        self.hazard.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.hazard.hide()
        self.depth = DepthPlot()  # queue runs only
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.bar)
        layout.addWidget(self.counts)
        layout.addWidget(self.hazard)
        layout.addWidget(self.grid, 1)
        layout.addWidget(self.depth)

    def show_state(self, state: RunState, now: float) -> None:
        total = state.total_units
        units = state.units
        fraction = min(units / total, 1.0) if total else state.count("done") / len(state.totals)
        eta = eta_seconds(fraction, now - state.t_start)
        self.bar.setValue(round(100 * fraction))
        self.bar.setFormat("%p%" + (f" · ETA {eta:.0f} s" if eta is not None else ""))
        counts = [f"{state.count(k)} {k}" for k in ("done", "failed", "cancelled")]
        for kind, word in (("started", "running"), ("queued", "waiting")):
            if state.count(kind):
                counts.append(f"{state.count(kind)} {word}")
        ring = state.depth_over_time  # queue runs: sampled once per frame
        if ring.count:
            depth = int(ring.v[(ring.count - 1) % ring.capacity])
            counts.insert(0, f"queue {depth}/{state.spec.depth}")
        self.counts.setText(" · ".join(counts))
        line = hazard_line(state.spec.workload, state.hazard)
        if line != self.hazard.text():
            self.hazard.setText(line)
        self.hazard.setVisible(bool(line))
        fractions = [
            min(u / t, 1.0) if t else (1.0 if s == "done" else 0.0)
            for u, t, s in zip(state.done_units, state.totals, state.statuses, strict=True)
        ]
        self.grid.show_state(list(state.statuses), fractions, list(state.worker))

    def finish(self) -> None:
        """The run is over (done or cancelled): no ETA, the counts stay."""
        self.bar.setFormat("%p%")
