"""The live plots as the learner uses them: the switch-interval experiment, the
legend's clicks, Clear plots, and labels that stay readable."""

from __future__ import annotations

import math
import sys
import time

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import (
    QFontMetrics,
    QImage,
    QPainter,
    QTextCursor,
    QTextDocument,
    QWheelEvent,
)
from PySide6.QtWidgets import QApplication, QLabel

from gui.plots import TOP_MS, LivePlots
from gui.style import BACKEND_COLOURS
from tests.test_window import click, finish, job
from workers.names import BACKENDS
from workers.record import RunRecord
from workers.stats import Ring


def link_point(label: QLabel, href: str) -> QPoint:
    """Where the link ``href`` of ``label`` is drawn: its text laid out as the label does."""
    doc = QTextDocument()
    doc.setDefaultFont(label.font())
    doc.setDocumentMargin(0)
    doc.setHtml(label.text())
    doc.setTextWidth(label.contentsRect().width())
    doc.size()  # lays the text out
    cursor = QTextCursor(doc)
    for pos in range(1, doc.characterCount()):
        cursor.setPosition(pos)
        if cursor.charFormat().anchorHref() == href:  # the character before ``pos``
            block = cursor.block()
            layout = block.layout()
            line = layout.lineForTextPosition(pos - block.position())
            x = line.cursorToX(pos - block.position())[0] + layout.position().x() - 2
            y = line.y() + line.height() / 2 + layout.position().y()
            rect = label.contentsRect()
            return QPoint(round(rect.x() + x), round(rect.y() + y))
    raise AssertionError(f"no link {href!r} in {label.text()!r}")


def click_link(qtbot, label: QLabel, href: str) -> None:
    qtbot.mouseClick(label, Qt.MouseButton.LeftButton, pos=link_point(label, href))


def gather(qtbot, window, n: int, timeout_s: float = 40.0) -> None:
    """Let the probe take ``n`` more samples. Polled 4 times a second: a poll is
    Python on the GUI thread too, and each one waits for the GIL."""
    samples = window.controller.probe.samples
    first, deadline = samples.count, time.perf_counter() + timeout_s
    while samples.count - first < n:
        assert time.perf_counter() < deadline, f"{samples.count - first} of {n} samples"
        qtbot.wait(250)


# -- the switch interval --------------------------------------------------------
#: Probe ticks taken at each interval. With a thread holding the GIL at 5 ms, a tick
#: came every ~45 ms here (p50 lag 12 ms, and the frames' waits for the GIL between):
#: 100 took 5 s.
SAMPLES = 50


