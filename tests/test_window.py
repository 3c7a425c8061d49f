"""The window, driven as a learner would: click, wait for the numbers, check them."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import csv
import dataclasses
import io
import json
import re
import sys
import threading
import time
from itertools import pairwise

import numpy as np
import psutil
import pytest
from PySide6.QtCore import QSettings, QStandardPaths, Qt
from PySide6.QtWidgets import QApplication

from gui.app import make_app
from gui.export import to_csv, to_json
from gui.frames import STARVED_S, turn_wait_s
from gui.jobs import COMPARE_SERIAL_S, DEFAULTS, compare_spec, validate
from gui.lessons import lesson_for, lesson_key
from gui.readback import compare_summary, freeze_text, preview, readback, seconds_text
from gui.results import COLUMNS
from gui.series import frozen_spans, rate, span_freezes
from gui.style import colour_of
from gui.uicost import frame_costs_ms
from gui.window import MainWindow
from tests.helpers import dispose
from workers.names import ALL_WORKLOADS, HAZARDS, backends_for
from workers.record import RunRecord
from workers.spec import RunSpec
from workers.speed import Speed
from workers.stats import FROZEN_MS

QStandardPaths.setTestModeEnabled(True)  # never the user's real settings


def job(win: MainWindow, workload: str, backend: str, **values: object) -> None:
    form = win.form
    form.workload.setCurrentText(workload)
    form.backend.setCurrentText(backend)
    for name, value in values.items():
        widget = getattr(form, name)
        if hasattr(widget, "setValue"):
            widget.setValue(value)
        elif hasattr(widget, "setPlainText"):
            widget.setPlainText(str(value))
        else:
            widget.setText(str(value))
            widget.editingFinished.emit()  # as leaving the field does


def click(qtbot, button) -> None:
    assert button.isEnabled(), button.text()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def finish(qtbot, win: MainWindow, button, timeout: int = 30_000) -> RunRecord:
    with qtbot.waitSignal(win.controller.run_finished, timeout=timeout) as finished:
        click(qtbot, button)
    return finished.args[0]


# -- runs ---------------------------------------------------------------------
@pytest.mark.parametrize("backend", backends_for("cpu-native"))
def test_start_on_each_backend_gives_a_row_with_the_runs_numbers(qtbot, window, backend) -> None:
    job(window, "cpu-native", backend, workers=2, tasks=3, size="20MB")
    record = finish(qtbot, window, window.start_button)
    qtbot.waitUntil(lambda: len(window.results.records) == 1, timeout=2000)
    assert record.ok and record.done == 3 and record.backend == backend
    assert window.results.records == [record]
    row = {c: window.results.cell(0, c) for c in ("workload", "back end", "workers", "throughput")}
    assert row == {
        "workload": "cpu-native",
        "back end": backend,
        "workers": record.workers,
        "throughput": record.throughput,
    }
    assert window.results.cell(0, "p99") == record.lag_ms["p99"]
    assert window.results.cell(0, "wall s") == record.wall_s
    assert window.results.cell(0, "verified") == "yes"
    assert window.results.cell(0, "outcome") == "done"
    assert "(partial)" not in window.results.cell_text(0, "throughput")
    assert "UI lag p99" in window.readback.text() and "C code" in window.readback.text()
    log = window.log.toPlainText()
    assert "#2   done" in log
    producer = {
        "gui-thread": "MainThread",
        "qthread": "QThread-",
        "threading": "Worker-",
        "thread-pool": "ThreadPoolExecutor-",
        "qthread-pool": "QThreadPool-",
        "multiprocessing": "SpawnProcess-",
        "asyncio": "MainThread",
        "dask": "0-Dask-Default-Threads-",  # worker 0's thread, or worker 1's
    }
    who = producer[backend]
    assert f"done      {who}" in log or f"done      {who.replace('0-', '1-', 1)}" in log
    assert window.progress.bar.value() == 100
    assert window.start_button.text() == "Start" and window.state_label.text() == "idle"


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("size", "12XB", "'12XB' is not a size"),
        ("folder", "/no/such/folder", "does not exist"),
        ("urls", "ftp://example.com/x", "not an http(s) URL"),
    ],
)
def test_invalid_input_disables_start_with_a_message_by_the_field(
    window, field, value, words
) -> None:
    job(window, "download", "threading", **{field: value})
    assert not window.start_button.isEnabled()
    assert not window.compare_button.isEnabled()
    label = window.form.errors[field]
    assert label.text().startswith(f"{field}: ") and words in label.text()
    assert not label.isHidden()
    assert all(other.isHidden() for name, other in window.form.errors.items() if name != field)
    window.start()  # the shortcut's path refuses too
    window.compare_all()
    assert not window.controller.busy and not window.controller.queue


def test_hybrid_on_a_job_it_does_not_take_is_refused_by_the_back_end_field(window) -> None:
    """hybrid splits a pipeline's stages; offered a one-kind job it says so, by its field."""
    job(window, "cpu-python", "hybrid")
    label = window.form.errors["backend"]
    assert not window.start_button.isEnabled() and not label.isHidden()
    assert label.text().startswith("backend: hybrid runs pipeline only"), label.text()
    job(window, "pipeline", "hybrid")
    assert label.isHidden() and window.start_button.isEnabled()


