"""How fast one core does each workload on this machine: what estimates scale by.

A fixed table of speeds is a false promise on any machine but the one it was
measured on (measured here: 8.8-9.9 s for a job the table called 5 s). So
the CPU workloads are timed: a short calibration (their real task function,
chunked and verified as in a run, for ~0.15 s each) and then each finished
``gui-thread`` run, whose one worker is exactly what "serial" means. I/O
speeds are only learnt from such runs; until then they stay a guess, and say so.
"""

from __future__ import annotations

import statistics
import threading
import time
from dataclasses import dataclass

from workers import content, inputs
from workers.core import Cancelled
from workers.record import RunRecord
from workers.spec import RunSpec
from workers.workloads import cpu

#: MB/s per worker before anything is measured (the 2-core project machine, unloaded).
GUESS_MBPS = {
    "download": 1000.0,
    "disk-write": 500.0,
    "cpu-python": 26.0,
    "cpu-native": 1800.0,
    "queue": 26.0,  # its consumers do cpu-python's work
    "pipeline": 26.0,  # its checksum is cpu-python's work; its download adds the server's time
}
#: Workloads timed at start-up: cheap and harmless (no files, no network).
CALIBRATED = ("cpu-python", "cpu-native")
#: Per workload: 5 timings of 30 ms (each 5+ chunks of cpu-python, 30+ of cpu-native).
CALIBRATE_WINDOWS = 5
CALIBRATE_WINDOW_S = 0.03
#: Workloads whose gui-thread runs tell the speed. Not download: its time is mostly the
#: server's latency and rate cap, which the estimate adds from the job itself.
LEARNT = ("disk-write", "cpu-python", "cpu-native", "queue")
#: A gui-thread run shorter than this says little about the speed (timer resolution, start-up).
LEARN_MIN_S = 0.2
_FUNCTIONS = {"cpu-python": cpu.cpu_python, "cpu-native": cpu.cpu_native}


@dataclass(frozen=True)
class Rate:
    mbps: float
    source: str  # "guess", "calibration" or "gui-thread run"


class _Until:
    """A cancel token that fires at ``deadline`` (or once ``stop`` is set)."""

    def __init__(self, deadline: float, stop: threading.Event | None) -> None:
        self.deadline, self.stop = deadline, stop

    def is_set(self) -> bool:
        return time.perf_counter() >= self.deadline or (
            self.stop is not None and self.stop.is_set()
        )


def measure_mbps(
    workload: str,
    windows: int = CALIBRATE_WINDOWS,
    window_s: float = CALIBRATE_WINDOW_S,
    stop: threading.Event | None = None,
) -> float | None:
    """MB/s of one thread running ``workload``'s real task, the median of ``windows``
    timings of ``window_s`` each (wall time: a busy machine measures slower, as its
    runs will be; the median: one burst of other work does not decide). None if
    ``stop`` was set first."""
    fn = _FUNCTIONS[workload]
    seed = content.seed_for("calibration")
    rates = []
    for _ in range(windows):
        done: list[float] = [0, 0.0]  # bytes, time of the last progress

        def progress(n: int, done: list[float] = done) -> None:
            done[0], done[1] = n, time.perf_counter()

        start = time.perf_counter()
        try:
            data = inputs.Input(seed, inputs.INPUT_MAX)
            fn(progress, _Until(start + window_s, stop), size=1 << 40, seed=seed, data=data)
        except Cancelled:
            pass
        if stop is not None and stop.is_set():
            return None
        if done[0]:
            rates.append(done[0] / (done[1] - start) / 1e6)
    return statistics.median(rates) if rates else None


class Speed:
    """Per-worker MB/s of each workload: a guess, then a calibration, then runs.

    Written by the housekeeping thread (calibration) and the GUI thread
    (records); each update replaces one dict entry, which is atomic.
    """

    def __init__(self) -> None:
        self.rates = {w: Rate(mbps, "guess") for w, mbps in GUESS_MBPS.items()}

    def calibrate(self, stop: threading.Event | None = None) -> None:
        """Time each CPU workload for ~0.15 s (never on the GUI thread: it blocks)."""
        for workload in CALIBRATED:
            mbps = measure_mbps(workload, stop=stop)
            if mbps is None:
                return
            self.rates[workload] = Rate(mbps, "calibration")

    def learn(self, record: RunRecord) -> bool:
        """Take a finished gui-thread run's throughput as the speed; True if it was taken."""
        if (
            record.backend != "gui-thread"
            or record.unit != "MB/s"
            or record.workload not in LEARNT
            or record.work_s < LEARN_MIN_S
            or record.throughput <= 0
        ):
            return False
        self.rates[record.workload] = Rate(record.throughput, "gui-thread run")
        return True

    def rate(self, workload: str) -> Rate:
        return self.rates[workload]

    def measured(self, workload: str) -> bool:
        """Its speed is known; race and deadlock need none (no rate: their jobs are counts)."""
        return workload not in self.rates or self.rates[workload].source != "guess"

    def serial_seconds(self, spec: RunSpec) -> float:
        """Roughly how long ``spec`` takes on one worker here (the naive back end);
        0 when nobody can know (downloads of the user's URLs) or none is made (race,
        deadlock: the form's hint gives their counts instead)."""
        if (spec.workload == "download" and spec.urls) or spec.workload not in self.rates:
            return 0.0
        rate = self.rates[spec.workload].mbps
        if spec.workload == "queue":  # one worker checksums every item
            return spec.items * spec.size / 1e6 / rate
        if spec.workload == "pipeline":  # in turn: download, checksum (cpu-python's), write
            fetch = spec.size / 1e6 / (spec.rate_mbps or GUESS_MBPS["download"])
            check = spec.size / 1e6 / self.rates["cpu-python"].mbps
            return spec.tasks * (spec.latency_ms / 1000 + fetch + check)
        if spec.workload == "download" and spec.rate_mbps:
            rate = min(rate, spec.rate_mbps)
        per_task = spec.size / 1e6 / rate
        if spec.workload == "download":
            per_task += spec.latency_ms / 1000
        return spec.tasks * per_task
