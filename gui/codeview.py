"""The code to copy: each back end's example program, highlighted, with a Copy button.

The programs are ``examples/*.py`` at the top of the repository, shipped in the
wheel as ``gui.examples`` (one copy: what the learner runs is what the panel shows).
Qt has no Python highlighter, and the app takes no dependency for one: a small
:class:`QSyntaxHighlighter` colours keywords, strings, comments and decorators.
"""

from __future__ import annotations

import keyword
import re
from importlib import resources
from importlib.resources.abc import Traversable

from PySide6.QtCore import QEvent, Qt, Slot
from PySide6.QtGui import (
    QColor,
    QFontDatabase,
    QPalette,
    QSyntaxHighlighter,
    QTextCharFormat,
    QTextDocument,
)
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)


def examples_folder() -> Traversable:
    """``examples/``: shipped as ``gui.examples``; the checkout's own folder when run
    from a clone that was never installed."""
    try:
        return resources.files("gui.examples")
    except ModuleNotFoundError:
        return resources.files("gui").parent / "examples"  # type: ignore[attr-defined]


#: A pitfall has no program of its own to copy: the panel shows its fix.
FIXES = {"gui-thread-process-events": "qthread", "qthread-signal-per-item": "qthread"}


def example_name(backend: str) -> str:
    """``thread-pool`` -> ``thread_pool_example.py`` (never ``threading.py``: a script
    named after a module of the standard library hides it from itself); a pitfall's
    fix's program."""
    return f"{FIXES.get(backend, backend).replace('-', '_')}_example.py"


def load_example(backend: str) -> str | None:
    """The text of ``backend``'s example, or None if it has none."""
    path = examples_folder() / example_name(backend)
    return path.read_text(encoding="utf-8") if path.is_file() else None


# Which spans get which colour, in order: a later rule wins where two overlap.
_RULES = [
    ("keyword", re.compile(r"\b(?:" + "|".join(keyword.kwlist + keyword.softkwlist) + r")\b")),
    ("builtin", re.compile(r"\b(?:self|super|print|range|len|isinstance|int|str|float)\b")),
    ("number", re.compile(r"\b\d[\d_]*\b")),
    ("decorator", re.compile(r"^\s*@[\w.]+")),
    ("string", re.compile(r"""[rbf]*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')""")),
    ("comment", re.compile(r"#.*$")),
]
_TRIPLE = '"""'
#: Colours that read on a light and on a dark background: (light, dark).
_COLOURS = {
    "keyword": ("#0033b3", "#cf8e6d"),
    "builtin": ("#8a2be2", "#b589ec"),
    "number": ("#1750eb", "#2aacb8"),
    "decorator": ("#9e880d", "#b3ae60"),
    "string": ("#067d17", "#6aab73"),
    "comment": ("#6e6e6e", "#8c8c8c"),
}
_IN_DOCSTRING = 1  # block state: the block ends inside a triple-quoted string


class PythonHighlighter(QSyntaxHighlighter):
    """Keywords, strings, comments, decorators, numbers; triple-quoted strings may
    span lines (the block state carries "inside one" to the next line)."""

    def __init__(self, document: QTextDocument, dark: bool = False) -> None:
        super().__init__(document)
        self.formats: dict[str, QTextCharFormat] = {}
        self.set_dark(dark)

    def set_dark(self, dark: bool) -> None:
        for name, colours in _COLOURS.items():
            fmt = QTextCharFormat()
            fmt.setForeground(QColor(colours[dark]))
            if name == "keyword":
                fmt.setFontWeight(600)
            self.formats[name] = fmt
        self.rehighlight()

    def highlightBlock(self, text: str) -> None:
        start = 0
        if self.previousBlockState() == _IN_DOCSTRING:
            end = text.find(_TRIPLE)
            if end < 0:
                self.setFormat(0, len(text), self.formats["string"])
                self.setCurrentBlockState(_IN_DOCSTRING)
                return
            start = end + len(_TRIPLE)
            self.setFormat(0, start, self.formats["string"])
        self.setCurrentBlockState(0)
        rest = text[start:]
        for name, pattern in _RULES:
            for match in pattern.finditer(rest):
                self.setFormat(start + match.start(), len(match.group()), self.formats[name])
        opened = rest.find(_TRIPLE)
        if opened >= 0 and rest.find(_TRIPLE, opened + len(_TRIPLE)) < 0:
            self.setFormat(start + opened, len(rest) - opened, self.formats["string"])
            self.setCurrentBlockState(_IN_DOCSTRING)


class CodeView(QWidget):
    """One back end's example: its file name, a Copy button, and the code."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.backend = ""
        self.source = ""  # the file's exact text: what Copy puts on the clipboard
        self.title = QLabel()
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # A long file name is cut, never widens the panel: the plots need the width.
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.copy_button = QPushButton("Copy")
        self.copy_button.setToolTip("Copy this program to the clipboard")
        self.copy_button.clicked.connect(self.copy)
        self.code = QPlainTextEdit(readOnly=True)
        self.code.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.code.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.highlighter = PythonHighlighter(self.code.document(), self._dark())
        header = QHBoxLayout()
        header.setContentsMargins(0, 0, 0, 0)
        header.addWidget(self.title, 1)
        header.addWidget(self.copy_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(header)
        layout.addWidget(self.code, 1)

    def show_backend(self, backend: str) -> None:
        if backend == self.backend:
            return
        self.backend = backend
        self.source = load_example(backend) or ""
        name = example_name(backend)
        fix = " — the fix for this pitfall" if backend in FIXES else ""
        self.title.setText(f"<b>{name}</b>{fix}" if self.source else "")
        self.title.setToolTip(
            f"The code to copy: examples/{name} in the repository.\n"
            f"Run it with: python examples/{name}"
            if self.source
            else ""
        )
        self.code.setPlainText(self.source or f"(no example for {backend} yet)")
        self.copy_button.setEnabled(bool(self.source))

    @Slot()
    def copy(self) -> None:
        QApplication.clipboard().setText(self.source)

    def _dark(self) -> bool:
        return self.code.palette().color(QPalette.ColorRole.Base).lightness() < 128

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:  # the theme changed
            self.highlighter.set_dark(self._dark())
