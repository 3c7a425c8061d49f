"""The main window: the job, live plots, progress, log, results, lessons.

Everything the learner sees is drawn from a frame timer that runs only while
a run is on screen; worker events only land in the controller's state and a
pending log, so a flood of events costs one redraw per frame.
"""

from __future__ import annotations

import gc
import math
import multiprocessing
import os
import platform
import sys
import time

import pyqtgraph as pg
from PySide6.QtCore import QByteArray, QMargins, QRect, QSettings, QSize, Qt, QTimer, Slot
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QColor,
    QFontDatabase,
    QKeySequence,
    QTextCursor,
)
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QDoubleSpinBox,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from gui.alive import AlivePanel, ProgressPanel
from gui.app import THEMES, apply_theme, theme_choice
from gui.controller import Active, Comparison, RunController
from gui.controls import JobForm, compare_spec
from gui.cpu import CpuSampler
from gui.lessons import LessonsPanel, compare_summary, lesson_for, readback
from gui.plots import LivePlots, Trace
from gui.results import ResultsPanel
from workers.core import Event
from workers.record import RunRecord
from workers.spec import BACKENDS, RunSpec, format_bytes

PLOT_MS = 33  # ≤ 30 Hz: plots redraw on this timer, never per event
MAX_FRAME_GAP_MS = 2000  # however slow frames get, the plots move every 2 s
PAUSED_MS = 500  # plots paused (GUI thread starved): progress and log move twice a second
STARVED_S = 0.002  # a turn wait above this: the GUI thread is starved
#: Back ends whose workers share the GUI thread's GIL (the GUI-thread ones block it outright).
SHARE_THE_GIL = frozenset({"qthread", "threading", "thread-pool"})
CPU_IDLE_MS = 2000  # idle, the CPU plot is redrawn every 2 s
LOG_LINES = 5000
#: The window's size when nothing is remembered, if the screen has room for it.
PREFERRED_SIZE = QSize(1400, 900)
#: Room left around the window for its frame and title bar, which Qt only knows once
#: it is shown: a window the size of the available area would overflow it.
FRAME_ALLOWANCE = QMargins(8, 40, 8, 8)
#: Narrower than this, the Lessons dock sits with Results (as a tab) by default: the
#: plots' titles and axes need ~560 px beside the Job dock.
WIDE_PX = 1200
#: Wait this long after the window first shows before timing this machine: its first
#: paints would slow the calibration (they hold the GIL) and be slowed by it.
CALIBRATE_AFTER_MS = 250
WELCOME = (
    "Press Start: this job runs on the GUI thread, so the window will freeze for a few "
    "seconds — try typing in the box meanwhile. Then pick another back end and Start again."
)


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


def fit(rect: QRect, available: QRect, frame: QMargins = FRAME_ALLOWANCE) -> QRect:
    """``rect`` (a window's inner geometry) shrunk and moved so that, with a
    ``frame`` around it, it lies within ``available`` (a screen without its panels)."""
    room = available.marginsRemoved(frame)
    width, height = min(rect.width(), room.width()), min(rect.height(), room.height())
    x = min(max(rect.x(), room.left()), room.left() + room.width() - width)
    y = min(max(rect.y(), room.top()), room.top() + room.height() - height)
    return QRect(x, y, width, height)


def default_dock_sizes(width: int, height: int) -> tuple[int, int, int]:
    """The Job and Lessons docks' widths and the Results dock's height, in a window of
    ``width`` x ``height``: a share of it, within what their contents need."""
    return (
        _clamp(0.24 * width, 290, 340),
        _clamp(0.21 * width, 220, 300),
        _clamp(0.36 * height, 200, 300),
    )


def compare_eta(
    runs: int, finished: int, started_at: float, last_end: float, now: float, guess_s: float
) -> float:
    """Seconds left in a Compare all of ``runs`` runs: the runs left at the mean time the
    finished ones took (``guess_s`` each before any did), less what the current one has had."""
    per_run = (last_end - started_at) / finished if finished else guess_s
    return max(0.0, per_run * (runs - finished) - (now - last_end))


