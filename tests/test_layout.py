"""The window on a laptop: it fits the screen, its panels come back, every action
stays in reach, the fields explain themselves, and the log and table follow the news."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import json
import subprocess
import sys
import time

import pytest
from PySide6.QtCore import QPoint, QSettings, Qt
from PySide6.QtWidgets import QAbstractButton, QApplication, QMenu

from gui.app import make_app
from gui.compare import compare_eta
from gui.controls import GUI_THREAD_WORKERS_TIP, URLS_SET_TIP
from gui.layout import default_dock_sizes, fit
from gui.log import LOG_LINES
from gui.window import MainWindow
from tests.helpers import dispose
from tests.test_window import click, job, record
from workers.names import ALL_WORKLOADS, BACKENDS, backends_for

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def layout(screen: str, settings: str, resize: str | None = None) -> dict:
    """The window's facts on an offscreen screen of size ``screen`` (tests/layoutapp.py)."""
    args = [sys.executable, "-m", "tests.layoutapp", screen, settings]
    if resize:
        args += ["--resize", resize]
    env = {**os.environ, "PYTHONPATH": ROOT}
    env.pop("QT_QPA_PLATFORM", None)
    proc = subprocess.run(args, capture_output=True, text=True, timeout=120, env=env, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def inside(inner: list[int], outer: list[int]) -> bool:
    x, y, w, h = inner
    ox, oy, ow, oh = outer
    return ox <= x and oy <= y and x + w <= ox + ow and y + h <= oy + oh


# -- fitting the screen -----------------------------------------------------------
@pytest.mark.parametrize("screen", ["1280x800", "1024x768"])
def test_with_nothing_remembered_the_window_fits_the_screen_and_nothing_is_cut(
    tmp_path, screen
) -> None:
    """The window was 1400 x 900 on any screen: on a 1280 x 800 laptop its right and
    bottom edges (Lessons, the bars, the status bar) were off the screen."""
    seen = layout(screen, str(tmp_path / "settings.ini"))
    assert inside(seen["frame"], seen["available"]), seen
    assert seen["cut"] == [], seen["cut"]
    assert seen["start_seen"]
    # Narrow, Lessons becomes a tab beside Results: the plots need the width.
    wide = int(screen.split("x")[0]) >= 1200
    assert seen["lessons_area"] == ("RightDockWidgetArea" if wide else "BottomDockWidgetArea")


def test_a_window_remembered_on_a_bigger_screen_is_shrunk_to_fit(tmp_path) -> None:
    settings = str(tmp_path / "settings.ini")
    big = layout("1440x900", settings, resize="1420x880")
    assert big["size"] == [1420, 880]
    seen = layout("1280x800", settings)  # Qt alone restores it 2 px past the edges
    assert inside(seen["frame"], seen["available"]), seen
    assert seen["cut"] == []


def test_a_dock_dragged_wide_never_cuts_the_plots_or_the_bars(qtbot, window) -> None:
    """pyqtgraph lays a scene out at its own minimum width and cuts off the rest."""
    from gui.layout import scene_min_width as _scene_min_width

    window.resize(1280, 800)
    window.reset_layout()
    window.resizeDocks([window.lessons_dock], [900], Qt.Orientation.Horizontal)
    window.resizeDocks([window.job_dock], [900], Qt.Orientation.Horizontal)
    window.results_panel.setSizes([2000, 1])
    qtbot.waitUntil(lambda: window.lessons_dock.width() > 300, timeout=3000)
    assert window.plots.width() >= _scene_min_width(window.plots)
    assert window.bars.width() >= _scene_min_width(window.bars)


def test_fit_shrinks_and_moves_a_rectangle_into_the_available_area() -> None:
    from PySide6.QtCore import QMargins, QRect

    frame = QMargins(8, 40, 8, 8)
    available = QRect(0, 0, 1280, 800)
    assert fit(QRect(0, 0, 1400, 900), available, frame) == QRect(8, 40, 1264, 752)
    assert fit(QRect(600, 500, 800, 400), available, frame) == QRect(472, 392, 800, 400)
    assert fit(QRect(100, 100, 800, 600), available, frame) == QRect(100, 100, 800, 600)


def test_the_job_column_scrolls_on_a_short_window_and_start_stays_in_reach(qtbot, window) -> None:
    window.resize(1100, 560)
    qtbot.waitUntil(lambda: window.job_scroll.viewport().height() < 500, timeout=5000)
    column, bar = window.job_scroll.widget(), window.job_scroll.verticalScrollBar()
    assert column.height() >= column.minimumSizeHint().height()  # squeezed, nothing is
    assert bar.maximum() > 0  # it scrolls instead
    bar.setValue(bar.maximum())
    window.job_scroll.ensureWidgetVisible(window.start_button)
    assert window.start_button.visibleRegion().boundingRect().size() == window.start_button.size()


# -- the Run menu: Start, Cancel, Compare all without the Job dock ----------------------
def active(qtbot, win: MainWindow) -> None:
    win.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is win, timeout=5000)


