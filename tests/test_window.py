"""The window, driven as a learner would: click, wait for the numbers, check them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

import psutil
import pytest
from PySide6.QtCore import QSettings, Qt

from gui.app import make_app
from gui.lessons import readback
from gui.plots import FROZEN_MS
from gui.window import MainWindow
from workers.record import RunRecord
from workers.spec import BACKENDS


@pytest.fixture
def window(qtbot, tmp_path):
    make_app()
    win = MainWindow(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(win)
    win.show()
    yield win
    win.close()


def job(win: MainWindow, workload: str, backend: str, **values: object) -> None:
    form = win.form
    form.workload.setCurrentText(workload)
    form.backend.setCurrentText(backend)
    for name, value in values.items():
        widget = getattr(form, name)
        if hasattr(widget, "setValue"):
            widget.setValue(value)
        else:
            widget.setText(str(value))


def click(qtbot, button) -> None:
    assert button.isEnabled()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def cell(win: MainWindow, row: int, col: int):
    return win.results.item(row, col).data(Qt.ItemDataRole.DisplayRole)


@pytest.mark.parametrize("backend", BACKENDS)
def test_start_on_each_backend_gives_a_row_with_the_runs_numbers(qtbot, window, backend) -> None:
    job(window, "cpu-native", backend, workers=2, tasks=3, size="20MB")
    with qtbot.waitSignal(window.controller.run_finished, timeout=30_000) as finished:
        click(qtbot, window.start_button)
    record: RunRecord = finished.args[0]
    qtbot.waitUntil(lambda: window.results.rowCount() == 1, timeout=2000)
    assert record.ok and record.done == 3 and record.backend == backend
    assert [cell(window, 0, c) for c in range(3)] == ["cpu-native", backend, record.workers]
    assert cell(window, 0, 5) == round(record.throughput, 1)
    assert cell(window, 0, 8) == record.lag_ms["p99"]
    assert cell(window, 0, 10) == "yes"
    assert f"UI lag p99 {record.lag_ms['p99']:,.0f} ms" in window.readback.text()
    assert "task 2 done" in window.log.toPlainText()


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("size", "12XB", "size"),
        ("folder", "/no/such/folder", "folder"),
        ("urls", "ftp://example.com/x", "urls"),
    ],
)
def test_invalid_input_disables_start_with_a_message(window, field, value, words) -> None:
    job(window, "download", "threading")
    widget = getattr(window.form, field)
    (widget.setPlainText if field == "urls" else widget.setText)(value)
    assert not window.start_button.isEnabled()
    assert not window.compare_button.isEnabled()
    assert words in window.form.error.text()
    window.start()  # the shortcut path refuses too
    assert not window.controller.busy


def test_cancel_mid_run(qtbot, window) -> None:
    job(window, "cpu-python", "threading", workers=2, tasks=8, size="16MB")
    click(qtbot, window.start_button)
    qtbot.waitUntil(lambda: window.progress.value() > 0, timeout=10_000)
    with qtbot.waitSignal(window.controller.run_finished, timeout=1500) as finished:
        click(qtbot, window.cancel_button)
    record = finished.args[0]
    assert record.cancelled > 0 and not record.ok
    assert "cancelled" in cell(window, 0, 10)


def test_a_second_start_is_queued(qtbot, window) -> None:
    job(window, "cpu-native", "thread-pool", workers=2, tasks=2, size="50MB")
    click(qtbot, window.start_button)
    assert window.start_button.text() == "Queue"
    click(qtbot, window.start_button)
    qtbot.waitUntil(lambda: window.results.rowCount() == 2, timeout=20_000)


def test_compare_all_gives_a_row_and_a_bar_per_backend(qtbot, window) -> None:
    job(window, "cpu-native", "threading", workers=2, tasks=2, size="8MB")
    click(qtbot, window.compare_button)
    qtbot.waitUntil(lambda: window.results.rowCount() == len(BACKENDS), timeout=60_000)
    assert {cell(window, r, 1) for r in range(len(BACKENDS))} == set(BACKENDS)
    throughput_bars = window.bars.bars[0]
    assert len(throughput_bars.opts["height"]) == len(BACKENDS)
    assert all(h > 0 for h in throughput_bars.opts["height"])


def settled(window: MainWindow) -> bool:
    """The window's first paints are done: the probe's last 20 samples are quick."""
    _, lag = window.controller.probe.samples.arrays()
    return len(lag) >= 20 and lag[-20:].max() < 30


def test_lag_plot_alive_under_processes_and_frozen_on_the_gui_thread(qtbot, window) -> None:
    qtbot.waitUntil(lambda: settled(window), timeout=5000)
    job(window, "cpu-python", "multiprocessing", workers=2, tasks=4, size="4MB")
    with qtbot.waitSignal(window.controller.run_finished, timeout=30_000):
        click(qtbot, window.start_button)
    x, y = window.plots.traces[0].lag.xData, window.plots.traces[0].lag.yData
    assert len(x) > 20  # the probe kept ticking while processes worked
    assert not window.plots.traces[0].bands

    job(window, "cpu-python", "gui-thread", tasks=3, size="6MB")
    with qtbot.waitSignal(window.controller.run_finished, timeout=30_000):
        click(qtbot, window.start_button)
    trace = window.plots.traces[1]
    x, y = trace.lag.xData, trace.lag.yData
    assert y.max() >= FROZEN_MS  # one sample spans each frozen task: a gap of >= 100 ms
    assert trace.bands, "the frozen stretch is marked"


def test_closing_during_a_run_leaves_nothing_behind(qtbot, window) -> None:
    job(window, "cpu-python", "multiprocessing", workers=2, tasks=8, size="16MB")
    click(qtbot, window.start_button)
    qtbot.waitUntil(lambda: window.progress.value() > 0, timeout=15_000)
    assert psutil.Process().children()
    window.close()
    names = {t.name for t in threading.enumerate()}
    assert not any(n.startswith(("Worker-", "ThreadPoolExecutor", "pool-launcher")) for n in names)
    qtbot.waitUntil(lambda: not _workers(), timeout=3000)


def _workers() -> list[psutil.Process]:
    return [
        p
        for p in psutil.Process().children(recursive=True)
        if "resource_tracker" not in " ".join(p.cmdline())
    ]


def test_results_export_to_csv_and_json(qtbot, window, tmp_path) -> None:
    job(window, "cpu-native", "thread-pool", workers=2, tasks=2, size="8MB")
    with qtbot.waitSignal(window.controller.run_finished, timeout=20_000):
        click(qtbot, window.start_button)
    from gui.results import to_csv, to_json

    assert window.save_results(str(tmp_path / "r.csv"), to_csv)
    assert window.save_results(str(tmp_path / "r.json"), to_json)
    lines = (tmp_path / "r.csv").read_text().splitlines()
    assert len(lines) == 2 and lines[1].startswith("cpu-native,thread-pool,2,")
    assert json.loads((tmp_path / "r.json").read_text())[0]["backend"] == "thread-pool"
    assert not window.save_results(str(tmp_path / "missing" / "r.csv"), to_csv)
    assert "could not export" in window.log.toPlainText()


def test_settings_are_remembered(qtbot, tmp_path) -> None:
    make_app()
    path = str(tmp_path / "s.ini")
    first = MainWindow(QSettings(path, QSettings.Format.IniFormat))
    job(first, "disk-write", "asyncio", tasks=5, size="3MB")
    first.switch.setValue(2.5)
    first.close()
    second = MainWindow(QSettings(path, QSettings.Format.IniFormat))
    try:
        assert second.form.workload.currentText() == "disk-write"
        assert second.form.backend.currentText() == "asyncio"
        assert second.form.tasks.value() == 5 and second.form.size.text() == "3MB"
        assert second.switch.value() == 2.5
    finally:
        second.close()
        sys.setswitchinterval(0.005)


def test_readback_reads_the_numbers_back() -> None:
    def rec(backend: str, mbps: float, p99: float) -> RunRecord:
        lag = {"p50": 1.0, "p95": 2.0, "p99": p99, "max": p99, "over_50": 0.0, "samples": 10}
        return RunRecord(
            "cpu-python", backend, 4, 8, 1, True, 8, 0, 0, 1, 0, 1, 1, mbps, "MB/s", lag
        )

    serial = rec("gui-thread", 25.0, 190.0)
    text = readback(rec("threading", 25.0, 131.0), [serial])
    assert text.startswith("4 threads on pure-Python work: 1.0× the throughput")
    assert "UI lag p99 131 ms" in text and "GIL" in text
    assert "2.0×" in readback(rec("multiprocessing", 50.0, 1.0), [serial])
    assert "froze" in readback(serial, [])


def test_screenshot_command_writes_a_png(tmp_path) -> None:
    out = tmp_path / "shot.png"
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "UNFREEZE_SETTINGS": str(tmp_path / "s.ini"),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "gui", "--screenshot", str(out), "--after", "0.5"],
        capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert out.stat().st_size > 20_000
