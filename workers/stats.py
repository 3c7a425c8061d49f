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

    def after(self, t0: float, t1: float = float("inf")) -> tuple[np.ndarray, np.ndarray]:
        """(t, value) with t0 < t <= t1, oldest first: what a watch begun at ``t0`` saw."""
        t, v = self.arrays()
        inside = (t > t0) & (t <= t1)
        return t[inside], v[inside]


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


@dataclass(frozen=True, slots=True)
class Stall:
    """The longest wait of the event loop in a watch, in seconds from the watch's start.

    A probe sample arrives only once the loop runs again, at ``end_s``; the loop
    was due to run ``ms`` earlier, so it was held at least from ``start_s``.
    """

    start_s: float
    end_s: float

    @property
    def ms(self) -> float:
        return (self.end_s - self.start_s) * 1000.0


def worst_stall(t_s: np.ndarray, lag_ms: np.ndarray) -> Stall | None:
    """The sample with the most lag, as a stall; None with no sample."""
    if len(lag_ms) == 0:
        return None
    i = int(np.argmax(lag_ms))
    return Stall(float(t_s[i]) - float(lag_ms[i]) / 1000.0, float(t_s[i]))


def lag_report(
    t_s: np.ndarray, lag_ms: np.ndarray, span_s: float, origin: str = "the watch began"
) -> str:
    """A short text a failing test prints: the percentiles, the time frozen, and the
    worst stall with when it happened (``t_s``: seconds after ``origin``)."""
    stats = LagStats.of(lag_ms)
    head = (
        f"UI lag over {span_s:.2f} s ({stats.samples} probe ticks): p50 {stats.p50:.1f} ms, "
        f"p95 {stats.p95:.1f} ms, p99 {stats.p99:.1f} ms, max {stats.max:.1f} ms; "
        f"frozen {stats.frozen / 1000:.2f} s in {stats.freezes} stall(s) over {FROZEN_MS:.0f} ms"
    )
    stall = worst_stall(t_s, lag_ms)
    if stall is None:
        return head + "\nno probe tick: the event loop never ran during the watch"
    return (
        f"{head}\nworst stall: {stall.ms:.0f} ms, from {stall.start_s:.3f} s to "
        f"{stall.end_s:.3f} s after {origin}"
    )
