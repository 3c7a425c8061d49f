"""The job form: bounded inputs, validated by the same code as the bench.

Every field has its own red label: an invalid value is explained where it was
typed, and the window keeps Start disabled until :meth:`JobForm.spec` returns
a spec. :func:`gui.jobs.validate` is plain Python, so its rules are tested without Qt.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping

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

from gui.jobs import (
    DEFAULTS,
    EVERY_JOB,
    FIELD_TIPS,
    FIELDS,
    GUI_THREAD_WORKERS_TIP,
    RATE_SOURCES,
    SIZE_FIELDS,
    URLS_SET_TIP,
    WORKERS_TIPS,
    WORKLOAD_TIPS,
    describe_job,
    validate,
)
from gui.picker import backend_picker
from gui.pythonfield import PythonField
from workers.fields import SpecError, check_folder
from workers.names import (
    ALL_BACKENDS,
    ALL_WORKLOADS,
    GUARDS,
    HAZARDS,
    MAX_DEPTH,
    MAX_ITEMS,
    MAX_LATENCY_MS,
    MAX_MANY_WORKERS,
    MAX_RATE_MBPS,
    MAX_TASKS,
    ON_GUI_THREAD,
    TRANSFERS,
)
from workers.spec import RunSpec
from workers.speed import Speed


class JobForm(QWidget):
    """Emits ``changed`` whenever the input's validity or value may have changed.
    ``speed`` (this machine's, measured) is what the hint's estimate scales by."""

    changed = Signal()

    def __init__(self, speed: Speed, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.speed = speed
        self.workload = QComboBox()
        for i, name in enumerate(ALL_WORKLOADS):
            self.workload.addItem(name)
            self.workload.setItemData(i, WORKLOAD_TIPS[name], Qt.ItemDataRole.ToolTipRole)
        self.backend = backend_picker()
        # Minimum 0, not 1: a 0 typed in is refused with a message by the field (validate),
        # where a minimum of 1 would silently put the old value back on leaving it.
        self.workers = QSpinBox(minimum=0, maximum=MAX_MANY_WORKERS)
        self.workers_wanted = 1  # the user's value, kept while gui-thread shows 1
        self.tasks = QSpinBox(minimum=0, maximum=MAX_TASKS)
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
        self.python = PythonField()
        self.python.changed.connect(self.changed)
        self.guard = QComboBox()
        self.transfer = QComboBox()
        self.transfer.addItems(list(TRANSFERS))
        self.limit = QSpinBox(minimum=0, maximum=MAX_MANY_WORKERS)
        self.limit.setSpecialValueText("no limit")
        self.depth = QSpinBox(minimum=0, maximum=MAX_DEPTH)
        self.items = QSpinBox(minimum=0, maximum=MAX_ITEMS)
        self.scheduler = QLineEdit(
            placeholderText="empty: a LocalCluster of its own", maxLength=200
        )
        #: The running cluster's dashboard, linked while a dask run has one (needs bokeh).
        self.dashboard = QLabel(openExternalLinks=True)
        self.dashboard.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.defaults_button = QPushButton("Defaults")
        self.defaults_button.setToolTip("Put this workload's default job back in the form.")
        self.defaults_button.clicked.connect(self.reset)
        self.hint = QLabel(wordWrap=True)  # wraps rather than widening the Job dock
        self.hint.setEnabled(False)  # greyed: a remark, not an input

        #: How each field that only some workloads have is read (:attr:`FIELDS`).
        self.readers: dict[str, Callable[[], object]] = {
            "tasks": self.tasks.value,
            "latency_ms": self.latency.value,
            "rate_mbps": self.rate.value,
            "urls": lambda: self.urls.toPlainText().split(),
            "folder": lambda: self.folder.text().strip(),
            "fsync": self.fsync.isChecked,
            "guard": self.guard.currentText,
            "transfer": self.transfer.currentText,
            "limit": self.limit.value,
            "depth": self.depth.value,
            "items": self.items.value,
        }

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
        self.rows: dict[str, QWidget | QHBoxLayout] = {}  # per field: what its row holds
        self.tips: dict[QWidget, str] = {self.fsync: FIELD_TIPS["fsync"]}
        for field, text, widget, buddy in (
            ("workload", "&Workload", workload_row, self.workload),
            ("backend", "&Back end", self.backend, self.backend),
            ("workers", "W&orkers", self.workers, self.workers),
            ("tasks", "&Tasks", self.tasks, self.tasks),
            ("size", "&Size per task", self.size, self.size),
            ("guard", "&Guard", self.guard, self.guard),
            ("transfer", "T&ransfer", self.transfer, self.transfer),
            ("latency_ms", "Server &latency", self.latency, self.latency),
            ("rate_mbps", "Server &rate", self.rate, self.rate),
            ("urls", "&URLs", self.urls, self.urls),
            ("folder", "&Folder", folder_row, self.folder),
            ("limit", "Li&mit", self.limit, self.limit),
            ("depth", "Queue &depth", self.depth, self.depth),
            ("items", "&Items", self.items, self.items),
            ("python", "P&ython", self.python, self.python.edit),
            ("scheduler", "S&cheduler", self.scheduler, self.scheduler),
        ):
            label = QLabel(text)
            label.setBuddy(buddy)  # Alt+letter focuses the field, also when it sits in a row
            if field == "size":
                self.size_label = label
            form.addRow(label, widget)
            self.rows[field] = widget
            self.tips[buddy] = FIELD_TIPS[field]
            error = QLabel(objectName=f"error-{field}", wordWrap=True)
            error.setStyleSheet("color: #e53935;")
            form.addRow("", error)
            form.setRowVisible(error, False)
            self.errors[field] = error
            if field == "size":
                form.addRow("", self.hint)
        form.addRow("", self.fsync)
        self.rows["fsync"] = self.fsync
        form.addRow("", self.dashboard)
        form.setRowVisible(self.dashboard, False)
        for widget, tip in self.tips.items():
            widget.setToolTip(tip)

        self.workload.setCurrentText("cpu-python")  # the first lesson: feel the freeze
        self.current = self.workload.currentText()
        self.memory: dict[str, dict[str, object]] = {}  # the user's values, per workload
        self.folder_checked: tuple[str, str, str] | None = None  # text, error, resolved path
        self._apply(self.current, DEFAULTS[self.current])
        self.on_backend(self.backend.currentText())
        self.workload.currentTextChanged.connect(self.on_workload)
        # Before ``changed``: the fields must be right when the window reads them.
        self.backend.currentTextChanged.connect(self.on_backend)
        self.urls.textChanged.connect(self._enable_server_fields)
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
            self.guard.currentTextChanged,
            self.transfer.currentTextChanged,
            self.limit.valueChanged,
            self.depth.valueChanged,
            self.items.valueChanged,
            self.scheduler.textChanged,
        ):
            signal.connect(self.changed)

    # -- values -------------------------------------------------------------
    def raw(self) -> dict[str, object]:
        """The form as parse_spec reads it: the fields the workload has (the ones shown)."""
        workload = self.workload.currentText()
        raw: dict[str, object] = {
            "workload": workload,
            "backend": self.backend.currentText(),
            # gui-thread runs 1 worker whatever this says; Compare all runs the other
            # back ends on the number chosen for them, not on the 1 shown.
            "workers": self._workers(),
            "size": self.size.text(),
        }
        shown = [f for f in FIELDS[workload] if f != "transfer" or self._processes()]
        raw |= {field: self.readers[field]() for field in shown}
        if raw["backend"] == "dask":
            raw["scheduler"] = self.scheduler.text()
        return raw

    def spec(self, *, fresh: bool = False) -> RunSpec | None:
        """The job, or None with each bad field explained under it.

        The folder is probed (a file created and removed) only when ``fresh``
        (Start, Compare all) or once its field is left (``editingFinished``),
        never on a keystroke: a partial path is nobody's folder. Until then a
        changed folder is taken as typed; the run checks it again before it
        starts, off the GUI thread. The Python field is never asked from here:
        its answer comes from a thread of its own (gui/pythonfield.py), and a
        spec made before it answered names the path as typed.
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
        refusal = self.python.refusal(str(raw["workload"]))
        if refusal:
            errors["python"], spec = refusal, None
        elif spec is not None:
            spec = spec.with_(python=self.python.value())
        for field, label in self.errors.items():
            message = errors.get(field, "")
            label.setText(f"{field.split('_')[0]}: {message}" if message else "")
            self.form.setRowVisible(label, bool(message))
        self.hint.setText(describe_job(spec, self.speed) if spec is not None else "")
        if raw["workload"] in HAZARDS:
            self.hint.setToolTip("What the run will count: its expected total, or its rounds.")
        else:
            rate = self.speed.rate(raw["workload"])  # type: ignore[index]
            self.hint.setToolTip(
                f"Estimated at {rate.mbps:,.1f} MB/s per worker: {RATE_SOURCES[rate.source]}."
            )
        return spec

    @Slot()
    def check_folder(self) -> None:
        """Probe the folder as typed now, and say what is wrong with it."""
        folder = self.folder.text().strip()
        if not folder or "folder" not in FIELDS[self.workload.currentText()]:
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

    @Slot(str)
    def on_backend(self, backend: str) -> None:
        """gui-thread has one worker: Workers shows 1, greyed, and says why; the
        number typed before comes back with another back end."""
        self.python.for_backend(backend)
        shown = "transfer" in FIELDS[self.workload.currentText()] and self._processes()
        self.form.setRowVisible(self.transfer, shown)  # CPU work on multiprocessing only
        self.form.setRowVisible(self.scheduler, backend == "dask")
        one = backend in ON_GUI_THREAD
        if one == (not self.workers.isEnabled()):
            return
        if one:
            self.workers_wanted = max(1, self.workers.value())
            self.workers.setValue(1)
            self.workers.setToolTip(GUI_THREAD_WORKERS_TIP)
        else:
            self.workers.setValue(self.workers_wanted)
            self.workers.setToolTip(self.tips[self.workers])
        self.workers.setEnabled(not one)

    def _processes(self) -> bool:
        return self.backend.currentText() == "multiprocessing"

    def _workers(self) -> int:
        return self.workers.value() if self.workers.isEnabled() else self.workers_wanted

    def _values(self) -> dict[str, object]:
        return {
            "workers": self._workers(),
            "tasks": self.tasks.value(),
            "size": self.size.text(),
            "latency_ms": self.latency.value(),
            "rate_mbps": self.rate.value(),
            "limit": self.limit.value(),
            "depth": self.depth.value(),
            "items": self.items.value(),
        }

    def _apply(self, workload: str, values: Mapping[str, object]) -> None:
        try:
            workers = int(values["workers"])  # type: ignore[call-overload]
            if self.workers.isEnabled():
                self.workers.setValue(workers)
            else:  # gui-thread: it shows 1, and this comes back with another back end
                self.workers_wanted = max(1, min(workers, MAX_MANY_WORKERS))
            self.tasks.setValue(int(values["tasks"]))  # type: ignore[call-overload]
            self.latency.setValue(float(values["latency_ms"]))  # type: ignore[arg-type]
            self.rate.setValue(float(values["rate_mbps"]))  # type: ignore[arg-type]
        except (KeyError, TypeError, ValueError):
            pass  # damaged remembered values: the widgets keep what they had
        for name in ("limit", "depth", "items"):
            box: QSpinBox = getattr(self, name)
            try:
                box.setValue(int(values.get(name, DEFAULTS[workload].get(name, 0))))  # type: ignore[call-overload]
            except (TypeError, ValueError):
                pass  # damaged remembered values, as above
        self.size.setText(str(values.get("size", DEFAULTS[workload]["size"])))
        self._show_fields(workload)
        self.changed.emit()

    def _show_fields(self, workload: str) -> None:
        """Only the fields ``workload`` has, each labelled and explained for it."""
        for field, row in self.rows.items():
            shown = field in EVERY_JOB + FIELDS[workload]
            self.form.setRowVisible(row, shown and (field != "transfer" or self._processes()))
        self.form.setRowVisible(self.scheduler, self.backend.currentText() == "dask")
        self.guard.blockSignals(True)  # one ``changed`` for the whole switch, from _apply
        self.guard.clear()
        self.guard.addItems(list(GUARDS.get(workload, ("none",))))
        self.guard.blockSignals(False)
        label, tip = SIZE_FIELDS.get(workload, ("&Size per task", FIELD_TIPS["size"]))
        self.size_label.setText(label)
        self.size.setToolTip(tip)
        self.tips[self.workers] = WORKERS_TIPS.get(workload, FIELD_TIPS["workers"])
        if self.workers.isEnabled():  # gui-thread's says why it shows 1
            self.workers.setToolTip(self.tips[self.workers])
        self._enable_server_fields()

    @Slot()
    def _enable_server_fields(self) -> None:
        """The local server's latency and rate apply to downloads from it, not to URLs."""
        urls = bool(self.urls.toPlainText().split())
        for widget in (self.latency, self.rate):
            widget.setEnabled(not urls)
            widget.setToolTip(URLS_SET_TIP if urls else self.tips[widget])

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
        settings.setValue("form/python", self.python.text())
        settings.setValue("form/scheduler", self.scheduler.text())

    def restore(self, settings: QSettings) -> None:
        try:
            memory = json.loads(str(settings.value("form/per_workload", "{}")))
        except ValueError:
            memory = {}
        if isinstance(memory, dict):
            self.memory = {k: v for k, v in memory.items() if k in DEFAULTS and isinstance(v, dict)}
        workload = str(settings.value("form/workload", self.current))
        if workload in ALL_WORKLOADS:
            self.workload.blockSignals(True)  # on_workload would file the defaults as memory
            self.workload.setCurrentText(workload)
            self.workload.blockSignals(False)
            self.current = workload
        self._apply(self.current, {**DEFAULTS[self.current], **self.memory.get(self.current, {})})
        backend = str(settings.value("form/backend", self.backend.currentText()))
        if backend in ALL_BACKENDS:
            self.backend.setCurrentText(backend)
        self.urls.setPlainText(str(settings.value("form/urls", "")))
        self.folder.setText(str(settings.value("form/folder", "")))
        self.fsync.setChecked(str(settings.value("form/fsync", "false")).lower() == "true")
        self.python.edit.setText(str(settings.value("form/python", "")))  # asked at Start
        self.scheduler.setText(str(settings.value("form/scheduler", "")))

    def show_dashboard(self, link: str) -> None:
        """Link the running cluster's dashboard ("": none, hide the line)."""
        self.dashboard.setText(f'<a href="{link}">dask dashboard</a>' if link else "")
        self.dashboard.setToolTip(link)
        self.form.setRowVisible(self.dashboard, bool(link))
