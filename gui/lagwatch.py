"""The probe for any Qt app: ``with watch_lag() as lag:``, and ``log_lag(app)``.

A watch starts a probe of its own (gui/probe.py: a single-shot precise timer
re-armed in its slot), so it needs nothing from unfreeze's window, only a
QApplication on the calling thread. The pytest plugin (gui/lagplugin.py) is
built on it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PySide6.QtCore import QCoreApplication, QObject, QTimer, Slot

from gui.probe import Probe
from workers.stats import FROZEN_MS, LagStats, Stall, lag_report, worst_stall

log = logging.getLogger("unfreeze.lag")

#: A watch ticks every 20 ms, not every 10 ms as the window's probe does: each
#: wake-up of an idle Qt loop costs ~80-140 µs of CPU on the 2-core project
#: machine under load (a repeating timer with an empty slot costs ~80 µs of it),
#: so 100 Hz came to 0.8-1.8 % of a core and 50 Hz comes to 0.5-0.7 %. A stall
#: reads as its length less at most one interval (when in it the tick was due).
INTERVAL_MS = 20


class LagWatch:
    """What the probe saw from the start of a watch to its end (or to now, while it runs).

    ``times`` are seconds from the start, ``samples`` the lag of each tick in ms.
    """

    def __init__(self, probe: Probe) -> None:
        self.probe = probe
        self.t0 = probe.last  # the probe's start: its first tick measures from here
        self.t1: float | None = None
        self.png: Path | None = None  # a plot of the watch, once one is saved
        self._seen: tuple[np.ndarray, np.ndarray] | None = None

    @classmethod
    def start(cls, interval_ms: int = INTERVAL_MS) -> LagWatch:
        """A watch begun now with a probe of its own; close() it (or use watch_lag())."""
        if QCoreApplication.instance() is None:
            raise RuntimeError("watching the UI lag needs a QApplication: create it first")
        probe = Probe(interval_ms=interval_ms)
        probe.start()
        return cls(probe)

    def close(self) -> None:
        """Let the tick after now land (it covers a stall that ended the watch), then stop."""
        if self.t1 is not None:
            return
        self.probe.settle(time.perf_counter())
        self.t1 = self.probe.last
        t, v = self.probe.samples.after(self.t0, self.t1)
        self._seen = (t - self.t0, v)
        self.probe.stop()

    def _arrays(self) -> tuple[np.ndarray, np.ndarray]:
        if self._seen is not None:
            return self._seen
        t, v = self.probe.samples.after(self.t0)
        return t - self.t0, v

    @property
    def times(self) -> np.ndarray:
        return self._arrays()[0]

    @property
    def samples(self) -> np.ndarray:
        return self._arrays()[1]

    @property
    def stats(self) -> LagStats:
        return LagStats.of(self.samples)

    @property
    def p50_ms(self) -> float:
        return self.stats.p50

    @property
    def p95_ms(self) -> float:
        return self.stats.p95

    @property
    def p99_ms(self) -> float:
        return self.stats.p99

    @property
    def max_ms(self) -> float:
        return self.stats.max

    @property
    def frozen_s(self) -> float:
        """Total time in stalls over FROZEN_MS (100 ms)."""
        return self.stats.frozen / 1000.0

    @property
    def span_s(self) -> float:
        end = self.t1 if self.t1 is not None else time.perf_counter()
        return end - self.t0

    @property
    def worst(self) -> Stall | None:
        return worst_stall(*self._arrays())

    def report(self) -> str:
        """Percentiles, time frozen, and the worst stall with when it happened."""
        text = lag_report(*self._arrays(), self.span_s)
        return text if self.png is None else f"{text}\nplot: {self.png}"

    def save_png(self, path: str | Path) -> Path:
        """Draw the lag over time into a PNG at ``path``; remembered for report()."""
        from gui.lagpng import draw

        self.png = draw(self, Path(path))
        return self.png


@contextmanager
def watch_lag(interval_ms: int = INTERVAL_MS) -> Iterator[LagWatch]:
    """Measure the GUI thread's lag while the block runs: ``with watch_lag() as lag:``.

    Call it on the GUI thread, with the QApplication made. The probe ticks
    whenever the block turns the event loop (a dialog, a wait, the app's own
    loop); leaving the block turns it once more, until the next tick (~10 ms),
    so that a stall just before the end is counted.
    """
    watch = LagWatch.start(interval_ms)
    try:
        yield watch
    finally:
        watch.close()


class LagLog(QObject):
    """Logs the lag of each ``every_s`` on logger ``unfreeze.lag`` while an app runs:
    a line at INFO, at WARNING when a stall over FROZEN_MS happened in it."""

    def __init__(self, parent: QObject, every_s: float = 5.0) -> None:
        super().__init__(parent)
        self.probe = Probe(self, INTERVAL_MS)
        self.probe.start()
        self.began = self.since = self.probe.last
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.write)
        self.timer.start(round(every_s * 1000))

    @Slot()
    def write(self) -> None:
        now = self.probe.last
        t, v = self.probe.samples.after(self.since, now)
        level = logging.WARNING if len(v) and v.max() > FROZEN_MS else logging.INFO
        text = lag_report(t - self.began, v, now - self.since, "logging began")
        log.log(level, "%s", text.replace("\n", "; "))
        self.since = now


def log_lag(app: QObject, every_s: float = 5.0) -> LagLog:
    """One line in an app's start-up logs its UI lag while it runs: ``log_lag(app)``.

    The logger lives as long as ``app`` (its parent). Lines go to the
    ``unfreeze.lag`` logger: ``logging.basicConfig(level=logging.INFO)`` shows them.
    """
    return LagLog(app, every_s)
