"""Starting the window: settings, look, --run / --compare / --screenshot, clean signals."""

from __future__ import annotations

import os
import signal
import sys
from argparse import Namespace


def settings():
    """The app's QSettings; ``UNFREEZE_SETTINGS=path`` uses that INI file instead."""
    from PySide6.QtCore import QSettings

    path = os.environ.get("UNFREEZE_SETTINGS")
    if path:
        return QSettings(path, QSettings.Format.IniFormat)
    return QSettings("unfreeze", "unfreeze")


def make_app():
    import pyqtgraph as pg
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("unfreeze")
    app.setOrganizationName("unfreeze")
    app.setStyle("Fusion")  # follows the system's light or dark scheme
    dark = app.palette().window().color().lightness() < 128
    pg.setConfigOptions(
        background=app.palette().base().color(),
        foreground="#ddd" if dark else "#333",
        antialias=False,
    )
    return app


def run_app(args: Namespace) -> int:
    headless = sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    )
    if headless and "QT_QPA_PLATFORM" not in os.environ:
        if not args.screenshot:
            print("unfreeze: no display found (set DISPLAY, or use --screenshot)", file=sys.stderr)
            return 1
        os.environ["QT_QPA_PLATFORM"] = "offscreen"  # a screenshot needs no screen

    from PySide6.QtCore import QTimer

    from gui.window import MainWindow

    app = make_app()
    window = MainWindow(settings())
    if args.screenshot:
        window.resize(1400, 900)  # the same frame every time, whatever was remembered
    window.show()

    # Python runs signal handlers only between bytecodes: a light timer gives
    # it the chance while Qt waits in C, so SIGTERM closes the window cleanly.
    def on_signal(signum: int, frame: object) -> None:
        QTimer.singleShot(0, window.close)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    heartbeat = QTimer(window)
    heartbeat.timeout.connect(lambda: None)
    heartbeat.start(200)

    if args.run:
        workload, backend = args.run
        QTimer.singleShot(300, window, lambda: window.start_job(workload, backend))
    if args.compare:
        QTimer.singleShot(300, window, window.compare_all)
    if args.screenshot:
        path = args.screenshot

        def shoot() -> None:
            window.plots.update()
            if not window.grab().save(path):
                print(f"unfreeze: could not save a screenshot to {path}", file=sys.stderr)
                app.exit(1)
            window.close()

        QTimer.singleShot(int(args.after * 1000), window, shoot)
    app.lastWindowClosed.connect(app.quit)
    code = app.exec()
    window.deleteLater()
    return code
