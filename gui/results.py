"""Results: one row per finished run, sortable by number, exportable; the Compare all bars.

The model shows rounded text but sorts on the raw numbers (``SORT_ROLE``),
so "9.5" sorts below "10.2" and the table shows exactly what the record says.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSortFilterProxyModel, Qt, Signal, Slot
from PySide6.QtGui import QColor, QFont, QStandardItem, QStandardItemModel
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

from gui.plots import BACKEND_COLOURS, COLOURS, SHORT, set_theme, setup_plot
from workers.record import RunRecord

SORT_ROLE = Qt.ItemDataRole.UserRole


@dataclass(frozen=True)
class Column:
    name: str
    value: Callable[[RunRecord], object]  # the raw value: sorting, CSV, tests
    text: Callable[[object], str] = str  # how the table shows it
    tip: str = ""


def _verified(r: RunRecord) -> str:
    if r.ok:
        return "yes"
    parts = [f"{n} {kind}" for n, kind in ((r.failed, "failed"), (r.cancelled, "cancelled")) if n]
    return f"no: {', '.join(parts)}"


def _ms(v: object) -> str:
    return f"{v:,.1f}"


COLUMNS = [
    Column("workload", lambda r: r.workload),
    Column("back end", lambda r: r.backend),
    Column("workers", lambda r: r.workers),
    Column("wall s", lambda r: r.wall_s, lambda v: f"{v:.2f}", "Start to the last task's end."),
    Column("start s", lambda r: r.startup_s, lambda v: f"{v:.2f}", "Start to the first task's start (pool start-up)."),
    Column("MB/s", lambda r: r.throughput, lambda v: f"{v:,.1f}", "Bytes done over work time."),
    Column("lag p50", lambda r: r.lag_ms["p50"], _ms, "UI lag, ms: half the probe samples were later than this."),
    Column("p95", lambda r: r.lag_ms["p95"], _ms, "UI lag, ms: 1 sample in 20 was later."),
    Column("p99", lambda r: r.lag_ms["p99"], _ms, "UI lag, ms: 1 sample in 100 was later."),
    Column("max", lambda r: r.lag_ms["max"], _ms, "UI lag, ms: the longest freeze."),
    Column("verified", _verified, tip="Every task done and its result checked."),
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
            item = QStandardItem(column.text(value))
            item.setData(value, SORT_ROLE)
            item.setEditable(False)
            if isinstance(value, int | float):
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if record.errors:
                item.setToolTip("\n".join(record.errors))
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
        self.scrollTo(self.proxy.mapFromSource(self.model_.index(len(self.records) - 1, 0)))

    def clear_rows(self) -> None:
        self.model_.clear_rows()

    def cell(self, row: int, column: str) -> object:
        """The raw value shown at ``row`` (view order) under ``column``."""
        col = [c.name for c in COLUMNS].index(column)
        return self.proxy.index(row, col).data(SORT_ROLE)


class CompareBars(pg.GraphicsLayoutWidget):
    """The last Compare all: throughput and UI lag p99, one bar per back end.

    Horizontal bars, grouped by back end in the same order and colour in both
    charts: the back ends' names fit on the left axis, however narrow the panel.
    """

    def __init__(self) -> None:
        super().__init__()
        self.tp = self.addPlot(row=0, col=0)
        self.lag = self.addPlot(row=1, col=0)
        setup_plot(self.tp, "Throughput, MB/s", "", "")
        setup_plot(self.lag, "UI lag p99, ms (lower: smoother)", "", "")
        small = QFont()
        small.setPointSizeF(small.pointSizeF() * 0.85)
        for plot in (self.tp, self.lag):
            plot.getAxis("left").setStyle(tickFont=small)
            plot.getAxis("left").setWidth(56)
            plot.getAxis("bottom").setStyle(tickFont=small)
            plot.setMouseEnabled(x=False, y=False)
            plot.invertY(True)  # the first back end on top, as in the table
        self.records: list[RunRecord] = []
        self.bars: list[pg.BarGraphItem] = []  # [throughput, lag p99]
        self.items: list[tuple[pg.PlotItem, pg.GraphicsObject]] = []
        self.placeholder = pg.TextItem(
            "Press Compare all: the same job\non every back end, side by side.",
            color="#888888",
            anchor=(0.5, 0.5),
        )
        self.tp.addItem(self.placeholder, ignoreBounds=True)
        self.placeholder.setPos(0.5, 0.5)
        self.tp.setRange(xRange=(0, 1), yRange=(0, 1), padding=0)
        self.lag.setRange(xRange=(0, 1), yRange=(0, 1), padding=0)
        self.show_records([])

    def set_theme(self, background: QColor, foreground: QColor) -> None:
        set_theme(self, (self.tp, self.lag), background, foreground)
        self.show_records(self.records)  # the value labels take the new colour

    def show_records(self, records: list[RunRecord]) -> None:
        self.records = list(records)
        for plot, item in self.items:
            plot.removeItem(item)
        self.items.clear()
        self.bars.clear()
        self.placeholder.setVisible(not records)
        for plot in (self.tp, self.lag):
            for name in ("left", "bottom"):
                plot.getAxis(name).setStyle(showValues=bool(records))
        if not records:
            return
        y = np.arange(len(records), dtype=float)
        brushes = [BACKEND_COLOURS.get(r.backend, COLOURS[0]) for r in records]
        names = [(float(i), SHORT.get(r.backend, r.backend)) for i, r in enumerate(records)]
        for plot, values, unit in (
            (self.tp, [r.throughput for r in records], ""),
            (self.lag, [r.lag_ms["p99"] for r in records], " ms"),
        ):
            bar = pg.BarGraphItem(x0=0, y=y, height=0.65, width=values, brushes=brushes, pen=None)
            plot.addItem(bar)
            self.bars.append(bar)
            self.items.append((plot, bar))
            for yi, value in zip(y, values, strict=True):
                text = pg.TextItem(
                    f" {value:,.1f}{unit}" if value < 10 else f" {value:,.0f}{unit}",
                    color=pg.getConfigOption("foreground"),
                    anchor=(0, 0.5),
                )
                text.setPos(value, yi)
                plot.addItem(text, ignoreBounds=True)
                self.items.append((plot, text))
            plot.getAxis("left").setTicks([names])
            right = max(max(values), 1e-9) * 1.45  # room for the value after the longest bar
            plot.setRange(xRange=(0, right), yRange=(-0.5, len(records) - 0.5), padding=0)
        self.tp.setTitle(f"Compare all, {records[0].workload}: MB/s", size="10pt")


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

    def _export(self, kind: str, render: Callable[[list[RunRecord]], str]) -> None:
        if not self.table.records:
            self.message.emit("No results to export yet.", False)
            return
        suffix = kind.lower()
        path, _ = QFileDialog.getSaveFileName(
            self, f"Export results as {kind}", f"unfreeze-results.{suffix}", f"{kind} (*.{suffix})"
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
            error = f"could not export to {path}: {(exc.strerror or str(exc)).lower()}"
            self.message.emit(error, True)
            return error
        self.message.emit(f"Saved {len(self.table.records)} results to {path}", False)
        return ""


def flat(record: RunRecord) -> dict[str, object]:
    """One record as a flat row: every field, lag statistics spelled out."""
    data = record.as_dict()
    lag = data.pop("lag_ms")
    errors = data.pop("errors")
    data.update(
        {
            f"lag_{k}_ms" if k not in ("samples", "over_50") else f"lag_{k}": v
            for k, v in lag.items()
        }
    )
    data["errors"] = "; ".join(errors)
    return data


def to_csv(records: list[RunRecord]) -> str:
    out = io.StringIO()
    rows = [flat(r) for r in records]
    writer = csv.DictWriter(out, fieldnames=list(rows[0]) if rows else ["workload"])
    writer.writeheader()
    writer.writerows(rows)
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
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        os.unlink(temp)
        raise
