"""The engine's boundaries, enforced: ``workers`` never imports the window or widgets,
only the back ends built on Qt (its threads, its pool, its loop) touch ``PySide6.QtCore``,
and a job's names, field checks and assembly import downwards only."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORKERS = ROOT / "workers"
#: The back ends built on Qt: its threads, its pool, or the GUI thread's Qt loop.
QT_BOUND = {
    "workers.backends.qthread",
    "workers.backends.qthreadpool",
    "workers.backends.guithread",
    "workers.backends.aio",
    # the pitfalls, each a variant of one of the above
    "workers.backends.processevents",
    "workers.backends.signalperitem",
}
#: A job's three layers, each importing only those below it (and no other of ours):
#: the names and tables, which anything may import, the check of each field, and
#: the assembly of a whole job. ``pythons`` is the interpreter the python field names.
SPEC_LAYERS = {
    "workers.names": set(),
    "workers.fields": {"workers.names", "workers.core", "workers.pythons"},
    "workers.spec": {"workers.names", "workers.fields"},
}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Every module ``path`` imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def test_no_engine_module_names_the_window_or_widgets() -> None:
    bad = []
    for path in sorted(WORKERS.rglob("*.py")):
        name = module_name(path)
        for imported in imports(path):
            top = imported.split(".")
            if top[0] in ("gui", "pyqtgraph") or imported.startswith(
                ("PySide6.QtWidgets", "PySide6.QtGui")
            ):
                bad.append(f"{name} imports {imported}")
            elif top[0] in ("PySide6", "qasync") and name not in QT_BOUND:
                bad.append(f"{name} imports {imported} (only {sorted(QT_BOUND)} may)")
    assert not bad, "\n".join(bad)


def test_importing_the_engine_loads_no_qt_at_all() -> None:
    """What spawned workers import: not even transitively may it pull Qt in."""
    plain = sorted(module_name(p) for p in WORKERS.rglob("*.py") if module_name(p) not in QT_BOUND)
    code = (
        "import importlib, sys\n"
        f"for name in {plain!r}: importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'gui', 'pyqtgraph')))\n"
        f"for name in {sorted(QT_BOUND)!r}: importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m.startswith(('PySide6.QtWidgets', 'PySide6.QtGui', 'gui', 'pyqtgraph'))))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout.splitlines()
    assert out == ["[]", "[]"], out


def test_the_spec_layers_import_only_the_layers_below() -> None:
    """names <- fields <- spec: the vocabulary stays free of the checks' imports, and
    no check imports the assembly that calls it (a cycle)."""
    ours = {module_name(p) for p in WORKERS.rglob("*.py")} | {
        module_name(p) for p in (ROOT / "gui").rglob("*.py")
    }
    bad = []
    for name, allowed in SPEC_LAYERS.items():
        path = ROOT / Path(*name.split(".")).with_suffix(".py")
        used = {i for i in imports(path) if i in ours and i not in ("workers", "gui")}
        bad += [f"{name} imports {i} (it may import {sorted(allowed)})" for i in used - allowed]
    assert not bad, "\n".join(bad)
