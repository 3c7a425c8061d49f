"""The event log: one line per worker event, and one per run's start and end.

Events arrive by the hundred per second; appending each to the widget would
relayout it each time. Lines wait in ``pending`` and the frame appends them in
one go. The log follows the newest line unless the user scrolled up to read.
"""

from __future__ import annotations

import time

from PySide6.QtCore import Slot
from PySide6.QtGui import QFontDatabase, QTextCursor
from PySide6.QtWidgets import QPlainTextEdit, QSizePolicy

from gui.jobs import job_text
from gui.pitfalls import measured_text
from gui.readback import lag_text, speed_text
from workers.core import Event
from workers.record import RunRecord
from workers.spec import RunSpec

LOG_LINES = 5000


def format_event(e: Event, wall_offset: float) -> str:
    """One log line: when, which task, what happened, and who did it (thread or process)."""
    stamp = time.strftime("%H:%M:%S", time.localtime(e.t + wall_offset))
    ms = int((e.t + wall_offset) % 1 * 1000)
    line = f"{stamp}.{ms:03d} #{e.task:<3} {e.kind:<9} {e.worker} · pid {e.pid} tid {e.tid}"
    if e.detail:
        line += f": {e.detail}"
    return line


def started_line(n: int, spec: RunSpec, workers: int) -> str:
    """The log's first line of run ``n``: what runs where, on how many workers."""
    return f"── run {n}: {spec.workload} on {spec.backend}, {workers} workers, {job_text(spec)} ──"


def finished_line(record: RunRecord) -> str:
    """The log's last line of a run: how it ended, its counts and the numbers the
    read-back quotes (a partial throughput says so; a freeze gives its total and
    its longest, as the band labels do); then, where the back end measured
    something of its own, a line with it: the events handled inside its tasks
    (processEvents), or the Qt signals delivered and how late the last one was."""
    said = measured_text(record).strip()
    return (
        f"── {'finished' if record.outcome == 'done' else record.outcome}: {record.done} done, "
        f"{record.failed} failed, {record.cancelled} cancelled in {record.wall_s:.2f} s "
        f"(start-up {record.startup_s:.2f} s), {speed_text(record)}, {lag_text(record)}"
        + (f", lost {record.lost:,} of {record.expected:,}" if record.lost is not None else "")
        + stages_text(record)
        + " ──"
        + (f"\n   {said}" if said else "")
    )


def stages_text(record: RunRecord) -> str:
    """A pipeline's busy seconds per stage, and their sum against the run's time: over
    1× means stages overlapped (in sequence on one worker, they only add up)."""
    if not record.stages:
        return ""
    busy = " · ".join(f"{stage} {s:.2f} s" for stage, s in record.stages.items())
    overlap = sum(record.stages.values()) / max(record.work_s, 1e-9)
    return f", stages busy {busy} ({overlap:.1f}× the run's {record.work_s:.2f} s)"


class EventLog(QPlainTextEdit):
    """The last LOG_LINES lines, unwrapped, in a small fixed-width font."""

    def __init__(self) -> None:
        super().__init__(readOnly=True)
        self.pending: list[str] = []  # the lines the next flush appends
        self.follows = True  # it shows each new line, until the user scrolls up
        self.verticalScrollBar().actionTriggered.connect(self.on_scrolled)
        self.setMaximumBlockCount(LOG_LINES)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        font.setPointSizeF(font.pointSizeF() * 0.85)
        self.setFont(font)
        self.setPlaceholderText("Events appear here, with the thread or process that sent them.")
        # A few lines at least; any height more the Job dock has to spare. Its size hint
        # (192 px) ignored: the dock asks for no more than fits, and scrolls only below that.
        self.setMinimumHeight(70)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Ignored)

    @Slot(int)
    def on_scrolled(self, action: int) -> None:
        """The user scrolled (wheel, keys, scroll bar): the log follows new lines
        again only once they are back at the bottom. Not the bar's position at each
        flush: Qt moves it too (re-showing a closed dock left it a line short)."""
        bar = self.verticalScrollBar()
        self.follows = bar.sliderPosition() >= bar.maximum()

    def flush(self) -> None:
        """Append the pending lines. The log follows them while it follows, and
        otherwise stays on the lines the user scrolled to (also while the oldest go)."""
        if not self.pending:
            return
        bar = self.verticalScrollBar()
        position, blocks = bar.value(), self.blockCount()
        self.appendPlainText("\n".join(self.pending))
        if self.follows:
            cursor = self.textCursor()
            if not cursor.hasSelection():  # what the user selected stays selected
                # At the start of the last line: Qt scrolls to the cursor when the log
                # is shown again (Job dock closed, reopened), to the end of the line if
                # it was left there.
                cursor.movePosition(QTextCursor.MoveOperation.End)
                cursor.movePosition(QTextCursor.MoveOperation.StartOfBlock)
                self.setTextCursor(cursor)
            bar.setValue(bar.maximum())
        else:  # lines dropped at the top (LOG_LINES) move the rest up by as many
            dropped = blocks + len(self.pending) - self.blockCount()
            bar.setValue(max(0, position - dropped))
        self.pending.clear()
