"""Latency percentiles in constant memory, whatever the number of lookups.

Theory of operation
-------------------
A million lookups must not keep a million floats. Each latency goes into one of 2,800
buckets spaced logarithmically, 100 per factor *e*, so each bucket is e^(1/100) - 1 ≈ 1 %
wide and they span 1 ns to e^28 ns ≈ 1,450 s. A percentile is the middle of the bucket that
holds its rank, capped at the largest latency seen, so it is right to within 1 %.
"""

from __future__ import annotations

import math

__all__ = ["LatencyHistogram"]


class LatencyHistogram:
    """Latencies in constant memory: log-spaced buckets 1 % wide, from 1 ns to ~1000 s."""

    __slots__ = ("_counts", "count", "max", "total")
    _PER_E = 100  # buckets per factor e: bucket width e^(1/100) - 1 ≈ 1 %
    _BUCKETS = 2800  # ln(1e12 ns) * 100 ≈ 2763

    def __init__(self) -> None:
        self._counts = [0] * self._BUCKETS
        self.count = 0
        self.total = 0.0
        self.max = 0.0

    def add(self, seconds: float) -> None:
        """Record one latency."""
        ns = seconds * 1e9
        index = int(math.log(ns) * self._PER_E) if ns > 1.0 else 0
        self._counts[min(index, self._BUCKETS - 1)] += 1
        self.count += 1
        self.total += seconds
        if seconds > self.max:
            self.max = seconds

    def percentile(self, q: float) -> float | None:
        """The ``q``-th percentile (0–100) in seconds, to within 1 %; None if empty."""
        if not self.count:
            return None
        rank = max(1, math.ceil(self.count * q / 100))
        seen = 0
        for index, n in enumerate(self._counts):
            seen += n
            if seen >= rank:
                return min(math.exp((index + 0.5) / self._PER_E) / 1e9, self.max)
        return self.max
