"""Source-set DPOR with sleep sets (Abdulla, Aronis, Jonsson, Sagonas, POPL 2014, Algorithm 1).

Bookkeeping lives here, apart from the executor.  One :class:`_Node` per state of the current
execution holds the backtrack, done and sleep sets and the pending step of every thread.  After
each execution, :meth:`DPOR.finished` computes happens-before with vector clocks and, for every
race ``e ⋖ e'`` (dependent steps of different threads, ordered by nothing but themselves), adds
an initial of ``notdep(e).e'`` to the backtrack set of the state before ``e`` unless one is there.

Blocking steps (a lock held by another thread, a parked retry) need one more rule, because a
blocked step never executes and so never shows up in a race: for each state where a thread is
blocked, the last step of another thread that its pending step depends on, and that does not
happen-before it, is in a race with that pending step (Flanagan & Godefroid, POPL 2005).  Its
reversal is handled like any other race, with one care: the thread added must be an *initial*
of the reversed sequence.  Adding the blocked thread itself, as Flanagan and Godefroid do, is
unsound together with sleep sets when other threads ran in between (fuzzing found a program
whose final state plain DPOR missed that way: tests/test_engine_properties.py).  An initial
that is itself blocked where it would go first makes every enabled thread a backtrack point
there; this can cost extra executions, never missing ones.
"""
from __future__ import annotations

from ..executor import ACQUIRE, TRYLOCK, UNLOCKING
from .base import Strategy, independent


def _acquired_at(i, j, tids, accs, kinds) -> int:
    """For a release i and a blocking acquire j of the same lock, the step at which i's thread
    had taken that lock (-1 if another thread took it: a folio lock may be released by a
    context that did not take it)."""
    q = tids[i]
    locks = {oid for oid, w in accs[i] if w} & {oid for oid, _ in accs[j]}
    for k in range(i - 1, -1, -1):
        if kinds[k] in (ACQUIRE, TRYLOCK) and any(w and oid in locks for oid, w in accs[k]):
            return k if tids[k] == q else -1
    return -1


class _Node:
    __slots__ = ("enabled", "acc", "backtrack", "done", "sleep", "tid", "choice_n", "choice_val",
                 "wakeup")

    def __init__(self, enabled: set, acc: list, sleep: set):
        self.enabled = enabled
        self.acc = acc                 # pending accesses per thread (None: finished)
        self.backtrack: set[int] = set()
        self.done: set[int] = set()
        self.sleep = sleep
        self.tid = -1
        self.choice_n = 0
        self.choice_val = 0
        self.wakeup: dict[int, list[int]] = {}   # thread -> the reversed race to follow after it


