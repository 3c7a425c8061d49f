"""The job form: bounded inputs, validated by the same code as the bench.

Every field has its own red label: an invalid value is explained where it was
typed, and the window keeps Start disabled until :meth:`JobForm.spec` returns
a spec. :func:`gui.jobs.validate` is plain Python, so its rules are tested without Qt.
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

from gui.jobs import DEFAULTS, HAZARD_TIPS, QUEUE_TASKS_TIP, describe_job, validate
from workers.backends import DESCRIPTIONS
from workers.spec import (
    ALL_WORKLOADS,
    BACKENDS,
    GUARDS,
    HAZARDS,
    K_UNITS,
    MAX_DEPTH,
    MAX_ITEMS,
    MAX_LATENCY_MS,
    MAX_RATE_MBPS,
    MAX_TASKS,
    MAX_WORKERS,
    RunSpec,
    SpecError,
    check_folder,
)
from workers.speed import Speed

GUI_THREAD_WORKERS_TIP = (
    "gui-thread runs every task on the one GUI thread: 1 worker, whatever is typed here. "
    "Pick another back end to choose the number of workers."
)
URLS_SET_TIP = "Not used: the URLs are downloaded from their own servers."
RATE_SOURCES = {
    "guess": "a guess; a gui-thread run measures it",
    "calibration": "timed on this machine at start-up",
    "gui-thread run": "the last gui-thread run of this workload",
}

WORKLOAD_TIPS = {
    "download": "HTTP GET of N files from the app's own throttled server (or your URLs): "
    "I/O-bound.",
    "disk-write": "N files written in 1 MiB chunks, each atomically: I/O-bound "
    "(page cache, optional fsync).",
    "cpu-python": "Adler-32 in a pure-Python loop: CPU-bound, and holds the GIL.",
    "cpu-native": "SHA-256 in C (hashlib): CPU-bound, but releases the GIL.",
    "race": "Hazards lab: N workers deposit K times into one shared account with a "
    "read–compute–write; unguarded, deposits get lost. Guard: lock.",
    "deadlock": "Hazards lab: N workers transfer around a ring of accounts, taking two locks "
    "in opposite order; unguarded, they wait for each other for ever. Guard: ordered.",
    "queue": "Producers put items into a bounded queue, slower consumers checksum them in "
    "pure Python: the producers block on a full queue (backpressure).",
}
GUARD_TIP = (
    "Hazards lab: the fix. race: none or lock (a lock around read and write); deadlock: "
    "none or ordered (every worker takes the lower-numbered lock first)."
)
NO_GUARD_TIP = "Only the hazards lab's workloads (race, deadlock) have a guard."
#: The size field's label: what K counts, per workload (bytes elsewhere).
SIZE_LABELS = {"race": "&Deposits per worker", "deadlock": "&Rounds per worker"}


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
        self.backend = QComboBox()
        for i, name in enumerate(BACKENDS):
            self.backend.addItem(name)
            self.backend.setItemData(i, DESCRIPTIONS[name], Qt.ItemDataRole.ToolTipRole)
        # Minimum 0, not 1: a 0 typed in is refused with a message by the field (validate),
        # where a minimum of 1 would silently put the old value back on leaving it.
        self.workers = QSpinBox(minimum=0, maximum=MAX_WORKERS)
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
        self.guard = QComboBox()
        self.limit = QSpinBox(minimum=0, maximum=MAX_WORKERS)
        self.limit.setSpecialValueText("no limit")
        self.depth = QSpinBox(minimum=0, maximum=MAX_DEPTH)
        self.items = QSpinBox(minimum=0, maximum=MAX_ITEMS)
        self.defaults_button = QPushButton("Defaults")
        self.defaults_button.setToolTip("Put this workload's default job back in the form.")
        self.defaults_button.clicked.connect(self.reset)
        self.hint = QLabel(wordWrap=True)  # wraps rather than widening the Job dock
        self.hint.setEnabled(False)  # greyed: a remark, not an input

        self.tips = {
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
            self.guard: GUARD_TIP,
            **{getattr(self, name): tip for name, tip in HAZARD_TIPS.items()},
        }
        for widget, tip in self.tips.items():
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
            ("guard", "&Guard", self.guard, self.guard),
            ("latency_ms", "Server &latency", self.latency, self.latency),
            ("rate_mbps", "Server &rate", self.rate, self.rate),
            ("urls", "&URLs", self.urls, self.urls),
            ("folder", "&Folder", folder_row, self.folder),
            ("limit", "Li&mit", self.limit, self.limit),
            ("depth", "Queue &depth", self.depth, self.depth),
            ("items", "&Items", self.items, self.items),
        ):
            label = QLabel(text)
            label.setBuddy(buddy)  # Alt+letter focuses the field, also when it sits in a row
            if field == "size":
                self.size_label = label
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
        self.on_backend(self.backend.currentText())
        self.workload.currentTextChanged.connect(self.on_workload)
        # Before ``changed``: the fields must be right when the window reads them.
        self.backend.currentTextChanged.connect(self.on_backend)
        self.urls.textChanged.connect(self._enable_server_fields)
        self.workers.valueChanged.connect(self._queue_tasks)
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
            self.limit.valueChanged,
            self.depth.valueChanged,
            self.items.valueChanged,
        ):
            signal.connect(self.changed)

    # -- values -------------------------------------------------------------
    def raw(self) -> dict[str, object]:
        """The form as parse_spec reads it; fields the workload ignores are left out."""
        workload = self.workload.currentText()
        raw: dict[str, object] = {
            "workload": workload,
            "backend": self.backend.currentText(),
            # gui-thread runs 1 worker whatever this says; Compare all runs the other
            # back ends on the number chosen for them, not on the 1 shown.
            "workers": self._workers(),
            "tasks": self.tasks.value(),
            "size": self.size.text(),
        }
        if workload in HAZARDS:  # N = workers, one task each
            del raw["tasks"]
            raw["guard"] = self.guard.currentText()
        if workload == "download":
            raw["latency_ms"] = self.latency.value()
            raw["rate_mbps"] = self.rate.value()
            raw["urls"] = self.urls.toPlainText().split()
            raw["limit"] = self.limit.value()
        if workload == "queue":  # its tasks follow from the workers
            del raw["tasks"]
            raw["depth"], raw["items"] = self.depth.value(), self.items.value()
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

    @Slot(str)
    def on_backend(self, backend: str) -> None:
        """gui-thread has one worker: Workers shows 1, greyed, and says why; the
        number typed before comes back with another back end."""
        one = backend == "gui-thread"
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
                self.workers_wanted = max(1, min(workers, MAX_WORKERS))
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
        self.urls.setEnabled(workload == "download")
        self._enable_server_fields()
        self.fsync.setEnabled(workload == "disk-write")
        self._show_guards(workload)
        self.limit.setEnabled(workload == "download")
        for box in (self.depth, self.items):
            box.setEnabled(workload == "queue")
        self.tasks.setEnabled(workload != "queue")
        self.tasks.setToolTip(QUEUE_TASKS_TIP if workload == "queue" else self.tips[self.tasks])
        self._queue_tasks()
        self.folder.setEnabled(workload in ("download", "disk-write"))
        self.browse_button.setEnabled(self.folder.isEnabled())
        self.changed.emit()

    def _show_guards(self, workload: str) -> None:
        """The guards ``workload`` knows (none first); Tasks and Size say what N and K are."""
        hazard = workload in HAZARDS
        self.guard.blockSignals(True)  # one ``changed`` for the whole switch, from _apply
        self.guard.clear()
        self.guard.addItems(list(GUARDS.get(workload, ("none",))))
        self.guard.blockSignals(False)
        self.guard.setEnabled(hazard)
        self.guard.setToolTip(GUARD_TIP if hazard else NO_GUARD_TIP)
        self.tasks.setEnabled(not hazard)
        self.tasks.setToolTip(
            "N = workers: one task per worker." if hazard else self.tips[self.tasks]
        )
        self.size_label.setText(SIZE_LABELS.get(workload, "&Size per task"))
        self.size.setToolTip(
            f"K, the {K_UNITS[workload]} each worker makes: 300k or 300000."
            if hazard
            else self.tips[self.size]
        )

    @Slot()
    def _queue_tasks(self) -> None:
        """A queue job has one task per worker: the greyed Tasks box shows how many."""
        if self.workload.currentText() == "queue":
            self.tasks.setValue(self.workers.value())

    @Slot()
    def _enable_server_fields(self) -> None:
        """The local server's latency and rate apply to downloads from it, not to URLs."""
        urls = bool(self.urls.toPlainText().split())
        for widget in (self.latency, self.rate):
            widget.setEnabled(self.workload.currentText() == "download" and not urls)
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
        if backend in BACKENDS:
            self.backend.setCurrentText(backend)
        self.urls.setPlainText(str(settings.value("form/urls", "")))
        self.folder.setText(str(settings.value("form/folder", "")))
        self.fsync.setChecked(str(settings.value("form/fsync", "false")).lower() == "true")
