"""The code to copy: every example in ``examples/`` runs on its own, does its work,
stops when closed and leaves nothing behind; the Lessons panel shows and copies it.

Like pyqtgraph's example tests, each example runs in a subprocess, offscreen, with
``--quit-after``: it starts its work, closes its window after that long, and prints
where the work got to (``progress N%``) as the close begins.
"""

from __future__ import annotations

import ast
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from gui.codeview import example_name, load_example
from gui.lessons import LessonsPanel
from workers.names import ALL_BACKENDS, BACKENDS

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
QUIT_AFTER_S = 2.0
#: Its workers start first: each a fresh interpreter importing Qt (~0.2-0.5 s), 7 examples
#: at once on 2 busy cores here.
QUIT_AFTER_S_PROCESSES = 4.0
#: Its LocalCluster starts first, on a thread: dask imported, a scheduler, then a worker
#: process per core, each importing dask and Qt (1.1-1.9 s alone here). All at once, the
#: others' work holds the 2 cores meanwhile: its first block came 5.5-6.1 s after its
#: launch, just after the process pools closed; 7.5 s leaves ~2 s to spare.
QUIT_AFTER_S_DASK = 7.5
#: Closing waits for the block in hand (~0.1 s, a few times that on a loaded machine)
#: and the interpreter's exit; an example that ignored the cancel would go on to the
#: end of its job: closes then took 8-13 s here.
CLOSE_S = 2.5
#: How much later than the others' an example's close may begin: its event loop answers
#: the quit timer at once, unless the work blocks it (as on purpose in gui_thread_example).
LATE_S = 2.5
#: What Qt's offscreen platform prints by itself: not the example's doing.
QT_NOISE = "This plugin does not support propagateSizeHints()"


def examples() -> list[Path]:
    return sorted(EXAMPLES.glob("*_example.py"))


def same_session(leader: int) -> list[str]:
    """Processes still alive in the session ``leader`` started (its pool's workers...)."""
    out = []
    for proc in psutil.process_iter(["pid", "name", "status"]):
        try:
            if os.getsid(proc.pid) == leader and proc.info["status"] != psutil.STATUS_ZOMBIE:
                out.append(f"{proc.pid} {proc.info['name']}")
        except (ProcessLookupError, PermissionError):
            continue
    return out


