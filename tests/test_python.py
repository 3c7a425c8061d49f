"""``--python``: the thread back ends' work in a helper process of another interpreter.

Run with another CPython found on this machine (pyenv's versions, or python3.N on
PATH; skipped where there is none): the run completes and verifies, the record
names that interpreter, the work ran in another process; cancel and close leave
no process and no partial file; bad interpreters are refused by name.
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import threading
import time

import psutil
import pytest

from gui.controller import RunController
from gui.controls import JobForm
from gui.menus import facts_text
from gui.pythonfield import ASKING
from tests.helpers import other_python
from workers import backends, pythons, workloads
from workers.fields import SpecError
from workers.spec import parse_spec
from workers.speed import Speed

OTHER = other_python()
needs_other = pytest.mark.skipif(
    OTHER is None, reason="no other CPython 3.11+ here (pyenv versions, python3.N on PATH)"
)


def _spec(workload: str = "cpu-python", backend: str = "threading", **raw: object):
    assert OTHER is not None
    job = {"workload": workload, "backend": backend, "workers": 2, "python": OTHER.path}
    return parse_spec(job | raw)


@needs_other
def test_a_run_in_another_python_verifies_and_its_record_names_that_interpreter(qtbot) -> None:
    controller = RunController()
    try:
        spec = _spec(tasks=4, size="1MB")
        with qtbot.waitSignal(controller.run_finished, timeout=30_000) as finished:
            controller.submit(spec)
        r = finished.args[0]
    finally:
        controller.shutdown()
    assert r.ok and r.done == 4, r.errors
    assert (r.python_version, r.gil_enabled, r.python_path) == (
        OTHER.version,
        OTHER.gil_enabled,
        OTHER.path,
    )
    assert r.python_version != ".".join(map(str, sys.version_info[:3])) or r.python_path
    lanes = {s.worker for s in r.timeline}
    pids = {int(w.split()[1]) for w in lanes}
    assert len(pids) == 1 and os.getpid() not in pids, lanes  # one helper, not us
    assert len(lanes) == 2, lanes  # its two threads, each a lane
    assert len(r.worker_rss_mb) == 1  # what the run cost counts the helper


@needs_other
def test_cancel_stops_the_helper_at_a_chunk_and_leaves_no_process(qtbot) -> None:
    spec = _spec(tasks=8, size="16MB")
    run = backends.start("threading", workloads.make_tasks(spec), 2, python=OTHER.path)
    try:
        _until(qtbot, run, lambda: len(run.started) >= 2)
        pid = run.worker_processes()[0]
        assert pid != os.getpid()
        t0 = time.perf_counter()
        run.cancel()
        _until(qtbot, run, lambda: run.finished)
        assert time.perf_counter() - t0 < 1.0  # at the next chunk, not after the grace
    finally:
        run.close()
    assert {e.kind for e in run.verdicts.values()} == {"cancelled"}
    assert not _running(pid) and run.proc.returncode == 0  # it stopped by itself, cleanly


@needs_other
def test_close_mid_write_leaves_no_process_and_only_whole_files(qtbot, tmp_path) -> None:
    spec = _spec("disk-write", tasks=8, size="48MB", folder=str(tmp_path))
    run = backends.start("thread-pool", workloads.make_tasks(spec, folder=str(tmp_path)), 2,
                         python=OTHER.path)  # fmt: skip
    _until(qtbot, run, lambda: len(run.started) >= 2)
    pid = run.worker_processes()[0]
    t0 = time.perf_counter()
    run.close()
    assert time.perf_counter() - t0 < 3.0
    assert not _running(pid)
    assert len(run.verdicts) == 8
    for path in tmp_path.iterdir():
        assert not path.name.startswith(".unfreeze-"), path  # no temp file left
        assert path.stat().st_size == spec.size, path  # a final name holds a whole file


@needs_other
def test_a_helper_killed_from_outside_fails_its_tasks_saying_so(qtbot) -> None:
    spec = _spec(tasks=6, size="16MB")
    run = backends.start("threading", workloads.make_tasks(spec), 2, python=OTHER.path)
    try:
        _until(qtbot, run, lambda: len(run.started) >= 2)
        os.kill(run.worker_processes()[0], signal.SIGKILL)
        _until(qtbot, run, lambda: run.finished)
    finally:
        run.close()
    failed = [e for e in run.verdicts.values() if e.kind == "failed"]
    assert len(failed) == 6, run.verdicts  # none ran to the end: 16 MB take ~0.5 s each
    assert all(f"{OTHER.name} helper exited with status -9" in e.detail for e in failed)


def _until(qtbot, run, condition) -> None:
    def check() -> bool:
        run.drain()
        return bool(condition())

    qtbot.waitUntil(check, timeout=15_000)


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"
    except FileNotFoundError:
        return False


def _script(tmp_path, name: str, body: str) -> str:
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def _says(version: str, missing: str = "{}") -> str:
    """A program answering the probe as a Python of ``version`` would (no Python needed)."""
    return (
        f'echo \'unfreeze-probe {{"version": [{version.replace(".", ", ")}], '
        f'"implementation": "CPython", "gil_enabled": false, "executable": "x", '
        f'"missing": {missing}}}\''
    )


def test_bad_interpreters_and_back_ends_are_refused_by_name(tmp_path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    old = _script(tmp_path, "python3.10", _says("3.10.13"))
    nothing = _script(tmp_path, "nopython", "echo hello")
    lacking = _script(tmp_path, "python3.14t", _says("3.14.0", '{"download": "ModuleNotFoundError: '
                      "No module named 'h11'\"}"))  # fmt: skip
    cases = [
        (str(tmp_path / "missing"), "cpu-python", "threading", "does not exist"),
        (str(tmp_path), "cpu-python", "threading", "is a folder"),
        (str(text), "cpu-python", "threading", "not executable"),
        (nothing, "cpu-python", "threading", "did not answer as a Python interpreter"),
        (old, "cpu-python", "threading", "is Python 3.10.13; the engine needs Python 3.11"),
        (lacking, "download", "threading", "cannot run download's tasks (ModuleNotFoundError"),
        (lacking, "race", "qthread", "qthread cannot run in another interpreter"),
        (lacking, "cpu-python", "gui-thread", "gui-thread cannot run in another interpreter"),
        (lacking, "cpu-python", "multiprocessing", "multiprocessing cannot run"),
        (lacking, "cpu-python", "asyncio", "asyncio cannot run"),
    ]
    for python, workload, backend, said in cases:
        with pytest.raises(SpecError) as err:
            parse_spec({"workload": workload, "backend": backend, "python": python})
        assert err.value.field == "python" and said in err.value.message, (python, err.value)
    free = parse_spec({"workload": "cpu-python", "backend": "thread-pool", "python": lacking})
    assert free.python == lacking and pythons.inspect(lacking).name == "CPython 3.14.0t"
    assert parse_spec({"workload": "cpu-python", "backend": "threading"}).python == ""
    cli = [sys.executable, "-m", "gui", "bench", "--workloads", "cpu-python", "--python", old]
    done = subprocess.run(cli, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2 and "python: " in done.stderr and "3.10.13" in done.stderr
    window = [sys.executable, "-m", "gui", "--run", "cpu-python:qthread", "--python", lacking]
    done = subprocess.run(window, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2 and "python: qthread cannot run" in done.stderr, done.stderr


def test_the_python_field_is_remembered_greyed_where_it_cannot_apply_and_in_the_status_bar(
    qtbot, tmp_path
) -> None:
    from PySide6.QtCore import QSettings

    free = _script(tmp_path, "python3.14t", _says("3.14.0"))
    form = JobForm(Speed())
    qtbot.addWidget(form)
    form.backend.setCurrentText("threading")
    form.python.set_path(free)
    qtbot.waitUntil(lambda: not form.python.waiting(), timeout=15_000)
    spec = form.spec()
    assert spec is not None and spec.python == free
    assert "threads: CPython 3.14.0t · GIL off" in facts_text(form.python.interpreter())
    form.backend.setCurrentText("qthread")  # Qt in the worker: not elsewhere
    assert not form.python.isEnabled() and "PySide6 has no build" in form.python.edit.toolTip()
    assert form.spec().python == "" and form.python.interpreter() is None
    form.backend.setCurrentText("thread-pool")
    form.python.set_path(str(tmp_path / "gone"))
    qtbot.waitUntil(lambda: not form.python.waiting(), timeout=15_000)
    assert form.spec() is None and "does not exist" in form.errors["python"].text()
    form.python.set_path(free)
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    form.save(settings)
    again = JobForm(Speed())
    qtbot.addWidget(again)
    again.restore(settings)
    assert again.python.text() == free and again.spec(fresh=True).python == free


# -- the form's Python field asks off the GUI thread -------------------------------------


def _fresh_python(tmp_path, name: str = "python3") -> str:
    """A real interpreter (this one's) under a path never asked about: answers are
    remembered per file, so each test's ask runs the subprocess again."""
    path = tmp_path / name
    path.symlink_to(os.path.realpath(sys.executable))
    return str(path)


def _children_running(path: str) -> list[psutil.Process]:
    out = []
    for child in psutil.Process().children():
        try:
            if child.cmdline()[:1] == [path] and child.status() != psutil.STATUS_ZOMBIE:
                out.append(child)
        except psutil.Error:
            continue
    return out


def test_asking_an_interpreter_leaves_the_gui_thread_free_and_says_asking(
    qtbot, ui_lag, tmp_path
) -> None:
    python = _fresh_python(tmp_path)
    form = JobForm(Speed())
    qtbot.addWidget(form)
    form.backend.setCurrentText("threading")  # the field is greyed for the first lesson's
    field = form.python
    with ui_lag.watch(10) as lag:
        t0 = time.perf_counter()
        field.set_path(python)
        returned = time.perf_counter()
        assert field.waiting() and field.status.text() == ASKING  # not answered yet
        qtbot.waitUntil(lambda: not field.waiting(), timeout=15_000)
        answered = time.perf_counter()
    interpreter = field.interpreter()
    assert interpreter is not None and interpreter.path == python and field.status.text() == ""
    times = lag.t0 + lag.times
    during = lag.samples[(times > t0) & (times <= answered)]
    ask_ms = (answered - t0) * 1000
    # The event loop turned all along the ask: on the GUI thread, set_path would
    # return with the answer, no tick would land before it and one would carry the
    # whole ask as its lag. (Halves, not less: on a loaded machine a thread's start,
    # or one tick, can wait tens of ms for a core, and an ask takes 0.1-0.4 s.)
    assert (returned - t0) * 1000 < ask_ms / 2, (returned - t0, ask_ms)
    assert len(during) >= 3, (len(during), ask_ms, lag.report())
    assert during.max() < ask_ms * 0.75, (ask_ms, lag.report())


def test_a_stale_answer_never_overwrites_the_answer_for_the_text_shown(qtbot, tmp_path) -> None:
    slow = _fresh_python(tmp_path)  # a real interpreter: its answer takes a subprocess
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")  # answered at once: not executable
    form = JobForm(Speed())
    qtbot.addWidget(form)
    form.backend.setCurrentText("threading")  # the field is greyed for the first lesson's
    field = form.python
    field.set_path(slow)
    assert field.waiting() and field.status.text() == ASKING
    field.set_path(str(notes))  # changed while the interpreter is still being asked
    qtbot.waitUntil(lambda: not field.waiting(), timeout=15_000)
    assert "not executable" in field.refusal("cpu-python")
    with qtbot.assertNotEmitted(field.changed):
        qtbot.waitUntil(lambda: not field.asks, timeout=15_000)  # the slow answer came, late
    assert "not executable" in field.refusal("cpu-python") and field.interpreter() is None
    assert form.spec() is None and "not executable" in form.errors["python"].text()


def test_start_right_after_typing_a_path_waits_for_its_answer(qtbot, window, tmp_path) -> None:
    from PySide6.QtCore import Qt

    python = _fresh_python(tmp_path)
    form, controller = window.form, window.controller
    form.set_job("cpu-python", "threading")
    form.tasks.setValue(2)
    form.size.setText("64KB")
    form.python.edit.setText(python)  # typed; the field not left, so never asked
    with qtbot.waitSignal(controller.run_finished, timeout=30_000) as finished:
        qtbot.mouseClick(window.start_button, Qt.MouseButton.LeftButton)
        assert not controller.busy  # not submitted before the answer
        assert "Asking" in window.statusBar().currentMessage() and window.cancel_button.isEnabled()
    r = finished.args[0]
    assert r.ok and r.python_path == python, r.errors
    nothing = _script(tmp_path, "nopython", "echo hello")
    form.python.edit.setText(nothing)
    qtbot.mouseClick(window.start_button, Qt.MouseButton.LeftButton)
    assert not controller.busy and form.python.status.text() == ASKING
    qtbot.waitUntil(lambda: not form.python.waiting(), timeout=15_000)
    said = form.errors["python"].text()
    assert "did not answer as a Python interpreter" in said and nothing in said
    assert not window.start_button.isEnabled() and not window.cancel_button.isEnabled()
    assert not controller.busy and not controller.queue and len(controller.records) == 1


def test_closing_the_window_mid_ask_kills_the_ask_at_once(qtbot, window, tmp_path) -> None:
    first = _fresh_python(tmp_path, "python-a")
    window.form.backend.setCurrentText("threading")
    t0 = time.perf_counter()
    window.form.python.set_path(first)  # the same question, let run: how long it takes
    qtbot.waitUntil(lambda: not window.form.python.waiting(), timeout=15_000)
    ask_s = time.perf_counter() - t0
    assert "(another process)" in window.readback.text()  # the banner says where, once answered
    second = _fresh_python(tmp_path, "python-b")
    window.form.python.set_path(second)
    qtbot.waitUntil(lambda: bool(_children_running(second)), timeout=5_000)  # asked right now
    t0 = time.perf_counter()
    window.close()
    closed_s = time.perf_counter() - t0
    assert not _children_running(second)
    assert not [t for t in threading.enumerate() if t.name == "python-ask"]
    assert closed_s < ask_s / 2, (closed_s, ask_s)  # killed, not waited for
