"""DPOR with state caching: stop an execution at a state whose continuations were all explored.

Many of the executions source-DPOR runs on the kernel model differ only in transient ways (a
refcount read as 3 or 4, a trylock that failed once) and then pass through the very same state
— same shared values, same thread frames and locals (see :mod:`swaplab.engine.statehash`).  From
such a state everything that can happen has already been explored, so this strategy ends the
execution there.

What makes that sound for DPOR is the race analysis: the explored continuations are not run
again, so their steps cannot show their races with the new prefix.  Every explored state
therefore keeps a *summary*: for each thread, every access its steps made in any continuation
explored from that state (and every pending step met there, enabled or not), each with the
accesses of the steps that surely happen before it.  When an execution is cut at a known state,
the summarized accesses stand in for the hidden steps: every step of the prefix that conflicts
with one of them and happens before it neither directly nor through those earlier accesses is
a race.  Its reversal is w.u.a: w is the part of the prefix after the racing step that does
not happen after it, u.a the hidden continuation.  Every initial of w is an initial of the
reversal, so when w is not empty source-DPOR's rule applies exactly; when it is empty the
initials lie in the hidden part, unknown here, and every enabled thread that is not asleep is
added (one asleep is covered where it was explored).  This is a conservative variant of
stateful DPOR (Yang, Chen, Gopalakrishnan and Kirby, "Efficient stateful dynamic partial order
reduction", SPIN 2008): it can add executions, not lose them.

A state is reused only once its node has been popped (its exploration finished).  If it was
explored with a sleep set that holds a thread awake now, only what that exploration did not
cover is explored: the threads it took first join the sleep set, and its continuations count as
at a cut.
"""
from __future__ import annotations

import types

from ..statehash import Unhashable, picture
from ..symmetry import candidate_orders
from .dpor import DPOR, _Node


# Picture symmetric threads in a canonical order (engine/symmetry.py).  Only the tests turn
# it off, to compare with a search that keeps every arrangement apart.
SYMMETRY = True


def live_objects(ex) -> list:
    return [o for o in ex.objects if not o.dead()]


def state_picture(ex, live=None):
    """(hash of the state's picture, canonical number of each live shared object by oid).

    Retry-loop records are left out.  They decide only parking, and parking changes no state
    that can be reached: a parked thread would, by the retry contract (an attempt's effect
    depends only on the shared state it reads), do again what its last attempt did from the
    very state that attempt saw, and end parked at the same point.  So two states that differ
    only in what their threads' last attempts saw have the same futures up to such repeated
    attempts (livelocks included: a loop that parks in one parks in the other after at most
    one more attempt).  Left in, records split states by the history of each attempt in
    progress: swapcache x slot-reuse had 2.3 times as many states.  The executor refuses
    what it can of a broken contract: a loop continued at another retry point than the one
    that began it."""
    if live is None:
        live = live_objects(ex)
    threads = ex.threads
    if not (SYMMETRY and ex.symmetric):
        roots = (tuple((t.done, t.gen, t.pending) for t in threads),
                 tuple(ex.spin_held), tuple(ex.final_checks))
        pic, oids = picture(roots, live)
        return hash(pic), oids, None
    # Symmetric threads (engine/symmetry.py) go in a canonical order: sorted by where they
    # are, and where two are at the same place, whichever order pictures least.
    keys = [_position(t) for t in threads]
    best = None
    for perm in candidate_orders(ex.symmetric, keys):
        inv = [0] * len(perm)
        for t, slot in enumerate(perm):
            inv[slot] = t
        roots = (tuple((threads[t].done, threads[t].gen, threads[t].pending) for t in inv),
                 ex.spin_held, tuple(ex.final_checks))
        pic, oids = picture(roots, live, perm, ex.per_thread)
        h = hash(pic)
        if best is None or h < best[0]:
            best = (h, oids, perm)
    h, oids, perm = best
    return h, oids, (None if perm == tuple(range(len(perm))) else perm)


def _position(t) -> tuple:
    """Where a thread is (its frames' code positions and its pending step): what orders
    symmetric threads before their states are pictured."""
    if t.done:
        return (1,)
    out = []
    g = t.gen
    while type(g) is types.GeneratorType:
        f = g.gi_frame
        if f is None:
            break
        out.append((g.gi_code.co_qualname, f.f_lasti))
        g = g.gi_yieldfrom
    p = t.pending
    return (0, tuple(out), p.kind if p is not None else "")


_EMPTY: frozenset = frozenset()


def _first_accesses(tid: int, acc) -> dict:
    """Summary entries for a step that comes first in its thread's future."""
    out = {}
    for oid, w in acc:
        out[(tid, oid, 0)] = _EMPTY
        if w:
            out[(tid, oid, 1)] = _EMPTY
    return out


