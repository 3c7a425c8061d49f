"""The plots' arithmetic on time series: throughput, frozen stretches, percentiles.

Plain NumPy and Python, no Qt: each function is tested on arrays alone.
"""

from __future__ import annotations

import math

import numpy as np

from gui.readback import seconds_text
from workers.stats import FROZEN_MS, Ring

MERGE_S = 0.05  # frozen stretches closer than this (one loop turn apart) are drawn as one


def rate(t: np.ndarray, units: np.ndarray, window_s: float = 0.5, per: float = 1e6) -> np.ndarray:
    """The rate at each sample, over the trailing ``window_s``, in ``per`` units a second
    (bytes with ``per`` 1e6: MB/s; see ``workers.names.throughput_unit``)."""
    if len(t) < 2:
        return np.zeros(len(t))
    j = np.searchsorted(t, t - window_s)
    j = np.minimum(j, np.arange(len(t)) - 1).clip(0)
    dt = t - t[j]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(dt > 0, (units - units[j]) / dt / per, 0.0)


def since(ring: Ring, first: int) -> tuple[np.ndarray, np.ndarray]:
    """The samples appended since ``ring.count`` was ``first``, oldest first (views if
    they do not wrap around the ring's end)."""
    first = max(first, ring.count - ring.capacity)
    n, i = ring.count - first, first % ring.capacity
    if n <= 0:
        return ring.t[:0], ring.v[:0]
    if i + n <= ring.capacity:
        return ring.t[i : i + n], ring.v[i : i + n]
    rest = i + n - ring.capacity
    return np.concatenate((ring.t[i:], ring.t[:rest])), np.concatenate((ring.v[i:], ring.v[:rest]))


def frozen_spans(
    t: np.ndarray, lag_ms: np.ndarray, threshold_ms: float = FROZEN_MS, merge_s: float = MERGE_S
) -> list[tuple[float, float, float]]:
    """``(start, end, frozen seconds)`` of each stretch the event loop did not run.

    A probe sample is taken when the loop runs again, so a late sample at ``t``
    with lag ``L`` means nothing ran during ``[t - L, t]``. Stretches separated
    by less than ``merge_s`` (one task after another on the GUI thread) merge.
    """
    late = lag_ms > threshold_ms
    spans: list[list[float]] = []
    for end, lag in zip(t[late].tolist(), lag_ms[late].tolist(), strict=True):
        start = end - lag / 1000
        if spans and start - spans[-1][1] < merge_s:
            spans[-1][1] = end
            spans[-1][2] += lag / 1000
        else:
            spans.append([start, end, lag / 1000])
    return [(a, b, s) for a, b, s in spans]


def span_freezes(
    t: np.ndarray,
    lag_ms: np.ndarray,
    spans: list[tuple[float, float, float]],
    threshold_ms: float = FROZEN_MS,
) -> list[tuple[int, float]]:
    """``(freezes, longest seconds)`` of each span: a band merges back-to-back freezes,
    so its frozen total and its longest single freeze differ, and both are named."""
    late = lag_ms > threshold_ms
    out = []
    for start, end, _ in spans:
        lags = lag_ms[late & (t > start) & (t <= end)]
        out.append((len(lags), float(lags.max()) / 1000 if len(lags) else 0.0))
    return out


def band_label(frozen_s: float, freezes: int, longest_s: float) -> str:
    """``frozen 9.8 s · longest freeze 1.4 s`` for a band of several freezes, ``frozen 1.4 s``
    for one: the words of the read-back, so the two numbers are never confused."""
    text = f"frozen {seconds_text(frozen_s)}"
    return text + (f" · longest freeze {seconds_text(longest_s)}" if freezes > 1 else "")


def percentile(ordered: list[float], q: float) -> float:
    """The ``q``-th percentile of sorted numbers, interpolated as NumPy's default."""
    at = (len(ordered) - 1) * q / 100
    low = math.floor(at)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (at - low)
