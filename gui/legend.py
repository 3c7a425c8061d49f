"""The lag plot's legend: a label of links, one per run, that hide or show it.

QLabel does the layout and the clicks; these functions write its rich text and
count the lines it takes, so the plots can name as many runs as two lines hold.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from PySide6.QtGui import QPalette, QTextDocument
from PySide6.QtWidgets import QLabel

from gui.style import STYLES
from gui.trace import Trace

HIDDEN_TEXT = "#999999"


def legend_text(traces: Sequence[Trace], earlier: int, palette: QPalette) -> str:
    """Each run from ``earlier`` on: its line's colour and style, then its name, struck
    out while hidden. The runs before ``earlier`` share one link that hides or shows them."""
    colour = palette.color(QPalette.ColorRole.WindowText).name()
    entries = []
    if earlier:
        hidden = not all(t.visible for t in traces[:earlier])  # a click shows them all
        entries.append(
            f'<a href="earlier" style="text-decoration:none">({earlier} earlier: '
            f"{'show' if hidden else 'hide'})</a>"
        )
    for i, t in enumerate(traces[earlier:], start=earlier):
        # No-break spaces and hyphens: QLabel wraps between entries, never inside one.
        name = html.escape(t.label).replace(" ", "&nbsp;").replace("-", "\u2011")
        if t.visible:
            line, name = t.colour, f'<span style="color:{colour}">{name}</span>'
        else:
            line, name = HIDDEN_TEXT, f'<s style="color:{HIDDEN_TEXT}">{name}</s>'
        entries.append(
            f'<a href="{i}" style="text-decoration:none">'
            f'<span style="color:{line}">{STYLES[t.style][1]}</span>&nbsp;{name}</a>'
        )
    return "&nbsp;&nbsp;&nbsp; ".join(entries)


def lines_in(label: QLabel, text: str) -> int:
    """How many lines ``text`` takes in ``label``, laid out as the label will."""
    width = label.contentsRect().width()
    if width <= 0:  # not laid out yet
        return 1
    doc = QTextDocument()
    doc.setDefaultFont(label.font())
    doc.setDocumentMargin(0)
    doc.setHtml(text)
    doc.setTextWidth(width)
    return round(doc.size().height() / label.fontMetrics().lineSpacing())
