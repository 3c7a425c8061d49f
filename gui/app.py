"""Starting the window: settings, look, --run / --compare / --screenshot, clean signals.

Qt is imported inside functions: ``gui.cli`` imports this module lazily, and a
spawned worker must never pay for Qt.
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import socket
import sys
import tempfile
import threading
import time
from argparse import Namespace
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from gui.window import MainWindow

#: Let a run's first probe samples and paints settle before --run / --compare start it.
START_DELAY_MS = 300
#: View > Theme: "system" follows the desktop (or ``UNFREEZE_THEME``).
THEMES = ("system", "light", "dark")
#: A screenshot's size unless --size says otherwise.
SCREENSHOT_SIZE = (1400, 900)


def settings(path: str | None = None) -> QSettings:
    """The app's settings: ``path`` (or ``UNFREEZE_SETTINGS``) as an INI file, else the
    user's own (organisation and app "unfreeze")."""
    from PySide6.QtCore import QSettings

    path = path or os.environ.get("UNFREEZE_SETTINGS")
    if path:
        return QSettings(path, QSettings.Format.IniFormat)
    return QSettings("unfreeze", "unfreeze")


def theme_choice(settings: QSettings) -> str:
    """The theme picked in View > Theme last time ("system" if none)."""
    theme = str(settings.value("view/theme", "system"))
    return theme if theme in THEMES else "system"


def is_dark(app: QApplication, theme: str = "system") -> bool:
    """``theme`` if it is "dark" or "light"; for "system", ``UNFREEZE_THEME=dark|light``
    if set, else the system's colour scheme."""
    from PySide6.QtCore import Qt

    if theme in ("dark", "light"):
        return theme == "dark"
    forced = os.environ.get("UNFREEZE_THEME", "").lower()
    if forced in ("dark", "light"):
        return forced == "dark"
    return app.styleHints().colorScheme() == Qt.ColorScheme.Dark


def apply_theme(app: QApplication, theme: str = "system") -> bool:
    """Fusion with a light or dark palette (see is_dark), and pyqtgraph's colours to match."""
    import pyqtgraph as pg
    from PySide6.QtGui import QColor, QPalette

    dark = is_dark(app, theme)
    palette = app.style().standardPalette()
    if dark:
        role = QPalette.ColorRole
        for r, colour in (
            (role.Window, "#2b2b2b"),
            (role.WindowText, "#e6e6e6"),
            (role.Base, "#1f1f1f"),
            (role.AlternateBase, "#2a2a2a"),
            (role.ToolTipBase, "#333333"),
            (role.ToolTipText, "#e6e6e6"),
            (role.Text, "#e6e6e6"),
            (role.Button, "#353535"),
            (role.ButtonText, "#e6e6e6"),
            (role.BrightText, "#ff5252"),
            (role.Link, "#64b5f6"),
            (role.Highlight, "#2f80ed"),
            (role.HighlightedText, "#ffffff"),
            (role.PlaceholderText, "#8a8a8a"),
            (role.Mid, "#4a4a4a"),
        ):
            palette.setColor(r, QColor(colour))
        for r in (role.Text, role.WindowText, role.ButtonText):
            palette.setColor(QPalette.ColorGroup.Disabled, r, QColor("#7a7a7a"))
    app.setPalette(palette)
    pg.setConfigOptions(
        background=palette.base().color(),
        foreground="#d0d0d0" if dark else "#333333",
        antialias=False,
    )
    return dark


def make_app() -> QApplication:
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("unfreeze")
    app.setOrganizationName("unfreeze")
    app.setStyle("Fusion")
    apply_theme(app)
    return app  # type: ignore[return-value]


def install_signal_handlers(window: MainWindow) -> Callable[[], None]:
    """SIGTERM / SIGINT close the window cleanly; returns the function that undoes this.

    Python runs its signal handlers only when the interpreter gets control,
    and Qt may sit in C for ever. ``set_wakeup_fd`` makes the C-level handler
    write a byte to a socket that a QSocketNotifier watches: the event loop
    wakes, runs a Python slot, and the handler runs. No polling timer.
    """
    from PySide6.QtCore import QSocketNotifier, QTimer

    reader, writer = socket.socketpair()
    reader.setblocking(False)
    writer.setblocking(False)
    signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
    notifier = QSocketNotifier(reader.fileno(), QSocketNotifier.Type.Read, window)

    def drain() -> None:  # same-thread receiver: a plain function is safe here
        with contextlib.suppress(OSError):
            reader.recv(64)

    def on_signal(signum: int, frame: object) -> None:
        # Python runs this between two bytecodes of the GUI thread, even inside a
        # task that freezes it: the task stops at its next chunk, then the close runs.
        window.controller.interrupt()
        QTimer.singleShot(0, window, window.close)

    notifier.activated.connect(drain)
    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}

    def uninstall() -> None:
        notifier.setEnabled(False)
        signal.set_wakeup_fd(-1)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        reader.close()
        writer.close()

    return uninstall


