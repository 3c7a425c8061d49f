"""The main window: the job, live plots, progress, log, results, lessons.

It answers the controller's signals and the user's actions; the frames draw
what a run does (gui/frames.py), and where each panel sits, the menus and the
log have modules of their own.
"""

from __future__ import annotations

import gc
import os
import sys
import time
from collections.abc import Callable

import pyqtgraph as pg
from PySide6.QtCore import QByteArray, QSettings, Qt, Slot
from PySide6.QtGui import QAction, QColor
from PySide6.QtWidgets import QApplication, QMainWindow, QPushButton

from gui.alive import AlivePanel, ProgressPanel
from gui.app import apply_theme, theme_choice
from gui.compare import CompareAll
from gui.controller import Active, Comparison, RunController
from gui.controls import JobForm
from gui.frames import Frames
from gui.jobs import run_workers
from gui.layout import (
    RunButtons,
    add_costs,
    add_dock,
    add_timeline,
    banner,
    fit_window,
    job_column,
    plots_area,
    preferred_geometry,
    reset_docks,
    scene_min_width,
)
from gui.lessons import LessonsPanel, compare_lesson, lesson_for, lesson_key
from gui.log import EventLog, finished_line, format_event, started_line
from gui.menus import build_file_menu, build_run_menu, build_status, build_view_menu, facts_text
from gui.plots import LivePlots, Trace
from gui.readback import compare_summary, preview, readback
from gui.results import ResultsPanel
from workers import pythons
from workers.core import Event
from workers.record import RunRecord
from workers.spec import RunSpec
from workers.speed import Speed

#: Wait this long after the window first shows before timing this machine: its first
#: paints would slow the calibration (they hold the GIL) and be slowed by it.
CALIBRATE_AFTER_MS = 250


