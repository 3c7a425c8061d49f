"""Where the panels sit, and how big the window and its docks are.

The window must fit a laptop's screen as well as a desktop's: its first size,
a remembered size and the docks' default sizes are all worked out here from
the screen's available area, apart from the widgets they size.
"""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import QMargins, QRect, QSize, Qt
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import (
    QDockWidget,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLayout,
    QMainWindow,
    QPushButton,
    QScrollArea,
    QTabBar,
    QVBoxLayout,
    QWidget,
)

from gui.costs import CostsPanel
from gui.plots import LivePlots
from gui.timeline import TimelinePanel

#: The window's size when nothing is remembered, if the screen has room for it.
PREFERRED_SIZE = QSize(1400, 900)
#: Room left around the window for its frame and title bar, which Qt only knows once
#: it is shown: a window the size of the available area would overflow it.
FRAME_ALLOWANCE = QMargins(8, 40, 8, 8)
#: Narrower than this, the Lessons dock sits with Results (as a tab) by default: the
#: plots' titles and axes need ~560 px beside the Job dock.
WIDE_PX = 1200


def fit(rect: QRect, available: QRect, frame: QMargins = FRAME_ALLOWANCE) -> QRect:
    """``rect`` (a window's inner geometry) shrunk and moved so that, with a
    ``frame`` around it, it lies within ``available`` (a screen without its panels)."""
    room = available.marginsRemoved(frame)
    width, height = min(rect.width(), room.width()), min(rect.height(), room.height())
    x = min(max(rect.x(), room.left()), room.left() + room.width() - width)
    y = min(max(rect.y(), room.top()), room.top() + room.height() - height)
    return QRect(x, y, width, height)


def preferred_geometry(available: QRect) -> QRect:
    """The first geometry of a window on a screen with ``available`` room: PREFERRED_SIZE
    at its top left, or what of it fits."""
    return fit(QRect(available.topLeft(), PREFERRED_SIZE), available)


def fit_window(window: QMainWindow) -> None:
    """Shrink (and move) ``window`` into its screen's available area if it overflows."""
    if window.windowState() & (Qt.WindowState.WindowMaximized | Qt.WindowState.WindowFullScreen):
        return  # the window system sizes those to the screen
    fitted = fit(window.geometry(), window.screen().availableGeometry())
    if fitted != window.geometry():
        window.setGeometry(fitted)


def default_dock_sizes(width: int, height: int) -> tuple[int, int, int]:
    """The Job and Lessons docks' widths and the Results dock's height, in a window of
    ``width`` x ``height``: a share of it, within what their contents need."""
    return (
        _clamp(0.24 * width, 290, 340),
        _clamp(0.21 * width, 220, 300),
        _clamp(0.36 * height, 200, 300),
    )


def add_dock(
    window: QMainWindow, title: str, widget: QWidget, area: Qt.DockWidgetArea
) -> QDockWidget:
    """``widget`` in a dock of ``window`` that can be closed and moved, not floated."""
    dock = QDockWidget(title, window, objectName=title.lower())
    dock.setWidget(widget)
    dock.setFeatures(
        QDockWidget.DockWidgetFeature.DockWidgetClosable
        | QDockWidget.DockWidgetFeature.DockWidgetMovable
    )
    window.addDockWidget(area, dock)
    return dock


def add_timeline(window: QMainWindow) -> tuple[TimelinePanel, QDockWidget]:
    """The Timeline and its dock (with Results, see :func:`reset_docks`). Its frames are
    drawn only while its tab is the one shown: the dock says when (visibilityChanged)."""
    panel = TimelinePanel()
    dock = add_dock(window, "Timeline", panel, Qt.DockWidgetArea.BottomDockWidgetArea)
    dock.visibilityChanged.connect(panel.view.set_on_screen)
    return panel, dock


def raise_panel(window: QMainWindow, name: str) -> None:
    """Bring the dock titled ``name`` (case aside) to the front of its tab group."""
    for dock in window.findChildren(QDockWidget):
        if dock.windowTitle().lower() == name.lower():
            dock.show()
            dock.raise_()
            return
    raise ValueError(f"no panel named {name!r}")


def add_costs(window: QMainWindow) -> tuple[CostsPanel, QDockWidget]:
    """The Costs tab and its dock (with Results, see :func:`reset_docks`)."""
    panel = CostsPanel()
    return panel, add_dock(window, "Costs", panel, Qt.DockWidgetArea.BottomDockWidgetArea)


