"""Uniform random walks: at each step a uniformly random enabled thread, from a seed."""
from __future__ import annotations

import random

from .base import Strategy


class RandomWalk(Strategy):
    name = "random"

    def __init__(self, seed: int = 0, executions: int = 1000):
        self.seed = seed
        self.executions = executions

    def start(self, program) -> None:
        self.rng = random.Random(self.seed)
        self.runs = 0

    def describe(self) -> str:
        return f"random (seed {self.seed})"

    def next_execution(self) -> bool:
        self.runs += 1
        return self.runs <= self.executions

    def pick(self, ex, enabled):
        return enabled[self.rng.randrange(len(enabled))]

    def choose(self, ex, tid, n):
        return self.rng.randrange(n)