def format_event(e: Event, wall_offset: float) -> str:
    """One log line: when, which task, what happened, and who did it (thread or process)."""
    stamp = time.strftime("%H:%M:%S", time.localtime(e.t + wall_offset))
    ms = int((e.t + wall_offset) % 1 * 1000)
    line = f"{stamp}.{ms:03d} #{e.task:<3} {e.kind:<9} {e.worker} · pid {e.pid} tid {e.tid}"
    if e.detail:
        line += f": {e.detail}"
    return line


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
        self.log_follows = True  # the log shows each new line, until the user scrolls up
        self.runs = 0
        self.closed = False
        self.comparison: Comparison | None = None  # the Compare all on screen
        self.compare_times = (0.0, 0.0, 0.0)  # started at, last run ended at, guess per run
        self.compare_waits = False  # Compare all starts once this machine is timed
        self.calibration_asked = False
        self.theme = theme_choice(settings)

        self._build()
        self._wire()
        self.form.restore(settings)
        try:
            switch_ms = float(settings.value("switch_interval_ms", sys.getswitchinterval() * 1000))
        except (TypeError, ValueError):
            switch_ms = sys.getswitchinterval() * 1000
        self.switch.setValue(switch_ms)
        self.on_switch(self.switch.value())
        if self.theme != "system":
            self.set_theme(self.theme)
        available = self.screen().availableGeometry()
        self.setGeometry(fit(QRect(available.topLeft(), PREFERRED_SIZE), available))
        self.reset_layout()
        geometry, state = settings.value("geometry"), settings.value("state")
        if isinstance(geometry, QByteArray) and self.restoreGeometry(geometry):
            self.fit_to_screen()  # remembered on a bigger screen: shrink it to fit this one
        if isinstance(state, QByteArray):
            self.restoreState(state)
        self.on_form_changed()

    # -- layout -------------------------------------------------------------
    def _build(self) -> None:
        self.form = JobForm(self.controller.speed)
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
        # A few lines at least; any height more the Job dock has to spare. Its size hint
        # (192 px) ignored: the dock asks for no more than fits, and scrolls only below that.
        self.log.setMinimumHeight(70)
        self.log.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Ignored)

        left = QWidget()
        column = QVBoxLayout(left)
        column.addWidget(self.form)
        column.addLayout(buttons)
        column.addWidget(_group("Is the GUI thread alive?", self.alive))
        column.addWidget(_group("Progress", self.progress))
        column.addWidget(_group("Log", self.log), 1)
        # On a short screen the column scrolls rather than squeezing (or hiding) fields.
        self.job_scroll = QScrollArea(widgetResizable=True, frameShape=QFrame.Shape.NoFrame)
        self.job_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.job_scroll.setWidget(left)
        self.job_scroll.setMinimumWidth(
            left.minimumSizeHint().width() + self.job_scroll.verticalScrollBar().sizeHint().width()
        )
        self.job_dock = self._dock("Job", self.job_scroll, Qt.DockWidgetArea.LeftDockWidgetArea)

        self.readback = QLabel(WELCOME, wordWrap=True, objectName="readback")
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
        box.addWidget(self.plots.legend)
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
        # pyqtgraph lays its scene out at its own minimum width (titles, axes) even
        # when the view is narrower, and the rest is cut off: make that the view's minimum.
        for view in (self.plots, self.bars):
            view.setMinimumWidth(_scene_min_width(view))
        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.BottomDockWidgetArea)
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
        """File, Run and View. Run holds Start, Cancel and Compare all with their keys:
        with the Job dock closed, they are still one click (or key) away."""
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

        self.run_menu = self.menuBar().addMenu("&Run")
        self.start_action = QAction("&Start", self)
        self.start_action.setShortcuts([QKeySequence("Ctrl+R"), QKeySequence("F5")])
        self.cancel_action = QAction("&Cancel", self, shortcut=QKeySequence("Escape"))
        self.compare_action = QAction("Compare &all", self, shortcut=QKeySequence("Ctrl+Shift+R"))
        for action in (self.start_action, self.cancel_action, self.compare_action):
            self.run_menu.addAction(action)

        self.view_menu = view = self.menuBar().addMenu("&View")
        for dock in (self.job_dock, self.lessons_dock, self.results_dock):
            view.addAction(dock.toggleViewAction())
        self.reset_layout_action = view.addAction("&Reset layout", self.reset_layout)
        self.reset_layout_action.setToolTip("Every panel back in its place, at its first size.")
        view.addSeparator()
        self.theme_menu = view.addMenu("&Theme")
        self.theme_actions = QActionGroup(self)
        for theme in THEMES:
            action = self.theme_menu.addAction(theme.capitalize())
            action.setCheckable(True)
            action.setChecked(theme == self.theme)
            action.setData(theme)
            self.theme_actions.addAction(action)
        self.theme_actions.triggered.connect(self.on_theme_action)

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
        self.compare_progress = QProgressBar(maximumWidth=280, textVisible=True)
        self.compare_progress.setToolTip(
            "Compare all: runs finished, and the time left if the rest take as long."
        )
        self.compare_progress.hide()
        self.switch = QDoubleSpinBox(
            minimum=0.1, maximum=50.0, decimals=1, singleStep=0.5, suffix=" ms"
        )
        self.switch.setToolTip(
            "sys.setswitchinterval: how often a thread holding the GIL is asked to let another "
            "run. Lower it during a pure-Python threaded run and watch the lag plot."
        )
        bar.addWidget(self.state_label)
        bar.addWidget(self.queue_label)
        bar.addWidget(self.compare_progress)
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
        c.calibrated.connect(self.on_calibrated)
        self.form.changed.connect(self.on_form_changed)
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.compare_button.clicked.connect(self.compare_all)
        self.start_action.triggered.connect(self.start)
        self.cancel_action.triggered.connect(self.cancel)
        self.compare_action.triggered.connect(self.compare_all)
        self.clear_button.clicked.connect(self.clear_plots)
        self.results_panel.message.connect(self.on_message)
        self.switch.valueChanged.connect(self.on_switch)
        self.log.verticalScrollBar().actionTriggered.connect(self.on_log_scrolled)
        QApplication.styleHints().colorSchemeChanged.connect(self.on_color_scheme)
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
        for widget in (self.start_button, self.compare_button):
            widget.setEnabled(ok)
        for action in (self.start_action, self.compare_action):
            action.setEnabled(ok)
        self._show_busy()

    def _show_busy(self) -> None:
        busy = self.controller.busy or bool(self.controller.queue)
        self.start_button.setText("Queue" if busy else "Start")
        self.start_action.setText("&Queue" if busy else "&Start")
        self.start_button.setToolTip(
            "A run is going: this job will wait in the queue (Ctrl+R)."
            if busy
            else "Start the job (Ctrl+R or F5)."
        )
        self.cancel_button.setEnabled(busy)
        self.cancel_action.setEnabled(busy)

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
        self.compare_waits = False
        self._end_compare_progress()

    @Slot()
    def compare_all(self, workload: str | None = None) -> None:
        """The form's job (shrunk to ~3 s serial) on every back end, one after another."""
        if workload:
            self.form.set_job(workload, self.form.backend.currentText())
        spec = self.form.spec(fresh=True)
        if spec is None:
            return
        speed = self.controller.speed
        if not speed.measured(spec.workload) and self.controller.calibration_pending:
            # Shrunk by a guessed speed, it could last a minute instead of ~20 s.
            self.compare_waits = True
            self.statusBar().showMessage("Compare all starts once this machine is timed…", 5000)
            return
        small = compare_spec(spec, speed)
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
        self.comparison = self.controller.compare(small)
        now = time.perf_counter()
        self.compare_times = (now, now, speed.serial_seconds(small))
        self._show_compare_progress()
        self._show_busy()

    def _show_compare_progress(self) -> None:
        """``Compare all 2 of 6 · ETA ~9 s`` in the status bar, at each run's start and end."""
        comparison = self.comparison
        if comparison is None:
            return
        started, last_end, guess = self.compare_times
        runs, finished = len(comparison.specs), comparison.finished
        eta = compare_eta(runs, finished, started, last_end, time.perf_counter(), guess)
        bar = self.compare_progress
        bar.setRange(0, runs)
        bar.setValue(finished)
        bar.setFormat(f"Compare all %v of %m · ETA ~{eta:.0f} s")
        bar.show()

    def _end_compare_progress(self) -> None:
        self.comparison = None
        self.compare_progress.hide()

    @Slot()
    def clear_plots(self) -> None:
        self.plots.clear_runs()
        self.trace = None  # a run going on gets a new curve on the next frame

    @Slot(Qt.ColorScheme)
    def on_color_scheme(self, scheme: Qt.ColorScheme) -> None:
        """Follow the system from light to dark (or back) while the app runs."""
        self.set_theme(self.theme)

    @Slot(QAction)
    def on_theme_action(self, action: QAction) -> None:
        """View > Theme: the choice is applied now and remembered."""
        self.theme = str(action.data())
        self.settings.setValue("view/theme", self.theme)
        self.set_theme(self.theme)

    def set_theme(self, theme: str) -> None:
        apply_theme(QApplication.instance(), theme)  # type: ignore[arg-type]
        background = QColor(pg.getConfigOption("background"))
        foreground = QColor(pg.getConfigOption("foreground"))
        self.plots.set_theme(background, foreground)
        self.bars.set_theme(background, foreground)

    @Slot()
    def reset_layout(self) -> None:
        """Every dock shown, docked in its first place, at its first size (for this
        window's size: narrower than WIDE_PX, Lessons is a tab beside Results)."""
        width, height = self.width(), self.height()
        wide = width >= WIDE_PX
        for dock, area in (
            (self.job_dock, Qt.DockWidgetArea.LeftDockWidgetArea),
            (self.results_dock, Qt.DockWidgetArea.BottomDockWidgetArea),
            (
                self.lessons_dock,
                Qt.DockWidgetArea.RightDockWidgetArea
                if wide
                else Qt.DockWidgetArea.BottomDockWidgetArea,
            ),
        ):
            dock.setFloating(False)
            self.addDockWidget(area, dock)  # takes it back from wherever it was dragged
            dock.show()
        if not wide:
            self.tabifyDockWidget(self.results_dock, self.lessons_dock)
            self.results_dock.raise_()
        job, lessons, results = default_dock_sizes(width, height)
        docks, widths = [self.job_dock, self.lessons_dock], [job, lessons]
        self.resizeDocks(docks[: 1 + wide], widths[: 1 + wide], Qt.Orientation.Horizontal)
        self.resizeDocks([self.results_dock], [results], Qt.Orientation.Vertical)
        # Table and bars about 2:1, in proportion: the bars' titles need ~330 px.
        self.results_panel.setSizes([640, 340])

    def fit_to_screen(self) -> None:
        """Shrink (and move) the window into its screen's available area if it overflows."""
        if self.windowState() & (Qt.WindowState.WindowMaximized | Qt.WindowState.WindowFullScreen):
            return  # the window system sizes those to the screen
        available = self.screen().availableGeometry()
        fitted = fit(self.geometry(), available)
        if fitted != self.geometry():
            self.setGeometry(fitted)

    @Slot(float)
    def on_switch(self, ms: float) -> None:
        sys.setswitchinterval(ms / 1000)

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
        self._show_compare_progress()
        self._show_busy()

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
        self.pending_log.append(
            f"── finished: {record.done} done, {record.failed} failed, {record.cancelled} "
            f"cancelled in {record.wall_s:.2f} s (start-up {record.startup_s:.2f} s), "
            f"{record.throughput:,.1f} MB/s, UI lag p99 {record.lag_ms['p99']:.1f} ms ──"
        )
        self.pending_log.extend(f"   error: {e}" for e in record.errors[:5])
        self._flush_log()
        # Collect this run's garbage now, between runs: a collection that starts in
        # the middle of one, while threads compete for the GIL, stalls the GUI thread.
        gc.collect()
        if not self.controller.busy and not self.controller.queue:
            self.plot_timer.stop()
            self.state_label.setText("idle")
        if record.backend == "gui-thread":
            self.on_form_changed()  # the run measured the speed the estimate scales by
        self._show_busy()

    @Slot(int)
    def on_queue(self, waiting: int) -> None:
        self.queue_label.setText(f"{waiting} queued" if waiting else "")
        self._show_busy()

    @Slot(object)
    def on_compared(self, comparison: Comparison) -> None:
        """A run of the Compare all ended: its bar; once all did, what they showed."""
        self.bars.show_records(comparison.records)
        self.bars.setMinimumWidth(_scene_min_width(self.bars))  # its titles changed
        if comparison is self.comparison:
            started, _, guess = self.compare_times
            self.compare_times = (started, time.perf_counter(), guess)
            if comparison.done:
                took = time.perf_counter() - started
                self._end_compare_progress()
                self.statusBar().showMessage(
                    f"Compare all: {len(comparison.specs)} runs in {took:.1f} s", 10_000
                )
            else:
                self._show_compare_progress()
        if comparison.done and comparison.records:
            self.readback.setText(compare_summary(comparison.records))
            cpu = comparison.records[0].workload.startswith("cpu")
            self.lessons.show_lesson("gil" if cpu else "io-vs-cpu")

    @Slot()
    def on_calibrated(self) -> None:
        """This machine is timed: the hint's estimate is now its own, and a Compare all
        asked for meanwhile can size its runs."""
        self.on_form_changed()
        if self.compare_waits:
            self.compare_waits = False
            self.compare_all()

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
                    self.trace = self.plots.add_run(self.trace_label, active.state.t_start)
                samples, units = self.controller.probe.samples, active.state.units_over_time
                self.plots.refresh(self.trace, samples, units, start)
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

    @Slot(int)
    def on_log_scrolled(self, action: int) -> None:
        """The user scrolled the log (wheel, keys, scroll bar): it follows new lines
        again only once they are back at the bottom. Not the bar's position at each
        flush: Qt moves it too (re-showing a closed dock left it a line short)."""
        bar = self.log.verticalScrollBar()
        self.log_follows = bar.sliderPosition() >= bar.maximum()

    def _flush_log(self) -> None:
        """Append the new lines. The log follows them if it showed the last line, and
        otherwise stays on the lines the user scrolled to (also while the oldest go)."""
        if not self.pending_log:
            return
        bar = self.log.verticalScrollBar()
        position, blocks = bar.value(), self.log.blockCount()
        self.log.appendPlainText("\n".join(self.pending_log))
        if self.log_follows:
            cursor = self.log.textCursor()
            if not cursor.hasSelection():  # what the user selected stays selected
                # At the start of the last line: Qt scrolls to the cursor when the log
                # is shown again (Job dock closed, reopened), to the end of the line if
                # it was left there.
                cursor.movePosition(QTextCursor.MoveOperation.End)
                cursor.movePosition(QTextCursor.MoveOperation.StartOfBlock)
                self.log.setTextCursor(cursor)
            bar.setValue(bar.maximum())
        else:  # lines dropped at the top (LOG_LINES) move the rest up by as many
            dropped = blocks + len(self.pending_log) - self.log.blockCount()
            bar.setValue(max(0, position - dropped))
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

    def showEvent(self, event: object) -> None:
        super().showEvent(event)  # type: ignore[arg-type]
        if not self.calibration_asked:
            self.calibration_asked = True
            self.controller.calibrate(CALIBRATE_AFTER_MS)

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


def _scene_min_width(view: pg.GraphicsLayoutWidget) -> int:
    view.ci.layout.invalidate()  # its size hints are cached from before the titles were set
    return math.ceil(view.ci.effectiveSizeHint(Qt.SizeHint.MinimumSize).width()) + 4


def _clamp(value: float, lo: int, hi: int) -> int:
    return round(min(max(value, lo), hi))


def _group(title: str, widget: QWidget) -> QGroupBox:
    box = QGroupBox(title)
    layout = QVBoxLayout(box)
    layout.setContentsMargins(6, 4, 6, 6)
    layout.addWidget(widget)
    return box