def close_button(dock) -> QAbstractButton:
    return next(b for b in dock.findChildren(QAbstractButton) if b.isVisible())


def test_with_the_job_dock_closed_keys_and_the_run_menu_still_start_and_cancel(
    qtbot, window
) -> None:
    job(window, "cpu-native", "threading", workers=2, tasks=4, size="400MB")
    click(qtbot, close_button(window.job_dock))
    assert window.job_dock.isHidden()
    active(qtbot, window)
    assert [a.text() for a in window.run_menu.actions()] == ["&Start", "&Cancel", "Compare &all"]
    shortcuts = {a.text(): [k.toString() for k in a.shortcuts()] for a in window.run_menu.actions()}
    assert shortcuts == {
        "&Start": ["Ctrl+R", "F5"],
        "&Cancel": ["Esc"],
        "Compare &all": ["Ctrl+Shift+R"],
    }
    with qtbot.waitSignal(window.controller.run_started, timeout=20_000):
        qtbot.keyClick(window, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    assert window.start_action.text() == "&Queue" and window.cancel_action.isEnabled()
    with qtbot.waitSignal(window.controller.run_finished, timeout=10_000) as finished:
        qtbot.keyClick(window, Qt.Key.Key_Escape)
    assert finished.args[0].cancelled > 0
    assert window.start_action.text() == "&Start" and not window.cancel_action.isEnabled()
    with qtbot.waitSignal(window.controller.run_finished, timeout=20_000):
        qtbot.keyClick(window, Qt.Key.Key_F5)
        qtbot.waitUntil(lambda: window.controller.active is not None, timeout=20_000)
        window.cancel()


def test_the_run_actions_follow_the_forms_validity(qtbot, window) -> None:
    job(window, "cpu-native", "threading", size="lots")
    assert not window.start_action.isEnabled() and not window.compare_action.isEnabled()
    window.form.size.clear()
    qtbot.keyClicks(window.form.size, "8MB")
    assert window.start_action.isEnabled() and window.compare_action.isEnabled()


# -- the View menu: theme, reset layout ----------------------------------------------
def choose(qtbot, window: MainWindow, *path: str) -> None:
    """Open the menu bar's menu ``path[0]`` and click down ``path`` with the mouse."""
    bar = window.menuBar()
    menu_action = next(a for a in bar.actions() if a.text().replace("&", "") == path[0])
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.actionGeometry(menu_action).center())
    menu: QMenu = menu_action.menu()
    qtbot.waitUntil(menu.isVisible, timeout=3000)
    for text in path[1:]:
        action = next(a for a in menu.actions() if a.text().replace("&", "") == text)
        qtbot.mouseClick(menu, Qt.MouseButton.LeftButton, pos=menu.actionGeometry(action).center())
        if action.menu() is not None:
            menu = action.menu()
            qtbot.waitUntil(menu.isVisible, timeout=3000)
    qtbot.waitUntil(lambda: QApplication.activePopupWidget() is None, timeout=3000)


