"""How fast could the timed simulation be in CPython at all?  A floor, not a benchmark of ours.

The simulation runs the model's own code (generator threads, one visible step per atomic
operation) under a timed scheduler.  This script measures, on this machine and one core:

1. the visible steps per simulated fault of the model (from real `swaplab bench` runs);
2. the rate at which bare CPython resumes a chain of generators as deep as the model's
   (do_op -> user_access -> ... -> cell.read) under the smallest possible scheduler that picks
   the thread with the earliest clock -- no model work, no executor, no cost lookup.

Their quotient is a ceiling on simulated faults per second for any simulator that keeps the
model's steps, whatever the engine around them does (per workload: a contended fault takes
more steps than an uncontended one).
Run: .venv/bin/python benchmarks/python_floor.py
"""
from __future__ import annotations

import time

from swaplab.designs import DESIGNS
from swaplab.sim.bench import run_bench
from swaplab.sim.costs import load_costs

DEPTH = 8          # generator frames between the thread and the step (measured: 8-12 in a fault)
THREADS = 4


def _leaf():
    yield 1


def _level(n):
    while True:
        if n == 0:
            yield from _leaf()
        else:
            yield from _level(n - 1)


def floor_steps_per_second(steps: int = 1_000_000) -> float:
    gens = [_level(DEPTH) for _ in range(THREADS)]
    for g in gens:
        next(g)
    clock = [0] * THREADS
    pick = clock.__getitem__
    t0 = time.perf_counter()
    for _ in range(steps):
        k = min(range(THREADS), key=pick)
        gens[k].send(None)
        clock[k] += 1500
    return steps / (time.perf_counter() - t0)


def main() -> None:
    costs = load_costs()
    per_fault = []
    for workload, design in [("reproducer", "prepare-sleep"), ("ui", "swapcache-sync"),
                             ("server", "pte-marker"), ("sequential-swapin", "bypass")]:
        r = run_bench(DESIGNS[design], workload, costs)
        per_fault.append(r.steps / r.faults)
        print(f"{workload:18} {design:16} {r.faults:6} faults {r.steps:8} steps "
              f"{r.steps / r.faults:6.1f} steps/fault  {r.faults / r.wall:8.0f} faults/s (ours)")
    floor = max(floor_steps_per_second() for _ in range(3))
    print(f"\nbare CPython floor: {floor:,.0f} generator steps/s (depth {DEPTH}, {THREADS} threads, "
          f"min-clock pick)")
    for n in per_fault:
        print(f"  ceiling at {n:6.1f} steps/fault: {floor / n:9,.0f} simulated faults/s")


if __name__ == "__main__":
    main()