def reset_docks(
    window: QMainWindow,
    job: QDockWidget,
    lessons: QDockWidget,
    results: QDockWidget,
    *tabs: QDockWidget,
) -> None:
    """Every dock shown, docked in its first place, at its first size (for the
    window's size: narrower than WIDE_PX, Lessons is a tab beside Results). The
    ``tabs`` (Timeline, Costs) are tabs beside Results: the plots need the height."""
    width, height = window.width(), window.height()
    wide = width >= WIDE_PX
    for dock, area in (
        (job, Qt.DockWidgetArea.LeftDockWidgetArea),
        (results, Qt.DockWidgetArea.BottomDockWidgetArea),
        (
            lessons,
            Qt.DockWidgetArea.RightDockWidgetArea
            if wide
            else Qt.DockWidgetArea.BottomDockWidgetArea,
        ),
    ):
        dock.setFloating(False)
        window.addDockWidget(area, dock)  # takes it back from wherever it was dragged
        dock.show()
    for tab in tabs:
        tab.setFloating(False)
        window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, tab)
        window.tabifyDockWidget(results, tab)
        tab.show()
    if not wide:
        window.tabifyDockWidget(results, lessons)
    results.raise_()
    job_w, lessons_w, results_h = default_dock_sizes(width, height)
    docks, widths = [job, lessons], [job_w, lessons_w]
    window.resizeDocks(docks[: 1 + wide], widths[: 1 + wide], Qt.Orientation.Horizontal)
    window.resizeDocks([results], [results_h + _tab_bar_height(window)], Qt.Orientation.Vertical)


def _tab_bar_height(window: QMainWindow) -> int:
    """The height of the tabs under the Results dock, if it has tabs: the dock's size
    given to resizeDocks includes them, and Results must keep its own height."""
    for bar in window.findChildren(QTabBar):
        if any(bar.tabText(i) == "Results" for i in range(bar.count())):
            return bar.sizeHint().height()
    return 0


def job_column(
    form: QWidget, buttons: QLayout, alive: QWidget, progress: QWidget, log: QWidget
) -> QScrollArea:
    """The Job dock's content: the form and its buttons, then the alive, progress and
    log panels, the log taking any height to spare. On a short screen the column
    scrolls rather than squeezing (or hiding) fields."""
    left = QWidget()
    column = QVBoxLayout(left)
    column.addWidget(form)
    column.addLayout(buttons)
    column.addWidget(_group("Is the GUI thread alive?", alive))
    column.addWidget(_group("Progress", progress))
    column.addWidget(_group("Log", log), 1)
    scroll = QScrollArea(widgetResizable=True, frameShape=QFrame.Shape.NoFrame)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    scroll.setWidget(left)
    scroll.setMinimumWidth(
        left.minimumSizeHint().width() + scroll.verticalScrollBar().sizeHint().width()
    )
    return scroll


def plots_area(readback: QLabel, clear_button: QPushButton, plots: LivePlots) -> QWidget:
    """The central widget: the read-back banner and the Clear button, the plots'
    legend and live read-out, and the plots taking the rest."""
    center = QWidget()
    box = QVBoxLayout(center)
    box.setContentsMargins(4, 4, 4, 0)
    top = QHBoxLayout()
    top.addWidget(banner_box(readback), 1)
    top.addWidget(clear_button, 0, Qt.AlignmentFlag.AlignTop)
    box.addLayout(top)
    legend = QHBoxLayout()
    legend.addWidget(plots.legend, 1)
    legend.addWidget(plots.readout, 0, Qt.AlignmentFlag.AlignTop)
    box.addLayout(legend)
    box.addWidget(plots, 1)
    return center


def scene_min_width(view: pg.GraphicsLayoutWidget) -> int:
    """The width under which pyqtgraph cuts ``view``'s scene off: it lays the scene out
    at its own minimum width (titles, axes) even when the view is narrower."""
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


class RunButtons(QHBoxLayout):
    """Start, Cancel and Compare all, side by side under the job form."""

    def __init__(self) -> None:
        super().__init__()
        start, cancel = QPushButton("Start"), QPushButton("Cancel")
        compare = QPushButton("Compare all")
        cancel.setToolTip("Cancel the running job and drop the queued ones (Esc).")
        compare.setToolTip(
            "Run this job on every back end in turn (Ctrl+Shift+R) and compare the bars. "
            "The size per task is scaled down so each serial run lasts about 3 s."
        )
        self.buttons = (start, cancel, compare)
        for button in self.buttons:
            self.addWidget(button)


def banner() -> QLabel:
    """The sentence above the plots: what the selected job will do, or what a run did.

    Its box has a fixed height (four lines of bold text): a new text must never move
    the plots, whose re-layout and repaint run in Python (~1 s under GIL contention).
    A longer read-back scrolls in the box from its first line (``plots_area``)
    instead of being cut at both ends.
    """
    label = QLabel(wordWrap=True, objectName="readback")
    label.setStyleSheet(
        "#readback { font-weight: bold; padding: 6px 10px; "
        "border-left: 4px solid palette(highlight); background: palette(alternate-base); }"
    )
    label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
    return label


def banner_box(label: QLabel) -> QScrollArea:
    """``label`` in a box four bold lines high that scrolls when the text is longer."""
    box = QScrollArea(frameShape=QFrame.Shape.NoFrame, widgetResizable=True)
    box.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    box.setWidget(label)
    bold = QFont(label.font())
    bold.setBold(True)
    box.setFixedHeight(4 * QFontMetrics(bold).lineSpacing() + 14)
    label.setMinimumHeight(box.height())  # a short text fills the box, as its background
    return box
