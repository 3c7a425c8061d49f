"""The back-end picker: the seven back ends, each pitfall right below the one it varies.

The pitfalls are classic mistakes made selectable (``workers.names.PITFALLS``),
to be measured against their back end. Each is marked by a warning icon and
its tooltip starts with "Pitfall:". They sit beside their back end, not in a
group of their own at the bottom: a keyboard user typing "gui-thread" from
further down the list would otherwise land on "gui-thread-process-events"
(type-ahead wraps round to the first name that starts so).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QComboBox, QStyle

from workers.backends import DESCRIPTIONS
from workers.names import BACKENDS, PITFALLS

#: The back end each pitfall varies.
VARIES = {"gui-thread-process-events": "gui-thread", "qthread-signal-per-item": "qthread"}


def backend_picker() -> QComboBox:
    """Every back end with its description as a tooltip; each pitfall, with a warning
    icon, below the back end it varies."""
    box = QComboBox()
    # Sized for the seven's names: a pitfall's longer name would widen the Job dock
    # past its default width (it shows whole in the list, elided once chosen).
    box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    box.setMinimumContentsLength(max(len(name) for name in BACKENDS))
    warning = QApplication.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)
    for name in BACKENDS:
        _add(box, name)
        for pitfall in (p for p in PITFALLS if VARIES[p] == name):
            _add(box, pitfall)
            box.setItemIcon(box.count() - 1, warning)
    return box


def _add(box: QComboBox, name: str) -> None:
    box.addItem(name)
    box.setItemData(box.count() - 1, DESCRIPTIONS[name], Qt.ItemDataRole.ToolTipRole)
