"""Results: one row per finished run, sortable by number, exportable, beside the Compare all bars.

The model shows rounded text but sorts on the raw numbers (``SORT_ROLE``),
so "9.5" sorts below "10.2" and the table shows exactly what the record says.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from PySide6.QtCore import QSortFilterProxyModel, Qt, Signal, Slot
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from gui.bars import CompareBars
from gui.export import save_text, to_csv, to_json
from gui.tracefile import trace_json
from workers.core import os_reason
from workers.record import RunRecord
from workers.stats import Ring

SORT_ROLE = Qt.ItemDataRole.UserRole


@dataclass(frozen=True)
class Column:
    name: str
    value: Callable[[RunRecord], object]  # the raw value: sorting, CSV, tests
    text: Callable[[object], str] = str  # how the table shows it
    tip: str = ""
    #: The value covers only what ran: marked "(partial)", with a tooltip, when the
    #: run did not complete (a cancelled run's MB/s is not a complete run's).
    partial: bool = False


def _outcome_tip(r: RunRecord) -> str:
    return (
        f"{r.outcome}: {r.done} of {r.tasks} tasks done, {r.failed} failed, {r.cancelled} cancelled"
    )


def _partial_tip(r: RunRecord) -> str:
    return (
        f"Partial: the run {r.outcome} with {r.done} of {r.tasks} tasks done; this is the "
        "rate of the bytes that were processed, not of a complete run."
    )


def _ms(v: object) -> str:
    return f"{v:,.1f}"


COLUMNS = [
    Column("workload", lambda r: r.workload),
    Column("back end", lambda r: r.backend),
    Column("workers", lambda r: r.workers),
    Column("wall s", lambda r: r.wall_s, lambda v: f"{v:.2f}", "Start to the last task's end."),
    Column("start s", lambda r: r.startup_s, lambda v: f"{v:.2f}", "Start to the first task's start (pool start-up)."),
    Column("throughput", lambda r: r.throughput, lambda v: f"{v:,.1f}", "Work done over work time, in its unit (MB/s; deposits or rounds a second in the hazards lab); (partial) if not every task was done.", partial=True),
    Column("lag p50", lambda r: r.lag_ms["p50"], _ms, "UI lag, ms: half the probe samples were later than this."),
    Column("p95", lambda r: r.lag_ms["p95"], _ms, "UI lag, ms: 1 sample in 20 was later."),
    Column("p99", lambda r: r.lag_ms["p99"], _ms, "UI lag, ms: 1 sample in 100 was later."),
    Column("max", lambda r: r.lag_ms["max"], _ms, "UI lag, ms: the longest wait (over 100 ms: the longest freeze)."),
    Column("outcome", lambda r: r.outcome, tip="How the run ended: done (every task), cancelled or failed."),
    Column("verified", lambda r: "yes" if r.ok else "no", tip="Every task done and its result checked (size, checksum): \"ok\" in CSV and JSON."),
]  # fmt: skip


class ResultsModel(QStandardItemModel):
    """The finished runs, in the order they finished.

    A C++ model filled once per run, not a Python ``QAbstractTableModel``: a view
    asks its model for every cell, header and role on each repaint, and while
    pure-Python threads run, every such call into Python waits for the GIL
    (measured: ~300 calls a second, each a wait of ~12 ms).
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self.records: list[RunRecord] = []
        for col, column in enumerate(COLUMNS):
            header = QStandardItem(column.name)
            header.setToolTip(column.tip)
            self.setHorizontalHeaderItem(col, header)

    def add(self, record: RunRecord) -> None:
        self.records.append(record)
        row = []
        for column in COLUMNS:
            value = column.value(record)
            text, tips = column.text(value), list(record.errors)
            if column.partial:  # MB/s, or what the hazards lab counts a second
                text += f" {record.unit}"
            if column.partial and record.partial:
                text += " (partial)"
                tips.insert(0, _partial_tip(record))
            elif column.name in ("outcome", "verified") and record.partial:
                tips.insert(0, _outcome_tip(record))
            item = QStandardItem(text)
            item.setData(value, SORT_ROLE)
            item.setEditable(False)
            if isinstance(value, int | float):
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if tips:
                item.setToolTip("\n".join(tips))
            row.append(item)
        self.appendRow(row)

    def clear_rows(self) -> None:
        self.records.clear()
        self.removeRows(0, self.rowCount())


