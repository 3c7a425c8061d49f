"""``unfreeze bench --ui``: what the window itself costs, measured on this machine.

Idle lag and CPU of a shown window, one live frame of the plots with 5 runs of
20 000 samples, one of the Timeline with 2000 tasks, and the pytest plugin's
probe: the figures the README quotes for the instrument's own price.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING

import numpy as np

from workers.spec import RunSpec
from workers.stats import Ring

if TYPE_CHECKING:
    from gui.plots import LivePlots
    from gui.timeline import TimelineView


def ui_report(seconds: float = 3.0) -> dict[str, float]:
    """What the window itself costs: idle lag and CPU, and one frame with 5 × 20 000 points."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import psutil
    from PySide6.QtCore import QSettings

    from gui.app import make_app
    from gui.window import MainWindow

    make_app()
    watch_share, watch_ticks = lag_watch_cost(seconds)
    settings = QSettings(os.devnull, QSettings.Format.IniFormat)
    window = MainWindow(settings)
    window.resize(1400, 900)
    window.show()
    me = psutil.Process()

    spin_for(1.0)  # first paints settle
    t0, cpu0 = time.perf_counter(), me.cpu_times()
    spin_for(seconds)
    cpu1 = me.cpu_times()
    busy = (cpu1.user + cpu1.system - cpu0.user - cpu0.system) / (time.perf_counter() - t0)
    idle = window.controller.probe.stats(t0)
    frames = frame_costs_ms(window.plots, runs=5, points=20_000, frames=20)
    window.timeline_dock.raise_()  # shown at its real size, as when a learner looks at it
    spin_for(0.2)  # its first paint
    timeline = timeline_costs_ms(window.timeline.view, lanes=8, tasks=2000, frames=20)
    window.close()
    return {
        "idle_lag_p99_ms": idle.p99,
        "idle_lag_p50_ms": idle.p50,
        "idle_cpu_percent_of_one_core": round(100 * busy, 2),
        "frame_ms_5x20k_median": round(float(np.median(frames)), 2),
        "frame_ms_5x20k_max": round(max(frames), 2),
        "lag_watch_cpu_percent_of_one_core": round(100 * watch_share, 3),
        "lag_watch_ticks": float(watch_ticks),
        "timeline_frame_ms_8x2000_median": round(float(np.median(timeline)), 2),
        "timeline_frame_ms_8x2000_max": round(max(timeline), 2),
    }


def spin_for(seconds: float) -> float:
    """Turn the event loop for ``seconds``; returns them."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(round(seconds * 1000), loop.quit)
    loop.exec()
    return seconds


def lag_watch_cost(seconds: float) -> tuple[float, int]:
    """The pytest plugin's probe (``watch_lag``): the GUI thread's CPU over ``seconds`` of
    an idle loop with a watch, less the same without, as a share of one core; and its
    ticks. Everything the probe makes Qt do counts (wake-ups, dispatch, the slot)."""
    from gui.lagwatch import watch_lag

    cpu0 = time.thread_time()
    spin_for(seconds)
    idle = time.thread_time() - cpu0
    with watch_lag() as lag:
        cpu0 = time.thread_time()
        spin_for(seconds)
        probed = time.thread_time() - cpu0
    return max(0.0, probed - idle) / seconds, len(lag.samples)


def frame_costs_ms(
    plots: LivePlots, runs: int = 5, points: int = 20_000, frames: int = 10
) -> list[float]:
    """Cost of each live frame (refresh the running trace, render all) with
    ``runs`` overlaid runs of ``points`` samples each. Clears the plots first and after."""
    plots.clear_runs()
    rng = np.random.default_rng(1)
    lag, units = Ring(1 << 15), Ring(1 << 15)
    t0 = 1000.0
    for i in range(points):
        lag.append(t0 + i * 0.01, float(rng.exponential(3.0)) + (400.0 if i % 2000 == 0 else 0.0))
        units.append(t0 + i * 0.01, i * 1e5)
    t1 = t0 + points * 0.01
    for i in range(runs):
        plots.refresh(plots.add_run(f"bench {i}", t0), lag, units, t1)
    costs = []
    for _ in range(frames):
        start = time.perf_counter()
        plots.refresh(plots.traces[-1], lag, units, t1)
        plots.grab()  # a full render of every item, as a repaint does
        costs.append(1000 * (time.perf_counter() - start))
    plots.clear_runs()
    return costs


def timeline_costs_ms(
    view: TimelineView, lanes: int = 8, tasks: int = 2000, frames: int = 20
) -> list[float]:
    """Cost of each live frame of the timeline (bars and the lag refreshed after new
    events, all rendered) for a run of ``tasks`` tasks on ``lanes`` workers,
    each frame seeing a ``frames``-th of them end, with 20 000 lag samples."""
    from workers.core import Event
    from workers.record import RunState

    spec = RunSpec("cpu-python", "threading", lanes, tasks, 1)
    t0, step = 1000.0, 0.01
    state = RunState(spec, [1] * tasks, t0)
    rng = np.random.default_rng(1)
    events = []
    for i in range(tasks):
        start, worker = t0 + (i // lanes) * step, f"Worker-0_{i % lanes}"
        share = float(rng.uniform(0.05, 1.0))
        events.append(Event("started", i, start, worker=worker, pid=os.getpid()))
        events.append(
            Event("done", i, start + step * 0.9, 1, worker=worker, cpu_s=share * step * 0.9)
        )
    lag = Ring(1 << 15)
    end = t0 + (tasks // lanes) * step
    for t in np.linspace(t0, end, 20_000):
        lag.append(float(t), float(rng.exponential(3.0)))
    view.show_run(state, lag)
    costs = []
    per_frame = len(events) // frames
    for k in range(frames):
        batch = events[k * per_frame : (k + 1) * per_frame]
        state.apply(batch, batch[-1].t)  # the controller's work, not the timeline's
        start = time.perf_counter()
        view.refresh(lag, batch[-1].t)
        view.grab()  # a full render, as a repaint does
        costs.append(1000 * (time.perf_counter() - start))
    return costs