def test_a_folder_is_checked_when_its_field_is_left_not_on_each_keystroke(
    qtbot, window, tmp_path
) -> None:
    """Each keystroke once probed the partial path typed so far, on the GUI thread."""
    job(window, "disk-write", "threading")
    label = window.form.errors["folder"]
    window.form.folder.setFocus()
    qtbot.keyClicks(window.form.folder, str(tmp_path / "no-such"))
    assert label.isHidden() and window.start_button.isEnabled()  # nothing probed yet
    qtbot.keyClick(window.form.folder, Qt.Key.Key_Return)
    assert not label.isHidden() and "does not exist" in label.text()
    assert not window.start_button.isEnabled()
    window.form.folder.clear()
    qtbot.keyClicks(window.form.folder, str(tmp_path))
    qtbot.keyClick(window.form.folder, Qt.Key.Key_Return)
    assert label.isHidden() and window.start_button.isEnabled()


def test_every_bad_field_is_named_and_fixing_them_enables_start(qtbot, window) -> None:
    job(window, "disk-write", "thread-pool", size="lots", folder="/no/such/folder")
    assert not window.start_button.isEnabled()
    shown = {f for f, label in window.form.errors.items() if not label.isHidden()}
    assert shown == {"size", "folder"}
    window.form.size.setText("1MB")
    window.form.folder.setText("")
    assert window.start_button.isEnabled()
    assert all(label.isHidden() for label in window.form.errors.values())


@pytest.mark.parametrize("field", ["workers", "tasks"])
def test_a_zero_typed_in_workers_or_tasks_is_refused_with_a_message(qtbot, window, field) -> None:
    """A QSpinBox with minimum 1 took the 0 and silently put the old value back."""
    job(window, "cpu-native", "threading")
    spin = getattr(window.form, field)
    spin.setFocus()
    spin.selectAll()
    qtbot.keyClicks(spin, "0")
    qtbot.keyClick(spin, Qt.Key.Key_Tab)  # leave the field, as a user does
    label = window.form.errors[field]
    # threading takes up to 10 000 workers (MAX_MANY_WORKERS), as many as tasks.
    assert not label.isHidden() and label.text() == f"{field}: must be between 1 and 10000"
    assert not window.start_button.isEnabled() and not window.start_action.isEnabled()
    spin.selectAll()
    qtbot.keyClicks(spin, "2")
    assert label.isHidden() and window.start_button.isEnabled()


def test_cancel_mid_run_stops_within_a_second(qtbot, window, tmp_path) -> None:
    job(window, "cpu-python", "threading", workers=2, tasks=8, size="16MB")
    click(qtbot, window.start_button)
    qtbot.waitUntil(lambda: window.progress.bar.value() > 0, timeout=10_000)
    t0 = time.perf_counter()
    record = finish(qtbot, window, window.cancel_button, timeout=3000)
    took = time.perf_counter() - t0
    assert record.cancelled > 0 and not record.ok
    assert took < 1.0, f"the run ended {took:.2f} s after Cancel"
    assert "cancelled" in window.progress.counts.text()
    # How it ended and whether it verified are two columns; its MB/s is marked partial.
    assert window.results.cell(0, "outcome") == record.outcome == "cancelled"
    assert window.results.cell(0, "verified") == "no"
    assert window.results.cell_text(0, "throughput") == f"{record.throughput:,.1f} MB/s (partial)"
    assert window.results.cell_tip(0, "throughput").startswith("Partial: the run cancelled with ")
    said = window.readback.text()
    assert f"cancelled with {record.done} of {record.tasks} tasks done" in said
    assert f"{record.throughput:,.1f} MB/s (partial)" in said and "×" not in said
    assert f"── cancelled: {record.done} done" in window.log.toPlainText()
    assert "MB/s (partial)" in window.log.toPlainText()
    # The exports say the same: outcome, and ok (the table's "verified").
    panel = window.results_panel
    assert panel.save(str(tmp_path / "r.csv"), to_csv) == ""
    assert panel.save(str(tmp_path / "r.json"), to_json) == ""
    row = next(csv.DictReader(io.StringIO((tmp_path / "r.csv").read_text())))
    assert (row["outcome"], row["ok"]) == ("cancelled", "False")
    assert float(row["throughput"]) == record.throughput
    data = json.loads((tmp_path / "r.json").read_text())[0]
    assert (data["outcome"], data["ok"]) == ("cancelled", False)


def current_lesson(win: MainWindow) -> str:
    return win.lessons.lessons[win.lessons.titles.currentRow()].key


#: Qt's type-ahead search restarts once no key came for keyboardInputInterval (400 ms);
#: the picks set 200 ms, far above the gap between two key presses of keyClicks, and
#: wait that out before each (16 picks waited 7 s at 400).
TYPE_AHEAD_MS = 200


