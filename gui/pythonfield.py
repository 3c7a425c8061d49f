"""The form's Python field: another interpreter for the thread back ends' work.

Empty, the work runs in this interpreter. A path (typed, or picked with
Browse…) makes ``threading`` and ``thread-pool`` run their tasks in a helper
process of that interpreter, e.g. a free-threaded ``python3.13t``, while the
window stays here (:mod:`workers.backends.otherpython`). The interpreter is
asked what it is (a subprocess, :func:`workers.pythons.inspect`) when the
field is left or a file is picked, never on a keystroke.
"""

from __future__ import annotations

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLineEdit, QPushButton, QWidget

from gui.jobs import FIELD_TIPS
from workers import pythons
from workers.fields import SpecError
from workers.names import NOT_ELSEWHERE, PYTHON_BACKENDS


class PythonField(QWidget):
    """A path and a Browse… button; ``changed`` once the interpreter was asked."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.edit = QLineEdit(placeholderText="empty: this interpreter", maxLength=4096)
        self.browse_button = QPushButton("Browse…")
        self.browse_button.clicked.connect(self.browse)
        self.edit.editingFinished.connect(self.check)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.edit, 1)
        layout.addWidget(self.browse_button)
        #: The text last asked about, the refusal ("" if none) and the interpreter.
        self.checked: tuple[str, str, pythons.Interpreter | None] | None = None
        self.for_backend("threading")

    def text(self) -> str:
        return self.edit.text().strip()

    def for_backend(self, backend: str) -> None:
        """Enabled for the back ends that can run elsewhere; greyed, saying why, for the rest."""
        able = backend in PYTHON_BACKENDS
        self.setEnabled(able)
        tip = FIELD_TIPS["python"] if able else f"Not for {backend}: {NOT_ELSEWHERE[backend]}."
        self.edit.setToolTip(tip)
        self.browse_button.setToolTip(tip)

    @Slot()
    def check(self) -> None:
        """Ask the interpreter as typed now, and say what is wrong with it."""
        text = self.text()
        if not text:
            self.checked = None
        elif self.checked is None or self.checked[0] != text:
            try:
                self.checked = (text, "", pythons.inspect(text))
            except SpecError as exc:
                self.checked = (text, exc.message, None)
        self.changed.emit()

    def result(self, *, fresh: bool = False) -> tuple[str, pythons.Interpreter | None]:
        """The refusal ("" if none) and the interpreter; (``""``, None) while the text has
        not been asked about (``fresh`` asks now)."""
        if fresh:
            self.check()
        if self.checked is not None and self.checked[0] == self.text():
            return self.checked[1], self.checked[2]
        return "", None

    def refusal(self, workload: str, *, fresh: bool = False) -> str:
        """Why this job cannot run in the interpreter set ("" if it can, if none is set,
        or while it has not been asked: the run asks again before it starts)."""
        if not (self.isEnabled() and self.text()):
            return ""
        error, interpreter = self.result(fresh=fresh)
        if interpreter is not None:
            try:
                pythons.check_workload(interpreter, workload)
            except SpecError as exc:
                return exc.message
        return error

    def value(self) -> str:
        """The spec's ``python``: the interpreter's path ("" for this interpreter)."""
        if not (self.isEnabled() and self.text()):
            return ""
        interpreter = self.result()[1]
        return interpreter.path if interpreter is not None else self.text()

    def interpreter(self) -> pythons.Interpreter | None:
        """The interpreter the work will run in, if another one is set and answered."""
        return self.result()[1] if self.isEnabled() and self.text() else None

    def set_path(self, path: str) -> None:
        self.edit.setText(path)
        self.check()

    @Slot()
    def browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Python interpreter", self.text() or "/usr/bin")
        if path:
            self.set_path(path)