def _after_step(summ: dict, tid: int, acc) -> dict:
    """The summary seen from one step earlier, where thread ``tid`` takes a step touching
    ``acc``.  That step happens before a later access f when it is ``tid``'s own (program
    order), or when it conflicts with f or with an access already known to happen before f
    (the accesses in f's set are of steps that happen before f).  Then its accesses join f's
    set.  It is itself a first access of ``tid``."""
    accset = frozenset(acc)
    writes = {oid for oid, w in acc if w}
    touched = {oid for oid, _ in acc}
    out = {}
    conflicts: dict = {}                # id(before) -> does the step conflict with that set
    unions: dict = {}                   # id(before) -> before | accset (sets are shared)
    for key, before in summ.items():
        p, x, m = key
        hb = p == tid or (x in writes if m == 0 else x in touched)
        if not hb:
            k = id(before)
            hb = conflicts.get(k)
            if hb is None:
                hb = conflicts[k] = any(oid in writes or (w and oid in touched) for oid, w in before)
        if hb:
            k = id(before)
            u = unions.get(k)
            if u is None:
                u = unions[k] = before | accset
            out[key] = u
        else:
            out[key] = before
    out.update(_first_accesses(tid, acc))
    return out


def _renumber(summ: dict, to: dict, intern: dict | None = None, tids=None) -> dict:
    """The summary with every object renamed through ``to`` (this execution's oids to a
    picture's canonical numbers, or back) and, with ``tids``, every thread through it (to or
    from a canonical order of symmetric threads); entries and accesses of objects ``to`` does
    not name are dropped (objects made below the state).  Many entries share one set: each is
    translated once.  With ``intern``, one copy of each set and key is kept across states."""
    out = {}
    done: dict = {}
    for (t, x, m), before in summ.items():
        if tids is not None:
            t = tids[t]
        c = to.get(x)
        if c is None:
            continue
        b = done.get(id(before))
        if b is None:
            b = frozenset([(to[y], w) for y, w in before if y in to])
            if intern is not None:
                b = intern.setdefault(b, b)
            done[id(before)] = b
        key = (t, c, m)
        out[key if intern is None else intern.setdefault(key, key)] = b
    return out


def _merge(into: dict, more: dict) -> None:
    """Another explored continuation: every access it makes counts; an access is known to be
    preceded only by what precedes it in every continuation."""
    for key, before in more.items():
        old = into.get(key)
        into[key] = before if old is None else (old & before)


class _CNode(_Node):
    __slots__ = ("pic", "oids", "perm", "summ", "finals", "via")

    def __init__(self, enabled, acc, sleep, pic, oids, via, perm=None):
        super().__init__(enabled, acc, sleep)
        self.pic = pic
        self.oids = oids            # oid -> canonical number in this state's picture
        self.perm = perm            # tid -> canonical thread (symmetric threads), None: same
        self.via = via              # (tid, accesses) of the step that led here
        # (tid, oid, 0) -> accesses (oid, is_write) of steps that surely happen before tid's
        # first access of oid below here; (tid, oid, 1) -> the same for its first write of oid.
        # Pending steps come first.
        self.summ: dict = {}
        for t, a in enumerate(acc):
            if a:
                self.summ.update(_first_accesses(t, a))
        self.finals: set = set()    # final-state fingerprints reachable below (for tests/stats)


