"""A streaming histogram: constant memory in the number of samples, ~1% relative error."""
from __future__ import annotations

import math


class Histogram:
    RATIO = 1.02

    def __init__(self):
        self.buckets: dict[int, int] = {}
        self.n = 0
        self.max = 0
        self.total = 0

    def add(self, v: int) -> None:
        self.n += 1
        self.total += v
        self.max = max(self.max, v)
        b = 0 if v <= 1 else int(math.log(v) / math.log(self.RATIO)) + 1
        self.buckets[b] = self.buckets.get(b, 0) + 1

    def quantile(self, q: float) -> float:
        """The upper edge of the bucket holding the q-quantile (at most 2% above the true value)."""
        if not self.n:
            return 0.0
        want = q * self.n
        seen = 0
        for b in sorted(self.buckets):
            seen += self.buckets[b]
            if seen >= want:
                return 0.0 if b == 0 else min(self.RATIO ** b, float(self.max))
        return float(self.max)

    def cdf(self):
        """(value, fraction ≤ value) points for plotting."""
        seen = 0
        out = []
        for b in sorted(self.buckets):
            seen += self.buckets[b]
            out.append((0.0 if b == 0 else self.RATIO ** b, seen / self.n))
        return out