def pick(qtbot, combo, text: str) -> None:
    """Choose ``text`` in a combo box by typing it, as a keyboard user does."""
    interval = QApplication.keyboardInputInterval()
    QApplication.setKeyboardInputInterval(TYPE_AHEAD_MS)
    try:
        combo.setFocus()
        qtbot.wait(TYPE_AHEAD_MS + 50)  # a new search, not a longer one
        qtbot.keyClicks(combo, text)
    finally:
        QApplication.setKeyboardInputInterval(interval)
    assert combo.currentText() == text


def test_after_a_restart_the_banner_describes_the_remembered_job(qtbot, tmp_path) -> None:
    """It said "this job runs on the GUI thread, so the window will freeze" whatever
    back end the settings brought back."""
    make_app()
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    settings.setValue("form/workload", "cpu-python")
    settings.setValue("form/backend", "multiprocessing")
    settings.sync()
    win = MainWindow(settings)
    try:
        said = win.readback.text()
        workers = win.form.workers.value()
        assert said.startswith(f"Start runs pure-Python work on {workers} process")
        assert "GUI thread itself" not in said and "freeze" not in said
        assert said == preview("cpu-python", "multiprocessing", workers)
        assert current_lesson(win) == "processes"
    finally:
        dispose(win)


def test_the_banner_and_lesson_follow_the_selection_as_it_is_made(qtbot, window) -> None:
    form = window.form
    assert window.readback.text() == preview(*window.selection())  # the defaults, at start
    pick(qtbot, form.workload, "disk-write")
    pick(qtbot, form.backend, "asyncio")
    said = window.readback.text()
    assert said.startswith("Start runs disk writes on ") and "coroutines on the GUI thread" in said
    assert "socket" not in said and "stutter" in said
    assert current_lesson(window) == "asyncio"
    pick(qtbot, form.backend, "multiprocessing")
    assert current_lesson(window) == "processes"
    form.workers.setFocus()
    form.workers.selectAll()
    qtbot.keyClicks(form.workers, "3")
    assert window.readback.text().startswith("Start runs disk writes on 3 processes.")
    pick(qtbot, form.workload, "cpu-python")
    pick(qtbot, form.backend, "thread-pool")
    assert "stutter" in window.readback.text() and current_lesson(window) == "gil"
    pick(qtbot, form.backend, "gui-thread")
    said = window.readback.text()
    assert "on the GUI thread itself" in said and "freeze" in said
    assert current_lesson(window) == "gui-thread"


def test_a_runs_readback_stays_until_the_selection_changes(qtbot, window) -> None:
    job(window, "cpu-native", "thread-pool", workers=2, tasks=2, size="40MB")
    with qtbot.waitSignal(window.controller.run_started, timeout=10_000):
        click(qtbot, window.start_button)
    assert window.readback.text().startswith(
        "Running C code that releases the GIL on a pool of 2 threads."
    )
    with qtbot.waitSignal(window.controller.run_finished, timeout=30_000) as finished:
        pass
    record = finished.args[0]
    assert window.readback.text() == readback(record, [])
    assert current_lesson(window) == lesson_for(record)
    window.form.tasks.setFocus()
    qtbot.keyClick(window.form.tasks, Qt.Key.Key_Up)  # 3 tasks: not the selection
    assert window.form.tasks.value() == 3
    assert window.readback.text() == readback(record, [])
    pick(qtbot, window.form.backend, "multiprocessing")  # a new selection: what it will do
    assert window.readback.text() == preview("cpu-native", "multiprocessing", 2)
    assert current_lesson(window) == "processes"
    pick(qtbot, window.form.backend, "thread-pool")  # and back: no run of it to read back
    assert window.readback.text() == preview("cpu-native", "thread-pool", 2)


def test_a_second_start_is_queued_and_says_so(qtbot, window) -> None:
    job(window, "cpu-native", "thread-pool", workers=2, tasks=2, size="200MB")
    click(qtbot, window.start_button)
    assert window.start_button.text() == "Queue"
    click(qtbot, window.start_button)
    assert window.queue_label.text() == "1 queued"
    qtbot.waitUntil(lambda: len(window.results.records) == 2, timeout=20_000)
    assert window.queue_label.text() == "" and window.start_button.text() == "Start"