class CachedDPOR(DPOR):
    name = "stateful"
    exhaustive = True

    def start(self, program) -> None:
        super().start(program)
        self.cache: dict = {}       # picture -> (sleep set, summary, final states)
        self.cut = None             # the cache entry the current execution stopped at
        self.interned: dict = {}
        self.cuts = 0
        self.partials = 0           # known states met with a smaller sleep set, explored further
        self.pictures = 0
        self.unhashable = 0         # states holding a value statehash cannot picture: never cached

    def next_execution(self) -> bool:
        self.cut = None
        self.partial = []           # (depth, summary) of known states explored further
        return super().next_execution()

    def _new_node(self, ex, en, acc, sleep):
        via = (ex.ev_tid[-1], ex.ev_acc[-1]) if ex.ev_tid else None
        # Every new state is pictured.  (Picturing only states whose cheap key — code
        # positions and raw values — was met before saved pictures but cached each state only
        # from its second visit on, and cost more executions than it saved time.)
        if len(en) <= 1:
            # One thread can move: one successor.  Met again, its successor was met too, and
            # the search cuts there a step later; a picture costs more than that step.  (Never
            # caching a state is always sound.)  Measured: swapcache x three-faults 40.7 ->
            # 38.4 s, x two-pages-swap-slots 5.4 -> 4.8 s.
            return _CNode(en, acc, sleep, None, None, via)
        live = live_objects(ex)
        try:
            pic, oids, perm = state_picture(ex, live)
        except Unhashable:
            pic, oids, perm = None, None, None
            self.unhashable += 1
        self.pictures += 1
        hit = self.cache.get(pic) if pic is not None else None
        if hit is None:
            return _CNode(en, acc, sleep, pic, oids, via, perm)
        # The cache speaks of canonical numbers and canonical threads: back to this
        # execution's oids and threads.
        inv = None
        if perm is not None:
            inv = [0] * len(perm)
            for t, slot in enumerate(perm):
                inv[slot] = t
        summ = _renumber(hit[1], {c: oid for oid, c in oids.items()}, tids=inv)
        asleep = hit[0] if inv is None else frozenset(inv[c] for c in hit[0])
        if asleep <= sleep:
            self.cut = (summ, hit[2])
            self.cuts += 1
            ex.cut_at_known_state = True
            return None
        # Explored before, but with a thread asleep that is awake now.  Explore only what
        # that exploration did not: every thread it explored first joins the sleep set, and
        # its continuations count as they do at a cut (their races with the prefix, their
        # accesses in the summary, their final states).
        self.partial.append((ex.seq, summ))
        covered = set(range(len(ex.threads))) - asleep
        node = _CNode(en, acc, sleep | covered, pic, oids, via, perm)
        _merge(node.summ, summ)
        node.finals |= hit[2]
        self.partials += 1
        return node

    def _popped(self, node) -> None:
        old = self.cache.get(node.pic) if node.pic is not None else None
        perm = node.perm
        sleep = frozenset(node.sleep) if perm is None else frozenset(perm[t] for t in node.sleep)
        if node.pic is not None and (old is None or not old[0] <= sleep):
            # Objects made below this state cannot be touched by steps before it: drop them.
            # The rest are named by their canonical number, which means the same object in
            # any execution that reaches this picture; threads by their canonical place.
            intern = self.interned
            summ = _renumber(node.summ, node.oids, intern, tids=perm)
            finals = frozenset(node.finals)
            if old is not None:
                # Explored before with a sleep set that did not fit this visit: the two
                # explorations together cover every first step outside both sleep sets.
                sleep = old[0] & sleep
                merged = dict(old[1])
                _merge(merged, summ)
                summ = merged
                finals = old[2] | finals
            self.cache[node.pic] = (intern.setdefault(sleep, sleep), summ, intern.setdefault(finals, finals))
        st = self.stack
        if st and node.via is not None:     # the parent has seen everything its child has
            parent = st[-1]
            _merge(parent.summ, _after_step(node.summ, *node.via))
            parent.finals |= node.finals

    def finished(self, ex) -> None:
        super().finished(ex)
        st = self.stack
        tids, accs = ex.ev_tid, ex.ev_acc
        n = len(tids)
        # What lies below the last state of this execution.
        for depth, summ in self.partial:
            self._summary_races(ex, summ, depth)
        if self.cut is not None:
            leaf, leaf_finals = self.cut
            self._summary_races(ex, leaf)
        else:
            leaf = {}
            for t in ex.threads:
                if not t.done:
                    leaf.update(_first_accesses(t.tid, ex.pending_acc(t.tid)))
            leaf_finals = set()
            if ex.finished and ex.outcome is None and not getattr(ex, "abandoned", False):
                leaf_finals.add(ex.final_state())
        if n and len(st) == n:
            last = st[n - 1]
            _merge(last.summ, _after_step(leaf, tids[n - 1], accs[n - 1]))
            last.finals |= leaf_finals

    def _summary_races(self, ex, summ, end: int | None = None) -> None:
        """Backtrack points for the races between the prefix and the summarized future.

        A prefix step e of thread q races with thread p's first access of an object it
        conflicts with, unless e happens before p's position, or e (or a step after e in
        happens-before) conflicts with an access known to happen before that access in every
        continuation.  A race adds an initial of its reversal at the state before e
        (:meth:`DPOR._race_ahead`).  The prefix is the execution up to ``end`` (default: all
        of it)."""
        tids, accs = ex.ev_tid, ex.ev_acc
        n = len(tids) if end is None else end
        st = self.stack
        clocks, lidx, tev = self._clocks
        nthreads = len(ex.threads)
        done: set = set()
        last_of: dict[int, int] = {}
        touched: dict[int, list] = {}          # oid -> [(event index, is_write)]
        for j in range(n):
            last_of[tids[j]] = j
            for oid, w in accs[j]:
                touched.setdefault(oid, []).append((j, w))

        def after(i, q, oid, w):
            """Does a step at or after e=i (in happens-before) conflict with (oid, w)?"""
            li = lidx[i]
            for j, wj in touched.get(oid, ()):
                if j >= i and (wj or w) and (j == i or clocks[j][q] > li):
                    return True
            return False

        for (p, oid, m), before in summ.items():
            lp = last_of.get(p, -1)
            for i, wi in touched.get(oid, ()):
                q = tids[i]
                if q == p or not (wi if m == 0 else True):
                    continue          # m == 0: p's first access, conflicts with a write;
                                      # m == 1: p's first write, conflicts with anything
                if lp >= 0 and clocks[lp][q] > lidx[i]:
                    continue          # happens before p's position
                if any(after(i, q, y, w) for y, w in before):
                    continue          # ordered before the access through steps before it
                if i >= len(st) or i in done:
                    continue
                done.add(i)
                self._race_ahead(i, n, -1, tids, clocks, lidx, tev, nthreads)

    def reached_final_states(self) -> set:
        """Final states below every state explored (those behind a cut included)."""
        out = set()
        for entry in self.cache.values():
            out |= entry[2]
        for node in self.stack:
            out |= node.finals
        return out

    def describe(self) -> str:
        return "stateful (DPOR with state caching)"
