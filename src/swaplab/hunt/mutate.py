"""Mutations past the bound: small changes to a corpus scenario, as syzkaller mutates programs.

Insert, delete or swap operations (within a thread, or move one to another thread), add a thread
or a fork (an operation, or a child process forked before the threads start), add a process of
its own with a page and a thread, change a page's
initial state (present, swapped, swapcache, none), its exclusive bit or its slot, add a page,
change the device's size or options (vm_swap_full never/computed, a read error on a slot, the
per-cpu slot cache).  Every result goes through the loader; a mutation the loader refuses is
dropped (the caller tries another).  Values stay fresh: a new write stores a value nobody stored
before.
"""
from __future__ import annotations

import copy
import random
from dataclasses import dataclass

from ..scenarios.loader import MMSpec, Op, Page, ScenarioError, ThreadSpec
from .enumerate import RANGE_OPS, STATES
from .lang import validated


@dataclass(frozen=True)
class Limits:
    """How large mutation lets a scenario grow (the search grows exponentially with threads)."""
    threads: int = 4
    ops: int = 5
    pages: int = 3
    slots: int = 4
    mms: int = 3


def _fresh_value(s) -> int:
    vals = [p.value for m in s.mms for p in m.pages] + [o.value or 0 for t in s.threads for o in t.ops]
    return max(vals, default=0) + 1


def _npages(s, mm_name) -> int:
    by = {m.name: m for m in s.mms}
    m = by[mm_name]
    while m.forked_from:
        m = by[m.forked_from]
    return len(m.pages)


def _taken_names(s) -> set:
    """Process names in use: the mms and the children forks will create."""
    return {m.name for m in s.mms} | {o.child for t in s.threads for o in t.ops if o.kind == "fork"}


def _fresh_child(s) -> str:
    """The first of C1, C2, ... that names no process yet."""
    taken = _taken_names(s)
    i = 1
    while f"C{i}" in taken:
        i += 1
    return f"C{i}"


def random_op(rng: random.Random, s, mm_name: str) -> Op:
    n = _npages(s, mm_name)
    kind = rng.choice(["read", "write", "read", "write"] + list(RANGE_OPS) + ["fork", "exit", "swapoff", "reclaim"])
    if kind in ("read", "write"):
        o = Op(kind, [rng.randrange(n)])
        if kind == "write":
            o.value = _fresh_value(s)
        return o
    if kind in RANGE_OPS:
        k = rng.randint(1, n)
        return Op(kind, sorted(rng.sample(range(n), k)))
    if kind == "fork":
        return Op("fork", child=_fresh_child(s))
    return Op(kind)


def _insert_op(rng, s, lim):
    t = rng.choice(s.threads)
    if len(t.ops) >= lim.ops:
        return None
    t.ops.insert(rng.randint(0, len(t.ops)), random_op(rng, s, t.mm))
    return s


def _delete_op(rng, s, lim):
    t = rng.choice(s.threads)
    if len(t.ops) > 1:
        del t.ops[rng.randrange(len(t.ops))]
    elif len(s.threads) > 1:
        s.threads.remove(t)
    else:
        return None
    return s


def _swap_ops(rng, s, lim):
    t = rng.choice(s.threads)
    if len(t.ops) < 2:
        return None
    i = rng.randrange(len(t.ops) - 1)
    t.ops[i], t.ops[i + 1] = t.ops[i + 1], t.ops[i]
    return s


def _move_op(rng, s, lim):
    if len(s.threads) < 2:
        return None
    a, b = rng.sample(s.threads, 2)
    if len(a.ops) < 2 or len(b.ops) >= lim.ops or _npages(s, a.mm) != _npages(s, b.mm):
        return None
    b.ops.insert(rng.randint(0, len(b.ops)), a.ops.pop(rng.randrange(len(a.ops))))
    return s


def _add_thread(rng, s, lim):
    if len(s.threads) >= lim.threads:
        return None
    mm = rng.choice(s.mms).name
    names = {t.name for t in s.threads}
    i = 0
    while f"T{i}" in names:
        i += 1
    s.threads.append(ThreadSpec(f"T{i}", mm, [random_op(rng, s, mm)]))
    return s


