"""The job form: bounded inputs, validated by the same code as the bench.

Every field has its own red label: an invalid value is explained where it was
typed, and the window keeps Start disabled until :meth:`JobForm.spec` returns
a spec. :func:`validate` is plain Python, so its rules are tested without Qt.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from PySide6.QtCore import QSettings, Qt, Signal, Slot
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
    DEFAULT_JOBS,
    MAX_LATENCY_MS,
    MAX_RATE_MBPS,
    MAX_TASKS,
    MAX_WORKERS,
    WORKLOADS,
    RunSpec,
    SpecError,
    check_folder,
    default_workers,
    format_bytes,
    parse_spec,
)

#: The form's defaults: the one table of default jobs, with the workers.
DEFAULTS: dict[str, dict[str, object]] = {
    workload: {**job, "workers": default_workers(workload)}
    for workload, job in DEFAULT_JOBS.items()
}

#: One worker's speed here, MB/s: what the estimates and Compare all scale by.
RATE_MBPS = {"download": 1000.0, "disk-write": 500.0, "cpu-python": 26.0, "cpu-native": 1800.0}
#: Compare all shrinks the job so one serial run lasts about this long:
#: six back ends then take ~20 s instead of a minute or more.
COMPARE_SERIAL_S = 3.0

WORKLOAD_TIPS = {
    "download": "HTTP GET of N files from the app's own throttled server (or your URLs): "
    "I/O-bound.",
    "disk-write": "N files written in 1 MiB chunks, each atomically: I/O-bound "
    "(page cache, optional fsync).",
    "cpu-python": "Adler-32 in a pure-Python loop: CPU-bound, and holds the GIL.",
    "cpu-native": "SHA-256 in C (hashlib): CPU-bound, but releases the GIL.",
}

#: A value each field can take that is always valid: lets :func:`validate`
#: look past the first error and report every field that is wrong.
_NEUTRAL: dict[str, object] = {
    "workers": 1,
    "tasks": 1,
    "size": 1,
    "latency_ms": 0,
    "rate_mbps": 0,
    "urls": (),
    "folder": "",
}


def validate(raw: Mapping[str, object]) -> tuple[RunSpec | None, dict[str, str]]:
    """The spec, or None and one message per bad field (all of them, not just the first)."""
    raw = dict(raw)
    errors: dict[str, str] = {}
    while True:
        try:
            spec = parse_spec(raw)
        except SpecError as exc:
            if exc.field in errors or exc.field not in _NEUTRAL:
                errors.setdefault(exc.field, exc.message)
                return None, errors
            errors[exc.field] = exc.message
            raw[exc.field] = _NEUTRAL[exc.field]
            continue
        return (None, errors) if errors else (spec, {})


def serial_seconds(spec: RunSpec) -> float:
    """Roughly how long ``spec`` takes on one worker here (the naive back end)."""
    if spec.workload == "download" and spec.urls:
        return 0.0  # unknown: the network decides
    rate = RATE_MBPS[spec.workload]
    if spec.workload == "download" and spec.rate_mbps:
        rate = min(rate, spec.rate_mbps)
    per_task = spec.size / 1e6 / rate
    if spec.workload == "download":
        per_task += spec.latency_ms / 1000
    return spec.tasks * per_task


def compare_spec(spec: RunSpec, budget_s: float = COMPARE_SERIAL_S) -> RunSpec:
    """``spec`` with a smaller size per task if one serial run would outlast ``budget_s``."""
    serial = serial_seconds(spec)
    if serial <= budget_s or (spec.workload == "download" and spec.urls):
        return spec
    fixed = spec.tasks * spec.latency_ms / 1000 if spec.workload == "download" else 0.0
    scale = max(budget_s - fixed, budget_s / 4) / max(serial - fixed, 1e-9)
    return spec.with_(size=max(64 << 10, int(spec.size * scale) // 1000 * 1000))


def describe_job(spec: RunSpec) -> str:
    """``8 × 20.0 MB = 160.0 MB, ≈ 6 s serial``: the form's hint line."""
    if spec.workload == "download" and spec.urls:
        return f"{spec.tasks} downloads of {len(spec.urls)} URL(s), in turn"
    total = format_bytes(spec.tasks * spec.size)
    seconds = serial_seconds(spec)
    return f"{spec.tasks} × {format_bytes(spec.size)} = {total}, ≈ {seconds:.0f} s serial"


