"""Fixed-size time series and the lag statistics the lessons quote."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

#: One probe sample later than this is a freeze: the event loop ran nothing for
#: that long (the red bands of the lag plot, the "frozen" of the read-back).
FROZEN_MS = 100.0


class Ring:
    """(t, value) samples in a fixed-size NumPy ring: O(1) append, no growth."""

    def __init__(self, capacity: int = 1 << 16) -> None:
        self.t = np.zeros(capacity)
        self.v = np.zeros(capacity)
        self.capacity = capacity
        self.count = 0  # samples ever appended

    def append(self, t: float, value: float) -> None:
        i = self.count % self.capacity
        self.t[i] = t
        self.v[i] = value
        self.count += 1

    def __len__(self) -> int:
        return min(self.count, self.capacity)

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """Copies of the samples, oldest first."""
        n = len(self)
        if self.count <= self.capacity:
            return self.t[:n].copy(), self.v[:n].copy()
        i = self.count % self.capacity
        return np.roll(self.t, -i), np.roll(self.v, -i)

    def between(self, t0: float, t1: float = float("inf")) -> np.ndarray:
        """Values with t0 <= t <= t1."""
        n = len(self)
        t, v = self.t[:n], self.v[:n]
        return v[(t >= t0) & (t <= t1)]


@dataclass(frozen=True, slots=True)
class LagStats:
    p50: float
    p95: float
    p99: float
    max: float
    over_50: float  # share of samples over 50 ms
    samples: int
    frozen: float = 0.0  # ms in freezes (samples over FROZEN_MS), summed: the total time frozen
    freezes: int = 0  # how many samples were freezes; ``max`` is the longest one

    @classmethod
    def of(cls, lag_ms: np.ndarray) -> LagStats:
        if len(lag_ms) == 0:
            return cls(0.0, 0.0, 0.0, 0.0, 0.0, 0)
        p50, p95, p99 = np.percentile(lag_ms, [50, 95, 99])
        return cls(
            round(float(p50), 3),
            round(float(p95), 3),
            round(float(p99), 3),
            round(float(lag_ms.max()), 3),
            round(float(np.mean(lag_ms > 50.0)), 4),
            len(lag_ms),
            round(float(lag_ms[lag_ms > FROZEN_MS].sum()), 3),
            int(np.count_nonzero(lag_ms > FROZEN_MS)),
        )

    def as_dict(self) -> dict[str, float]:
        return asdict(self)
