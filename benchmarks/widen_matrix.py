"""Explore scenarios of tests/scenarios/widen under every built-in design, each once as written
and once with one device option switched (e.g. slot_cache off), and print the verdicts side by
side: which designs' verdicts an option changes.

    nice -n 10 .venv/bin/python benchmarks/widen_matrix.py --toggle slot_cache=false \
        --time-limit 60 slotcache-slot-reuse slotcache-two-faults slow/slotcache-flush-reuse

A name is a file of tests/scenarios/widen without .toml (or a path to a .toml file).  Each cell is a stateful DPOR search (complete unless it says otherwise) with --time-limit seconds.
"""
from __future__ import annotations

import argparse
import copy
import time
from pathlib import Path

from swaplab.designs import DESIGNS
from swaplab.scenarios import load_scenario
from swaplab.verify import check

WIDEN = Path(__file__).resolve().parent.parent / "tests" / "scenarios" / "widen"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("scenarios", nargs="+")
    ap.add_argument("--toggle", default="", help="device field=value for the second column, e.g. slot_cache=false")
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--designs", default=",".join(DESIGNS))
    a = ap.parse_args()
    for name in a.scenarios:
        sc = load_scenario(WIDEN / f"{name}.toml" if not name.endswith(".toml") else name)
        alt = None
        if a.toggle:
            key, val = a.toggle.split("=", 1)
            alt = copy.deepcopy(sc)
            setattr(alt.device, key, {"true": True, "false": False}.get(val, val))
            if key == "slot_cache" and val == "false":
                alt.device.slot_cache_size = 64
            if key == "read_errors":
                alt.device.read_errors = [int(x) for x in val.split(",") if x]
        print(f"== {name}" + (f"   (second column: {a.toggle})" if alt else ""), flush=True)
        for d in a.designs.split(","):
            t0 = time.perf_counter()
            v = check(DESIGNS[d], sc, strategy="stateful", max_executions=None, time_limit=a.time_limit)
            s1 = f"{v.status} ({v.complete}, {v.executions} ex, {time.perf_counter() - t0:.0f}s)"
            s2 = ""
            if alt is not None:
                t0 = time.perf_counter()
                w = check(DESIGNS[d], alt, strategy="stateful", max_executions=None, time_limit=a.time_limit)
                s2 = f"{w.status} ({w.complete}, {w.executions} ex, {time.perf_counter() - t0:.0f}s)"
            print(f"  {d:18} {s1:45} {s2}", flush=True)


if __name__ == "__main__":
    main()