class ResultsTable(QTableView):
    """The model behind a sort proxy: clicking a header sorts by the raw numbers."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model_ = ResultsModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model_)
        self.proxy.setSortRole(SORT_ROLE)
        self.setModel(self.proxy)
        self.setSortingEnabled(True)
        self.sortByColumn(-1, Qt.SortOrder.AscendingOrder)  # finish order until a header is clicked
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setAlternatingRowColors(True)
        self.setWordWrap(False)
        font = self.font()
        font.setPointSizeF(font.pointSizeF() * 0.9)
        self.setFont(font)
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        self.horizontalHeader().setStretchLastSection(True)

    @property
    def records(self) -> list[RunRecord]:
        return self.model_.records

    def add(self, record: RunRecord) -> None:
        self.model_.add(record)
        # ResizeToContents mode does not look at rows inserted later (through a proxy).
        self.resizeColumnsToContents()
        # Wider columns may bring the horizontal scroll bar, which shortens the viewport:
        # lay that out now, or the newest row is scrolled to just under the bar.
        self.updateGeometries()
        self.scrollTo(self.proxy.mapFromSource(self.model_.index(len(self.records) - 1, 0)))

    def clear_rows(self) -> None:
        self.model_.clear_rows()

    def cell(self, row: int, column: str) -> object:
        """The raw value shown at ``row`` (view order) under ``column``."""
        return self._index(row, column).data(SORT_ROLE)

    def cell_text(self, row: int, column: str) -> str:
        """The text shown at ``row`` (view order) under ``column``."""
        return str(self._index(row, column).data(Qt.ItemDataRole.DisplayRole))

    def cell_tip(self, row: int, column: str) -> str:
        return str(self._index(row, column).data(Qt.ItemDataRole.ToolTipRole) or "")

    def _index(self, row: int, column: str):
        return self.proxy.index(row, [c.name for c in COLUMNS].index(column))


class ResultsPanel(QSplitter):
    """The table with its export buttons, and the Compare all bars next to it.

    ``message(text, is_error)`` reports what an export did; the window shows it.
    """

    message = Signal(str, bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.table = ResultsTable()
        self.bars = CompareBars()
        self.csv_button = QPushButton("Export CSV…")
        self.json_button = QPushButton("Export JSON…")
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip("Remove every row (the plots stay).")
        self.csv_button.clicked.connect(self.export_csv)
        self.json_button.clicked.connect(self.export_json)
        self.clear_button.clicked.connect(self.table.clear_rows)
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table, 1)
        row = QHBoxLayout()
        row.addStretch(1)
        for button in (self.csv_button, self.json_button, self.clear_button):
            row.addWidget(button)
        layout.addLayout(row)
        self.addWidget(box)
        self.addWidget(self.bars)
        self.setStretchFactor(0, 2)
        self.setStretchFactor(1, 1)
        self.setSizes([780, 290])

    @Slot()
    def export_csv(self) -> None:
        self._export("CSV", to_csv)

    @Slot()
    def export_json(self) -> None:
        self._export("JSON", to_json)

    def export_trace(self, lag: Ring) -> None:
        """The runs in the table as a Chrome trace, with the probe's ``lag`` samples."""
        samples = lag.arrays()
        self._export(
            "Chrome trace", partial(trace_json, lag=samples), "json", name="unfreeze-trace"
        )

    def _export(
        self,
        kind: str,
        render: Callable[[list[RunRecord]], str],
        suffix: str = "",
        name: str = "unfreeze-results",
    ) -> None:
        if not self.table.records:
            self.message.emit("No results to export yet.", False)
            return
        suffix = suffix or kind.lower()
        path, _ = QFileDialog.getSaveFileName(
            self, f"Export results as {kind}", f"{name}.{suffix}", f"{kind} (*.{suffix})"
        )
        if path:
            error = self.save(path, render)
            if error:
                QMessageBox.warning(self, "Export failed", error)

    def save(self, path: str, render: Callable[[list[RunRecord]], str]) -> str:
        """Write the results to ``path`` atomically; the error in words, or ""."""
        try:
            save_text(path, render(self.table.records))
        except OSError as exc:
            error = f"could not export to {path}: {os_reason(exc)}"
            self.message.emit(error, True)
            return error
        self.message.emit(f"Saved {len(self.table.records)} results to {path}", False)
        return ""