def run_app(args: Namespace) -> int:
    """Show the window, act on the command line, run until it closes; the exit code."""
    headless = sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    )
    if headless and "QT_QPA_PLATFORM" not in os.environ:
        if not args.screenshot:
            print("unfreeze: no display found (set DISPLAY, or use --screenshot)", file=sys.stderr)
            return 1
        os.environ["QT_QPA_PLATFORM"] = "offscreen"  # a screenshot needs no screen

    if args.python:
        from workers.fields import SpecError, check_python

        try:  # a bad path, or a back end that cannot run elsewhere, is said before any window
            workload, backend = args.run or ("cpu-python", "threading")
            check_python(args.python, backend, workload)
        except SpecError as exc:
            print(f"unfreeze: {exc}", file=sys.stderr)
            return 2

    from PySide6.QtCore import QCoreApplication, QEvent, QTimer

    from gui import asyncloop
    from gui.layout import raise_panel
    from gui.window import MainWindow

    app = make_app()
    with contextlib.ExitStack() as stack:
        path = None
        if args.screenshot and not os.environ.get("UNFREEZE_SETTINGS"):
            # A screenshot starts from the defaults and leaves the user's settings alone.
            folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="unfreeze-"))
            path = os.path.join(folder, "settings.ini")
        window = MainWindow(settings(path))
        if args.python:
            window.form.python.set_path(args.python)
        # Destroyed on the way out (after the signal handlers are gone, before the
        # temp folder), while Python is whole. Left to the interpreter's exit,
        # PySide destroys it from destroyQCoreApplication, and pyqtgraph's Python
        # overrides, called back as its items come apart, segfaulted (seen: 6 in
        # 25 Ctrl+C exits with a busy neighbour). deleteLater alone never runs
        # once the loop has returned.
        stack.callback(QCoreApplication.sendPostedEvents, None, QEvent.Type.DeferredDelete)
        stack.callback(window.deleteLater)
        size = args.size or (SCREENSHOT_SIZE if args.screenshot else None)
        if size:
            # The same frame every time, whatever was remembered (a screenshot may be
            # larger than the screen; the window is drawn offscreen then).
            window.resize(*size)
            window.reset_layout()
        window.show()
        if args.view:
            raise_panel(window, args.view)
        # The window's ~75 000 long-lived objects leave the collector's sight: a full
        # collection (which may start mid-run, on the GUI thread) drops from ~22 ms to ~0.
        gc.collect()
        gc.freeze()
        stack.callback(install_signal_handlers(window))
        code = 0

        if getattr(args, "scheduler", None):
            window.form.scheduler.setText(args.scheduler)
        workload = args.run[0] if args.run else None
        if args.compare:
            QTimer.singleShot(START_DELAY_MS, window, lambda: window.compare_all(workload))
        elif args.run:
            QTimer.singleShot(START_DELAY_MS, window, lambda: window.start_job(*args.run))
        if args.screenshot:

            def shoot() -> None:
                nonlocal code
                if not window.screenshot(args.screenshot):
                    print(f"unfreeze: could not save a PNG to {args.screenshot}", file=sys.stderr)
                    code = 1
                window.close()

            QTimer.singleShot(int(args.after * 1000), window, shoot)
        app.lastWindowClosed.connect(app.quit)
        result = asyncloop.run(app)
    return leave(code or result)


def stuck_threads(grace_s: float = 0.5) -> list[str]:
    """Worker threads still running once every run is closed, after ``grace_s``.

    Python cannot stop a thread stuck in a call that cannot be cancelled (a
    slow DNS lookup, an fsync on a slow disk); it would hold the interpreter's
    exit (pool threads are joined at exit, a QThreadPool waits for its
    runnables when destroyed) or abort it (a running QThread).
    """
    from workers.backends import qthread, qthreadpool

    deadline = time.monotonic() + grace_s
    names = []
    for thread in threading.enumerate():
        if thread is threading.current_thread() or thread.daemon:
            continue
        thread.join(max(0.0, deadline - time.monotonic()))
        if thread.is_alive():
            names.append(thread.name)
    names += qthread.stragglers(max(0.0, deadline - time.monotonic()))
    return names + qthreadpool.stragglers(max(0.0, deadline - time.monotonic()))


def leave(code: int) -> int:
    """``code``, or exit with it at once if a worker thread is stuck (see stuck_threads):
    every run is cancelled, every file it wrote is whole or gone, every process ended."""
    stuck = stuck_threads()
    if stuck:
        print(
            f"unfreeze: exiting without waiting for {', '.join(stuck)}, "
            "stuck in a call that cannot be cancelled",
            file=sys.stderr,
        )
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code
