"""Every scenario up to a bound, each class of renamings once (the small-scope hypothesis).

Bound (T, K, P, S): at most T threads, K operations per thread, P pages, S swap slots.  The
enumeration covers, for each bound:

  device    slots 1..S; synchronous true/false; allocation "lowest", and "any" when slots ≥ 2
            (with one slot both allocators hand out the same slot)
  pages     one process A with 1..P pages, each present | swapped | swapcache | none
            (swapped and swapcache pages need a slot each: at most `slots` of them),
            all exclusive, slots given out by the loader
  fork      with or without a child B forked from A before the threads start (pages shared)
  threads   1..T threads, each on A or B, each 1..K operations from the whole alphabet:
            read p, write p V, pageout/willneed/dontneed/munmap X (X a non-empty set of pages),
            fork CHILD, exit, swapoff, reclaim

Values are never an enumeration dimension: every page holds and every write stores a value of
its own, so that a lost write can never pass for a correct one (renaming values is a symmetry).
Exclusive bits, explicit slots, several processes, longer threads and the device's slot cache
are left to mutation.

The raw stream is a fixed product, smallest scenarios first (see _levels); a scenario is emitted when it is its class's representative
(lang.is_canonical), so each class comes out exactly once and the position in the raw stream is
all a resumed hunt needs.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

from .lang import Op, Page, is_canonical, scenario

SWAP_STATES = ("swapped", "swapcache")
STATES = ("present", "swapped", "swapcache", "none")
RANGE_OPS = ("pageout", "willneed", "dontneed", "munmap")


@dataclass(frozen=True)
class Bound:
    threads: int = 2
    ops: int = 2
    pages: int = 1
    slots: int = 1

    @classmethod
    def parse(cls, text: str) -> "Bound":
        parts = text.split(",")
        if len(parts) != 4 or not all(p.strip().isdigit() and int(p) >= 1 for p in parts):
            raise ValueError(f"bound {text!r}: write T,K,P,S (threads, ops per thread, pages, slots), "
                             "four positive integers, e.g. 2,2,1,1")
        t, k, p, s = (int(x) for x in parts)
        if t > 6:
            raise ValueError(f"bound {text!r}: at most 6 threads (the loader's limit)")
        return cls(t, k, p, s)

    def __str__(self) -> str:
        return f"{self.threads},{self.ops},{self.pages},{self.slots}"


def op_alphabet(pages: int) -> list[tuple]:
    """Every operation on a process with ``pages`` pages, values and children left abstract."""
    out: list[tuple] = []
    out += [("read", (a,)) for a in range(pages)]
    out += [("write", (a,)) for a in range(pages)]
    subsets = [c for r in range(1, pages + 1) for c in itertools.combinations(range(pages), r)]
    for k in RANGE_OPS:
        out += [(k, sub) for sub in subsets]
    out += [("fork", ()), ("exit", ()), ("swapoff", ()), ("reclaim", ())]
    return out


def _devices(bound: Bound):
    for slots in range(1, bound.slots + 1):
        for sync in (True, False):
            for alloc in ("lowest",) + (("any",) if slots > 1 else ()):
                yield slots, sync, alloc


def _device_cost(slots: int, sync: bool, alloc: str) -> int:
    """How far a device is from the plainest one (one slot, synchronous, lowest slot first)."""
    return (slots - 1) + (not sync) + (alloc != "lowest")


def _shapes(bound: Bound, total: int) -> list[tuple[int, ...]]:
    """Thread lengths with ``total`` operations in all, more threads first (one thread has no race)."""
    return [lens for n in range(bound.threads, 0, -1)
            for lens in itertools.product(range(1, bound.ops + 1), repeat=n) if sum(lens) == total]


def _levels(bound: Bound):
    """(forked, device, thread lengths) of each level, smallest scenarios first.  A scenario's size
    is its number of operations, plus one for a forked child, plus the device's distance from the
    plainest one (_device_cost): two one-operation threads (size 2) come before a one-operation
    thread racing a two-operation one (size 3, the shape of the library's bound-2 races, e.g.
    slot-reuse), and a fork or a device option counts as the operation it replaces."""
    devices = list(_devices(bound))
    most = bound.threads * bound.ops
    top = most + 1 + max(_device_cost(*d) for d in devices)
    for size in range(1, top + 1):
        for forked in (False, True):
            for dev in devices:
                total = size - forked - _device_cost(*dev)
                if 1 <= total <= most:
                    yield forked, dev, _shapes(bound, total)


# Swap-backed pages first within a level: every swap-in race needs one (a present page must be
# paged out first, which costs an operation), so a hunt cut short has tried them first.
STATE_ORDER = ("swapped", "swapcache", "present", "none")


def _raw(bound: Bound):
    """The raw product, in a fixed order: level (size, fork, device), page states, thread
    lengths, threads."""
    for forked, (slots, sync, alloc), shapes in _levels(bound):
        mms = ("A", "B") if forked else ("A",)
        for npages in range(1, bound.pages + 1):
            alphabet = op_alphabet(npages)
            seqs = {k: [(mm, ops) for mm in mms for ops in itertools.product(alphabet, repeat=k)]
                    for k in range(1, bound.ops + 1)}
            for states in itertools.product(STATE_ORDER, repeat=npages):
                if sum(st in SWAP_STATES for st in states) > slots:
                    continue
                for lens in shapes:
                    for threads in itertools.product(*(seqs[k] for k in lens)):
                        yield (slots, sync, alloc), states, forked, threads


def build(item, name: str = "enum") -> "Scenario":
    (slots, sync, alloc), states, forked, threads = item
    value = 0

    def fresh():
        nonlocal value
        value += 1
        return value
    pages = [Page(st, 0 if st == "none" else fresh()) for st in states]
    children = 0
    ts = []
    for mm, ops in threads:
        built = []
        for kind, addrs in ops:
            o = Op(kind, list(addrs))
            if kind == "write":
                o.value = fresh()
            elif kind == "fork":
                children += 1
                o.child = f"C{children}"
            built.append(o)
        ts.append((mm, built))
    return scenario(name, pages, ts, slots=slots, synchronous=sync, allocation=alloc, forked=forked)


def enumerate_scenarios(bound: Bound, start: int = 0):
    """Yield (position, scenario) for each class representative at raw position ≥ ``start``.
    Resume with ``start`` = the last position handled + 1."""
    for pos, item in enumerate(itertools.islice(_raw(bound), start, None), start):
        s = build(item, f"enum-{pos}")
        if not _op_after_exit(s) and is_canonical(s):
            yield pos, s


def _op_after_exit(s) -> bool:
    """A thread with an operation after its ``exit``: the loader refuses it (a task does
    nothing after it exits)."""
    return any(op.kind == "exit" for t in s.threads for op in t.ops[:-1])


def raw_size(bound: Bound) -> int:
    """Length of the raw stream (before symmetry is broken), for progress reports."""
    total = 0
    for slots, _sync, _alloc in _devices(bound):
        for npages in range(1, bound.pages + 1):
            a = len(op_alphabet(npages))
            n_states = sum(1 for st in itertools.product(STATES, repeat=npages)
                           if sum(x in SWAP_STATES for x in st) <= slots)
            for forked in (False, True):
                seqs = (2 if forked else 1) * sum(a ** k for k in range(1, bound.ops + 1))
                total += n_states * sum(seqs ** n for n in range(1, bound.threads + 1))
    return total
