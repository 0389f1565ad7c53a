"""DPOR with state caching: stop an execution at a state whose continuations were all explored.

Many of the executions source-DPOR runs on the kernel model differ only in transient ways (a
refcount read as 3 or 4, a trylock that failed once) and then pass through the very same state
— same shared values, same thread frames and locals (see :mod:`swaplab.engine.statehash`).  From
such a state everything that can happen has already been explored, so this strategy ends the
execution there.

What makes that sound for DPOR is the race analysis: the explored continuations are not run
again, so their steps cannot show their races with the new prefix.  Every explored state
therefore keeps a *summary*: for each thread, every access its steps made in any continuation
explored from that state (and every pending step met there, enabled or not).  When an execution
is cut at a known state, each thread's summarized accesses stand in for its future steps: for
each object, the last step of another thread in the prefix that conflicts with them and does not
happen-before the thread's position gets a backtrack point, as Flanagan and Godefroid's rule does
for a pending step (the thread itself if it was enabled there, else every enabled thread).  This
is the conservative variant of stateful DPOR (Yang, Chen, Gopalakrishnan and Kirby, "Efficient
stateful dynamic partial order reduction", SPIN 2008): it can add executions, not lose them.

A state is reused only once its node has been popped (its exploration finished), and only if
it was explored with a sleep set no larger than the one it is met with now.
"""
from __future__ import annotations

from ..statehash import Unhashable
from .dpor import DPOR, _Node
from .stateful import state_picture


class _CNode(_Node):
    __slots__ = ("pic", "oids", "summ", "finals")

    def __init__(self, enabled, acc, sleep, pic, oids):
        super().__init__(enabled, acc, sleep)
        self.pic = pic
        self.oids = oids            # oid -> canonical number in this state's picture
        self.summ: set = set()      # (tid, oid, is_write) of every step below, and pending ones
        self.finals: set = set()    # final-state fingerprints reachable below (for tests/stats)
        for t, a in enumerate(acc):
            if a:
                for oid, w in a:
                    self.summ.add((t, oid, w))


class CachedDPOR(DPOR):
    name = "dpor+cache"
    exhaustive = True

    def start(self, program) -> None:
        super().start(program)
        self.cache: dict = {}       # picture -> (sleep set, summary, final states)
        self.cut = None             # the cache entry the current execution stopped at
        self.cuts = 0
        self.pictures = 0

    def next_execution(self) -> bool:
        self.cut = None
        return super().next_execution()

    def _new_node(self, ex, en, acc, sleep):
        try:
            pic, oids = state_picture(ex)
        except Unhashable:
            pic, oids = None, None
        self.pictures += 1
        if pic is not None:
            hit = self.cache.get(pic)
            if hit is not None and hit[0] <= sleep:
                # the summary speaks of canonical numbers: back to this execution's oids
                back = {c: oid for oid, c in oids.items()}
                self.cut = (hit[0], {(t, back[c], w) for t, c, w in hit[1]}, hit[2])
                self.cuts += 1
                return None
        return _CNode(en, acc, sleep, pic, oids)

    def _popped(self, node) -> None:
        if node.pic is not None and node.pic not in self.cache:
            # Objects made below this state cannot race with steps before it; the rest are
            # named by their canonical number, which means the same object in any execution
            # that reaches this picture.
            oids = node.oids
            summ = frozenset((t, oids[oid], w) for t, oid, w in node.summ if oid in oids)
            self.cache[node.pic] = (frozenset(node.sleep), summ, frozenset(node.finals))
        st = self.stack
        if st:                       # the parent has seen everything its child has
            parent = st[-1]
            parent.summ |= node.summ
            parent.finals |= node.finals

    def finished(self, ex) -> None:
        super().finished(ex)
        st = self.stack
        tids, accs = ex.ev_tid, ex.ev_acc
        n = len(tids)
        # What lies below the last state of this execution.
        if self.cut is not None:
            leaf_summ, leaf_finals = set(self.cut[1]), set(self.cut[2])
            self._summary_races(ex, self.cut[1])
        else:
            leaf_summ = set()
            for t in ex.threads:
                if not t.done:
                    for oid, w in ex.pending_acc(t.tid):
                        leaf_summ.add((t.tid, oid, w))
            leaf_finals = set()
            if ex.finished and ex.outcome is None and not getattr(ex, "abandoned", False):
                leaf_finals.add(ex.final_state())
        # Fold the events into every node on the path (deepest first); stop once nothing new.
        delta, fdelta = leaf_summ, leaf_finals
        for k in range(min(n, len(st)) - 1, -1, -1):
            node = st[k]
            t = tids[k]
            delta = delta | {(t, oid, w) for oid, w in accs[k]}
            delta -= node.summ
            fdelta = fdelta - node.finals
            if not delta and not fdelta:
                break
            node.summ |= delta
            node.finals |= fdelta

    def _summary_races(self, ex, summ) -> None:
        """Backtrack points for the races between the prefix and the summarized future."""
        tids, accs = ex.ev_tid, ex.ev_acc
        n = len(tids)
        st = self.stack
        nthreads = len(ex.threads)
        # vector clocks of the prefix (happens-before), as in DPOR.finished
        clocks, lidx = self._clocks
        last_of = [-1] * nthreads
        for j in range(n):
            last_of[tids[j]] = j
        by_thread: dict[int, dict[int, bool]] = {}
        for t, oid, w in summ:
            d = by_thread.setdefault(t, {})
            d[oid] = d.get(oid, False) or w
        for p, objs in by_thread.items():
            lp = last_of[p]
            todo = dict(objs)
            for i in range(n - 1, -1, -1):
                if not todo:
                    break
                q = tids[i]
                if q == p:
                    continue
                hit = [oid for oid, w in accs[i] if oid in todo and (w or todo[oid])]
                if not hit:
                    continue
                for oid in hit:
                    del todo[oid]
                if lp >= 0 and clocks[lp][q] > lidx[i]:
                    continue          # happens before p's position: no race
                if i >= len(st):
                    continue
                ni = st[i]
                if p in ni.sleep:
                    continue
                if p in ni.enabled:
                    ni.backtrack.add(p)
                else:
                    ni.backtrack |= (ni.enabled - ni.sleep)