def test_compare_all_gives_a_row_and_a_bar_per_backend_and_k_of_n_as_it_goes(qtbot, window) -> None:
    job(window, "cpu-native", "threading", workers=2, tasks=2, size="8MB")
    cpu_backends = backends_for("cpu-native")  # hybrid runs the pipeline only
    n = len(cpu_backends)
    seen: list[str] = []  # the progress bar's text as each run ended
    window.controller.compared.connect(lambda c: seen.append(window.compare_progress.text()))
    click(qtbot, window.compare_button)
    bar = window.compare_progress
    assert bar.isVisible() and re.fullmatch(rf"Compare all 0 of {n} · ETA ~\d+ s", bar.text())
    with qtbot.waitSignal(window.controller.run_started, timeout=20_000):
        pass
    assert re.fullmatch(rf"Compare all 0 of {n} · ETA ~\d+ s", bar.text())
    qtbot.waitUntil(lambda: len(window.results.records) == n, timeout=60_000)
    qtbot.waitUntil(lambda: not bar.isVisible(), timeout=5000)
    # As each run ended: k of n, then the end (the bar is gone, the time is said).
    assert [re.sub(r"ETA ~\d+ s", "ETA", s) for s in seen[:-1]] == [
        f"Compare all {k} of {n} · ETA" for k in range(1, n)
    ]
    assert re.fullmatch(rf"Compare all: {n} runs in \d+\.\d s", window.statusBar().currentMessage())
    assert [r.backend for r in window.results.records] == list(cpu_backends)
    throughput, lag = window.bars.bars
    assert list(throughput.opts["width"]) == [r.throughput for r in window.results.records]
    assert list(lag.opts["width"]) == [r.lag_ms["p99"] for r in window.results.records]
    assert window.readback.text().startswith("Compare all on cpu-native")
    assert len(window.plots.traces) == len(cpu_backends)
    # The bars name and colour each back end as the table, the legend and the curves do.
    assert window.bars.names == [
        window.results.cell(r, "back end") for r in range(len(cpu_backends))
    ]
    assert window.bars.names == list(cpu_backends)
    assert [t.colour for t in window.plots.traces] == list(throughput.opts["brushes"])
    assert [t.colour for t in window.plots.traces] == [colour_of(b) for b in cpu_backends]
    legend = window.plots.legend.text()
    for backend in cpu_backends[window.plots.earlier :]:
        assert backend.replace("-", "\u2011") in legend and colour_of(backend) in legend


def settled(window: MainWindow) -> bool:
    """The window's first paints are done: the probe's last 20 samples are quick."""
    _, lag = window.controller.probe.samples.arrays()
    return len(lag) >= 20 and lag[-20:].max() < 30


def test_lag_plot_alive_under_processes_and_frozen_on_the_gui_thread(qtbot, window) -> None:
    qtbot.waitUntil(lambda: settled(window), timeout=5000)
    job(window, "cpu-python", "multiprocessing", workers=2, tasks=4, size="4MB")
    record = finish(qtbot, window, window.start_button)
    alive = window.plots.traces[0]
    assert len(alive.lag.xData) > 20  # the probe kept ticking while processes worked
    assert alive.lag.xData.max() >= record.work_s * 0.8

    job(window, "cpu-python", "gui-thread", tasks=3, size="6MB")
    record = finish(qtbot, window, window.start_button)
    trace = window.plots.traces[1]
    # The same work on the GUI thread is the yardstick: frozen throughout there,
    # at most a stray stall of a busy machine under processes (none when quiet).
    assert alive.frozen_s < 0.25 * trace.frozen_s, (alive.spans, trace.frozen_s)
    assert trace.lag.yData.max() >= FROZEN_MS  # one sample spans each frozen task
    assert trace.spans and trace.frozen_s >= 0.1
    start, end, frozen = trace.spans[0]
    assert end - start >= 0.1 and frozen >= 0.1
    assert trace.bands.path().boundingRect().width() >= end - start  # drawn
    labelled = [s for s in trace.spans if s[2] >= 0.25]
    assert trace.labels[0].toPlainText().startswith(f"frozen {seconds_text(labelled[0][2])}")
    start, end, _ = labelled[0]
    assert start <= trace.labels[0].pos().x() <= end  # placed over its band, not at 0
    assert record.lag_ms["max"] >= FROZEN_MS
    # Two numbers, named alike everywhere: the total time frozen, the longest freeze.
    total_s, longest_s = record.lag_ms["frozen"] / 1000, record.lag_ms["max"] / 1000
    assert trace.frozen_s == pytest.approx(total_s, abs=1e-3)  # the bands add up to the record
    assert max(longest for _, longest in trace.freezes) == pytest.approx(longest_s, abs=1e-3)
    words = freeze_text(total_s, longest_s)
    assert words in window.readback.text()
    assert words in window.log.toPlainText().splitlines()[-1]
    tip = trace.bands.toolTip()
    assert f"frozen {seconds_text(total_s)} in total" in tip
    assert f"longest freeze {seconds_text(longest_s)}" in tip
    bands = [f for f, span in zip(trace.freezes, trace.spans, strict=True) if span[2] >= 0.25]
    for label, (count, longest) in zip(trace.labels, bands, strict=False):
        if count > 1:  # a band of back-to-back freezes names its longest too
            assert f"longest freeze {seconds_text(longest)}" in label.toPlainText()


