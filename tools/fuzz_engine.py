"""Fuzz the exploration engine: random small concurrent programs, explored by DPOR, stateful
search and (where it finishes) naive DFS, must reach the same final states and failures.

    .venv/bin/python tools/fuzz_engine.py [--seed N] [--programs N] [--max-steps N] [--dfs-budget N]

The programs are the property test's (tests/test_engine_properties.py): 2-4 threads of reads,
writes, spin/sleeping-lock increments, trylocks, one-step critical sections and retry loops
over three variables.  DFS is the reference when it completes within --dfs-budget executions;
otherwise DPOR and stateful search check each other.  Prints each program on which they differ
and exits 1 if there is one.  2,000 programs of up to 20 steps take about three minutes.
"""
from __future__ import annotations

import argparse
import os
import random
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))

from test_engine_properties import STEPS, build, outcome, search, size  # noqa: E402


def random_program(rng: random.Random, max_steps: int) -> list:
    while True:
        spec = []
        for _ in range(rng.randint(2, 4)):
            ops = []
            for _ in range(rng.randint(1, 4)):
                o = rng.choice(sorted(STEPS))
                ops.append(("write", rng.randint(0, 2), rng.randint(0, 2)) if o == "write"
                           else (o, rng.randint(0, 2)))
            spec.append(ops)
        if size(spec) <= max_steps:
            return spec


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--programs", type=int, default=2000)
    ap.add_argument("--max-steps", type=int, default=20)
    ap.add_argument("--dfs-budget", type=int, default=3000)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    bad = checked_by_dfs = 0
    for _ in range(a.programs):
        spec = random_program(rng, a.max_steps)
        prog = build(spec)
        runs = {name: search(prog, name) for name in ("dpor", "stateful")}
        dfs = search(prog, "dfs", max_executions=a.dfs_budget)
        if dfs.stats.complete:
            runs["dfs"] = dfs
            checked_by_dfs += 1
        ref_name = "dfs" if "dfs" in runs else "dpor"
        ref = outcome(runs[ref_name])
        for name, r in runs.items():
            if not r.stats.complete or outcome(r) != ref:
                bad += 1
                print(f"{name} differs from {ref_name} on {spec}")
    print(f"{a.programs} programs ({checked_by_dfs} also by DFS): {bad} differences")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
