"""The results table: one row per finished run, sortable, exportable."""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QTableWidget, QTableWidgetItem

from workers.record import RunRecord

COLUMNS = [
    ("workload", lambda r: r.workload),
    ("back end", lambda r: r.backend),
    ("workers", lambda r: r.workers),
    ("wall s", lambda r: round(r.wall_s, 2)),
    ("start s", lambda r: round(r.startup_s, 2)),
    ("MB/s", lambda r: round(r.throughput, 1)),
    ("lag p50", lambda r: r.lag_ms["p50"]),
    ("lag p95", lambda r: r.lag_ms["p95"]),
    ("lag p99", lambda r: r.lag_ms["p99"]),
    ("lag max", lambda r: r.lag_ms["max"]),
    ("verified", lambda r: "yes" if r.ok else f"no ({r.failed} failed, {r.cancelled} cancelled)"),
]


class ResultsTable(QTableWidget):
    def __init__(self) -> None:
        super().__init__(0, len(COLUMNS))
        self.setHorizontalHeaderLabels([name for name, _ in COLUMNS])
        self.setSortingEnabled(True)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.horizontalHeader().setStretchLastSection(True)
        self.verticalHeader().setVisible(False)
        self.records: list[RunRecord] = []

    def add(self, record: RunRecord) -> None:
        self.records.append(record)
        self.setSortingEnabled(False)  # else the row moves while being filled
        row = self.rowCount()
        self.insertRow(row)
        for col, (_, get) in enumerate(COLUMNS):
            value = get(record)
            item = QTableWidgetItem()
            item.setData(Qt.ItemDataRole.DisplayRole, value)  # numbers sort as numbers
            if record.errors:
                item.setToolTip("\n".join(record.errors))
            self.setItem(row, col, item)
        self.setSortingEnabled(True)
        self.resizeColumnsToContents()
        self.scrollToBottom()

    def clear_rows(self) -> None:
        self.records.clear()
        self.setRowCount(0)


def to_csv(records: list[RunRecord]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([name for name, _ in COLUMNS])
    for r in records:
        writer.writerow([get(r) for _, get in COLUMNS])
    return out.getvalue()


def to_json(records: list[RunRecord]) -> str:
    return json.dumps([r.as_dict() for r in records], indent=2)


def save_text(path: str, text: str) -> None:
    """Write ``text`` to ``path`` atomically: the old file stays whole if anything fails."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, temp = tempfile.mkstemp(dir=folder, prefix=".unfreeze-", suffix=".part")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            out.write(text)
        os.replace(temp, path)
    except BaseException:
        os.unlink(temp)
        raise
