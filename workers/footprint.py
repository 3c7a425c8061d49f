"""What a run costs the machine: peak threads and peak memory, sampled on a thread.

The pattern of ``gui.cpu.CpuSampler``: a small thread of its own reads the
counters (psutil), so the reading goes on while the GUI thread is frozen and
never adds to its lag. It samples at 10 Hz: a sample costs 0.15-0.18 ms of CPU
here (``cost_s`` measures it; with 1 000 or 5 000 threads in the process it is
no dearer, the count is one line of ``/proc/<pid>/status``), ~0.2 % of one
core, so the instrument does not disturb what it measures. A peak shorter than 100 ms can
slip between two samples; a run's threads and memory last as long as the run.

What it counts:
- ``peak_threads``: the app process's threads, plus those of the run's worker
  processes where it has some (multiprocessing), taken at one instant: the
  most that existed at once. The app has a few of its own (4 in the bench:
  the GUI thread, the housekeeping thread, this sampler and one more).
- ``peak_rss_mb``: the app process's resident memory at its peak.
- ``worker_rss_mb``: each worker process's own peak (empty without processes).
- ``total_rss_mb``: app plus workers at one instant, at its peak.
The local download server is a process of its own and counts in none of them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import psutil

INTERVAL_S = 0.1
MB = 1e6


class FootprintSampler:
    """Peak threads and resident memory of this process and ``pids()``'s, at 10 Hz."""

    def __init__(
        self, pids: Callable[[], list[int]] = list, interval_s: float = INTERVAL_S
    ) -> None:
        self.pids = pids
        self.interval_s = interval_s
        self.app = psutil.Process()
        self.workers: dict[int, psutil.Process] = {}
        self.peak_threads = 0
        self.peak_rss = 0
        self.peak_total = 0
        self.worker_peaks: dict[int, int] = {}
        self.samples = 0
        self.cost_s = 0.0  # CPU seconds this thread spent sampling
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="footprint-sampler", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> dict[str, object]:
        """Take a last sample, stop, and return the figures for the record."""
        self.stopping.set()
        if self.thread.is_alive():
            self.thread.join(1.0)
        self.sample()
        return self.figures()

    def _run(self) -> None:
        self.sample()
        while not self.stopping.wait(self.interval_s):
            self.sample()

    def sample(self) -> None:
        t0 = time.thread_time()
        threads, rss = self.app.num_threads(), self.app.memory_info().rss
        total = rss
        for pid in self.pids():
            try:
                process = self.workers.get(pid) or psutil.Process(pid)
                self.workers[pid] = process
                worker_threads, worker_rss = process.num_threads(), process.memory_info().rss
            except psutil.Error:  # exited (or reaped) since it said it was up
                continue
            threads += worker_threads
            total += worker_rss
            with self.lock:
                self.worker_peaks[pid] = max(self.worker_peaks.get(pid, 0), worker_rss)
        with self.lock:
            self.peak_threads = max(self.peak_threads, threads)
            self.peak_rss = max(self.peak_rss, rss)
            self.peak_total = max(self.peak_total, total)
            self.samples += 1
            self.cost_s += time.thread_time() - t0

    def figures(self) -> dict[str, object]:
        """``peak_threads``, ``peak_rss_mb``, ``worker_rss_mb`` (one per worker
        process, in the order they came up) and ``total_rss_mb``."""
        with self.lock:
            return {
                "peak_threads": self.peak_threads,
                "peak_rss_mb": round(self.peak_rss / MB, 1),
                "worker_rss_mb": tuple(round(v / MB, 1) for v in self.worker_peaks.values()),
                "total_rss_mb": round(self.peak_total / MB, 1),
            }
