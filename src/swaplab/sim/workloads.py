"""Workloads for the timed simulation, each a scenario built from parameters.

- sequential-swapin: one thread writes N swapped-out pages in order (the 10 GiB zram
  microbenchmark of 13ddaf26, scaled down): time per page.
- reproducer: the shape of 13ddaf26's stress program: W workers increment every page of a small
  region (half walk up, half down) while one thread pages the region out in chunks with
  MADV_PAGEOUT, on a swap device no larger than the region, so slots are reused.
- server: many threads, little sharing: each thread works on its own pages and pages them out
  (the shape of the MySQL measurement in the thread).
- ui: a latency-sensitive thread and a background thread fault on the same pages while a third
  pages them out; only the UI thread's faults are measured.
"""
from __future__ import annotations

from ..scenarios.loader import Device, MMSpec, Op, Page, Scenario, ThreadSpec

WORKLOADS = ("sequential-swapin", "reproducer", "server", "ui")
PERIOD = 10_000_000      # 10 ms between rounds: longer than a 4 ms tick, so a sleeper catches up


def _mm(n: int, value0: int = 1) -> MMSpec:
    return MMSpec("A", [Page("swapped", value0 + i) for i in range(n)])


def _think(ns: int) -> Op:
    return Op("think", [], ns)


def _at(ns: int) -> Op:
    return Op("think_until", [], ns)


def build(name: str, *, pages: int | None = None, rounds: int | None = None, threads: int | None = None) -> Scenario:
    if name == "sequential-swapin":
        n = pages or 400
        ops = [Op("write", [i], 1000 + i) for i in range(n)]
        return Scenario(name, "one thread swaps in N pages", Device(n, True, "lowest"), [_mm(n)],
                        [ThreadSpec("T0", "A", ops)])
    if name == "reproducer":
        n, r, w = pages or 8, rounds or 100, threads or 4
        ts = []
        v = 100
        for k in range(w):
            order = list(range(n)) if k % 2 == 0 else list(range(n - 1, -1, -1))
            ops = []
            for i in range(r):
                ops.append(_at(i * PERIOD + 1_000 * k))
                for p in order:
                    v += 1
                    ops += [Op("write", [p], v), _think(1_000)]
            ts.append(ThreadSpec(f"C{k}", "A", ops))
        half = n // 2
        pageout = []
        for i in range(r):
            pageout += [_at(i * PERIOD + PERIOD // 2), Op("pageout", list(range(0, half))), _think(1_000),
                        Op("pageout", list(range(half, n)))]
        ts.append(ThreadSpec("P", "A", pageout))
        return Scenario(name, "13ddaf26's reproducer, scaled down", Device(n, True, "lowest"), [_mm(n)], ts)
    if name == "server":
        w, per, r = threads or 8, pages or 4, rounds or 40
        n = w * per
        ts = []
        v = 100
        for k in range(w):
            mine = list(range(k * per, (k + 1) * per))
            ops = []
            for i in range(r):
                ops.append(_at(i * PERIOD + 3_000 * k))
                for p in mine:
                    v += 1
                    ops += [Op("write", [p], v), _think(20_000)]
                ops.append(Op("pageout", mine))
            ts.append(ThreadSpec(f"S{k}", "A", ops))
        return Scenario(name, "many threads, little sharing", Device(n, True, "lowest"), [_mm(n)], ts)
    if name == "ui":
        n, r = pages or 8, rounds or 100
        ui, bg, po = [], [], []
        for i in range(r):
            # every period: page everything out, then the background thread walks the pages
            # just ahead of the UI thread, so they often fault on the same entry
            t = i * PERIOD
            po += [_at(t), Op("pageout", list(range(n)))]
            bg += [_at(t + PERIOD // 2)] + [x for p in range(n) for x in (Op("read", [p]), _think(3_000))]
            ui += [_at(t + PERIOD // 2 + 1_000)] + [x for p in range(n) for x in (Op("read", [p]),
                                                                                  _think(3_000))]
        return Scenario(name, "a UI thread and a background thread fault on the same pages",
                        Device(n, True, "lowest"), [_mm(n)],
                        [ThreadSpec("UI", "A", ui), ThreadSpec("BG", "A", bg), ThreadSpec("P", "A", po)])
    raise ValueError(f"unknown workload {name!r}: choose one of {', '.join(WORKLOADS)}")
