"""The Costs tab: what each finished run cost the machine, one row per run.

Start-up time, peak memory (the app's, each worker process's, all at once),
peak threads, bytes across the process boundary and voluntary context
switches: every cell is a field of the run's record (:func:`cells`), none is
inferred, and a field the run did not measure shows "—". A plain table with
no sentence about the run: "processes cost more" is for the learner to read
in the numbers, side by side.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from workers.fields import format_bytes
from workers.record import RunRecord

NONE = "—"  # not measured, or no such thing (no worker processes)
#: Up to this many worker processes, each one's peak is listed; beyond, their range.
LISTED_WORKERS = 4
HELP = (
    "What each run cost, as its record measured it (sampled at 10 Hz on a thread of its "
    "own). <b>Sent / received</b>: bytes pickled across the process boundary (tasks out; "
    "events and results back); 0 when the work ran in this process and nothing crossed, "
    "— where it crossed uncounted (dask's own protocol). Hover a header for more."
)


@dataclass(frozen=True)
class Column:
    name: str
    text: Callable[[RunRecord], str]
    tip: str


def _mb(v: float | None) -> str:
    return NONE if v is None else f"{v:,.1f}"


def _bytes(n: int | None) -> str:
    return NONE if n is None else format_bytes(n)


def worker_text(r: RunRecord) -> str:
    """Each worker process's peak MB, or their range and count when there are many."""
    peaks = r.worker_rss_mb
    if not peaks:
        return NONE
    if len(peaks) <= LISTED_WORKERS:
        return ", ".join(f"{v:,.1f}" for v in peaks)
    return f"{min(peaks):,.1f}–{max(peaks):,.1f} × {len(peaks)}"


COLUMNS = [
    Column("run", lambda r: f"{r.workload} · {r.backend}" + ("" if r.transfer == "pickle" else f" · {r.transfer}"), "The job and its back end (and its transfer, if not pickle)."),
    Column("start s", lambda r: f"{r.startup_s:.3f}", "Start to the first task's start: starting threads, or spawning processes."),
    Column("app MB", lambda r: _mb(r.peak_rss_mb), "The app process's peak resident memory."),
    Column("per worker MB", worker_text, "Each worker process's own peak resident memory (— without worker processes)."),
    Column("total MB", lambda r: _mb(r.total_rss_mb), "App and worker processes at one instant, at its peak."),
    Column("threads", lambda r: NONE if r.peak_threads is None else str(r.peak_threads), "The most threads at once: the app's plus its worker processes'."),
    Column("sent", lambda r: _bytes(r.bytes_sent), "Bytes of the tasks pickled to worker processes (0: nothing crossed; —: not counted, dask)."),
    Column("received", lambda r: _bytes(r.bytes_received), "Bytes of the events and results pickled back from worker processes."),
    Column("ctx switches", lambda r: NONE if r.context_switches is None else f"{r.context_switches:,}", "Voluntary context switches of the tasks' worker threads, summed over the tasks (— for coroutines: not measured)."),
]  # fmt: skip


def cells(record: RunRecord) -> dict[str, str]:
    """The row's text, per column: what the tab shows for ``record``."""
    return {c.name: c.text(record) for c in COLUMNS}


class CostsPanel(QWidget):
    """The table (a C++ model, filled once per run: see ``gui.results``) and its help."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.records: list[RunRecord] = []
        self.model = QStandardItemModel(0, len(COLUMNS), self)
        for col, column in enumerate(COLUMNS):
            header = QStandardItem(column.name)
            header.setToolTip(column.tip)
            self.model.setHorizontalHeaderItem(col, header)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip("Remove every row.")
        self.clear_button.clicked.connect(self.clear_rows)
        help_label = QLabel(HELP, wordWrap=True)
        help_label.setEnabled(False)  # greyed: a remark, not a reading
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(help_label)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.clear_button, 0, Qt.AlignmentFlag.AlignRight)

    def add(self, record: RunRecord) -> None:
        self.records.append(record)
        row = []
        for column, text in zip(COLUMNS, cells(record).values(), strict=True):
            item = QStandardItem(text)
            item.setEditable(False)
            if column.name != "run":
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            row.append(item)
        self.model.appendRow(row)
        self.table.resizeColumnsToContents()
        self.table.scrollToBottom()

    def clear_rows(self) -> None:
        self.records.clear()
        self.model.removeRows(0, self.model.rowCount())

    def cell_text(self, row: int, column: str) -> str:
        """The text shown at ``row`` under ``column``."""
        col = [c.name for c in COLUMNS].index(column)
        return str(self.model.index(row, col).data(Qt.ItemDataRole.DisplayRole))
