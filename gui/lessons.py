"""The lessons: short texts in ``assets/lessons``, and which one explains a run.

Beneath the lesson (beside it when the panel is wide and short), the selected back
end's example program (:mod:`gui.codeview`): the pattern next to its measured effect.
The sentences that read a run back to the learner are :mod:`gui.readback`.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable

from PySide6.QtCore import Slot
from PySide6.QtWidgets import QListWidget, QTabWidget, QTextBrowser, QVBoxLayout, QWidget

from gui.codeview import CodeView
from workers.names import HAZARDS
from workers.record import RunRecord

DEFAULT_SWITCH_MS = 5.0
TITLE_ROWS = 5  # lesson titles in view at once
#: The lesson on semaphores (a download's connection limit) and bounded queues.
QUEUES = "semaphores-and-queues"
#: Each pitfall's own lesson, whatever the job.
PITFALL_LESSONS = {
    "gui-thread-process-events": "process-events",
    "qthread-signal-per-item": "signal-per-item",
}
#: The lesson on another interpreter's threads (``--python``), free-threaded ones above all.
FREE_THREADING = "free-threading"
#: The lesson on a pipeline of stages of different kinds, run apart or in turn.
PIPELINE = "pipeline"


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


def compare_lesson(workload: str) -> str:
    """The key of the lesson a Compare all of ``workload`` points to, once it is over."""
    if workload in HAZARDS:
        return workload
    if workload == "queue":
        return QUEUES
    if workload == "pipeline":
        return PIPELINE
    return "gil" if workload.startswith("cpu") else "io-vs-cpu"


def lesson_key(
    workload: str, backend: str, switch_interval_ms: float = DEFAULT_SWITCH_MS, python: str = ""
) -> str:
    """The key of the lesson that explains ``workload`` on ``backend`` best (``python``:
    the other interpreter its threads run in, if any)."""
    if backend in PITFALL_LESSONS:
        return PITFALL_LESSONS[backend]
    if workload in HAZARDS:  # race, deadlock: each its own lesson on every back end
        return workload
    if python:  # threads in another Python (--python)
        return FREE_THREADING
    if workload == "queue":
        return QUEUES
    if workload == "pipeline":  # on every back end: where each stage runs is its lesson
        return PIPELINE
    if backend == "gui-thread":
        return "gui-thread"
    if backend == "asyncio":
        return "asyncio"
    if backend == "multiprocessing":
        return "processes"
    if backend == "dask":
        return "dask"
    if workload == "cpu-python":
        return "switch-interval" if switch_interval_ms != DEFAULT_SWITCH_MS else "gil"
    if workload == "cpu-native":
        return "gil"
    return "pools" if backend in ("thread-pool", "qthread-pool") else "io-vs-cpu"


def lesson_for(record: RunRecord) -> str:
    """The key of the lesson that explains ``record`` best."""
    if record.limit:  # a download through a semaphore: the lesson on what it shows
        return QUEUES
    switch = next((ms for ms in record.intervals_ms if ms != DEFAULT_SWITCH_MS), DEFAULT_SWITCH_MS)
    return lesson_key(record.workload, record.backend, switch, record.python_path)


class LessonsPanel(QWidget):
    """A list of short lessons, the one that explains the last run selected, and the
    selected back end's example program to copy."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.lessons = load_lessons()
        self.titles = QListWidget()
        self.titles.addItems([lesson.title for lesson in self.lessons] or ["(lessons not found)"])
        # At most TITLE_ROWS tall, scrolling for the rest: each lesson more would
        # otherwise raise the window's minimum height past a laptop's screen.
        rows = max(1, min(len(self.lessons), TITLE_ROWS))
        self.titles.setFixedHeight(
            self.titles.sizeHintForRow(0) * rows + 2 * self.titles.frameWidth() + 2
        )
        self.text = QTextBrowser()
        self.text.setOpenExternalLinks(True)
        self.example = CodeView()
        # Two tabs, each the panel's whole height: side by side or one above the other,
        # a lesson and a program were each ~120 px tall in a 1280 x 800 window.
        self.pages = QTabWidget(documentMode=True)
        self.pages.addTab(self.text, "Lesson")
        self.pages.addTab(self.example, "Code to copy")
        self.pages.setTabToolTip(1, "The selected back end's pattern as a small program to copy")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.titles)
        layout.addWidget(self.pages, 1)
        self.titles.currentRowChanged.connect(self.show_row)
        self.titles.setCurrentRow(0)

    @Slot(int)
    def show_row(self, row: int) -> None:
        if 0 <= row < len(self.lessons):
            self.text.setMarkdown(self.lessons[row].markdown)

    def show_example(self, backend: str) -> None:
        self.example.show_backend(backend)

    def show_lesson(self, key: str) -> None:
        for row, lesson in enumerate(self.lessons):
            if lesson.key == key:
                self.titles.setCurrentRow(row)
                return
