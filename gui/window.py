"""The main window: the job form, live plots, progress, log, results, lessons."""

from __future__ import annotations

import datetime
import multiprocessing
import os
import platform
import sys
import time

import numpy as np
import psutil
from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer, Slot
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from gui.alive import BouncingBall, TaskGrid
from gui.controller import Active, RunController
from gui.lessons import lesson_markdown, readback
from gui.plots import CompareBars, LivePlots, Trace
from gui.results import ResultsTable, save_text, to_csv, to_json
from workers.core import Event
from workers.record import RunRecord
from workers.spec import BACKENDS, RunSpec
from workers.stats import Ring

PLOT_MS = 33  # ≤ 30 Hz: plots redraw on this timer, never per event
CPU_MS = 500


class MainWindow(QMainWindow):
    def __init__(self, settings: QSettings) -> None:
        super().__init__()
        self.settings = settings
        self.setWindowTitle("unfreeze — why a Qt window freezes")
        self.controller = RunController(self)
        self.trace: Trace | None = None
        self.current: Active | None = None  # the run on screen; outlives the controller's
        self.compare_left = 0
        self.compare_records: list[RunRecord] = []
        self.pending_log: list[str] = []

        self._build()
        self._wire()
        self.form.restore(settings)
        self.switch.setValue(
            float(settings.value("switch_interval_ms", sys.getswitchinterval() * 1000))
        )
        geometry = settings.value("geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        else:
            self.resize(1400, 900)
        self.on_form_changed()

    # -- layout -------------------------------------------------------------
    def _build(self) -> None:
        from gui.controls import JobForm

        self.form = JobForm()
        self.start_button = QPushButton("Start")
        self.start_button.setToolTip(
            "Start the job (Ctrl+R). While a run goes, further jobs are queued."
        )
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Cancel the running job and the queued ones (Esc).")
        self.compare_button = QPushButton("Compare all")
        self.compare_button.setToolTip(
            "Run this job on every back end in turn (Ctrl+Shift+R), then compare the bars."
        )
        self.clear_button = QPushButton("Clear plots")
        buttons = QHBoxLayout()
        for b in (self.start_button, self.cancel_button, self.compare_button):
            buttons.addWidget(b)

        self.ball = BouncingBall()
        self.typing = QLineEdit(placeholderText="Type here during a run…")
        self.typing.setToolTip("If your typing does not appear, the GUI thread is frozen.")
        self.progress = QProgressBar()
        self.progress.setFormat("%p%")
        self.counts = QLabel("idle")
        self.grid = TaskGrid()

        left = QVBoxLayout()
        left.addWidget(self.form)
        left.addLayout(buttons)
        left.addWidget(QLabel("<b>Is the GUI thread alive?</b>"))
        left.addWidget(self.ball)
        left.addWidget(self.typing)
        left.addWidget(QLabel("<b>Progress</b>"))
        left.addWidget(self.progress)
        left.addWidget(self.counts)
        left.addWidget(self.grid, 1)
        left.addWidget(self.clear_button)
        left_panel = QWidget()
        left_panel.setLayout(left)
        left_panel.setMaximumWidth(360)

        self.plots = LivePlots(os.cpu_count() or 1)
        self.results = ResultsTable()
        self.bars = CompareBars()
        results_split = QSplitter(Qt.Orientation.Horizontal)
        results_split.addWidget(self.results)
        results_split.addWidget(self.bars)
        results_split.setSizes([520, 380])
        self.log = QPlainTextEdit(readOnly=True)
        self.log.setMaximumBlockCount(5000)
        tabs = QTabWidget()
        tabs.addTab(results_split, "Results")
        tabs.addTab(self.log, "Log")
        self.tabs = tabs
        center = QSplitter(Qt.Orientation.Vertical)
        center.addWidget(self.plots)
        center.addWidget(tabs)
        center.setSizes([560, 300])

        self.readback = QLabel("Start a job, then another on a different back end, and compare.")
        self.readback.setWordWrap(True)
        self.readback.setStyleSheet("font-weight: bold; padding: 4px;")
        self.readback.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.readback.setMinimumHeight(110)
        lessons = QTextBrowser()
        lessons.setMarkdown(lesson_markdown())
        right = QVBoxLayout()
        right.addWidget(QLabel("<b>What this run says</b>"))
        right.addWidget(self.readback)
        right.addWidget(QLabel("<b>Lessons</b>"))
        right.addWidget(lessons, 1)
        right_panel = QWidget()
        right_panel.setLayout(right)
        right_panel.setMaximumWidth(300)

        main = QSplitter(Qt.Orientation.Horizontal)
        main.addWidget(left_panel)
        main.addWidget(center)
        main.addWidget(right_panel)
        main.setStretchFactor(1, 1)
        self.setCentralWidget(main)

        self._build_menu()
        self._build_status()

    def _build_menu(self) -> None:
        menu = self.menuBar().addMenu("&File")
        for text, slot in (
            ("Export results as &CSV…", self.export_csv),
            ("Export results as &JSON…", self.export_json),
        ):
            action = QAction(text, self)
            action.triggered.connect(slot)
            menu.addAction(action)
        quit_action = QAction("&Quit", self, shortcut=QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        menu.addAction(quit_action)

    def _build_status(self) -> None:
        bar = self.statusBar()
        gil = getattr(sys, "_is_gil_enabled", lambda: True)()
        facts = (
            f"{platform.python_implementation()} {platform.python_version()} · "
            f"GIL {'on' if gil else 'off'} · {os.cpu_count()} CPUs · processes: spawn "
            f"(default here: {multiprocessing.get_start_method(allow_none=True) or 'fork'})"
        )
        self.state_label = QLabel("idle")
        bar.addWidget(self.state_label, 1)
        bar.addPermanentWidget(QLabel(facts))
        self.switch = QDoubleSpinBox(
            minimum=0.1, maximum=50.0, decimals=1, singleStep=0.5, suffix=" ms"
        )
        self.switch.setToolTip(
            "sys.setswitchinterval: how often a thread holding the GIL is asked to let another run. "
            "Lower it during a pure-Python threaded run and watch the lag plot."
        )
        bar.addPermanentWidget(QLabel("switch interval"))
        bar.addPermanentWidget(self.switch)

    def _wire(self) -> None:
        c = self.controller
        c.run_started.connect(self.on_run_started)
        c.updated.connect(self.on_events)
        c.run_finished.connect(self.on_run_finished)
        c.queue_changed.connect(self.on_queue)
        c.error.connect(self.on_run_failed_to_start)
        self.form.changed.connect(self.on_form_changed)
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.compare_button.clicked.connect(self.compare_all)
        self.clear_button.clicked.connect(self.clear_plots)
        self.switch.valueChanged.connect(self.on_switch)
        for keys, slot in (
            ("Ctrl+R", self.start),
            ("F5", self.start),
            ("Escape", self.cancel),
            ("Ctrl+Shift+R", self.compare_all),
        ):
            QShortcut(QKeySequence(keys), self, activated=slot)
        self.plot_timer = QTimer(self)
        self.plot_timer.setInterval(PLOT_MS)
        self.plot_timer.timeout.connect(self.on_plot_frame)
        self.cpu_t = Ring(240)
        self.cpu_v = np.zeros((240, os.cpu_count() or 1))
        psutil.cpu_percent(percpu=True)  # the first reading only primes the counters
        self.cpu_timer = QTimer(self)
        self.cpu_timer.setInterval(CPU_MS)
        self.cpu_timer.timeout.connect(self.on_cpu)
        self.cpu_timer.start()

    # -- actions ------------------------------------------------------------
    @Slot()
    def on_form_changed(self) -> None:
        ok = self.form.spec() is not None
        self.start_button.setEnabled(ok)
        self.compare_button.setEnabled(ok)
        self.start_button.setText("Queue" if self.controller.busy else "Start")

    @Slot()
    def start(self) -> None:
        spec = self.form.spec()
        if spec is not None:
            self.controller.submit(spec)

    def start_job(self, workload: str, backend: str) -> None:
        """Select ``workload`` on ``backend`` with its defaults, and start it."""
        self.form.workload.setCurrentText(workload)
        self.form.on_workload(workload)
        self.form.backend.setCurrentText(backend)
        self.start()

    @Slot()
    def cancel(self) -> None:
        self.compare_left = 0
        self.controller.cancel()

    @Slot()
    def compare_all(self) -> None:
        spec = self.form.spec()
        if spec is None:
            return
        self.compare_records = []
        self.compare_left = len(BACKENDS)
        for backend in BACKENDS:
            self.controller.submit(spec.with_(backend=backend))

    @Slot()
    def clear_plots(self) -> None:
        self.plots.clear_runs()
        self.trace = None

    @Slot(float)
    def on_switch(self, ms: float) -> None:
        sys.setswitchinterval(ms / 1000)
        self.settings.setValue("switch_interval_ms", ms)

    # -- controller -> view ---------------------------------------------------
    @Slot(object)
    def on_run_started(self, active: Active) -> None:
        spec: RunSpec = active.spec
        label = f"{spec.workload} · {spec.backend}"
        self.current = active
        self.trace = self.plots.add_run(label, active.state.t_start)
        self.state_label.setText(f"running {label} ({active.run.workers} workers)")
        self.pending_log.append(f"{self._stamp()} run started: {label}, {spec.tasks} tasks")
        self.progress.setValue(0)
        self.plot_timer.start()
        self.on_form_changed()

    @Slot(object)
    def on_events(self, events: list[Event]) -> None:
        for e in events:
            where = f"{e.worker} (pid {e.pid}, tid {e.tid})"
            text = f"task {e.task} {e.kind} on {where}"
            if e.kind == "done" and e.detail:
                text += f": {e.detail[:24]}"
            elif e.detail:
                text += f": {e.detail}"
            self.pending_log.append(f"{self._stamp(e.t)} {text}")

    @Slot(object)
    def on_run_finished(self, record: RunRecord) -> None:
        self.on_plot_frame()  # the last samples, including the freeze that just ended
        self.current = None
        self.results.add(record)
        history = self.results.records[:-1]
        self.readback.setText(readback(record, history))
        self.pending_log.append(
            f"{self._stamp()} run finished: {record.workload} on {record.backend}: "
            f"{record.throughput:.1f} MB/s, lag p99 {record.lag_ms['p99']:.1f} ms"
            + ("" if record.ok else f"; {'; '.join(record.errors[:3])}")
        )
        self._flush_log()
        if self.compare_left:
            self.compare_records.append(record)
            self.compare_left -= 1
            self.bars.show_records(self.compare_records)
        if not self.controller.busy:
            self.plot_timer.stop()
            self.state_label.setText("idle")
        self.on_form_changed()

    @Slot(int)
    def on_queue(self, waiting: int) -> None:
        self.start_button.setText("Queue" if self.controller.busy or waiting else "Start")
        if waiting:
            self.state_label.setText(
                f"{self.state_label.text().split(' · ')[0]} · {waiting} queued"
            )

    @Slot(str)
    def on_run_failed_to_start(self, message: str) -> None:
        self.compare_left = max(0, self.compare_left - 1)
        self.on_error(message)

    @Slot(str)
    def on_error(self, message: str) -> None:
        self.pending_log.append(f"{self._stamp()} error: {message}")
        self._flush_log()
        self.statusBar().showMessage(message, 10_000)

    @Slot()
    def on_plot_frame(self) -> None:
        active = self.current
        now = time.perf_counter()
        if active is not None and self.trace is not None:
            state = active.state
            self.plots.refresh(
                self.trace, self.controller.probe.samples, state.units_over_time, now
            )
            total = state.total_units
            fraction = state.units / total if total else 0.0
            self.progress.setValue(round(100 * min(fraction, 1.0)))
            elapsed = now - state.t_start
            eta = elapsed * (1 - fraction) / fraction if fraction > 0.01 else None
            self.counts.setText(
                f"{state.count('done')} done · {state.count('failed')} failed · "
                f"{state.count('cancelled')} cancelled · {state.count('started')} running"
                + (f" · ETA {eta:.0f} s" if eta is not None else "")
            )
            fractions = [
                u / t if t else (1.0 if s == "done" else 0.0)
                for u, t, s in zip(state.done_units, state.totals, state.state, strict=True)
            ]
            self.grid.show_state(state.state, [min(f, 1.0) for f in fractions])
        self._flush_log()

    @Slot()
    def on_cpu(self) -> None:
        now = time.perf_counter()
        per_core = psutil.cpu_percent(percpu=True)
        i = self.cpu_t.count % self.cpu_t.capacity
        self.cpu_t.append(now, 0)
        self.cpu_v[i, : len(per_core)] = per_core
        t, _ = self.cpu_t.arrays()
        n = len(t)
        order = np.arange(self.cpu_t.count - n, self.cpu_t.count) % self.cpu_t.capacity
        self.plots.refresh_cpu(t, self.cpu_v[order], now)

    # -- helpers ------------------------------------------------------------
    def _flush_log(self) -> None:
        if self.pending_log:
            self.log.appendPlainText("\n".join(self.pending_log))
            self.pending_log.clear()

    @staticmethod
    def _stamp(t: float | None = None) -> str:
        wall = time.time() - (time.perf_counter() - t if t is not None else 0.0)
        return datetime.datetime.fromtimestamp(wall).strftime("%H:%M:%S.%f")[:-3]

    def _export(self, kind: str, render) -> None:
        if not self.results.records:
            self.statusBar().showMessage("No results to export yet.", 5000)
            return
        path, _ = QFileDialog.getSaveFileName(
            self, f"Export results as {kind}", f"unfreeze-results.{kind.lower()}"
        )
        if path:
            self.save_results(path, render)

    def save_results(self, path: str, render) -> bool:
        try:
            save_text(path, render(self.results.records))
        except OSError as exc:
            self.on_error(f"could not export to {path}: {exc.strerror or exc}")
            return False
        self.statusBar().showMessage(f"Saved {len(self.results.records)} results to {path}", 5000)
        return True

    @Slot()
    def export_csv(self) -> None:
        self._export("CSV", to_csv)

    @Slot()
    def export_json(self) -> None:
        self._export("JSON", to_json)

    def closeEvent(self, event) -> None:
        self.form.save(self.settings)
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.sync()
        self.plot_timer.stop()
        self.cpu_timer.stop()
        self.ball.timer.stop()
        self.controller.shutdown()
        event.accept()