class Launched:
    """One example, started; its stdout read as it comes, each line with its time."""

    def __init__(self, path: Path) -> None:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        env["QT_QPA_PLATFORM"] = "offscreen"
        self.name = path.name
        self.launched = time.monotonic()
        pool = any(name in path.name for name in ("multiprocessing", "hybrid"))
        self.quit_after = QUIT_AFTER_S_PROCESSES if pool else QUIT_AFTER_S
        if path.name == "dask_example.py":
            self.quit_after = QUIT_AFTER_S_DASK
        self.proc = subprocess.Popen(
            [sys.executable, str(path), "--quit-after", str(self.quit_after)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
            cwd=path.parent, start_new_session=True,  # its own session: its children are findable
        )  # fmt: skip
        self.lines: list[tuple[float, str]] = []
        self.children_at_close = 0
        self.stderr = ""
        self.exited = float("inf")
        self.reader = threading.Thread(target=self.read, name=f"read {path.name}")
        self.reader.start()

    def read(self) -> None:
        assert self.proc.stdout is not None and self.proc.stderr is not None
        for line in self.proc.stdout:
            self.lines.append((time.monotonic(), line.strip()))
            if line.startswith("progress"):  # the close begins: the workers are still there
                try:
                    self.children_at_close = len(psutil.Process(self.proc.pid).children())
                except psutil.Error:
                    pass
        self.stderr = self.proc.stderr.read()
        self.proc.stdout.close()
        self.proc.stderr.close()
        self.proc.wait()
        self.exited = time.monotonic()  # its pipes closed: it, and any child, are gone

    def finish(self, timeout: float) -> tuple[int, float, float]:
        """Its exit code; how late its close began (from its launch, less its
        ``--quit-after``: its start-up time, and any time its event loop was blocked);
        and the time from its close beginning to its exit."""
        code = self.proc.wait(timeout)
        self.reader.join(timeout)
        said = [t for t, line in self.lines if line.startswith("progress")]
        if not said:
            return code, float("inf"), float("inf")
        return code, said[-1] - self.launched - self.quit_after, self.exited - said[-1]

    def percent(self) -> int:
        found = [re.fullmatch(r"progress (\d+)%", line) for _, line in self.lines]
        return int(found[-1].group(1)) if found and found[-1] else -1


def test_every_example_runs_offscreen_does_its_work_and_closes_clean() -> None:
    """All at once, so the whole costs about one example's time. Each must exit 0 with
    nothing on stderr but Qt's own offscreen notice, show progress (the work ran),
    begin to close on time (the work left the event loop free), end within CLOSE_S
    of that (the work was cancelled), and leave no process behind (the pool's
    workers were shut down)."""
    launched = [Launched(path) for path in examples()]
    try:
        results = {one.name: one.finish(timeout=60) for one in launched}
    finally:
        for one in launched:
            if one.proc.poll() is None:
                os.killpg(one.proc.pid, signal.SIGKILL)
    problems = []
    on_time = min(late for _, late, _ in results.values())  # start-up, on this machine now
    for one in launched:
        code, late_s, close_s = results[one.name]
        stderr = [line for line in one.stderr.splitlines() if line.strip() and QT_NOISE not in line]
        if code != 0 or stderr:
            problems.append(f"{one.name}: exit {code}, stderr: {stderr}")
        if one.percent() < 1:
            problems.append(f"{one.name}: no progress in {one.quit_after} s: {one.lines}")
        if late_s - on_time > LATE_S and one.name != "gui_thread_example.py":
            problems.append(f"{one.name}: began to close {late_s - on_time:.1f} s late: frozen?")
        if close_s > CLOSE_S:
            problems.append(f"{one.name}: closing took {close_s:.1f} s: was its work cancelled?")
    deadline = time.monotonic() + 3  # multiprocessing's resource tracker exits just after
    while (
        (left := {o.name: same_session(o.proc.pid) for o in launched})
        and any(left.values())
        and time.monotonic() < deadline
    ):
        time.sleep(0.05)
    problems += [f"{name}: left behind {procs}" for name, procs in left.items() if procs]
    for name in ("multiprocessing_example.py", "dask_example.py"):
        pool = next(o for o in launched if o.name == name)
        # It did work in processes, its children: "left behind" means something.
        assert pool.children_at_close >= 1, name
    assert not problems, "\n".join(problems)


def test_every_back_end_has_an_example_a_learner_can_run_with_pyside6_alone() -> None:
    """One per back end, ≤ 100 lines, saying how to run it, importing nothing of unfreeze:
    a learner copies the file into an app that has only PySide6 (and qasync for asyncio,
    dask's distributed for dask)."""
    names = {p.name for p in examples()}
    assert {example_name(b) for b in BACKENDS} <= names
    for path in examples():
        allowed = set(sys.stdlib_module_names) | {"PySide6", "qasync"}
        if path.name == "dask_example.py":
            allowed |= {"dask", "distributed"}
        text = path.read_text(encoding="utf-8")
        tree = ast.parse(text)
        imported = {
            alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
            for alias in node.names
        } | {
            node.module.split(".")[0] for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module
        }  # fmt: skip
        assert imported <= allowed, f"{path.name} imports {imported - allowed}"
        assert len(text.splitlines()) <= 100, path.name
        assert f"python examples/{path.name}" in (ast.get_docstring(tree) or ""), path.name
        assert "time.sleep" not in text and "asyncio.sleep" not in text  # real work only


def test_the_lessons_panel_shows_the_selected_back_ends_example_and_copies_it_exactly(
    qtbot, window
) -> None:
    tabs = window.lessons.pages.tabBar()
    qtbot.mouseClick(tabs, Qt.MouseButton.LeftButton, pos=tabs.tabRect(1).center())
    for backend in ("qthread", "qthread-pool", "multiprocessing", "dask", "asyncio"):
        window.form.backend.setCurrentText(backend)  # as a learner picks it in the Job panel
        code = window.lessons.example
        assert code.title.text() == f"<b>{example_name(backend)}</b>"
        assert code.code.toPlainText() == load_example(backend)
        # Highlighted: a keyword is drawn in its own colour, unlike the plain text.
        line = code.code.document().findBlockByNumber(next(
            i for i, text in enumerate(code.code.toPlainText().splitlines())
            if text.startswith("import ")
        ))  # fmt: skip
        formats = line.layout().formats()
        assert formats and formats[0].start == 0 and formats[0].length == len("import")
    qtbot.mouseClick(window.lessons.example.copy_button, Qt.MouseButton.LeftButton)
    assert QApplication.clipboard().text() == (EXAMPLES / "asyncio_example.py").read_text(
        encoding="utf-8"
    )


def test_a_back_end_with_no_example_yet_says_so_and_copies_nothing(qtbot) -> None:
    """Every back end has its example now; one added without a file must not show
    another's code, nor an empty Copy."""
    backend = "a-new-back-end"
    assert backend not in ALL_BACKENDS and not (EXAMPLES / example_name(backend)).exists()
    panel = LessonsPanel()
    qtbot.addWidget(panel)
    panel.show_example(backend)
    assert "no example for a-new-back-end" in panel.example.code.toPlainText()
    assert not panel.example.copy_button.isEnabled()


def test_the_highlighter_colours_docstrings_across_lines_and_comments(qtbot) -> None:
    panel = LessonsPanel()
    qtbot.addWidget(panel)
    panel.show_example("threading")
    document, formats = panel.example.code.document(), panel.example.highlighter.formats
    lines = panel.example.source.splitlines()

    def colours(row: int) -> set[tuple[int, int, str]]:
        spans = document.findBlockByNumber(row).layout().formats()
        return {(s.start, s.length, s.format.foreground().color().name()) for s in spans}

    string = formats["string"].foreground().color().name()
    comment = formats["comment"].foreground().color().name()
    assert colours(2) == {(0, len(lines[2]), string)}  # inside the module docstring
    row = next(i for i, line in enumerate(lines) if line.startswith("import"))
    assert string not in {c for _, _, c in colours(row)}  # the docstring ended
    row = next(i for i, line in enumerate(lines) if line.endswith("# reproducible bytes"))
    start = lines[row].index("#")
    assert (start, len(lines[row]) - start, comment) in colours(row)


def test_the_lesson_and_the_code_are_each_a_whole_tab(qtbot) -> None:
    """Each gets the panel's height: at 1280 x 800, side by side or stacked, each had ~120 px."""
    panel = LessonsPanel()
    qtbot.addWidget(panel)
    panel.resize(280, 600)
    panel.show()
    tabs = panel.pages.tabBar()
    assert [tabs.tabText(i) for i in range(tabs.count())] == ["Lesson", "Code to copy"]
    assert panel.text.isVisible() and not panel.example.isVisible()
    qtbot.mouseClick(tabs, Qt.MouseButton.LeftButton, pos=tabs.tabRect(1).center())
    assert panel.example.isVisible() and not panel.text.isVisible()
    assert panel.example.height() > panel.height() - panel.titles.height() - 2 * tabs.height()
