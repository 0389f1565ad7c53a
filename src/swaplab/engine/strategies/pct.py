"""PCT: probabilistic concurrency testing (Burckhardt et al., ASPLOS 2010).

Each execution gives the threads random distinct priorities d..d+n-1 and picks d-1 priority
change points among the first k steps; the highest-priority enabled thread always runs, and at
the i-th change point the running thread drops to priority i.  One execution finds a bug of
depth d with probability at least 1/(n·k^(d-1)).  k is the longest execution seen so far.
"""
from __future__ import annotations

import random

from .base import Strategy


class PCT(Strategy):
    name = "pct"

    def __init__(self, depth: int = 3, seed: int = 0, executions: int = 1000):
        self.depth = max(1, depth)
        self.seed = seed
        self.executions = executions

    def start(self, program) -> None:
        self.rng = random.Random(self.seed)
        self.k = 0
        self.runs = 0
        self.n = 0

    def describe(self) -> str:
        return f"pct (depth {self.depth}, seed {self.seed})"

    def next_execution(self) -> bool:
        if self.runs >= self.executions:
            return False
        self.runs += 1
        self.prio: dict[int, float] = {}
        k = max(self.k, 1)
        self.change = sorted(self.rng.sample(range(1, k + 1), min(self.depth - 1, k)))
        return True

    def pick(self, ex, enabled):
        for t in enabled:
            if t not in self.prio:
                self.prio[t] = self.depth + self.rng.random() * 1000
        if ex.seq in self.change and ex.last_tid >= 0:
            self.prio[ex.last_tid] = self.change.index(ex.seq) + 1
        return max(enabled, key=lambda t: self.prio[t])

    def choose(self, ex, tid, n):
        return self.rng.randrange(n)

    def finished(self, ex) -> None:
        self.k = max(self.k, ex.seq)
        self.n = max(self.n, len(ex.threads))
        n, k, d = max(self.n, 1), max(self.k, 1), self.depth
        self.guarantee = f"each run finds a depth-{d} bug with probability ≥ 1/(n·k^(d−1)) = " \
                         f"1/({n}·{k}^{d - 1}) ≈ {1.0 / (n * k ** (d - 1)):.2e}"