def test_the_theme_is_chosen_in_the_view_menu_and_remembered(qtbot, tmp_path) -> None:
    make_app()
    app = QApplication.instance()
    path = str(tmp_path / "s.ini")
    first = MainWindow(QSettings(path, QSettings.Format.IniFormat))
    first.show()
    try:
        active(qtbot, first)
        choose(qtbot, first, "View", "Theme", "Dark")
        assert app.palette().window().color().lightness() < 80
        assert first.plots.backgroundBrush().color().lightness() < 80
        checked = [a.text() for a in first.theme_actions.actions() if a.isChecked()]
        assert checked == ["Dark"]
    finally:
        dispose(first)
    second = MainWindow(QSettings(path, QSettings.Format.IniFormat))
    second.show()
    try:
        assert app.palette().window().color().lightness() < 80  # remembered
        active(qtbot, second)
        choose(qtbot, second, "View", "Theme", "Light")
        assert app.palette().window().color().lightness() > 180
        assert second.plots.backgroundBrush().color().lightness() > 180
    finally:
        dispose(second)
    assert QSettings(path, QSettings.Format.IniFormat).value("view/theme") == "light"


def test_reset_layout_puts_every_dock_back_in_its_place(qtbot, window) -> None:
    window.resize(1300, 850)
    job_width, lessons_width, results_height = default_dock_sizes(1300, 850)
    # Rearranged as a user might: Job dragged right and widened, Lessons floated,
    # Results closed with its button.
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, window.job_dock)
    window.resizeDocks([window.job_dock], [450], Qt.Orientation.Horizontal)
    window.lessons_dock.setFloating(True)
    click(qtbot, close_button(window.results_dock))
    qtbot.waitUntil(lambda: window.job_dock.width() > 400, timeout=3000)
    assert window.results_dock.isHidden()
    active(qtbot, window)
    choose(qtbot, window, "View", "Reset layout")
    qtbot.waitUntil(lambda: window.results_dock.isVisible(), timeout=3000)
    assert not window.lessons_dock.isFloating() and window.lessons_dock.isVisible()
    areas = {d.windowTitle(): window.dockWidgetArea(d).name for d in
             (window.job_dock, window.lessons_dock, window.results_dock)}  # fmt: skip
    assert areas == {
        "Job": "LeftDockWidgetArea",
        "Lessons": "RightDockWidgetArea",
        "Results": "BottomDockWidgetArea",
    }
    qtbot.waitUntil(lambda: window.job_dock.width() == job_width, timeout=3000)
    assert window.lessons_dock.width() == lessons_width
    assert abs(window.results_dock.height() - results_height) <= 2


# -- the form -------------------------------------------------------------------------
def pick(qtbot, combo, text: str) -> None:
    """Choose ``text`` in a combo box with the keyboard, as a user may."""
    combo.setFocus()
    while combo.currentText() != text:
        before = combo.currentIndex()
        qtbot.keyClick(combo, Qt.Key.Key_Down)
        if combo.currentIndex() == before:  # at the end: back to the top
            for _ in range(combo.count()):
                qtbot.keyClick(combo, Qt.Key.Key_Up)


def three_workers_then_gui_thread(qtbot, window):
    """cpu-native on threading with 3 workers typed, then gui-thread picked: the form."""
    form = window.form
    pick(qtbot, form.workload, "cpu-native")
    pick(qtbot, form.backend, "threading")
    form.workers.setFocus()
    form.workers.selectAll()
    qtbot.keyClicks(form.workers, "3")
    pick(qtbot, form.backend, "gui-thread")
    return form


def test_gui_thread_shows_one_worker_greyed_and_says_why(qtbot, window) -> None:
    form = three_workers_then_gui_thread(qtbot, window)
    assert form.workers.value() == 1 and not form.workers.isEnabled()
    assert form.workers.toolTip() == GUI_THREAD_WORKERS_TIP
    pick(qtbot, form.backend, "qthread")
    assert form.workers.value() == 3 and form.workers.isEnabled()  # the user's number is back
    assert form.workers.toolTip() != GUI_THREAD_WORKERS_TIP


def test_compare_all_from_gui_thread_runs_the_others_on_the_workers_chosen_for_them(
    qtbot, window
) -> None:
    """Compare all from a form on gui-thread ran every back end on the 1 worker shown."""
    three_workers_then_gui_thread(qtbot, window)
    with qtbot.waitSignal(window.controller.run_started, timeout=20_000) as started:
        click(qtbot, window.compare_button)
    assert {s.backend: s.workers for s in window.compare_flow.comparison.specs} == dict.fromkeys(
        backends_for("cpu-native"), 3
    )
    assert started.args[0].run.workers == 1  # gui-thread: one, whatever was asked
    with qtbot.waitSignal(window.controller.run_finished, timeout=20_000):
        click(qtbot, window.cancel_button)


