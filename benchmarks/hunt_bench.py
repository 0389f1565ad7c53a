"""Benchmark of swaplab hunt (prints measured figures; not a test).

1. Throughput: 2-thread scenarios of the bound 2,2,1,1 enumeration checked per minute on one core
   (the hunt's cheap phase: bounded search ≤ 2 preemptions within its default budget, plus the
   coverage signal run), design swapcache.
2. Coverage: branches of swaplab.kernel reached by hunting swapcache for --minutes with one
   worker (a fresh store), against the baseline of the whole built-in library: each of its
   scenarios checked under coverage.py with bounded search ≤ 2 preemptions, up to 2000 executions
   or 20 s (a more generous search per scenario than the hunt's signal run).

    .venv/bin/python benchmarks/hunt_bench.py --minutes 2 --rate-seconds 60
    .venv/bin/python benchmarks/hunt_bench.py --positions     # the library in the enumeration order
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from swaplab.designs import get_design
from swaplab.engine import explore
from swaplab.hunt.check import Budget, check_scenario
from swaplab.hunt.coordinator import HuntConfig, hunt
from swaplab.hunt.enumerate import Bound, enumerate_scenarios
from swaplab.hunt.lang import to_toml
from swaplab.hunt.signal import Tracer, branch_universe, branches_hit, kernel_files
from swaplab.kernel import make_program
from swaplab.scenarios import builtin_names, get_scenario


def throughput(seconds: float, design: str) -> tuple[int, float]:
    n, t0 = 0, time.perf_counter()
    for _, s in enumerate_scenarios(Bound(2, 2, 1, 1)):
        if len(s.threads) != 2:
            continue
        check_scenario({"toml": to_toml(s), "designs": [design], "budget": Budget().to_json(), "coverage": True})
        n += 1
        if time.perf_counter() - t0 >= seconds:
            break
    return n, time.perf_counter() - t0


def library_coverage(design: str) -> int:
    cls = get_design(design)
    tracer = Tracer(kernel_files())
    universe = branch_universe(kernel_files())
    arcs: dict = {}
    for name in builtin_names():
        s = get_scenario(name)
        _, a = tracer.measure(lambda: explore(make_program(cls, s), "bounded", preemptions=2,
                                              max_executions=2000, time_limit=20.0, minimize=False))
        for f, xs in a.items():
            arcs.setdefault(f, set()).update(map(tuple, xs))
    return branches_hit(arcs, universe)


def positions(bound: Bound) -> None:
    """Where the library's scenarios that fit the bound come in the enumeration (the n-th
    scenario emitted, and the raw position): how long a hunt from scratch takes to reach them."""
    from swaplab.hunt.lang import canonical_key
    want = {canonical_key(get_scenario(n)): n for n in builtin_names()}
    t0 = time.perf_counter()
    for i, (pos, s) in enumerate(enumerate_scenarios(bound)):
        name = want.pop(canonical_key(s), None)
        if name:
            print(f"position: {name} is scenario #{i + 1} (raw position {pos}) at bound {bound}")
        if not want or time.perf_counter() - t0 > 120:
            break
    for name in want.values():
        print(f"position: {name} not within the first {i + 1} scenarios (outside the bound, or later)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=2.0, help="hunting time for the coverage figure")
    ap.add_argument("--rate-seconds", type=float, default=60.0, help="time for the throughput figure")
    ap.add_argument("--design", default="swapcache")
    ap.add_argument("--positions", action="store_true",
                    help="only print where the library's scenarios come in the bound 2,2,1,1 enumeration")
    a = ap.parse_args()
    if a.positions:
        positions(Bound(2, 2, 1, 1))
        return
    print(f"machine: {os.cpu_count()} CPUs (shared); python {sys.version.split()[0]}")
    n, secs = throughput(a.rate_seconds, a.design)
    print(f"throughput: {n} two-thread scenarios (bound 2,2,1,1) in {secs:.1f}s on one core = "
          f"{60 * n / secs:.1f} scenarios/minute/core  ({a.design}, cheap phase with coverage signal)")
    total = sum(len(u) for u in branch_universe(kernel_files()).values())
    t0 = time.perf_counter()
    base = library_coverage(a.design)
    print(f"baseline: the {len(builtin_names())} built-in scenarios reach {base}/{total} branches of "
          f"swaplab.kernel ({100 * base / total:.1f}%) in {time.perf_counter() - t0:.0f}s")
    with tempfile.TemporaryDirectory() as d:
        r = hunt(HuntConfig(designs=[a.design], store=Path(d) / "hunt.db", time_limit=60 * a.minutes))
        print(f"hunt: {a.minutes:g} minute(s), 1 worker: {r.scenarios} scenarios, {r.kernel_branches_hit}/"
              f"{r.kernel_branches_total} branches of swaplab.kernel ({100 * r.kernel_branches_hit / total:.1f}%), "
              f"corpus {r.corpus}, {len(r.findings)} finding signature(s)")
        print(f"hunt - baseline: {r.kernel_branches_hit - base:+d} branches")


if __name__ == "__main__":
    main()
