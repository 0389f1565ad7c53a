"""Timed simulator throughput and memory: simulated faults per wall-clock second on one core,
and peak traced memory for a short and a four-times-longer run (it should not grow with the
length: streaming histograms, no per-fault lists, no step history).
Run: .venv/bin/python benchmarks/sim_bench.py
"""
from __future__ import annotations

import time
import tracemalloc

from swaplab.designs import DESIGNS
from swaplab.sim.bench import run_bench
from swaplab.sim.costs import load_costs


def main() -> None:
    costs = load_costs()
    print(f"{'workload':18} {'design':18} {'rounds':>6} {'faults':>7} {'wall s':>7} {'faults/s':>9} {'peak KiB':>9}")
    for workload, design in [("reproducer", "prepare-sleep"), ("ui", "swapcache-sync"), ("server", "pte-marker")]:
        for rounds in (25, 100):
            t0 = time.perf_counter()
            r = run_bench(DESIGNS[design], workload, costs, rounds=rounds)
            wall = time.perf_counter() - t0           # timed without tracemalloc, which is slow
            tracemalloc.start()
            run_bench(DESIGNS[design], workload, costs, rounds=rounds)
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            print(f"{workload:18} {design:18} {rounds:>6} {r.faults:>7} {wall:>7.2f} {r.faults / wall:>9.0f} "
                  f"{peak / 1024:>9.0f}")


if __name__ == "__main__":
    main()