def test_a_gui_thread_job_remembers_the_workers_typed_for_other_back_ends(qtbot, tmp_path) -> None:
    make_app()
    path = str(tmp_path / "s.ini")
    first = MainWindow(QSettings(path, QSettings.Format.IniFormat))
    try:
        job(first, "cpu-python", "threading", workers=5)
        first.form.backend.setCurrentText("gui-thread")
    finally:
        dispose(first)
    second = MainWindow(QSettings(path, QSettings.Format.IniFormat))
    try:
        assert second.form.workers.value() == 1 and not second.form.workers.isEnabled()
        pick(qtbot, second.form.backend, "threading")
        assert second.form.workers.value() == 5
    finally:
        dispose(second)


def test_urls_grey_out_the_local_servers_latency_and_rate(qtbot, window) -> None:
    form = window.form
    pick(qtbot, form.workload, "download")
    assert form.latency.isEnabled() and form.rate.isEnabled()
    form.urls.setFocus()
    qtbot.keyClicks(form.urls, "http://example.com/a")
    for field in (form.latency, form.rate):
        assert not field.isEnabled() and field.toolTip() == URLS_SET_TIP
    form.urls.selectAll()
    qtbot.keyClick(form.urls, Qt.Key.Key_Delete)
    assert form.latency.isEnabled() and form.rate.isEnabled()
    assert form.latency.toolTip() != URLS_SET_TIP


# -- the log and the results follow the news -------------------------------------------
def top_line(win: MainWindow) -> str:
    return win.log.cursorForPosition(QPoint(4, 4)).block().text()


def add_lines(win: MainWindow, first: int, count: int) -> None:
    win.pending_log.extend(f"line {i}" for i in range(first, first + count))
    win._flush_log()


def test_the_log_follows_new_lines_unless_the_user_scrolled_up(qtbot, window) -> None:
    log, bar = window.log, window.log.verticalScrollBar()
    add_lines(window, 0, 300)
    assert bar.value() == bar.maximum() > 0  # it follows
    log.setFocus()
    qtbot.keyClick(log, Qt.Key.Key_Home)  # read-only: Home and End scroll to the ends
    for _ in range(3):
        qtbot.keyClick(log, Qt.Key.Key_PageDown)
    reading = top_line(window)
    assert reading.startswith("line ") and bar.value() < bar.maximum()
    add_lines(window, 300, 50)
    assert top_line(window) == reading  # stays where the user is
    qtbot.keyClick(log, Qt.Key.Key_End)
    add_lines(window, 350, 10)
    assert bar.value() == bar.maximum()  # following again
    assert top_line(window) != reading


def test_the_log_still_follows_once_its_dock_is_closed_and_reopened(qtbot, window) -> None:
    """Reopened, the log showed the end of the last line, a line short of the bottom,
    and stopped following."""
    log, bar = window.log, window.log.verticalScrollBar()
    window.pending_log.extend(f"line {i} " + "x" * 300 for i in range(50))
    window._flush_log()
    click(qtbot, close_button(window.job_dock))
    window.pending_log.extend(f"line {i} " + "y" * 300 for i in range(50, 80))
    window._flush_log()
    active(qtbot, window)
    choose(qtbot, window, "View", "Job")
    qtbot.waitUntil(log.horizontalScrollBar().isVisible, timeout=3000)  # laid out again
    add_lines(window, 80, 5)
    assert bar.value() == bar.maximum() and top_line(window) != "line 0"
    assert log.horizontalScrollBar().value() == 0  # the lines' starts, not their ends


def test_a_full_log_stays_on_the_lines_read_while_the_oldest_go(qtbot, window) -> None:
    log = window.log
    add_lines(window, 0, LOG_LINES)
    log.setFocus()
    for _ in range(3):
        qtbot.keyClick(log, Qt.Key.Key_PageUp)
    reading = top_line(window)
    add_lines(window, LOG_LINES, 100)  # the 100 oldest lines go
    assert log.blockCount() == LOG_LINES and log.document().firstBlock().text() == "line 100"
    assert top_line(window) == reading


