"""``qthread-signal-per-item``: a pitfall — ``qthread`` with one queued signal
per progress call, as most QThread tutorials write it::

    for item in items:
        work(item)
        self.progress.emit(done)       # queued: one event for the GUI thread per item

Each signal becomes an event in the GUI thread's queue, delivered by a turn of
its event loop to a ``@Slot``: 100 000 items are 100 000 deliveries, ahead of
the user's clicks and the repaints, and they can pile up faster than the GUI
thread takes them, so the window shows progress the work made long ago.

``qthread`` sends at most 50 progress signals a second per task (the
``Reporter`` in ``workers.core``) and the window draws once a frame; this one
sends every call (``interval`` 0). The record counts the signals delivered
(``signals``) and how long after the work ended the last one was applied
(``last_progress_s``).
"""

from __future__ import annotations

from workers.backends.qthread import QThreadRun


class QThreadSignalPerItemRun(QThreadRun):
    backend = "qthread-signal-per-item"
    progress_interval = 0.0