class MainWindow(QMainWindow):
    """The lab. ``settings`` is where the form, switch interval and layout persist;
    closing the window cancels every run and shuts the controller down. ``speed``:
    this machine's speeds if it was timed already in this process (a second window);
    without it, the window times the machine when first shown."""

    def __init__(self, settings: QSettings, speed: Speed | None = None) -> None:
        super().__init__()
        self.settings = settings
        self.setWindowTitle("unfreeze — why a Qt window freezes, and how to keep it alive")
        self.controller = RunController(self, speed)
        self.wall_offset = time.time() - time.perf_counter()
        self.runs = 0
        #: The selection (workload, back end, workers) the banner and the lesson were
        #: last set for: a finished run's read-back stays until the selection changes.
        self.banner_for: tuple[str, str, int, str] | None = None
        self.closed = False
        #: Start (or Compare all) clicked while the Python field was being asked: done
        #: once it answers, forgotten on Cancel.
        self.after_answer: Callable[[], None] | None = None
        self.calibration_asked = speed is not None
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
        self.setGeometry(preferred_geometry(self.screen().availableGeometry()))
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
        buttons = RunButtons()
        self.start_button, self.cancel_button, self.compare_button = buttons.buttons
        self.alive = AlivePanel()
        self.progress = ProgressPanel()
        self.log = EventLog()
        self.pending_log = self.log.pending  # the lines the next frame appends
        self.job_scroll = job_column(self.form, buttons, self.alive, self.progress, self.log)
        self.job_dock = add_dock(self, "Job", self.job_scroll, Qt.DockWidgetArea.LeftDockWidgetArea)

        self.readback = banner()
        self.plots = LivePlots(os.cpu_count() or 1)
        self.clear_button = QPushButton("Clear plots")
        self.clear_button.setToolTip("Remove every run from the plots (the results stay).")
        self.setCentralWidget(plots_area(self.readback, self.clear_button, self.plots))

        self.lessons = LessonsPanel()
        self.lessons_dock = add_dock(
            self, "Lessons", self.lessons, Qt.DockWidgetArea.RightDockWidgetArea
        )

        self.results_panel = ResultsPanel()
        self.results, self.bars = self.results_panel.table, self.results_panel.bars
        self.results_dock = add_dock(
            self, "Results", self.results_panel, Qt.DockWidgetArea.BottomDockWidgetArea
        )
        self.timeline, self.timeline_dock = add_timeline(self)
        self.costs, self.costs_dock = add_costs(self)
        self.tab_docks = self.timeline_dock, self.costs_dock  # tabs beside Results
        for view in (self.plots, self.bars):
            view.setMinimumWidth(scene_min_width(view))
        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.BottomDockWidgetArea)
        build_file_menu(self, self.results_panel, self.controller.probe.samples)
        self.run_menu, self.start_action, self.cancel_action, self.compare_action = build_run_menu(
            self
        )
        self.view_menu, self.theme_actions = build_view_menu(
            self,
            (self.job_dock, self.lessons_dock, self.results_dock, *self.tab_docks),
            self.reset_layout,
            self.theme,
            self.on_theme_action,
        )
        self.state_label, self.queue_label, self.compare_progress, self.switch, self.facts = (
            build_status(self.statusBar())
        )
        self.compare_flow = CompareAll(self.controller, self.compare_progress)

    def _wire(self) -> None:
        c = self.controller
        c.run_starting.connect(self.on_run_starting)
        c.run_started.connect(self.on_run_started)
        c.updated.connect(self.on_events)
        c.run_finished.connect(self.on_run_finished)
        c.queue_changed.connect(self.on_queue)
        c.error.connect(self.on_run_error)
        c.compared.connect(self.on_compared)
        c.calibrated.connect(self.on_form_changed)  # the hint's estimate is now this machine's
        self.compare_flow.logged.connect(self.pending_log.append)
        self.compare_flow.message.connect(self.statusBar().showMessage)
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
        QApplication.styleHints().colorSchemeChanged.connect(self.on_color_scheme)
        self.frames = Frames(self, self.plots, self.progress, self.controller.probe, self.log)
        self.frames.timeline = self.timeline.view
        self.cpu = self.frames.cpu

    @property
    def trace(self) -> Trace | None:
        """The curves of the run on screen, once a frame has drawn them."""
        return self.frames.trace

    # -- actions ------------------------------------------------------------
    @Slot()
    def on_form_changed(self) -> None:
        if self.after_answer is not None and not self.form.python.waiting():
            action, self.after_answer = self.after_answer, None
            self.statusBar().clearMessage()  # "Asking …": answered (a refusal shows in the form)
            action()
        ok = self.form.spec() is not None
        for widget in (self.start_button, self.compare_button):
            widget.setEnabled(ok)
        for action in (self.start_action, self.compare_action):
            action.setEnabled(ok)
        self._show_busy()
        self.facts.setText(facts_text(self.form.python.interpreter()))
        if self.selection() != self.banner_for:
            self.show_selection()

    def selection(self) -> tuple[str, str, int, str]:
        """The form's workload, back end, the workers a run of it would get, and the
        interpreter its threads would run in ("" for this one, and until it answered:
        its answer changes the selection, so the banner then names it)."""
        form = self.form
        workload, backend = form.workload.currentText(), form.backend.currentText()
        workers = run_workers(workload, backend, form.workers.value(), form.tasks.value())
        elsewhere = form.python.interpreter()
        return workload, backend, workers, elsewhere.path if elsewhere is not None else ""

    def show_selection(self) -> None:
        """Banner and lesson: what the selected job will do (no number: none is measured yet)."""
        self.banner_for = workload, backend, workers, python = self.selection()
        state = "queued" if self.controller.busy or self.controller.queue else "idle"
        elsewhere = self.form.python.interpreter()
        self.readback.setText(preview(workload, backend, workers, state, elsewhere))
        switch_ms = sys.getswitchinterval() * 1000
        self.lessons.show_lesson(lesson_key(workload, backend, switch_ms, python))
        self.progress.depth.setVisible(workload == "queue")  # laid out now, not during a run
        self.lessons.show_example(backend)

    def _show_busy(self) -> None:
        busy = self.controller.busy or bool(self.controller.queue)
        self.start_button.setText("Queue" if busy else "Start")
        self.start_action.setText("&Queue" if busy else "&Start")
        self.start_button.setToolTip(
            "A run is going: this job will wait in the queue (Ctrl+R)."
            if busy
            else "Start the job (Ctrl+R or F5)."
        )
        self.cancel_button.setEnabled(busy or self.after_answer is not None)
        self.cancel_action.setEnabled(busy or self.after_answer is not None)

    def _wait_for_python(self, action: Callable[[], None]) -> bool:
        """True if the Python field has no answer yet for its text: it is asked (unless
        it is being asked already) and ``action`` is done once it answers."""
        if not self.form.python.waiting():
            return False
        self.after_answer = action
        self.form.python.check()
        self.statusBar().showMessage(
            f"Asking {self.form.python.text()} what it is: the run starts once it answers."
        )
        self._show_busy()
        return True

    @Slot()
    def start(self) -> None:
        if self._wait_for_python(self.start):
            return
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
        self.after_answer = None
        self.controller.cancel()
        self.compare_flow.stop()

    @Slot()
    def compare_all(self, workload: str | None = None) -> None:
        """The form's job (shrunk to ~3 s serial) on every back end, one after another."""
        if workload:
            self.form.set_job(workload, self.form.backend.currentText())
        if self._wait_for_python(self.compare_all):
            return
        spec = self.form.spec(fresh=True)
        if spec is None:
            return
        self.compare_flow.start(spec)
        self._show_busy()

    @Slot()
    def clear_plots(self) -> None:
        self.plots.clear_runs()
        self.frames.trace = None  # a run going on gets a new curve on the next frame

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
        self.progress.depth.set_theme(background, foreground)
        self.timeline.view.set_theme(background, foreground)

    @Slot()
    def reset_layout(self) -> None:
        """Every dock shown, docked in its first place, at its first size (for this
        window's size: narrower than WIDE_PX, Lessons is a tab beside Results)."""
        reset_docks(self, self.job_dock, self.lessons_dock, self.results_dock, *self.tab_docks)
        # Table and bars about 2:1, in proportion: the bars' titles need ~330 px.
        self.results_panel.setSizes([640, 340])

    def fit_to_screen(self) -> None:
        """Shrink (and move) the window into its screen's available area if it overflows."""
        fit_window(self)

    @Slot(float)
    def on_switch(self, ms: float) -> None:
        """Set the switch interval; the run going on notes when (its record splits
        the lag there, and its lag plot marks the change)."""
        self.controller.set_switch_interval(ms)

    # -- controller -> view -------------------------------------------------
    @Slot(object)
    def on_run_starting(self, spec: RunSpec) -> None:
        """Every text a run changes, set before its tasks start: once they compete for
        the GIL, each Python call a re-layout or repaint makes waits its turn (a banner
        that moved the plots stalled the GUI thread ~1 s, blamed on the back end)."""
        workers = run_workers(spec.workload, spec.backend, spec.workers, spec.tasks)
        self.state_label.setText(f"running {spec.workload} · {spec.backend} ({workers} workers)")
        elsewhere = pythons.inspect(spec.python) if spec.python else None
        self.readback.setText(preview(spec.workload, spec.backend, workers, "running", elsewhere))
        switch_ms = sys.getswitchinterval() * 1000
        self.lessons.show_lesson(lesson_key(spec.workload, spec.backend, switch_ms, spec.python))
        self.progress.depth.prepare(spec)
        self.lessons.show_example(spec.backend)
        self.banner_for = self.selection()
        self._show_busy()

    @Slot(object)
    def on_run_started(self, active: Active) -> None:
        spec = active.spec
        self.runs += 1
        self.frames.start_run(active)
        self.pending_log.append(started_line(self.runs, spec, active.run.workers))

    @Slot(object)
    def on_events(self, events: list[Event]) -> None:
        self.pending_log.extend(format_event(e, self.wall_offset) for e in events)
        active = self.controller.active
        link = getattr(active.run, "dashboard", "") if active is not None else ""
        if link and link != self.form.dashboard.toolTip():  # known once the cluster is up
            self.form.show_dashboard(link)
            self.pending_log.append(f"   dask dashboard: {link}")

    @Slot(object)
    def on_run_finished(self, record: RunRecord) -> None:
        self.redraw(force=True)  # the last samples, including the freeze that just ended
        self.progress.finish()
        self.form.show_dashboard("")  # the cluster closed with its run
        history = list(self.results.records)
        self.results.add(record)
        self.costs.add(record)
        self.frames.current = None
        self.readback.setText(readback(record, history))
        self.lessons.show_lesson(lesson_for(record))
        self.lessons.show_example(record.backend)
        self.banner_for = self.selection()  # the read-back stays until the selection changes
        self.pending_log.append(finished_line(record))
        self.pending_log.extend(f"   error: {e}" for e in record.errors[:5])
        self._flush_log()
        # Collect this run's garbage now, between runs: a collection that starts in
        # the middle of one, while threads compete for the GIL, stalls the GUI thread.
        gc.collect()
        if not self.controller.busy and not self.controller.queue:
            self.frames.timer.stop()
            self.state_label.setText("idle")
            self.plots.readout.clear()  # "the last second" is over
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
        self.bars.setMinimumWidth(scene_min_width(self.bars))  # its titles changed
        if comparison.done and comparison.records:
            self.readback.setText(compare_summary(comparison.records))
            self.lessons.show_lesson(compare_lesson(comparison.records[0].workload))
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
        """A frame now; ``force`` draws the plots even while the GUI thread is starved."""
        self.frames.redraw(force)

    def _flush_log(self) -> None:
        """Append the pending lines to the log: once a frame, and at a run's end or error."""
        self.log.flush()

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
        self.frames.draw_cpu(time.perf_counter())
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
            self.frames.stop()
            self.alive.ball.timer.stop()
            self.form.python.stop_asking()
            self.controller.shutdown()
        event.accept()  # type: ignore[attr-defined]