class DPOR(Strategy):
    name = "dpor"
    exhaustive = True

    def start(self, program) -> None:
        self.stack: list[_Node] = []
        self.first = True
        self.guide: list[int] = []

    def next_execution(self) -> bool:
        if self.first:
            self.first = False
            return True
        st = self.stack
        while st:
            node = st[-1]
            if node.choice_n and node.choice_val + 1 < node.choice_n:
                node.choice_val += 1
                return True
            node.done.add(node.tid)
            cand = node.backtrack - node.done - node.sleep
            if cand:
                t = min(cand)
                node.tid = t
                node.choice_n = 0
                node.choice_val = 0
                # Follow the reversed race that put t here (a one-branch wakeup tree): without
                # it, the default choices below often end sleep-set blocked.
                self.guide = node.wakeup.get(t, [])[:0:-1]
                return True
            st.pop()
            self._popped(node)
        return False

    def _popped(self, node) -> None:
        """``node``'s state is explored: no later execution adds work below it."""

    def pick(self, ex, enabled):
        d = ex.seq
        st = self.stack
        if d < len(st):
            return st[d].tid
        n = len(ex.threads)
        acc = [ex.pending_acc(t) if not ex.threads[t].done else None for t in range(n)]
        en = set(enabled)
        sleep = self._sleep_at(d)
        node = self._new_node(ex, en, acc, sleep)
        if node is None:
            return None               # a state whose every continuation was explored before
        sleep = node.sleep            # (stateful search may add threads explored before)
        st.append(node)
        last = ex.last_tid
        guide = self.guide
        t = -1
        while guide:
            g = guide.pop()
            if g in en and g not in sleep:
                t = g
                break
            guide.clear()
        if t < 0:
            # Any choice is sound here (races add the others).  Stay with the thread that ran
            # last (no preemption) unless it has just begun another attempt of a retry loop:
            # then let another thread move, or two spinning threads can keep each other
            # going for thousands of steps before the one they wait for runs.
            free = en - sleep
            if not free:
                return None           # sleep-set blocked: this execution is redundant
            if last in free and not (ex.repeated == last and len(free) > 1):
                t = last
            else:
                t = min(free - {last} or free)
        node.tid = t
        node.backtrack.add(t)
        return t

    def _sleep_at(self, d: int) -> set:
        """The sleep set of the state at depth d, from its parent's."""
        if d == 0:
            return set()
        parent = self.stack[d - 1]
        pt = parent.tid
        pacc = parent.acc[pt]
        return {q for q in (parent.sleep | parent.done) if q != pt and parent.acc[q] is not None
                and independent(parent.acc[q], pacc)}

    def _new_node(self, ex, en, acc, sleep):
        return _Node(en, acc, sleep)

    def choose(self, ex, tid, n):
        node = self.stack[ex.seq]
        if node.choice_n == 0:
            node.choice_n, node.choice_val = n, 0
        return node.choice_val

    # --- race analysis ------------------------------------------------------------------
    def finished(self, ex) -> None:
        tids = ex.ev_tid
        accs = ex.ev_acc
        n = len(tids)
        nthreads = len(ex.threads)
        st = self.stack
        clocks: list = [None] * n
        lidx = [0] * n
        count = [0] * nthreads
        tev: list[list[int]] = [[] for _ in range(nthreads)]
        last_of = [-1] * nthreads
        last_write: dict[int, int] = {}
        reads_since: dict[int, list[int]] = {}
        races = []
        for j in range(n):
            p = tids[j]
            prev = last_of[p]
            vc = list(clocks[prev]) if prev >= 0 else [0] * nthreads
            cands = set()
            for oid, w in accs[j]:
                lw = last_write.get(oid)
                if lw is not None:
                    cands.add(lw)
                if w:
                    rs = reads_since.get(oid)
                    if rs:
                        cands.update(rs)
            if cands:
                for i in sorted(cands, reverse=True):
                    q = tids[i]
                    if q == p:
                        continue
                    if vc[q] <= lidx[i]:
                        races.append((i, j))
                        ci = clocks[i]
                        vc = [a if a >= b else b for a, b in zip(vc, ci)]
            li = count[p]
            lidx[j] = li
            count[p] = li + 1
            vc[p] = li + 1
            clocks[j] = vc
            tev[p].append(j)
            last_of[p] = j
            for oid, w in accs[j]:
                if w:
                    last_write[oid] = j
                    reads_since[oid] = []
                else:
                    reads_since.setdefault(oid, []).append(j)

        self._clocks = (clocks, lidx, tev)
        kinds = ex.ev_kind
        for i, j in races:
            if kinds[j] == ACQUIRE and kinds[i] == UNLOCKING:
                i0 = _acquired_at(i, j, tids, accs, kinds)
                if i0 >= 0:
                    if i0 < len(st):
                        self._reverse_acquire(i0, j, tids, clocks, lidx, tev, nthreads)
                    continue
            if i < len(st):
                self._reverse(i, j, tids, clocks, lidx, tev, nthreads)
        self._blocked_races(ex, tids, accs, clocks, lidx, tev, nthreads)

    def _notdep(self, i, end, tids, clocks, lidx, tev, nthreads):
        """The events of ``(i, end)`` that do not happen after event ``i`` (notdep(e) of the
        prefix up to ``end``), and the threads whose first event among them has no predecessor
        among them (its initials)."""
        pi = tids[i]
        li = lidx[i]
        initials = set()
        seen = set()
        v = []
        for k in range(i + 1, end):
            ck = clocks[k]
            if ck[pi] > li:
                continue              # happens after e
            v.append(k)
            q = tids[k]
            if q in seen:
                continue
            seen.add(q)
            # q's first event in v is an initial unless an event of v happens before it (an
            # event after e that happens before k is in v: were it after e in happens-before,
            # so would k be)
            for r in range(nthreads):
                c = ck[r]
                if r != q and c > 0 and tev[r][c - 1] > i:
                    break
            else:
                initials.add(q)
        return v, initials

    def _add_initial(self, node, initials, v, tids, prefer) -> None:
        """Source-DPOR's rule for one race: unless an initial of the reversed sequence is already
        a backtrack point, add one (``prefer`` if it is one), with the sequence as the wakeup
        guide.  An initial that cannot run here (blocked) makes every enabled thread one."""
        if initials & node.backtrack:
            return
        cand = initials - node.sleep
        if not cand:
            return                    # an initial asleep here: explored where it was put to sleep
        q = prefer if prefer in cand else min(cand)
        if q in node.enabled:
            node.backtrack.add(q)
            # q's first step in v has no predecessor in v, so it can go first
            first = next((k for k in v if tids[k] == q), None)
            node.wakeup[q] = [q] + [tids[k] for k in v if k != first]
        else:
            node.backtrack |= (node.enabled - node.sleep)

    def _reverse(self, i, j, tids, clocks, lidx, tev, nthreads) -> None:
        """The race e=i ⋖ e'=j, both executed: add an initial of notdep(e).e'."""
        v, initials = self._notdep(i, j, tids, clocks, lidx, tev, nthreads)
        pj = tids[j]
        if pj not in {tids[k] for k in v}:
            # e' is its thread's first event in v: an initial unless an event of v (not e,
            # which it races with) happens before it
            cj = clocks[j]
            pi, li = tids[i], lidx[i]
            if all(r == pj or c == 0 or tev[r][c - 1] <= i or (r == pi and c - 1 == li)
                   for r, c in enumerate(cj)):
                initials.add(pj)
        v.append(j)
        self._add_initial(self.stack[i], initials, v, tids, pj)

    def _reverse_acquire(self, i0, j, tids, clocks, lidx, tev, nthreads) -> None:
        """Thread p's blocking acquire e'=j took the lock right after thread q released it; q
        had taken it at e=i0.  The release and e' cannot be swapped (e' waits while q holds
        the lock), so the race to reverse is between the two acquires: p takes the lock before
        q does.  In happens-before e' comes after q's critical section only through the lock,
        so unless p's previous step already happens after e, the reversed sequence is
        notdep(e) up to e', then e'."""
        p, q = tids[j], tids[i0]
        lj = lidx[j]
        if lj > 0 and clocks[tev[p][lj - 1]][q] > lidx[i0]:
            return                    # p reached the lock after e anyway
        v, initials = self._notdep(i0, j, tids, clocks, lidx, tev, nthreads)
        if not v:
            initials = {p}
        v.append(j)
        self._add_initial(self.stack[i0], initials, v, tids, p)

    def _race_ahead(self, i, end, p, tids, clocks, lidx, tev, nthreads) -> None:
        """A race between executed event e=i and a step of thread p that comes after the prefix
        ``[0, end)`` (its pending step, or one of a continuation not run again).  The reversed
        sequence is w.u.a, where w = notdep(e) of the prefix and u.a lies beyond it.  Every
        initial of w is one of the reversed sequence, so when w is not empty the rule is
        applied with w's initials, exactly.  When it is empty the initials lie beyond the
        prefix: p itself if the step is p's pending one (``p`` >= 0), otherwise (``p`` = -1, a
        hidden continuation) unknown, and every enabled thread not asleep is added."""
        node = self.stack[i]
        v, initials = self._notdep(i, end, tids, clocks, lidx, tev, nthreads)
        if v:
            self._add_initial(node, initials, v, tids, p)
        elif p >= 0:
            self._add_initial(node, {p}, [], tids, p)
        else:
            node.backtrack |= (node.enabled - node.sleep)

    def _blocked_races(self, ex, tids, accs, clocks, lidx, tev, nthreads) -> None:
        st = self.stack
        n = len(tids)
        states = len(st)
        last_of = {}
        prev_disabled: set = set()
        for k in range(states + 1):
            if k < states:
                node = st[k]
                live = {t for t, a in enumerate(node.acc) if a is not None}
                disabled = live - node.enabled
                accs_k = node.acc
            elif k == n and ex.finished and not getattr(ex, "abandoned", False):
                live = {t.tid for t in ex.threads if not t.done}
                disabled = live - set(ex.enabled())
                accs_k = [ex.pending_acc(t) for t in range(len(ex.threads))]
            else:
                break
            if k > 0:
                last_of[tids[k - 1]] = k - 1
            for p in disabled:
                pa = accs_k[p]
                if not pa:
                    continue
                if k > 0 and p in prev_disabled and independent(accs[k - 1], pa):
                    continue
                lp = last_of.get(p, -1)
                for i in range(k - 1, -1, -1):
                    q = tids[i]
                    if q == p or independent(accs[i], pa):
                        continue
                    if lp >= 0 and clocks[lp][q] > lidx[i]:
                        break         # happens before p's position: no race
                    if i < states:
                        self._race_ahead(i, k, p, tids, clocks, lidx, tev, nthreads)
                    break
            prev_disabled = disabled
