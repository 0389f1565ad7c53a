"""Thread symmetry: threads that run the same code on the same objects are interchangeable.

When a program declares threads symmetric (``World.symmetric``), a state and the state with
those threads' roles exchanged have the same futures up to that exchange: one violates safety
if and only if the other does.  The stateful search pictures each state with its symmetric
threads put in a canonical order (``dpor_cache.state_picture``), so it explores one of them.

For that, every thread id the model keeps in its state must be recognizable, so that a picture
can rename it.  The engine hands out thread ids as :class:`Tid` (``current_tid()``, ``CTX.tid``,
``World.thread``'s result), and a list with one entry per thread is a :class:`PerThread`
(made by :func:`per_thread`).  A thread id kept as a plain ``int`` (``int(tid)``, ``tid + 0``,
an index from ``range``) or a per-thread list kept as a plain ``list`` would not be renamed,
and the picture of the exchanged state would be wrong: a program that declares symmetry must
not do that.  Programs that declare nothing are pictured as before.
"""
from __future__ import annotations

import itertools
import math

from .runtime import CTX


class Tid(int):
    """A thread id (an ``int`` that pictures of states know to rename)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return int.__repr__(self)

    __str__ = __repr__


class PerThread(list):
    """A list with one entry per thread, indexed by thread id (per-CPU data: every thread is
    its own CPU).  Pictures reorder it with the threads."""

    __slots__ = ()

    def items(self):
        """(thread id, entry) pairs, the ids as :class:`Tid`."""
        return [(Tid(t), x) for t, x in enumerate(self)]


def per_thread(make) -> PerThread:
    """``[make(tid) for every thread]`` as a :class:`PerThread`, known to the execution (its
    shared objects are renumbered with the threads when a state is pictured)."""
    ex = CTX.execution
    lst = PerThread([make(Tid(t)) for t in range(len(ex.threads))])
    ex.per_thread.append(lst)
    return lst


def per_thread_list(entries, objects=None) -> PerThread:
    """``entries`` (one per thread, in thread order, made before the threads exist) as a
    :class:`PerThread`.  Where each entry holds shared objects, ``objects(entry)`` lists them
    (in the same order for every entry): they are renumbered with the threads, as the entries
    of :func:`per_thread` are."""
    lst = PerThread(entries)
    if objects is not None and lst:
        ex = CTX.execution
        columns = list(zip(*(objects(e) for e in lst)))
        ex.per_thread.extend(PerThread(col) for col in columns)
    return lst


def candidate_orders(classes, keys, most: int = 6) -> list[tuple]:
    """The permutations (``perm[tid]`` = the thread's place in the canonical order) that sort
    every class of symmetric threads by ``keys[tid]``.  Threads of a class with equal keys may
    go either way: every arrangement of such ties is a candidate (the caller keeps the one whose
    picture is least), up to ``most`` candidates; past that, ties keep their thread order
    (still sound: a state pictured in a less canonical order is only met again less often)."""
    base = list(range(len(keys)))
    ties = []                               # (threads with one key, the slots they share)
    for cls in classes:
        ranked = sorted(cls, key=lambda t: keys[t])
        slots = sorted(cls)
        for slot, t in zip(slots, ranked):
            base[t] = slot
        for _, run in itertools.groupby(zip(ranked, slots), key=lambda ts: keys[ts[0]]):
            run = list(run)
            if len(run) > 1:
                ties.append(([t for t, _ in run], [s for _, s in run]))
    count = 1
    for threads, _ in ties:
        count *= math.factorial(len(threads))
    if count == 1 or count > most:
        return [tuple(base)]
    orders = []
    for arrangement in itertools.product(*(itertools.permutations(s) for _, s in ties)):
        p = list(base)
        for (threads, _), slots in zip(ties, arrangement):
            for t, s in zip(threads, slots):
                p[t] = s
        orders.append(tuple(p))
    return orders

