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
import time

import pytest

from gui.controller import RunController
from gui.controls import JobForm
from gui.menus import facts_text
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
    spec = form.spec()
    assert spec is not None and spec.python == free
    assert "threads: CPython 3.14.0t · GIL off" in facts_text(form.python.interpreter())
    form.backend.setCurrentText("qthread")  # Qt in the worker: not elsewhere
    assert not form.python.isEnabled() and "PySide6 has no build" in form.python.edit.toolTip()
    assert form.spec().python == "" and form.python.interpreter() is None
    form.backend.setCurrentText("thread-pool")
    form.python.set_path(str(tmp_path / "gone"))
    assert form.spec() is None and "does not exist" in form.errors["python"].text()
    form.python.set_path(free)
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    form.save(settings)
    again = JobForm(Speed())
    qtbot.addWidget(again)
    again.restore(settings)
    assert again.python.text() == free and again.spec(fresh=True).python == free