class JobForm(QWidget):
    """Emits ``changed`` whenever the input's validity or value may have changed."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workload = QComboBox()
        for i, name in enumerate(WORKLOADS):
            self.workload.addItem(name)
            self.workload.setItemData(i, WORKLOAD_TIPS[name], Qt.ItemDataRole.ToolTipRole)
        self.backend = QComboBox()
        for i, name in enumerate(BACKENDS):
            self.backend.addItem(name)
            self.backend.setItemData(i, DESCRIPTIONS[name], Qt.ItemDataRole.ToolTipRole)
        self.workers = QSpinBox(minimum=1, maximum=MAX_WORKERS)
        self.tasks = QSpinBox(minimum=1, maximum=MAX_TASKS)
        self.size = QLineEdit(placeholderText="e.g. 8MB, 512KiB, 1000", maxLength=40)
        self.latency = QDoubleSpinBox(minimum=0, maximum=MAX_LATENCY_MS, decimals=0, suffix=" ms")
        self.rate = QDoubleSpinBox(minimum=0, maximum=MAX_RATE_MBPS, decimals=1, suffix=" MB/s")
        self.rate.setSpecialValueText("unlimited")
        self.urls = QPlainTextEdit(placeholderText="optional: http(s) URLs, one per line")
        self.urls.setFixedHeight(44)
        self.urls.setTabChangesFocus(True)
        self.folder = QLineEdit(placeholderText="empty: a temp folder / memory")
        self.browse_button = QPushButton("Browse…")
        self.browse_button.clicked.connect(self.browse)
        self.folder.editingFinished.connect(self.check_folder)
        self.fsync = QCheckBox("fsync each file")
        self.defaults_button = QPushButton("Defaults")
        self.defaults_button.setToolTip("Put this workload's default job back in the form.")
        self.defaults_button.clicked.connect(self.reset)
        self.hint = QLabel()
        self.hint.setEnabled(False)  # greyed: a remark, not an input

        for widget, tip in {
            self.workload: "What kind of work to run. Hover an entry for what it is.",
            self.backend: "Where the work runs. Hover an entry for what it is.",
            self.workers: "How many threads, processes or coroutines work at once.",
            self.tasks: "How many files or chunks of work the job is split into.",
            self.size: "Bytes per task: 8MB, 512KiB or plain bytes (MB = 10^6, MiB = 2^20).",
            self.latency: "Local server: delay before the first byte of each file.",
            self.rate: "Local server: bandwidth cap per connection (0 = unlimited).",
            self.urls: "Download these instead of the local server's files (task i gets URL i).",
            self.folder: "Where written or downloaded files go.",
            self.fsync: "Force each file to the disk before counting it done.",
        }.items():
            widget.setToolTip(tip)

        workload_row = QHBoxLayout()
        workload_row.addWidget(self.workload, 1)
        workload_row.addWidget(self.defaults_button)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(self.browse_button)
        self.form = form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.setVerticalSpacing(4)
        self.errors: dict[str, QLabel] = {}
        for field, text, widget, buddy in (
            ("workload", "&Workload", workload_row, self.workload),
            ("backend", "&Back end", self.backend, self.backend),
            ("workers", "W&orkers", self.workers, self.workers),
            ("tasks", "&Tasks", self.tasks, self.tasks),
            ("size", "&Size per task", self.size, self.size),
            ("latency_ms", "Server &latency", self.latency, self.latency),
            ("rate_mbps", "Server &rate", self.rate, self.rate),
            ("urls", "&URLs", self.urls, self.urls),
            ("folder", "&Folder", folder_row, self.folder),
        ):
            label = QLabel(text)
            label.setBuddy(buddy)  # Alt+letter focuses the field, also when it sits in a row
            form.addRow(label, widget)
            error = QLabel(objectName=f"error-{field}", wordWrap=True)
            error.setStyleSheet("color: #e53935;")
            form.addRow("", error)
            form.setRowVisible(error, False)
            self.errors[field] = error
            if field == "size":
                form.addRow("", self.hint)
        form.addRow("", self.fsync)

        self.workload.setCurrentText("cpu-python")  # the first lesson: feel the freeze
        self.current = self.workload.currentText()
        self.memory: dict[str, dict[str, object]] = {}  # the user's values, per workload
        self.folder_checked: tuple[str, str, str] | None = None  # text, error, resolved path
        self._apply(self.current, DEFAULTS[self.current])
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

    # -- values -------------------------------------------------------------
    def raw(self) -> dict[str, object]:
        """The form as parse_spec reads it; fields the workload ignores are left out."""
        workload = self.workload.currentText()
        raw: dict[str, object] = {
            "workload": workload,
            "backend": self.backend.currentText(),
            "workers": self.workers.value(),
            "tasks": self.tasks.value(),
            "size": self.size.text(),
        }
        if workload == "download":
            raw["latency_ms"] = self.latency.value()
            raw["rate_mbps"] = self.rate.value()
            raw["urls"] = self.urls.toPlainText().split()
        if workload in ("download", "disk-write"):
            raw["folder"] = self.folder.text().strip()
        raw["fsync"] = workload == "disk-write" and self.fsync.isChecked()
        return raw

    def spec(self, *, fresh: bool = False) -> RunSpec | None:
        """The job, or None with each bad field explained under it.

        The folder is probed (a file created and removed) only when ``fresh``
        (Start, Compare all) or once its field is left (``editingFinished``),
        never on a keystroke: a partial path is nobody's folder. Until then a
        changed folder is taken as typed; the run checks it again before it
        starts, off the GUI thread.
        """
        raw = self.raw()
        folder = str(raw.pop("folder", "") or "")
        spec, errors = validate(raw)
        if folder:
            if fresh:
                self.check_folder()
            checked = self.folder_checked
            if checked is not None and checked[0] == folder:
                _, error, path = checked
            else:
                error, path = "", folder
            if error:
                errors["folder"] = error
                spec = None
            elif spec is not None:
                spec = spec.with_(folder=path)
        for field, label in self.errors.items():
            message = errors.get(field, "")
            label.setText(f"{field.split('_')[0]}: {message}" if message else "")
            self.form.setRowVisible(label, bool(message))
        self.hint.setText(describe_job(spec) if spec is not None else "")
        return spec

    @Slot()
    def check_folder(self) -> None:
        """Probe the folder as typed now, and say what is wrong with it."""
        folder = self.folder.text().strip()
        if not folder or not self.folder.isEnabled():
            return
        try:
            self.folder_checked = (folder, "", str(check_folder(folder)))
        except SpecError as exc:
            self.folder_checked = (folder, exc.message, "")
        self.changed.emit()

    def set_job(self, workload: str, backend: str) -> None:
        """``workload`` on ``backend`` with the default job (for --run and --compare)."""
        self.workload.setCurrentText(workload)
        self.backend.setCurrentText(backend)
        self.reset()

    @Slot()
    def reset(self) -> None:
        workload = self.workload.currentText()
        self.memory.pop(workload, None)
        self._apply(workload, DEFAULTS[workload])
        self.urls.clear()
        self.folder.clear()
        self.fsync.setChecked(False)

    @Slot(str)
    def on_workload(self, workload: str) -> None:
        self.memory[self.current] = self._values()
        self.current = workload
        self._apply(workload, {**DEFAULTS[workload], **self.memory.get(workload, {})})

    def _values(self) -> dict[str, object]:
        return {
            "workers": self.workers.value(),
            "tasks": self.tasks.value(),
            "size": self.size.text(),
            "latency_ms": self.latency.value(),
            "rate_mbps": self.rate.value(),
        }

    def _apply(self, workload: str, values: Mapping[str, object]) -> None:
        try:
            self.workers.setValue(int(values["workers"]))  # type: ignore[call-overload]
            self.tasks.setValue(int(values["tasks"]))  # type: ignore[call-overload]
            self.latency.setValue(float(values["latency_ms"]))  # type: ignore[arg-type]
            self.rate.setValue(float(values["rate_mbps"]))  # type: ignore[arg-type]
        except (KeyError, TypeError, ValueError):
            pass  # damaged remembered values: the widgets keep what they had
        self.size.setText(str(values.get("size", DEFAULTS[workload]["size"])))
        download = workload == "download"
        for widget in (self.latency, self.rate, self.urls):
            widget.setEnabled(download)
        self.fsync.setEnabled(workload == "disk-write")
        self.folder.setEnabled(workload in ("download", "disk-write"))
        self.browse_button.setEnabled(self.folder.isEnabled())
        self.changed.emit()

    @Slot()
    def browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Target folder", self.folder.text())
        if folder:
            self.folder.setText(folder)
            self.check_folder()

    # -- settings -----------------------------------------------------------
    def save(self, settings: QSettings) -> None:
        self.memory[self.current] = self._values()
        settings.setValue("form/workload", self.workload.currentText())
        settings.setValue("form/backend", self.backend.currentText())
        settings.setValue("form/per_workload", json.dumps(self.memory))
        settings.setValue("form/urls", "\n".join(self.urls.toPlainText().split()))
        settings.setValue("form/folder", self.folder.text())
        settings.setValue("form/fsync", self.fsync.isChecked())

    def restore(self, settings: QSettings) -> None:
        try:
            memory = json.loads(str(settings.value("form/per_workload", "{}")))
        except ValueError:
            memory = {}
        if isinstance(memory, dict):
            self.memory = {k: v for k, v in memory.items() if k in DEFAULTS and isinstance(v, dict)}
        workload = str(settings.value("form/workload", self.current))
        if workload in WORKLOADS:
            self.workload.blockSignals(True)  # on_workload would file the defaults as memory
            self.workload.setCurrentText(workload)
            self.workload.blockSignals(False)
            self.current = workload
        self._apply(self.current, {**DEFAULTS[self.current], **self.memory.get(self.current, {})})
        backend = str(settings.value("form/backend", self.backend.currentText()))
        if backend in BACKENDS:
            self.backend.setCurrentText(backend)
        self.urls.setPlainText(str(settings.value("form/urls", "")))
        self.folder.setText(str(settings.value("form/folder", "")))
        self.fsync.setChecked(str(settings.value("form/fsync", "false")).lower() == "true")
