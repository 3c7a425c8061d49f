"""The main window: the job, live plots, progress, log, results, lessons.

Everything the learner sees is drawn from a frame timer that runs only while
a run is on screen; worker events only land in the controller's state and a
pending log, so a flood of events costs one redraw per frame.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import platform
import sys
import time

import pyqtgraph as pg
from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer, Slot
from PySide6.QtGui import QAction, QColor, QFontDatabase, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QDoubleSpinBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from gui.alive import AlivePanel, ProgressPanel
from gui.app import apply_theme
from gui.controller import Active, Comparison, RunController
from gui.controls import JobForm, compare_spec
from gui.cpu import CpuSampler
from gui.lessons import LessonsPanel, lesson_for, lesson_key
from gui.plots import LivePlots, Trace
from gui.readback import compare_summary, lag_text, preview, readback, speed_text
from gui.results import ResultsPanel
from workers.core import Event
from workers.record import RunRecord
from workers.spec import BACKENDS, RunSpec, format_bytes

PLOT_MS = 33  # ≤ 30 Hz: plots redraw on this timer, never per event
MAX_FRAME_GAP_MS = 2000  # however slow frames get, the plots move every 2 s
PAUSED_MS = 500  # plots paused (GUI thread starved): progress and log move twice a second
READOUT_S = 0.25  # the live lag read-out changes at most this often
STARVED_S = 0.002  # a turn wait above this: the GUI thread is starved
#: Back ends whose workers share the GUI thread's GIL (the GUI-thread ones block it outright).
SHARE_THE_GIL = frozenset({"qthread", "threading", "thread-pool"})
CPU_IDLE_MS = 2000  # idle, the CPU plot is redrawn every 2 s
LOG_LINES = 5000


def turn_wait_s() -> float:
    """How long the GUI thread waits for its turn: sleep(0) gives up the GIL and
    the CPU and takes them back. ~0.05 ms when both are free; a switch interval
    (5 ms) or more when Python threads compute, or while other programs take
    the CPU. The faster of two tries, so one preemption does not count."""
    waits = []
    for _ in range(2):
        start = time.perf_counter()
        time.sleep(0)
        waits.append(time.perf_counter() - start)
    return min(waits)


def format_event(e: Event, wall_offset: float) -> str:
    """One log line: when, which task, what happened, and who did it (thread or process)."""
    stamp = time.strftime("%H:%M:%S", time.localtime(e.t + wall_offset))
    ms = int((e.t + wall_offset) % 1 * 1000)
    line = f"{stamp}.{ms:03d} #{e.task:<3} {e.kind:<9} {e.worker} · pid {e.pid} tid {e.tid}"
    if e.detail:
        line += f": {e.detail}"
    return line


def finished_line(record: RunRecord) -> str:
    """The log's last line of a run: how it ended, its counts and the numbers the
    read-back quotes (a partial throughput says so; a freeze gives its total and
    its longest, as the band labels do)."""
    return (
        f"── {'finished' if record.outcome == 'done' else record.outcome}: {record.done} done, "
        f"{record.failed} failed, {record.cancelled} cancelled in {record.wall_s:.2f} s "
        f"(start-up {record.startup_s:.2f} s), {speed_text(record)}, {lag_text(record)} ──"
    )


class MainWindow(QMainWindow):
    """The lab. ``settings`` is where the form, switch interval and layout persist;
    closing the window cancels every run and shuts the controller down."""

    def __init__(self, settings: QSettings) -> None:
        super().__init__()
        self.settings = settings
        self.setWindowTitle("unfreeze — why a Qt window freezes, and how to keep it alive")
        self.controller = RunController(self)
        self.wall_offset = time.time() - time.perf_counter()
        self.current: Active | None = None  # the run on screen; outlives the controller's
        self.trace: Trace | None = None
        self.trace_label = ""
        self.pending_log: list[str] = []
        self.readout_at = 0.0  # perf_counter time of the read-out's next update
        self.runs = 0
        #: The selection (workload, back end, workers) the banner and the lesson were
        #: last set for: a finished run's read-back stays until the selection changes.
        self.banner_for: tuple[str, str, int] | None = None
        self.closed = False

        self._build()
        self._wire()
        self.form.restore(settings)
        try:
            switch_ms = float(settings.value("switch_interval_ms", sys.getswitchinterval() * 1000))
        except (TypeError, ValueError):
            switch_ms = sys.getswitchinterval() * 1000
        self.switch.setValue(switch_ms)
        self.on_switch(self.switch.value())
        self.resize(1400, 900)
        geometry, state = settings.value("geometry"), settings.value("state")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        if isinstance(state, QByteArray):
            self.restoreState(state)
        self.on_form_changed()

    # -- layout -------------------------------------------------------------
    def _build(self) -> None:
        self.form = JobForm()
        self.start_button = QPushButton("Start")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Cancel the running job and drop the queued ones (Esc).")
        self.compare_button = QPushButton("Compare all")
        self.compare_button.setToolTip(
            "Run this job on every back end in turn (Ctrl+Shift+R) and compare the bars. "
            "The size per task is scaled down so each serial run lasts about 3 s."
        )
        buttons = QHBoxLayout()
        for button in (self.start_button, self.cancel_button, self.compare_button):
            buttons.addWidget(button)
        self.alive = AlivePanel()
        self.progress = ProgressPanel()
        self.log = QPlainTextEdit(readOnly=True)
        self.log.setMaximumBlockCount(LOG_LINES)
        self.log.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        font.setPointSizeF(font.pointSizeF() * 0.85)
        self.log.setFont(font)
        self.log.setPlaceholderText(
            "Events appear here, with the thread or process that sent them."
        )

        left = QWidget()
        column = QVBoxLayout(left)
        column.addWidget(self.form)
        column.addLayout(buttons)
        column.addWidget(_group("Is the GUI thread alive?", self.alive))
        column.addWidget(_group("Progress", self.progress))
        column.addWidget(_group("Log", self.log), 1)
        self.job_dock = self._dock("Job", left, Qt.DockWidgetArea.LeftDockWidgetArea)

        self.readback = QLabel(wordWrap=True, objectName="readback")
        self.readback.setStyleSheet(
            "#readback { font-weight: bold; padding: 6px 10px; "
            "border-left: 4px solid palette(highlight); background: palette(alternate-base); }"
        )
        self.plots = LivePlots(os.cpu_count() or 1)
        self.clear_button = QPushButton("Clear plots")
        self.clear_button.setToolTip("Remove every run from the plots (the results stay).")
        center = QWidget()
        box = QVBoxLayout(center)
        box.setContentsMargins(4, 4, 4, 0)
        top = QHBoxLayout()
        top.addWidget(self.readback, 1)
        top.addWidget(self.clear_button, 0, Qt.AlignmentFlag.AlignTop)
        box.addLayout(top)
        legend = QHBoxLayout()
        legend.addWidget(self.plots.legend, 1)
        legend.addWidget(self.plots.readout, 0, Qt.AlignmentFlag.AlignTop)
        box.addLayout(legend)
        box.addWidget(self.plots, 1)
        self.setCentralWidget(center)

        self.lessons = LessonsPanel()
        self.lessons_dock = self._dock(
            "Lessons", self.lessons, Qt.DockWidgetArea.RightDockWidgetArea
        )

        self.results_panel = ResultsPanel()
        self.results, self.bars = self.results_panel.table, self.results_panel.bars
        self.results_dock = self._dock(
            "Results", self.results_panel, Qt.DockWidgetArea.BottomDockWidgetArea
        )
        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.resizeDocks([self.job_dock, self.lessons_dock], [330, 290], Qt.Orientation.Horizontal)
        self.resizeDocks([self.results_dock], [280], Qt.Orientation.Vertical)
        self._build_menu()
        self._build_status()

    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self, objectName=title.lower())
        dock.setWidget(widget)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetClosable
            | QDockWidget.DockWidgetFeature.DockWidgetMovable
        )
        self.addDockWidget(area, dock)
        return dock

    def _build_menu(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        for text, slot in (
            ("Export results as &CSV…", self.results_panel.export_csv),
            ("Export results as &JSON…", self.results_panel.export_json),
        ):
            file_menu.addAction(text, slot)
        file_menu.addSeparator()
        quit_action = QAction("&Quit", self, shortcut=QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)
        view = self.menuBar().addMenu("&View")
        for dock in (self.job_dock, self.lessons_dock, self.results_dock):
            view.addAction(dock.toggleViewAction())

    def _build_status(self) -> None:
        bar = self.statusBar()
        gil_check = getattr(sys, "_is_gil_enabled", None)
        gil = "on" if gil_check is None or gil_check() else "off"
        facts = QLabel(
            f"{platform.python_implementation()} {platform.python_version()} · GIL {gil} · "
            f"{os.cpu_count()} CPUs · processes: spawn"
        )
        facts.setToolTip(
            "Processes are started with 'spawn' (a fresh interpreter); the platform default "
            f"here is '{multiprocessing.get_start_method(allow_none=True) or 'fork'}'."
        )
        self.state_label = QLabel("idle")
        self.queue_label = QLabel("")
        self.switch = QDoubleSpinBox(
            minimum=0.1, maximum=50.0, decimals=1, singleStep=0.5, suffix=" ms"
        )
        # Typed values apply on Enter: typing "10" must not switch to 1 ms on the way.
        self.switch.setKeyboardTracking(False)
        self.switch.setToolTip(
            "sys.setswitchinterval: how often a thread holding the GIL is asked to let another "
            "run. Lower it during a pure-Python threaded run and watch the lag read-out above "
            "the plots; the lag plot marks the change."
        )
        bar.addWidget(self.state_label)
        bar.addWidget(self.queue_label)
        bar.addPermanentWidget(facts)
        bar.addPermanentWidget(QLabel("switch interval"))
        bar.addPermanentWidget(self.switch)

    def _wire(self) -> None:
        c = self.controller
        c.run_started.connect(self.on_run_started)
        c.updated.connect(self.on_events)
        c.run_finished.connect(self.on_run_finished)
        c.queue_changed.connect(self.on_queue)
        c.error.connect(self.on_run_error)
        c.compared.connect(self.on_compared)
        self.form.changed.connect(self.on_form_changed)
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.compare_button.clicked.connect(self.compare_all)
        self.clear_button.clicked.connect(self.clear_plots)
        self.results_panel.message.connect(self.on_message)
        self.switch.valueChanged.connect(self.on_switch)
        QApplication.styleHints().colorSchemeChanged.connect(self.on_color_scheme)
        for keys, slot in (
            ("Ctrl+R", self.start),
            ("F5", self.start),
            ("Escape", self.cancel),
            ("Ctrl+Shift+R", self.compare_all),
        ):
            QShortcut(QKeySequence(keys), self, activated=slot)
        self.plot_timer = QTimer(self)
        self.plot_timer.setInterval(PLOT_MS)
        self.plot_timer.timeout.connect(self.redraw)
        self.cpu = CpuSampler(os.cpu_count() or 1)
        self.cpu.start()
        self.cpu_drawn = 0  # the sampler's count when the CPU plot was last drawn
        self.cpu_timer = QTimer(self)  # draws the CPU plot while no run redraws it
        self.cpu_timer.setInterval(CPU_IDLE_MS)
        self.cpu_timer.timeout.connect(self.on_cpu)
        self.cpu_timer.start()

    # -- actions ------------------------------------------------------------
    @Slot()
    def on_form_changed(self) -> None:
        ok = self.form.spec() is not None
        self.start_button.setEnabled(ok)
        self.compare_button.setEnabled(ok)
        self._show_busy()
        if self.selection() != self.banner_for:
            self.show_selection()

    def selection(self) -> tuple[str, str, int]:
        """The form's workload, back end and the workers a run of it would get."""
        form = self.form
        backend = form.backend.currentText()
        workers = 1 if backend == "gui-thread" else min(form.workers.value(), form.tasks.value())
        return form.workload.currentText(), backend, workers

    def show_selection(self) -> None:
        """Banner and lesson: what the selected job will do (no number: none is measured yet)."""
        self.banner_for = workload, backend, workers = self.selection()
        busy = self.controller.busy or bool(self.controller.queue)
        self.readback.setText(preview(workload, backend, workers, "queued" if busy else "idle"))
        self.lessons.show_lesson(lesson_key(workload, backend, sys.getswitchinterval() * 1000))

    def _show_busy(self) -> None:
        busy = self.controller.busy or bool(self.controller.queue)
        self.start_button.setText("Queue" if busy else "Start")
        self.start_button.setToolTip(
            "A run is going: this job will wait in the queue (Ctrl+R)."
            if busy
            else "Start the job (Ctrl+R or F5)."
        )
        self.cancel_button.setEnabled(busy)

    @Slot()
    def start(self) -> None:
        spec = self.form.spec(fresh=True)  # the folder may have gone since it was typed
        if spec is not None:
            self.controller.submit(spec)
            self._show_busy()

    def start_job(self, workload: str, backend: str) -> None:
        """``workload`` on ``backend`` with the default job, started now (--run)."""
        self.form.set_job(workload, backend)
        self.start()

    @Slot()
    def cancel(self) -> None:
        self.controller.cancel()

    @Slot()
    def compare_all(self, workload: str | None = None) -> None:
        """The form's job (shrunk to ~3 s serial) on every back end, one after another."""
        if workload:
            self.form.set_job(workload, self.form.backend.currentText())
        spec = self.form.spec(fresh=True)
        if spec is None:
            return
        small = compare_spec(spec)
        self.bars.show_records([])
        self.pending_log.append(
            f"Compare all: {small.workload}, {small.tasks} × {format_bytes(small.size)} "
            f"on {len(BACKENDS)} back ends"
            + (
                f" (scaled from {format_bytes(spec.size)} per task)"
                if small.size != spec.size
                else ""
            )
        )
        self.controller.compare(small)
        self._show_busy()

    @Slot()
    def clear_plots(self) -> None:
        self.plots.clear_runs()
        self.trace = None  # a run going on gets a new curve on the next frame

    @Slot(Qt.ColorScheme)
    def on_color_scheme(self, scheme: Qt.ColorScheme) -> None:
        """Follow the system from light to dark (or back) while the app runs."""
        apply_theme(QApplication.instance())  # type: ignore[arg-type]
        background = QColor(pg.getConfigOption("background"))
        foreground = QColor(pg.getConfigOption("foreground"))
        self.plots.set_theme(background, foreground)
        self.bars.set_theme(background, foreground)

    @Slot(float)
    def on_switch(self, ms: float) -> None:
        """Set the switch interval; the run going on notes when (its record splits
        the lag there, and its lag plot marks the change)."""
        self.controller.set_switch_interval(ms)

    # -- controller -> view -------------------------------------------------
    @Slot(object)
    def on_run_started(self, active: Active) -> None:
        spec = active.spec
        self.runs += 1
        self.current = active
        self.trace = None  # the first frame adds it, unless threads hold the GIL
        self.trace_label = self._label(spec)
        self.state_label.setText(
            f"running {spec.workload} · {spec.backend} ({active.run.workers} workers)"
        )
        self.pending_log.append(
            f"── run {self.runs}: {spec.workload} on {spec.backend}, {active.run.workers} workers, "
            f"{spec.tasks} × {format_bytes(spec.size)} ──"
        )
        self.plot_timer.start(PLOT_MS)
        self._show_busy()
        self.readback.setText(preview(spec.workload, spec.backend, active.run.workers, "running"))
        switch_ms = sys.getswitchinterval() * 1000
        self.lessons.show_lesson(lesson_key(spec.workload, spec.backend, switch_ms))
        self.banner_for = self.selection()

    def _label(self, spec: RunSpec) -> str:
        label = f"{spec.workload} · {spec.backend}"
        switch_ms = sys.getswitchinterval() * 1000
        return label + (f" · switch {switch_ms:g} ms" if abs(switch_ms - 5.0) > 1e-6 else "")

    @Slot(object)
    def on_events(self, events: list[Event]) -> None:
        self.pending_log.extend(format_event(e, self.wall_offset) for e in events)

    @Slot(object)
    def on_run_finished(self, record: RunRecord) -> None:
        self.redraw(force=True)  # the last samples, including the freeze that just ended
        self.progress.finish()
        history = list(self.results.records)
        self.results.add(record)
        self.current = None
        self.readback.setText(readback(record, history))
        self.lessons.show_lesson(lesson_for(record))
        self.banner_for = self.selection()  # the read-back stays until the selection changes
        self.pending_log.append(finished_line(record))
        self.pending_log.extend(f"   error: {e}" for e in record.errors[:5])
        self._flush_log()
        # Collect this run's garbage now, between runs: a collection that starts in
        # the middle of one, while threads compete for the GIL, stalls the GUI thread.
        gc.collect()
        if not self.controller.busy and not self.controller.queue:
            self.plot_timer.stop()
            self.state_label.setText("idle")
            self.plots.readout.clear()  # "the last second" is over
        self._show_busy()

    @Slot(int)
    def on_queue(self, waiting: int) -> None:
        self.queue_label.setText(f"{waiting} queued" if waiting else "")
        self._show_busy()

    @Slot(object)
    def on_compared(self, comparison: Comparison) -> None:
        """A run of the Compare all ended: its bar; once all did, what they showed."""
        self.bars.show_records(comparison.records)
        if comparison.done and comparison.records:
            self.readback.setText(compare_summary(comparison.records))
            cpu = comparison.records[0].workload.startswith("cpu")
            self.lessons.show_lesson("gil" if cpu else "io-vs-cpu")
            self.banner_for = self.selection()

    @Slot(str)
    def on_run_error(self, message: str) -> None:
        self.show_error(message)

    def show_error(self, message: str) -> None:
        self.pending_log.append(f"error: {message}")
        self._flush_log()
        self.statusBar().showMessage(message, 10_000)

    # -- frames -------------------------------------------------------------
    @Slot()
    def redraw(self, force: bool = False) -> None:
        """Redraw what changed; while the GUI thread is starved, pause the plots.

        Drawing pyqtgraph calls back into Python hundreds of times, and while
        pure-Python threads run each call waits its turn for the GIL: a frame
        then costs 100-300 ms, which the lag plot would blame on the threads
        (measured, 2 threads: p99 ~150 ms headless, 0.7-1.3 s with live plots).
        So under contention the plots wait for the run's end (``force``), and
        only the progress and the log move.
        """
        start = time.perf_counter()
        active = self.current
        paused = False
        if active is not None:
            self.progress.show_state(active.state, start)
            wait_s = 0.0 if force else turn_wait_s()
            paused = wait_s > STARVED_S
            if paused:
                self.plots.show_paused(wait_s, active.spec.backend in SHARE_THE_GIL)
            else:
                if self.trace is None:
                    self.trace = self.plots.add_run(
                        self.trace_label, active.state.t_start, active.spec.backend
                    )
                samples, units = self.controller.probe.samples, active.state.units_over_time
                switches = active.state.switch_intervals
                self.plots.refresh(self.trace, samples, units, start, switches)
            if start >= self.readout_at:  # paused or not: it costs ~0.1 ms
                self.readout_at = start + READOUT_S
                switch_ms = active.state.switch_intervals[-1][1]
                self.plots.show_readout(self.controller.probe.samples, start, switch_ms)
        if not paused:
            self.plots.hide_paused()
            self._draw_cpu(start)
        self._flush_log()
        # However cheap a frame is, keep drawing under ~10% of the GUI thread.
        spent = time.perf_counter() - start + (0.0 if paused else self.plots.paint_s)
        interval = PAUSED_MS if paused else max(PLOT_MS, 9000 * spent)
        self.plot_timer.setInterval(round(min(MAX_FRAME_GAP_MS, interval)))

    @Slot()
    def on_cpu(self) -> None:
        """Idle, no frame draws the CPU plot: this timer does, every 2 s."""
        if not self.plot_timer.isActive():
            self._draw_cpu(time.perf_counter())

    def _draw_cpu(self, now: float) -> None:
        if self.cpu.count != self.cpu_drawn:
            self.cpu_drawn = self.cpu.count
            self.plots.refresh_cpu(*self.cpu.samples(), now)

    def _flush_log(self) -> None:
        if self.pending_log:
            self.log.appendPlainText("\n".join(self.pending_log))
            self.pending_log.clear()

    # -- messages and screenshot ----------------------------------------------
    @Slot(str, bool)
    def on_message(self, text: str, is_error: bool) -> None:
        if is_error:
            self.show_error(text)
        else:
            self.statusBar().showMessage(text, 5000)

    def screenshot(self, path: str) -> bool:
        """Save a PNG of the whole window as it is now, with the latest data drawn."""
        self.redraw(force=True)
        self._draw_cpu(time.perf_counter())
        return self.grab().save(path, "PNG")

    def closeEvent(self, event: object) -> None:
        if not self.closed:
            self.closed = True
            self.form.save(self.settings)
            self.settings.setValue("switch_interval_ms", self.switch.value())
            self.settings.setValue("geometry", self.saveGeometry())
            self.settings.setValue("state", self.saveState())
            self.settings.sync()
            for timer in (self.plot_timer, self.cpu_timer, self.alive.ball.timer):
                timer.stop()
            self.cpu.stop()
            self.controller.shutdown()
        event.accept()  # type: ignore[attr-defined]


def _group(title: str, widget: QWidget) -> QGroupBox:
    box = QGroupBox(title)
    layout = QVBoxLayout(box)
    layout.setContentsMargins(6, 4, 6, 6)
    layout.addWidget(widget)
    return box
