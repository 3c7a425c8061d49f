"""The back-end picker: the seven back ends, then the pitfalls under a heading.

The pitfalls are classic mistakes made selectable (``workers.spec.PITFALLS``),
so they can be measured against the back end they vary; the heading says so,
and each one's tooltip starts with "Pitfall:".
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import QComboBox

from workers.backends import DESCRIPTIONS
from workers.spec import BACKENDS, PITFALLS

#: Above the pitfalls in the list: a heading, not a choice.
PITFALLS_HEADING = "— pitfalls, to measure —"


def backend_picker() -> QComboBox:
    """Every back end with its description as a tooltip; below a separator and a
    heading that cannot be picked, the pitfalls."""
    box = QComboBox()
    for name in BACKENDS:
        _add(box, name)
    box.insertSeparator(box.count())
    box.addItem(PITFALLS_HEADING)
    model = box.model()
    if isinstance(model, QStandardItemModel):  # a QComboBox's own model
        heading = model.item(box.count() - 1)
        heading.setEnabled(False)
        heading.setSelectable(False)
    for name in PITFALLS:
        _add(box, name)
    return box


def _add(box: QComboBox, name: str) -> None:
    box.addItem(name)
    box.setItemData(box.count() - 1, DESCRIPTIONS[name], Qt.ItemDataRole.ToolTipRole)
