"""The menu bar and the status bar.

Run holds Start, Cancel and Compare all with their keys: with the Job dock
closed, they are still one click (or key) away. The status bar says what runs,
what waits, how far a Compare all is, and the facts a run depends on (Python,
its GIL, the CPUs, the switch interval, which it also sets).
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable
from functools import partial

from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QDoubleSpinBox,
    QLabel,
    QMainWindow,
    QMenu,
    QStatusBar,
)

from gui.app import THEMES
from gui.compare import CompareProgress
from gui.results import ResultsPanel
from workers.pythons import Interpreter, here
from workers.stats import Ring


def build_file_menu(window: QMainWindow, results: ResultsPanel, lag: Ring | None = None) -> None:
    """File: export the results (and, with the probe's ``lag`` samples, the runs as a
    Chrome trace), quit."""
    file_menu = window.menuBar().addMenu("&File")
    for text, slot in (
        ("Export results as &CSV…", results.export_csv),
        ("Export results as &JSON…", results.export_json),
    ):
        file_menu.addAction(text, slot)
    if lag is not None:
        trace = file_menu.addAction("Export &trace…", partial(results.export_trace, lag))
        trace.setToolTip(
            "The runs in the results as a Chrome trace: open it in ui.perfetto.dev or "
            "chrome://tracing (a lane per worker, a slice per task, the UI lag as a counter)."
        )
    file_menu.addSeparator()
    quit_action = QAction("&Quit", window, shortcut=QKeySequence.StandardKey.Quit)
    quit_action.triggered.connect(window.close)
    file_menu.addAction(quit_action)


def build_run_menu(window: QMainWindow) -> tuple[QMenu, QAction, QAction, QAction]:
    """Run: its menu and its Start, Cancel and Compare all actions, for the window to wire."""
    run_menu = window.menuBar().addMenu("&Run")
    start = QAction("&Start", window)
    start.setShortcuts([QKeySequence("Ctrl+R"), QKeySequence("F5")])
    cancel = QAction("&Cancel", window, shortcut=QKeySequence("Escape"))
    compare = QAction("Compare &all", window, shortcut=QKeySequence("Ctrl+Shift+R"))
    for action in (start, cancel, compare):
        run_menu.addAction(action)
    return run_menu, start, cancel, compare


def build_view_menu(
    window: QMainWindow,
    docks: Iterable[QDockWidget],
    reset_layout: Callable[[], None],
    theme: str,
    on_theme: Callable[[QAction], None],
) -> tuple[QMenu, QActionGroup]:
    """View: show or hide each of ``docks``, reset the layout, and pick a theme
    (``theme`` checked); the menu and the themes' action group."""
    view = window.menuBar().addMenu("&View")
    for dock in docks:
        view.addAction(dock.toggleViewAction())
    reset_action = view.addAction("&Reset layout", reset_layout)
    reset_action.setToolTip("Every panel back in its place, at its first size.")
    view.addSeparator()
    theme_menu = view.addMenu("&Theme")
    themes = QActionGroup(window)
    for name in THEMES:
        action = theme_menu.addAction(name.capitalize())
        action.setCheckable(True)
        action.setChecked(name == theme)
        action.setData(name)
        themes.addAction(action)
    themes.triggered.connect(on_theme)
    return view, themes


def facts_text(other: Interpreter | None = None) -> str:
    """This interpreter and its GIL, and with ``--python`` (``other``) the one the
    threads run in and its GIL, the CPUs, and how processes start."""
    mine = here()
    text = f"{mine.name} · GIL {'on' if mine.gil_enabled else 'off'}"
    if other is not None:
        text += f" · threads: {other.name} · GIL {'on' if other.gil_enabled else 'off'}"
    return f"{text} · {os.cpu_count()} CPUs · processes: spawn"


def build_status(
    bar: QStatusBar,
) -> tuple[QLabel, QLabel, CompareProgress, QDoubleSpinBox, QLabel]:
    """The status bar's run state, queue, Compare all progress, switch interval and the
    facts a run depends on (returned, in that order, for the window to update)."""
    facts = QLabel(facts_text())
    facts.setToolTip(
        "The window's Python and its GIL, and, with the Python field set, the interpreter "
        "the threading and thread-pool back ends' work runs in. Processes are started with "
        "'spawn' (a fresh interpreter); the platform default here is "
        f"'{multiprocessing.get_start_method(allow_none=True) or 'fork'}'."
    )
    state = QLabel("idle")
    queue = QLabel("")
    compare = CompareProgress()
    switch = QDoubleSpinBox(minimum=0.1, maximum=50.0, decimals=1, singleStep=0.5, suffix=" ms")
    # Typed values apply on Enter: typing "10" must not switch to 1 ms on the way.
    switch.setKeyboardTracking(False)
    switch.setToolTip(
        "sys.setswitchinterval: how often a thread holding the GIL is asked to let another "
        "run. Lower it during a pure-Python threaded run and watch the lag read-out above "
        "the plots; the lag plot marks the change."
    )
    bar.addWidget(state)
    bar.addWidget(queue)
    bar.addWidget(compare)
    bar.addPermanentWidget(facts)
    bar.addPermanentWidget(QLabel("switch interval"))
    bar.addPermanentWidget(switch)
    return state, queue, compare, switch, facts
