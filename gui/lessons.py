"""The lessons panel, and the sentence that reads each run back to the learner.

:func:`readback` and :func:`compare_summary` are plain functions of records:
the numbers the learner just produced, put next to the reason they came out
that way.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable

from PySide6.QtCore import Slot
from PySide6.QtWidgets import QListWidget, QTextBrowser, QVBoxLayout, QWidget

from workers.record import RunRecord

DEFAULT_SWITCH_MS = 5.0


@dataclass(frozen=True)
class Lesson:
    key: str  # the file name without number and suffix: "gil", "asyncio"...
    title: str
    markdown: str


def lessons_folder() -> Traversable:
    """``assets/lessons``, shipped in the wheel as the package data of ``gui.assets``
    (the checkout's own folder when run from a clone that was never installed)."""
    try:
        return resources.files("gui.assets") / "lessons"
    except ModuleNotFoundError:
        return resources.files("gui").parent / "assets" / "lessons"  # type: ignore[attr-defined]


def load_lessons(folder: Traversable | None = None) -> list[Lesson]:
    """Every ``NN-key.md`` in name order; its first heading is its title."""
    out = []
    folder = folder or lessons_folder()
    for path in sorted(folder.iterdir(), key=lambda p: p.name):
        if not path.name.endswith(".md"):
            continue
        lines = path.read_text(encoding="utf-8").strip().splitlines() or [path.name]
        title = lines[0].lstrip("# ").strip()
        body = "\n".join(lines[1:]) if lines[0].startswith("#") else "\n".join(lines)
        # A level-3 heading: the panel is narrow, and the list above already names it.
        markdown = f"### {title}\n\n{body.strip()}\n"
        stem = path.name.removesuffix(".md")
        out.append(Lesson(stem.partition("-")[2] or stem, title, markdown))
    return out


def lesson_for(record: RunRecord) -> str:
    """The key of the lesson that explains ``record`` best."""
    if record.backend == "gui-thread":
        return "gui-thread"
    if record.backend == "asyncio":
        return "asyncio"
    if record.backend == "multiprocessing":
        return "processes"
    if record.workload == "cpu-python":
        return "switch-interval" if set(record.intervals_ms) != {DEFAULT_SWITCH_MS} else "gil"
    if record.workload == "cpu-native":
        return "gil"
    return "pools" if record.backend == "thread-pool" else "io-vs-cpu"


def _who(r: RunRecord) -> str:
    n = r.workers
    return {
        "gui-thread": "The GUI thread",
        "qthread": f"{n} QThread{'s' * (n != 1)}",
        "threading": f"{n} thread{'s' * (n != 1)}",
        "thread-pool": f"A pool of {n} thread{'s' * (n != 1)}",
        "multiprocessing": f"{n} process{'es' * (n != 1)}",
        "asyncio": f"{n} coroutine{'s' * (n != 1)} on the GUI thread",
    }.get(r.backend, f"{n} workers")


WHAT = {
    "cpu-python": "pure-Python work",
    "cpu-native": "C code that releases the GIL",
    "download": "downloads",
    "disk-write": "disk writes",
}


def _ms(value: float) -> str:
    return f"{value:,.1f} ms" if value < 10 else f"{value:,.0f} ms"


def _baseline(record: RunRecord, history: list[RunRecord]) -> RunRecord | None:
    """The run to compare with: the last serial one (gui-thread) of the same
    workload, else the last other run of it; only complete runs count."""
    same = [r for r in history if r.workload == record.workload and r.ok and r.throughput > 0]
    serial = [r for r in same if r.backend == "gui-thread"]
    if record.backend != "gui-thread" and serial:
        return serial[-1]
    others = [r for r in same if (r.backend, r.workers) != (record.backend, record.workers)]
    return others[-1] if others else None


def _why(r: RunRecord, speedup: float | None) -> str:
    freeze = f"{r.lag_ms['max'] / 1000:.1f} s"
    if r.backend == "gui-thread":
        return f"the event loop could not run while the work did, so the window froze for up to {freeze}"
    if r.backend == "asyncio" and r.workload.startswith("cpu"):
        return f"a coroutine that computes never awaits, so it held the loop and the window for up to {freeze}"
    if r.workload in ("download", "disk-write"):
        if r.backend == "asyncio":
            return "while one coroutine waits for its socket, the loop serves the others and the window"
        if r.backend == "multiprocessing":
            return f"processes work too, but paid {r.startup_s:.2f} s of start-up for waiting threads do as well"
        return "a thread waiting for I/O releases the GIL, so the GUI thread stays free"
    if r.backend == "multiprocessing":
        return f"each process has its own GIL, so every core works (after {r.startup_s:.2f} s of start-up)"
    if r.workload == "cpu-python":
        if r.switch_interval_ms != DEFAULT_SWITCH_MS:
            return (
                f"the GIL lets one thread run at a time, and a {r.switch_interval_ms:g} ms switch "
                "interval decides how long the GUI thread waits its turn"
            )
        return "the GIL lets one thread run at a time"
    if speedup is not None and speedup < 1.3:
        return "hashlib releases the GIL, but this run did not gain from it (other programs busy?)"
    return "hashlib releases the GIL, so threads run on every core"


def readback(record: RunRecord, history: list[RunRecord]) -> str:
    """One sentence that reads the measured result back to the learner.

    >>> "4 threads on pure-Python work: 1.0× the throughput of one (gui-thread), "
    ... "UI lag p99 131 ms — the GIL lets one thread run at a time."  # doctest: +SKIP
    """
    lag = f"UI lag p99 {_ms(record.lag_ms['p99'])}"
    head = f"{_who(record)} on {WHAT.get(record.workload, record.workload)}"
    if not record.ok:
        done = f"{record.done} of {record.tasks} tasks done"
        if record.failed:
            first = record.errors[0] if record.errors else "no reason given"
            return f"{head}: {done}, {record.failed} failed ({first}), {lag}."
        return f"{head}: cancelled with {done}, {lag}."
    base = _baseline(record, history)
    speedup = record.throughput / base.throughput if base is not None else None
    if base is None or speedup is None:
        speed = f"{record.throughput:,.1f} MB/s"
    elif base.backend == "gui-thread":
        speed = f"{speedup:.1f}× the throughput of one (gui-thread)"
    else:
        speed = f"{speedup:.1f}× the throughput of {base.backend} ({base.workers} workers)"
    return f"{head}: {speed}, {lag} — {_why(record, speedup)}."


def compare_summary(records: list[RunRecord]) -> str:
    """What a Compare all showed, in one sentence."""
    ok = [r for r in records if r.ok]
    if not ok:
        return "Compare all: no run completed."
    fastest = max(ok, key=lambda r: r.throughput)
    smoothest = min(ok, key=lambda r: r.lag_ms["p99"])
    worst = max(ok, key=lambda r: r.lag_ms["max"])
    text = (
        f"Compare all on {ok[0].workload}: fastest {fastest.backend} "
        f"({fastest.throughput:,.1f} MB/s), smoothest {smoothest.backend} "
        f"(UI lag p99 {_ms(smoothest.lag_ms['p99'])})"
    )
    if worst.lag_ms["max"] >= 100:
        text += f"; {worst.backend} froze the window for up to {worst.lag_ms['max'] / 1000:.1f} s"
    missing = len(records) - len(ok)
    return text + (f"; {missing} run(s) did not complete." if missing else ".")


class LessonsPanel(QWidget):
    """A list of short lessons; the one that explains the last run is selected."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.lessons = load_lessons()
        self.titles = QListWidget()
        self.titles.addItems([lesson.title for lesson in self.lessons] or ["(lessons not found)"])
        rows = max(1, len(self.lessons))
        self.titles.setFixedHeight(
            self.titles.sizeHintForRow(0) * rows + 2 * self.titles.frameWidth() + 2
        )
        self.text = QTextBrowser()
        self.text.setOpenExternalLinks(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.titles)
        layout.addWidget(self.text, 1)
        self.titles.currentRowChanged.connect(self.show_row)
        self.titles.setCurrentRow(0)

    @Slot(int)
    def show_row(self, row: int) -> None:
        if 0 <= row < len(self.lessons):
            self.text.setMarkdown(self.lessons[row].markdown)

    def show_lesson(self, key: str) -> None:
        for row, lesson in enumerate(self.lessons):
            if lesson.key == key:
                self.titles.setCurrentRow(row)
                return