def test_the_results_table_scrolls_to_the_newest_row(qtbot, window) -> None:
    table = window.results
    for i in range(40):
        table.add(record(BACKENDS[i % len(BACKENDS)], 10.0 + i, 1.0))
    newest = table.proxy.mapFromSource(table.model_.index(39, 0))
    assert table.viewport().rect().intersects(table.visualRect(newest))
    table.sortByColumn(5, Qt.SortOrder.DescendingOrder)  # MB/s: the newest row first
    table.scrollToBottom()
    table.add(record("asyncio", 5.0, 1.0))  # the slowest: the last row
    newest = table.proxy.mapFromSource(table.model_.index(40, 0))
    assert table.viewport().rect().intersects(table.visualRect(newest))


# -- Compare all says how far it is -----------------------------------------------------
def test_cancel_ends_the_compare_all_progress(qtbot, window) -> None:
    job(window, "cpu-native", "threading", workers=2, tasks=4, size="200MB")
    with qtbot.waitSignal(window.controller.run_started, timeout=20_000):
        click(qtbot, window.compare_button)
    assert window.compare_progress.isVisible()
    with qtbot.waitSignal(window.controller.run_finished, timeout=10_000):
        click(qtbot, window.cancel_button)
    assert not window.compare_progress.isVisible()


def test_compare_eta_is_the_runs_left_at_the_mean_time_of_those_done() -> None:
    assert compare_eta(6, 0, 100.0, 100.0, 100.0, guess_s=3.0) == 18.0  # the estimate
    assert compare_eta(6, 2, 100.0, 108.0, 108.0, guess_s=3.0) == 16.0  # 4 s a run
    assert compare_eta(6, 2, 100.0, 108.0, 111.0, guess_s=3.0) == 13.0  # 3 s into the third
    assert compare_eta(6, 5, 100.0, 120.0, 140.0, guess_s=3.0) == 0.0  # never negative


def test_quitting_an_idle_window_is_quick(qtbot, tmp_path) -> None:
    make_app()
    win = MainWindow(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    win.show()
    qtbot.waitUntil(lambda: not win.controller.calibration_pending, timeout=20_000)
    t0 = time.perf_counter()
    try:
        win.close()
        took = time.perf_counter() - t0
    finally:
        dispose(win)
    assert took < 0.5, f"closing an idle window took {took:.2f} s"


@pytest.mark.parametrize("workload", ALL_WORKLOADS)
def test_every_workloads_form_fits_the_job_column_at_1280x800(qtbot, window, workload) -> None:
    """A label as long as "Deposits per worker" widened the form past the Job dock,
    which cut off Defaults, Cancel and Compare all on the right."""
    window.resize(1280, 800)
    window.reset_layout()
    window.form.workload.setCurrentText(workload)
    qtbot.wait(50)  # the dock lays the form out again
    column = window.job_scroll.widget()
    assert column.minimumSizeHint().width() <= window.job_scroll.viewport().width(), workload
    for button in (window.start_button, window.cancel_button, window.compare_button):
        shown = button.visibleRegion().boundingRect().size()
        assert shown == button.size(), (workload, button.text(), shown, button.size())


def test_a_long_read_back_scrolls_in_its_box_from_the_first_line_and_never_moves_the_plots(
    qtbot, window
) -> None:
    """A race's read-back is six lines: in a label four lines high it was cut at the top
    and the bottom. Its box keeps its height (the plots never move) and scrolls."""
    window.resize(1280, 800)
    qtbot.wait(50)
    plots_at = window.plots.geometry()
    box = window.readback.parentWidget().parentWidget()  # the scroll area's viewport's parent
    height = box.height()
    words = "lost 345,165 of 1,200,000 deposits (the balance ended at 854,835); " * 6
    window.readback.setText(words.strip())
    qtbot.wait(50)
    bar = box.verticalScrollBar()
    assert box.height() == height and window.plots.geometry() == plots_at
    assert bar.maximum() > 0 and bar.value() == 0  # more than fits; its first line shown
    assert window.readback.height() > height
    window.readback.setText("Start runs pure-Python work on 2 threads.")
    qtbot.wait(50)
    assert bar.maximum() == 0 and window.plots.geometry() == plots_at
