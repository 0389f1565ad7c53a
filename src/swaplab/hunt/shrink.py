"""Shrinking a finding: delta debugging (Zeller's ddmin) over the parts of a scenario, level by
level as in hierarchical delta debugging: threads, then operations, then pages and forked
processes, then slots and the options (allocation, vm_swap_full, read errors, exclusive bits,
explicit slots, swap-cache pages), then values (renumbered) — to a fixed point.  A candidate is
kept when the loader accepts it and the design still fails with the same violation kind in the
same kernel function.  The schedule is then the engine's own minimal counterexample (fewest
preemptions, then fewest steps).
"""
from __future__ import annotations

import copy
import time

from ..scenarios.loader import ScenarioError
from .lang import canonical_key, renumbered, validated


def ddmin(items: list, test, *, keep_one: bool = True) -> list:
    """The classic ddmin: a 1-minimal sub-list of ``items`` on which ``test`` holds (``test``
    holds on ``items``).  Tries each of n chunks and each complement, then doubles n."""
    n = 2
    while len(items) >= 2:
        size = max(1, len(items) // n)
        chunks = [items[i:i + size] for i in range(0, len(items), size)]
        reduced = False
        for i, c in enumerate(chunks):
            if test(c):
                items, n, reduced = c, 2, True
                break
            rest = [x for j, ch in enumerate(chunks) if j != i for x in ch]
            if (rest or not keep_one) and test(rest):
                items, n, reduced = rest, max(n - 1, 2), True
                break
        if not reduced:
            if n >= len(items):
                break
            n = min(len(items), 2 * n)
    return items


class Shrinker:
    """``fails(scenario) -> bool`` is the predicate (same kind, same function); the budget caps
    the number of candidates tried and the seconds spent."""

    def __init__(self, fails, *, max_tries: int = 400, time_limit: float = 120.0):
        self.fails, self.max_tries, self.deadline = fails, max_tries, time.monotonic() + time_limit
        self.tries = 0
        self.seen: set = set()

    def out_of_budget(self) -> bool:
        return self.tries >= self.max_tries or time.monotonic() > self.deadline

    def test(self, s) -> bool:
        if self.out_of_budget():
            return False
        try:
            s = validated(s)
        except ScenarioError:
            return False
        key = canonical_key(s)
        if key in self.seen:
            return False
        self.seen.add(key)
        self.tries += 1
        return self.fails(s)

    # --- the levels --------------------------------------------------------------------------
    def threads(self, s):
        def with_threads(ts):
            c = copy.deepcopy(s)
            c.threads = copy.deepcopy(ts)
            return c
        keep = ddmin(list(s.threads), lambda ts: bool(ts) and self.test(with_threads(ts)))
        return with_threads(keep) if len(keep) < len(s.threads) else s

    def ops(self, s):
        flat = [(i, j) for i, t in enumerate(s.threads) for j in range(len(t.ops))]

        def with_ops(keep):
            c = copy.deepcopy(s)
            ks = set(keep)
            for i, t in enumerate(c.threads):
                t.ops = [o for j, o in enumerate(t.ops) if (i, j) in ks]
            c.threads = [t for t in c.threads if t.ops]
            return c
        keep = ddmin(flat, lambda k: bool(k) and self.test(with_ops(k)))
        return with_ops(keep) if len(keep) < len(flat) else s

    def pages(self, s):
        changed = True
        while changed and not self.out_of_budget():
            changed = False
            for mi, m in enumerate(s.mms):
                if m.forked_from or len(m.pages) < 2:
                    continue
                for p in range(len(m.pages)):
                    c = drop_page(s, mi, p)
                    if c is not None and self.test(c):
                        s, changed = c, True
                        break
                if changed:
                    break
        return s

    def mms(self, s):
        for m in list(s.mms):
            if len(s.mms) < 2:
                break
            c = copy.deepcopy(s)
            c.mms = [x for x in c.mms if x.name != m.name and x.forked_from != m.name]
            gone = {x.name for x in c.mms}
            c.threads = [t for t in c.threads if t.mm in gone]
            if c.threads and self.test(c):
                s = c
        return s

    def options(self, s):
        candidates = []
        for slots in range(1, s.device.slots):
            c = copy.deepcopy(s)
            c.device.slots = slots
            c.device.read_errors = [x for x in c.device.read_errors if x < slots]
            candidates.append(c)
        if s.device.vm_swap_full != "never":
            c = copy.deepcopy(s)
            c.device.vm_swap_full = "never"
            candidates.append(c)
        for x in s.device.read_errors:
            c = copy.deepcopy(s)
            c.device.read_errors = [y for y in c.device.read_errors if y != x]
            candidates.append(c)
        if s.device.allocation != "lowest":
            c = copy.deepcopy(s)
            c.device.allocation = "lowest"
            candidates.append(c)
        if s.device.vm_swap_full != "never":
            c = copy.deepcopy(s)
            c.device.vm_swap_full = "never"
            candidates.append(c)
        for slot in s.device.read_errors:
            c = copy.deepcopy(s)
            c.device.read_errors = [x for x in s.device.read_errors if x != slot]
            candidates.append(c)
        for mi, m in enumerate(s.mms):
            for pi, p in enumerate(m.pages):
                if p.slot is not None or not p.exclusive or p.state == "swapcache":
                    c = copy.deepcopy(s)
                    q = c.mms[mi].pages[pi]
                    q.slot, q.exclusive = None, True
                    q.state = "swapped" if q.state == "swapcache" else q.state
                    candidates.append(c)
        for c in candidates:
            if self.test(c):
                return c
        return s

    def values(self, s):
        c = renumbered(s, s.name)
        return c if c != s and self.test(c) else s

    def run(self, s):
        """Shrink to a fixed point (or until the budget runs out)."""
        while not self.out_of_budget():
            before = s
            for level in (self.threads, self.ops, self.mms, self.pages, self.options, self.values):
                s = level(s)
            if s == before:
                break
        return renumbered(s, s.name)


def drop_page(s, mi: int, p: int):
    """The scenario without page ``p`` of root mm ``mi``: later pages move down by one, an
    operation loses the page from its list and disappears with its last page."""
    c = copy.deepcopy(s)
    root = c.mms[mi].name
    del c.mms[mi].pages[p]
    family = {root} | {m.name for m in c.mms if m.forked_from == root}
    for t in c.threads:
        if t.mm not in family:
            continue
        ops = []
        for o in t.ops:
            if o.addrs:
                o.addrs = [a - (a > p) for a in o.addrs if a != p]
                if not o.addrs:
                    continue
            ops.append(o)
        t.ops = ops
    c.threads = [t for t in c.threads if t.ops]
    return c if c.threads else None