def test_plots_pause_while_threads_hold_the_gil_and_catch_up_after(qtbot, window) -> None:
    """Two frames in a row that find the GUI thread starved draw nothing; the notice
    says why; after the run the whole of it is drawn. The job outlasts a busy
    machine's wait for the first starved frame (there, threads that wait for a core
    hand the GIL back late, and the GUI thread often finds it free); then cancelled."""
    frames: list[tuple[bool, int]] = []  # after each frame: notice up?, lag points drawn

    def on_frame() -> None:
        trace = window.trace
        drawn = 0 if trace is None or trace.lag.xData is None else len(trace.lag.xData)
        frames.append((window.plots.paused.isVisible(), drawn))

    def two_paused_in_a_row() -> bool:
        return any(a[0] and b[0] for a, b in pairwise(frames))

    window.frames.timer.timeout.connect(on_frame)  # after the frame's own slot
    job(window, "cpu-python", "threading", workers=2, tasks=160, size="2MB")
    click(qtbot, window.start_button)
    qtbot.waitUntil(two_paused_in_a_row, timeout=25_000)
    assert "threads hold the GIL" in window.plots.paused.text()
    paused_pairs = [(a, b) for a, b in pairwise(frames) if a[0] and b[0]]
    assert all(a[1] == b[1] for a, b in paused_pairs), frames  # nothing drawn meanwhile
    record = finish(qtbot, window, window.cancel_button)
    assert not window.plots.paused.isVisible()
    trace = window.plots.traces[-1]
    assert trace.lag.xData.max() >= record.work_s * 0.8  # the whole run, drawn


def test_the_paused_notice_blames_the_gil_only_for_threads_that_share_it(window) -> None:
    window.plots.show_paused(0.0123, gil=False)  # a process run on a busy machine
    said = window.plots.paused.text()
    assert "12 ms" in said and "GIL" not in said and "CPU is busy" in said
    window.plots.show_paused(0.0051, gil=True)
    assert "5.1 ms" in window.plots.paused.text() and "GIL" in window.plots.paused.text()


