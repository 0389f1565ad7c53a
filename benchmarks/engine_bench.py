"""Engine throughput: DPOR on the classic programs, one core.

Prints executions/s, visible steps/s and explored/optimal (executions run, including
sleep-set-blocked ones, over the number of Mazurkiewicz traces where it is known).
Run: .venv/bin/python benchmarks/engine_bench.py
"""
from __future__ import annotations

import math
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))

from programs import indexer, lastzero, lost_update, philosophers, writers  # noqa: E402

from swaplab.engine import explore  # noqa: E402

# (program, Mazurkiewicz traces or None).  writers: n!; indexer: Abdulla et al. 2014, Table 1;
# lost_update(4) and lastzero(6): counted with tests/traces.py (naive DFS), see test_engine.py.
CASES = [
    (writers(7), math.factorial(7)),
    (indexer(13), 64),
    (indexer(14), 512),
    (lastzero(6), None),
    (philosophers(4), None),
    (lost_update(4), None),
]


def main() -> None:
    print(f"{'program':18} {'executions':>10} {'steps':>9} {'seconds':>8} {'exec/s':>8} {'steps/s':>9} "
          f"{'explored/optimal':>16}")
    tot_steps = tot_time = 0.0
    for prog, traces in CASES:
        t0 = time.perf_counter()
        r = explore(prog, "dpor", stop_on_first=False, minimize=False)
        dt = time.perf_counter() - t0
        tot_steps += r.stats.steps
        tot_time += dt
        ratio = f"{r.stats.executions / traces:.3f}" if traces else \
            f"(complete {r.stats.executions - r.stats.sleep_blocked}, +{r.stats.sleep_blocked} sleep-blocked)"
        print(f"{prog.name:18} {r.stats.executions:>10} {r.stats.steps:>9} {dt:>8.2f} "
              f"{r.stats.executions / dt:>8.0f} {r.stats.steps / dt:>9.0f} {ratio:>16}")
    print(f"overall: {tot_steps / tot_time:.0f} visible steps/s")
    print()
    print("the kernel model (DPOR to completion):")
    from swaplab.designs import DESIGNS
    from swaplab.kernel import make_program
    from swaplab.scenarios import get_scenario
    for design, scenario in [("swapcache", "two-faults"), ("prepare-sleep", "two-faults"),
                             ("pte-marker", "two-faults")]:
        t0 = time.perf_counter()
        r = explore(make_program(DESIGNS[design], get_scenario(scenario)), "dpor", stop_on_first=False,
                    minimize=False)
        dt = time.perf_counter() - t0
        print(f"{design + ' × ' + scenario:30} {r.stats.executions:>7} executions {r.stats.steps:>8} steps "
              f"{dt:6.2f}s {r.stats.steps / dt:>8.0f} steps/s  complete={r.stats.complete}")


if __name__ == "__main__":
    main()