def test_lowering_the_switch_interval_mid_run_is_marked_recorded_and_lowers_the_lag(
    qtbot, window
) -> None:
    """The README's experiment: a pure-Python thread at 5 ms, then 1 ms typed into
    the status bar's spin box while it runs. One thread: each probe tick then waits
    about one switch interval for the GIL, however busy the machine is (with two,
    the wait is a contest the scheduler decides)."""
    assert window.switch.value() == 5.0 and sys.getswitchinterval() == pytest.approx(0.005)
    job(window, "cpu-python", "threading", workers=1, tasks=240, size="8MB")  # outlasts the test
    with qtbot.waitSignal(window.controller.run_started, timeout=15_000) as started:
        click(qtbot, window.start_button)
    t_start = started.args[0].state.t_start
    gather(qtbot, window, SAMPLES)
    readout = window.plots.readout
    # The read-out moves with the frames, which a loaded machine spaces up to 2 s.
    qtbot.waitUntil(lambda: "lag p50" in readout.text(), timeout=10_000)
    assert readout.isVisible() and "switch interval 5 ms" in readout.text(), readout.text()

    qtbot.mouseClick(window.switch.lineEdit(), Qt.MouseButton.LeftButton)
    qtbot.keyClick(window.switch, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(window.switch, "1")
    changed_at = time.perf_counter() - t_start
    qtbot.keyClick(window.switch, Qt.Key.Key_Return)
    assert sys.getswitchinterval() == pytest.approx(0.001)
    gather(qtbot, window, SAMPLES)
    qtbot.waitUntil(lambda: "switch interval 1 ms" in readout.text(), timeout=10_000)
    record = finish(qtbot, window, window.cancel_button)

    # Recorded: the interval at the start, then the change with its time.
    (start, five), (at, one) = record.switch_intervals
    assert (start, five, one) == (0.0, 5.0, 1.0) and record.switch_interval_ms == 5.0
    assert at == pytest.approx(changed_at, abs=0.1)
    before, after = record.lag_by_switch
    assert (before["ms"], before["from_s"], before["to_s"]) == (5.0, 0.0, at)
    assert (after["ms"], after["from_s"]) == (1.0, at)
    assert before["samples"] + after["samples"] == record.lag_ms["samples"]
    assert min(before["samples"], after["samples"]) >= SAMPLES - 10
    # What the experiment shows: the GUI thread waits less for its turn.
    assert after["p50"] < 0.8 * before["p50"], record.lag_by_switch
    # Marked on the lag plot where it happened, and named.
    (marker,) = window.plots.traces[-1].markers
    assert marker.value() == pytest.approx(at, abs=0.001) and marker.isVisible()
    qtbot.waitUntil(marker.label.isVisible, timeout=5000)  # once the view takes the run in
    assert marker.label.toPlainText() == "switch → 1 ms"
    # The lesson on the switch interval is the one shown; the read-out is empty.
    lesson = next(x for x in window.lessons.lessons if x.key == "switch-interval")
    assert window.lessons.titles.currentItem().text() == lesson.title
    assert readout.text() == ""


def test_the_live_readout_is_the_last_seconds_percentiles(qtbot) -> None:
    plots = LivePlots(2)
    qtbot.addWidget(plots)
    ring = Ring(1 << 12)
    rng = np.random.default_rng(3)
    old = rng.exponential(50.0, 300)  # more than a second ago: not in the read-out
    recent = rng.exponential(5.0, 97)
    for i, v in enumerate(old):
        ring.append(i * 0.005, float(v))  # up to 1.5 s
    for i, v in enumerate(recent):
        ring.append(3.0 + 0.0101 * (i + 1), float(v))
    now = 3.0 + 0.0101 * 97 + 0.001
    plots.show_readout(ring, now, 1.0)
    p50, p99 = np.percentile(recent, (50, 99))
    text = plots.readout.text()

    def shown(ms: float) -> str:
        return f"{ms:.1f} ms" if ms < 10 else f"{ms:.0f} ms"

    assert f"p50 {shown(p50)}" in text and f"p99 {shown(p99)}" in text, text
    assert "switch interval 1 ms" in text
    plots.show_readout(ring, now + 5, 1.0)  # nothing in the last second
    assert "no probe tick for a second" in plots.readout.text()


# -- the legend, Clear plots -------------------------------------------------------
def test_a_click_on_a_legend_entry_hides_and_shows_that_run(qtbot, window) -> None:
    job(window, "cpu-python", "gui-thread", tasks=2, size="6MB")  # two short freezes
    finish(qtbot, window, window.start_button)
    for _ in range(2):
        job(window, "cpu-native", "threading", workers=2, tasks=2, size="4MB")
        finish(qtbot, window, window.start_button)
    frozen, first, second = window.plots.traces
    assert frozen.bands is not None and frozen.bands.isVisible()
    # One colour per back end; the second run of one is told apart by name and line.
    assert frozen.colour == BACKEND_COLOURS["gui-thread"]
    assert first.colour == second.colour == BACKEND_COLOURS["threading"]
    assert second.label == f"{first.label} #2"
    assert first.lag.opts["pen"].style() == Qt.PenStyle.SolidLine
    assert second.lag.opts["pen"].style() == Qt.PenStyle.DashLine
    assert second.throughput.opts["pen"].style() == Qt.PenStyle.DashLine

    legend = window.plots.legend
    click_link(qtbot, legend, "0")
    assert not frozen.lag.isVisible() and not frozen.throughput.isVisible()
    assert not frozen.bands.isVisible()
    assert first.lag.isVisible() and second.lag.isVisible()
    assert legend.text().count("<s ") == 1  # its name is struck through
    click_link(qtbot, legend, "2")
    assert not second.lag.isVisible() and first.lag.isVisible()
    click_link(qtbot, legend, "0")
    assert frozen.lag.isVisible() and frozen.bands.isVisible()
    assert legend.text().count("<s ") == 1


def synthetic_run(plots: LivePlots, backend: str, seconds: float, freezes=()) -> None:
    """A run's samples drawn as the window draws them: a probe tick every 10 ms at
    3 ms lag, and a late one at the end of each ``(start, end)`` freeze."""
    lag, units = Ring(1 << 14), Ring(1 << 14)
    t0, t = 1000.0, 0.0
    while t < seconds:
        freeze = next(((a, b) for a, b in freezes if a <= t < b), None)
        if freeze:
            t = freeze[1]
            lag.append(t0 + t, (freeze[1] - freeze[0]) * 1000)
        else:
            t += 0.01
            lag.append(t0 + t, 3.0)
        units.append(t0 + t, t * 1e7)
    plots.refresh(plots.add_run(f"cpu-python · {backend}", t0, backend), lag, units, t0 + t)


def test_after_ten_runs_the_earlier_ones_hide_at_one_click_and_clear_resets_the_axes(
    qtbot, window
) -> None:
    plots = window.plots
    backends = list(BACKEND_COLOURS)
    for i in range(10):
        freezes = [(4.0, 9.0)] if i == 3 else []  # a 5 s freeze: the lag axis grows past it
        synthetic_run(plots, backends[i % len(backends)], 6.0 + i, freezes)
    window.grab()  # a paint: the view fits the runs
    assert plots.top_ms == pytest.approx(10_000)
    assert plots.lag_plot.viewRange()[0][1] >= 15
    earlier = plots.earlier
    assert earlier >= 4 and f"({earlier} earlier: hide)" in plots.legend.text()
    click_link(qtbot, plots.legend, "earlier")
    assert not any(t.lag.isVisible() for t in plots.traces[:earlier])
    assert all(t.lag.isVisible() for t in plots.traces[earlier:])
    assert plots.top_ms == TOP_MS  # the 5 s freeze is hidden: the axis fits the runs shown
    click_link(qtbot, plots.legend, "earlier")
    assert all(t.lag.isVisible() for t in plots.traces)
    assert plots.top_ms == pytest.approx(10_000)

    # The learner zooms into the lag plot (which stops it following the runs)...
    view = plots.lag_plot.getViewBox()
    centre = plots.mapFromScene(view.sceneBoundingRect().center())
    wheel = QWheelEvent(
        QPointF(centre), QPointF(plots.mapToGlobal(centre)), QPoint(0, 0), QPoint(0, 240),
        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase,
        False,
    )  # fmt: skip
    QApplication.sendEvent(plots.viewport(), wheel)
    assert not view.autoRangeEnabled()[0]
    # ...then clears the plots: the axes start afresh and follow the next run.
    click(qtbot, window.clear_button)
    assert plots.traces == [] and plots.legend.text() == ""
    assert plots.lag_plot.viewRange()[0] == pytest.approx([0, 1])
    assert plots.lag_plot.viewRange()[1][1] == pytest.approx(math.log10(TOP_MS))
    assert plots.top_ms == TOP_MS and view.autoRangeEnabled()[0]
    synthetic_run(plots, "asyncio", 4.0)
    window.grab()
    assert 4.0 <= plots.lag_plot.viewRange()[0][1] < 5.0


# -- labels --------------------------------------------------------------------------
@pytest.mark.parametrize("size", [(1280, 800), (1400, 900)])
def test_frozen_labels_stay_inside_the_plot_and_threshold_names_never_overlap(
    qtbot, window, size
) -> None:
    window.resize(*size)
    plots = window.plots
    freezes = [(0.0, 0.3), (3.0, 3.3), (3.4, 3.7), (5.7, 6.0)]  # at both ends, two close
    synthetic_run(plots, "gui-thread", 6.0, freezes)
    window.grab()
    trace = plots.traces[-1]
    assert len(trace.spans) == 4
    inside = plots.lag_plot.getViewBox().sceneBoundingRect().adjusted(-1, -1, 1, 1)  # rounding
    shown = [label for label in trace.labels if label.isVisible()]
    assert [label.toPlainText() for label in shown] == ["frozen 0.30 s"] * 3
    rects = [label.sceneBoundingRect() for label in shown]
    for rect in rects:
        assert inside.contains(rect), (rect, inside)
    assert not any(a.intersects(b) for i, a in enumerate(rects) for b in rects[i + 1 :])
    # Each still sits over its band: the first and last at the plot's edges.
    left, right = (
        plots.lag_plot.getViewBox().mapViewToScene(QPointF(x, 0)).x() for x in (0.3, 5.7)
    )
    assert rects[0].left() < left and rects[-1].right() > right

    # The thresholds' names: on the right axis, off the plot, never on each other.
    assert not any(
        isinstance(item, pg.TextItem) for line in plots.thresholds for item in line.childItems()
    )
    axis = plots.lag_plot.getAxis("right")
    for top_ms in (TOP_MS, 30_000.0):  # the axis grows after a long freeze
        plots._set_top(top_ms)
        image = QImage(10, 10, QImage.Format.Format_ARGB32)
        painter = QPainter(image)
        try:
            _, _, texts = axis.generateDrawSpecs(painter)
        finally:
            painter.end()
        names = [text for _, _, text in texts]
        assert "1 s: flow breaks" in names and "100 ms: not instant" in names
        rects = [rect for rect, _, _ in texts]
        assert not any(a.intersects(b) for i, a in enumerate(rects) for b in rects[i + 1 :])


@pytest.mark.parametrize("size", [(1280, 800), (1400, 900)])
def test_compare_bars_show_every_name_value_and_title_whole(qtbot, window, size) -> None:
    window.resize(*size)
    lag = {"p50": 1.0, "p95": 2.0, "p99": 0.0, "max": 0.0, "over_50": 0.0, "samples": 10}
    figures = zip(
        BACKENDS,
        (228.0, 386.0, 1554.0, 600.0, 640.0, 1390.0, 240.0, 1420.0, 1310.0),
        (52, 173, 174, 1184, 960, 0.3, 1450.0, 12.0, 9.0),
        strict=True,
    )
    records = [
        RunRecord(
            "cpu-native",
            b,
            2,
            8,
            1,
            True,
            8,
            0,
            0,
            1.0,
            0.0,
            1.0,
            1,
            mbps,
            "MB/s",
            lag | {"p99": p99},
        )
        for b, mbps, p99 in figures
    ]
    bars = window.bars
    window.grab()
    assert bars.placeholder.isVisible()
    assert bars.tp.getViewBox().sceneBoundingRect().contains(bars.placeholder.sceneBoundingRect())
    bars.show_records(records)
    window.grab()
    assert bars.names == list(BACKENDS)
    assert bars.ci.minimumWidth() <= bars.viewport().width()  # nothing pushed past the edge
    assert bars.ci.minimumHeight() <= bars.viewport().height()
    scene = bars.sceneRect()
    metrics = QFontMetrics(bars.tp.getAxis("left").style["tickFont"])
    for plot in (bars.tp, bars.lag):
        assert scene.contains(plot.titleLabel.sceneBoundingRect())
        axis = plot.getAxis("left")
        assert axis.width() >= max(metrics.horizontalAdvance(b) for b in BACKENDS) + 5
        view = plot.getViewBox().sceneBoundingRect().adjusted(-1, -1, 1, 1)
        values = [item for p, item in bars.items if p is plot and isinstance(item, pg.TextItem)]
        assert len(values) == len(BACKENDS)
        for value in values:
            assert view.contains(value.sceneBoundingRect()), value.toPlainText()
