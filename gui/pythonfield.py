"""The form's Python field: another interpreter for the thread back ends' work.

Empty, the work runs in this interpreter. A path (typed, or picked with
Browse…) makes ``threading`` and ``thread-pool`` run their tasks in a helper
process of that interpreter, e.g. a free-threaded ``python3.13t``, while the
window stays here (:mod:`workers.backends.otherpython`).

The interpreter is asked what it is (a subprocess, :func:`workers.pythons.inspect`,
0.1-0.6 s) when the field is left or a file is picked, never on a keystroke and
never on the GUI thread: on that thread the question froze the window for as long
as it took. A plain thread asks; the answer comes back by a queued signal to a slot
of the field, and the field says "asking…" meanwhile. An answer about a text the
field no longer holds is dropped, so a slow old answer never overwrites a newer
one. A Start clicked meanwhile waits for the answer (gui/window.py). Closing the
window stops the asks and kills their processes.
"""

from __future__ import annotations

import threading
import time

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from gui.jobs import FIELD_TIPS
from workers import pythons
from workers.fields import SpecError
from workers.names import NOT_ELSEWHERE, PYTHON_BACKENDS

ASKING = "asking…"


class PythonField(QWidget):
    """A path and a Browse… button; ``changed`` once an ask starts and once it is answered."""

    changed = Signal()
    #: From an asking thread: the text asked, the refusal ("" if none), the interpreter.
    answered = Signal(str, str, object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.edit = QLineEdit(placeholderText="empty: this interpreter", maxLength=4096)
        self.browse_button = QPushButton("Browse…")
        self.browse_button.clicked.connect(self.browse)
        self.edit.editingFinished.connect(self.check)
        self.status = QLabel()  # "asking…" while the text shown is being asked about
        self.status.setEnabled(False)  # greyed: a remark, not an input
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.edit, 1)
        layout.addWidget(self.status)
        layout.addWidget(self.browse_button)
        #: The text last answered about, the refusal ("" if none) and the interpreter.
        self.checked: tuple[str, str, pythons.Interpreter | None] | None = None
        #: The asks in flight, by the text they ask about.
        self.asks: dict[str, threading.Thread] = {}
        self.stop = threading.Event()  # set on close: asks kill their process and say nothing
        self.answered.connect(self.on_answer)  # queued: emitted by the asking thread
        self.destroyed.connect(self.stop.set)
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
        """Ask about the text as typed now, unless it is answered or being asked already."""
        text = self.text()
        if not text:
            self.checked = None
        elif self.answer() is None and text not in self.asks and not self.stop.is_set():
            thread = threading.Thread(target=self._ask, args=(text,), name="python-ask")
            self.asks[text] = thread
            thread.start()
        self.status.setText(ASKING if text in self.asks else "")
        self.changed.emit()

    def _ask(self, text: str) -> None:
        """On the asking thread: the question, and the answer sent to the GUI thread."""
        try:
            error, interpreter = "", pythons.inspect(text, self.stop)
        except SpecError as exc:
            error, interpreter = exc.message, None
        if self.stop.is_set():
            return
        try:
            self.answered.emit(text, error, interpreter)
        except RuntimeError:  # the field was destroyed after the look at ``stop``
            pass

    @Slot(str, str, object)
    def on_answer(self, text: str, error: str, interpreter: pythons.Interpreter | None) -> None:
        """An answer arrived: kept if the field still holds its text, else dropped."""
        self.asks.pop(text, None)
        self.status.setText(ASKING if self.text() in self.asks else "")
        if text != self.text():
            return
        self.checked = text, error, interpreter
        self.changed.emit()

    def answer(self) -> tuple[str, pythons.Interpreter | None] | None:
        """The refusal ("" if none) and the interpreter for the text shown; None while
        it has no answer."""
        if self.checked is not None and self.checked[0] == self.text():
            return self.checked[1], self.checked[2]
        return None

    def waiting(self) -> bool:
        """Another interpreter is set but not answered yet: a run must wait for it."""
        return bool(self.isEnabled() and self.text()) and self.answer() is None

    def refusal(self, workload: str) -> str:
        """Why this job cannot run in the interpreter set ("" if it can, if none is set,
        or while it has not answered: Start waits for the answer)."""
        if not (self.isEnabled() and self.text()):
            return ""
        error, interpreter = self.answer() or ("", None)
        if interpreter is not None:
            try:
                pythons.check_workload(interpreter, workload)
            except SpecError as exc:
                return exc.message
        return error

    def value(self) -> str:
        """The spec's ``python``: the interpreter's path ("" for this interpreter)."""
        interpreter = self.interpreter()
        if interpreter is not None:
            return interpreter.path
        return self.text() if self.isEnabled() else ""

    def interpreter(self) -> pythons.Interpreter | None:
        """The interpreter the work will run in, if another one is set and answered."""
        answer = self.answer() if self.isEnabled() and self.text() else None
        return answer[1] if answer is not None else None

    def set_path(self, path: str) -> None:
        self.edit.setText(path)
        self.check()

    @Slot()
    def browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Python interpreter", self.text() or "/usr/bin")
        if path:
            self.set_path(path)

    def stop_asking(self, timeout: float = 1.0) -> None:
        """At close: every ask kills its process (within ``pythons.STOP_POLL_S``) and
        ends without answering; its thread is joined, ``timeout`` at most in all."""
        self.stop.set()
        deadline = time.perf_counter() + timeout
        for thread in self.asks.values():
            thread.join(max(0.0, deadline - time.perf_counter()))
