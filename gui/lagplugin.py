"""The pytest plugin: fail a GUI test when its window froze on the way.

Installed with unfreeze through the ``pytest11`` entry point ``unfreeze``
(``-p no:unfreeze`` turns it off). It gives the fixture ``ui_lag`` and the
marker ``responsive``::

    def test_export(qtbot, ui_lag, window):
        with ui_lag.watch() as lag:
            ...
        assert lag.p99_ms < 50, lag.report()

    @pytest.mark.responsive(p99_ms=50)
    def test_export(qtbot, window): ...

It is loaded into every pytest session where unfreeze is installed, so it
imports Qt only once a test asks for it, and only PySide6 (the probe is a
PySide6 QObject): a session whose pytest-qt runs another binding is told so.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from gui.lagwatch import LagWatch

#: The bounds the marker takes: each names a LagWatch attribute.
BOUNDS = ("p50_ms", "p95_ms", "p99_ms", "max_ms", "frozen_s")
PNG_OPTION = "--ui-lag-png"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("unfreeze").addoption(
        PNG_OPTION,
        metavar="DIR",
        default=None,
        help="save a PNG of the UI lag of every ui_lag watch and responsive test in DIR",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "responsive(p99_ms=50, max_ms=..., frozen_s=...): fail the test if the GUI thread's "
        "event loop lagged more than this while the test ran (unfreeze's probe)",
    )


def _pyside6_only(app: object) -> None:
    binding = type(app).__module__.split(".")[0]
    if binding != "PySide6":
        pytest.fail(
            f"unfreeze's ui_lag measures a PySide6 event loop; this session's QApplication "
            f"is {binding}'s (set qt_api = pyside6 for pytest-qt)",
            pytrace=False,
        )


class UiLag:
    """The ``ui_lag`` fixture: ``with ui_lag.watch() as lag:`` measures the lag of
    the GUI thread's event loop while the block runs (see gui.lagwatch)."""

    def __init__(self, png_dir: Path | None, name: str) -> None:
        self.png_dir, self.name = png_dir, name
        self.watches: list[LagWatch] = []

    @contextmanager
    def watch(self, interval_ms: int | None = None) -> Iterator[LagWatch]:
        from gui.lagwatch import INTERVAL_MS, watch_lag

        with watch_lag(interval_ms or INTERVAL_MS) as lag:
            self.watches.append(lag)
            yield lag
        if self.png_dir is not None:
            self.png_dir.mkdir(parents=True, exist_ok=True)
            lag.save_png(self.png_dir / f"{self.name}-{len(self.watches)}.png")


def _ui_lag_of(config: pytest.Config, nodeid: str) -> UiLag:
    png = config.getoption(PNG_OPTION)
    name = re.sub(r"[^\w.-]+", "_", nodeid).strip("_")
    return UiLag(Path(png) if png else None, name)


@pytest.fixture
def ui_lag(qapp: object, request: pytest.FixtureRequest) -> UiLag:
    """Measures how late the GUI thread's event loop runs: ``with ui_lag.watch() as lag``;
    then ``lag.p50_ms / p95_ms / p99_ms / max_ms / frozen_s``, ``lag.samples`` and
    ``lag.report()`` (names the worst stall and when it happened)."""
    _pyside6_only(qapp)
    return _ui_lag_of(request.config, request.node.nodeid)


def _bounds(marker: pytest.Mark) -> dict[str, float]:
    unknown = sorted(set(marker.kwargs) - set(BOUNDS))
    if marker.args or unknown or not marker.kwargs:
        raise pytest.UsageError(
            f"@pytest.mark.responsive takes bounds by name, one or more of {', '.join(BOUNDS)}"
            + (f"; not {', '.join(unknown)}" if unknown else "")
            + (f"; got positional {marker.args}" if marker.args else "")
        )
    return {name: float(value) for name, value in marker.kwargs.items()}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A misspelt bound is a usage error at collection, not a test that always passes."""
    for item in items:
        marker = item.get_closest_marker("responsive")
        if marker is not None:
            _bounds(marker)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Watch the test's call (not its fixtures' set-up) and fail it past the bounds."""
    marker = item.get_closest_marker("responsive")
    if marker is None:
        return (yield)
    if "PySide6.QtCore" not in sys.modules:  # never load a second Qt next to another binding
        pytest.fail("@pytest.mark.responsive measures a PySide6 app: none is loaded", pytrace=False)
    from PySide6.QtCore import QCoreApplication

    app = QCoreApplication.instance()
    if app is None:
        pytest.fail(
            "@pytest.mark.responsive needs a QApplication: use qtbot or qapp", pytrace=False
        )
    bounds = _bounds(marker)
    with _ui_lag_of(item.config, item.nodeid).watch() as lag:
        result = yield
    over = [f"{name} {getattr(lag, name):g} > {bound:g}" for name, bound in bounds.items()
            if getattr(lag, name) > bound]  # fmt: skip
    if over:
        pytest.fail(f"the GUI thread lagged: {', '.join(over)}\n{lag.report()}", pytrace=False)
    return result
