"""The responsiveness probe sees a blocked GUI thread; idle, it reads near zero."""

from __future__ import annotations

import time

from PySide6.QtCore import QTimer

from gui.probe import Probe


def test_probe_detects_a_200_ms_block(qtbot) -> None:
    probe = Probe()
    probe.start()
    try:
        qtbot.wait(100)
        t0 = time.perf_counter()
        QTimer.singleShot(0, lambda: time.sleep(0.2))  # a deliberate block of the GUI thread
        qtbot.waitUntil(lambda: probe.stats(t0).max > 0, timeout=2000)
        qtbot.wait(50)
        stats = probe.stats(t0)
        assert 180 <= stats.max <= 400, stats
    finally:
        probe.stop()


def test_idle_probe_reads_near_zero(qtbot) -> None:
    probe = Probe()
    probe.start()
    try:
        t0 = time.perf_counter()
        qtbot.wait(500)
        stats = probe.stats(t0)
        assert stats.samples >= 30
        assert stats.p50 < 2.0, stats
        assert probe.cost_s / probe.samples.count < 0.001  # under 1 ms a tick
    finally:
        probe.stop()