def _add_fork(rng, s, lim):
    if rng.random() < 0.5:
        t = rng.choice(s.threads)
        if len(t.ops) >= lim.ops:
            return None
        t.ops.insert(rng.randint(0, len(t.ops)), Op("fork", child=_fresh_child(s)))
        return s
    if len(s.mms) >= lim.mms:
        return None
    roots = [m for m in s.mms if not m.forked_from]
    taken = _taken_names(s)
    name = next(c for c in "BCDEFGH" if c not in taken)
    s.mms.append(MMSpec(name, [], rng.choice(roots).name))
    if rng.random() < 0.5:
        rng.choice(s.threads).mm = name      # a thread moves to the child
    return s


def _add_process(rng, s, lim):
    """A process of its own (not forked): its own pages, competing for the same swap slots."""
    if len(s.mms) >= lim.mms:
        return None
    taken = {m.name for m in s.mms} | {o.child for x in s.threads for o in x.ops if o.kind == "fork"}
    name = next(c for c in "BCDEFGH" if c not in taken)
    st = rng.choice(STATES)
    s.mms.append(MMSpec(name, [Page(st, 0 if st == "none" else _fresh_value(s))]))
    s.threads.append(ThreadSpec(_thread_name(s), name, [random_op(rng, s, name)]))
    return s if len(s.threads) <= lim.threads else None


def _thread_name(s) -> str:
    names = {t.name for t in s.threads}
    i = 0
    while f"T{i}" in names:
        i += 1
    return f"T{i}"


def _page_state(rng, s, lim):
    roots = [m for m in s.mms if not m.forked_from]
    m = rng.choice(roots)
    p = rng.choice(m.pages)
    st = rng.choice([x for x in STATES if x != p.state])
    p.state, p.slot = st, None
    p.value = 0 if st == "none" else (p.value or _fresh_value(s))
    p.exclusive = True
    return s


def _page_exclusive(rng, s, lim):
    pages = [p for m in s.mms for p in m.pages if p.state in ("swapped", "swapcache", "present")]
    if not pages:
        return None
    p = rng.choice(pages)
    p.exclusive = not p.exclusive
    return s


def _page_slot(rng, s, lim):
    pages = [p for m in s.mms for p in m.pages if p.state in ("swapped", "swapcache")]
    if not pages:
        return None
    rng.choice(pages).slot = rng.randrange(s.device.slots)
    return s


def _add_page(rng, s, lim):
    roots = [m for m in s.mms if not m.forked_from]
    m = rng.choice(roots)
    if len(m.pages) >= lim.pages:
        return None
    st = rng.choice(STATES)
    m.pages.append(Page(st, 0 if st == "none" else _fresh_value(s)))
    return s


def _device(rng, s, lim):
    d = s.device
    what = rng.choice(["slots", "synchronous", "allocation", "vm_swap_full", "read_error", "slot_cache"])
    if what == "slot_cache":
        # issue 12 widen e: the per-cpu slot cache, with a batch of 64 (the kernel's) or 1 (the
        # smallest, so that a freed slot goes back to the device on the next free)
        d.slot_cache = not d.slot_cache
        d.slot_cache_size = rng.choice((64, 1)) if d.slot_cache else 64
    elif what == "slots":
        d.slots = rng.randint(1, lim.slots)
        d.read_errors = [x for x in d.read_errors if x < d.slots]   # the slots that still exist
    elif what == "synchronous":
        d.synchronous = not d.synchronous
    elif what == "allocation":
        d.allocation = "any" if d.allocation == "lowest" else "lowest"
    elif what == "vm_swap_full":
        d.vm_swap_full = "computed" if d.vm_swap_full == "never" else "never"
    else:
        # a read error on one slot appears, or goes away
        d.read_errors = sorted(set(d.read_errors) ^ {rng.randrange(d.slots)})
    return s


MUTATIONS = [(_insert_op, 4), (_delete_op, 2), (_swap_ops, 2), (_move_op, 1), (_add_thread, 2),
             (_add_fork, 1), (_add_process, 1), (_page_state, 2), (_page_exclusive, 1), (_page_slot, 1), (_add_page, 1),
             (_device, 2)]


def mutate(rng: random.Random, s, limits: Limits = Limits(), *, tries: int = 20):
    """A valid mutant of ``s`` (one to three mutations), or None if ``tries`` attempts failed."""
    funcs, weights = zip(*MUTATIONS)
    for _ in range(tries):
        c = copy.deepcopy(s)
        for _ in range(rng.choice((1, 1, 2, 3))):
            r = rng.choices(funcs, weights)[0](rng, c, limits)
            if r is None:
                break
            c = r
        else:
            try:
                return validated(c)
            except ScenarioError:
                continue
    return None