def test_turn_wait_tells_gil_contention_from_quiet() -> None:
    """Most of 20 looks agree (another program may preempt a few, on a busy machine)."""

    def starved_looks() -> int:
        return sum(turn_wait_s() > STARVED_S for _ in range(20))

    assert starved_looks() <= 5
    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():
            pass

    threads = [threading.Thread(target=spin) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        assert starved_looks() >= 15
    finally:
        stop.set()
        for t in threads:
            t.join()


def test_closing_during_a_run_leaves_nothing_behind(qtbot, window) -> None:
    job(window, "cpu-python", "multiprocessing", workers=2, tasks=8, size="16MB")
    click(qtbot, window.start_button)
    qtbot.waitUntil(lambda: window.progress.bar.value() > 0, timeout=15_000)
    assert psutil.Process().children()
    t0 = time.perf_counter()
    window.close()
    assert time.perf_counter() - t0 < 3.0
    names = {t.name for t in threading.enumerate()}
    assert not any(n.startswith(("Worker-", "ThreadPoolExecutor", "pool-launcher")) for n in names)
    qtbot.waitUntil(lambda: not _workers(), timeout=3000)


def _workers() -> list[psutil.Process]:
    out = []
    for p in psutil.Process().children(recursive=True):
        try:
            if p.status() != psutil.STATUS_ZOMBIE and "resource_tracker" not in " ".join(
                p.cmdline()
            ):
                out.append(p)
        except psutil.Error:
            continue
    return out


# -- results, settings ----------------------------------------------------------
def test_results_sort_by_number_and_export_to_csv_and_json(qtbot, window, tmp_path) -> None:
    for mbps in (9.5, 10.2, 100.0):
        window.results.add(record("thread-pool", mbps, 1.0))
    column = [c.name for c in COLUMNS].index("throughput")
    window.results.sortByColumn(column, Qt.SortOrder.DescendingOrder)
    assert [window.results.cell(r, "throughput") for r in range(3)] == [100.0, 10.2, 9.5]
    window.results.sortByColumn(column, Qt.SortOrder.AscendingOrder)
    assert [window.results.cell(r, "throughput") for r in range(3)] == [9.5, 10.2, 100.0]

    panel = window.results_panel
    assert panel.save(str(tmp_path / "r.csv"), to_csv) == ""
    assert panel.save(str(tmp_path / "r.json"), to_json) == ""
    lines = (tmp_path / "r.csv").read_text().splitlines()
    assert len(lines) == 4 and lines[1].startswith("cpu-python,thread-pool,4,")
    assert "lag_p99_ms" in lines[0]
    data = json.loads((tmp_path / "r.json").read_text())
    assert [d["throughput"] for d in data] == [9.5, 10.2, 100.0]
    assert [d["outcome"] for d in data] == ["done"] * 3 and all(d["ok"] for d in data)
    assert [r["outcome"] for r in csv.DictReader(io.StringIO("\n".join(lines)))] == ["done"] * 3
    error = panel.save(str(tmp_path / "missing" / "r.csv"), to_csv)
    assert error.startswith("could not export") and "no such file" in error
    assert error in window.log.toPlainText() and error in window.statusBar().currentMessage()
    assert not list((tmp_path).glob(".unfreeze-*"))  # no temp file left behind


def test_settings_are_remembered(qtbot, tmp_path) -> None:
    make_app()
    path = str(tmp_path / "s.ini")
    first = MainWindow(QSettings(path, QSettings.Format.IniFormat))
    try:
        job(first, "disk-write", "asyncio", tasks=5, size="3MB")
        job(first, "cpu-native", "qthread", size="64MB")
        first.switch.setValue(2.5)
        assert sys.getswitchinterval() == pytest.approx(0.0025)
        first.results_dock.hide()
    finally:
        dispose(first)
    second = MainWindow(QSettings(path, QSettings.Format.IniFormat))
    try:
        form = second.form
        assert form.workload.currentText() == "cpu-native"
        assert form.backend.currentText() == "qthread" and form.size.text() == "64MB"
        form.workload.setCurrentText("disk-write")  # the values typed for it come back
        assert form.tasks.value() == 5 and form.size.text() == "3MB"
        form.workload.setCurrentText("download")  # never touched: its defaults
        assert form.size.text() == DEFAULTS["download"]["size"]
        assert second.switch.value() == 2.5
        assert second.results_dock.isHidden()
    finally:
        dispose(second)
        sys.setswitchinterval(0.005)


def test_the_look_follows_the_systems_colour_scheme(window, monkeypatch) -> None:
    app = QApplication.instance()
    monkeypatch.setenv("UNFREEZE_THEME", "dark")
    window.on_color_scheme(Qt.ColorScheme.Dark)
    try:
        assert app.palette().window().color().lightness() < 80
        assert window.plots.backgroundBrush().color().lightness() < 80
    finally:
        monkeypatch.setenv("UNFREEZE_THEME", "light")
        window.on_color_scheme(Qt.ColorScheme.Light)
    assert app.palette().window().color().lightness() > 180
    assert window.plots.backgroundBrush().color().lightness() > 180


def test_plot_frame_benchmark_times_each_frame_and_leaves_the_plots_as_they_were(window) -> None:
    plots = window.plots
    items = [list(plot.items) for plot in (plots.lag_plot, plots.tp_plot, plots.cpu_plot)]
    costs = frame_costs_ms(plots, runs=2, points=2000, frames=3)
    assert len(costs) == 3  # one per frame: the bench reports their median and spread
    assert plots.traces == []
    assert [list(plot.items) for plot in (plots.lag_plot, plots.tp_plot, plots.cpu_plot)] == items


def test_live_curves_are_drawn_with_1_px_cosmetic_pens(window) -> None:
    """Catches a 2 px pen: ~10x the cost of a frame in software rendering."""
    plots = window.plots
    plots.add_run("cpu-python on threading", time.perf_counter())
    curves = [
        c for plot in (plots.lag_plot, plots.tp_plot, plots.cpu_plot) for c in plot.listDataItems()
    ]
    assert len(curves) >= 4  # lag and throughput of the run, CPU per core
    for curve in curves:
        pen = curve.opts["pen"]
        assert pen.isCosmetic() and pen.widthF() <= 1, (curve, pen.widthF())


# -- plain functions (no Qt) ------------------------------------------------------
def record(backend: str, mbps: float, p99: float, workload: str = "cpu-python", **kw) -> RunRecord:
    lag = {"p50": 1.0, "p95": 2.0, "p99": p99, "max": p99, "over_50": 0.0, "samples": 10}
    lag |= {"frozen": p99 if p99 > FROZEN_MS else 0.0, "freezes": int(p99 > FROZEN_MS)}
    workers = 1 if backend == "gui-thread" else 4
    base = RunRecord(
        workload, backend, workers, 8, 1, True, 8, 0, 0, 1.0, 0.0, 1.0, 1, mbps, "MB/s", lag
    )
    return dataclasses.replace(base, **({"switch_interval_ms": 5.0} | kw))


def test_readback_reads_the_numbers_back() -> None:
    serial = record("gui-thread", 25.0, 190.0)
    text = readback(record("threading", 25.0, 131.0), [serial])
    assert text == (
        "4 threads on pure-Python work: 1.0× the throughput of one (gui-thread), "
        "UI lag p99 131 ms, frozen 0.13 s in total, longest freeze 0.13 s — the GIL lets one "
        "thread run Python at a time, the GUI thread included, so 4 threads were no faster; "
        "the window froze at times waiting its turn."
    )
    fast = readback(record("multiprocessing", 50.0, 0.3), [serial])
    assert "2.0× the throughput of one" in fast and "UI lag p99 0.3 ms" in fast
    assert "cores worked at once" in fast and "kept up" in fast
    assert "froze" in readback(serial, [])
    assert readback(serial, []).startswith("The GUI thread on pure-Python work: 25.0 MB/s")
    # No serial run: the previous run of the same job is the yardstick.
    other = readback(record("multiprocessing", 50.0, 0.3), [record("threading", 25.0, 100)])
    assert "2.0× the throughput of threading (4 workers)" in other
    assert "at once" not in other  # 2× threads that share a GIL is not proof of parallel cores
    # Runs of another workload, or of another size, are never compared.
    alone = readback(record("threading", 25.0, 1, workload="download"), [serial])
    assert "25.0 MB/s" in alone and "network" in alone
    assert "×" not in readback(record("threading", 50.0, 1, size=2), [serial])
    switch = record("threading", 25.0, 20.0, switch_interval_ms=1.0)
    assert "1 ms switch interval" in readback(switch, [serial])
    cancelled = record("threading", 5.0, 3.0, ok=False, done=3, cancelled=5)
    assert readback(cancelled, []) == (
        "4 threads on pure-Python work: cancelled with 3 of 8 tasks done; "
        "5.0 MB/s (partial), UI lag p99 3.0 ms."
    )
    failed = record("thread-pool", 5.0, 3.0, ok=False, done=7, failed=1, errors=("task 2: boom",))
    assert "failed with 7 of 8 tasks done, 1 failed (task 2: boom); 5.0 MB/s (partial)" in (
        readback(failed, [])
    )


def test_disk_writes_on_asyncio_are_read_back_as_blocking_the_loop() -> None:
    """They were read back as "while one coroutine waits for its socket, the loop serves
    the others": there is no socket, and each write blocks the loop (measured: lag p50
    45 ms, max 232 ms)."""
    lag = {"p50": 45.0, "p95": 120.0, "p99": 180.0, "max": 232.0, "frozen": 1400.0}
    disk = dataclasses.replace(record("asyncio", 900.0, 1.0, workload="disk-write"), lag_ms=lag)
    said = readback(disk, [])
    assert "socket" not in said and "kept up" not in said
    assert "files have no async API" in said and "so the window froze" in said
    assert "frozen 1.4 s in total, longest freeze 0.23 s" in said


def test_lessons_and_compare_summary() -> None:
    assert lesson_for(record("gui-thread", 1, 1)) == "gui-thread"
    assert lesson_for(record("threading", 1, 1)) == "gil"
    assert lesson_for(record("threading", 1, 1, switch_interval_ms=1.0)) == "switch-interval"
    assert lesson_for(record("multiprocessing", 1, 1)) == "processes"
    assert lesson_for(record("thread-pool", 1, 1, workload="download")) == "pools"
    assert lesson_for(record("qthread-pool", 1, 1, workload="download")) == "pools"
    assert lesson_for(record("qthread-pool", 1, 1)) == "gil"  # pure Python: the GIL's lesson
    assert lesson_key("disk-write", "asyncio") == "asyncio"
    runs = [record("gui-thread", 25, 380), record("multiprocessing", 50, 0.4)]
    text = compare_summary(runs)
    assert "highest throughput multiprocessing (50.0 MB/s)" in text
    assert "lowest UI lag p99 multiprocessing (0.4 ms)" in text
    assert "gui-thread froze the window: frozen 0.38 s in total, longest freeze 0.38 s" in text
    slow = [record("threading", 25, 300), record("thread-pool", 20, 200)]
    assert "smooth" not in compare_summary(slow)  # the lowest p99 here is 200 ms


def test_the_form_shows_only_the_fields_the_workload_has(qtbot) -> None:
    from gui.controls import JobForm

    form = JobForm(Speed())
    qtbot.addWidget(form)
    form.backend.setCurrentText("threading")  # gui-thread's Workers tip says why it shows 1
    widgets = {
        "tasks": form.tasks, "latency_ms": form.latency, "rate_mbps": form.rate,
        "urls": form.urls, "folder": form.folder, "fsync": form.fsync, "guard": form.guard,
        "limit": form.limit, "depth": form.depth, "items": form.items, "transfer": form.transfer,
    }  # fmt: skip
    expected = {
        "download": {"tasks", "latency_ms", "rate_mbps", "urls", "folder", "limit"},
        "disk-write": {"tasks", "folder", "fsync"},
        "cpu-python": {"tasks"},
        "cpu-native": {"tasks"},
        "queue": {"depth", "items"},  # its tasks follow from the workers
        "pipeline": {"tasks", "latency_ms", "rate_mbps", "folder", "fsync"},
        "race": {"guard"},
        "deadlock": {"guard"},
    }
    assert set(expected) == set(ALL_WORKLOADS)
    for workload, fields in expected.items():
        form.workload.setCurrentText(workload)
        shown = {name for name, widget in widgets.items() if not widget.isHidden()}
        labelled = {
            name
            for name, widget in widgets.items()
            if (label := form.form.labelForField(widget)) is not None and not label.isHidden()
            and label.text()
        }  # fmt: skip
        assert shown == fields and labelled <= fields, workload
        assert set(form.raw()) == {"workload", "backend", "workers", "size"} | fields, workload
        assert not form.workers.isHidden() and not form.size.isHidden()
    assert form.size_label.text() == "&Rounds" and "one task each" in form.workers.toolTip()
    form.workload.setCurrentText("queue")
    assert form.size_label.text() == "&Item size"
    form.workload.setCurrentText("cpu-python")
    assert form.size_label.text() == "&Size per task" and "one task" not in form.workers.toolTip()
    form.backend.setCurrentText("multiprocessing")  # CPU work on processes: Transfer too
    assert not form.transfer.isHidden() and form.raw()["transfer"] == "pickle"
    form.workload.setCurrentText("download")
    assert form.transfer.isHidden() and "transfer" not in form.raw()


def test_validate_names_every_bad_field() -> None:
    spec, errors = validate({"workload": "cpu-python", "backend": "threading", "size": "12XB"})
    assert spec is None and set(errors) == {"size"}
    raw = {"workload": "download", "backend": "asyncio", "size": "x", "urls": ["ftp://a"]}
    spec, errors = validate(raw | {"tasks": 0})
    assert spec is None and set(errors) == {"size", "urls", "tasks"}
    spec, errors = validate({"workload": "cpu-native", "backend": "qthread", "size": "1MB"})
    assert errors == {} and spec is not None and spec.size == 1_000_000


def test_compare_all_shrinks_a_long_job_to_its_budget_and_keeps_every_task() -> None:
    speed = Speed()  # the project machine's speeds, unloaded
    for workload, values in DEFAULTS.items():
        spec, errors = validate({"workload": workload, "backend": "gui-thread", **values})
        assert spec is not None, errors
        long = spec.with_(tasks=16, size=spec.size * 4)  # well over the budget
        small = compare_spec(long, speed)
        if workload in HAZARDS:  # counts of deposits or rounds, not bytes: left as they are
            assert small == long
            continue
        if workload == "queue":  # fewer items; their size and the queue's are the lesson's
            assert (small.size, small.depth) == (long.size, long.depth), workload
            assert small.items < long.items, workload
        else:
            assert small.tasks == long.tasks and small.size < long.size, workload
        assert speed.serial_seconds(small) == pytest.approx(COMPARE_SERIAL_S, rel=0.05), workload
    tiny = RunSpec("cpu-native", "threading", 2, 2, 8_000_000)
    assert compare_spec(tiny, speed) == tiny
    urls = RunSpec("download", "threading", 2, 2, 10**9, urls=("http://h/a", "http://h/b"))
    assert compare_spec(urls, speed) == urls  # their size is the server's, not ours to shrink


def test_frozen_spans_merge_back_to_back_freezes() -> None:
    t = np.array([0.01, 0.02, 0.83, 1.64, 1.65, 3.0])
    lag = np.array([0.1, 0.1, 800.0, 800.0, 0.2, 300.0])
    spans = frozen_spans(t, lag)
    assert len(spans) == 2
    (a0, b0, s0), (a1, b1, s1) = spans
    assert (a0, b0) == pytest.approx((0.03, 1.64)) and s0 == pytest.approx(1.6)
    assert (a1, b1, s1) == pytest.approx((2.7, 3.0, 0.3))
    assert frozen_spans(t, np.zeros(6)) == []
    # The first band is two freezes of 0.8 s: frozen 1.6 s in total, 0.8 s at the longest.
    assert span_freezes(t, lag, spans) == [(2, pytest.approx(0.8)), (1, pytest.approx(0.3))]


def test_rate_is_mb_per_second_over_a_trailing_window() -> None:
    t = np.arange(0, 2.01, 0.1)
    units = t * 50e6  # 50 MB/s
    assert rate(t, units)[5:] == pytest.approx(50.0)
    assert rate(np.array([0.0]), np.array([0.0])).tolist() == [0.0]


def test_the_cpu_plot_sees_the_core_a_frozen_gui_thread_keeps_busy(qtbot, window) -> None:
    """Sampled on the GUI thread, the CPU plot had no sample at all during a freeze."""
    job(window, "cpu-python", "gui-thread", tasks=2, size="24MB")  # two ~1 s freezes
    starts: list[float] = []
    window.controller.run_started.connect(lambda active: starts.append(active.state.t_start))
    record = finish(qtbot, window, window.start_button)
    assert record.lag_ms["max"] >= 500  # it froze
    t, v = window.cpu.samples()
    during = v[(t >= starts[0]) & (t <= starts[0] + record.wall_s)]
    assert len(during) >= record.wall_s / 0.25 / 2, (len(during), record.wall_s)
    assert during.max() >= 70  # one core flat out: the GUI thread's


def test_a_hazards_hint_on_the_gui_thread_counts_tasks_in_turn_not_workers(window) -> None:
    """Workers shows 1 there: "4 workers" beside it would be false."""
    job(window, "race", "threading", workers=4)
    assert window.form.hint.text().startswith("4 workers × ")
    window.form.backend.setCurrentText("gui-thread")
    assert window.form.workers.value() == 1
    assert window.form.hint.text().startswith("4 tasks in turn × "), window.form.hint.text()
