"""Small helpers shared by the tests: run a back end to the end, collect events."""

from __future__ import annotations

from workers import backends
from workers.backends.base import Run
from workers.core import Event, Task


def drive(qtbot, run: Run, timeout_ms: int = 20_000) -> list[Event]:
    """Drain ``run`` while Qt's event loop spins, until every task is final."""
    events: list[Event] = []

    def finished() -> bool:
        events.extend(run.drain())
        return run.finished

    try:
        qtbot.waitUntil(finished, timeout=timeout_ms)
    finally:
        run.close()
        events.extend(run.drain())
    return events


def start(backend: str, tasks: list[Task], workers: int = 2) -> Run:
    return backends.start(backend, tasks, workers)


def finals(events: list[Event]) -> dict[int, Event]:
    return {e.task: e for e in events if e.final}
