"""The job form: bounded inputs, validated by the same code as the bench."""

from __future__ import annotations

from PySide6.QtCore import QSettings, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from workers.backends import DESCRIPTIONS
from workers.spec import (
    BACKENDS,
    MAX_LATENCY_MS,
    MAX_RATE_MBPS,
    MAX_TASKS,
    MAX_WORKERS,
    WORKLOADS,
    RunSpec,
    SpecError,
    default_workers,
    parse_spec,
)

#: Defaults that make one run last ~5-15 s on the slowest back end of a
#: 2-core machine (measured: cpu-python 26 MB/s, sha256 1.8 GB/s per core,
#: downloads capped at 20 MB/s per connection, disk writes ~0.5-4 GB/s).
DEFAULTS = {
    "download": {"tasks": 16, "size": "20MB", "rate_mbps": 20.0, "latency_ms": 50.0},
    "disk-write": {"tasks": 16, "size": "256MB"},
    "cpu-python": {"tasks": 8, "size": "16MB"},
    "cpu-native": {"tasks": 8, "size": "1GB"},
}

WORKLOAD_TIPS = {
    "download": "HTTP GET of N files from the app's own throttled server (or your URLs): I/O-bound.",
    "disk-write": "N files written in 1 MiB chunks, atomically: I/O-bound (page cache, optional fsync).",
    "cpu-python": "Adler-32 in a pure-Python loop: CPU-bound and holds the GIL.",
    "cpu-native": "SHA-256 in C (hashlib): CPU-bound but releases the GIL.",
}


class JobForm(QWidget):
    """Emits ``changed`` whenever the input's validity or value may have changed."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workload = QComboBox()
        for i, name in enumerate(WORKLOADS):
            self.workload.addItem(name)
            self.workload.setItemData(i, WORKLOAD_TIPS[name], 3)  # 3 = ToolTipRole
        self.backend = QComboBox()
        for i, name in enumerate(BACKENDS):
            self.backend.addItem(name)
            self.backend.setItemData(i, DESCRIPTIONS[name], 3)
        self.workers = QSpinBox(minimum=1, maximum=MAX_WORKERS)
        self.tasks = QSpinBox(minimum=1, maximum=MAX_TASKS)
        self.size = QLineEdit(placeholderText="e.g. 8MB, 512KiB, 1000")
        self.latency = QDoubleSpinBox(minimum=0, maximum=MAX_LATENCY_MS, decimals=0, suffix=" ms")
        self.rate = QDoubleSpinBox(minimum=0, maximum=MAX_RATE_MBPS, decimals=1, suffix=" MB/s")
        self.rate.setSpecialValueText("unlimited")
        self.urls = QPlainTextEdit(placeholderText="Optional: http(s) URLs, one per line")
        self.urls.setMaximumHeight(54)
        self.folder = QLineEdit(placeholderText="empty: a temp folder / memory")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self.browse)
        self.fsync = QCheckBox("fsync each file")
        self.error = QLabel(objectName="error", wordWrap=True)
        self.error.setStyleSheet("color: #d32f2f;")

        tips = {
            self.workers: "How many threads, processes or coroutines work at once.",
            self.tasks: "How many files or chunks of work the job is split into.",
            self.size: "Bytes per task: 8MB, 512KiB or plain bytes (MB = 10^6, MiB = 2^20).",
            self.latency: "Local server: delay before the first byte of each file.",
            self.rate: "Local server: bandwidth cap per connection (0 = unlimited).",
            self.folder: "Where written or downloaded files go.",
            self.fsync: "Force each file to the disk before counting it done.",
        }
        for widget, tip in tips.items():
            widget.setToolTip(tip)
        self.workload.setToolTip("What kind of work to run.")
        self.backend.setToolTip("Where the work runs. Hover an entry for what it is.")

        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(browse)
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("&Workload", self.workload)
        form.addRow("&Back end", self.backend)
        form.addRow("W&orkers", self.workers)
        form.addRow("&Tasks", self.tasks)
        form.addRow("&Size per task", self.size)
        form.addRow("Server &latency", self.latency)
        form.addRow("Server &rate", self.rate)
        form.addRow("&URLs", self.urls)
        form.addRow("Folder", folder_row)
        form.addRow("", self.fsync)
        form.addRow(self.error)

        self.workload.currentTextChanged.connect(self.on_workload)
        for signal in (
            self.backend.currentTextChanged,
            self.workers.valueChanged,
            self.tasks.valueChanged,
            self.size.textChanged,
            self.latency.valueChanged,
            self.rate.valueChanged,
            self.urls.textChanged,
            self.folder.textChanged,
            self.fsync.toggled,
        ):
            signal.connect(self.changed)
        self.on_workload(self.workload.currentText())

    # -- values -----------------------------------------------------------
    def raw(self) -> dict[str, object]:
        return {
            "workload": self.workload.currentText(),
            "backend": self.backend.currentText(),
            "workers": self.workers.value(),
            "tasks": self.tasks.value(),
            "size": self.size.text(),
            "latency_ms": self.latency.value(),
            "rate_mbps": self.rate.value(),
            "urls": self.urls.toPlainText().split(),
            "folder": self.folder.text().strip(),
            "fsync": self.fsync.isChecked(),
        }

    def spec(self) -> RunSpec | None:
        """The job, or None with the reason shown next to the form."""
        try:
            spec = parse_spec(self.raw())
        except SpecError as exc:
            self.error.setText(f"{exc.field.replace('_', ' ')}: {exc.message}")
            return None
        self.error.clear()
        return spec

    @Slot(str)
    def on_workload(self, workload: str) -> None:
        defaults = DEFAULTS[workload]
        self.workers.setValue(default_workers(workload))
        self.tasks.setValue(int(defaults["tasks"]))
        self.size.setText(str(defaults["size"]))
        self.latency.setValue(float(defaults.get("latency_ms", 0.0)))
        self.rate.setValue(float(defaults.get("rate_mbps", 0.0)))
        download = workload == "download"
        for widget in (self.latency, self.rate, self.urls):
            widget.setEnabled(download)
        self.fsync.setEnabled(workload == "disk-write")
        self.folder.setEnabled(workload in ("download", "disk-write"))
        self.changed.emit()

    @Slot()
    def browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Target folder", self.folder.text())
        if folder:
            self.folder.setText(folder)

    # -- settings ---------------------------------------------------------
    def save(self, settings: QSettings) -> None:
        for key, value in self.raw().items():
            settings.setValue(f"form/{key}", " ".join(value) if isinstance(value, list) else value)

    def restore(self, settings: QSettings) -> None:
        def get(key: str, default: object) -> object:
            return settings.value(f"form/{key}", default)

        self.workload.setCurrentText(str(get("workload", self.workload.currentText())))
        self.backend.setCurrentText(str(get("backend", self.backend.currentText())))
        try:
            self.workers.setValue(int(get("workers", self.workers.value())))
            self.tasks.setValue(int(get("tasks", self.tasks.value())))
            self.latency.setValue(float(get("latency_ms", self.latency.value())))
            self.rate.setValue(float(get("rate_mbps", self.rate.value())))
        except (TypeError, ValueError):
            pass  # a damaged settings file: keep the defaults
        self.size.setText(str(get("size", self.size.text())))
        self.urls.setPlainText(str(get("urls", "")).replace(" ", "\n"))
        self.folder.setText(str(get("folder", "")))
        self.fsync.setChecked(str(get("fsync", "false")).lower() == "true")
