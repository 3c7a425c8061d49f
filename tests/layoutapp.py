"""The window on a screen of a given size, for tests of what fits: run as a child
process, since a process has one set of screens.

    python -m tests.layoutapp WxH SETTINGS [--resize WxH]

opens the window on an offscreen screen of WxH with the settings file SETTINGS
(nothing in it: nothing remembered), optionally resizes it to --resize and
closes it (which saves its geometry), and prints one JSON line of facts: the
screen's available area, the window's frame, and what is cut off.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile


def _screen(width: int, height: int) -> str:
    config = {
        "screens": [
            {"name": "test", "x": 0, "y": 0, "width": width, "height": height, "logicalDpi": 96}
        ]
    }
    fd, path = tempfile.mkstemp(suffix=".json", prefix="unfreeze-screen-")
    with os.fdopen(fd, "w") as f:
        json.dump(config, f)
    return path


def _size(text: str) -> tuple[int, int]:
    w, _, h = text.partition("x")
    return int(w), int(h)


def facts(window) -> dict:
    """What a user would see cut off, or out of reach, in ``window`` as laid out now."""
    from PySide6.QtCore import Qt

    from gui.layout import scene_min_width as _scene_min_width

    def rect(r) -> list[int]:
        return [r.x(), r.y(), r.width(), r.height()]

    cut: list[str] = []
    column = window.job_scroll.widget()
    if column.width() < column.minimumSizeHint().width():
        cut.append(f"Job column {column.width()} px wide, needs {column.minimumSizeHint().width()}")
    for name, view in (("plots", window.plots), ("bars", window.bars)):
        if not view.isVisible():
            continue
        need_w = _scene_min_width(view)
        need_h = view.ci.effectiveSizeHint(Qt.SizeHint.MinimumSize).height()
        if view.width() < need_w or view.height() < need_h:
            cut.append(f"{name} {view.width()}x{view.height()}, needs {need_w}x{need_h:.0f}")
    for name, widget in (
        ("central", window.centralWidget()),
        ("status bar", window.statusBar()),
        ("results", window.results_panel),
        ("lessons", window.lessons),
    ):
        hint = widget.minimumSizeHint()
        if widget.isVisible() and (
            widget.width() < hint.width() or widget.height() < hint.height()
        ):
            cut.append(
                f"{name} {widget.width()}x{widget.height()}, needs {hint.width()}x{hint.height()}"
            )
    label = window.readback
    if label.height() < label.heightForWidth(label.width()):
        cut.append("the banner's text")
    window.job_scroll.ensureWidgetVisible(window.start_button)
    start_seen = window.start_button.visibleRegion().boundingRect().size() == (
        window.start_button.size()
    )
    return {
        "available": rect(window.screen().availableGeometry()),
        "frame": rect(window.frameGeometry()),
        "size": [window.width(), window.height()],
        "cut": cut,
        "start_seen": start_seen,
        "lessons_area": window.dockWidgetArea(window.lessons_dock).name,
    }


def main() -> None:
    width, height = _size(sys.argv[1])
    settings_path = sys.argv[2]
    resize = _size(sys.argv[4]) if sys.argv[3:4] == ["--resize"] else None
    config = _screen(width, height)
    os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={config}"
    try:
        from PySide6.QtCore import QSettings
        from PySide6.QtWidgets import QApplication

        from gui.app import make_app
        from gui.window import MainWindow

        make_app()
        window = MainWindow(QSettings(settings_path, QSettings.Format.IniFormat))
        if resize:
            window.resize(*resize)
        window.show()
        QApplication.processEvents()
        print(json.dumps(facts(window)), flush=True)
        window.close()
    finally:
        os.unlink(config)


if __name__ == "__main__":
    main()
