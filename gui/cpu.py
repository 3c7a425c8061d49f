"""CPU use per core, sampled on a thread of its own.

Sampled on the GUI thread, the CPU plot went blank exactly when it mattered:
during a freeze, the thread that should read the counters is the one frozen.
A small thread reads them instead (psutil, ~0.1 ms a reading, 4 a second);
the window draws what it collected on its own frames.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import psutil

INTERVAL_S = 0.25
SAMPLES = 240  # 60 s at 4 Hz


class CpuSampler:
    """Per-core CPU use (%) with perf_counter times, in a fixed-size ring."""

    def __init__(self, cores: int, interval_s: float = INTERVAL_S) -> None:
        self.interval_s = interval_s
        self.t = np.full(SAMPLES, -np.inf)
        self.v = np.zeros((SAMPLES, cores))
        self.count = 0  # samples ever taken: the window redraws when it moves
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._sample, name="cpu-sampler", daemon=True)

    def start(self) -> None:
        psutil.cpu_percent(percpu=True)  # the first reading only primes the counters
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        if self.thread.is_alive():
            self.thread.join(1.0)

    def _sample(self) -> None:
        while not self.stopping.wait(self.interval_s):
            per_core = psutil.cpu_percent(percpu=True)[: self.v.shape[1]]
            with self.lock:
                i = self.count % SAMPLES
                self.t[i] = time.perf_counter()
                self.v[i, : len(per_core)] = per_core
                self.count += 1

    def samples(self) -> tuple[np.ndarray, np.ndarray]:
        """Times and per-core values, oldest first."""
        with self.lock:
            order = np.argsort(self.t)
            order = order[np.isfinite(self.t[order])]
            return self.t[order], self.v[order]
