"""The app's asyncio loop is Qt's own event loop (qasync).

With it, ``asyncio.get_running_loop()`` works in every slot of the GUI
thread, and coroutines, timers, sockets and widgets share one loop: what the
``asyncio`` back end shows. Both functions use qasync's documented API.
"""

from __future__ import annotations

import asyncio
import os

from PySide6.QtCore import QCoreApplication

os.environ.setdefault("QT_API", "pyside6")  # which binding qasync picks


def run(app: QCoreApplication) -> int:
    """Run ``app``'s event loop as the running asyncio loop until the app quits.

    Used instead of ``app.exec()``; returns its exit code.
    """
    import qasync

    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with loop:  # closes the loop (and its default executor) once Qt's loop ends
        return int(loop.run_forever())


def attach(app: QCoreApplication) -> asyncio.AbstractEventLoop:
    """Mark ``app``'s event loop, run by someone else (pytest-qt's waits, a
    nested ``QEventLoop``), as the GUI thread's running asyncio loop for good."""
    import qasync

    loop = qasync.QEventLoop(app, already_running=True)
    asyncio.set_event_loop(loop)
    return loop
