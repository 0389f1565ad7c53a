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


class Lazy:
    """Operations made on the fly each time a thread iterates them: the run's memory does not
    grow with the number of rounds."""

    def __init__(self, fn):
        self.fn = fn

    def __iter__(self):
        return self.fn()


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
        for k in range(w):
            order = list(range(n)) if k % 2 == 0 else list(range(n - 1, -1, -1))

            def worker(k=k, order=order):
                for i in range(r):
                    yield _at(i * PERIOD + 1_000 * k)
                    for p in order:
                        yield Op("write", [p], 100 + (i * n + p) * w + k)
                        yield _think(1_000)
            ts.append(ThreadSpec(f"C{k}", "A", Lazy(worker)))
        half = n // 2

        def pageout():
            for i in range(r):
                yield _at(i * PERIOD + PERIOD // 2)
                yield Op("pageout", list(range(0, half)))
                yield _think(1_000)
                yield Op("pageout", list(range(half, n)))
        ts.append(ThreadSpec("P", "A", Lazy(pageout)))
        return Scenario(name, "13ddaf26's reproducer, scaled down", Device(n, True, "lowest"), [_mm(n)], ts)
    if name == "server":
        w, per, r = threads or 8, pages or 4, rounds or 40
        n = w * per
        ts = []
        for k in range(w):
            mine = list(range(k * per, (k + 1) * per))

            def server(k=k, mine=mine):
                for i in range(r):
                    yield _at(i * PERIOD + 3_000 * k)
                    for p in mine:
                        yield Op("write", [p], 100 + i * n + p)
                        yield _think(20_000)
                    yield Op("pageout", mine)
            ts.append(ThreadSpec(f"S{k}", "A", Lazy(server)))
        return Scenario(name, "many threads, little sharing", Device(n, True, "lowest"), [_mm(n)], ts)
    if name == "ui":
        n, r = pages or 8, rounds or 100
        # every period: page everything out, then the background thread walks the pages just
        # ahead of the UI thread, so they often fault on the same entry
        def po():
            for i in range(r):
                yield _at(i * PERIOD)
                yield Op("pageout", list(range(n)))

        def reader(offset):
            def ops():
                for i in range(r):
                    yield _at(i * PERIOD + PERIOD // 2 + offset)
                    for p in range(n):
                        yield Op("read", [p])
                        yield _think(3_000)
            return Lazy(ops)
        ui, bg, po = reader(1_000), reader(0), Lazy(po)
        return Scenario(name, "a UI thread and a background thread fault on the same pages",
                        Device(n, True, "lowest"), [_mm(n)],
                        [ThreadSpec("UI", "A", ui), ThreadSpec("BG", "A", bg), ThreadSpec("P", "A", po)])
    raise ValueError(f"unknown workload {name!r}: choose one of {', '.join(WORKLOADS)}")
